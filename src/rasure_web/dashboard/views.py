"""Dashboard pages for analysts and supervisors (D3, D4, D5, D7, S2). Views are thin: parse, select, render."""

from __future__ import annotations

import csv
import io
import json
import math
from html import escape
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from rasure.spreadsheet import neutralise_rows
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.tenancy import acting_force_id, scoped
from rasure_web.dashboard import selectors as sel
from rasure_web.dashboard.charts import line_chart


def _area(request: HttpRequest) -> str:
    return _text_param(request, "area")[:64]


def _text_param(request: HttpRequest, name: str, default: str = "") -> str:
    """A text query value; a NUL character (which PostgreSQL cannot store or compare) is a bad request."""
    v = request.GET.get(name, default)
    if "\x00" in v:
        raise BadRequest(f"bad parameter {name}: it contains a NUL character")
    return v


def _int_param(request: HttpRequest, name: str, default: int, lo: int, hi: int) -> int:
    """A whole-number query value within [lo, hi]; anything else is a 400, not a server error."""
    raw = request.GET.get(name, "") or str(default)
    try:
        v = int(raw)
    except ValueError:
        raise BadRequest(f"bad parameter {name}: {raw[:40]!r} is not a whole number") from None
    if not lo <= v <= hi:
        raise BadRequest(f"bad parameter {name}: {v} is outside {lo}..{hi}")
    return v


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    user = request.user
    sel.require_dashboard(user)
    area = _area(request)
    series = sel.monthly_series(user=user, area_code=area)
    yoy = sel.year_on_year(series)
    chart = ""
    if not series.empty:
        last12 = series.tail(12).reset_index(drop=True)
        prev = series.set_index("month")
        prior = [prev["count"].get(f"{int(m[:4]) - 1}{m[4:]}", 0) for m in last12["month"]]
        prior_h = [prev["harm"].get(f"{int(m[:4]) - 1}{m[4:]}", 0) for m in last12["month"]]
        df = last12.assign(prior=prior, prior_harm=prior_h)
        chart = line_chart(
            df,
            x="month",
            ys=[("count", "Last 12 months", "#0b3d91"), ("prior", "Same months a year before", "#8a94a6")],
            title="Serious violence per month",
        )
        harm_chart = line_chart(
            df,
            x="month",
            ys=[("harm", "Harm, last 12 months", "#c8102e"), ("prior_harm", "Harm, year before", "#8a94a6")],
            title="Harm (CCHI days) per month",
        )
    else:
        harm_chart = ""
    run = sel.current_run(user=user)
    ctx = {
        "areas": sel.area_choices(user=user),
        "area": area,
        "yoy": yoy,
        "chart": mark_safe(chart),
        "harm_chart": mark_safe(harm_chart),
        "run": run,
        "hotspots": sel.hotspots_for(user=user, area_code=area)[:20],
        "conc_rows": _conc_rows(run),
        "synthetic": _synthetic(user),
        "hot_times": sel.hot_times_matrix(user=user, area_code=area),
        "fresh": sel.freshness(user=user),
        "series_rows": series.tail(24).to_dict("records"),
        "failed_imports": _failed_imports(user),
    }
    return render(request, "dashboard/overview.html", ctx)


def _failed_imports(user: Any) -> int:
    """Files rejected in the last 7 days, for the overview's notice to those who can see the Imports page."""
    from rasure_web import clock
    from rasure_web.accounts.roles import has_role
    from rasure_web.jobs.selectors import IMPORTS_ROLES, import_failures_recent

    return import_failures_recent(user=user, now=clock.now()) if has_role(user, *IMPORTS_ROLES) else 0


def _synthetic(user: Any) -> bool:
    """Whether the acting force's own records are the synthetic demonstration data (another force's
    demo on the same installation does not make this force's real records "invented")."""
    from rasure_web.crimes.models import CrimeRecord

    return scoped(CrimeRecord.objects.filter(source="synthetic"), user).exists()


