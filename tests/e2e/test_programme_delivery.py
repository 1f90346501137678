"""Delivery pages in a real browser: command drills from the force to an officer; an officer sees their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rasure_web import clock
from tests.e2e.conftest import login
from tests.e2e.test_accessibility import assert_accessible
from tests.programme_data import delivery_scenario

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def _set_password(user: Any, role: str) -> None:
    user.set_password(f"rasure-demo-{role}")
    user.save()


def test_command_drills_from_force_to_an_officer(page: Any, live_server: Any) -> None:
    # The browser runs on the real clock, so the visits are placed in the weeks before today.
    s = delivery_scenario(today=clock.local_today())
    _set_password(s["command"], "supervisor")
    login(page, live_server.url, "supervisor", username=s["command"].username)
    page.goto(f"{live_server.url}/dashboard/")
    page.get_by_role("link", name="Delivery", exact=True).click()
    page.get_by_role("heading", name="Patrol delivery: whole force").wait_for()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / "delivery-force.png"), full_page=True)
    assert_accessible(page, "delivery: whole force")
    page.locator("table").first.get_by_role("link").first.click()
    page.get_by_role("heading", name="By team").wait_for()
    page.locator("table").first.get_by_role("link").first.click()
    page.get_by_role("heading", name="Officers").wait_for()
    page.locator("table").first.get_by_role("link").first.click()
    page.get_by_role("heading", name="Week by week").wait_for()
    assert page.get_by_role("link", name="Download for a development review (CSV)").count() == 1
    page.screenshot(path=str(SHOTS / "delivery-officer.png"), full_page=True)
    assert_accessible(page, "delivery: an officer")


def test_sergeant_sees_the_support_list_of_their_team(page: Any, live_server: Any) -> None:
    s = delivery_scenario(today=clock.local_today())
    _set_password(s["sgt"], "supervisor")
    login(page, live_server.url, "supervisor", username=s["sgt"].username)
    page.goto(f"{live_server.url}/programme/delivery/team/{s['team_a']}/")
    page.get_by_role("heading", name="Who may need support").wait_for()
    page.screenshot(path=str(SHOTS / "delivery-team.png"), full_page=True)
    assert_accessible(page, "delivery: a team with its support list")


def test_officer_sees_only_their_own_summary(page: Any, live_server: Any) -> None:
    from django.contrib.auth.models import Group

    s = delivery_scenario(today=clock.local_today())
    me = s["a"][0]
    me.groups.add(Group.objects.get_or_create(name="officer")[0])
    _set_password(me, "officer")
    login(page, live_server.url, "officer", username=me.username)
    page.goto(f"{live_server.url}/patrol/")  # from the patrol app's footer
    page.get_by_role("link", name="Your patrols").click()
    page.get_by_role("heading", name="Your patrols").wait_for()
    assert page.get_by_role("link", name="Download for a development review (CSV)").count() == 1
    assert_accessible(page, "delivery: an officer's own summary")
    # a team page (colleagues' names) leads back to the officer's own summary; a colleague's is refused
    page.goto(f"{live_server.url}/programme/delivery/team/{s['team_a']}/")
    page.get_by_role("heading", name="Your patrols").wait_for()
    response = page.goto(f"{live_server.url}/programme/delivery/officer/{s['a'][1].pk}/")
    assert response is not None and response.status == 403
