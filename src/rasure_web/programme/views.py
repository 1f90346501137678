"""The programme page (S3–S6): outputs, operations register, training coverage and the delivery model."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from rasure_web import clock
from rasure_web.crimes.models import Area
from rasure_web.dashboard.selectors import require_dashboard
from rasure_web.programme import services
from rasure_web.programme.models import Operation


@login_required
def programme_page(request: HttpRequest) -> HttpResponse:
    require_dashboard(request.user)
    today = clock.local_today()  # the installation's time zone (TIME_ZONE)
    grid = services.step_grid()
    ctx = {
        "out": services.programme_outputs(today=today),
        "operations": services.operations(),
        "training": services.training_picture(today=today),
        "grid": grid,
        "grid_rows": grid.rows(),
        "today": today,
    }
    return render(request, "programme/programme.html", ctx)


@login_required
def operation_page(request: HttpRequest, pk: int) -> HttpResponse:
    require_dashboard(request.user)
    op = get_object_or_404(Operation.objects.select_related("force", "analysis_run"), pk=pk)
    area = Area.objects.filter(kind=Area.Kind.LPA, code=op.lpa_code).first()
    return render(
        request,
        "programme/operation.html",
        {
            "op": op,
            "area_name": area.name if area else op.lpa_code,
            "hotspots": list(op.hotspots.order_by("period", "rank")),
            "activities": [a for a in op.activities.splitlines() if a.strip()],
            "results": [r for r in op.results.splitlines() if r.strip()],
        },
    )
