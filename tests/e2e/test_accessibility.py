"""axe-core (Deque's accessibility engine, bundled by axe-playwright-python) on every main page, in real
headless Chromium: the patrol app's list, briefing and visit timer at phone size; the dashboard's
overview, map, hot spot page and printed briefing sheet, the trials list and a committed trial's page,
the places held apart and patrol monitoring, the readable 403 and 404 pages and the sign-in page at desktop
size.
The partner, people, programme and delivery pages are checked in their own browser tests. Any violation
fails the test, with the rule, its impact and the elements named.
"""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.test import override_settings

from tests.city import store_city_with_hotspots
from tests.e2e.conftest import login, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Axe()
# Every rule on by default, and the experimental one that checks a control's spoken name starts with
# its visible text (voice control: "press Start visit").
OPTIONS = {"resultTypes": ["violations"], "rules": {"label-content-name-mismatch": {"enabled": True}}}


def violations(page: Any) -> list[str]:
    """axe-core's violations on the page as it is now: one line per rule, with the first elements."""
    found = AXE.run(page, options=OPTIONS).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(
            " ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
            for n in v["nodes"][:4]
        )
        + (f" … {len(v['nodes'])} in all" if len(v["nodes"]) > 4 else "")
        for v in found
    ]


def assert_accessible(page: Any, what: str) -> None:
    found = violations(page)
    assert found == [], f"{what} ({page.url}):\n" + "\n".join(found)


@override_settings(RASURE_MAP_TILES="")
def test_dashboard_pages_sign_in_and_403_have_no_axe_violations(page: Any, live_server: Any) -> None:
    from rasure_web.analysis.models import HotSpot

    store_city_with_hotspots()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").wait_for()
    assert_accessible(page, "sign-in page")
    make_user("supervisor")
    login(page, live_server.url, "supervisor")
    page.get_by_role("heading", name="Serious violence overview").wait_for()
    assert_accessible(page, "dashboard overview")
    page.goto(f"{live_server.url}/dashboard/map/")
    page.locator("#status").filter(has_text="crimes in view").wait_for()
    assert_accessible(page, "map")
    hs = HotSpot.objects.order_by("period", "rank").first()
    assert hs is not None
    page.goto(f"{live_server.url}/dashboard/hotspots/{hs.pk}/")
    page.get_by_role("heading", name="Why it is hot").wait_for()
    assert_accessible(page, "hot spot page")
    page.goto(f"{live_server.url}/dashboard/hotspots/{hs.pk}/sheet/")
    page.get_by_role("heading", name="Why it is hot").wait_for()
    assert_accessible(page, "briefing sheet")
    page.context.clear_cookies()
    make_user("officer")
    login(page, live_server.url, "officer")
    response = page.goto(f"{live_server.url}/dashboard/")
    assert response is not None and response.status == 403
    assert_accessible(page, "403 page")
    response = page.goto(f"{live_server.url}/no-such-page/")
    assert response is not None and response.status == 404
    page.get_by_role("heading", name="There is no page here").wait_for()
    assert_accessible(page, "404 page")
    page.context.clear_cookies()
    make_user("analyst")
    login(page, live_server.url, "analyst")
    page.goto(f"{live_server.url}/patrol/")
    page.get_by_role("heading").first.wait_for()
    assert_accessible(page, "patrol app refused to an analyst")


def test_patrol_screens_have_no_axe_violations(phone: Any, live_server: Any) -> None:
    from rasure_web.analysis.models import HotSpot
    from rasure_web.patrols.selectors import hotspots_nearest

    store_city_with_hotspots()
    officer = make_user("officer")
    first = hotspots_nearest(user=officer, lat=51.43, lon=-1.13, limit=1).hotspots[0]
    hs = HotSpot.objects.get(pk=first["id"])
    page = phone
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation({"latitude": hs.lat, "longitude": hs.lon, "accuracy": 6})
    login(page, live_server.url, "officer")
    page.locator("ol.spots > li").first.wait_for()
    assert_accessible(page, "patrol list")
    page.locator("ol.spots > li").first.get_by_role("button").click()
    page.get_by_role("heading", name="Why it is a hot spot").wait_for()
    assert_accessible(page, "briefing")
    page.get_by_role("button", name="Start visit").click()
    page.locator("#ping-count").wait_for()
    page.wait_for_function("() => Number(document.querySelector('#ping-count').textContent) >= 1")
    assert_accessible(page, "visit timer")
    page.get_by_role("button", name="End visit").click()
    page.get_by_role("spinbutton", name="People spoken to").wait_for()
    assert_accessible(page, "after the visit form")
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator("#result").wait_for()
    page.get_by_role("heading", name="Next nearest hot spots").wait_for()
    assert_accessible(page, "visit recorded")


@override_settings(RASURE_MAP_TILES="")
def test_trial_review_and_monitoring_pages_have_no_axe_violations(page: Any, live_server: Any) -> None:
    import datetime as dt

    from rasure_web import clock
    from rasure_web.trials import lifecycle

    store_city_with_hotspots()
    start = clock.local_today() + dt.timedelta(days=1)
    trial = lifecycle.trial_create(name="AXE-T (synthetic)", start=start, end=start + dt.timedelta(days=6))
    lifecycle.trial_commit(trial_id=trial.pk, user=lifecycle.CliActor(username="cli:axe"), seed="7a" * 32)
    make_user("analyst")
    login(page, live_server.url, "analyst")
    for path, heading in (
        ("/trials/", None),
        (f"/trials/{trial.pk}/", None),
        ("/dashboard/review/", None),
        ("/dashboard/patrols/", "Patrol monitoring"),
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, path
        page.get_by_role("heading", level=1).first.wait_for()
        if heading:
            assert heading in page.get_by_role("heading", level=1).first.inner_text()
        assert_accessible(page, path)
