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
from django.db.models import Case, Count, Max, Q, Sum, Value, When
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
        # the map's first view (whole force, last 12 months, serious violence: points and density) and
        # the hot-spot pages
        _cached(
            "crimepoints:12::", lambda t=t: _crime_points(tenant=t, months=12, category="", area_code=""), t
        )
        _cached("density:12:", lambda t=t: _density_png(t, force_crs(t), 12, ""), t)
        warm_hotspot_pages(t)


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


#: the hot-spot page's list of crimes holds at most this many ("show all"); the first 50 by default
HOTSPOT_CRIMES_MAX = 500


def hotspot_crimes(*, user: Any, hs: HotSpot, limit: int = 50) -> list[dict[str, Any]]:
    """Serious-violence records inside the hot spot's geofence, newest first (no people)."""
    require_dashboard(user)
    return _hotspot_data(hs)["crimes"][: min(limit, HOTSPOT_CRIMES_MAX)]  # type: ignore[no-any-return]


def hotspot_trend(*, user: Any, hs: HotSpot) -> pd.DataFrame:
    """Monthly count and harm inside the geofence (all months in the data)."""
    require_dashboard(user)
    return _hotspot_data(hs)["trend"]  # type: ignore[no-any-return]


def hotspot_hot_times(*, user: Any, hs: HotSpot) -> dict[str, Any]:
    """The hot spot's hot times as its run saw them: crimes in the run's window, and for a day or
    night hot spot only the hours of that period (a day hot spot is not shown a Friday-night peak)."""
    require_dashboard(user)
    return _hotspot_data(hs)["hot_times"]  # type: ignore[no-any-return]


def _hotspot_data(hs: HotSpot) -> dict[str, Any]:
    """The hot-spot page's crimes, trend and hot times, computed once per data version."""
    tenant = hs.run.tenant_id
    return _cached(  # type: ignore[no-any-return]
        f"hotspot:{hs.pk}",
        lambda: _hotspot_compute(hs, _sv_points(tenant, shapely.from_geojson(hs.geofence_geojson).bounds)),
        tenant,
    )


def warm_hotspot_pages(tenant: int | None) -> None:
    """Every current hot spot's page data from one read of the force's serious violence (after a
    hot-spot build, instead of one read per hot spot at its first view)."""
    run = AnalysisRun.objects.filter(is_current=True, tenant_id=tenant).first()
    spots = list(run.hotspots.select_related("run")) if run is not None else []
    if not spots:
        return
    bounds = np.array([shapely.from_geojson(h.geofence_geojson).bounds for h in spots])
    box = (bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max())
    points = _sv_points(tenant, box)
    for h in spots:
        _cached(f"hotspot:{h.pk}", lambda h=h: _hotspot_compute(h, points), tenant)


_SV_POINT_COLUMNS = ["id", "x", "y", "t", "t_to", "time_precision", "harm"]


