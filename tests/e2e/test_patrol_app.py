"""The patrol app in real headless Chromium at a phone viewport (390 × 844).

An officer signs in, reaches directions in three taps (open → hot spot → Directions), starts a visit,
walks into the geofence along a simulated route, loses the connection mid-visit and gets it back, sends
the form, and the server holds exactly one visit with the right dwell and mode "foot". A second officer
drives through and gets "drive_through".

Time: Playwright's ``page.clock`` drives the page's clock (Date, setInterval) — each step moves the
simulated position with ``context.set_geolocation`` and runs the clock 15 s, which fires the app's
15-second sampling timer. Chromium stamps positions with the real time, so with the server setting
``RASURE_PATROL_SIMULATION`` (tests only; never in production) the app uses the page clock as the fix
time. The dose on the server is still computed from those fix times only; the screen timer is a display.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import shapely

from tests.e2e.patrol_steps import (
    SHOTS,
    drained,
    finish,
    geo,
    open_phone,
    phone_login,
    server_pings,
    small_targets,
    step,
    target,
    three_taps_and_start,
)
from tests.web.test_patrol_routes import crossing_dwell_minutes, drive_route, make_user, walk_route

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_walk_in_lose_signal_send_form_one_foot_visit(
    phone: Any, live_server: Any, patrol_world: dict[str, Any]
) -> None:
    from rasure_web.patrols.models import Ping, Visit

    SHOTS.mkdir(parents=True, exist_ok=True)
    officer = patrol_world["officer"]
    mate = make_user("pc-kim")
    mate.first_name, mate.last_name = "Kim", "Lee"
    mate.save()
    hs, route = target(officer, lambda h: walk_route(h.easting, h.northing, dwell_s=900))
    page = phone
    context = open_phone(page, live_server, route[0])
    phone_login(page, live_server.url, "officer", "rasure-demo-officer")
    three_taps_and_start(page, context, live_server.url, hs, route, shot="patrol")
    page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))
    assert small_targets(page) == []
    fence = shapely.from_geojson(hs.geofence_geojson)
    offline_from, offline_to = len(route) // 2, len(route) // 2 + 8
    shot_inside = False
    for k in range(1, len(route)):
        if k == offline_from:
            context.set_offline(True)
        offline = offline_from <= k <= offline_to
        step(page, context, route[k], k + 1, online=not offline)
        if k == offline_to:
            waiting = int(page.locator("#sync").get_attribute("data-waiting") or 0)
            assert waiting >= 8, "records made offline wait in the outbox"
            assert "Offline" in page.locator("#sync-text").inner_text()
            page.screenshot(path=str(SHOTS / "patrol-4-visit-offline.png"))
            assert Ping.objects.count() == offline_from  # nothing got through while offline
            context.set_offline(False)
            drained(page)
        if not shot_inside and fence.contains(shapely.Point(route[k].x, route[k].y)) and k > 20:
            assert page.locator("#where").inner_text().startswith("● Inside")
            page.screenshot(path=str(SHOTS / "patrol-3-visit-inside.png"))
            shot_inside = True
    assert shot_inside
    finish(page, shot="patrol", spoken=2, searched=1, colleague="Kim")
    # The server holds exactly one visit, with every ping once, the right dwell and "foot".
    assert Visit.objects.count() == 1
    visit = Visit.objects.get()
    assert visit.status == "ended" and visit.mode == "foot"
    assert Ping.objects.count() == len(route) == visit.n_pings
    expected = crossing_dwell_minutes(server_pings(visit), fence)
    assert abs(visit.dose_minutes - expected) < 0.5, (visit.dose_minutes, expected)
    assert visit.dose_minutes >= 12
    assert (visit.spoken_to, visit.searched, visit.arrested) == (2, 1, 0)
    assert list(visit.crewed_with.values_list("username", flat=True)) == ["pc-kim"]
    shown = page.locator("#result").inner_text()
    minutes = float(re.search(r"([\d.]+) min inside", shown).group(1))  # type: ignore[union-attr]
    assert abs(minutes - visit.dose_minutes) <= 0.051 and "on foot · target met" in shown
    # After the visit: the next nearest hot spots, each with its directions link.
    page.locator("li.next").first.wait_for()
    assert page.locator("li.next a.directions").count() >= 1


def test_drive_through(phone: Any, live_server: Any, patrol_world: dict[str, Any]) -> None:
    from rasure_web.patrols.models import Ping, Visit

    SHOTS.mkdir(parents=True, exist_ok=True)
    officer = patrol_world["officer"]
    hs, route = target(officer, lambda h: drive_route(h.easting, h.northing, steps=4))
    page = phone
    context = open_phone(page, live_server, route[0])
    phone_login(page, live_server.url, "officer", "rasure-demo-officer")
    three_taps_and_start(page, context, live_server.url, hs, route, shot="")
    page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))
    for k in range(1, len(route)):
        step(page, context, route[k], k + 1)
    finish(page, shot="drive", spoken=0, searched=0, colleague=None)
    visit = Visit.objects.get()
    assert visit.mode == "drive_through" and visit.dose_minutes < 1
    assert Ping.objects.count() == len(route)
    assert "drive-through" in page.locator("#result").inner_text()


def test_app_opens_without_signal_from_what_the_phone_saved(
    phone: Any, live_server: Any, patrol_world: dict[str, Any]
) -> None:
    """The service worker keeps the app shell, today's list and the briefings: the app opens offline."""
    officer = patrol_world["officer"]
    hs, route = target(officer, lambda h: walk_route(h.easting, h.northing))
    page = phone
    context = page.context
    context.grant_permissions(["geolocation"], origin=live_server.url)
    geo(context, route[0])
    phone_login(page, live_server.url, "officer", "rasure-demo-officer")
    page.locator("ol.spots > li").first.wait_for()
    # Once the service worker has taken over, the list and the briefings of the listed hot spots are
    # fetched again through it and saved (the app does this in the background).
    saved = "caches.open('rasure-data-v1').then((c) => c.keys()).then((k) => k.map((r) => r.url))"
    for _ in range(200):
        urls = page.evaluate(saved)
        if any(u.endswith("/nearest") for u in urls) and any(
            f"/hotspots/{hs.pk}/briefing" in u for u in urls
        ):
            break
        page.wait_for_timeout(200)
    else:
        raise AssertionError(f"the list and briefing were not saved for offline use: {urls}")
    context.set_offline(True)
    page.reload()
    first = page.locator("ol.spots > li").first
    first.wait_for()
    assert "No signal" in page.locator("#screen").inner_text()
    assert hs.name in first.inner_text()
    first.get_by_role("button").click()
    page.get_by_role("heading", name="Why it is a hot spot").wait_for()
    assert page.get_by_role("link", name=re.compile("^Directions to")).is_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "patrol-7-offline-briefing.png"))
    context.set_offline(False)


