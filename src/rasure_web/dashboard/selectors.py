"""Selectors (reads) for the dashboard. Every selector takes the acting user and checks the role here.

Aggregates only, except :func:`hotspot_crimes`, which lists crime records (no people) and is
logged in the access log by the view that shows it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from rasure.geo import projected_to_lonlat
from rasure_web.accounts.roles import ADMIN, ANALYST, SUPERVISOR, has_role
from rasure_web.accounts.tenancy import acting_force_crs, acting_force_id, force_crs
from rasure_web.analysis.models import AnalysisRun, HotSpot, Institution
from rasure_web.crimes.areas import lsoa_codes_in
from rasure_web.crimes.models import Area, CrimeRecord, ImportRun, RecordSummary
from rasure_web.crimes.selectors import local_naive

DASHBOARD_ROLES = (ANALYST, SUPERVISOR, ADMIN)
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _day_name(d: Any) -> str:
    try:
        return DAY_NAMES[int(d)]
    except (TypeError, ValueError, IndexError):
        return str(d)


def data_version() -> str:
    """Changes whenever the data behind the dashboard changes (an import, a force's harm or scope
    table, a deletion or an areas load, through the stored summary; a hot-spot run)."""
    from rasure_web.crimes.models import HarmTableInfo, ScopeTableInfo

    last_import = ImportRun.objects.aggregate(m=Max("pk"))["m"]
    harm = HarmTableInfo.objects.aggregate(m=Max("loaded_at"))["m"]
    scope = ScopeTableInfo.objects.aggregate(m=Max("pk"))["m"]
    run = AnalysisRun.objects.aggregate(m=Max("pk"))["m"]
    # every refresh of the stored summary (any writer of records, deletions and area loads too) gives
    # it new rows (a higher largest pk) or fewer rows
    summary = RecordSummary.objects.aggregate(m=Max("pk"), n=Count("pk"))
    harm_t = harm.timestamp() if harm is not None else None  # no spaces in a cache key
    return f"{last_import}:{harm_t}:{scope}:{run}:{summary['m']}-{summary['n']}"


def _cached(key: str, compute: Any, tenant: int | None, timeout: int = 3600) -> Any:
    """A force's aggregates over its records are recomputed only when the data change (see
    :func:`data_version`); each force's are cached apart."""
    from django.core.cache import cache

    full = f"rasure-dash:{data_version()}:force{tenant}:{key}"
    value = cache.get(full)
    if value is None:
        value = compute()
        cache.set(full, value, timeout)
    return value


def warm_cache() -> None:
    """Compute the cached aggregates now (called after imports and hot-spot builds), so the first
    person to open the dashboard does not wait for them."""
    from rasure_web.accounts.models import Force
    from rasure_web.crimes.selectors import records_summary
    from rasure_web.crimes.writer import refresh_statistics

    refresh_statistics()  # the plans of the aggregates below depend on the records' row counts
    for t in Force.objects.values_list("pk", flat=True):
        codes = ["", *Area.objects.filter(kind=Area.Kind.LPA, tenant_id=t).values_list("code", flat=True)]
        _cached("summary", lambda t=t: records_summary(force=Force.objects.get(pk=t).code), t)
        for code in codes:
            _cached(f"series:{code}", lambda c=code, t=t: _monthly_series(c, t), t)
            _cached(f"hottimes:{code}:12", lambda c=code, t=t: _hot_times_matrix(c, 12, t), t)
        _cached("categories", lambda t=t: _categories(t), t)


def _categories(tenant: int | None) -> list[str]:
    return list(
        RecordSummary.objects.filter(tenant_id=tenant, area_code="")
        .exclude(category__isnull=True)
        .values_list("category", flat=True)
        .distinct()
        .order_by("category")
    )


def require_dashboard(user: Any) -> None:
    if not has_role(user, *DASHBOARD_ROLES):
        raise PermissionDenied("The dashboard is for analysts and supervisors.")


@dataclass(frozen=True)
class AreaChoice:
    code: str
    name: str
    kind: str


