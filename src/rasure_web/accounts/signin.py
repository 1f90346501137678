"""Every sign-in, failed sign-in and sign-out goes into the access log (DPA 2018 s.62 logging).

Connected to Django's auth signals in :class:`rasure_web.accounts.apps.AccountsConfig`. The entry keeps
the username that was tried, the time, the client address and the outcome; never the password (Django
hands the failure signal cleansed credentials and only ``username`` is read from them).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.http import HttpRequest

from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.models import AccessLog

RESOURCE = "session"
#: Set on the request by code that signs a person out for a reason (e.g. the idle timeout).
LOGOUT_REASON_ATTR = "rasure_logout_reason"


def _signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    access_log_record(
        user=user, action=AccessLog.Action.SIGN_IN, resource=RESOURCE, detail="signed in", request=request
    )


def _failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    tried = str(credentials.get("username") or "")
    # django-axes' own receiver runs first (its app is listed first) and flags a refused attempt.
    locked = request is not None and bool(getattr(request, "axes_locked_out", False))
    access_log_record(
        user=None,
        username=tried or "(blank)",
        action=AccessLog.Action.SIGN_IN_FAILED,
        resource=RESOURCE,
        detail="refused: locked out after too many failures" if locked else "wrong username or password",
        request=request,
    )


def _signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None or not getattr(user, "pk", None):
        return  # signing out while not signed in: nothing happened
    reason = getattr(request, LOGOUT_REASON_ATTR, "") if request is not None else ""
    access_log_record(
        user=user,
        action=AccessLog.Action.SIGN_OUT,
        resource=RESOURCE,
        detail=reason or "signed out",
        request=request,
    )


def connect() -> None:
    user_logged_in.connect(_signed_in, dispatch_uid="rasure-access-log-sign-in")
    user_login_failed.connect(_failed, dispatch_uid="rasure-access-log-sign-in-failed")
    user_logged_out.connect(_signed_out, dispatch_uid="rasure-access-log-sign-out")
