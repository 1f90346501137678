"""Template context: the acting user's roles, for menus."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def roles(request: HttpRequest) -> dict[str, Any]:
    import rasure

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_roles": frozenset(), "rasure_version": rasure.__version__}
    from rasure_web.accounts.roles import user_roles

    return {"user_roles": user_roles(user), "rasure_version": rasure.__version__}
