"""Trial lifecycle (writes): create, change and delete drafts, commit, verify, complete, the demo (issue 4).

Keyword-only, named ``<entity>_<action>``, like every service and selector in ``rasure_web``. The
schedule and commitment come from the pure core :mod:`rasure.trial`; this module stores and reads them.
Rates and power are in :mod:`rasure_web.trials.rates`, the place-day panel in
:mod:`rasure_web.trials.panel`.

Refusals: every attempt to change a committed trial through a service raises
:class:`~rasure_web.trials.models.TrialCommittedError` and appends an access-log entry with action
``refused``. The entry is written after the service's own transaction has rolled back, so it stays,
unless the *caller* rolls back an outer transaction of its own.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from django.db import connection, transaction

from rasure.trial import (
    DEFAULT_PLAN,
    AnalysisPlan,
    Commitment,
    FrozenHotSpot,
    HotSpotSetError,
    TrialDesign,
    TrialDesignError,
    TrialError,
    VerificationResult,
    check_seed,
    commit,
    make_schedule,
    new_secret_hex,
    schedule_to_csv,
    validate_hotspots,
    verify,
)
from rasure.trial.design import check_label
from rasure_web import clock
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.models import AccessLog
from rasure_web.accounts.tenancy import resolve_force
from rasure_web.analysis.models import AnalysisRun, HotSpot
from rasure_web.trials.models import ScheduleEntry, Trial, TrialCommittedError, TrialHotSpot

__all__ = [
    "CliActor",
    "CommitResult",
    "TrialCommittedError",
    "TrialOverlapError",
    "TrialVerification",
    "choose_hotspots",
    "shift_of",
    "trial_commit",
    "trial_commitment",
    "trial_complete",
    "trial_create",
    "trial_delete",
    "trial_demo_commit",
    "trial_design",
    "trial_frozen_hotspots",
    "trial_get",
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


def _current_run(tenant: int) -> AnalysisRun:
    run = AnalysisRun.objects.filter(is_current=True, tenant_id=tenant).order_by("-created_at").first()
    if run is None:
        raise HotSpotSetError("no hot spots are stored yet. Run `rasure hotspots build` first.")
    return run


def choose_hotspots(
    *, codes: Sequence[str] | None = None, tenant: int | None = None
) -> tuple[AnalysisRun, list[HotSpot]]:
    """A force's current analysis run (``tenant``: its pk, default the only force) and its hot spots
    (all, or the given codes in that order)."""
    run = _current_run(tenant if tenant is not None else resolve_force(None).pk)
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
    force: str | None = None,
) -> Trial:
    """Create a draft trial of a force (``force``: its code, default the only force): freeze its current
    run's hot spots (or the given codes), with strata from their local policing area (``strata``), and
    store the design with its patrol rules."""
    tenant = resolve_force(force)
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
    run, spots = choose_hotspots(codes=hotspot_codes, tenant=tenant.pk)
    stratum = {h.pk: _stratum(h, strata) for h in spots}
    blocks = _blocks(spots, stratum, block_size) if design.kind == "blocked" else {}
    frozen = [FrozenHotSpot(h.code, stratum[h.pk], h.geofence_geojson, blocks.get(h.pk)) for h in spots]
    validate_hotspots(frozen, design)
    with transaction.atomic():
        trial = Trial.objects.create(
            tenant=tenant,
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
    # other forces run their own trials on the same days; only the same force's trials may not overlap
    for other in (
        Trial.objects.filter(tenant_id=trial.tenant_id)
        .exclude(pk=trial.pk)
        .exclude(status=Trial.Status.DRAFT)
    ):
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
    plan: AnalysisPlan | None = None,
) -> CommitResult:
    """Commit a draft trial: draw the secret seed (unless given), compute the commitment, make the
    schedule and store it, in one transaction. Returns the seed once; it is not stored.

    The analysis plan (``plan``, else :data:`rasure.trial.DEFAULT_PLAN`) goes into the manifest and so
    into the commitment (protocol ``rasure-commitment-v2``): it is pre-registered.

    Refuses a trial whose first day has already begun (``allow_past_start`` for rehearsals and tests:
    the commitment then does not show the allocation was fixed before the trial), and a trial whose
    days overlap another committed trial of the same force (the patrol app follows one trial at a time
    per force; forces on one installation run their own trials on the same days).
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
        frozen,
        design,
        seed=seed,
        nonce=nonce,
        trial_label=trial.name,
        code_revision=revision,
        analysis_plan=plan or DEFAULT_PLAN,
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
            # The schedule's anchor in the chained access log, in the same transaction: no committed
            # schedule without one (`rasure trial audit`). Imported here: the audit module reads
            # trials through this one.
            from rasure_web.trials.audit import trial_anchor_schedule

            trial_anchor_schedule(trial_id=trial.pk, user=user)
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
# The demo


