"""The hook every view of personal data uses (DPA 2018 s.62 logging).

Use :func:`access_log_record` in a service or selector, or decorate a view with
:func:`logs_personal_data` so the entry is written before the data is returned.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from rasure_web.accounts import chain
from rasure_web.accounts.models import AccessLog


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def access_log_record(
    *,
    user: Any,
    action: str,
    resource: str,
    object_ref: str = "",
    detail: str = "",
    request: HttpRequest | None = None,
    username: str | None = None,
) -> AccessLog:
    """Append one entry. Raises if it cannot be written, so the data is not shown unlogged.

    ``username`` overrides the user's name: a failed sign-in records the name that was tried, which
    may belong to no account."""
    return chain.append(
        user=user if getattr(user, "pk", None) else None,
        username=(username if username is not None else getattr(user, "username", "") or "(system)")[:150],
        action=action,
        resource=resource,
        object_ref=str(object_ref)[:200],
        detail=detail,
        path=request.get_full_path()[:500] if request is not None else "",
        ip_address=_client_ip(request),
    )


def logs_personal_data(
    resource: str, *, action: str = AccessLog.Action.VIEW, ref_kwarg: str | None = None
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorator for views that show personal data: logs before the view runs."""

    def wrap(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            ref = str(kwargs.get(ref_kwarg, "")) if ref_kwarg else ""
            access_log_record(
                user=request.user, action=action, resource=resource, object_ref=ref, request=request
            )
            return view(request, *args, **kwargs)

        return inner

    return wrap
