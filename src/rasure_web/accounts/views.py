from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from rasure_web.accounts.roles import (
    ADMIN,
    ALL_ROLES,
    ANALYST,
    OFFICER,
    PARTNER,
    RESEARCHER,
    ROLE_DESCRIPTIONS,
    SUPERVISOR,
    has_role,
    user_roles,
)

#: How the refusal page names a person by role ("You are signed in as a patrol officer.").
ROLE_NOUNS = {
    ADMIN: "an administrator",
    ANALYST: "a crime analyst",
    SUPERVISOR: "a supervisor",
    OFFICER: "a patrol officer",
    PARTNER: "a partner organisation user",
    RESEARCHER: "a researcher",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Analysts and supervisors land on the dashboard overview; officers on the patrol app; partners on
    the partner portal."""
    if has_role(request.user, ANALYST, SUPERVISOR, ADMIN):
        from rasure_web.dashboard.views import overview

        return overview(request)
    if has_role(request.user, OFFICER):
        return redirect("/patrol/")
    if has_role(request.user, PARTNER):
        return redirect("/partners/")
    raise PermissionDenied("Nothing in Rasure is open to your account yet.")


@login_required
def force_switch(request: HttpRequest) -> HttpResponse:
    """POST: act for another force this session (one the user holds a grant for, or their own)."""
    from django.utils.http import url_has_allowed_host_and_scheme

    from rasure_web.accounts.tenancy import switch_force

    if request.method != "POST":
        return redirect("/")
    switch_force(request, request.POST.get("force", ""))
    nxt = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = "/"
    return redirect(nxt)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's handler403: a page a person can read; JSON under /api/ (the API keeps JSON errors)."""
    reason = str(exception) if exception is not None and str(exception) else "You may not see this page."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": reason, "code": "forbidden"}, status=403)
    user = getattr(request, "user", None)
    roles = [r for r in ALL_ROLES if r in user_roles(user)]
    if roles:
        who = " and ".join(ROLE_NOUNS[r] for r in roles)
        signed_in_as = f"You are signed in as {who}."
    else:
        signed_in_as = "Your account has no role yet."
    context: dict[str, Any] = {
        "reason": reason,
        "signed_in_as": signed_in_as,
        "roles": [(r, ROLE_DESCRIPTIONS[r]) for r in roles],
        "full_name": user.get_full_name() if user is not None and user.is_authenticated else "",
        "is_officer": OFFICER in roles,
        "is_partner": PARTNER in roles,
        "is_dashboard_user": bool({ANALYST, SUPERVISOR, ADMIN} & set(roles)),
        "contact": settings.RASURE_SUPPORT_CONTACT,
    }
    return render(request, "403.html", context, status=403)


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """django-axes' lockout response (AXES_LOCKOUT_CALLABLE): the lockout page in the site's layout."""
    username = ""
    if credentials:
        username = str(credentials.get("username") or "")
    elif request.method == "POST":
        username = str(request.POST.get("username") or "")
    context = {
        "username": username,
        "failure_limit": settings.RASURE_LOGIN_FAILURE_LIMIT,
        "lockout_minutes": settings.RASURE_LOGIN_LOCKOUT_MINUTES,
        "contact": settings.RASURE_SUPPORT_CONTACT,
    }
    return render(request, "registration/locked_out.html", context, status=429)


class SignInView(LoginView):
    """The password form, with a "Sign in with <label>" button above it when single sign-on is on."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from rasure_web.accounts import sso

        ctx: dict[str, Any] = super().get_context_data(**kwargs)
        cfg = sso.config()
        if cfg is not None:
            url = reverse("oidc_authentication_init")
            next_url = ctx.get("next")
            ctx["sso_button"] = sso.button_text(cfg)
            ctx["sso_url"] = f"{url}?{urlencode({'next': next_url})}" if next_url else url
        return ctx
