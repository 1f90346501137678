"""Idle timeout: a session that has seen no request for too long is ended on its next request.

No maintained package fits Django 5.2 with a per-area limit (django-session-timeout's last release is
from 2020 and has one limit for the whole site), so this is a small middleware. It keeps the time of
the last request in the session, read from :func:`rasure_web.clock.now`.

- Dashboard and other pages: ``RASURE_SESSION_IDLE_MINUTES`` (default 30). The next page after the limit
  goes to the sign-in page with a message, and back to that page after signing in.
- The patrol app (``/patrol/`` and ``/api/patrol/``): ``RASURE_PATROL_SESSION_IDLE_MINUTES`` (default
  600, a shift). An officer keeps the app open through a 15-minute visit without a tap.
- Other API calls: the session is ended and the API answers 401 as for anyone signed out, so the patrol
  app keeps its outbox and asks the officer to sign in again.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

from rasure_web import clock
from rasure_web.accounts.signin import LOGOUT_REASON_ATTR

SESSION_KEY = "rasure_last_seen"
PATROL_PREFIXES = ("/patrol/", "/api/patrol/")
#: The last-seen time is written at most once a minute, so a phone sending pings does not write its
#: session row on every request; the limit is therefore kept to within a minute.
TOUCH_EVERY_S = 60


def idle_limit_minutes(path: str) -> int:
    if path.startswith(PATROL_PREFIXES):
        return int(settings.RASURE_PATROL_SESSION_IDLE_MINUTES)
    return int(settings.RASURE_SESSION_IDLE_MINUTES)


def _minutes(n: int) -> str:
    if n % 60 == 0 and n >= 120:
        return f"{n // 60} hours"
    return "1 minute" if n == 1 else f"{n} minutes"


class IdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = clock.now().timestamp()
            limit = idle_limit_minutes(request.path)
            last = request.session.get(SESSION_KEY)
            if isinstance(last, int | float) and now - last > limit * 60:
                text = f"You were signed out after {_minutes(limit)} without activity."
                setattr(request, LOGOUT_REASON_ATTR, f"idle timeout ({_minutes(limit)})")
                logout(request)
                if not request.path.startswith("/api/"):
                    messages.info(request, f"{text} Sign in again to carry on.")
                    return redirect_to_login(request.get_full_path())
            elif not isinstance(last, int | float) or now - last >= TOUCH_EVERY_S:
                request.session[SESSION_KEY] = now
        return self.get_response(request)
