"""Delivery from command to officer (S1, S2): force → local policing area → team → officer, week by week.

Counted from patrol visits, grouped in SQL by officer, trial day and arm (one row per officer-day, not
per visit), then folded into weeks and levels here. An officer belongs to the team (and through it the
local policing area) of their profile.

Figures per node and week:

- ``visits``: visits started; ``forms``: visits ended with the form sent; ``spoken_to``: people spoken to.
- ``minutes``: minutes credited inside hot spots (GPS dose computed on the server).
- ``at_target``: visits whose dose reached the target (the running trial's, else 15 minutes).
- ``treated_minutes`` and ``control_visits``: minutes on treatment days and visits on control days.
- ``avls_tasked`` and ``avls_untasked``: radio / vehicle (AVLS) minutes in hot spots during a tasked
  visit of the same officer at the same hot spot, and outside one (rule: :mod:`rasure_web.patrols.presence`).
  An AVLS identity that matches no officer counts in the whole-force figures only
  (``Delivery.unmatched_untasked``).
- ``planned_minutes`` (force and LPA only; hot spots belong to areas, not teams): treated hot-spot days
  of committed trials in the area that week × the target dose.

Who sees what (see docs/programme.md): analysts, administrators and supervisors without a team (command)
see every level; a supervisor with a team sees the force and area totals and their own team's officers,
and only they see their team's support list; an officer sees only their own summary.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Q, Sum

from rasure_web.accounts.models import Profile, Team
from rasure_web.accounts.roles import ADMIN, ANALYST, OFFICER, SUPERVISOR, has_role
from rasure_web.patrols.models import Visit
from rasure_web.patrols.presence import presence_split
from rasure_web.programme.services import lpa_names, week_of
from rasure_web.trials.models import ScheduleEntry, Trial

FIGURES = (
    "visits",
    "forms",
    "spoken_to",
    "minutes",
    "at_target",
    "treated_minutes",
    "control_visits",
    "avls_tasked",
    "avls_untasked",
)
#: Weeks looked back for the support list: an officer with no visit at target dose in these weeks.
SUPPORT_WEEKS = 4


@dataclass
class Tally:
    visits: int = 0
    forms: int = 0
    spoken_to: int = 0
    minutes: float = 0.0
    at_target: int = 0
    treated_minutes: float = 0.0
    control_visits: int = 0
    avls_tasked: float = 0.0
    avls_untasked: float = 0.0
    planned_minutes: float | None = None

    def add(self, other: Tally) -> None:
        for name in FIGURES:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def share_of_plan(self) -> float | None:
        if not self.planned_minutes:
            return None
        return self.treated_minutes / self.planned_minutes


@dataclass
class Node:
    """One row at a level: an area, a team or an officer, with its total and its weeks."""

    key: str
    label: str
    total: Tally = field(default_factory=Tally)
    weeks: dict[dt.date, Tally] = field(default_factory=dict)

    def week(self, monday: dt.date) -> Tally:
        return self.weeks.setdefault(monday, Tally())

    def series(self, mondays: list[dt.date]) -> list[tuple[dt.date, Tally]]:
        return [(m, self.weeks.get(m, Tally())) for m in mondays]


@dataclass
class Delivery:
    today: dt.date
    mondays: list[dt.date]
    target_minutes: float
    force: Node
    lpas: dict[str, Node]
    teams: dict[str, Node]
    officers: dict[int, Node]
    officer_team: dict[int, str]
    team_lpa: dict[str, str]
    under_dosed_today: list[dict[str, Any]]
    under_dosed_week: int
    unmatched_untasked: float = 0.0

    def teams_in(self, lpa: str) -> list[Node]:
        return sorted(
            (n for k, n in self.teams.items() if self.team_lpa.get(k, "") == lpa), key=lambda n: n.label
        )

    def officers_in(self, team: str) -> list[Node]:
        return sorted(
            (n for k, n in self.officers.items() if self.officer_team.get(k, "") == team),
            key=lambda n: n.label,
        )

    def support_list(self, team: str) -> list[Node]:
        """Members of ``team`` with no visit at target dose in the last ``SUPPORT_WEEKS`` weeks (none at all included)."""
        recent = self.mondays[-SUPPORT_WEEKS:]
        return [
            n for n in self.officers_in(team) if sum(n.weeks.get(m, Tally()).at_target for m in recent) == 0
        ]


def _label(first: str, last: str, username: str, collar: str) -> str:
    name = f"{first} {last}".strip() or username
    return f"{name} ({collar})" if collar and collar not in name else name


def _member_node(oid: int, p: dict[str, Any]) -> Node:
    """An officer's row from their profile's values."""
    label = _label(p["user__first_name"], p["user__last_name"], p["user__username"], p["collar_number"])
    return Node(str(oid), label)


def delivery(
    *, today: dt.date, target_minutes: float, weeks: int = 8, force_id: int | None = None
) -> Delivery:
    """Everything the delivery pages show for the ``weeks`` weeks up to and including ``today``'s week,
    for one force's teams, officers and hot spots (``force_id``; None: every force, for the command line)."""
    if weeks < 1:
        raise ValueError("weeks must be 1 or more")
    first_monday = week_of(today) - dt.timedelta(weeks=weeks - 1)
    mondays = [first_monday + dt.timedelta(weeks=i) for i in range(weeks)]
    names = lpa_names(force_id)
    teams = {
        str(t.pk): t for t in (Team.objects.filter(force_id=force_id) if force_id else Team.objects.all())
    }
    team_lpa = {key: t.lpa_code for key, t in teams.items()}
    profiles = {
        p["user_id"]: p
        for p in Profile.objects.values(
            "user_id",
            "team_id",
            "collar_number",
            "user__first_name",
            "user__last_name",
            "user__username",
            "user__is_active",
        )
    }
    visits = Visit.objects.filter(hotspot__run__tenant_id=force_id) if force_id else Visit.objects.all()
    per_day = (
        visits.filter(trial_day__gte=first_monday, trial_day__lte=today)
        .values("officer_id", "trial_day", "arm")
        .annotate(
            visits=Count("id"),
            forms=Count("id", filter=Q(status=Visit.Status.ENDED)),
            spoken_to=Sum("spoken_to", default=0),
            minutes=Sum("dose_minutes", default=0.0),
            at_target=Count("id", filter=Q(dose_minutes__gte=target_minutes)),
        )
    )
    force = Node("", "Whole force")
    lpas: dict[str, Node] = {}
    team_nodes: dict[str, Node] = {}
    officers: dict[int, Node] = {}
    officer_team: dict[int, str] = {}
    users = {
        u["id"]: u
        for u in get_user_model()
        .objects.filter(id__in={r["officer_id"] for r in per_day} - set(profiles))
        .values("id", "username", "first_name", "last_name")
    }
    for r in per_day:
        oid = r["officer_id"]
        p = profiles.get(oid)
        team = str((p or {}).get("team_id") or "")
        lpa = team_lpa.get(team, "")
        if oid not in officers:
            if p:
                officers[oid] = _member_node(oid, p)
            else:
                u = users.get(oid, {"first_name": "", "last_name": "", "username": str(oid)})
                officers[oid] = Node(str(oid), _label(u["first_name"], u["last_name"], u["username"], ""))
            officer_team[oid] = team
        t = Tally(
            visits=r["visits"],
            forms=r["forms"],
            spoken_to=r["spoken_to"] or 0,
            minutes=float(r["minutes"] or 0.0),
            at_target=r["at_target"],
            treated_minutes=float(r["minutes"] or 0.0) if r["arm"] == "treatment" else 0.0,
            control_visits=r["visits"] if r["arm"] == "control" else 0,
        )
        monday = week_of(r["trial_day"])
        lpa_node = lpas.setdefault(lpa, Node(lpa, names.get(lpa, lpa) or "No area (officer without a team)"))
        team_node = team_nodes.setdefault(team, Node(team, teams[team].name if team in teams else "No team"))
        for node in (force, lpa_node, team_node, officers[oid]):
            node.total.add(t)
            node.week(monday).add(t)
    unmatched = 0.0
    for pr in presence_split(first=first_monday, last=today, force_id=force_id):
        monday = week_of(pr.trial_day)
        t = Tally(avls_tasked=pr.tasked_minutes, avls_untasked=pr.untasked_minutes)
        if pr.user_id is None:
            unmatched += pr.untasked_minutes
            force.total.add(t)
            force.week(monday).add(t)
            continue
        oid = pr.user_id
        p = profiles.get(oid)
        team = str((p or {}).get("team_id") or "")
        lpa = team_lpa.get(team, "")
        if oid not in officers:
            officers[oid] = _member_node(oid, p) if p else Node(str(oid), pr.identity)
            officer_team[oid] = team
        lpa_node = lpas.setdefault(lpa, Node(lpa, names.get(lpa, lpa) or "No area (officer without a team)"))
        team_node = team_nodes.setdefault(team, Node(team, teams[team].name if team in teams else "No team"))
        for node in (force, lpa_node, team_node, officers[oid]):
            node.total.add(t)
            node.week(monday).add(t)
    # every active officer of a team is listed under it, patrols or not
    in_officer_role = set(get_user_model().objects.filter(groups__name=OFFICER).values_list("id", flat=True))
    for oid, p in profiles.items():
        team = str(p["team_id"] or "")
        if team and p["user__is_active"] and oid in in_officer_role and oid not in officers:
            officers[oid] = _member_node(oid, p)
            officer_team[oid] = team
            team_nodes.setdefault(team, Node(team, teams[team].name if team in teams else "No team"))
    # the plan: treated hot-spot days of committed trials, per area and week
    treated = (
        ScheduleEntry.objects.filter(
            trial__status=Trial.Status.COMMITTED,
            arm=ScheduleEntry.Arm.TREATMENT,
            trial_day__gte=first_monday,
            trial_day__lte=today,
        )
        .values("trial_day", lpa=F("hotspot__lpa_code"))
        .annotate(n=Count("id"))
    )
    force.total.planned_minutes = 0.0
    for row in treated:
        lpa = row["lpa"] or ""
        planned = row["n"] * target_minutes
        node = lpas.setdefault(lpa, Node(lpa, names.get(lpa, lpa) or "No area"))
        for n in (force, node):
            wk = n.week(week_of(row["trial_day"]))
            wk.planned_minutes = (wk.planned_minutes or 0.0) + planned
            n.total.planned_minutes = (n.total.planned_minutes or 0.0) + planned
    return Delivery(
        today=today,
        mondays=mondays,
        target_minutes=target_minutes,
        force=force,
        lpas=dict(sorted(lpas.items(), key=lambda kv: (kv[0] == "", kv[1].label))),
        teams=team_nodes,
        officers=officers,
        officer_team=officer_team,
        team_lpa=team_lpa,
        under_dosed_today=_under_dosed_today(today, target_minutes, force_id),
        under_dosed_week=_under_dosed_week(today, target_minutes, force_id),
        unmatched_untasked=unmatched,
    )