def trial_demo_commit(*, days: int = 91) -> str:
    """Create and commit a synthetic demonstration trial from today, so the patrol app has a schedule.

    The seed is printed: it is a demonstration, nothing is secret. Skipped when a committed trial
    already covers today.
    """
    from rasure_web.trials.selectors import hotspot_arms_for

    now = clock.now()
    if hotspot_arms_for(when=now, force_id=resolve_force(None).pk) is not None:
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


#: The past demonstration trial's name (how a second `rasure demo` finds it).
DEMO_PAST_TRIAL = "DEMO synthetic past trial (completed)"
#: Its seed: a demonstration, published (a real trial's seed stays secret until the end).
DEMO_PAST_SEED = "d3" * 32


def trial_demo_past(*, days: int = 56, randomisation_draws: int = 199) -> str:
    """A COMPLETED synthetic trial over the last ``days`` days the synthetic city's records cover, with
    invented patrol visits on its treated days (:func:`rasure_web.patrols.demo.synthetic_visits_store`),
    so ``rasure trial evaluate`` on it writes a report with real numbers. It ends before today's trial
    day, so it does not overlap the current demo trial. Its plan re-draws ``randomisation_draws``
    schedules (fewer than the default, to keep the demo's evaluation quick; stated in the plan).
    Skipped when it exists."""
    from rasure.trial import DEFAULT_PLAN
    from rasure_web.crimes.models import CrimeRecord
    from rasure_web.patrols.demo import synthetic_visits_store

    force = resolve_force(None)
    if Trial.objects.filter(tenant=force, name=DEMO_PAST_TRIAL).exclude(status=Trial.Status.DRAFT).exists():
        return "the completed demo trial exists (kept)"
    probe = TrialDesign(kind="daily", start=date(2000, 1, 1), end=date(2000, 1, 1), cap_per_day=2)
    last = (
        CrimeRecord.objects.filter(tenant=force, source="synthetic")
        .order_by("-occurred_from")
        .values_list("occurred_from", flat=True)
        .first()
    )
    if last is None:
        return "no completed demo trial: no synthetic records"
    # the last whole trial day the records cover, and never today or later; before every committed trial
    # of the force it would overlap (an older demo database may hold a current trial begun earlier)
    end = min(
        probe.trial_day_of(last) - timedelta(days=1), probe.trial_day_of(clock.now()) - timedelta(days=1)
    )
    others = [
        TrialDesign.from_json_dict(t.design)
        for t in Trial.objects.filter(tenant=force).exclude(status=Trial.Status.DRAFT)
    ]
    for other in sorted(others, key=lambda d: d.start, reverse=True):
        if other.start <= end and end - timedelta(days=days - 1) <= other.end:
            end = other.start - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    actor = CliActor(username="demo")
    trial = None
    try:
        trial = trial_create(
            name=DEMO_PAST_TRIAL,
            start=start,
            end=end,
            user=actor,
            strata=Trial.Strata.LPA_PERIOD,
            synthetic=True,
        )
        plan = dataclasses.replace(DEFAULT_PLAN, randomisation_draws=randomisation_draws)
        trial_commit(trial_id=trial.pk, user=actor, seed=DEMO_PAST_SEED, allow_past_start=True, plan=plan)
        visits = synthetic_visits_store(trial_id=trial.pk)
        trial_complete(trial_id=trial.pk, seed=DEMO_PAST_SEED, user=actor)
    except TrialError as exc:
        if trial is not None and not Trial.objects.get(pk=trial.pk).is_frozen:
            trial.delete()  # no half-made demo trial left behind
        return f"no completed demo trial: {exc}"
    return (
        f"completed demo trial {trial.pk} (SYNTHETIC) from {start} to {end}: {trial.hotspots.count()} hot spots, "
        f"{visits:,} synthetic visits on its treated days; evaluate it with "
        f"`rasure trial evaluate {trial.pk} --out results/`"
    )