def area_choices(*, user: Any) -> list[AreaChoice]:
    require_dashboard(user)
    out = [AreaChoice("", "Whole force", "force")]
    lpas = Area.objects.filter(kind=Area.Kind.LPA, tenant_id=acting_force_id(user)).order_by("name")
    out += [AreaChoice(a.code, a.name, a.kind) for a in lpas]
    return out


def _lsoas_in(area_code: str, tenant: int | None) -> list[str] | None:
    if not area_code:
        return None
    return lsoa_codes_in(area_code, tenant=tenant) if tenant is not None else []


#: "serious violence" as an equality the database can seek in the (tenant, serious_violence, time) index:
#: Django writes ``serious_violence=True`` on SQLite as a bare ``WHERE serious_violence``, which SQLite
#: only filters, so a force's last serious violence read every record of the force (116 ms at 200 k).
SV_ONLY = Q(serious_violence__in=[True])


def _sv_records(area_code: str, tenant: int | None) -> Any:
    qs = CrimeRecord.objects.filter(SV_ONLY, tenant_id=tenant)
    lsoas = _lsoas_in(area_code, tenant)
    if lsoas is not None:
        qs = qs.filter(lsoa_code__in=lsoas)
    return qs


def current_run(*, user: Any) -> AnalysisRun | None:
    require_dashboard(user)
    return AnalysisRun.objects.filter(is_current=True, tenant_id=acting_force_id(user)).first()


def hotspots_for(*, user: Any, area_code: str = "", period: str = "") -> list[HotSpot]:
    run = current_run(user=user)
    if run is None:
        return []
    qs = run.hotspots.all()
    if area_code:
        qs = qs.filter(lpa_code=area_code)
    if period:
        qs = qs.filter(period=period)
    return list(qs.order_by("period", "rank"))


def monthly_series(*, user: Any, area_code: str = "") -> pd.DataFrame:
    """Serious violence count and harm per month (of occurrence) for the last 24 months of data."""
    require_dashboard(user)
    t = acting_force_id(user)
    return _cached(f"series:{area_code}", lambda: _monthly_series(area_code, t), t)  # type: ignore[no-any-return]


def _monthly_series(area_code: str, tenant: int | None) -> pd.DataFrame:
    """From the stored summary (:mod:`rasure_web.crimes.summary`): the local months from the one
    760 days before the last serious violence (its first day on) to the last, whole months."""
    rows = RecordSummary.objects.filter(tenant_id=tenant, area_code=area_code, serious_violence=True).exclude(
        month=""
    )
    last = rows.aggregate(m=Max("last_from"))["m"]
    if last is None:
        return pd.DataFrame(columns=["month", "count", "harm"])
    start = f"{local_naive(pd.Series([last - dt.timedelta(days=760)])).iloc[0]:%Y-%m}"
    grouped = list(
        rows.filter(month__gte=start)
        .values("month")
        .annotate(count=Sum("n"), harm_sum=Sum("harm"))
        .values_list("month", "count", "harm_sum")
        .order_by("month")
    )
    df = pd.DataFrame(grouped, columns=["month", "count", "harm"])
    if df.empty:
        return pd.DataFrame(columns=["month", "count", "harm"])
    df["count"] = df["count"].astype(int)
    df["harm"] = df["harm"].astype(float).fillna(0.0)
    return df


def year_on_year(series: pd.DataFrame) -> dict[str, Any]:
    """Last 12 months against the 12 before, from :func:`monthly_series`. With less data, the months
    there are (``months``), and no change unless the year before is as long (no "103 against 0")."""
    if series.empty:
        return {"count": 0, "harm": 0.0, "prev_count": 0, "prev_harm": 0.0, "change": None}
    months = sorted(series["month"])
    cur = set(months[-12:])
    prev = set(months[-24:-12])
    c = series[series["month"].isin(cur)]
    p = series[series["month"].isin(prev)]
    pc = int(p["count"].sum())
    return {
        "count": int(c["count"].sum()),
        "harm": float(c["harm"].sum()),
        "prev_count": pc,
        "prev_harm": float(p["harm"].sum()),
        "change": (int(c["count"].sum()) - pc) / pc if pc and len(prev) == len(cur) else None,
        "months": len(cur),
        "prev_months": len(prev),
    }