def _sv_points(tenant: int | None, box: tuple[float, float, float, float]) -> pd.DataFrame:
    """A force's serious violence with coordinates in the box (x0, y0, x1, y1, the force's CRS): id,
    x, y, times as whole seconds since the epoch (``t``, ``t_to``, NaN if unknown), precision, harm.
    Only these columns are read (:class:`rasure_web.sqlkeys.EpochSeconds`: no datetime per row)."""
    from rasure_web.sqlkeys import EpochSeconds

    x0, y0, x1, y1 = box
    qs = CrimeRecord.objects.filter(
        SV_ONLY,
        tenant_id=tenant,
        easting__gte=x0,
        easting__lte=x1,
        northing__gte=y0,
        northing__lte=y1,
    ).annotate(s=EpochSeconds("occurred_from"), s_to=EpochSeconds("occurred_to"))
    rows = list(qs.values_list("id", "easting", "northing", "s", "s_to", "time_precision", "harm_days"))
    df = pd.DataFrame(rows, columns=_SV_POINT_COLUMNS)
    for c in ("x", "y", "t", "t_to", "harm"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df


def _times(seconds: pd.Series) -> pd.Series:
    return pd.to_datetime(seconds, unit="s", utc=True)


def _hotspot_compute(hs: HotSpot, points: pd.DataFrame) -> dict[str, Any]:
    """The page's data from ``points`` (:func:`_sv_points` over a box holding the geofence): the
    records the geofence covers; the newest :data:`HOTSPOT_CRIMES_MAX` of them with their columns;
    counts and harm per local month; the hot times in the run's window."""
    geom = shapely.from_geojson(hs.geofence_geojson)
    x0, y0, x1, y1 = geom.bounds
    df = points[points["x"].between(x0, x1) & points["y"].between(y0, y1)]
    df = df[shapely.covers(geom, shapely.points(df["x"].to_numpy(), df["y"].to_numpy()))] if len(df) else df

    newest = df.sort_values(["t", "id"], ascending=[False, False], na_position="last").head(
        HOTSPOT_CRIMES_MAX
    )
    ids = newest["id"].astype(int).tolist()
    by_id = {
        r["id"]: r
        for r in CrimeRecord.objects.filter(pk__in=ids).values(
            "id",
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
        )
    }
    crimes = [{k: v for k, v in by_id[i].items() if k != "id"} for i in ids if i in by_id]

    timed = df.dropna(subset=["t"])
    if timed.empty:
        trend = pd.DataFrame(columns=["month", "count", "harm"])
    else:
        months = local_naive(_times(timed["t"])).dt.strftime("%Y-%m")
        trend = (
            timed.assign(month=months.to_numpy())
            .groupby("month")
            .agg(count=("t", "size"), harm=("harm", "sum"))
            .reset_index()
        )
        trend["harm"] = trend["harm"].astype(float)

    run = hs.run
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(run.window_start, dt.time(0), tzinfo=tz).timestamp()
    end = dt.datetime.combine(run.window_end + dt.timedelta(days=1), dt.time(0), tzinfo=tz).timestamp()
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
    win = timed[(timed["t"] >= start) & (timed["t"] < end)]
    frame = pd.DataFrame(
        {
            "occurred_from": _times(win["t"]),
            "occurred_to": _times(win["t_to"]),
            "time_precision": win["time_precision"],
        }
    ).reset_index(drop=True)
    return {"crimes": crimes, "trend": trend, "hot_times": _heatmap(frame, hours=hours, scope=scope)}


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
    """Crimes as points at high zoom, as counts in grid clusters at low zoom (server-side clustering).

    The filter's points (id, lon/lat, day or night) are read once per data version
    (:func:`_crime_points`, cached); each view only selects its box and bins them in numpy, and reads
    the text of the (at most 3,000) points it shows."""
    require_dashboard(user)
    t = acting_force_id(user)
    pts = _cached(
        f"crimepoints:{months}:{category}:{area_code}",
        lambda: _crime_points(tenant=t, months=months, category=category, area_code=area_code),
        t,
    )
    if pts is None:
        return {"type": "FeatureCollection", "features": [], "properties": {"clustered": False}}
    lon, lat = pts["lon"], pts["lat"]
    keep = np.ones(lon.size, dtype=bool)
    if daynight in ("day", "night"):
        keep &= pts["when"] == (1 if daynight == "day" else 2)
    if bbox:
        w, s, e, n = bbox
        keep &= (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
    idx = np.flatnonzero(keep)
    clustered = zoom < 15 and idx.size > 300
    feats: list[dict[str, Any]] = []
    if clustered:
        size = 360 / 2**zoom * 0.25  # about a quarter of a 256-px tile
        gx = np.floor(lon[idx] / size).astype(np.int64)
        gy = np.floor(lat[idx] / size).astype(np.int64)
        # one integer per cell, ordered as (gx, gy): np.unique on it is ten times faster than on rows
        key = (gx - gx.min()) * (int(gy.max() - gy.min()) + 1) + (gy - gy.min())
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        mean_lon = np.bincount(inverse, weights=lon[idx]) / counts
        mean_lat = np.bincount(inverse, weights=lat[idx]) / counts
        for x, y, k in zip(mean_lon.tolist(), mean_lat.tolist(), counts.tolist(), strict=True):
            feats.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [x, y]},
                    "properties": {"n": k},
                }
            )
    else:
        shown = idx[:3000]
        ids = pts["id"][shown].tolist()
        text = {
            r[0]: r[1:]
            for r in CrimeRecord.objects.filter(pk__in=ids).values_list(
                "pk", "offence_description", "category", "location_text"
            )
        }
        for pk, x, y in zip(ids, lon[shown].tolist(), lat[shown].tolist(), strict=True):
            offence, cat, location = text.get(pk, (None, None, None))
            feats.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [x, y]},
                    # Text from a force export: the map shows it as text only (dashboard/map.js).
                    "properties": {
                        "n": 1,
                        "offence": _text(offence) or _text(cat),
                        "location": _text(location),
                    },
                }
            )
    return {
        "type": "FeatureCollection",
        "features": feats,
        "properties": {"clustered": clustered, "records": int(idx.size)},
    }


