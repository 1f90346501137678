"""Issue 15: training coverage per team and per specialist unit, and the force's peer-recognition
setting (off by default: no page shows colleagues' names in a ranking; on: a positively framed table)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from rasure_web.accounts.models import AccessLog, Force, Profile, Team
from rasure_web.programme.models import Course, ForceProgrammeSetting, TrainingRecord
from rasure_web.programme.services import training_picture
from tests.programme_data import TODAY, delivery_scenario, make_role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]  # today = 2026-11-18


def member(name: str, team: Team | None, role: str = "officer") -> User:
    u = User.objects.create_user(username=name, first_name="Synthetic", last_name=name.title())
    u.groups.add(Group.objects.get_or_create(name=role)[0])
    force = team.force if team else Force.objects.get(code="TST")
    Profile.objects.create(user=u, team=team, force=force)
    return u


def test_training_per_team_and_per_specialist_unit() -> None:
    force = Force.objects.create(code="TST", name="Test force")
    team = {
        code: Team.objects.create(
            force=force, code=code, name=f"Team {code}", kind=kind, specialist_unit=unit
        )
        for code, kind, unit in [
            ("NBH", "neighbourhood", ""),
            ("DOG1", "specialist", "dogs"),
            ("DOG2", "specialist", "dogs"),
            ("ARV", "specialist", "firearms"),
            ("SPX", "specialist", ""),
        ]
    }
    course = Course.objects.create(
        force=force, name="Hot-spot policing", kind="hot_spot_policing", refresher_months=12
    )
    attended = {
        "nbh1": date(2026, 6, 1),
        "dog1": date(2025, 6, 1),  # + 12 months is before 18 November 2026: refresher overdue
        "arv1": date(2026, 1, 10),
    }
    people = {
        "nbh1": team["NBH"],
        "nbh2": team["NBH"],
        "dog1": team["DOG1"],
        "dog2": team["DOG2"],
        "arv1": team["ARV"],
        "loner": None,
    }
    for name, t in people.items():
        u = member(name, t, role="supervisor" if name == "nbh2" else "officer")
        if name in attended:
            TrainingRecord.objects.create(course=course, user=u, attended_on=attended[name])
    pic = training_picture(today=TODAY)
    by_team = {r.name: (r.officers, r.trained, r.refreshers_overdue) for r in pic.by_team}
    assert by_team == {
        "Team NBH": (2, 1, 0),
        "Team DOG1": (1, 1, 1),
        "Team DOG2": (1, 0, 0),
        "Team ARV": (1, 1, 0),
        "Team SPX": (0, 0, 0),
    }
    nbh = next(r for r in pic.by_team if r.name == "Team NBH")
    assert nbh.coverage == 0.5 and "Neighbourhood" in nbh.detail
    by_unit = {r.name: (r.detail, r.officers, r.trained, r.refreshers_overdue) for r in pic.by_unit}
    assert by_unit == {
        "Dogs": ("2 teams", 2, 1, 1),
        "Firearms": ("1 team", 1, 1, 0),
        "Other specialist unit": ("1 team", 0, 0, 0),
    }
    # the officer without a team is in the area table only, as before
    assert sum(r.officers for r in pic.by_lpa) == 6
    c = Client()
    c.force_login(make_role(User.objects.create_user("insp"), "supervisor"))
    page = c.get("/programme/").content.decode()
    assert "By team" in page and "By specialist unit" in page and "Team DOG2" in page and "2 teams" in page


def names(users: list[User]) -> list[str]:
    return [f"{u.first_name} {u.last_name}".strip() or u.username for u in users]


def recognition_log() -> list[AccessLog]:
    return list(AccessLog.objects.filter(resource="peer_recognition"))


@pytest.fixture
def scenario() -> dict[str, Any]:
    s = delivery_scenario()
    s["force"] = Profile.objects.get(user=s["a"][0]).force
    assert s["force"] is not None and Profile.objects.get(user=s["b"][0]).force == s["force"]
    return s


def test_off_by_default_no_page_shows_colleagues_names_in_a_ranking(scenario: dict[str, Any]) -> None:
    s = scenario
    assert not ForceProgrammeSetting.objects.exists()
    c = Client()
    c.force_login(s["a"][1])
    others = names([s["a"][0], s["b"][0], s["a"][2]])
    page = c.get("/programme/recognition/").content.decode()
    assert "has not turned on the recognition table" in page
    own = c.get(f"/programme/delivery/officer/{s['a'][1].pk}/").content.decode()
    assert "Recognition" not in own
    for html in (page, own):
        assert not any(n in html for n in others)
    assert recognition_log() == []
    # turned off again after being on: the same
    ForceProgrammeSetting.objects.create(force=s["force"], peer_recognition=False)
    assert "has not turned on" in c.get("/programme/recognition/").content.decode()


def test_on_shows_a_positive_table_of_those_who_delivered(scenario: dict[str, Any]) -> None:
    s = scenario
    ForceProgrammeSetting.objects.create(force=s["force"], peer_recognition=True)
    c = Client()
    c.force_login(s["a"][1])  # an officer who has not delivered at target lately sees colleagues thanked
    own = c.get(f"/programme/delivery/officer/{s['a'][1].pk}/").content.decode()
    assert "Recognition: the patrols your colleagues delivered" in own
    page = c.get("/programme/recognition/").content.decode()
    top, second = names([s["a"][0], s["b"][0]])
    # a[0]: a 16-minute visit in each of the last 4 weeks; b[0]: one 15-minute visit yesterday
    assert "Thank you" in page and top in page and second in page
    assert page.index(top) < page.index(second)
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == 2
    # a[1] (a 4-minute visit) and a[2] (none) are not listed, and nothing is said about them
    assert not any(name in page for name in names([s["a"][1], s["a"][2]]))
    [row] = recognition_log()
    assert (row.username, row.object_ref, row.detail) == (
        s["a"][1].username,
        s["force"].code,
        "2 officer(s) named",
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("officer", 200),
        ("supervisor", 200),
        ("analyst", 200),
        ("admin", 200),
        ("partner", 403),
        ("anonymous", 302),
    ],
)
def test_recognition_page_access(scenario: dict[str, Any], who: str, status: int) -> None:
    ForceProgrammeSetting.objects.create(force=scenario["force"], peer_recognition=True)
    c = Client()
    if who != "anonymous":
        u = make_role(User.objects.create_user(f"t-{who}"), who)
        Profile.objects.create(user=u, force=scenario["force"])
        c.force_login(u)
    resp = c.get("/programme/recognition/")
    assert resp.status_code == status
    assert len(recognition_log()) == (1 if status == 200 else 0)


def test_another_forces_setting_does_not_turn_it_on(scenario: dict[str, Any]) -> None:
    other = Force.objects.create(code="OTH", name="Other force")
    ForceProgrammeSetting.objects.create(force=other, peer_recognition=True)
    outsider = make_role(User.objects.create_user("pc_other"), "officer")
    Profile.objects.create(user=outsider, force=other)
    c = Client()
    c.force_login(outsider)
    page = c.get("/programme/recognition/").content.decode()
    # on for the other force, whose officers have no visits: its table is empty, the demo force's names absent
    assert "No visits at the target dose yet" in page
    assert not any(n in page for n in names([scenario["a"][0], scenario["b"][0]]))
    c.force_login(scenario["a"][0])
    assert "has not turned on" in c.get("/programme/recognition/").content.decode()
