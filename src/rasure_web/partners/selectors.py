"""Selectors (reads) for the partner portal. Every one takes the acting user and the agreement.

What a partner sees is decided here and only here: the organisation on the user's profile, its live
data-sharing agreement (checked on every request against :mod:`rasure_web.clock`), the force that
agreement is with (its ``tenant``: one force at a time, never another's), the areas and data classes
that agreement names. Everything returned is an aggregate over areas, months or hours, with
small numbers suppressed (:mod:`rasure.disclosure`): no person, no crime reference, no location finer
than a neighbourhood, except the hot-spot outlines, which carry no counts.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Max

from rasure.disclosure import SuppressedTable, suppress_series, suppress_table
from rasure_web import clock
from rasure_web.accounts.models import Organisation
from rasure_web.accounts.roles import PARTNER, has_role
from rasure_web.accounts.tenancy import acting_force_id, force_crs, scoped
from rasure_web.crimes.models import Area, CrimeRecord
from rasure_web.crimes.selectors import local_naive
from rasure_web.dashboard.selectors import lonlat_geojson
from rasure_web.partners.models import DataClass, DataSharingAgreement

#: Hot-time bands for partners: four-hour blocks of a day that starts at 06:00 (as the dashboard's).
TIME_BANDS = ("06–10", "10–14", "14–18", "18–22", "22–02", "02–06")
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class NoLiveAgreement(PermissionDenied):
    """Raised with a sentence a partner can read: why nothing is shown, and whom to ask."""


def _organisation(user: Any) -> Organisation | None:
    profile = getattr(user, "profile", None) if getattr(user, "is_authenticated", False) else None
    return getattr(profile, "organisation", None)


def agreements_of(*, user: Any) -> list[DataSharingAgreement]:
    """The live agreements of the user's organisation today (force time zone), newest first."""
    org = _organisation(user)
    if org is None or not has_role(user, PARTNER):
        return []
    today = clock.local_today()
    return list(
        DataSharingAgreement.objects.filter(
            organisation=org, revoked_at__isnull=True, starts_on__lte=today, expires_on__gte=today
        )
        .select_related("tenant")
        .prefetch_related("areas")
        .order_by("-starts_on", "reference")
    )


def agreement_for(*, user: Any, reference: str = "") -> DataSharingAgreement:
    """The live agreement the user acts under (``reference`` picks one when there are several).

    Raises :class:`NoLiveAgreement` with the reason otherwise."""
    contact = settings.RASURE_SUPPORT_CONTACT
    if not has_role(user, PARTNER):
        raise NoLiveAgreement("The partner portal is for people in partner organisations.")
    org = _organisation(user)
    if org is None:
        raise NoLiveAgreement(
            f"Your account is not linked to a partner organisation, so nothing can be shared with it. "
            f"Ask {contact} to add your organisation to your profile."
        )
    live = agreements_of(user=user)
    if reference:
        live = [a for a in live if a.reference == reference]
    if live:
        return live[0]
    today = clock.local_today()
    last = (
        DataSharingAgreement.objects.filter(
            organisation=org, **({"reference": reference} if reference else {})
        )
        .order_by("-expires_on")
        .first()
    )
    if last is None:
        why = f"{org.name} has no data-sharing agreement with the force"
    elif last.revoked_at is not None:
        why = f"{org.name}'s data-sharing agreement {last.reference} was ended early"
    elif last.starts_on > today:
        why = f"{org.name}'s data-sharing agreement {last.reference} starts on {_day(last.starts_on)}"
    else:
        why = f"{org.name}'s data-sharing agreement {last.reference} expired on {_day(last.expires_on)}"
    raise NoLiveAgreement(
        f"{why}, so Rasure shows you nothing. A new or renewed agreement, signed off by the force, "
        f"opens the portal again: ask {contact} or your organisation's information governance lead."
    )


def _day(d: dt.date) -> str:
    return f"{d.day} {d:%B %Y}"


def threshold_for(agreement: DataSharingAgreement) -> int:
    base = int(settings.RASURE_PARTNER_SMALL_NUMBER_THRESHOLD)
    return max(base, agreement.small_number_threshold or 0)


@dataclass(frozen=True)
class Coverage:
    """The agreement's areas and the neighbourhoods (LSOAs) inside them."""

    areas: list[Area]
    #: LSOA code -> (code of the agreement area it belongs to, neighbourhood name)
    neighbourhoods: dict[str, tuple[str, str]]
    lpa_codes: set[str]
    #: the force whose data the agreement shares (the agreement's force)
    tenant: int | None = None


