from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

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