def hot_times_matrix(*, user: Any, area_code: str = "", months: int = 12) -> dict[str, Any]:
    """7 × 24 aoristic matrix (day starting 06:00) of serious violence with known times."""
    require_dashboard(user)
    t = acting_force_id(user)
    return _cached(f"hottimes:{area_code}:{months}", lambda: _hot_times_matrix(area_code, months, t), t)  # type: ignore[no-any-return]


def _hot_times_matrix(area_code: str, months: int, tenant: int | None) -> dict[str, Any]:
    qs = _sv_records(area_code, tenant)
    last = qs.aggregate(m=Max("occurred_from"))["m"]
    if last is None:
        return {"rows": [], "n_used": 0, "n_month_only": 0}
    qs = qs.filter(occurred_from__gte=last - dt.timedelta(days=30 * months))
    # Records sharing their times are counted in the database (police.uk months collapse to a dozen
    # rows) and repeated here in one vectorised step: no Python per record.
    rows = list(
        qs.values_list("occurred_from", "occurred_to", "time_precision").annotate(n=Count("id")).order_by()
    )
    grouped = pd.DataFrame(rows, columns=["occurred_from", "occurred_to", "time_precision", "n"])
    records = grouped.loc[grouped.index.repeat(grouped["n"])].drop(columns="n").reset_index(drop=True)
    return _heatmap(records)


def _heatmap(df: pd.DataFrame, *, hours: set[int] | None = None, scope: str = "") -> dict[str, Any]:
    """Records (times as stored, UTC) to the 7 × 24 heatmap rows the templates draw (days from 06:00).
    ``hours``: the clock hours to count (a day or night hot spot's period); the others show 0."""
    from rasure.hottimes import hot_times

    if df.empty:
        return {"rows": [], "n_used": 0, "n_month_only": 0, "scope": scope}
    df = df.assign(occurred_from=local_naive(df["occurred_from"]), occurred_to=local_naive(df["occurred_to"]))
    ht = hot_times(df, day_start_hour=6)
    if ht.n_used == 0:  # e.g. police.uk data, all month-only: say why, do not draw an empty grid
        return {"rows": [], "n_used": 0, "n_month_only": ht.n_excluded_month_only, "scope": scope}
    matrix = ht.matrix
    if hours is not None:
        matrix = matrix.copy()
        matrix.loc[:, ~matrix.columns.isin(sorted(hours))] = 0.0
    peak = float(matrix.to_numpy().max()) or 1.0
    return {
        "rows": [
            {"day": _day_name(d), "cells": [(float(v), float(v) / peak) for v in r.to_numpy()]}
            for d, r in matrix.iterrows()
        ],
        "hours": [f"{h:02d}" for h in [*range(6, 24), *range(6)]],
        "n_used": ht.n_used,
        "n_month_only": ht.n_excluded_month_only,
        "scope": scope,
    }


def freshness(*, user: Any) -> dict[str, Any]:
    from rasure_web.crimes.selectors import records_summary

    require_dashboard(user)
    t = acting_force_id(user)
    s = _cached("summary", lambda: records_summary(user=user), t)
    runs = ImportRun.objects.filter(tenant_id=t)
    last = runs.filter(status=ImportRun.Status.OK).order_by("-finished_at").first()
    rejected = runs.filter(status=ImportRun.Status.REJECTED).count()
    return {**s, "last_import_run": last, "rejected_files": rejected}


def hotspot_detail(*, user: Any, pk: int) -> HotSpot:
    require_dashboard(user)
    # another force's hot spot does not exist for this user: a 404, as for no hot spot at all
    hs = HotSpot.objects.select_related("run").filter(pk=pk, run__tenant_id=acting_force_id(user)).first()
    if hs is None:
        from django.http import Http404

        raise Http404(f"no hot spot {pk}")
    return hs


