from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from rasure_web.accounts.roles import ADMIN, ANALYST, OFFICER, SUPERVISOR, has_role


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if has_role(request.user, ANALYST, SUPERVISOR, ADMIN):
        from rasure_web.crimes.models import CrimeRecord
        from rasure_web.crimes.selectors import records_summary

        return render(
            request,
            "rasure/home.html",
            {
                "summary": records_summary(user=request.user),
                "synthetic": CrimeRecord.objects.filter(source="synthetic").exists(),
            },
        )
    if has_role(request.user, OFFICER):
        return render(request, "rasure/officer_home.html")
    raise PermissionDenied("Your account has no role that can see this page. Ask an administrator.")
