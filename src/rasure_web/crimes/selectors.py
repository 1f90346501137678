"""Selectors (reads) for crime data. Aggregates only: no personal data here."""

from __future__ import annotations

from typing import Any

import pandas as pd
from django.db.models import Max, Min, Q, Sum

from rasure import classify as sv
from rasure.harm import default_harm_table
from rasure_web.accounts.tenancy import tenant_id_for
from rasure_web.crimes.models import CrimeRecord, ImportRun, RecordSummary


def local_naive(times: Any) -> pd.Series:
    """Stored (UTC) date-times as the force's local wall-clock times without a zone: what the core
    expects (hour of day, day of week, month of occurrence)."""
    from django.conf import settings

    return pd.to_datetime(times, utc=True).dt.tz_convert(settings.TIME_ZONE).dt.tz_localize(None)


def _local_day(when: Any) -> str | None:
    return None if when is None else str(local_naive(pd.Series([when])).iloc[0].date())


def harm_label_for_data(
    table: Any, *, tenant: int | None = None, pairs: list[tuple[Any, Any]] | None = None
) -> str:
    """The harm table's label with how much of the force's stored records it weighs officially, e.g.
    "official for 212 of 240 offence codes in the data; the rest built-in APPROXIMATION".
    ``pairs``: the records' distinct (offence code, category) pairs when the caller has them already
    (else they are read from the records)."""
    from rasure.harm import coverage_label

    if pairs is None:
        qs = CrimeRecord.objects.all() if tenant is None else CrimeRecord.objects.filter(tenant_id=tenant)
        pairs = list(qs.values_list("offence_code", "category").distinct())
    recs = pd.DataFrame(sorted(set(pairs), key=str), columns=["offence_code", "category"])
    return coverage_label(table, recs)


def records_summary(*, user: Any = None, force: str | None = None) -> dict[str, Any]:
    """Counts by category, serious violence, harm, rows without location, with labels saying
    whether serious violence is by offence code or the police.uk approximation and whether the
    harm weights are official. For the user's acting force, else ``force`` (default the only one)."""
    from rasure_web.crimes.services import harm_table_current

    tenant = tenant_id_for(user=user, force=force)
    # The force's stored summary (crimes.summary: a few hundred rows per force, refreshed by every
    # writer of records), grouped by (category, basis of serious violence, offence code), then the
    # groups summed here.
    sv_q = Q(serious_violence=True)
    groups = [
        {
            "category": g["category"],
            "sv_basis": g["sv_basis"],
            "offence_code": g["offence_code"],
            "n": g["records"],
            "sv": g["sv"] or 0,
            "harm": g["harm_sum"],
            "sv_harm": g["sv_harm"],
            "no_location": g["without"],
            "knife": g["knives"],
            "gun": g["guns"],
            "first": g["first"],
            "last": g["last"],
        }
        for g in RecordSummary.objects.filter(tenant_id=tenant, area_code="")
        .values("category", "sv_basis", "offence_code")  # offence codes: the harm label's too
        .annotate(
            records=Sum("n"),
            sv=Sum("n", filter=sv_q),
            harm_sum=Sum("harm"),
            sv_harm=Sum("harm", filter=sv_q),
            without=Sum("no_location"),
            knives=Sum("knife"),
            guns=Sum("gun"),
            first=Min("first_from"),
            last=Max("last_to"),
        )
        .order_by()
    ]
    totals = {
        "n_records": sum(g["n"] for g in groups),
        "n_without_location": sum(g["no_location"] for g in groups),
        "n_sv": sum(g["sv"] for g in groups),
        "sv_harm": sum(g["sv_harm"] or 0.0 for g in groups),
        "all_harm": sum(g["harm"] or 0.0 for g in groups),
        "n_knife": sum(g["knife"] for g in groups),
        "n_gun": sum(g["gun"] for g in groups),
    }
    cats: dict[str, dict[str, Any]] = {}
    for g in groups:
        c = cats.setdefault(
            g["category"] or "(none)", {"records": 0, "serious_violence": 0, "harm_days": 0.0}
        )
        c["records"] += g["n"]
        c["serious_violence"] += g["sv"]
        c["harm_days"] += g["harm"] or 0.0
    by_cat = dict(sorted(cats.items(), key=lambda kv: -kv[1]["records"]))
    bases = sorted({g["sv_basis"] for g in groups if g["sv"]}, key=str)
    # the force's own harm table (none: the built-in one; a user of no force sees no records anyway)
    table = harm_table_current(tenant=tenant) if tenant is not None else default_harm_table()
    last = (
        ImportRun.objects.filter(status=ImportRun.Status.OK, tenant_id=tenant)
        .order_by("-finished_at")
        .first()
    )
    firsts = [g["first"] for g in groups if g["first"] is not None]
    lasts = [g["last"] for g in groups if g["last"] is not None]
    span = {"first": min(firsts) if firsts else None, "last": max(lasts) if lasts else None}
    return {
        "records": totals["n_records"],
        "without_location": totals["n_without_location"],
        "serious_violence": totals["n_sv"],
        "harm_days": round(float(totals["sv_harm"] or 0.0), 2),
        "harm_days_all_records": round(float(totals["all_harm"] or 0.0), 2),
        "knife_enabled": totals["n_knife"],
        "gun_crime": totals["n_gun"],
        "by_category": by_cat,
        "serious_violence_basis": sv.basis_label(pd.Series(bases, dtype="string")),
        "harm_weights": harm_label_for_data(
            table, pairs=[(g["offence_code"], g["category"]) for g in groups]
        ),
        "harm_weights_official": table.official,
        # the period as the force's calendar days (the ISO instants beside them are UTC)
        "first_day": _local_day(span["first"]),
        "last_day": _local_day(span["last"]),
        "first_occurred": span["first"].isoformat() if span["first"] else None,
        "last_occurred": span["last"].isoformat() if span["last"] else None,
        "last_import": last.finished_at.isoformat() if last and last.finished_at else None,
        "last_import_local": (
            f"{local_naive(pd.Series([last.finished_at])).iloc[0]:%Y-%m-%d %H:%M}"
            if last and last.finished_at
            else None
        ),
    }
