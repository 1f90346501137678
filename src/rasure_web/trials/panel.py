"""The place-day panel of a committed trial, and its export (issue 4).

One row per hot spot × trial day (× shift): arm, serious-violence count and harm from the imported
records, dose minutes and visits from the patrol app.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from django.apps import apps
from django.utils import timezone as dj_timezone

from rasure.trial import DEFAULT_PLAN, TrialError, plan_from_manifest
from rasure.trial.displacement import buffer_column, ring_assignments
from rasure.trial.evaluation import outcome_kind
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.models import AccessLog
from rasure_web.crimes.models import CrimeRecord
from rasure_web.trials.lifecycle import shift_of, trial_commitment, trial_design, trial_get
from rasure_web.trials.models import ScheduleEntry, Trial, TrialHotSpot
from rasure_web.trials.rates import assign_to_hotspots

__all__ = ["PanelExport", "trial_export_panel", "trial_panel_frame", "visit_model"]


# --------------------------------------------------------------------------------------------------
# The place-day panel


@dataclass(frozen=True)
class PanelExport:
    path: Path
    rows: int
    columns: tuple[str, ...]
    notes: tuple[str, ...]


def visit_model() -> Any | None:
    """The patrol app's Visit model when it exists with the fields the panel needs."""
    try:
        model = apps.get_model("patrols", "Visit")
    except LookupError:
        return None
    names = {f.name for f in model._meta.get_fields()}
    return model if {"hotspot", "trial_day", "dose_minutes"} <= names else None


