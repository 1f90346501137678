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
from pathlib import Path
from typing import Any

import pytest
import shapely

from tests.web.test_officer_words import jargon_in
from tests.web.test_patrol_routes import Fix, crossing_dwell_minutes, drive_route, make_user, walk_route

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
STEP_MS = 15_000


@pytest.fixture
def patrol_world(settings: Any) -> dict[str, Any]:
    from tests.city import store_city_with_hotspots

    settings.RASURE_PATROL_SIMULATION = True
    run = store_city_with_hotspots()
    officer = make_user("officer", password="rasure-demo-officer")
    officer.first_name, officer.last_name = "Alex", "Morgan"
    officer.save()
    return {"run": run, "officer": officer}


def _target(officer: Any, route_for: Any) -> tuple[Any, list[Fix]]:
    """A hot spot on the list now that is the nearest one to the start of its own route."""
    from rasure_web.analysis.models import HotSpot
    from rasure_web.patrols.models import HotSpotBriefing
    from rasure_web.patrols.selectors import hotspots_nearest

    listed = hotspots_nearest(user=officer, lat=51.43, lon=-1.13, limit=50).hotspots
    for spot in listed:
        hs = HotSpot.objects.get(pk=spot["id"])
        route = route_for(hs)
        first = hotspots_nearest(user=officer, lat=route[0].lat, lon=route[0].lon, limit=1).hotspots
        if first and first[0]["id"] == hs.pk:
            HotSpotBriefing.objects.update_or_create(
                hotspot=hs,
                defaults={
                    "background": "Shops and a late bar. Groups gather near the bus shelter after school and on "
                    "Friday nights; two stabbings here last year.",
                    "tasks": "Be seen at the bus shelter at 15:30\nSpeak to the shop managers\n"
                    "Check the alley behind the parade",
                    "contact_name": "PCSO Sam Patel (neighbourhood team)",
                    "contact_details": "01632 960 123",
                },
            )
            return hs, route
    raise AssertionError("no listed hot spot is nearest to the start of its route")


def _login(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/patrol/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/patrol/"))


def _geo(context: Any, f: Fix) -> None:
    context.set_geolocation({"latitude": f.lat, "longitude": f.lon, "accuracy": 6})


def _small_targets(page: Any) -> list[str]:
    """Buttons, button-like links and form inputs smaller than 48 × 48 CSS px (inline text links excepted)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('button, a.btn, input:not([type=checkbox]), textarea')]
            .filter((el) => el.offsetParent !== null)
            .filter((el) => { const r = el.getBoundingClientRect(); return r.height < 48 || r.width < 48; })
            .map((el) => el.outerHTML.slice(0, 80))"""
    )


def _pings_shown(page: Any) -> int:
    return int(page.locator("#ping-count").inner_text())


def _step(page: Any, context: Any, f: Fix, expected_pings: int, *, online: bool = True) -> None:
    _geo(context, f)
    page.clock.run_for(STEP_MS)
    page.wait_for_function(
        f"() => Number(document.querySelector('#ping-count')?.textContent) >= {expected_pings}"
    )
    if online:
        # Let the send finish in real time before the page clock jumps again: a 15 s jump would fire
        # the request's own 15 s timeout while it is still on the wire.
        _drained(page)


def _drained(page: Any) -> None:
    page.wait_for_function("() => document.querySelector('#sync').dataset.waiting === '0'")


