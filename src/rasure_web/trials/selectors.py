"""Reads for trials (like every selector here: keyword-only, named <entity>_<action>).

Two are read by the patrol app and take no user, because they only say *how* to patrol now:
:func:`hotspot_arms_for` and :func:`patrol_rules_for`. Officer-facing lists go through
:func:`treated_hotspots_for`, which takes the acting user and never returns a control hot spot (R1).
The analysts' pages use :func:`trial_list_for` and :func:`trial_detail_for`.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count

from rasure.errors import RasureError
from rasure.trial import TrialDesign, trial_day_of
from rasure_web import clock
from rasure_web.accounts.roles import ADMIN, ANALYST, OFFICER, SUPERVISOR, has_role
from rasure_web.accounts.tenancy import acting_force_id, scoped
from rasure_web.analysis.models import AnalysisRun, HotSpot
from rasure_web.trials.models import ScheduleEntry, Trial, TrialHotSpot

DEFAULT_DAY_START = datetime.time(6, 0)
DEFAULT_TIMEZONE = "Europe/London"
DEFAULT_CAP_PER_DAY = 2
DEFAULT_TARGET_DOSE = datetime.timedelta(minutes=15)

#: Roles that may see trial pages (allocation counts, commitment, power). Officers may not.
TRIAL_VIEWER_ROLES = (ANALYST, SUPERVISOR, ADMIN)
#: Roles that may see today's treated hot spots (the patrol list).
PATROL_ROLES = (OFFICER, SUPERVISOR, ANALYST, ADMIN)


@dataclass(frozen=True)
class PatrolRules:
    """Patrol rules the patrol app applies at a moment: caps, target dose, trial day, trial id."""

    cap_per_day: int
    cap_per_week: int | None
    target_dose: datetime.timedelta
    trial_day: datetime.date
    trial_id: int | None


@dataclass(frozen=True)
class CommittedTrial:
    """A committed (or completed) trial as the patrol app needs it: its id, force and frozen design."""

    pk: int
    design: TrialDesign
    force_id: int | None = None


def committed_trials() -> tuple[CommittedTrial, ...]:
    """Every committed or completed trial, newest commit first (one query). Their designs are frozen
    (database triggers), so a caller may keep this list until the set of committed trials changes."""
    return tuple(
        CommittedTrial(pk, TrialDesign.from_json_dict(design), tenant)
        for pk, design, tenant in Trial.objects.filter(
            status__in=[Trial.Status.COMMITTED, Trial.Status.COMPLETED]
        )
        .order_by("-committed_at")
        .values_list("pk", "design", "tenant_id")
    )


def running_trial_among(
    trials: Sequence[CommittedTrial], when: datetime.datetime, *, force_id: int | None
) -> tuple[CommittedTrial, datetime.date] | None:
    """The force's trial among ``trials`` whose days include the trial day of ``when``, and that day (at
    most one per force: commits of a force's overlapping trials are refused; other forces run their own
    trials on the same days). ``force_id`` None (no force) runs no trial. No query."""
    if force_id is None:
        return None
    for trial in trials:
        if trial.force_id != force_id:
            continue
        day = trial.design.trial_day_of(when)
        if trial.design.start <= day <= trial.design.end:
            return trial, day
    return None


def hotspot_arms_for(
    *, when: datetime.datetime, force_id: int | None, trials: Sequence[CommittedTrial] | None = None
) -> dict[int, str] | None:
    """For the force's committed trial running at `when` (timezone-aware), map analysis.HotSpot.pk -> "treatment" |
    "control" for the trial day containing `when` (trial day boundary from the trial's design, default 06:00,
    Europe/London). None when no committed trial is running at `when` (then the patrol app shows every current
    hot spot). ``trials``: the committed trials when the caller holds them (else one query reads them).

    When the trial is stratified by shift, the arm is the one of the shift containing `when` (the trial
    day split into equal consecutive parts in the order of the design's shifts, see
    :func:`rasure_web.trials.lifecycle.shift_of`). A naive `when` is read as local wall-clock time.
    The keys are the frozen set's hot-spot rows, which stay those of the analysis run the trial froze
    even after a newer run is built.
    """
    from rasure_web.trials.lifecycle import shift_of

    running = running_trial_among(committed_trials() if trials is None else trials, when, force_id=force_id)
    if running is None:
        return None
    trial, day = running
    entries = ScheduleEntry.objects.filter(trial_id=trial.pk, trial_day=day)
    if trial.design.strata_by_shift:
        entries = entries.filter(shift=shift_of(trial.design, when))
    return dict(entries.values_list("hotspot_id", "arm"))


def patrol_rules_for(
    *, when: datetime.datetime, force_id: int | None, trials: Sequence[CommittedTrial] | None = None
) -> PatrolRules:
    """Frozen dataclass PatrolRules(cap_per_day: int, cap_per_week: int | None, target_dose: timedelta,
    trial_day: date, trial_id: int | None). Defaults when no trial runs: cap_per_day=2, cap_per_week=None,
    target 15 min, trial_day from the 06:00 boundary. ``trials`` as for :func:`hotspot_arms_for` (no query
    when given)."""
    running = running_trial_among(committed_trials() if trials is None else trials, when, force_id=force_id)
    if running is None:
        day = (
            trial_day_of(when, day_start=DEFAULT_DAY_START, timezone=DEFAULT_TIMEZONE)
            if when.tzinfo
            else trial_day_of(when, day_start=DEFAULT_DAY_START)
        )
        return PatrolRules(
            cap_per_day=DEFAULT_CAP_PER_DAY,
            cap_per_week=None,
            target_dose=DEFAULT_TARGET_DOSE,
            trial_day=day,
            trial_id=None,
        )
    trial, day = running
    design = trial.design
    return PatrolRules(
        cap_per_day=design.cap_per_day,
        cap_per_week=design.cap_per_week,
        target_dose=design.target_dose,
        trial_day=day,
        trial_id=trial.pk,
    )


def treated_hotspots_for(*, user: Any, when: datetime.datetime) -> list[HotSpot]:
    """The hot spots an officer may be shown at `when`: the treated hot spots of the running trial for
    that trial day (and shift), never a control one; every current hot spot when no trial runs.

    Refuses users without a patrol role (PermissionDenied)."""
    if not has_role(user, *PATROL_ROLES):
        raise PermissionDenied(
            "Only officers, supervisors, analysts and administrators see patrol hot spots."
        )
    force_id = acting_force_id(user)
    if force_id is None:
        return []
    arms = hotspot_arms_for(when=when, force_id=force_id)
    if arms is None:
        run = AnalysisRun.objects.filter(is_current=True, tenant_id=force_id).order_by("-created_at").first()
        return list(HotSpot.objects.filter(run=run).order_by("period", "rank")) if run else []
    treated = [pk for pk, arm in arms.items() if arm == ScheduleEntry.Arm.TREATMENT]
    return list(HotSpot.objects.filter(pk__in=treated).order_by("period", "rank"))


# --------------------------------------------------------------------------------------------------
# Analysts' and supervisors' pages


def _require_viewer(user: Any) -> None:
    if not has_role(user, *TRIAL_VIEWER_ROLES):
        raise PermissionDenied("Trial pages are for analysts, supervisors and administrators.")


def trial_list_for(*, user: Any) -> list[dict[str, Any]]:
    """Every trial of the user's force with its dates, design, size and status, newest first."""
    _require_viewer(user)
    out = []
    for t in scoped(Trial.objects.all(), user).annotate(n_hotspots=Count("hotspots")).order_by("-created_at"):
        d = t.design
        out.append(
            {
                "trial": t,
                "start": d.get("start"),
                "end": d.get("end"),
                "kind": d.get("kind"),
                "share": d.get("treated_share"),
                "hotspots": t.n_hotspots,
            }
        )
    return out


