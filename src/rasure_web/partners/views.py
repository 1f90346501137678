"""The partner portal (D8): what a partner organisation's live data-sharing agreement covers.

Views are thin: find the agreement (refused with a readable reason otherwise), log the view, select,
render. Every page and its JSON are logged in the access log, refusals too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from rasure_web.accounts.access import access_log_record
from rasure_web.dashboard.charts import line_chart
from rasure_web.partners import selectors as sel
from rasure_web.partners.models import DataClass, DataSharingAgreement


def _agreement(request: HttpRequest, resource: str) -> DataSharingAgreement:
    """The live agreement, with the view logged; a refusal is logged and raised (the 403 page says why)."""
    reference = request.GET.get("agreement", "")[:32]
    try:
        agreement = sel.agreement_for(user=request.user, reference=reference)
    except sel.NoLiveAgreement as exc:
        access_log_record(
            user=request.user, action="refused", resource=resource, object_ref=reference,
            detail=str(exc), request=request,
        )  # fmt: skip
        raise
    access_log_record(
        user=request.user, action="view", resource=resource, object_ref=agreement.reference, request=request
    )
    return agreement


def _section(agreement: DataSharingAgreement, data_class: str, build: Callable[[], Any]) -> Any:
    return build() if agreement.shares(data_class) else None


@login_required
def portal(request: HttpRequest) -> HttpResponse:
    user = request.user
    agreement = _agreement(request, "partner_portal")
    cov = sel.coverage(user=user, agreement=agreement)
    counts = _section(
        agreement, DataClass.CRIME_COUNTS, lambda: sel.area_months(user=user, agreement=agreement)
    )
    chart = harm_chart = ""
    if counts and counts["trend"]:
        import pandas as pd

        df = pd.DataFrame(counts["trend"])
        chart = line_chart(
            df, x="month", ys=[("count", "Serious violence", "#0b3d91")], title="Serious violence per month"
        )
        harm_chart = line_chart(
            df, x="month", ys=[("harm", "Harm (CCHI days)", "#c8102e")], title="Harm per month"
        )
    from rasure_web.crimes.models import CrimeRecord

    ctx = {
        "agreement": agreement,
        "others": [a for a in sel.agreements_of(user=user) if a.pk != agreement.pk],
        "organisation": agreement.organisation,
        "areas": cov.areas,
        "classes": [label for value, label in DataClass.choices if agreement.shares(value)],
        "counts": counts,
        "chart": mark_safe(chart),
        "harm_chart": mark_safe(harm_chart),
        "trends": _section(
            agreement, DataClass.CRIME_COUNTS, lambda: sel.area_trends(user=user, agreement=agreement)
        ),
        "hot_times": _section(
            agreement, DataClass.HOT_TIMES, lambda: sel.hot_times(user=user, agreement=agreement)
        ),
        "patrols": _section(
            agreement, DataClass.PATROLS, lambda: sel.patrol_activity(user=user, agreement=agreement)
        ),
        "show_map": agreement.shares(DataClass.CRIME_COUNTS) or agreement.shares(DataClass.HOT_SPOTS),
        "threshold": sel.threshold_for(agreement),
        "synthetic": CrimeRecord.objects.filter(source="synthetic", tenant_id=agreement.tenant_id).exists(),
        "tiles": getattr(settings, "RASURE_MAP_TILES", ""),
        "tiles_attribution": getattr(settings, "RASURE_MAP_ATTRIBUTION", ""),
    }
    return render(request, "partners/portal.html", ctx)


@login_required
def map_data(request: HttpRequest) -> HttpResponse:
    agreement = _agreement(request, "partner_map")
    layers = sel.map_layers(user=request.user, agreement=agreement)
    if not agreement.shares(DataClass.CRIME_COUNTS):
        for f in layers["neighbourhoods"]["features"]:
            f["properties"].update(crimes="", shade=None)
    return JsonResponse(layers)


@login_required
def upload(request: HttpRequest) -> HttpResponse:
    """A partner sends its own anonymised emergency-department assault file (Cardiff Model style)."""
    import tempfile
    from pathlib import Path

    from rasure.errors import InputFileError, InvalidRowsError
    from rasure.partnerdata import ASSAULT_TYPES, COLUMNS, WEAPONS
    from rasure_web.partners.services import PartnerImportError, partner_import

    agreement = _agreement(request, "partner_upload")
    ctx: dict[str, Any] = {
        "agreement": agreement,
        "columns": COLUMNS,
        "weapons": WEAPONS,
        "assault_types": ASSAULT_TYPES,
    }
    status = 200
    if request.method == "POST":
        f = request.FILES.get("file")
        if f is None:
            ctx["error"] = "Choose a CSV file first."
            status = 400
        else:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "upload.csv"
                path.write_bytes(b"".join(f.chunks()))
                try:
                    done = partner_import(
                        path=path,
                        org_code=agreement.organisation.code,
                        username=request.user.get_username(),
                        filename=Path(f.name or "upload.csv").name,
                        agreement=agreement,
                    )
                except InvalidRowsError as exc:
                    ctx["error"] = str(exc).split(" First:")[0]
                    ctx["problems"] = exc.problems[:500]
                    ctx["more"] = max(0, len(exc.problems) - 500)
                    status = 400
                except (InputFileError, PartnerImportError) as exc:
                    ctx["error"] = str(exc)
                    status = 400
                else:
                    access_log_record(
                        user=request.user, action="import", resource="partner_data",
                        object_ref=f"{agreement.reference} {done.filename}"[:200],
                        detail=f"{done.rows} rows, {done.located} placed", request=request,
                    )  # fmt: skip
                    ctx["done"] = done
    ctx["uploads"] = sel.uploads_of(user=request.user, agreement=agreement)
    return render(request, "partners/upload.html", ctx, status=status)


@login_required
def partner_data(request: HttpRequest) -> HttpResponse:
    """For analysts: partners' data beside police data (a series, a table by area, a map layer)."""
    data = sel.partner_data_overview(user=request.user)
    access_log_record(user=request.user, action="view", resource="partner_data", request=request)
    chart = ""
    if data["series"]:
        import pandas as pd

        chart = line_chart(
            pd.DataFrame(data["series"]),
            x="month",
            ys=[
                ("police", "Police: serious violence", "#0b3d91"),
                ("ed", "Emergency departments: assaults (partner data)", "#c8102e"),
            ],
            title="Police serious violence and emergency-department assaults per month",
        )
    return render(
        request,
        "partners/data.html",
        {
            **data,
            "engagement": sel.engagement(user=request.user),
            "rebuilds": sel.rebuilds(user=request.user),
            "current_run": sel.current_run(user=request.user),
            "chart": mark_safe(chart),
            "tiles": getattr(settings, "RASURE_MAP_TILES", ""),
            "tiles_attribution": getattr(settings, "RASURE_MAP_ATTRIBUTION", ""),
        },
    )