def _in_geofence(hs: HotSpot) -> Any:
    geom = shapely.from_geojson(hs.geofence_geojson)
    x0, y0, x1, y1 = geom.bounds
    qs = CrimeRecord.objects.filter(
        SV_ONLY,
        tenant_id=hs.run.tenant_id,
        easting__gte=x0,
        easting__lte=x1,
        northing__gte=y0,
        northing__lte=y1,
    )
    return qs, geom


def hotspot_crimes(*, user: Any, hs: HotSpot, limit: int = 50) -> list[dict[str, Any]]:
    """Serious-violence records inside the hot spot's geofence, newest first (no people)."""
    require_dashboard(user)
    qs, geom = _in_geofence(hs)
    rows = list(
        qs.order_by("-occurred_from").values(
            "reference",
            "occurred_from",
            "time_precision",
            "offence_description",
            "category",
            "location_text",
            "weapon",
            "harm_days",
            "last_outcome",
            "easting",
            "northing",
        )[: limit * 3]
    )
    inside = [r for r in rows if geom.covers(shapely.Point(r["easting"], r["northing"]))]
    return inside[:limit]


def hotspot_trend(*, user: Any, hs: HotSpot) -> pd.DataFrame:
    """Monthly count and harm inside the geofence (all months in the data)."""
    require_dashboard(user)
    qs, geom = _in_geofence(hs)
    rows = list(qs.values_list("occurred_from", "easting", "northing", "harm_days"))
    df = pd.DataFrame(rows, columns=["t", "x", "y", "harm"])
    if df.empty:
        return pd.DataFrame(columns=["month", "count", "harm"])
    keep = shapely.covers(geom, shapely.points(df["x"].to_numpy(), df["y"].to_numpy()))
    df = df[keep]
    df["month"] = local_naive(df["t"]).dt.strftime("%Y-%m")
    out = df.groupby("month").agg(count=("t", "size"), harm=("harm", "sum")).reset_index()
    out["harm"] = out["harm"].astype(float)
    return out