def _wait_saved(page: Any, hs: Any) -> None:
    """Wait until the service worker has saved today's list and the briefing of ``hs`` on the phone."""
    saved = "caches.open('rasure-data-v1').then((c) => c.keys()).then((k) => k.map((r) => r.url))"
    for _ in range(200):
        urls = page.evaluate(saved)
        if any(u.endswith("/nearest") for u in urls) and any(
            f"/hotspots/{hs.pk}/briefing" in u for u in urls
        ):
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"the list and briefing were not saved for offline use: {urls}")


def _send_empty_form(page: Any) -> None:
    page.get_by_role("button", name="End visit").click()
    page.get_by_role("spinbutton", name="People spoken to").wait_for()
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator("#result").wait_for()


def test_visit_recorded_after_reopening_offline_lists_the_saved_hot_spots(
    phone: Any, live_server: Any, patrol_world: dict[str, Any]
) -> None:
    """The app is reopened without signal mid-visit and again on "Visit recorded": that screen lists the
    other saved hot spots (never "No other hot spots to patrol right now"), and the server's list once the
    signal is back."""
    officer = patrol_world["officer"]
    hs, route = target(officer, lambda h: walk_route(h.easting, h.northing))
    page = phone
    context = page.context
    context.grant_permissions(["geolocation"], origin=live_server.url)
    geo(context, route[0])
    phone_login(page, live_server.url, "officer", "rasure-demo-officer")
    page.locator("ol.spots > li").first.wait_for()
    listed = page.locator("ol.spots > li").count()
    assert listed >= 3
    _wait_saved(page, hs)
    page.locator("ol.spots > li").first.get_by_role("button").click()
    page.get_by_role("button", name="Start visit").click()
    page.wait_for_function("() => Number(document.querySelector('#ping-count')?.textContent) >= 1")
    drained(page)
    context.set_offline(True)
    page.reload()
    page.locator("#ping-count").wait_for()  # the visit goes on from what the phone saved
    _send_empty_form(page)
    for reopened in (False, True):
        if reopened:  # reopened again on "Visit recorded", still without signal
            page.reload()
            page.locator("#result").wait_for()
        assert page.get_by_role("heading", name=re.compile("^Thank you")).is_visible()
        assert "Saved on this phone" in page.locator("#result").inner_text()
        page.locator("li.next").first.wait_for()
        screen = page.locator("#screen").inner_text()
        assert "No other hot spots" not in screen
        assert "from the list saved on this phone" in screen
        assert page.locator("li.next").count() == min(3, listed - 1)
        assert hs.name not in page.locator("ol.spots").inner_text()
    context.set_offline(False)
    page.wait_for_function(
        "() => !document.querySelector('#result').textContent.includes('Saved on this phone')"
    )
    page.wait_for_function(
        "() => !document.querySelector('#screen').textContent.includes('saved on this phone')"
    )
    page.locator("li.next").first.wait_for()
    assert "No other hot spots" not in page.locator("#screen").inner_text()
    assert page.locator("li.next").count() == min(3, listed - 1)