@login_required
@require_POST
def rebuild_hotspots(request: HttpRequest) -> HttpResponse:
    """An analyst chooses: rebuild the acting force's hot spots including partner data, or without.
    Queued on the job framework (the worker runs it); the choice is logged; the partner data page
    shows its status."""
    from rasure.errors import RasureError
    from rasure_web.accounts.tenancy import require_force
    from rasure_web.jobs.tasks import hotspots_rebuild_queue

    sel.require_rebuild(request.user)
    fid = require_force(request.user)
    include = request.POST.get("include_partner_data") == "1"
    choice = "including partner data" if include else "without partner data"
    try:
        task_id = hotspots_rebuild_queue(
            force_id=fid, include_partner_data=include, username=request.user.get_username()
        )
    except RasureError as exc:
        messages.error(request, str(exc))
    else:
        access_log_record(
            user=request.user, action="queue", resource="hotspots_rebuild", object_ref=task_id,
            detail=f"rebuild hot spots {choice}", request=request,
        )  # fmt: skip
        messages.success(request, f"Queued: rebuild hot spots {choice}. Its status is shown below.")
    return redirect("/partners/data/#rebuild")


@login_required
def rebuild_status(request: HttpRequest) -> HttpResponse:
    """The acting force's hot-spot rebuilds as JSON (those waiting, the last few done), for the partner
    data page to update its status without a reload; for those who may queue one (403 otherwise)."""
    sel.require_rebuild(request.user)
    return JsonResponse(sel.rebuild_status(user=request.user))


@login_required
def partner_points(request: HttpRequest) -> HttpResponse:
    data = sel.partner_points(user=request.user)
    access_log_record(user=request.user, action="view", resource="partner_data_map", request=request)
    return JsonResponse(data)