def trial_panel_frame(*, trial: Trial) -> tuple[pd.DataFrame, list[str]]:
    """The place-day panel of a committed trial and notes on what it contains."""
    from django.conf import settings

    if not trial.is_frozen:
        raise TrialError(f"trial {trial.pk} is a draft: it has no schedule until it is committed.")
    design = trial_design(trial=trial)
    members = list(
        TrialHotSpot.objects.filter(trial=trial).select_related("hotspot").order_by("hotspot_code")
    )
    info = {m.hotspot_id: m for m in members}
    notes: list[str] = []
    rows = list(
        ScheduleEntry.objects.filter(trial=trial)
        .order_by("trial_day", "hotspot_id", "shift")
        .values_list("trial_day", "hotspot_id", "shift", "arm")
    )
    panel = pd.DataFrame(rows, columns=["trial_day", "hotspot_pk", "shift", "arm"])
    panel.insert(0, "trial_id", trial.pk)
    panel.insert(2, "hotspot_id", [info[p].hotspot_code for p in panel["hotspot_pk"]])
    panel.insert(4, "stratum", [info[p].stratum for p in panel["hotspot_pk"]])
    panel.insert(5, "pair_or_block", [info[p].pair_or_block for p in panel["hotspot_pk"]])
    # Serious violence per place-day (and shift), from records dated to the day or better.
    tz = settings.TIME_ZONE if design.timezone is None else design.timezone
    lo = datetime.combine(design.start, design.day_start, dj_timezone.get_current_timezone())
    hi = datetime.combine(
        design.end + timedelta(days=1), design.day_start, dj_timezone.get_current_timezone()
    )
    # the trial's own force's records only: another force's (a neighbour's, or one on the same grid) are
    # neither its outcomes nor evidence that its days are covered
    own = CrimeRecord.objects.filter(tenant_id=trial.tenant_id)
    recs = list(
        own.filter(
            serious_violence=True, easting__isnull=False, occurred_from__gte=lo, occurred_from__lt=hi
        ).values_list("occurred_from", "time_precision", "easting", "northing", "harm_days", "last_outcome")
    )
    month_only = sum(1 for r in recs if r[1] == "month")
    dated = [r for r in recs if r[1] != "month"]
    key_count: dict[tuple[date, int, str], int] = {}
    key_harm: dict[tuple[date, int, str], float] = {}
    key_final: dict[tuple[date, int, str], int] = {}
    key_positive: dict[tuple[date, int, str], int] = {}
    if dated:
        x = np.array([r[2] for r in dated], dtype=float)
        y = np.array([r[3] for r in dated], dtype=float)
        rec, hs = assign_to_hotspots([m.hotspot for m in members], x, y)
        for r, j in zip(rec, hs, strict=True):
            when = dated[r][0]
            key = (design.trial_day_of(when), members[j].hotspot_id, shift_of(design, when))
            key_count[key] = key_count.get(key, 0) + 1
            key_harm[key] = key_harm.get(key, 0.0) + float(dated[r][4] or 0.0)
            kind = outcome_kind(dated[r][5])
            if kind != "pending":
                key_final[key] = key_final.get(key, 0) + 1
                key_positive[key] = key_positive.get(key, 0) + (kind == "positive")
    keys = list(zip(panel["trial_day"], panel["hotspot_pk"], panel["shift"], strict=True))
    # Catchment rings (displacement): serious violence near each hot spot, outside every hot spot.
    plan = plan_from_manifest(trial_commitment(trial=trial).public_manifest) or DEFAULT_PLAN
    ring_cols: list[str] = []
    if dated:
        geoms = [shapely.from_geojson(m.hotspot.geofence_geojson) for m in members]
        by_ring = ring_assignments(geoms, x, y, rings=plan.buffers_m)
    for ring in plan.buffers_m:
        ring_count: dict[tuple[date, int, str], int] = {}
        if dated:
            for r, j in zip(*by_ring[ring], strict=True):
                when = dated[r][0]
                key = (design.trial_day_of(when), members[j].hotspot_id, shift_of(design, when))
                ring_count[key] = ring_count.get(key, 0) + 1
        col = buffer_column(*ring)
        ring_cols.append(col)
        panel[col] = pd.array([ring_count.get(k, 0) for k in keys], dtype="Int64")
    if ring_cols:
        notes.append(
            f"{', '.join(ring_cols)}: serious violence in each ring around the hot spot (distance from its "
            "geofence, inner ≤ d < outer metres), outside every hot spot of the trial; a crime near two hot "
            "spots counts for each (the analysis plan's displacement buffers)."
        )
    panel["sv_count"] = pd.array([key_count.get(k, 0) for k in keys], dtype="Int64")
    panel["harm_days"] = pd.array([key_harm.get(k, 0.0) for k in keys], dtype="Float64")
    panel["sv_final_outcome"] = pd.array([key_final.get(k, 0) for k in keys], dtype="Int64")
    panel["sv_positive_outcome"] = pd.array([key_positive.get(k, 0) for k in keys], dtype="Int64")
    # Days after the last imported record are unknown, not zero.
    last = (
        own.filter(occurred_from__isnull=False)
        .order_by("-occurred_from")
        .values_list("occurred_from", flat=True)
        .first()
    )  # (PostgreSQL sorts NULL first in descending order)
    covered_to = design.trial_day_of(last) if last is not None else None
    unknown = (
        panel["trial_day"] > covered_to if covered_to is not None else pd.Series(True, index=panel.index)
    )
    if covered_to is None or covered_to < design.end:
        panel.loc[
            unknown, ["sv_count", "harm_days", "sv_final_outcome", "sv_positive_outcome", *ring_cols]
        ] = pd.NA
        notes.append(
            f"sv_count and harm_days are empty for trial days after {covered_to or 'the first import'} "
            "(no records imported for them yet)."
        )
    if month_only:
        notes.append(
            f"{month_only} serious-violence records in the trial period are known only to the month (police.uk) "
            "and cannot be put on a trial day: they are not in sv_count."
        )
    notes.append(
        "sv_final_outcome counts the serious-violence crimes with a final last outcome (not under investigation "
        "or missing), sv_positive_outcome those of them with a positive one (charge, court or out-of-court "
        "disposal; docs/methods.md §5.3)."
    )
    notes.append(
        "a record counts in a hot spot when its point lies inside the geofence, on the trial day of its "
        f"occurred_from time ({design.day_start:%H:%M} boundary, {tz})."
    )
    # Dose from the patrol app.
    visit = visit_model()
    if visit is None:
        panel["dose_minutes"] = pd.array([pd.NA] * len(panel), dtype="Float64")
        panel["visits"] = pd.array([pd.NA] * len(panel), dtype="Int64")
        notes.append(
            "dose_minutes and visits are empty: the patrol app's Visit model (hotspot, trial_day, dose_minutes) "
            "is not installed yet."
        )
    else:
        from django.db.models import Count, Sum

        agg = (
            visit.objects.filter(
                hotspot_id__in=list(info), trial_day__gte=design.start, trial_day__lte=design.end
            )
            .values("hotspot_id", "trial_day")
            .annotate(dose=Sum("dose_minutes"), n=Count("pk"))
        )
        dose = {(a["trial_day"], a["hotspot_id"]): (float(a["dose"] or 0.0), int(a["n"])) for a in agg}
        pairs = list(zip(panel["trial_day"], panel["hotspot_pk"], strict=True))
        panel["dose_minutes"] = pd.array([dose.get(p, (0.0, 0))[0] for p in pairs], dtype="Float64")
        panel["visits"] = pd.array([dose.get(p, (0, 0))[1] for p in pairs], dtype="Int64")
        if design.strata_by_shift:
            notes.append(
                "dose_minutes and visits are per place-day (all shifts), repeated on each shift's row."
            )
    _add_bau_presence(panel, notes, design=design, hotspot_ids=list(info))
    if not design.strata_by_shift:
        panel = panel.drop(columns=["shift"])
    return panel, notes