def trial_detail_for(*, user: Any, trial_id: int, when: datetime.datetime | None = None) -> dict[str, Any]:
    """One trial for its page: design and patrol rules, frozen set by stratum, today's allocation counts
    per stratum (counts only: which hot spot is in which arm is not shown), commitment, power."""

    from rasure_web.trials import rates

    _require_viewer(user)
    try:
        trial = scoped(Trial.objects.all(), user).get(pk=trial_id)  # another force's trial: 404
    except Trial.DoesNotExist as exc:
        from django.http import Http404

        raise Http404(f"no trial {trial_id}") from exc
    design = TrialDesign.from_json_dict(trial.design)
    when = when or clock.now()
    today = design.trial_day_of(when)
    members = list(TrialHotSpot.objects.filter(trial=trial).order_by("stratum", "hotspot_code"))
    strata: dict[str, int] = {}
    for m in members:
        strata[m.stratum] = strata.get(m.stratum, 0) + 1
    stratum_of = {m.hotspot_id: m.stratum for m in members}
    allocation: dict[tuple[str, str], dict[str, int]] = {}
    for hotspot_id, shift, arm in ScheduleEntry.objects.filter(trial=trial, trial_day=today).values_list(
        "hotspot_id", "shift", "arm"
    ):
        cell = allocation.setdefault((stratum_of[hotspot_id], shift), {"treatment": 0, "control": 0})
        cell[arm] += 1
    power: Any = None
    power_error = ""
    try:
        power = rates.trial_power(trial_id=trial.pk, from_data=True)
    except (RasureError, ValueError) as exc:  # the page says why power could not be computed
        power_error = str(exc)
    return {
        "trial": trial,
        "design": design,
        "design_json": trial.design,
        "today": today,
        "running": trial.is_frozen and design.start <= today <= design.end,
        "strata": sorted(strata.items()),
        "allocation": [
            {"stratum": s, "shift": sh, "treatment": c["treatment"], "control": c["control"]}
            for (s, sh), c in sorted(allocation.items())
        ],
        "power": power,
        "power_error": power_error,
        "n_hotspots": len(members),
    }


