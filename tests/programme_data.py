"""Patrol visits for the programme tests: two teams of synthetic officers with known figures."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import Group, User

from rasure_web.accounts.models import Profile, Team
from rasure_web.patrols.models import Visit
from tests.city import TEST_NOW, store_city_with_hotspots

TODAY = TEST_NOW.date()


def visit(
    officer: Any, hs: Any, day: date, minutes: float, arm: str = "", spoken: int = 0, status: str = "ended"
) -> None:
    """One patrol visit on ``day`` (noon) with ``minutes`` of dose."""
    at = datetime(day.year, day.month, day.day, 12, tzinfo=TEST_NOW.tzinfo)
    Visit.objects.create(
        visit_id=uuid.uuid4(),
        start_client_id=uuid.uuid4(),
        officer=officer,
        hotspot=hs,
        trial_day=day,
        arm=arm,
        started_at=at,
        start_received_at=at,
        dose_minutes=minutes,
        spoken_to=spoken,
        status=status,
    )


def make_role(user: User, role: str) -> User:
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def delivery_scenario(today: date = TODAY) -> dict[str, Any]:
    """Visits in the 8 weeks up to ``today`` for two teams' officers, a team sergeant and a command supervisor."""
    run = store_city_with_hotspots()
    hs = list(run.hotspots.order_by("period", "rank")[:3])
    profiles = list(Profile.objects.filter(user__username__startswith="pc").select_related("user", "team"))
    by_team: dict[int, list[Profile]] = {}
    for p in profiles:
        by_team.setdefault(p.team_id, []).append(p)
    team_a, team_b = [t for t, ps in sorted(by_team.items()) if len(ps) >= 3][:2]
    a = [p.user for p in by_team[team_a]]
    b = [p.user for p in by_team[team_b]]
    # team A: a[0] doses well every week; a[1] only long ago (needs support); a[2] never patrols
    for w in range(8):
        visit(a[0], hs[0], today - timedelta(weeks=w), 16.0, arm="treatment", spoken=2)
    visit(a[1], hs[1], today - timedelta(weeks=6), 20.0, arm="control")
    visit(a[1], hs[1], today - timedelta(days=2), 4.0)  # recent but short of the 15-minute target
    visit(b[0], hs[2], today - timedelta(days=1), 15.0)
    visit(b[0], hs[2], today - timedelta(weeks=9), 15.0)  # before the 8 weeks: not counted
    sergeant_a = make_role(User.objects.create_user("sgt_a"), "supervisor")
    Profile.objects.create(user=sergeant_a, team_id=team_a, force=Team.objects.get(pk=team_a).force)
    command = make_role(
        User.objects.create_user("supt"), "supervisor"
    )  # a supervisor without a team: command
    return {"a": a, "b": b, "team_a": team_a, "team_b": team_b, "sgt": sergeant_a, "command": command}