def _add_bau_presence(panel: pd.DataFrame, notes: list[str], *, design: Any, hotspot_ids: list[int]) -> None:
    """``bau_minutes`` / ``bau_visits``: radio and vehicle (AVLS) presence per place-day, treated and
    control alike, from ``rasure import avls`` (P8: background presence matters in both arms)."""
    from django.db.models import Count, Sum

    presence = apps.get_model("patrols", "AvlsPresence")
    agg = (
        presence.objects.filter(
            hotspot_id__in=hotspot_ids, trial_day__gte=design.start, trial_day__lte=design.end
        )
        .values("hotspot_id", "trial_day")
        .annotate(minutes=Sum("minutes"), n=Count("pk"))
    )
    bau = {(a["trial_day"], a["hotspot_id"]): (float(a["minutes"] or 0.0), int(a["n"])) for a in agg}
    pairs = list(zip(panel["trial_day"], panel["hotspot_pk"], strict=True))
    panel["bau_minutes"] = pd.array([bau.get(p, (0.0, 0))[0] for p in pairs], dtype="Float64")
    panel["bau_visits"] = pd.array([bau.get(p, (0, 0))[1] for p in pairs], dtype="Int64")
    notes.append(
        "bau_minutes and bau_visits: radio/vehicle (AVLS) presence per place-day from `rasure import avls`, "
        "every officer and call sign in the files (a tasked officer's radio counts too); 0 where no "
        "file covered the day."
    )


def trial_export_panel(*, trial_id: int, out: str | Path, user: Any = None) -> PanelExport:
    """Write the place-day panel (hot spot × trial day × arm × serious-violence count × harm × dose minutes
    × visits) to ``out``: Parquet when it ends in ``.parquet``, else CSV. Logged as an export."""
    trial = trial_get(trial_id=trial_id)
    panel, notes = trial_panel_frame(trial=trial)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        table = panel.assign(trial_day=pd.to_datetime(panel["trial_day"]).dt.date)
        table.to_parquet(path, engine="pyarrow", index=False)
    else:
        panel.to_csv(path, index=False, date_format="%Y-%m-%d")
    access_log_record(
        user=user,
        action=AccessLog.Action.EXPORT,
        resource="trial_panel",
        object_ref=str(trial.pk),
        detail=f"{len(panel)} place-day rows to {path.name}",
    )
    return PanelExport(path=path, rows=len(panel), columns=tuple(panel.columns), notes=tuple(notes))
