"""Hot people in a real browser: an analyst with the intelligence permission gives a reason, reads the
list of the synthetic city's (invented) people and opens a person page; each view is logged once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.city import store_city_with_hotspots
from tests.e2e.conftest import login, make_user
from tests.e2e.test_accessibility import assert_accessible

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clock")]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_analyst_gives_a_reason_reads_the_list_and_opens_a_person(page: Any, live_server: Any) -> None:
    from django.contrib.auth.models import Permission

    from rasure_web.accounts.models import AccessLog

    store_city_with_hotspots()
    analyst = make_user("analyst")
    analyst.user_permissions.add(
        Permission.objects.get(content_type__app_label="people", codename="intelligence")
    )
    login(page, live_server.url, "analyst")
    page.get_by_role("heading", name="Serious violence overview").wait_for()
    page.get_by_role("link", name="People", exact=True).click()
    page.get_by_role("heading", name="Why are you opening the list of people?").wait_for()
    assert AccessLog.objects.filter(resource="people_list").count() == 0
    page.get_by_role("button", name="Tasking or briefing decision").click()
    page.get_by_role("heading", name="Offenders causing the most harm").wait_for()
    assert page.get_by_text("Synthetic people.").is_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "people-list.png"), full_page=True)
    assert_accessible(page, "people list")
    first = page.locator("table.people tbody a").first
    name = first.inner_text()
    first.click()
    page.get_by_role("heading", name="Lists this person is on").wait_for()
    assert name in page.locator("h1").inner_text()
    assert page.get_by_text("Synthetic person.").is_visible()
    page.get_by_text("How the score adds up, offence by offence").first.click()
    page.screenshot(path=str(SHOTS / "people-person.png"), full_page=True)
    assert_accessible(page, "person page")
    assert AccessLog.objects.filter(resource="people_list", username="analyst").count() == 1
    [row] = AccessLog.objects.filter(resource="person", username="analyst")
    assert row.detail.startswith("reason=tasking")
