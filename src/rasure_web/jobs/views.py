"""The Imports page: every import run (drop-folder and manual), rejected files flagged, and the jobs."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from rasure_web import clock
from rasure_web.jobs import selectors


@login_required
def imports_page(request: HttpRequest) -> HttpResponse:
    selectors.require_imports(request.user)
    return render(
        request,
        "jobs/imports.html",
        {
            "runs": selectors.import_runs_recent(user=request.user),
            "failed_recent": selectors.import_failures_recent(user=request.user, now=clock.now()),
            "jobs": selectors.job_last_results(),
            "drop_root": settings.RASURE_DROP_ROOT,
        },
    )