def coverage(*, user: Any, agreement: DataSharingAgreement) -> Coverage:
    _check(user, agreement)
    # the agreement's force's areas only (the admin refuses others; this holds if one slipped in)
    areas = sorted(
        (a for a in agreement.areas.all() if a.tenant_id == agreement.tenant_id), key=lambda a: a.name
    )
    hoods: dict[str, tuple[str, str]] = {}
    lpas: set[str] = set()
    for a in areas:
        if a.kind == Area.Kind.NEIGHBOURHOOD:
            hoods[a.code] = (a.code, a.name)
            if a.parent is not None:
                lpas.add(a.parent.code)
        else:
            lpas.add(a.code)
            for child in Area.objects.filter(kind=Area.Kind.NEIGHBOURHOOD, parent=a, tenant_id=a.tenant_id):
                hoods[child.code] = (a.code, child.name)
    return Coverage(areas=areas, neighbourhoods=hoods, lpa_codes=lpas, tenant=agreement.tenant_id)


def _check(user: Any, agreement: DataSharingAgreement) -> None:
    """Every selector re-checks: the user's organisation owns the agreement and it is live today."""
    if not has_role(user, PARTNER) or _organisation(user) != agreement.organisation:
        raise NoLiveAgreement("This agreement is not your organisation's.")
    if not agreement.is_live(clock.local_today()):
        agreement_for(user=user, reference=agreement.reference)  # raises with the reason


def _months_ending(last: dt.datetime, n: int) -> list[str]:
    end = pd.Period(local_naive(pd.Series([last])).iloc[0], freq="M")
    return [str(end - k) for k in range(n - 1, -1, -1)]


def _records(cov: Coverage, months: list[str]) -> pd.DataFrame:
    """Serious violence in the covered neighbourhoods over ``months`` (a frame, never shown as is)."""
    start = pd.Period(months[0], freq="M").start_time.tz_localize(settings.TIME_ZONE)
    rows = CrimeRecord.objects.filter(
        tenant_id=cov.tenant,
        serious_violence=True,
        lsoa_code__in=list(cov.neighbourhoods),
        occurred_from__gte=start,
    ).values_list("lsoa_code", "occurred_from", "time_precision", "harm_days")
    df = pd.DataFrame(list(rows), columns=["lsoa", "t", "precision", "harm"])
    if df.empty:
        return df.assign(local=pd.Series(dtype="datetime64[ns]"), month=pd.Series(dtype=str), area="")
    df["local"] = local_naive(df["t"])
    df["month"] = df["local"].dt.strftime("%Y-%m")
    df["area"] = df["lsoa"].map(lambda c: cov.neighbourhoods[c][0])
    df["harm"] = df["harm"].astype(float).fillna(0.0)
    return df[df["month"].isin(months)]


def _data_end(tenant: int | None) -> dt.datetime | None:
    """The latest serious-violence record in the force's data (not the partner's areas, so the date
    says nothing about them)."""
    last: dt.datetime | None = CrimeRecord.objects.filter(serious_violence=True, tenant_id=tenant).aggregate(
        m=Max("occurred_from")
    )["m"]
    return last


def _crosstab(
    df: pd.DataFrame, index: str, columns: str, rows: list[Any], cols: list[Any], *, values: str = ""
) -> pd.DataFrame:
    """Counts (or sums of ``values``) of ``df`` by two keys, every listed row and column present."""
    if df.empty:
        return pd.DataFrame(0.0 if values else 0, index=rows, columns=cols)
    if values:
        out = df.groupby([index, columns])[values].sum().unstack(fill_value=0.0)
        return out.reindex(index=rows, columns=cols, fill_value=0.0).astype(float)
    out = df.groupby([index, columns]).size().unstack(fill_value=0)
    return out.reindex(index=rows, columns=cols, fill_value=0).astype(int)


