from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from rasure_web.accounts.roles import ADMIN, ANALYST, OFFICER, SUPERVISOR, has_role


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Analysts and supervisors land on the dashboard overview; officers on the patrol app."""
    if has_role(request.user, ANALYST, SUPERVISOR, ADMIN):
        from rasure_web.dashboard.views import overview

        return overview(request)
    if has_role(request.user, OFFICER):
        return redirect("/patrol/")
    raise PermissionDenied("Your account has no role that can see this page. Ask an administrator.")


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