def _conc_rows(run: Any) -> list[dict[str, Any]]:
    if run is None:
        return []
    rows = []
    cell = (
        f"{run.params.get('cell_size_m', 150):.0f} m"
        if run.params.get("shape", "square") == "square"
        else "hex"
    )
    for period, c in run.summary.get("concentration", {}).items():
        half = float(c["places_for_shares"].get("0.5", 0))
        rows.append(
            {
                "period": period,
                "half_pct": 100 * half,
                "n_half": round(half * c["n_places"]),
                "n_places": c["n_places"],
                "top1_pct": 100 * float(c["top_shares"].get("0.01", 0)),
                "cell": cell,
            }
        )
    return rows


@login_required
def map_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    sel.require_dashboard(user)
    from django.conf import settings

    return render(
        request,
        "dashboard/map.html",
        {
            "areas": sel.area_choices(user=user),
            "categories": sel.categories(user=user),
            "tiles": getattr(settings, "RASURE_MAP_TILES", ""),
            "tiles_attribution": getattr(settings, "RASURE_MAP_ATTRIBUTION", ""),
            "run": sel.current_run(user=user),
        },
    )


@login_required
def map_data(request: HttpRequest, layer: str) -> HttpResponse:
    try:
        return _map_data(request, layer)
    except (ValueError, BadRequest) as exc:  # a malformed bbox, zoom or months: the request is wrong
        return JsonResponse({"error": f"bad parameter: {exc}"}, status=400)


def _map_data(request: HttpRequest, layer: str) -> HttpResponse:
    user = request.user
    area = _area(request)
    if layer == "areas":
        return JsonResponse(sel.map_areas(user=user))
    if layer == "hotspots":
        return JsonResponse(
            sel.map_hotspots(user=user, area_code=area, period=_text_param(request, "period"))
        )
    if layer == "institutions":
        return JsonResponse(sel.map_institutions(user=user))
    if layer == "crimes":
        bbox = None
        if request.GET.get("bbox"):
            w, s, e, n = (float(v) for v in request.GET["bbox"].split(",")[:4])
            if not all(math.isfinite(v) for v in (w, s, e, n)):
                raise ValueError("bbox needs four finite numbers: west,south,east,north")
            bbox = (w, s, e, n)
        data = sel.map_crimes(
            user=user,
            bbox=bbox,
            zoom=_int_param(request, "zoom", 12, 0, 24),
            months=_int_param(request, "months", 12, 1, 240),
            category=_text_param(request, "category"),
            daynight=_text_param(request, "daynight"),
            area_code=area,
        )
        access_log_record(
            user=user,
            action="view",
            resource="map_crimes",
            object_ref=area,
            detail=f"crime points, bbox {request.GET.get('bbox', 'all')}"[:500],
            request=request,
        )
        return JsonResponse(data)
    if layer == "density":
        png, bounds = sel.density_png(
            user=user, months=_int_param(request, "months", 12, 1, 240), area_code=area
        )
        if request.GET.get("format") == "bounds":
            return JsonResponse({"bounds": bounds})
        return HttpResponse(png, content_type="image/png")
    return JsonResponse({"error": f"unknown layer {layer!r}"}, status=404)