def hotspot_hot_times(*, user: Any, hs: HotSpot) -> dict[str, Any]:
    require_dashboard(user)
    """The hot spot's hot times as its run saw them: crimes in the run's window, and for a day or
    night hot spot only the hours of that period (a day hot spot is not shown a Friday-night peak)."""
    qs, geom = _in_geofence(hs)
    run = hs.run
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(run.window_start, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(run.window_end + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    qs = qs.filter(occurred_from__gte=start, occurred_from__lt=end)
    day0 = int(run.params.get("day_start_hour", 6))
    night0 = int(run.params.get("night_start_hour", 18))
    day_hours = {h % 24 for h in range(day0, night0)}
    hours = {"day": day_hours, "night": set(range(24)) - day_hours}.get(hs.period)
    when = {
        "day": f" in the day ({day0:02d}:00-{night0:02d}:00)",
        "night": f" at night ({night0:02d}:00-{day0:02d}:00)",
    }
    scope = (
        f"Crimes{when.get(hs.period, '')} from {run.window_start} to {run.window_end}, the hot spot's window."
    )
    rows = list(qs.values_list("occurred_from", "occurred_to", "time_precision", "easting", "northing"))
    df = pd.DataFrame(rows, columns=["occurred_from", "occurred_to", "time_precision", "x", "y"])
    if df.empty:
        return _heatmap(df, hours=hours, scope=scope)
    inside = shapely.covers(geom, shapely.points(df["x"].to_numpy(), df["y"].to_numpy()))
    return _heatmap(df[inside], hours=hours, scope=scope)


def lonlat_geojson(geom: Any, *, crs: str) -> dict[str, Any]:
    """A geometry stored in a force's CRS (``crs``, metres) as GeoJSON in WGS84 lon/lat."""
    g = shapely.transform(geom, lambda xy: np.column_stack(projected_to_lonlat(xy[:, 0], xy[:, 1], crs=crs)))
    return json.loads(shapely.to_geojson(g))


def map_areas(*, user: Any) -> dict[str, Any]:
    require_dashboard(user)
    feats = []
    tenant = acting_force_id(user)
    areas = list(
        Area.objects.filter(tenant_id=tenant).exclude(geometry_geojson="").exclude(kind=Area.Kind.FORCE)
    )
    crs = (acting_force_crs(user) or force_crs()) if areas else ""
    for a in areas:
        feats.append(
            {
                "type": "Feature",
                "geometry": lonlat_geojson(shapely.from_geojson(a.geometry_geojson), crs=crs),
                "properties": {"code": a.code, "name": a.name, "kind": a.kind},
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def map_hotspots(*, user: Any, area_code: str = "", period: str = "") -> dict[str, Any]:
    feats = []
    for h in hotspots_for(user=user, area_code=area_code, period=period):
        feats.append(
            {
                "type": "Feature",
                "geometry": json.loads(h.geofence_lonlat_geojson),
                "properties": {
                    "id": h.pk,
                    "code": h.code,
                    "name": h.name,
                    "rank": h.rank,
                    "period": h.period,
                    "count": round(h.count, 1),
                    "harm": round(h.harm, 1),
                    "persistence": h.persistence,
                    "url": f"/dashboard/hotspots/{h.pk}/",
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def map_institutions(*, user: Any) -> dict[str, Any]:
    require_dashboard(user)
    t = acting_force_id(user)
    feats: list[dict[str, Any]] = []
    if t is None:
        return {"type": "FeatureCollection", "features": feats}
    crs = acting_force_crs(user) or force_crs()
    for i in Institution.objects.filter(tenant_id=t):
        lon, lat = projected_to_lonlat(np.array([i.easting]), np.array([i.northing]), crs=crs)
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [float(lon[0]), float(lat[0])]},
                "properties": {"name": i.name, "type": i.type, "registered": True},
            }
        )
    run = AnalysisRun.objects.filter(is_current=True, tenant_id=t).first()
    for h in run.held_out if run else []:
        e, n = h.get("easting"), h.get("northing")
        if e is None or n is None:
            continue
        lon, lat = projected_to_lonlat(np.array([e]), np.array([n]), crs=crs)
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [float(lon[0]), float(lat[0])]},
                "properties": {
                    "name": (h.get("institution") or h.get("dominant_location") or "held out"),
                    "reason": h.get("exclusion_reason", ""),
                    "count": h.get("count"),
                    "harm": h.get("harm"),
                    "registered": False,
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def map_crimes(
    *,
    user: Any,
    bbox: tuple[float, float, float, float] | None,
    zoom: int,
    months: int = 12,
    category: str = "",
    daynight: str = "",
    area_code: str = "",
) -> dict[str, Any]:
    """Crimes as points at high zoom, as counts in grid clusters at low zoom (server-side clustering)."""
    require_dashboard(user)
    t = acting_force_id(user)
    qs = CrimeRecord.objects.filter(tenant_id=t, easting__isnull=False, lon__isnull=False, lat__isnull=False)
    qs = qs.filter(SV_ONLY) if not category else qs.filter(category=category)
    lsoas = _lsoas_in(area_code, t)
    if lsoas is not None:
        qs = qs.filter(lsoa_code__in=lsoas)
    last = qs.aggregate(m=Max("occurred_from"))["m"]
    if last is None:
        return {"type": "FeatureCollection", "features": [], "properties": {"clustered": False}}
    qs = qs.filter(occurred_from__gte=last - dt.timedelta(days=30.44 * months))
    if bbox:
        w, s, e, n = bbox
        qs = qs.filter(lon__gte=w, lon__lte=e, lat__gte=s, lat__lte=n)
    rows = list(
        qs.values_list(
            "lon",
            "lat",
            "occurred_from",
            "time_precision",
            "offence_description",
            "category",
            "location_text",
        )
    )
    df = pd.DataFrame(rows, columns=["lon", "lat", "t", "prec", "offence", "category", "location"])
    if daynight in ("day", "night") and not df.empty:
        hours = local_naive(df["t"]).dt.hour
        timed = df["prec"] == "minute"
        day = hours.between(6, 17)
        df = df[timed & (day if daynight == "day" else ~day)]
    clustered = zoom < 15 and len(df) > 300
    feats = []
    if clustered:
        size = 360 / 2**zoom * 0.25  # about a quarter of a 256-px tile
        gx = np.floor(df["lon"] / size)
        gy = np.floor(df["lat"] / size)
        g = (
            df.assign(gx=gx, gy=gy)
            .groupby(["gx", "gy"])
            .agg(n=("lon", "size"), lon=("lon", "mean"), lat=("lat", "mean"))
        )
        for r in g.itertuples():
            feats.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                    "properties": {"n": int(r.n)},
                }
            )
    else:
        for r in df.head(3000).itertuples():
            feats.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                    # Text from a force export: the map shows it as text only (dashboard/map.js).
                    # missing text is NaN in a pandas frame: never let it reach JSON as NaN
                    "properties": {
                        "n": 1,
                        "offence": _text(r.offence) or _text(r.category),
                        "location": _text(r.location),
                    },
                }
            )
    return {
        "type": "FeatureCollection",
        "features": feats,
        "properties": {"clustered": clustered, "records": len(df)},
    }