def _three_taps_and_start(page: Any, context: Any, base: str, hs: Any, route: list[Fix], shot: str) -> None:
    from django.contrib.auth.models import User

    assert User.objects.filter(username="officer").exists()
    # Tap 1: open the app — today's hot spots, nearest first.
    first = page.locator("ol.spots > li").first
    first.wait_for()
    assert hs.name in first.inner_text()
    assert re.search(r"\d+ m · \d+ min walk", first.inner_text())
    assert _small_targets(page) == []
    if shot:
        page.screenshot(path=str(SHOTS / f"{shot}-1-list.png"))
    # Tap 2: the briefing.
    first.get_by_role("button").click()
    page.get_by_role("heading", name="Why it is a hot spot").wait_for()
    assert hs.officer_facts[0] in page.locator("ul.facts").first.inner_text()
    # No jargon outside "Details: the figures" (docs/style-guide.md), where the analyst's facts are.
    outside = page.evaluate(
        "() => { const m = document.querySelector('#screen').cloneNode(true);"
        " m.querySelectorAll('details').forEach((d) => d.remove()); return m.innerText; }"
    )
    assert jargon_in(outside) == [], outside
    page.get_by_text("Details: the figures").click()
    assert hs.facts[0] in page.locator("details.stats").inner_text()
    assert "Speak to the shop managers" in page.locator("ol.tasks").inner_text()
    assert "PCSO Sam Patel" in page.locator(".contact").inner_text()
    assert _small_targets(page) == []
    if shot:
        page.screenshot(path=str(SHOTS / f"{shot}-2-briefing.png"))
    # Tap 3: directions open the maps app (here: the web maps link, in a new tab).
    directions = page.get_by_role("link", name=re.compile("^Directions to"))
    href = directions.get_attribute("href")
    assert href and f"destination={hs.lat:.6f},{hs.lon:.6f}" in href
    with page.expect_popup() as popup:
        directions.click()
    assert "google.com/maps/dir/" in popup.value.url
    popup.value.close()
    # Start the visit (the first position is taken at once).
    page.get_by_role("button", name="Start visit").click()
    page.locator("#ping-count").wait_for()
    page.wait_for_function("() => Number(document.querySelector('#ping-count').textContent) >= 1")
    _drained(page)


def _finish(page: Any, *, shot: str, spoken: int, searched: int, colleague: str | None) -> None:
    page.get_by_role("button", name="End visit").click()
    page.get_by_role("spinbutton", name="People spoken to").wait_for()
    page.get_by_role("spinbutton", name="People spoken to").fill("-1")
    page.get_by_role("button", name="Send").click()
    assert page.locator("#spoken_to-err").inner_text() == "Enter a whole number, 0 or more."
    page.get_by_role("spinbutton", name="People spoken to").fill(str(spoken))
    for _ in range(searched):
        page.get_by_role("button", name="One more: People searched").click()
    if colleague:
        page.get_by_label("Find a colleague").fill(colleague)
        page.locator("#crew-list input[type=checkbox]").first.check()
    page.get_by_label("Note (optional)").fill("Spoke to shop staff; quiet.")
    assert _small_targets(page) == []
    if shot:
        page.screenshot(path=str(SHOTS / f"{shot}-5-form.png"), full_page=True)
    page.get_by_role("button", name="Send").click()
    page.locator("#result").wait_for()
    page.wait_for_function("() => document.querySelector('#result')?.textContent.includes('min inside')")
    page.wait_for_function("() => document.querySelector('#sync-text').textContent.includes('All sent')")
    if shot:
        page.screenshot(path=str(SHOTS / f"{shot}-6-done.png"), full_page=True)


def _server_pings(visit: Any) -> list[Fix]:
    from rasure_web.patrols.models import Ping

    rows = list(Ping.objects.filter(visit_id=visit.visit_id).order_by("fix_time"))
    t0 = rows[0].fix_time
    return [Fix((p.fix_time - t0).total_seconds(), p.x, p.y, p.lon, p.lat) for p in rows]


def _open_phone(phone: Any, live_server: Any, start: Fix) -> Any:
    context = phone.context
    context.grant_permissions(["geolocation"], origin=live_server.url)
    context.route(
        re.compile(r"^https://(www\.google\.com|maps\.apple\.com)/"),
        lambda r: r.fulfill(body="maps", content_type="text/plain"),
    )
    _geo(context, start)
    phone.clock.install(time=datetime.now(UTC))
    return context


