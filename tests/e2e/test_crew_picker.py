"""The crew picker at phone size: type a collar number, the colleague of the officer's force appears (and
one of another force with the same number does not), pick them, and the stored visit names them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.patrol_steps import open_phone, phone_login, step, target, three_taps_and_start
from tests.web.test_patrol_routes import drive_route, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def crew_world(settings: Any) -> dict[str, Any]:
    from rasure_web.accounts.models import Force, Profile, Team
    from tests.city import store_city_with_hotspots

    settings.RASURE_PATROL_SIMULATION = True
    from rasure_web.accounts.tenancy import resolve_force

    store_city_with_hotspots()
    alpha = resolve_force(None)  # the synthetic city's force: its hot spots are the officer's
    beta = Force.objects.create(code="SYNB", name="Synthetic Beta Police")
    team = Team.objects.create(
        force=alpha, code="NH1", name="Synthetic Neighbourhood 1", kind="neighbourhood"
    )
    officer = make_user("officer", password="rasure-demo-officer")
    officer.first_name, officer.last_name = "Alex", "Synthetic"
    officer.save()
    Profile.objects.create(user=officer, force=alpha, collar_number="1001", team=team)
    mate = make_user("syn-mate")
    mate.first_name, mate.last_name = "Robin", "Synthetic"
    mate.save()
    Profile.objects.create(user=mate, force=alpha, collar_number="4821", team=team)
    stranger = make_user("syn-stranger")
    stranger.first_name, stranger.last_name = "Casey", "Synthetic"
    stranger.save()
    Profile.objects.create(user=stranger, force=beta, collar_number="4821")
    return {"officer": officer, "mate": mate}


def test_pick_a_colleague_by_collar_number(phone: Any, live_server: Any, crew_world: dict[str, Any]) -> None:
    from rasure_web.patrols.models import Visit

    officer = crew_world["officer"]
    hs, route = target(officer, lambda h: drive_route(h.easting, h.northing, steps=4))
    page = phone
    context = open_phone(page, live_server, route[0])
    phone_login(page, live_server.url, "officer", "rasure-demo-officer")
    three_taps_and_start(page, context, live_server.url, hs, route, shot="")
    page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))
    for k in range(1, len(route)):
        step(page, context, route[k], k + 1)
    page.get_by_role("button", name="End visit").click()
    finder = page.get_by_label("Find a colleague")
    finder.wait_for()
    finder.press_sequentially("482")
    items = page.locator("#crew-list li")
    page.locator("#crew-list li label").first.wait_for()  # the list itself, not "Loading the colleague list…"
    assert items.count() == 1  # the same number in another force is not offered
    text = items.first.inner_text()
    assert "Robin Synthetic" in text and "collar 4821" in text and "Synthetic Neighbourhood 1" in text
    finder.fill("9999")
    assert page.locator("#crew-list li").count() == 0
    finder.fill("4821")
    page.locator("#crew-list input[type=checkbox]").first.check()
    assert "Robin Synthetic" in page.locator("#crew-chosen").inner_text()
    page.get_by_role("button", name="Send").click()
    # the result screen shows once the end record is in the outbox; then wait until it has been sent
    page.wait_for_function("() => document.querySelector('#result')?.textContent.includes('min inside')")
    page.wait_for_function("() => document.querySelector('#sync-text').textContent.includes('All sent')")
    visit = Visit.objects.get()
    assert visit.status == "ended"
    assert list(visit.crewed_with.values_list("username", flat=True)) == ["syn-mate"]
