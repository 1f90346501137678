"""Delivery from command to officer (S1, S2): levels add up, and each person sees what they may."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from rasure_web.accounts.models import AccessLog, Team
from rasure_web.programme.delivery import delivery
from rasure_web.programme.services import week_of
from tests.city import TEST_NOW
from tests.programme_data import delivery_scenario, make_role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

TODAY = TEST_NOW.date()  # Wednesday 18 November 2026; the trial day at 10:00 is the same date


def test_levels_add_up_and_weeks_are_the_window() -> None:
    s = delivery_scenario()
    d = delivery(today=TODAY, target_minutes=15.0, weeks=8)
    assert d.mondays[0] == week_of(TODAY) - timedelta(weeks=7) == date(2026, 9, 28)
    assert d.mondays[-1] == date(2026, 11, 16)
    # 8 + 2 + 1 visits in the window (one of b[0]'s is 9 weeks old)
    assert d.force.total.visits == 11
    assert d.force.total.at_target == 8 + 1 + 1
    assert d.force.total.minutes == pytest.approx(8 * 16 + 20 + 4 + 15)
    assert d.force.total.spoken_to == 16
    assert d.force.total.control_visits == 1
    assert d.force.total.treated_minutes == pytest.approx(8 * 16)
    for level in (d.lpas, d.teams, d.officers):  # members without patrols add nothing
        assert sum(n.total.visits for n in level.values()) == 11
        assert sum(n.total.minutes for n in level.values()) == pytest.approx(d.force.total.minutes)
    for node in [d.force, *d.lpas.values(), *d.teams.values(), *d.officers.values()]:
        assert sum(t.visits for _, t in node.series(d.mondays)) == node.total.visits
    a0 = d.officers[s["a"][0].pk]
    assert [t.visits for _, t in a0.series(d.mondays)] == [1] * 8
    support = {n.key for n in d.support_list(str(s["team_a"]))}
    # a[1]'s one recent visit fell short of the target; a[2] did not patrol at all
    assert support == {str(s["a"][1].pk), str(s["a"][2].pk)}
    assert str(s["a"][2].pk) in {n.key for n in d.officers_in(str(s["team_a"]))}
    with pytest.raises(ValueError):
        delivery(today=TODAY, target_minutes=15.0, weeks=0)


def test_sergeant_sees_own_team_and_its_support_list_only() -> None:
    s = delivery_scenario()
    c = Client()
    c.force_login(s["sgt"])
    page = c.get(f"/programme/delivery/team/{s['team_a']}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Who may need support" in html and s["a"][1].username.removeprefix("pc") in html
    assert c.get(f"/programme/delivery/team/{s['team_b']}/").status_code == 403
    assert c.get(f"/programme/delivery/officer/{s['b'][0].pk}/").status_code == 403
    assert c.get(f"/programme/delivery/officer/{s['a'][0].pk}/").status_code == 200
    assert c.get("/programme/delivery/").status_code == 200  # area totals carry no names
    logged = AccessLog.objects.filter(username="sgt_a").values_list("resource", flat=True)
    assert {"team_delivery", "officer_delivery"} <= set(logged)


def test_command_drills_from_force_to_an_officer_without_support_lists() -> None:
    s = delivery_scenario()
    c = Client()
    c.force_login(s["command"])
    force = c.get("/programme/delivery/").content.decode()
    assert "By local policing area" in force
    team_b = Team.objects.get(pk=s["team_b"])
    area = c.get("/programme/delivery/area/", {"lpa": team_b.lpa_code}).content.decode()
    assert team_b.name in area
    team = c.get(f"/programme/delivery/team/{s['team_b']}/").content.decode()
    assert "Who may need support" not in team
    officer = c.get(f"/programme/delivery/officer/{s['b'][0].pk}/")
    assert officer.status_code == 200
    assert c.get("/programme/delivery/", {"weeks": "x"}).status_code == 400


def test_officer_sees_only_their_own_summary_and_can_export_it() -> None:
    s = delivery_scenario()
    me = make_role(s["a"][0], "officer")
    c = Client()
    c.force_login(me)
    assert c.get("/programme/me/").url == f"/programme/delivery/officer/{me.pk}/"
    assert c.get("/programme/delivery/").url == f"/programme/delivery/officer/{me.pk}/"
    page = c.get(f"/programme/delivery/officer/{me.pk}/").content.decode()
    assert "Your patrols" in page and "Who may need support" not in page
    assert c.get(f"/programme/delivery/officer/{s['a'][1].pk}/").status_code == 403
    # the team page (names of colleagues) leads an officer back to their own summary
    assert c.get(f"/programme/delivery/team/{s['team_a']}/").url == f"/programme/delivery/officer/{me.pk}/"
    export = c.get(f"/programme/delivery/officer/{me.pk}/pdr.csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert len(rows) == 8 and sum(int(r["visits"]) for r in rows) == 8
    assert sum(int(r["people_spoken_to"]) for r in rows) == 16
    assert AccessLog.objects.filter(
        username=me.username, action="export", resource="officer_delivery"
    ).exists()


def test_partner_is_refused() -> None:
    u = make_role(User.objects.create_user("council"), "partner")
    c = Client()
    c.force_login(u)
    assert c.get("/programme/delivery/").status_code == 403