def _cells(table: SuppressedTable, *, harm: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """Rows for templates and JSON: each cell's text and whether it is hidden (never a hidden value)."""
    shown = table.display()
    hidden = table.suppressed
    out = []
    for label in shown.index:
        cells = []
        for col in shown.columns:
            cell: dict[str, Any] = {"text": shown.at[label, col], "hidden": bool(hidden.at[label, col])}
            if harm is not None:
                cell["harm"] = "" if cell["hidden"] else f"{harm.at[label, col]:,.0f}"
            cells.append(cell)
        out.append({"label": str(label), "total": label == "Total", "cells": cells})
    return out


def area_months(*, user: Any, agreement: DataSharingAgreement, months: int = 12) -> dict[str, Any]:
    """Counts and harm by covered area and month (last ``months`` months of data), suppressed, with the
    monthly totals for the trend chart (only months whose total is published)."""
    cov = coverage(user=user, agreement=agreement)
    last = _data_end(cov.tenant)
    names = {a.code: a.name for a in cov.areas}
    if last is None or not cov.areas:
        return {"columns": [], "rows": [], "trend": [], "threshold": threshold_for(agreement)}
    month_list = _months_ending(last, months)
    df = _records(cov, month_list)
    counts = _crosstab(df, "area", "month", list(names), month_list)
    harm = _crosstab(df, "area", "month", list(names), month_list, values="harm")
    table = suppress_table(counts, threshold=threshold_for(agreement))
    harm_full = harm.copy()
    harm_full["Total"] = harm.sum(axis=1)
    harm_full.loc["Total"] = harm_full.sum(axis=0)
    table = _relabel(table, names)
    harm_full = harm_full.rename(index=names)
    published = table.published()
    labels = {m: f"{pd.Period(m, freq='M'):%b %Y}" for m in month_list}
    trend = [
        {"month": labels[m], "count": int(published.at["Total", m]), "harm": float(harm_full.at["Total", m])}
        for m in month_list
        if not pd.isna(published.at["Total", m])
    ]
    return {
        "columns": [*labels.values(), "Total"],
        "rows": _cells(table, harm=harm_full),
        "trend": trend,
        "trend_gaps": len(month_list) - len(trend),
        "threshold": table.threshold,
    }


def _relabel(table: SuppressedTable, names: dict[str, str]) -> SuppressedTable:
    return SuppressedTable(
        counts=table.counts.rename(index=names),
        primary=table.primary.rename(index=names),
        secondary=table.secondary.rename(index=names),
        threshold=table.threshold,
    )


def area_trends(*, user: Any, agreement: DataSharingAgreement) -> dict[str, Any]:
    """Last 12 months against the 12 before, by covered area, suppressed as one table."""
    cov = coverage(user=user, agreement=agreement)
    last = _data_end(cov.tenant)
    names = {a.code: a.name for a in cov.areas}
    if last is None or not cov.areas:
        return {"columns": [], "rows": [], "changes": {}}
    month_list = _months_ending(last, 24)
    df = _records(cov, month_list)
    df["span"] = df["month"].map(lambda m: "Last 12 months" if m in month_list[12:] else "12 months before")
    counts = _crosstab(df, "area", "span", list(names), ["12 months before", "Last 12 months"])
    table = _relabel(suppress_table(counts, threshold=threshold_for(agreement)), names)
    published = table.published()
    rows = _cells(table)
    for row in rows:
        before, now_ = (
            published.at[row["label"], "12 months before"],
            published.at[row["label"], "Last 12 months"],
        )
        if pd.isna(before) or pd.isna(now_) or int(before) == 0:
            row["change"] = ""
        else:
            pct = 100 * (int(now_) - int(before)) / int(before)
            row["change"] = f"{'up' if pct > 0 else 'down' if pct < 0 else 'no change'} {abs(pct):.0f}%"
    return {"columns": ["12 months before", "Last 12 months", "Total"], "rows": rows}


def hot_times(*, user: Any, agreement: DataSharingAgreement) -> dict[str, Any]:
    """Crimes with a known time (to the minute) in the last 12 months, by day (from 06:00) and
    four-hour band, suppressed. Counts each crime once, at its start time."""
    cov = coverage(user=user, agreement=agreement)
    last = _data_end(cov.tenant)
    if last is None or not cov.areas:
        return {"columns": [], "rows": [], "n_used": 0}
    df = _records(cov, _months_ending(last, 12))
    df = df[df["precision"] == "minute"]
    shifted = df["local"] - pd.Timedelta(hours=6)  # a day runs 06:00 to 06:00: Friday night stays Friday
    grid = _crosstab(
        pd.DataFrame({"day": shifted.dt.day_of_week, "band": shifted.dt.hour // 4}),
        "day",
        "band",
        list(range(7)),
        list(range(6)),
    )
    grid.index = list(DAY_NAMES)
    grid.columns = list(TIME_BANDS)
    table = suppress_table(grid, threshold=threshold_for(agreement))
    return {"columns": [*TIME_BANDS, "Total"], "rows": _cells(table), "n_used": len(df)}


def map_layers(*, user: Any, agreement: DataSharingAgreement) -> dict[str, Any]:
    """Neighbourhood outlines with their 12-month counts (suppressed, as text) and, when shared, the
    current hot-spot outlines with their rank and period (no counts)."""
    cov = coverage(user=user, agreement=agreement)
    last = _data_end(cov.tenant)
    hoods = Area.objects.filter(
        kind=Area.Kind.NEIGHBOURHOOD, code__in=list(cov.neighbourhoods), tenant_id=cov.tenant
    ).exclude(geometry_geojson="")
    counts = pd.Series(0, index=sorted(cov.neighbourhoods), name="crimes", dtype=int)
    if last is not None:
        df = _records(cov, _months_ending(last, 12))
        counts = counts.add(df.groupby("lsoa").size(), fill_value=0).astype(int).rename("crimes")
    table = suppress_series(counts, threshold=threshold_for(agreement))
    shown = table.display()
    published = table.published()
    top = max([int(v) for v in published.iloc[:-1, 0].dropna()] or [1]) or 1
    feats = []
    for a in hoods:
        value = published.at[a.code, "crimes"]
        feats.append(
            {
                "type": "Feature",
                "geometry": lonlat_geojson(
                    shapely.from_geojson(a.geometry_geojson), crs=force_crs(a.tenant_id)
                ),
                "properties": {
                    "name": a.name,
                    "code": a.code,
                    "crimes": shown.at[a.code, "crimes"],
                    "shade": None if pd.isna(value) else round(int(value) / top, 3),
                },
            }
        )
    hotspots = []
    if agreement.shares(DataClass.HOT_SPOTS):
        from rasure_web.analysis.models import AnalysisRun

        run = AnalysisRun.objects.filter(is_current=True, tenant_id=cov.tenant).first()
        for h in run.hotspots.filter(lpa_code__in=cov.lpa_codes).order_by("period", "rank") if run else []:
            hotspots.append(
                {
                    "type": "Feature",
                    "geometry": json.loads(h.geofence_lonlat_geojson),
                    "properties": {"name": h.name, "rank": h.rank, "period": h.period},
                }
            )
    return {
        "neighbourhoods": {"type": "FeatureCollection", "features": feats},
        "hotspots": {"type": "FeatureCollection", "features": hotspots},
        "threshold": table.threshold,
    }


def patrol_activity(*, user: Any, agreement: DataSharingAgreement, months: int = 12) -> list[dict[str, Any]]:
    """Patrol visits to hot spots in the covered areas by month: visits, minutes inside, share of
    visits of 10 minutes or more. No officer, no times of day."""
    from rasure_web.patrols.models import Visit

    cov = coverage(user=user, agreement=agreement)
    since = clock.now() - dt.timedelta(days=31 * months)
    rows = Visit.objects.filter(
        hotspot__run__tenant_id=cov.tenant,
        hotspot__lpa_code__in=cov.lpa_codes,
        status=Visit.Status.ENDED,
        started_at__gte=since,
    ).values_list("started_at", "dose_minutes")
    df = pd.DataFrame(list(rows), columns=["t", "dose"])
    if df.empty:
        return []
    df["month"] = local_naive(df["t"]).dt.strftime("%Y-%m")
    out = []
    for month, g in df.groupby("month"):
        out.append(
            {
                "month": month,
                "visits": len(g),
                "minutes": round(float(g["dose"].sum())),
                "long_share": round(100 * float((g["dose"] >= 10).mean())),
            }
        )
    return out


# ----------------------------------------------------------------------------- partner data, for analysts


def require_analyst(user: Any) -> None:
    from rasure_web.dashboard.selectors import require_dashboard

    require_dashboard(user)


def require_rebuild(user: Any) -> None:
    """Choosing whether hot spots count partner data is an analyst's decision (or an administrator's)."""
    from rasure_web.accounts.roles import ADMIN, ANALYST

    if not has_role(user, ANALYST, ADMIN):
        raise PermissionDenied("Rebuilding hot spots is for analysts.")


def rebuilds(*, user: Any) -> dict[str, Any] | None:
    """The acting force's queued and recent hot-spot rebuilds, for those who may queue one."""
    from rasure_web.jobs.selectors import hotspot_rebuilds

    try:
        require_rebuild(user)
    except PermissionDenied:
        return None
    return hotspot_rebuilds(user=user)


def rebuild_status(*, user: Any) -> dict[str, Any]:
    """:func:`rebuilds` as plain JSON values, each rebuild with the status the page shows (``queued``,
    ``running``, ``done`` or ``failed``), and the current run (its id, when it was made, as the page shows
    it, and its partner-data label), so the page can say which hot spots are current without a reload."""
    from django.utils import timezone
    from django.utils.dateformat import format as date_format

    r = rebuilds(user=user) or {"waiting": [], "done": []}
    run = current_run(user=user)
    return {
        "waiting": [{"name": w["name"], "status": w["state"]} for w in r["waiting"]],
        "done": [
            {
                "name": d["name"],
                "status": "done" if d["success"] else "failed",
                # as the page's template shows it (its date filter: "j M Y H:i", local time)
                "finished": date_format(timezone.localtime(d["stopped"]), "j M Y H:i")
                if d["stopped"]
                else "",
                "result": d["result"][:400],
            }
            for d in r["done"]
        ],
        "run": None
        if run is None
        else {
            "id": run.pk,
            "created": date_format(timezone.localtime(run.created_at), "j M Y H:i"),
            "partner_data": run.labels.get("partner_data", ""),
        },
    }


def current_run(*, user: Any) -> Any:
    """The acting force's current hot-spot run (whether it includes partner data), or None."""
    from rasure_web.analysis.models import AnalysisRun

    return scoped(AnalysisRun.objects.filter(is_current=True), user).first()


def uploads_of(*, user: Any, agreement: DataSharingAgreement) -> list[Any]:
    """The partner's own organisation's uploads to the agreement's force (what it sent to this force,
    not anyone else's, nor what it sent to another force)."""
    from rasure_web.partners.models import PartnerUpload

    _check(user, agreement)
    return list(
        PartnerUpload.objects.filter(organisation=agreement.organisation, tenant_id=agreement.tenant_id)[:50]
    )


def partner_data_overview(*, user: Any) -> dict[str, Any]:
    """For analysts: the acting force's partner uploads, and their emergency-department assaults per
    month beside the force's police serious violence, for the months both cover; by local policing
    area for the last 12 months. Another force's partner data never appears."""
    from django.db.models import Count
    from django.db.models.functions import TruncMonth

    from rasure_web.dashboard.selectors import monthly_series
    from rasure_web.partners.models import PartnerRecord, PartnerUpload

    require_analyst(user)
    uploads = list(scoped(PartnerUpload.objects.select_related("organisation", "agreement"), user)[:100])
    records = scoped(PartnerRecord.objects.all(), user, path="upload__tenant")
    ed = records.annotate(m=TruncMonth("occurred_on")).values("m").annotate(n=Count("id")).order_by("m")
    ed_by_month = {f"{r['m']:%Y-%m}": r["n"] for r in ed}
    police = monthly_series(user=user)
    series = []
    if not police.empty and ed_by_month:
        first = min(ed_by_month)
        for m, count in zip(police["month"], police["count"], strict=True):
            if m >= first:
                series.append({"month": m, "police": int(count), "ed": int(ed_by_month.get(m, 0))})
    by_area: list[dict[str, Any]] = []
    if series:
        months = [s["month"] for s in series][-12:]
        start = pd.Period(months[0], freq="M").start_time.date()
        tenant = acting_force_id(user)
        parent = dict(
            Area.objects.filter(kind=Area.Kind.NEIGHBOURHOOD, tenant_id=tenant).values_list(
                "code", "parent__name"
            )
        )
        ed_rows = records.filter(occurred_on__gte=start).values_list("lsoa_code", flat=True)
        pol_rows = CrimeRecord.objects.filter(
            tenant_id=tenant,
            serious_violence=True,
            occurred_from__gte=pd.Timestamp(start).tz_localize(settings.TIME_ZONE),
        ).values_list("lsoa_code", flat=True)
        ed_n = pd.Series([parent.get(c or "", "Not placed") or "Not placed" for c in ed_rows]).value_counts()
        pol_n = pd.Series(
            [parent.get(c or "", "Not placed") or "Not placed" for c in pol_rows]
        ).value_counts()
        for name in sorted(set(ed_n.index) | set(pol_n.index)):
            by_area.append({"area": name, "ed": int(ed_n.get(name, 0)), "police": int(pol_n.get(name, 0))})
    return {"uploads": uploads, "series": series, "by_area": by_area}


def partner_points(*, user: Any) -> dict[str, Any]:
    """For analysts' maps: the acting force's located emergency-department assaults as points (no
    identities exist)."""
    from rasure_web.partners.models import PartnerRecord

    require_analyst(user)
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "date": str(day),
                "weapon": weapon,
                "source": "emergency department (partner data)",
            },
        }
        for lon, lat, day, weapon in scoped(PartnerRecord.objects.all(), user, path="upload__tenant")
        .exclude(lon=None)
        .values_list("lon", "lat", "occurred_on", "weapon")[:20000]
    ]
    return {"type": "FeatureCollection", "features": feats}


