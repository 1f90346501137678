"""What the programme page and ``rasure programme outputs`` show (S3–S6), computed from the database.

The logic model's outputs (S3), each counted from rows, never typed in:

- ``officers_trained``: distinct active users in the officer or supervisor role with at least one
  training record.
- ``patrols_per_week``: ended patrol visits whose trial day falls in the last ``weeks`` full weeks
  (Monday to Sunday) before the week holding ``today``, divided by ``weeks``; one decimal.
- ``high_risk_areas``: hot spots in the current analysis run.
- ``operations_funded``: operations in the register with a budget above zero.
- ``partners_engaged``: organisations other than forces with at least one active user (for one force:
  those of that force or with a data-sharing agreement with it).
- ``forces_using``: forces whose officers recorded at least one patrol visit in that same window.

Counted for one force (``force_id``): its officers (users whose profile names it; on an installation
of one force, users of no force too), the visits to its hot spots, its current run, its operations,
its partner organisations (and those of no force, on an installation of one force); ``forces_using``
is then 1 (its officers recorded a visit in the window) or 0. Across every force only when asked (``all_forces``, ``rasure programme outputs
--all-forces``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from rasure_web.accounts.models import Force, Organisation, Profile, Team
from rasure_web.accounts.roles import OFFICER, SUPERVISOR
from rasure_web.accounts.tenancy import only_force
from rasure_web.analysis.models import HotSpot
from rasure_web.crimes.models import Area
from rasure_web.patrols.models import Visit
from rasure_web.programme.models import ModelStep, Operation, StepStatus, TrainingRecord

OUTPUT_KEYS = (
    "officers_trained",
    "patrols_per_week",
    "high_risk_areas",
    "operations_funded",
    "partners_engaged",
    "forces_using",
)
DEFAULT_WEEKS = 12
POLICE_ROLES = (OFFICER, SUPERVISOR)


def week_of(day: date) -> date:
    """The Monday of the week holding ``day``."""
    return day - timedelta(days=day.weekday())


def outputs_window(today: date, weeks: int = DEFAULT_WEEKS) -> tuple[date, date]:
    """First and last day of the ``weeks`` full Monday–Sunday weeks before the week holding ``today``."""
    if weeks < 1:
        raise ValueError("weeks must be 1 or more")
    this_monday = week_of(today)
    return this_monday - timedelta(weeks=weeks), this_monday - timedelta(days=1)


def _police_users(force_id: int | None = None) -> Any:
    """Active officers and supervisors; of one force when ``force_id`` is given (on a one-force
    installation the users of no force are that force's too)."""
    users = get_user_model().objects.filter(is_active=True, groups__name__in=POLICE_ROLES).distinct()
    return users if force_id is None else users.filter(_own_people(force_id, alone=_alone(force_id)))


def _alone(force_id: int) -> bool:
    """Whether ``force_id`` is the installation's only force (then users and partners of no force are
    its own); one query."""
    only = only_force()
    return only is not None and only.pk == force_id


def _own_people(force_id: int, *, alone: bool) -> Q:
    """Profiles of ``force_id``'s people: its own, and when it is the only force (``alone``, see
    :func:`_alone`) those of no force."""
    if alone:
        return Q(profile__force_id=force_id) | Q(profile__force__isnull=True)
    return Q(profile__force_id=force_id)


def programme_outputs(
    *, today: date, weeks: int = DEFAULT_WEEKS, force_id: int | None = None, all_forces: bool = False
) -> dict[str, Any]:
    """The six outputs of the logic model for one force (``force_id``) or, when ``all_forces`` is
    asked for, across every force; with the window they were counted over and what was counted."""
    if (force_id is None) == (not all_forces):
        raise ValueError("count one force (force_id) or all of them (all_forces=True), not both or neither")
    first, last = outputs_window(today, weeks)
    ended = all_ended = Visit.objects.filter(status=Visit.Status.ENDED, trial_day__range=(first, last))
    trained = _police_users().filter(
        pk__in=TrainingRecord.objects.filter(user__isnull=False).values("user_id")
    )
    profiles = Profile.objects.filter(force__isnull=False)
    partners = (
        Organisation.objects.exclude(kind=Organisation.Kind.FORCE)
        .filter(profiles__user__is_active=True)
        .distinct()
    )
    hotspots = HotSpot.objects.filter(run__is_current=True)
    operations = Operation.objects.filter(budget_gbp__gt=0)
    counted: dict[str, Any] = {"force": None, "all_forces": True}
    if force_id is not None:
        alone = _alone(force_id)  # users and partners of no force are its own
        ended = ended.filter(hotspot__run__tenant_id=force_id)
        trained = trained.filter(_own_people(force_id, alone=alone))
        profiles = profiles.filter(force_id=force_id)
        # a partner engages with a force when it belongs to it or has signed a data-sharing
        # agreement with it (an agreement is between one force and one organisation)
        with_force = Q(force_id=force_id) | Q(sharing_agreements__tenant_id=force_id)
        partners = partners.filter(with_force | Q(force__isnull=True) if alone else with_force)
        hotspots = hotspots.filter(run__tenant_id=force_id)
        operations = operations.filter(force_id=force_id)
        code = Force.objects.filter(pk=force_id).values_list("code", flat=True).first()
        counted = {"force": code, "all_forces": False}
    # a force uses the app when its officers recorded a visit (to any force's hot spot)
    forces = profiles.filter(user__in=all_ended.values("officer_id")).values("force_id").distinct()
    return {
        "officers_trained": trained.count(),
        "patrols_per_week": round(ended.count() / weeks, 1),
        "high_risk_areas": hotspots.count(),
        "operations_funded": operations.count(),
        "partners_engaged": partners.count(),
        "forces_using": forces.count(),
        "window": {"first_day": first.isoformat(), "last_day": last.isoformat(), "weeks": weeks},
        **counted,
    }


def refresher_due(attended_on: date, months: int | None) -> date | None:
    """The day a refresher falls due: ``months`` calendar months after attendance (none without months)."""
    if months is None:
        return None
    return attended_on + relativedelta(months=months)


@dataclass
class LpaTraining:
    lpa_code: str
    lpa_name: str
    officers: int = 0
    trained: int = 0
    refreshers_overdue: int = 0

    @property
    def coverage(self) -> float | None:
        return self.trained / self.officers if self.officers else None


@dataclass
class GroupTraining:
    """Training coverage of one team or one specialist unit (the same figures as :class:`LpaTraining`)."""

    key: str
    name: str
    detail: str = ""  # a team's area and kind; a unit's number of teams
    officers: int = 0
    trained: int = 0
    refreshers_overdue: int = 0

    @property
    def coverage(self) -> float | None:
        return self.trained / self.officers if self.officers else None


@dataclass
class TrainingPicture:
    by_lpa: list[LpaTraining] = field(default_factory=list)
    non_police_attendances: int = 0
    by_course: list[dict[str, Any]] = field(default_factory=list)
    by_team: list[GroupTraining] = field(default_factory=list)
    by_unit: list[GroupTraining] = field(default_factory=list)


def lpa_names(force_id: int | None = None) -> dict[str, str]:
    """Local policing areas' names by code (of one force when ``force_id`` is given: two forces may
    use the same codes)."""
    areas = Area.objects.filter(kind=Area.Kind.LPA)
    if force_id is not None:
        areas = areas.filter(tenant_id=force_id)
    return dict(areas.values_list("code", "name"))


def training_picture(*, today: date, force_id: int | None = None) -> TrainingPicture:
    """Officers and supervisors per LPA (by their team), how many hold a training record, overdue refreshers.

    A refresher is overdue when a person's latest attendance of a course with a refresher period is
    more than that period before ``today``. With ``force_id``, that force's people, teams and areas
    only; without it, every force's.
    """
    names = lpa_names(force_id)
    rows: dict[str, LpaTraining] = {}
    lpa_of: dict[int, str] = {}
    team_of: dict[int, int | None] = {}
    for user_id, lpa, team_id in _police_users(force_id).values_list(
        "id", "profile__team__lpa_code", "profile__team_id"
    ):
        code = lpa or ""
        lpa_of[user_id] = code
        team_of[user_id] = team_id
        row = rows.setdefault(code, LpaTraining(code, names.get(code, code or "No team area")))
        row.officers += 1
    trained_users, overdue = _trained_and_overdue(list(lpa_of), today)
    for user_id, code in lpa_of.items():
        if user_id in trained_users:
            rows[code].trained += 1
        if user_id in overdue:
            rows[code].refreshers_overdue += 1
    by_team, by_unit = _team_and_unit_training(team_of, trained_users, overdue, names, force_id)
    by_course = list(
        TrainingRecord.objects.values("course__name", "course__kind")
        .annotate(
            attendances=Count("id"),
            police=Count("id", filter=Q(user__isnull=False)),
            others=Count("id", filter=Q(user__isnull=True)),
        )
        .order_by("course__name")
    )
    return TrainingPicture(
        by_lpa=sorted(rows.values(), key=lambda r: (r.lpa_code == "", r.lpa_name)),
        non_police_attendances=TrainingRecord.objects.filter(user__isnull=True).count(),
        by_course=by_course,
        by_team=by_team,
        by_unit=by_unit,
    )


def _trained_and_overdue(user_ids: list[int], today: date) -> tuple[set[int], set[int]]:
    """Who of ``user_ids`` holds a training record, and whose latest attendance of a course with a
    refresher period is more than that period before ``today``."""
    latest: dict[tuple[int, int], tuple[date, int | None]] = {}
    records = TrainingRecord.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "course_id", "attended_on", "course__refresher_months"
    )
    for user_id, course_id, attended_on, months in records:
        key = (user_id, course_id)
        if key not in latest or attended_on > latest[key][0]:
            latest[key] = (attended_on, months)
    overdue = set()
    for (user_id, _), (attended_on, months) in latest.items():
        due = refresher_due(attended_on, months)
        if due is not None and due < today:
            overdue.add(user_id)
    return {u for u, _ in latest}, overdue


