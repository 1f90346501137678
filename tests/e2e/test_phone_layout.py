"""At phone size (390 × 844) no page is wider than the screen: wide tables scroll inside their card
(``.table-scroll``), long values wrap, and every page sets the viewport (the printed briefing sheet once
did not, and a phone drew it as a shrunken 980 px page). scripts/screenshots.py prints the same check for
every screen; this test keeps it for the pages with the widest tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import override_settings

from tests.city import store_city_with_hotspots
from tests.e2e.conftest import login, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDER_THAN_SCREEN = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@override_settings(RASURE_MAP_TILES="")
def test_dashboard_pages_fit_a_phone_screen(phone: Any, live_server: Any) -> None:
    from rasure_web import clock
    from rasure_web.analysis.models import HotSpot
    from rasure_web.trials import lifecycle

    store_city_with_hotspots()
    start = clock.local_today() + dt.timedelta(days=1)
    trial = lifecycle.trial_create(name="PHONE-T (synthetic)", start=start, end=start + dt.timedelta(days=6))
    lifecycle.trial_commit(trial_id=trial.pk, user=lifecycle.CliActor(username="cli:phone"), seed="5b" * 32)
    hs = HotSpot.objects.order_by("period", "rank").first()
    assert hs is not None
    make_user("analyst")
    page = phone
    login(page, live_server.url, "analyst")
    page.get_by_role("heading", name="Serious violence overview").wait_for()
    for path in (
        "/dashboard/",
        f"/dashboard/hotspots/{hs.pk}/",
        f"/dashboard/hotspots/{hs.pk}/sheet/",
        "/dashboard/review/",
        "/dashboard/patrols/",
        "/trials/",
        f"/trials/{trial.pk}/",
        "/no-such-page/",
    ):
        page.goto(f"{live_server.url}{path}")
        page.get_by_role("heading", level=1).first.wait_for()
        assert page.evaluate("() => document.documentElement.clientWidth") == 390, path
        assert page.locator("table").count() == page.locator(".table-scroll > table").count(), path
        assert page.evaluate(WIDER_THAN_SCREEN) <= 0, f"{path} is wider than a phone screen"
