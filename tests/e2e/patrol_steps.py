"""Steps of a patrol in the phone app, shared by the browser tests: sign in at a phone viewport, walk
or drive a simulated route (``context.set_geolocation`` and the page clock), start and end a visit.

See tests/e2e/test_patrol_app.py for how time and position are simulated."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.web.test_officer_words import jargon_in
from tests.web.test_patrol_routes import Fix

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
STEP_MS = 15_000


def target(officer: Any, route_for: Any) -> tuple[Any, list[Fix]]:
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


def phone_login(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/patrol/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/patrol/"))


def geo(context: Any, f: Fix) -> None:
    context.set_geolocation({"latitude": f.lat, "longitude": f.lon, "accuracy": 6})


def small_targets(page: Any) -> list[str]:
    """Buttons, button-like links and form inputs smaller than 48 × 48 CSS px (inline text links excepted)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('button, a.btn, input:not([type=checkbox]), textarea')]
            .filter((el) => el.offsetParent !== null)
            .filter((el) => { const r = el.getBoundingClientRect(); return r.height < 48 || r.width < 48; })
            .map((el) => el.outerHTML.slice(0, 80))"""
    )


def pings_shown(page: Any) -> int:
    return int(page.locator("#ping-count").inner_text())


def step(page: Any, context: Any, f: Fix, expected_pings: int, *, online: bool = True) -> None:
    geo(context, f)
    page.clock.run_for(STEP_MS)
    page.wait_for_function(
        f"() => Number(document.querySelector('#ping-count')?.textContent) >= {expected_pings}"
    )
    if online:
        # Let the send finish in real time before the page clock jumps again: a 15 s jump would fire
        # the request's own 15 s timeout while it is still on the wire.
        drained(page)


def drained(page: Any) -> None:
    page.wait_for_function("() => document.querySelector('#sync').dataset.waiting === '0'")


def three_taps_and_start(page: Any, context: Any, base: str, hs: Any, route: list[Fix], shot: str) -> None:
    from django.contrib.auth.models import User

    assert User.objects.filter(username="officer").exists()
    # Tap 1: open the app — today's hot spots, nearest first.
    first = page.locator("ol.spots > li").first
    first.wait_for()
    assert hs.name in first.inner_text()
    assert re.search(r"\d+ m · \d+ min walk", first.inner_text())
    assert small_targets(page) == []
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
    assert small_targets(page) == []
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
    drained(page)


def finish(page: Any, *, shot: str, spoken: int, searched: int, colleague: str | None) -> None:
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
    assert small_targets(page) == []
    if shot:
        page.screenshot(path=str(SHOTS / f"{shot}-5-form.png"), full_page=True)
    page.get_by_role("button", name="Send").click()
    page.locator("#result").wait_for()
    page.wait_for_function("() => document.querySelector('#result')?.textContent.includes('min inside')")
    page.wait_for_function("() => document.querySelector('#sync-text').textContent.includes('All sent')")
    if shot:
        page.screenshot(path=str(SHOTS / f"{shot}-6-done.png"), full_page=True)


def server_pings(visit: Any) -> list[Fix]:
    from rasure_web.patrols.models import Ping

    rows = list(Ping.objects.filter(visit_id=visit.visit_id).order_by("fix_time"))
    t0 = rows[0].fix_time
    return [Fix((p.fix_time - t0).total_seconds(), p.x, p.y, p.lon, p.lat) for p in rows]


def open_phone(phone: Any, live_server: Any, start: Fix) -> Any:
    context = phone.context
    context.grant_permissions(["geolocation"], origin=live_server.url)
    context.route(
        re.compile(r"^https://(www\.google\.com|maps\.apple\.com)/"),
        lambda r: r.fulfill(body="maps", content_type="text/plain"),
    )
    geo(context, start)
    phone.clock.install(time=datetime.now(UTC))
    return context
