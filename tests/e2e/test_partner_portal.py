"""The partner portal in a real browser: a partner signs in, sees their areas only, no crime reference,
suppressed small numbers; with the agreement expired, the next click is refused with the reason."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from tests.city import store_city_with_hotspots
from tests.e2e.conftest import login, make_user
from tests.e2e.test_accessibility import assert_accessible
from tests.factories import write_ed_assaults

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@override_settings(RASURE_MAP_TILES="")  # no tile server here: the map must still show the areas
def test_partner_sees_own_areas_suppressed_then_refused_when_expired(page: Any, live_server: Any) -> None:
    from rasure_web import clock
    from rasure_web.accounts.models import Profile
    from rasure_web.crimes.models import Area, CrimeRecord
    from rasure_web.partners.models import DataSharingAgreement
    from rasure_web.partners.services import DEMO_AGREEMENT, demo_partner_ensure

    store_city_with_hotspots()
    agreement = demo_partner_ensure()
    assert agreement is not None
    user = make_user("partner")
    Profile.objects.create(user=user, organisation=agreement.organisation)

    login(page, live_server.url, "partner")
    page.get_by_role("heading", name="Serious violence in your areas").wait_for()
    page.wait_for_selector("#map[data-ready='1']")
    assert page.locator(".leaflet-interactive").count() > 0  # neighbourhoods and hot spots drawn
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "partner-portal.png"), full_page=True)
    assert_accessible(page, "partner portal")
    html = page.content()
    assert "Central LPA" in html and "North LPA" in html and "South LPA" not in html
    map_json = page.evaluate("async () => JSON.stringify(await (await fetch('/partners/map.json')).json())")
    refs = set(CrimeRecord.objects.values_list("reference", flat=True))
    words = set(re.findall(r"[A-Za-z0-9_-]{6,}", html + map_json))
    assert not refs & words
    assert json.loads(map_json)["neighbourhoods"]["features"]

    # a narrower agreement (three neighbourhoods): small counts are suppressed
    agreement.areas.set(
        Area.objects.filter(kind="neighbourhood", parent__code="SYN-LPA-C").order_by("code")[:3]
    )
    page.get_by_role("link", name="Partner portal").click()
    page.get_by_role("heading", name="Crimes and harm by area and month").wait_for()
    assert page.locator("td.hid", has_text="fewer than 5").count() > 0
    assert page.locator("td.hid", has_text="hidden").count() > 0
    page.screenshot(path=str(SHOTS / "partner-portal-suppressed.png"), full_page=True)
    assert_accessible(page, "partner portal, suppressed cells")

    # the agreement expires: the next click is refused, and says why
    DataSharingAgreement.objects.filter(pk=agreement.pk).update(
        expires_on=clock.local_today() - dt.timedelta(days=1)
    )
    page.get_by_role("link", name="Partner portal").click()
    page.get_by_role("heading", name="You cannot see this page").wait_for()
    assert f"{DEMO_AGREEMENT} expired on" in page.content()
    page.screenshot(path=str(SHOTS / "partner-portal-refused.png"))
    assert_accessible(page, "partner refusal page")


@override_settings(RASURE_MAP_TILES="")
def test_partner_upload_refused_whole_then_shown_to_analyst(
    browser: Any, page: Any, live_server: Any, tmp_path: Path
) -> None:
    from rasure_web.accounts.models import Profile
    from rasure_web.crimes.models import CrimeRecord
    from rasure_web.partners.models import PartnerRecord
    from rasure_web.partners.services import demo_partner_ensure

    store_city_with_hotspots()
    agreement = demo_partner_ensure()
    assert agreement is not None
    Profile.objects.create(user=make_user("partner"), organisation=agreement.organisation)
    make_user("analyst")
    bad = tmp_path / "ed-bad.csv"
    bad.write_text("date,time,location,weapon\n2026-09-12,23:40,High Street,spoon\n", encoding="utf-8")
    recs = CrimeRecord.objects.filter(serious_violence=True, lat__isnull=False).order_by("reference")[:20]
    good = write_ed_assaults(tmp_path / "ed-good.csv", recs)

    login(page, live_server.url, "partner")
    page.get_by_role("link", name="Send your data").click()
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Check and send").click()
    page.get_by_role("heading", name="Every problem, row by row").wait_for()
    assert "not a known weapon" in page.content() and PartnerRecord.objects.count() == 0
    page.screenshot(path=str(SHOTS / "partner-upload-refused.png"), full_page=True)
    assert_accessible(page, "partner upload refused")
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Check and send").click()
    page.get_by_text("Loaded.").wait_for()
    assert PartnerRecord.objects.count() == 20

    ctx = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    analyst = ctx.new_page()
    login(analyst, live_server.url, "analyst")
    analyst.get_by_role("link", name="Partner data").click()
    analyst.wait_for_selector("#map[data-ready='1']")
    assert "ed-good.csv" in analyst.content()
    assert analyst.locator(".leaflet-interactive").count() == 20
    analyst.screenshot(path=str(SHOTS / "partner-data-analyst.png"), full_page=True)
    assert_accessible(analyst, "analyst's partner data page")
    ctx.close()


@pytest.fixture
def partner_data_and_analyst(transactional_db: Any, tmp_path: Path) -> None:
    """The synthetic city with hot spots (police records only), 40 emergency-department assaults
    loaded under the demo partner's agreement, and an analyst (user "analyst") who may rebuild."""
    from rasure_web.crimes.models import CrimeRecord
    from rasure_web.partners.services import demo_partner_ensure, partner_import

    store_city_with_hotspots()
    agreement = demo_partner_ensure()
    assert agreement is not None
    recs = CrimeRecord.objects.filter(serious_violence=True, lat__isnull=False).order_by("reference")[:40]
    f = write_ed_assaults(tmp_path / "ed.csv", recs)
    partner_import(path=f, org_code=agreement.organisation.code, username="t", agreement=agreement)
    make_user("analyst")