def engagement(*, user: Any, days: int = 30) -> dict[str, Any]:
    """Partners engaged with the acting force, for the programme's logic model (S3): per organisation
    with an agreement with the force, whether one is live, its partner users, those signed in within
    ``days``, its uploads to the force, and the portal pages its people opened under the force's
    agreements within ``days`` (from the access log, where each view names its agreement)."""
    from django.contrib.auth import get_user_model

    from rasure_web.accounts.models import AccessLog
    from rasure_web.partners.models import PartnerUpload

    require_analyst(user)
    today = clock.local_today()
    since = clock.now() - dt.timedelta(days=days)
    users = get_user_model().objects.filter(groups__name=PARTNER, is_active=True)
    rows = []
    force_agreements = scoped(DataSharingAgreement.objects.all(), user)
    force_uploads = scoped(PartnerUpload.objects.all(), user)
    org_ids = set(force_agreements.values_list("organisation_id", flat=True))
    for org in Organisation.objects.filter(pk__in=org_ids).order_by("name"):
        members = users.filter(profile__organisation=org)
        agreements = list(force_agreements.filter(organisation=org))
        live = any(a.is_live(today) for a in agreements)
        rows.append(
            {
                "organisation": org.name,
                "live": live,
                "users": members.count(),
                "active_users": members.filter(last_login__gte=since).count(),
                "uploads": force_uploads.filter(organisation=org).count(),
                "views": AccessLog.objects.filter(
                    user__in=members,
                    action=AccessLog.Action.VIEW,
                    resource__in=("partner_portal", "partner_map"),
                    object_ref__in=[a.reference for a in agreements],
                    at__gte=since,
                ).count(),
            }
        )
    totals = {
        "engaged": sum(1 for r in rows if r["live"]),
        "active_users": sum(r["active_users"] for r in rows),
        "uploads": sum(r["uploads"] for r in rows),
        "views": sum(r["views"] for r in rows),
    }
    return {"rows": rows, "totals": totals, "days": days}


