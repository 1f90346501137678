"""Serious-violence rates from the imported records, and trial power (issue 4).

The rate and NB dispersion come from the records inside the hot spots' geofences; the power figures
from the pure core :func:`rasure.trial.nb_minimum_detectable_effect` (docs/methods.md §5.2).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
import shapely
from django.utils import timezone as dj_timezone

from rasure import classify as sv
from rasure.trial import (
    MinimumDetectableEffect,
    PowerInputError,
    RateDispersion,
    RequiredPlaceDays,
    TrialDesign,
    estimate_rate_dispersion,
    nb_minimum_detectable_effect,
    nb_required_place_days,
    place_day_counts,
)
from rasure_web.accounts.tenancy import resolve_force
from rasure_web.analysis.models import HotSpot
from rasure_web.crimes.models import CrimeRecord
from rasure_web.trials.lifecycle import choose_hotspots, trial_design, trial_get
from rasure_web.trials.models import TrialHotSpot

__all__ = ["PowerReport", "RateEstimate", "assign_to_hotspots", "hotspot_rates", "trial_power"]


# --------------------------------------------------------------------------------------------------
# Rates from the imported records, and power


def _hotspot_geometries(hotspots: Sequence[HotSpot]) -> list[Any]:
    return [shapely.from_geojson(h.geofence_geojson) for h in hotspots]


def assign_to_hotspots(
    hotspots: Sequence[HotSpot], x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(record index, hot-spot index) for every record inside a hot spot's geofence (a record inside two
    overlapping geofences counts in both)."""
    rec_idx: list[np.ndarray] = []
    hs_idx: list[np.ndarray] = []
    for j, geom in enumerate(_hotspot_geometries(hotspots)):
        shapely.prepare(geom)
        inside = np.flatnonzero(shapely.contains_xy(geom, x, y))
        rec_idx.append(inside)
        hs_idx.append(np.full(len(inside), j))
    if not rec_idx:
        return np.array([], dtype=int), np.array([], dtype=int)
    return np.concatenate(rec_idx), np.concatenate(hs_idx)


def _months_back(end: date, months: int) -> date:
    """First day of the month ``months - 1`` months before ``end``'s month."""
    index = end.year * 12 + end.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class RateEstimate:
    """Base rate per place-day and NB dispersion estimated from the imported serious violence."""

    base_rate: float
    dispersion_k: float
    estimate: RateDispersion
    basis: str  # "place-day counts" | "place-month counts"
    hotspots: int
    window_start: date
    window_end: date
    records: int
    notes: tuple[str, ...]


