"""The web surface in a real browser: data shown only as text (no stored XSS through the map), and a
strict Content-Security-Policy that no page breaks (no violation events, no CSP console errors)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from tests.city import store_city_with_hotspots
from tests.e2e.conftest import login, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CRIME_XSS = '<img src=x onerror="window.__xss=1">'
HOTSPOT_XSS = '<b onmouseover="window.__xss=2">x</b>'

WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def _watch(page: Any) -> list[str]:
    """Collects CSP errors from the console and uncaught page errors."""
    errors: list[str] = []
    page.add_init_script(WATCH_CSP)
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error"
            and ("Content Security Policy" in m.text or "Content-Security-Policy" in m.text)
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    return errors


def _violations(page: Any) -> list[str]:
    return list(page.evaluate("window.__csp || []"))


def _poisoned_city() -> tuple[Any, Any]:
    from rasure_web.analysis.models import HotSpot
    from rasure_web.crimes.models import CrimeRecord

    store_city_with_hotspots()
    hs = HotSpot.objects.filter(run__is_current=True).order_by("rank").first()
    # The day and the night list may both hold this place: every hot spot there gets the name.
    near = HotSpot.objects.filter(run__is_current=True, lon__range=(hs.lon - 1e-4, hs.lon + 1e-4))
    near.filter(lat__range=(hs.lat - 1e-4, hs.lat + 1e-4)).update(name=HOTSPOT_XSS)
    hs.refresh_from_db()
    crime = (
        CrimeRecord.objects.filter(serious_violence=True, lon__isnull=False)
        .order_by("-occurred_from")
        .first()
    )
    crime.offence_description = CRIME_XSS
    crime.location_text = CRIME_XSS
    crime.lon, crime.lat = hs.lon + 0.0012, hs.lat + 0.0012  # beside the hot spot, not on top of it
    crime.save(update_fields=["offence_description", "location_text", "lon", "lat"])
    return hs, crime


def _point(page: Any, lat: float, lon: float) -> tuple[float, float]:
    box = page.locator("#map").bounding_box()
    p = page.evaluate("([lat, lon]) => window.rasureMap.latLngToContainerPoint([lat, lon])", [lat, lon])
    return box["x"] + p["x"], box["y"] + p["y"]


@override_settings(RASURE_MAP_TILES="")
def test_map_shows_crime_and_hotspot_text_literally(page: Any, live_server: Any) -> None:
    hs, crime = _poisoned_city()
    make_user("analyst")
    errors = _watch(page)
    login(page, live_server.url, "analyst")
    page.goto(f"{live_server.url}/dashboard/map/")
    page.locator("#map[data-ready='1']").wait_for()
    # Close in, so the crime is a point (not a cluster), and hover it: the tooltip shows the text.
    page.evaluate(
        "([lat, lon]) => window.rasureMap.setView([lat, lon], 18, {animate: false})", [crime.lat, crime.lon]
    )
    page.locator("#map[data-crimes-zoom='18']").wait_for()
    page.mouse.move(*_point(page, crime.lat, crime.lon))
    tip = page.locator(".leaflet-tooltip", has_text="<img src=x")
    tip.first.wait_for()
    assert CRIME_XSS in tip.first.inner_text()
    assert page.locator(".leaflet-tooltip img").count() == 0
    # Hide the crimes and click the hot spot: the popup shows its name as text.
    page.evaluate("window.rasureMap.removeLayer(window.rasureLayers.crimes)")
    page.evaluate(
        "([lat, lon]) => window.rasureMap.setView([lat, lon], 17, {animate: false})", [hs.lat, hs.lon]
    )
    x, y = _point(page, hs.lat, hs.lon)
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert HOTSPOT_XSS in popup.inner_text()
    assert popup.locator("b").count() == 0
    popup.hover()
    page.get_by_role("link", name="Open hot spot").wait_for()
    assert page.evaluate("window.__xss") is None
    # The hot-spot page shows the name literally too.
    page.goto(f"{live_server.url}/dashboard/hotspots/{hs.pk}/")
    assert HOTSPOT_XSS in page.locator("h1").inner_text()
    assert page.evaluate("window.__xss") is None
    assert errors == [] and _violations(page) == []


@override_settings(RASURE_MAP_TILES="", RASURE_PATROL_SIMULATION=True)
def test_every_page_keeps_to_the_content_security_policy(browser: Any, live_server: Any) -> None:
    from rasure_web.analysis.models import HotSpot

    store_city_with_hotspots()
    hs = HotSpot.objects.filter(run__is_current=True).order_by("rank").first()
    make_user("analyst")
    make_user("officer")
    base = live_server.url

    ctx = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    page = ctx.new_page()
    errors = _watch(page)
    resp = page.goto(f"{base}/accounts/login/")
    csp = resp.headers["content-security-policy"]
    for part in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "connect-src 'self'",
    ):
        assert part in csp, (part, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    page.get_by_label("Username").wait_for()
    seen = {"login": _violations(page)}
    login(page, base, "analyst")
    page.get_by_role("heading", name="Serious violence overview").wait_for()
    seen["overview"] = _violations(page)
    # The area select still submits its form (its handler moved from onchange= to site.js).
    areas = page.locator("#area option").evaluate_all("os => os.map(o => o.value)")
    if len(areas) > 1:
        with page.expect_navigation():
            page.locator("#area").select_option(areas[1])
        assert f"area={areas[1]}" in page.url
        seen["overview-area"] = _violations(page)
    # The heat map's shades are classes now, not inline styles: a hot cell is darker than a cold one.
    shades = page.locator("table.heatmap td").evaluate_all(
        "tds => [...new Set(tds.map(td => getComputedStyle(td).backgroundColor))].length"
    )
    assert shades > 3
    page.goto(f"{base}/dashboard/map/")
    page.locator("#map[data-ready='1']").wait_for()
    assert page.locator(".leaflet-interactive, canvas.leaflet-zoom-animated").count() > 0
    page.locator("#status").filter(has_text="crimes in view").wait_for()
    seen["map"] = _violations(page)
    page.goto(f"{base}/dashboard/hotspots/{hs.pk}/")
    page.locator("#hsmap[data-ready='1']").wait_for()
    assert page.locator("#hsmap .leaflet-interactive").count() > 0
    seen["hotspot"] = _violations(page)
    page.goto(f"{base}/dashboard/hotspots/{hs.pk}/sheet/")
    # The sheet no longer opens the print dialog by itself: a Print button does.
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
    assert page.evaluate("window.__printed") == 0
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.__printed") == 1
    seen["sheet"] = _violations(page)
    page.goto(f"{base}/dashboard/patrols/")
    page.get_by_role("heading", name="Patrol monitoring").wait_for()
    seen["patrols"] = _violations(page)
    page.goto(f"{base}/trials/")
    page.get_by_role("heading", name="Randomised trials").wait_for()
    seen["trials"] = _violations(page)
    page.goto(f"{base}/api/docs")
    page.locator(".swagger-ui .opblock").first.wait_for()
    page.locator(".swagger-ui .opblock-summary").first.click()
    page.locator(".swagger-ui .opblock-body").first.wait_for()
    seen["api-docs"] = _violations(page)
    ctx.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="en-GB")
    phone.grant_permissions(["geolocation"], origin=base)
    phone.set_geolocation({"latitude": hs.lat, "longitude": hs.lon, "accuracy": 6})
    ppage = phone.new_page()
    perrors = _watch(ppage)
    login(ppage, base, "officer")
    ppage.wait_for_url(f"{base}/patrol/")
    ppage.locator("#screen .spot, #screen .empty, #screen h2").first.wait_for()
    seen["patrol"] = _violations(ppage)
    phone.close()

    assert all(v == [] for v in seen.values()), seen
    assert errors == [] and perrors == [], errors + perrors