@login_required
def hotspot_page(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    hs = sel.hotspot_detail(user=user, pk=pk)
    access_log_record(
        user=user, action="view", resource="hotspot_crimes", object_ref=hs.code, request=request
    )
    trend = sel.hotspot_trend(user=user, hs=hs)
    ctx: dict[str, Any] = {
        "hs": hs,
        "trend": mark_safe(
            line_chart(
                trend,
                x="month",
                ys=[("count", "Crimes per month", "#0b3d91")],
                title=f"Serious violence per month in {hs.code}",
            )
        ),
        "hot_times": sel.hotspot_hot_times(user=user, hs=hs),
        "crimes": sel.hotspot_crimes(user=user, hs=hs, limit=500 if request.GET.get("all") else 50),
        "all_crimes": bool(request.GET.get("all")),
        "geofence": hs.geofence_lonlat_geojson,
        "extra": _hotspot_extras(user=user, hs=hs, request=request),
    }
    return render(request, "dashboard/hotspot.html", ctx)


def _hotspot_extras(*, user: Any, hs: Any, request: HttpRequest) -> dict[str, Any]:
    """Briefing, trial arm and patrol history from the trials and patrols apps, when they provide them."""
    out: dict[str, Any] = {}
    try:
        from rasure_web.dashboard.integrations import hotspot_integrations
    except ImportError:
        return out
    return hotspot_integrations(user=user, hs=hs, request=request)


@login_required
def briefing_edit(request: HttpRequest, pk: int) -> HttpResponse:
    from django.shortcuts import redirect

    from rasure_web.dashboard.integrations import BriefingForm
    from rasure_web.patrols.services import briefing_update

    hs = sel.hotspot_detail(user=request.user, pk=pk)
    if request.method != "POST":
        return redirect(f"/dashboard/hotspots/{hs.pk}/#briefing")
    form = BriefingForm(request.POST)
    if not form.is_valid():
        return HttpResponse(
            "Invalid briefing: " + form.errors.as_text(), status=400, content_type="text/plain"
        )
    briefing_update(user=request.user, hotspot_id=hs.pk, **form.cleaned_data)
    return redirect(f"/dashboard/hotspots/{hs.pk}/?saved=1#briefing")


@login_required
def patrols_page(request: HttpRequest) -> HttpResponse:
    from rasure_web.dashboard.integrations import patrol_monitoring

    sel.require_dashboard(request.user)
    access_log_record(user=request.user, action="view", resource="patrol_monitoring", request=request)
    weeks = _int_param(request, "weeks", 8, 1, 52)
    return render(
        request,
        "dashboard/patrols.html",
        {"m": patrol_monitoring(weeks=weeks, lpa=_area(request), force_id=acting_force_id(request.user))},
    )


@login_required
def review_page(request: HttpRequest) -> HttpResponse:
    """Places held apart by the current run (D5), each with its reason; an analyst decides "keep out"
    or "a real public-space hot spot", stored and reused by later builds."""
    from django.shortcuts import redirect

    from rasure_web.analysis.selectors import held_apart, name_places
    from rasure_web.analysis.services import place_decide

    sel.require_dashboard(request.user)
    tenant = acting_force_id(request.user)
    places = held_apart(tenant=tenant)
    if request.method == "POST":
        decision = request.POST.get("decision", "")
        try:
            n = int(request.POST.get("n", ""))
        except ValueError:
            n = 0
        if decision not in ("keep_out", "hot_spot") or not 1 <= n <= len(places):
            return HttpResponse(
                "Choose a place and a decision (keep out, or a real hot spot).",
                status=400,
                content_type="text/plain",
            )
        p = places[n - 1]
        place_decide(
            location=p["location"],
            easting=p["easting"],
            northing=p["northing"],
            decision=decision,
            note=request.POST.get("note", "")[:500],
            username=request.user.get_username(),
            tenant=tenant,
        )
        return redirect("/dashboard/review/?saved=1")
    name_places(tenant=tenant, places=places)  # as the records spell them, not the run's case-folded key
    return render(
        request, "dashboard/review.html", {"places": places, "saved": bool(request.GET.get("saved"))}
    )


# ------------------------------------------------------------------------------------------- exports


def _export_rows(user: Any, area: str) -> list[dict[str, Any]]:
    run = sel.current_run(user=user)
    labels = run.labels if run is not None else {}
    # every exported row says how it was computed (police.uk data: an approximation, D2/D6)
    basis = {
        "serious_violence_basis": labels.get("serious_violence", ""),
        "harm_basis": labels.get("harm", ""),
    }
    return [
        {
            "code": h.code,
            "name": h.name,
            "period": h.period,
            "rank": h.rank,
            "count": round(h.count, 1),
            "harm_cchi_days": round(h.harm, 1),
            "gi_z": round(h.gi_z or 0, 2),
            "gi_q": h.gi_q,
            "persistence": h.persistence,
            "institution_share": round(h.institution_share, 3),
            "patrol_areas": h.patrol_areas,
            "lpa": h.lpa_code,
            "lon": round(h.lon, 6),
            "lat": round(h.lat, 6),
            "why_hot": " ".join(h.facts),
            **basis,
            **(
                {"includes_partner_data": h.run.labels["partner_data"]}
                if h.run.labels.get("partner_data")
                else {}
            ),
        }
        for h in sel.hotspots_for(user=user, area_code=area)
    ]


@login_required
def export_hotspots(request: HttpRequest, fmt: str) -> HttpResponse:
    user = request.user
    area = _area(request)
    rows = _export_rows(user, area)
    access_log_record(
        user=user, action="export", resource="hotspots", object_ref=f"{fmt} {area}".strip(), request=request
    )
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["code"])
        w.writeheader()
        w.writerows(neutralise_rows(rows))  # CSV formula injection (rasure.spreadsheet)
        resp = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    elif fmt == "geojson":
        gj = sel.map_hotspots(user=user, area_code=area)
        by_code = {r["code"]: r for r in rows}
        for f in gj["features"]:
            f["properties"] = by_code.get(f["properties"]["code"], f["properties"])
        resp = HttpResponse(json.dumps(gj), content_type="application/geo+json")
    elif fmt == "kml":
        resp = HttpResponse(
            _kml(sel.map_hotspots(user=user, area_code=area), rows),
            content_type="application/vnd.google-earth.kml+xml",
        )
    else:
        return HttpResponse("Unknown format: use csv, geojson or kml.", status=404, content_type="text/plain")
    resp["Content-Disposition"] = f'attachment; filename="rasure-hotspots.{fmt}"'
    return resp