def _team_and_unit_training(
    team_of: dict[int, int | None],
    trained: set[int],
    overdue: set[int],
    names: dict[str, str],
    force_id: int | None,
) -> tuple[list[GroupTraining], list[GroupTraining]]:
    """Per team (every team of the force, or of every force, members or not) and per specialist unit
    (its specialist teams together). Officers without a team are in neither table (they are in the
    area table's "No team area")."""
    team_rows = Team.objects.select_related("force").order_by("force__code", "name")
    if force_id is not None:
        team_rows = team_rows.filter(force_id=force_id)
    teams = list(team_rows)
    by_team = {
        t.pk: GroupTraining(
            str(t.pk),
            t.name,
            ", ".join(x for x in (names.get(t.lpa_code, t.lpa_code), t.get_kind_display()) if x),
        )
        for t in teams
    }
    unit_key = {
        t.pk: t.specialist_unit or Team.Unit.OTHER
        for t in teams
        if t.kind == Team.Kind.SPECIALIST or t.specialist_unit
    }
    team_count = Counter(unit_key.values())
    units = {
        key: GroupTraining(key, Team.Unit(key).label, f"{n} team{'s' if n != 1 else ''}")
        for key, n in team_count.items()
    }
    for user_id, team_id in team_of.items():
        if team_id is None:
            continue
        for row in (by_team.get(team_id), units.get(unit_key.get(team_id, ""))):
            if row is None:
                continue
            row.officers += 1
            row.trained += user_id in trained
            row.refreshers_overdue += user_id in overdue
    return list(by_team.values()), sorted(units.values(), key=lambda u: u.name)