def _text(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA else str(v)


def density_png(*, user: Any, months: int = 12, area_code: str = "") -> tuple[bytes, list[list[float]]]:
    """The kernel density surface of serious violence as a transparent PNG and its lon/lat bounds."""
    from rasure_web.dashboard.png import heat_png

    surf = density_surface(user=user, months=months, area_code=area_code)
    if surf is None:
        return heat_png(np.zeros((1, 1))), [[0, 0], [0, 0]]
    d = surf.density
    png = heat_png(d[::-1, :])  # row 0 of the image is the north edge
    x0, y0 = surf.x0, surf.y0
    x1 = x0 + d.shape[1] * surf.cell_size_m
    y1 = y0 + d.shape[0] * surf.cell_size_m
    lon, lat = projected_to_lonlat(
        np.array([x0, x1]), np.array([y0, y1]), crs=acting_force_crs(user) or force_crs()
    )
    return png, [[float(lat[0]), float(lon[0])], [float(lat[1]), float(lon[1])]]


def density_surface(*, user: Any, months: int = 12, area_code: str = "") -> Any:
    """The kernel density surface (:class:`rasure.hotspots.density.DensitySurface`) of serious violence
    in the ``months`` up to the latest record, or None without records.

    With boundaries loaded, the grid covers the force's area (or the chosen LPA's) and every cell whose
    centre lies outside it is 0 (:func:`rasure.hotspots.density.restrict_to_area`), so the map's colour
    scale is set by the area's own cells; without them, the points' extent (0.5–99.5 % quantiles) + 1 km."""
    from rasure.hotspots.density import kernel_density, restrict_to_area
    from rasure_web.crimes.areas import area_geometry

    require_dashboard(user)
    tenant = acting_force_id(user)
    qs = _sv_records(area_code, tenant).filter(easting__isnull=False)
    last = qs.aggregate(m=Max("occurred_from"))["m"]
    if last is None:
        return None
    qs = qs.filter(occurred_from__gte=last - dt.timedelta(days=30.44 * months))
    xy = np.array(list(qs.values_list("easting", "northing")), dtype=float)
    x, y = xy[:, 0], xy[:, 1]
    area = area_geometry(area_code, tenant=tenant)
    if area is not None and not area.is_empty:
        lo_x, lo_y, hi_x, hi_y = area.bounds
        pad = 0.0
    else:
        area = None
        lo_x, hi_x = np.quantile(x, [0.005, 0.995])
        lo_y, hi_y = np.quantile(y, [0.005, 0.995])
        pad = 1000.0
    span = max(hi_x - lo_x, hi_y - lo_y, 1000.0)
    cell = max(25.0, span / 400)
    surf = kernel_density(
        x,
        y,
        cell_size_m=cell,
        bounds=(lo_x - pad, lo_y - pad, hi_x + pad, hi_y + pad),
        bandwidth_m=max(150.0, 3 * cell),
    )
    return restrict_to_area(surf, area) if area is not None else surf


def categories(*, user: Any) -> list[str]:
    require_dashboard(user)
    t = acting_force_id(user)
    return _cached("categories", lambda: _categories(t), t)  # type: ignore[no-any-return]
