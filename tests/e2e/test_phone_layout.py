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


@override_settings(RASURE_MAP_TILES="")
@pytest.mark.usefixtures("clock")  # the people lists are "as of today": pinned to the synthetic city's end
def test_later_pages_fit_a_phone_screen(phone: Any, live_server: Any) -> None:
    """The pages added after the first look (imports, institutions, a trial's results, people monitoring,
    erase) drew their tables at full width: 575-924 px on a 390 px phone. Every table now scrolls in its
    own box."""
    from django.contrib.auth.models import Permission

    from rasure_web import clock
    from rasure_web.analysis.models import Institution
    from rasure_web.crimes.models import ImportRun
    from rasure_web.trials import lifecycle
    from rasure_web.trials.evaluation import trial_evaluation_simulate

    store_city_with_hotspots()
    start = clock.local_today() + dt.timedelta(days=1)
    trial = lifecycle.trial_create(
        name="PHONE-R (synthetic)", start=start, end=start + dt.timedelta(days=6), synthetic=True
    )
    lifecycle.trial_commit(trial_id=trial.pk, user=lifecycle.CliActor(username="cli:phone"), seed="5c" * 32)
    trial_evaluation_simulate(trial=trial)
    ImportRun.objects.create(
        kind="police-uk",
        path="/srv/drop/SYN/failed/2026-11-synthetic-street.csv",
        status=ImportRun.Status.REJECTED,
        trigger=ImportRun.Trigger.SCHEDULED,
        error="2026-11-synthetic-street.csv, line 4, field 'Latitude': is not a latitude in the UK",
    )
    inst = Institution.objects.order_by("pk").first()
    assert inst is not None, "the synthetic city has a prison and a hospital"
    analyst = make_user("analyst")
    analyst.user_permissions.add(
        Permission.objects.get(content_type__app_label="people", codename="intelligence")
    )
    make_user("admin")
    for role, paths in (
        (
            "analyst",
            (
                "/dashboard/imports/",
                "/dashboard/institutions/",
                f"/dashboard/institutions/{inst.pk}/",
                f"/trials/{trial.pk}/results/",
                "/dashboard/people/monitor/",
            ),
        ),
        ("admin", ("/dashboard/people/erase/",)),
    ):
        phone.context.clear_cookies()
        login(phone, live_server.url, role)
        for path in paths:
            response = phone.goto(f"{live_server.url}{path}")
            assert response is not None and response.status == 200, path
            phone.get_by_role("heading", level=1).first.wait_for()
            assert phone.locator("table").count() == phone.locator(".table-scroll > table").count(), path
            assert phone.evaluate(WIDER_THAN_SCREEN) <= 0, f"{path} is wider than a phone screen"


# Rendered size of each visible chart label: its CSS font size times the chart's scale (drawn width over
# viewBox width), since an SVG with a viewBox scales its text with the picture.
CHART_LABELS = """() => [...document.querySelectorAll('svg.chart')]
  .filter((svg) => svg.getBoundingClientRect().width > 0)
  .flatMap((svg) => {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return [...svg.querySelectorAll('text')].map((t) => ({
      text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * scale,
      left: t.getBoundingClientRect().left, svgLeft: svg.getBoundingClientRect().left,
      right: t.getBoundingClientRect().right, svgRight: svg.getBoundingClientRect().right,
    }));
  })"""


@override_settings(RASURE_MAP_TILES="")
def test_overview_chart_labels_are_readable_on_a_phone(phone: Any, page: Any, live_server: Any) -> None:
    """The monthly charts were one 720-wide drawing scaled into its card: at 390 px their axis labels
    rendered at about 5 px (8-9 px in a desktop's half-width card). Each label now renders at 12 px or
    more, inside its chart, on a phone and on desktops of several widths."""
    store_city_with_hotspots()
    make_user("analyst")
    for browser_page, widths in ((phone, (390,)), (page, (1024, 1280, 1440))):
        login(browser_page, live_server.url, "analyst")
        browser_page.get_by_role("heading", name="Serious violence overview").wait_for()
        for width in widths:
            browser_page.set_viewport_size({"width": width, "height": 900})
            labels = browser_page.evaluate(CHART_LABELS)
            assert len(labels) >= 2 * (5 + 2), f"{width}: two charts, each with its y axis and legend"
            assert any("-" in lab["text"] for lab in labels), f"{width}: month labels on the x axis"
            small = [(lab["text"], round(lab["px"], 1)) for lab in labels if lab["px"] < 12]
            assert not small, f"chart labels under 12 px on a {width} px screen: {small}"
            assert all(
                lab["left"] >= lab["svgLeft"] - 1 and lab["right"] <= lab["svgRight"] + 1 for lab in labels
            ), f"{width}: a label runs off its chart"
