"""Services (writes) for trials: create, commit, verify, complete, power, panel export (issue 4).

Keyword-only, named ``<entity>_<action>``, like every service and selector in ``rasure_web``. The
schedule, commitment and power figures come from the pure core :mod:`rasure.trial`; this module stores
and reads them.

Refusals: every attempt to change a committed trial through a service raises
:class:`~rasure_web.trials.models.TrialCommittedError` and appends an access-log entry with action
``refused``. The entry is written after the service's own transaction has rolled back, so it stays,
unless the *caller* rolls back an outer transaction of its own.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone as dj_timezone

from rasure import classify as sv
from rasure.trial import (
    Commitment,
    FrozenHotSpot,
    HotSpotSetError,
    MinimumDetectableEffect,
    PowerInputError,
    RateDispersion,
    RequiredPlaceDays,
    TrialDesign,
    TrialDesignError,
    TrialError,
    VerificationResult,
    check_seed,
    commit,
    estimate_rate_dispersion,
    make_schedule,
    nb_minimum_detectable_effect,
    nb_required_place_days,
    new_secret_hex,
    place_day_counts,
    schedule_to_csv,
    validate_hotspots,
    verify,
)
from rasure.trial.design import check_label
from rasure_web import clock
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.models import AccessLog
from rasure_web.analysis.models import AnalysisRun, HotSpot
from rasure_web.crimes.models import CrimeRecord
from rasure_web.trials.models import ScheduleEntry, Trial, TrialCommittedError, TrialHotSpot

__all__ = [
    "CommitResult",
    "PanelExport",
    "PowerReport",
    "RateEstimate",
    "TrialCommittedError",
    "TrialOverlapError",
    "shift_of",
    "trial_commit",
    "trial_commitment",
    "trial_complete",
    "trial_create",
    "trial_delete",
    "trial_demo_commit",
    "trial_design",
    "trial_export_panel",
    "trial_frozen_hotspots",
    "trial_get",
    "trial_power",
    "trial_schedule_change",
    "trial_schedule_frame",
    "trial_update",
    "trial_verify",
]


class TrialOverlapError(TrialError):
    """Another committed trial already runs on some of these trial days."""


@dataclass(frozen=True)
class CliActor:
    """The person behind a command-line call (no Django account): logged as ``cli:<login>``."""

    username: str
    pk: None = None


def _username(user: Any) -> str:
    return str(getattr(user, "username", "") or "(system)")


def _refuse(*, user: Any, trial_id: int | None, what: str) -> TrialCommittedError:
    """Log a refused change to a committed trial and return the exception to raise."""
    access_log_record(
        user=user,
        action=AccessLog.Action.REFUSED,
        resource="trial",
        object_ref=str(trial_id or ""),
        detail=f"refused: {what} (trial is committed)",
    )
    return TrialCommittedError(
        f"trial {trial_id} is committed: {what} was refused and logged. The design, the frozen set and "
        "the schedule of a committed trial never change; create a new trial instead."
    )


@functools.lru_cache(maxsize=1)
def _code_revision() -> str:
    """The code revision committed to: ``$RASURE_CODE_REVISION``, else ``git describe`` of this checkout."""
    env = os.environ.get("RASURE_CODE_REVISION", "").strip()
    if env:
        return check_label(env, what="RASURE_CODE_REVISION")
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=40"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    text = out.stdout.strip()
    try:
        return check_label(text, what="code revision") if out.returncode == 0 and text else ""
    except HotSpotSetError:
        return ""


# --------------------------------------------------------------------------------------------------
# Reading a stored trial back into the core's types


def trial_design(*, trial: Trial) -> TrialDesign:
    """The stored design as a :class:`rasure.trial.TrialDesign`."""
    return TrialDesign.from_json_dict(trial.design)


def trial_frozen_hotspots(*, trial: Trial, live_geofences: bool = False) -> list[FrozenHotSpot]:
    """The frozen set as the core sees it. ``live_geofences=True`` takes each geofence from the hot-spot
    row as it is *now* (to detect a geofence changed after commitment) instead of the frozen copy."""
    rows = TrialHotSpot.objects.filter(trial=trial).select_related("hotspot").order_by("hotspot_code")
    return [
        FrozenHotSpot(
            r.hotspot_code,
            r.stratum,
            r.hotspot.geofence_geojson if live_geofences else r.geofence_text,
            r.pair_or_block,
        )
        for r in rows
    ]


def trial_schedule_frame(*, trial: Trial, day: date | None = None) -> pd.DataFrame:
    """The stored schedule in the core's form: trial_day, hotspot_id, stratum, [shift,] arm."""
    design = trial_design(trial=trial)
    members = {
        r.hotspot_id: (r.hotspot_code, r.stratum)
        for r in TrialHotSpot.objects.filter(trial=trial).only("hotspot_id", "hotspot_code", "stratum")
    }
    qs = ScheduleEntry.objects.filter(trial=trial)
    if day is not None:
        qs = qs.filter(trial_day=day)
    rows = list(qs.values_list("trial_day", "hotspot_id", "shift", "arm"))
    frame = pd.DataFrame(
        {
            "trial_day": pd.Series([r[0] for r in rows], dtype=object),
            "hotspot_id": [members[r[1]][0] for r in rows],
            "stratum": [members[r[1]][1] for r in rows],
            "shift": [r[2] for r in rows],
            "arm": [r[3] for r in rows],
        }
    )
    if not design.strata_by_shift:
        frame = frame.drop(columns=["shift"])
    sort = ["trial_day", "hotspot_id", *(["shift"] if design.strata_by_shift else [])]
    return frame.sort_values(sort, kind="stable").reset_index(drop=True)


