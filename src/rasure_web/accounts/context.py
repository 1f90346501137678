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
    from rasure_web.accounts.tenancy import acting_force_id, forces_visible, granted_force_ids

    # the force menu only for people with a cross-force grant (one query for everyone else)
    forces = forces_visible(user) if granted_force_ids(user) else []
    return {
        "user_roles": user_roles(user),
        "rasure_version": rasure.__version__,
        "forces_menu": forces if len(forces) > 1 else [],
        "acting_force_id": acting_force_id(user) if forces else None,
    }
