"""Selectors (reads) for crime data. Aggregates only: no personal data here."""

from __future__ import annotations

from typing import Any

import pandas as pd
from django.db.models import Count, Max, Min, Q, Sum

from rasure import classify as sv
from rasure_web.crimes.models import CrimeRecord, ImportRun


def local_naive(times: Any) -> pd.Series:
    """Stored (UTC) date-times as the force's local wall-clock times without a zone: what the core
    expects (hour of day, day of week, month of occurrence)."""
    from django.conf import settings

    return pd.to_datetime(times, utc=True).dt.tz_convert(settings.TIME_ZONE).dt.tz_localize(None)


def _local_day(when: Any) -> str | None:
    return None if when is None else str(local_naive(pd.Series([when])).iloc[0].date())


def harm_label_for_data(table: Any) -> str:
    """The harm table's label with how much of the stored records it weighs officially, e.g.
    "official for 212 of 240 offence codes in the data; the rest built-in APPROXIMATION"."""
    from rasure.harm import coverage_label

    recs = pd.DataFrame(
        list(CrimeRecord.objects.values_list("offence_code", "category").distinct()),
        columns=["offence_code", "category"],
    )
    return coverage_label(table, recs)


def records_summary(*, user: Any = None) -> dict[str, Any]:
    """Counts by category, serious violence, harm, rows without location, with labels saying
    whether serious violence is by offence code or the police.uk approximation and whether the
    harm weights are official."""
    from rasure_web.crimes.services import harm_table_current

    qs = CrimeRecord.objects.all()
    totals = qs.aggregate(
        n_records=Count("id"),
        n_without_location=Count("id", filter=Q(easting__isnull=True)),
        n_sv=Count("id", filter=Q(serious_violence=True)),
        sv_harm=Sum("harm_days", filter=Q(serious_violence=True)),
        all_harm=Sum("harm_days"),
        n_knife=Count("id", filter=Q(knife_enabled=True)),
        n_gun=Count("id", filter=Q(gun_crime=True)),
    )
    by_cat = {
        (r["category"] or "(none)"): {
            "records": r["n"],
            "serious_violence": r["sv"],
            "harm_days": r["harm"] or 0.0,
        }
        for r in qs.values("category")
        .annotate(n=Count("id"), sv=Count("id", filter=Q(serious_violence=True)), harm=Sum("harm_days"))
        .order_by("-n")
    }
    bases = list(qs.filter(serious_violence=True).values_list("sv_basis", flat=True).distinct())
    table = harm_table_current()
    last = ImportRun.objects.filter(status=ImportRun.Status.OK).order_by("-finished_at").first()
    span = qs.aggregate(first=Min("occurred_from"), last=Max("occurred_to"))
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
        "harm_weights": harm_label_for_data(table),
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