def _koper_rows(koper: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The Koper curve's bands for the results page: shares crime-free in per cent, the Cox term."""
    if not koper or not koper.get("computed"):
        return []
    cox = {c["band"]: c for c in koper.get("cox", [])}

    def pct(b: dict[str, Any], minutes: str) -> float | None:
        v = b["crime_free_at"].get(minutes)
        return None if v is None else v * 100

    return [
        {
            "band": b["band"],
            "spells": b["spells"],
            "events": b["events"],
            "free_6h": pct(b, "360"),
            "free_24h": pct(b, "1440"),
            "reference": b["band"] == koper.get("reference_band"),
            "cox": cox.get(b["band"]),
        }
        for b in koper["band_rows"]
    ]


def trial_results_for(*, user: Any, trial_id: int) -> dict[str, Any]:
    """A trial's latest stored evaluation (``rasure trial evaluate``) for the results page: the trial,
    the evaluation row (or ``None``), its results with the outcomes table, and how many runs exist."""
    from django.http import Http404

    from rasure_web.trials.models import TrialEvaluation

    _require_viewer(user)
    try:
        trial = scoped(Trial.objects.all(), user).get(pk=trial_id)  # another force's trial: 404
    except Trial.DoesNotExist as exc:
        raise Http404(f"no trial {trial_id}") from exc
    runs = TrialEvaluation.objects.filter(trial=trial)
    latest = runs.order_by("-evaluated_at", "-pk").first()
    results: dict[str, Any] = latest.results if latest is not None else {}
    rings = [r for r in results.get("displacement") or [] if r.get("computed")]
    koper = results.get("koper")
    return {
        "trial": trial,
        "evaluation": latest,
        "n_runs": runs.count(),
        "results": results,
        "outcomes": results.get("outcomes", []),
        "consort": results.get("consort"),
        "cost": results.get("cost_benefit"),
        "rings": rings,
        "dose": results.get("dose_response"),
        "koper": koper,
        "koper_rows": _koper_rows(koper),
        # SVG as data: images (img-src allows data:; inline SVG would carry <style>, refused by the CSP)
        "plots": [
            {
                "caption": caption,
                "src": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
            }
            for caption, svg in (latest.plots if latest is not None else [])
        ],
    }