def _treated(first: dt.date, last: dt.date, force_id: int | None) -> Any:
    entries = ScheduleEntry.objects.filter(trial__tenant_id=force_id) if force_id else ScheduleEntry.objects
    return entries.filter(
        trial__status=Trial.Status.COMMITTED,
        arm=ScheduleEntry.Arm.TREATMENT,
        trial_day__gte=first,
        trial_day__lte=last,
    )


def _dosed(first: dt.date, last: dt.date, target_minutes: float) -> set[tuple[int, dt.date]]:
    return set(
        Visit.objects.filter(trial_day__gte=first, trial_day__lte=last, dose_minutes__gte=target_minutes)
        .values_list("hotspot_id", "trial_day")
        .distinct()
    )


def _under_dosed_today(today: dt.date, target_minutes: float, force_id: int | None) -> list[dict[str, Any]]:
    """Hot spots treated today with no visit at target dose yet."""
    dosed = {h for h, _ in _dosed(today, today, target_minutes)}
    rows = _treated(today, today, force_id).values(
        "hotspot_id", "hotspot__code", "hotspot__name", "hotspot__lpa_code"
    )
    return [r for r in rows.order_by("hotspot__code") if r["hotspot_id"] not in dosed]


def _under_dosed_week(today: dt.date, target_minutes: float, force_id: int | None) -> int:
    """Treated hot-spot days this week, up to today, with no visit at target dose."""
    monday = week_of(today)
    dosed = _dosed(monday, today, target_minutes)
    days = _treated(monday, today, force_id).values_list("hotspot_id", "trial_day")
    return sum(1 for key in days if key not in dosed)


# ------------------------------------------------------------------------------------------- who sees what


@dataclass(frozen=True)
class Viewer:
    """What a signed-in user may see of the delivery pages."""

    command: bool  # every level, every team's officers
    team: str  # the supervisor's own team's id ("" when none)
    officer_id: int | None  # an officer sees only themself

    def may_see_team(self, team: str) -> bool:
        return self.command or (bool(self.team) and team == self.team)

    def may_see_support_list(self, team: str) -> bool:
        return bool(self.team) and team == self.team


def viewer_for(user: Any) -> Viewer:
    """Analysts, administrators and supervisors without a team are command; refuses everyone else but officers."""
    team_id = Profile.objects.filter(user=user).values_list("team_id", flat=True).first()
    team = str(team_id) if team_id else ""
    if has_role(user, ANALYST, ADMIN):
        return Viewer(command=True, team="", officer_id=None)
    if has_role(user, SUPERVISOR):
        return Viewer(command=not team, team=team, officer_id=None)
    if has_role(user, OFFICER):
        return Viewer(command=False, team="", officer_id=user.pk)
    raise PermissionDenied("Patrol delivery is for officers, supervisors and analysts of the force.")
