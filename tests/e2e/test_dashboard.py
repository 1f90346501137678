"""The dashboard in a real browser: an analyst filters the map and opens a hot spot; an officer is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from rasure.hotspots.analysis import HotspotParams
from rasure_web.analysis.services import hotspots_build
from rasure_web.crimes.services import synthetic_city_load
from tests.e2e.conftest import login, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@override_settings(RASURE_MAP_TILES="")  # no tile server here: the map must still show data
def test_analyst_filters_map_and_opens_hotspot(page: Any, live_server: Any) -> None:
    synthetic_city_load(scale=0.3)
    hotspots_build(params=HotspotParams(top=6, gi_permutations=0))
    make_user("analyst")
    login(page, live_server.url, "analyst")
    page.get_by_role("heading", name="Serious violence overview").wait_for()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard-overview.png"), full_page=True)
    page.get_by_role("link", name="Map", exact=True).first.click()
    status = page.locator("#status")
    status.filter(has_text="crimes in view").wait_for()
    before = status.inner_text()
    page.get_by_label("Day / night").select_option("night")
    page.wait_for_function("(b) => document.getElementById('status').textContent !== b", arg=before)
    assert page.locator(".leaflet-interactive").count() > 0  # hot-spot polygons and crime markers drawn
    page.screenshot(path=str(SHOTS / "dashboard-map.png"))
    page.goto(f"{live_server.url}/dashboard/")
    page.locator("table a").first.click()
    page.get_by_role("heading", name="Why it is hot").wait_for()
    assert "/dashboard/hotspots/" in page.url
    page.screenshot(path=str(SHOTS / "dashboard-hotspot.png"))


def test_officer_is_refused_the_dashboard(page: Any, live_server: Any) -> None:
    make_user("officer")
    login(page, live_server.url, "officer")
    resp = page.goto(f"{live_server.url}/dashboard/")
    assert resp is not None and resp.status == 403
