"""The programme page in a real browser: from the dashboard to an operation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rasure_web.programme.demo import programme_demo_store
from tests.city import TEST_NOW, store_city_with_hotspots
from tests.e2e.conftest import login, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_supervisor_reads_the_programme_and_opens_an_operation(page: Any, live_server: Any) -> None:
    store_city_with_hotspots()
    programme_demo_store(today=TEST_NOW.date())
    make_user("supervisor")
    login(page, live_server.url, "supervisor")
    page.goto(f"{live_server.url}/dashboard/")
    page.get_by_role("link", name="Programme", exact=True).click()
    page.get_by_role("heading", name="Programme", level=1).wait_for()
    page.get_by_role("heading", name="Delivery model, by local policing area").wait_for()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / "programme.png"), full_page=True)
    page.get_by_role("link", name="Operation Bridge (synthetic)").click()
    page.get_by_role("heading", name="Activities").wait_for()
    assert "Knife crime near the transport hub" in page.locator("main").inner_text()