@dataclass
class StepGrid:
    steps: list[ModelStep]
    lpas: list[tuple[str, str]]
    cells: dict[tuple[int, str], StepStatus]

    def rows(self) -> list[dict[str, Any]]:
        """One row per step: the step and, per LPA, its status (None when nothing is recorded)."""
        return [
            {"step": s, "cells": [self.cells.get((s.pk, code)) for code, _ in self.lpas]} for s in self.steps
        ]

    def in_place_share(self) -> float | None:
        total = len(self.steps) * len(self.lpas)
        done = sum(1 for c in self.cells.values() if c.status == StepStatus.Status.IN_PLACE)
        return done / total if total else None


def step_grid(force_id: int | None = None) -> StepGrid:
    """The delivery model's steps against every LPA, for the compliance view (one force's steps and
    areas with ``force_id``; every force's without)."""
    step_rows = ModelStep.objects.select_related("force").order_by("force__code", "number")
    if force_id is not None:
        step_rows = step_rows.filter(force_id=force_id)
    steps = list(step_rows)
    statuses = list(StepStatus.objects.filter(step__in=steps))
    names = lpa_names(force_id)
    codes = sorted({s.lpa_code for s in statuses} | set(names))
    return StepGrid(
        steps=steps,
        lpas=[(c, names.get(c, c)) for c in codes],
        cells={(s.step_id, s.lpa_code): s for s in statuses},
    )


def operations(force_id: int | None = None) -> list[Operation]:
    """The register, newest first (one force's with ``force_id``, and the operations of no force;
    every force's without); each operation carries ``lpa_name`` (the area's name, or its code)."""
    names = lpa_names(force_id)
    rows = Operation.objects.select_related("force", "analysis_run").prefetch_related("hotspots")
    if force_id is not None:
        rows = rows.filter(Q(force_id=force_id) | Q(force__isnull=True))
    ops = list(rows)
    for op in ops:
        op.lpa_name = names.get(op.lpa_code, op.lpa_code)  # type: ignore[attr-defined]
    return ops