def hotspot_rates(
    *, hotspots: Sequence[HotSpot], months: int = 12, end: date | None = None, day_start: time = time(6, 0)
) -> RateEstimate:
    """Serious violence inside the hot spots' geofences over the last ``months`` months of data,
    counted per place-day (zeros included) and reduced to a rate and an NB2 dispersion by the method of
    moments (:func:`rasure.trial.estimate_rate_dispersion`).

    Records known only to the month (police.uk) cannot be put on days: then the counts are per
    place-month, the daily rate is the total over the place-days of those months, and the dispersion is
    the one estimated from the monthly counts. Under NB2 with a place-month gamma effect that is the
    same k as for daily counts; day-to-day clustering beyond that is invisible in monthly counts, so k
    (and the required place-days) is then, if anything, understated.
    """
    from django.conf import settings

    if not hotspots:
        raise PowerInputError("no hot spots to estimate rates from.")
    if months < 1:
        raise PowerInputError(f"months must be at least 1, got {months}.")
    tz = settings.TIME_ZONE
    tenants = {h.run.tenant_id for h in hotspots}
    if len(tenants) != 1:
        raise PowerInputError("the hot spots belong to several forces: estimate each force's rates apart.")
    # the hot spots' own force's records: another force's later data would move the window off this one's
    qs = CrimeRecord.objects.filter(
        tenant_id=tenants.pop(), serious_violence=True, easting__isnull=False, occurred_from__isnull=False
    )
    if end is None:
        last = qs.order_by("-occurred_from").values_list("occurred_from", flat=True).first()
        if last is None:
            raise PowerInputError(
                "no serious-violence records with a location are imported, so no rate can be estimated. "
                "Import records (rasure import police-uk ...) or give --base-rate and --dispersion."
            )
        end = dj_timezone.localtime(last).date()
    start = _months_back(end, months)
    frame = pd.DataFrame.from_records(
        list(
            qs.filter(
                occurred_from__gte=datetime.combine(
                    start - timedelta(days=1), time(0), dj_timezone.get_current_timezone()
                ),
                occurred_from__lt=datetime.combine(
                    end + timedelta(days=2), time(0), dj_timezone.get_current_timezone()
                ),
            ).values_list("occurred_from", "time_precision", "easting", "northing", "sv_basis")
        ),
        columns=["occurred_from", "time_precision", "easting", "northing", "sv_basis"],
    )
    notes: list[str] = []
    monthly = bool(len(frame)) and bool((frame["time_precision"] == "month").any())
    ids = [h.code for h in hotspots]
    if len(set(ids)) != len(ids):
        ids = [f"{h.code}#{h.pk}" for h in hotspots]
    if len(frame):
        local = pd.to_datetime(frame["occurred_from"], utc=True).dt.tz_convert(tz)
        rec, hs = assign_to_hotspots(
            hotspots, frame["easting"].to_numpy(float), frame["northing"].to_numpy(float)
        )
    else:
        local = pd.Series([], dtype="datetime64[ns, UTC]")
        rec, hs = np.array([], dtype=int), np.array([], dtype=int)
    if monthly:
        start = _months_back(end, months)
        month_keys = [(_months_back(end, months - i)) for i in range(months)]
        month_index = {(m.year, m.month): i for i, m in enumerate(month_keys)}
        counts = np.zeros((len(hotspots), months), dtype=np.int64)
        for r, j in zip(rec, hs, strict=True):
            ts = local.iloc[r]
            i = month_index.get((ts.year, ts.month))
            if i is not None:
                counts[j, i] += 1
        est = estimate_rate_dispersion(counts.ravel())
        days = sum(calendar.monthrange(m.year, m.month)[1] for m in month_keys)
        base = float(counts.sum()) / (len(hotspots) * days)
        window_end = date(end.year, end.month, calendar.monthrange(end.year, end.month)[1])
        basis = "place-month counts"
        notes.append(
            "records are known only to the month (police.uk): the daily rate is each hot spot's monthly "
            "count divided by the days in the month, and the dispersion k is estimated from the "
            f"{counts.size:,} place-month counts (method of moments). If serious violence clusters from day "
            "to day within a month, the daily k is larger and the true MDE somewhat larger than shown."
        )
        total = int(counts.sum())
    else:
        events = pd.DataFrame(
            {
                "hotspot_id": [ids[j] for j in hs],
                "occurred_at": local.iloc[rec].to_numpy() if len(rec) else [],
            }
        )
        if len(events):
            events["occurred_at"] = pd.to_datetime(events["occurred_at"], utc=True)
        else:
            events["occurred_at"] = pd.Series([], dtype="datetime64[ns, UTC]")
        window_end = end
        counts_frame = place_day_counts(
            events, hotspot_ids=ids, start=start, end=end, day_start=day_start, timezone=tz
        )
        est = estimate_rate_dispersion(counts_frame["count"].to_numpy())
        base = est.base_rate
        basis = "place-day counts"
        total = est.total_count
    selected_on = {(h.run.window_start, h.run.window_end) for h in hotspots}
    if any(lo <= window_end and start <= hi for lo, hi in selected_on):
        lo, hi = min(s[0] for s in selected_on), max(s[1] for s in selected_on)
        notes.append(
            f"the hot spots were chosen as the busiest places of {lo} to {hi}, which overlaps the rate window: "
            "rates measured on the data used to pick the places are biased upward (regression to the mean), so "
            "the base rate during a trial is likely lower and the MDE larger than shown."
        )
    bases = frame["sv_basis"].astype("string") if len(frame) else pd.Series([], dtype="string")
    notes.append(f"serious violence: {sv.basis_label(bases)}")
    return RateEstimate(
        base_rate=base,
        dispersion_k=est.dispersion_k,
        estimate=est,
        basis=basis,
        hotspots=len(hotspots),
        window_start=start,
        window_end=window_end,
        records=total,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class PowerReport:
    """:func:`trial_power`'s figures: the MDE for the given trial size (``None`` when no reduction reaches
    the power asked for) and the place-days needed for each rate ratio asked for, with the rate estimate
    when it came from the data."""

    mde: MinimumDetectableEffect | None
    required: tuple[RequiredPlaceDays, ...]
    rates: RateEstimate | None
    hotspots: int
    days: int
    treated_share: float
    base_rate: float
    dispersion_k: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def text(self) -> str:
        m = self.mde
        lines = [
            f"Trial: {self.hotspots} hot spots × {self.days} days, {self.treated_share:.0%} treated each day"
        ]
        if self.rates is not None:
            r = self.rates
            lines.append(
                f"Rates from the data: {r.records:,} serious-violence records in {r.hotspots} hot spots' geofences, "
                f"{r.window_start} to {r.window_end} ({r.basis}): base rate {r.base_rate:.4f} per place-day, "
                f"NB dispersion k = {r.dispersion_k:.3f} (method of moments; variance {r.estimate.variance:.3f}, "
                f"mean {r.estimate.base_rate:.3f} per {'place-month' if 'month' in r.basis else 'place-day'})"
            )
        else:
            lines.append(
                f"Assumed: base rate {self.base_rate:g} per place-day, NB dispersion k = {self.dispersion_k:g}"
            )
        if m is not None:
            lines.append(m.summary())
            lines.append(
                f"Expected events in control place-days: {m.expected_control_events:,.0f} "
                f"({m.control_place_days:,.0f} control place-days)."
            )
        for req in self.required:
            lines.append(
                f"To detect IRR {req.rate_ratio:g} ({(req.rate_ratio - 1) * 100:+.0f}%) with {req.power:.0%} power: "
                f"{req.control_place_days:,} control + {req.treated_place_days:,} treated place-days = "
                f"{req.total_place_days:,}, i.e. {req.days_for(self.hotspots):,} days with {self.hotspots} hot spots."
            )
        if self.rates is not None:
            lines.extend(f"note: {n}" for n in self.rates.notes)
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def trial_power(
    *,
    hotspots: int | None = None,
    days: int | None = None,
    treated_share: float | None = None,
    base_rate: float | None = None,
    dispersion_k: float | None = None,
    from_data: bool = False,
    trial_id: int | None = None,
    hotspot_codes: Sequence[str] | None = None,
    months: int = 12,
    alpha: float = 0.05,
    power: float = 0.8,
    design_effect: float = 1.0,
    rate_ratios: Sequence[float] = (0.8,),
    force: str | None = None,
) -> PowerReport:
    """Minimum detectable effect and required place-days (Zhu & Lakkis 2014, docs/methods.md §5.2).

    Sizes default to the trial's (``trial_id``) or 34 hot spots × 182 days × half treated. With
    ``from_data`` the base rate and dispersion are estimated from the imported serious violence in the
    geofences of the trial's frozen set, the given codes, or the current run's hot spots of ``force``
    (its code; default the only force) (:func:`hotspot_rates`); explicit ``base_rate``/``dispersion_k``
    override the estimate.
    """
    design: TrialDesign | None = None
    spots: list[HotSpot] = []
    if trial_id is not None:
        trial = trial_get(trial_id=trial_id)
        design = trial_design(trial=trial)
        spots = [r.hotspot for r in TrialHotSpot.objects.filter(trial=trial).select_related("hotspot__run")]
    elif from_data:
        _, spots = choose_hotspots(codes=hotspot_codes, tenant=resolve_force(force).pk)
    rates = None
    if from_data:
        rates = hotspot_rates(
            hotspots=spots, months=months, day_start=design.day_start if design else time(6)
        )
    if hotspots is None:
        hotspots = len(spots) if spots else 34
    if days is None:
        days = design.n_days if design else 182
    if treated_share is None:
        treated_share = float(design.share_fraction) if design else 0.5
    rate = base_rate if base_rate is not None else (rates.base_rate if rates else None)
    k = dispersion_k if dispersion_k is not None else (rates.dispersion_k if rates else None)
    if rate is None or k is None:
        raise PowerInputError(
            "give --base-rate and --dispersion, or --from-data to estimate them from the imported records."
        )
    common: dict[str, Any] = {
        "base_rate": rate,
        "dispersion_k": k,
        "treated_share": treated_share,
        "alpha": alpha,
        "power": power,
        "design_effect": design_effect,
    }
    notes = []
    mde: MinimumDetectableEffect | None
    try:
        mde = nb_minimum_detectable_effect(hotspots=hotspots, days=days, **common)
    except PowerInputError as exc:  # too small a trial for any reduction at this power
        mde = None
        notes.append(str(exc))
    required = tuple(nb_required_place_days(rate_ratio=rr, **common) for rr in rate_ratios)
    if design is not None and design.kind != "daily":
        notes.append(
            f"the trial's design is {design.kind}: place-days of the same place share its arm, so the "
            "formula's independent place-days overstate power more than for a daily design; use a design "
            "effect or simulation."
        )
    return PowerReport(
        mde=mde,
        required=required,
        rates=rates,
        hotspots=hotspots,
        days=days,
        treated_share=treated_share,
        base_rate=rate,
        dispersion_k=k,
        notes=tuple(notes),
    )