def shift_of(design: TrialDesign, when: datetime) -> str:
    """The shift containing ``when`` when a trial is stratified by shift.

    The core treats shifts as labels only; Rasure splits the trial day into equal consecutive parts in
    the order the shifts are listed, starting at ``day_start``. With the default ``("day", "night")``
    and 06:00: day is 06:00-17:59:59 and night 18:00-05:59:59 (local time). Returns ``""`` when the
    trial is not stratified by shift.
    """
    if not design.strata_by_shift:
        return ""
    from zoneinfo import ZoneInfo

    local = when.astimezone(ZoneInfo(design.timezone)) if when.tzinfo else when
    day = design.trial_day_of(when)
    start = datetime.combine(day, design.day_start)
    elapsed = (local.replace(tzinfo=None) - start).total_seconds()
    part = 86400 / len(design.shifts)
    index = min(int(max(elapsed, 0) // part), len(design.shifts) - 1)
    return design.shifts[index]


# --------------------------------------------------------------------------------------------------
# Create, change, delete (drafts only)


def _current_run() -> AnalysisRun:
    run = AnalysisRun.objects.filter(is_current=True).order_by("-created_at").first()
    if run is None:
        raise HotSpotSetError("no hot spots are stored yet. Run `rasure hotspots build` first.")
    return run


def _choose_hotspots(codes: Sequence[str] | None) -> tuple[AnalysisRun, list[HotSpot]]:
    run = _current_run()
    spots = list(HotSpot.objects.filter(run=run).select_related("run").order_by("period", "rank"))
    if codes:
        wanted = [c.strip() for c in codes if c.strip()]
        by_code = {h.code: h for h in spots}
        missing = [c for c in wanted if c not in by_code]
        if missing:
            raise HotSpotSetError(
                f"hot spot codes {missing} are not in the current analysis run {run.pk} "
                f"(it has {', '.join(sorted(by_code)[:20])}{' ...' if len(by_code) > 20 else ''})."
            )
        if len(set(wanted)) != len(wanted):
            raise HotSpotSetError(f"hot spot codes repeat in {wanted}; give each once.")
        spots = [by_code[c] for c in wanted]
    if not spots:
        raise HotSpotSetError(f"the current analysis run {run.pk} has no hot spots to freeze.")
    return run, spots


def _stratum(h: HotSpot, rule: str) -> str:
    lpa = h.lpa_code.strip() or "no-LPA"
    if rule == Trial.Strata.LPA:
        return lpa
    if rule == Trial.Strata.LPA_PERIOD:
        # The list first: groups are ranked by label (rasure.trial.schedule, step 3), so the areas of
        # one list get consecutive ranks and their odd-size alternation is staggered within the list,
        # and an officer's day or night list is not left with no treated hot spot on alternate days.
        return f"{h.period}/{lpa}"
    if rule == Trial.Strata.NONE:
        return "all"
    raise TrialDesignError(f"strata must be one of {list(Trial.Strata.values)}, got {rule!r}.")


def _blocks(spots: list[HotSpot], strata: dict[int, str], block_size: int) -> dict[int, str]:
    """Match hot spots into blocks of ``block_size`` within each stratum, by rank of count (Sacramento:
    adjacent pairs of ranked places); a left-over single joins the last block of its stratum."""
    if block_size < 2:
        raise HotSpotSetError(f"block_size must be at least 2, got {block_size}.")
    out: dict[int, str] = {}
    by_stratum: dict[str, list[HotSpot]] = {}
    for h in spots:
        by_stratum.setdefault(strata[h.pk], []).append(h)
    for stratum, members in sorted(by_stratum.items()):
        ordered = sorted(members, key=lambda h: (-h.count, h.code))
        if len(ordered) < 2:
            raise HotSpotSetError(
                f"stratum {stratum!r} has a single hot spot ({ordered[0].code}), so it cannot be blocked. "
                "Use --strata none, add hot spots, or use the daily design."
            )
        n_blocks = max(1, len(ordered) // block_size)
        for i, h in enumerate(ordered):
            out[h.pk] = f"{stratum}/B{min(i // block_size, n_blocks - 1) + 1:02d}"
    return out


def trial_create(
    *,
    name: str,
    start: date,
    end: date,
    user: Any = None,
    kind: str = "daily",
    treated_share: float = 0.5,
    cap_per_day: int = 2,
    cap_per_week: int | None = None,
    target_dose: timedelta = timedelta(minutes=15),
    day_start: time = time(6, 0),
    timezone: str = "Europe/London",
    strata_by_shift: bool = False,
    shifts: Sequence[str] = ("day", "night"),
    block_allocation: str = "per_day",
    block_size: int = 2,
    hotspot_codes: Sequence[str] | None = None,
    strata: str = Trial.Strata.LPA,
    synthetic: bool = False,
) -> Trial:
    """Create a draft trial: freeze the current run's hot spots (or the given codes), with strata from
    their local policing area (``strata``), and store the design with its patrol rules."""
    check_label(name, what="trial name")
    design = TrialDesign(
        kind=kind,  # type: ignore[arg-type]
        start=start,
        end=end,
        cap_per_day=cap_per_day,
        cap_per_week=cap_per_week,
        target_dose=target_dose,
        treated_share=treated_share,
        day_start=day_start,
        timezone=timezone,
        strata_by_shift=strata_by_shift,
        shifts=tuple(shifts),
        block_allocation=block_allocation,  # type: ignore[arg-type]
    )
    run, spots = _choose_hotspots(hotspot_codes)
    stratum = {h.pk: _stratum(h, strata) for h in spots}
    blocks = _blocks(spots, stratum, block_size) if design.kind == "blocked" else {}
    frozen = [FrozenHotSpot(h.code, stratum[h.pk], h.geofence_geojson, blocks.get(h.pk)) for h in spots]
    validate_hotspots(frozen, design)
    with transaction.atomic():
        trial = Trial.objects.create(
            name=name,
            design=design.to_json_dict(),
            strata_rule=strata,
            analysis_run=run,
            synthetic=synthetic,
            created_by=_username(user) if user is not None else "",
        )
        TrialHotSpot.objects.bulk_create(
            [
                TrialHotSpot(
                    trial=trial,
                    hotspot=h,
                    hotspot_code=h.code,
                    stratum=stratum[h.pk],
                    pair_or_block=blocks.get(h.pk),
                    geofence_text=h.geofence_geojson,
                    geofence_sha256=hashlib.sha256(h.geofence_geojson.encode("utf-8")).hexdigest(),
                )
                for h in spots
            ]
        )
    return trial


def trial_get(*, trial_id: int) -> Trial:
    try:
        return Trial.objects.get(pk=trial_id)
    except Trial.DoesNotExist as exc:
        raise TrialError(f"there is no trial {trial_id}. `rasure trial list` shows them.") from exc


def trial_update(*, trial_id: int, user: Any, name: str | None = None, **design_changes: Any) -> Trial:
    """Change a draft trial's name or design parameters (``TrialDesign`` field names). Refused and logged
    once the trial is committed."""
    trial = trial_get(trial_id=trial_id)
    if trial.is_frozen:
        raise _refuse(user=user, trial_id=trial.pk, what=f"update of {sorted([*design_changes, 'name'])}")
    fields = dict(TrialDesign.from_json_dict(trial.design).__dict__)
    unknown = set(design_changes) - set(fields)
    if unknown:
        raise TrialDesignError(f"unknown design fields {sorted(unknown)}; use {sorted(fields)}.")
    fields.update(design_changes)
    design = TrialDesign(**fields)
    validate_hotspots(trial_frozen_hotspots(trial=trial), design)
    if name is not None:
        trial.name = check_label(name, what="trial name")
    trial.design = design.to_json_dict()
    try:
        with transaction.atomic():
            locked = Trial.objects.select_for_update().get(pk=trial.pk)
            if locked.is_frozen:
                raise TrialCommittedError("committed meanwhile")
            trial.save(update_fields=["name", "design"])
    except TrialCommittedError:
        raise _refuse(user=user, trial_id=trial.pk, what="update") from None
    return trial


def trial_delete(*, trial_id: int, user: Any) -> None:
    """Delete a draft trial. Refused and logged once the trial is committed."""
    trial = trial_get(trial_id=trial_id)
    if trial.is_frozen:
        raise _refuse(user=user, trial_id=trial.pk, what="deletion of the trial")
    trial.delete()


def trial_schedule_change(*, trial_id: int, user: Any, trial_day: date, hotspot_code: str, arm: str) -> None:
    """The schedule is made only by :func:`trial_commit`, all at once, and never edited: any request to
    change one entry (from the API, a form, a script) is refused and logged here."""
    trial = trial_get(trial_id=trial_id)
    raise _refuse(
        user=user,
        trial_id=trial.pk,
        what=f"change of the schedule entry {trial_day} {hotspot_code} to {arm!r}",
    )


# --------------------------------------------------------------------------------------------------
# Commit


@dataclass(frozen=True)
class CommitResult:
    """What :func:`trial_commit` made. ``seed`` is shown once and never stored: keep it offline."""

    trial: Trial
    seed: str
    commitment: Commitment
    schedule_rows: int


def trial_commitment(*, trial: Trial) -> Commitment:
    """The published commitment document of a committed trial."""
    if not trial.commitment_sha256:
        raise TrialError(f"trial {trial.pk} is a draft: commit it first (`rasure trial commit {trial.pk}`).")
    return Commitment(digest_hex=trial.commitment_sha256, manifest_json=trial.manifest_json)


def _overlapping(trial: Trial, design: TrialDesign) -> list[Trial]:
    out = []
    for other in Trial.objects.exclude(pk=trial.pk).exclude(status=Trial.Status.DRAFT):
        d = TrialDesign.from_json_dict(other.design)
        if d.start <= design.end and design.start <= d.end:
            out.append(other)
    return out


def trial_commit(
    *,
    trial_id: int,
    user: Any,
    seed: str | None = None,
    nonce: str | None = None,
    allow_past_start: bool = False,
) -> CommitResult:
    """Commit a draft trial: draw the secret seed (unless given), compute the commitment, make the
    schedule and store it, in one transaction. Returns the seed once; it is not stored.

    Refuses a trial whose first day has already begun (``allow_past_start`` for rehearsals and tests:
    the commitment then does not show the allocation was fixed before the trial), and a trial whose
    days overlap another committed trial (the patrol app follows one trial at a time).
    """
    trial = trial_get(trial_id=trial_id)
    if trial.is_frozen:
        raise _refuse(user=user, trial_id=trial.pk, what="a second commit")
    design = trial_design(trial=trial)
    today = design.trial_day_of(clock.now())
    if design.start < today and not allow_past_start:
        raise TrialDesignError(
            f"the trial starts on {design.start}, before today's trial day {today}: a commitment must be "
            "made before the trial starts. Move the dates (rasure trial create with a later --start)."
        )
    seed = seed or new_secret_hex()
    check_seed(seed)
    nonce = nonce or new_secret_hex()
    frozen = trial_frozen_hotspots(trial=trial)
    revision = _code_revision()
    commitment = commit(
        frozen, design, seed=seed, nonce=nonce, trial_label=trial.name, code_revision=revision
    )
    schedule = make_schedule(frozen, design, seed=seed)
    pk_of = dict(TrialHotSpot.objects.filter(trial=trial).values_list("hotspot_code", "hotspot_id"))
    shifts = schedule["shift"] if "shift" in schedule.columns else [""] * len(schedule)
    entries = [
        ScheduleEntry(trial_id=trial.pk, trial_day=d, hotspot_id=pk_of[h], shift=s, arm=a)
        for d, h, s, a in zip(
            schedule["trial_day"], schedule["hotspot_id"], shifts, schedule["arm"], strict=True
        )
    ]
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # One commit at a time, so two overlapping trials cannot both pass the overlap check.
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(hashtext('rasure_trial_commit'))")
            locked = Trial.objects.select_for_update().get(pk=trial.pk)
            if locked.is_frozen:
                raise TrialCommittedError("committed meanwhile")
            overlap = _overlapping(trial, design)
            if overlap:
                raise TrialOverlapError(
                    f"trial {overlap[0].pk} ({overlap[0].name}) is committed for days overlapping "
                    f"{design.start} to {design.end}. The patrol app follows one trial at a time: choose "
                    "other dates."
                )
            ScheduleEntry.objects.bulk_create(entries, batch_size=5000)
            Trial.objects.filter(pk=trial.pk).update(
                status=Trial.Status.COMMITTED,
                commitment_sha256=commitment.digest_hex,
                manifest_json=commitment.manifest_json,
                schedule_sha256=hashlib.sha256(schedule_to_csv(schedule)).hexdigest(),
                code_revision=revision,
                committed_at=clock.now(),
                committed_by=_username(user),
            )
    except TrialCommittedError:
        raise _refuse(user=user, trial_id=trial.pk, what="a second commit") from None
    trial.refresh_from_db()
    return CommitResult(trial=trial, seed=seed, commitment=commitment, schedule_rows=len(entries))


# --------------------------------------------------------------------------------------------------
# Verify and complete


@dataclass(frozen=True)
class TrialVerification:
    """:func:`trial_verify`'s result: the core's verdict plus where the schedule came from."""

    result: VerificationResult
    schedule_source: str

    @property
    def ok(self) -> bool:
        return self.result.ok

    def report(self, *, max_rows: int = 20) -> str:
        return f"schedule checked: {self.schedule_source}\n" + self.result.report(max_rows=max_rows)


def trial_verify(
    *, trial_id: int, seed: str, schedule_csv: bytes | None = None, user: Any = None
) -> TrialVerification:
    """Recompute the commitment and the schedule from the revealed seed and compare them with the
    published digest and with the stored schedule (or the given CSV); also compare the frozen set with
    the hot spots as stored now (ids, strata, blocks, geofences)."""
    trial = trial_get(trial_id=trial_id)
    commitment = trial_commitment(trial=trial)
    if schedule_csv is not None:
        schedule: pd.DataFrame | bytes = schedule_csv
        source = "the given schedule file"
    else:
        schedule = trial_schedule_frame(trial=trial)
        source = f"the schedule stored in the database ({len(schedule)} rows)"
    result = verify(
        commitment, seed, schedule, hotspots=trial_frozen_hotspots(trial=trial, live_geofences=True)
    )
    return TrialVerification(result=result, schedule_source=source)


def trial_complete(*, trial_id: int, seed: str, user: Any, early: bool = False) -> TrialVerification:
    """Reveal the seed at the end: verify it against the commitment and the stored schedule, then store
    it and mark the trial completed. Refused before the last trial day is over unless ``early``."""
    trial = trial_get(trial_id=trial_id)
    if trial.status != Trial.Status.COMMITTED:
        raise TrialError(f"trial {trial.pk} is {trial.status}; only a committed trial can be completed.")
    design = trial_design(trial=trial)
    if design.trial_day_of(clock.now()) <= design.end and not early:
        raise TrialError(
            f"trial {trial.pk} runs until {design.end}: revealing the seed now would reveal the rest of the "
            "schedule. Wait, or pass early=True (--early) if the trial was stopped."
        )
    check = trial_verify(trial_id=trial.pk, seed=seed, user=user)
    if not (check.result.commitment_ok and check.result.schedule_ok):
        raise TrialError("the seed does not verify against the commitment and schedule:\n" + check.report())
    Trial.objects.filter(pk=trial.pk, status=Trial.Status.COMMITTED).update(
        status=Trial.Status.COMPLETED, revealed_seed=seed, completed_at=clock.now()
    )
    return check


# --------------------------------------------------------------------------------------------------
# Rates from the imported records, and power


def _hotspot_geometries(hotspots: Sequence[HotSpot]) -> list[Any]:
    return [shapely.from_geojson(h.geofence_geojson) for h in hotspots]


def _assign_to_hotspots(
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
    qs = CrimeRecord.objects.filter(serious_violence=True, easting__isnull=False, occurred_from__isnull=False)
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
        rec, hs = _assign_to_hotspots(
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
) -> PowerReport:
    """Minimum detectable effect and required place-days (Zhu & Lakkis 2014, docs/methods.md §5.2).

    Sizes default to the trial's (``trial_id``) or 34 hot spots × 182 days × half treated. With
    ``from_data`` the base rate and dispersion are estimated from the imported serious violence in the
    geofences of the trial's frozen set, the given codes, or the current run's hot spots
    (:func:`hotspot_rates`); explicit ``base_rate``/``dispersion_k`` override the estimate.
    """
    design: TrialDesign | None = None
    spots: list[HotSpot] = []
    if trial_id is not None:
        trial = trial_get(trial_id=trial_id)
        design = trial_design(trial=trial)
        spots = [r.hotspot for r in TrialHotSpot.objects.filter(trial=trial).select_related("hotspot__run")]
    elif from_data:
        _, spots = _choose_hotspots(hotspot_codes)
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


# --------------------------------------------------------------------------------------------------
# The place-day panel


@dataclass(frozen=True)
class PanelExport:
    path: Path
    rows: int
    columns: tuple[str, ...]
    notes: tuple[str, ...]


def _visit_model() -> Any | None:
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
    recs = list(
        CrimeRecord.objects.filter(
            serious_violence=True, easting__isnull=False, occurred_from__gte=lo, occurred_from__lt=hi
        ).values_list("occurred_from", "time_precision", "easting", "northing", "harm_days")
    )
    month_only = sum(1 for r in recs if r[1] == "month")
    dated = [r for r in recs if r[1] != "month"]
    key_count: dict[tuple[date, int, str], int] = {}
    key_harm: dict[tuple[date, int, str], float] = {}
    if dated:
        x = np.array([r[2] for r in dated], dtype=float)
        y = np.array([r[3] for r in dated], dtype=float)
        rec, hs = _assign_to_hotspots([m.hotspot for m in members], x, y)
        for r, j in zip(rec, hs, strict=True):
            when = dated[r][0]
            key = (design.trial_day_of(when), members[j].hotspot_id, shift_of(design, when))
            key_count[key] = key_count.get(key, 0) + 1
            key_harm[key] = key_harm.get(key, 0.0) + float(dated[r][4] or 0.0)
    keys = list(zip(panel["trial_day"], panel["hotspot_pk"], panel["shift"], strict=True))
    panel["sv_count"] = pd.array([key_count.get(k, 0) for k in keys], dtype="Int64")
    panel["harm_days"] = pd.array([key_harm.get(k, 0.0) for k in keys], dtype="Float64")
    # Days after the last imported record are unknown, not zero.
    last = CrimeRecord.objects.order_by("-occurred_from").values_list("occurred_from", flat=True).first()
    covered_to = design.trial_day_of(last) if last is not None else None
    unknown = (
        panel["trial_day"] > covered_to if covered_to is not None else pd.Series(True, index=panel.index)
    )
    if covered_to is None or covered_to < design.end:
        panel.loc[unknown, ["sv_count", "harm_days"]] = pd.NA
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
        "a record counts in a hot spot when its point lies inside the geofence, on the trial day of its "
        f"occurred_from time ({design.day_start:%H:%M} boundary, {tz})."
    )
    # Dose from the patrol app.
    visit = _visit_model()
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


# --------------------------------------------------------------------------------------------------
# The demo


def trial_demo_commit(*, days: int = 91) -> str:
    """Create and commit a synthetic demonstration trial from today, so the patrol app has a schedule.

    The seed is printed: it is a demonstration, nothing is secret. Skipped when a committed trial
    already covers today.
    """
    from rasure_web.trials.selectors import hotspot_arms_for

    now = clock.now()
    if hotspot_arms_for(when=now) is not None:
        return "a committed trial already covers today (kept)"
    start = TrialDesign(
        kind="daily", start=date(2000, 1, 1), end=date(2000, 1, 1), cap_per_day=2
    ).trial_day_of(now)
    try:
        trial = trial_create(
            name="DEMO synthetic trial",
            start=start,
            end=start + timedelta(days=days - 1),
            user=CliActor(username="demo"),
            # by area and day/night list: both of an officer's lists have treated hot spots every day
            strata=Trial.Strata.LPA_PERIOD,
            synthetic=True,
        )
        result = trial_commit(trial_id=trial.pk, user=CliActor(username="demo"))
    except TrialError as exc:
        return f"no demo trial: {exc}"
    return (
        f"demo trial {trial.pk} (SYNTHETIC) committed: {trial.hotspots.count()} hot spots, {days} days from "
        f"{start}, half treated each day; commitment {result.commitment.digest_hex[:16]}…; demo seed "
        f"{result.seed} (a real trial's seed is kept secret)"
    )