@pytest.mark.parametrize("location", ["one-fix", "blocked"])
def test_a_visit_whose_positions_cannot_be_used_says_why(
    phone: Any, live_server: Any, patrol_world: dict[str, Any], location: str
) -> None:
    """One position only (or none: location blocked) — the officer reads why no time counted, in plain words."""
    from rasure_web.analysis.models import HotSpot
    from rasure_web.patrols.models import Visit
    from rasure_web.patrols.selectors import hotspots_nearest

    officer = patrol_world["officer"]
    hs = HotSpot.objects.get(
        pk=hotspots_nearest(user=officer, lat=51.43, lon=-1.13, limit=1).hotspots[0]["id"]
    )
    page = phone
    context = page.context
    context.grant_permissions(["geolocation"], origin=live_server.url)
    context.set_geolocation({"latitude": hs.lat, "longitude": hs.lon, "accuracy": 6})
    phone_login(page, live_server.url, "officer", "rasure-demo-officer")
    first = page.locator("ol.spots > li").first
    first.wait_for()
    assert hs.name in first.inner_text()
    first.get_by_role("button").click()
    if location == "blocked":
        context.clear_permissions()
    page.get_by_role("button", name="Start visit").click()
    page.locator("#ping-count").wait_for()
    if location == "one-fix":
        page.wait_for_function("() => Number(document.querySelector('#ping-count').textContent) === 1")
    drained(page)
    _send_empty_form(page)
    page.wait_for_function(
        "() => document.querySelector('#result').textContent.includes('No time inside counted')"
    )
    shown = page.locator("#result").inner_text()
    visit = Visit.objects.get()
    assert visit.dose_minutes == 0 and visit.mode == ("unknown" if location == "one-fix" else "none")
    assert "min inside" not in shown and "mode unknown" not in shown
    reason = "only one position" if location == "one-fix" else "sent no positions"
    assert reason in shown and "keep the app open on screen, with location turned on" in shown