def test_walk_in_lose_signal_send_form_one_foot_visit(
    phone: Any, live_server: Any, patrol_world: dict[str, Any]
) -> None:
    from rasure_web.patrols.models import Ping, Visit

    SHOTS.mkdir(parents=True, exist_ok=True)
    officer = patrol_world["officer"]
    mate = make_user("pc-kim")
    mate.first_name, mate.last_name = "Kim", "Lee"
    mate.save()
    hs, route = _target(officer, lambda h: walk_route(h.easting, h.northing, dwell_s=900))
    page = phone
    context = _open_phone(page, live_server, route[0])
    _login(page, live_server.url, "officer", "rasure-demo-officer")
    _three_taps_and_start(page, context, live_server.url, hs, route, shot="patrol")
    page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))
    assert _small_targets(page) == []
    fence = shapely.from_geojson(hs.geofence_geojson)
    offline_from, offline_to = len(route) // 2, len(route) // 2 + 8
    shot_inside = False
    for k in range(1, len(route)):
        if k == offline_from:
            context.set_offline(True)
        offline = offline_from <= k <= offline_to
        _step(page, context, route[k], k + 1, online=not offline)
        if k == offline_to:
            waiting = int(page.locator("#sync").get_attribute("data-waiting") or 0)
            assert waiting >= 8, "records made offline wait in the outbox"
            assert "Offline" in page.locator("#sync-text").inner_text()
            page.screenshot(path=str(SHOTS / "patrol-4-visit-offline.png"))
            assert Ping.objects.count() == offline_from  # nothing got through while offline
            context.set_offline(False)
            _drained(page)
        if not shot_inside and fence.contains(shapely.Point(route[k].x, route[k].y)) and k > 20:
            assert page.locator("#where").inner_text().startswith("● Inside")
            page.screenshot(path=str(SHOTS / "patrol-3-visit-inside.png"))
            shot_inside = True
    assert shot_inside
    _finish(page, shot="patrol", spoken=2, searched=1, colleague="Kim")
    # The server holds exactly one visit, with every ping once, the right dwell and "foot".
    assert Visit.objects.count() == 1
    visit = Visit.objects.get()
    assert visit.status == "ended" and visit.mode == "foot"
    assert Ping.objects.count() == len(route) == visit.n_pings
    expected = crossing_dwell_minutes(_server_pings(visit), fence)
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
    hs, route = _target(officer, lambda h: drive_route(h.easting, h.northing, steps=4))
    page = phone
    context = _open_phone(page, live_server, route[0])
    _login(page, live_server.url, "officer", "rasure-demo-officer")
    _three_taps_and_start(page, context, live_server.url, hs, route, shot="")
    page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))
    for k in range(1, len(route)):
        _step(page, context, route[k], k + 1)
    _finish(page, shot="drive", spoken=0, searched=0, colleague=None)
    visit = Visit.objects.get()
    assert visit.mode == "drive_through" and visit.dose_minutes < 1
    assert Ping.objects.count() == len(route)
    assert "drive-through" in page.locator("#result").inner_text()


def test_app_opens_without_signal_from_what_the_phone_saved(
    phone: Any, live_server: Any, patrol_world: dict[str, Any]
) -> None:
    """The service worker keeps the app shell, today's list and the briefings: the app opens offline."""
    officer = patrol_world["officer"]
    hs, route = _target(officer, lambda h: walk_route(h.easting, h.northing))
    page = phone
    context = page.context
    context.grant_permissions(["geolocation"], origin=live_server.url)
    _geo(context, route[0])
    _login(page, live_server.url, "officer", "rasure-demo-officer")
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
    hs, route = _target(officer, lambda h: walk_route(h.easting, h.northing))
    page = phone
    context = page.context
    context.grant_permissions(["geolocation"], origin=live_server.url)
    _geo(context, route[0])
    _login(page, live_server.url, "officer", "rasure-demo-officer")
    page.locator("ol.spots > li").first.wait_for()
    listed = page.locator("ol.spots > li").count()
    assert listed >= 3
    _wait_saved(page, hs)
    page.locator("ol.spots > li").first.get_by_role("button").click()
    page.get_by_role("button", name="Start visit").click()
    page.wait_for_function("() => Number(document.querySelector('#ping-count')?.textContent) >= 1")
    _drained(page)
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
    _login(page, live_server.url, "officer", "rasure-demo-officer")
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
    _drained(page)
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