def _kml_polygon(rings: list[list[list[float]]]) -> str:
    def ring(r: list[list[float]]) -> str:
        coords = " ".join(f"{x:.6f},{y:.6f},0" for x, y, *_ in r)
        return f"<LinearRing><coordinates>{coords}</coordinates></LinearRing>"

    holes = "".join(f"<innerBoundaryIs>{ring(r)}</innerBoundaryIs>" for r in rings[1:])
    return f"<Polygon><outerBoundaryIs>{ring(rings[0])}</outerBoundaryIs>{holes}</Polygon>"


def _kml(gj: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """Hot spots as KML: every part of a multi-part hot spot (a MultiGeometry), holes kept."""
    by_code = {r["code"]: r for r in rows}
    marks = []
    for f in gj["features"]:
        p = f["properties"]
        g = f["geometry"]
        parts = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        shape = (
            _kml_polygon(parts[0])
            if len(parts) == 1
            else "<MultiGeometry>" + "".join(_kml_polygon(x) for x in parts) + "</MultiGeometry>"
        )
        row = by_code.get(p["code"], {})
        desc = escape(
            " ".join(str(row.get(k, "")) for k in ("why_hot", "serious_violence_basis", "harm_basis"))
        )
        marks.append(
            f"<Placemark><name>{escape(p['code'])} {escape(p['name'])}</name><description>{desc}</description>"
            f"{shape}</Placemark>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<name>Rasure hot spots</name>{''.join(marks)}</Document></kml>"
    )


@login_required
def briefing_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    hs = sel.hotspot_detail(user=user, pk=pk)
    access_log_record(
        user=user, action="export", resource="briefing_sheet", object_ref=hs.code, request=request
    )
    return render(
        request,
        "dashboard/briefing_sheet.html",
        {
            "hs": hs,
            "hot_times": sel.hotspot_hot_times(user=user, hs=hs),
            "extra": _hotspot_extras(user=user, hs=hs, request=request),
        },
    )