@override_settings(RASURE_MAP_TILES="")
def test_analyst_rebuilds_hot_spots_including_partner_data_then_without(
    page: Any, live_server: Any, partner_data_and_analyst: None
) -> None:
    """The analyst's choice on the dashboard: the rebuild is queued (status shown), the worker's code
    runs it, and the hot spots then say "includes partner data" on the overview and the map."""
    from tests.worker import run_queued

    login(page, live_server.url, "analyst")
    page.get_by_role("link", name="Partner data").click()
    section = page.locator("#rebuild")
    section.get_by_text("do not include partner data").wait_for()
    page.get_by_role("button", name="Rebuild hot spots including partner data").click()
    section.get_by_text("Queued: rebuild hot spots including partner data").wait_for()
    assert section.get_by_role("cell", name="queued", exact=True).count() == 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "partner-data-rebuild-queued.png"), full_page=True)
    assert_accessible(page, "partner data page, rebuild queued")

    run_queued()  # the worker's code, as `rasure worker` runs it
    section.get_by_role("button", name="Refresh status").click()
    section.get_by_role("cell", name="done", exact=True).wait_for()
    assert "includes partner data: 40 emergency-department assaults" in section.inner_text()
    page.get_by_role("link", name="Overview").click()
    page.get_by_role("note").filter(has_text="Hot spots includes partner data").wait_for()
    page.get_by_role("link", name="Map").first.click()
    page.get_by_role("note").filter(has_text="includes partner data").wait_for()

    page.get_by_role("link", name="Partner data").click()
    page.get_by_role("button", name="Rebuild hot spots without partner data").click()
    section.get_by_text("Queued: rebuild hot spots without partner data").wait_for()
    run_queued()
    section.get_by_role("button", name="Refresh status").click()
    section.get_by_text("do not include partner data").wait_for()
    assert section.get_by_role("cell", name="done", exact=True).count() == 2
    page.screenshot(path=str(SHOTS / "partner-data-rebuild-done.png"), full_page=True)
    assert_accessible(page, "partner data page, rebuilds done")
    page.get_by_role("link", name="Overview").click()
    page.get_by_role("heading", level=1).first.wait_for()
    assert "includes partner data" not in page.content()


@override_settings(RASURE_MAP_TILES="")
def test_the_rebuild_status_changes_from_queued_to_done_without_a_reload(
    page: Any, live_server: Any, partner_data_and_analyst: None
) -> None:
    """The partner data page polls the rebuild's status (a JSON endpoint, the page's own script file)
    and says it in its live region: queued, then, once the worker's code has run it, done, while the
    page is never reloaded; the line saying which hot spots are current then says they include partner
    data, without a reload."""
    from tests.worker import run_queued

    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    login(page, live_server.url, "analyst")
    page.get_by_role("link", name="Partner data").click()
    page.get_by_role("button", name="Rebuild hot spots including partner data").click()
    section = page.locator("#rebuild")
    section.get_by_role("cell", name="queued", exact=True).wait_for()
    current = page.locator("#rebuild-current")
    assert "do not include partner data" in current.inner_text()
    live = page.locator("#rebuild-live")
    assert live.get_attribute("aria-live") == "polite"
    live.filter(has_text=re.compile(r"with partner data, asked by analyst: queued\.")).wait_for(
        timeout=15_000
    )  # the first poll
    # the page is marked: a reload would lose the mark
    page.evaluate("() => { window.rasureNotReloaded = true; }")

    run_queued()  # the worker's code, as `rasure worker` runs it
    section.get_by_role("cell", name="done", exact=True).wait_for(timeout=15_000)
    live.filter(has_text=re.compile(r"with partner data, asked by analyst: done\.")).wait_for()
    current.get_by_text("includes partner data: 40 emergency-department assaults").wait_for()
    assert page.evaluate("() => window.rasureNotReloaded === true")
    assert "do not include" not in current.inner_text()
    assert current.locator("strong").inner_text().startswith("includes partner data: 40")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    assert_accessible(page, "partner data page, rebuild done without a reload")