def _crime_points(*, tenant: int | None, months: int, category: str, area_code: str) -> dict[str, Any] | None:
    """The crimes map layer's records for one filter (serious violence, or one ``category``; an LPA;
    the ``months`` up to the filter's latest record), with coordinates, as numpy arrays in id order:
    ``id``, ``lon``, ``lat`` and ``when`` (1: a day crime, local 06:00-17:59; 2: a night crime; 0:
    the time is not known to the minute). None without records.

    Only these columns are read, the time as whole seconds (:class:`rasure_web.sqlkeys.EpochSeconds`):
    no Python object per record but the driver's row tuple."""
    from rasure_web.sqlkeys import EpochSeconds

    qs = CrimeRecord.objects.filter(
        tenant_id=tenant, easting__isnull=False, lon__isnull=False, lat__isnull=False
    )
    qs = qs.filter(SV_ONLY) if not category else qs.filter(category=category)
    lsoas = _lsoas_in(area_code, tenant)
    if lsoas is not None:
        qs = qs.filter(lsoa_code__in=lsoas)
    last = qs.aggregate(m=Max("occurred_from"))["m"]
    if last is None:
        return None
    qs = qs.filter(occurred_from__gte=last - dt.timedelta(days=30.44 * months))
    rows = list(
        qs.annotate(
            s=EpochSeconds("occurred_from"),
            timed=Case(When(time_precision="minute", then=Value(1)), default=Value(0)),
        ).values_list("id", "lon", "lat", "s", "timed")
    )
    a = np.array(rows, dtype=np.float64).reshape(-1, 5)
    a = a[np.argsort(a[:, 0], kind="stable")]
    hours = local_naive(pd.Series(a[:, 3].astype("int64") * 1_000_000_000)).dt.hour.to_numpy()
    day = (hours >= 6) & (hours <= 17)
    when = np.where(a[:, 4] == 1, np.where(day, 1, 2), 0).astype(np.int8)
    return {"id": a[:, 0].astype(np.int64), "lon": a[:, 1].copy(), "lat": a[:, 2].copy(), "when": when}


def _text(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA else str(v)


def density_png(*, user: Any, months: int = 12, area_code: str = "") -> tuple[bytes, list[list[float]]]:
    """The kernel density surface of serious violence as a transparent PNG and its lon/lat bounds,
    computed once per data version (the map asks for the bounds and the image apart)."""
    require_dashboard(user)
    t = acting_force_id(user)
    crs = acting_force_crs(user) or force_crs()
    return _cached(  # type: ignore[no-any-return]
        f"density:{months}:{area_code}", lambda: _density_png(t, crs, months, area_code), t
    )


def _density_png(
    tenant: int | None, crs: str, months: int, area_code: str
) -> tuple[bytes, list[list[float]]]:
    from rasure_web.dashboard.png import heat_png

    surf = _density_surface(tenant, months, area_code)
    if surf is None:
        return heat_png(np.zeros((1, 1))), [[0, 0], [0, 0]]
    d = surf.density
    png = heat_png(d[::-1, :])  # row 0 of the image is the north edge
    x0, y0 = surf.x0, surf.y0
    x1 = x0 + d.shape[1] * surf.cell_size_m
    y1 = y0 + d.shape[0] * surf.cell_size_m
    lon, lat = projected_to_lonlat(np.array([x0, x1]), np.array([y0, y1]), crs=crs)
    return png, [[float(lat[0]), float(lon[0])], [float(lat[1]), float(lon[1])]]


def density_surface(*, user: Any, months: int = 12, area_code: str = "") -> Any:
    """The kernel density surface (:class:`rasure.hotspots.density.DensitySurface`) of serious violence
    in the ``months`` up to the latest record, or None without records.

    With boundaries loaded, the grid covers the force's area (or the chosen LPA's) and every cell whose
    centre lies outside it is 0 (:func:`rasure.hotspots.density.restrict_to_area`), so the map's colour
    scale is set by the area's own cells; without them, the points' extent (0.5–99.5 % quantiles) + 1 km."""
    require_dashboard(user)
    return _density_surface(acting_force_id(user), months, area_code)


def _density_surface(tenant: int | None, months: int, area_code: str) -> Any:
    from rasure.hotspots.density import kernel_density, restrict_to_area
    from rasure_web.crimes.areas import area_geometry

    qs = _sv_records(area_code, tenant).filter(easting__isnull=False)
    last = qs.aggregate(m=Max("occurred_from"))["m"]
    if last is None:
        return None
    qs = qs.filter(occurred_from__gte=last - dt.timedelta(days=30.44 * months))
    xy = np.array(list(qs.values_list("easting", "northing")), dtype=float).reshape(-1, 2)
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