#: Emergency-department weapons (rasure.partnerdata.WEAPONS) as the police record's weapon flag.
_WEAPON = {
    "knife": "knife",
    "other sharp": "knife",
    "firearm": "firearm",
    "none": "none",
    "blunt": "other",
    "glass or bottle": "other",
    "other": "other",
}


def partner_records_frame(*, columns: list[str], tenant: int) -> pd.DataFrame:
    """Force ``tenant``'s located emergency-department assaults in the shape of the police records frame the hot-spot
    analysis takes (``columns``), for an analyst who chooses to count them. They count as serious
    violence; ``harm_days`` is left empty for the caller to weight (the hospital does not know the
    offence)."""
    from rasure_web.partners.models import PartnerRecord

    rows = list(
        PartnerRecord.objects.filter(upload__tenant_id=tenant).exclude(easting=None).values_list(
            "id", "upload__organisation__code", "occurred_on", "occurred_time", "easting", "northing",
            "location_text", "lsoa_code", "weapon",
        )
    )  # fmt: skip
    out = []
    for pk, org, day, time, e, n, text, lsoa, weapon in rows:
        start = dt.datetime.combine(day, time or dt.time(0, 0))
        out.append(
            {
                "source": f"partner:{org}",
                "reference": f"ED-{pk}",
                "offence_code": None,
                "offence_description": "Assault seen in an emergency department (partner data)",
                "category": "Assault (emergency department, partner data)",
                "occurred_from": start,
                "occurred_to": start if time else start + dt.timedelta(hours=23, minutes=59),
                "time_precision": "minute" if time else "day",
                "easting": e,
                "northing": n,
                "location_text": text,
                "lsoa_code": lsoa or None,
                "weapon": _WEAPON.get(weapon, "unknown"),
                "serious_violence": True,
                "sv_basis": "partner",
                "harm_days": np.nan,
            }
        )
    return pd.DataFrame(out, columns=columns)
