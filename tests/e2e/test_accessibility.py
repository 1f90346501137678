"""axe-core (Deque's accessibility engine, bundled by axe-playwright-python) on every main page, in real
headless Chromium: the patrol app's list, briefing and visit timer at phone size; the dashboard's
overview, map, hot spot page and printed briefing sheet, the trials list, a committed trial's page and its
results page, the places held apart and patrol monitoring, the institution list and an institution's page
(with a plan, its history and a form with errors), the readable 403 and 404 pages and the sign-in page at
desktop size.
The people list (with its page links), the lists' monitoring page, the administrator's erase page, the
programme page's training tables and the recognition page (turned on) are checked here too; the partner,
person, programme and delivery pages in their own browser tests. Any violation
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


def assert_plain(page: Any, what: str) -> None:
    """No word from the style guide's "Words not to use" in what the officer can read on the screen (the
    briefing's closed "Details: the figures" fold is not rendered, so its figures do not count)."""
    from tests.web.test_officer_words import jargon_in

    found = jargon_in(page.locator("body").inner_text())
    assert not found, f"{what}: {found} on an officer's screen (docs/style-guide.md)"


def test_patrol_screens_have_no_axe_violations(phone: Any, live_server: Any) -> None:
    """Each patrol screen passes axe and, as the style guide asks of the list, briefing, visit and
    summary screens, shows an officer none of the words not to use."""
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
    assert_plain(page, "patrol list")
    page.locator("ol.spots > li").first.get_by_role("button").click()
    page.get_by_role("heading", name="Why it is a hot spot").wait_for()
    assert_accessible(page, "briefing")
    assert_plain(page, "briefing")
    page.get_by_role("button", name="Start visit").click()
    page.locator("#ping-count").wait_for()
    page.wait_for_function("() => Number(document.querySelector('#ping-count').textContent) >= 1")
    assert_accessible(page, "visit timer")
    assert_plain(page, "visit timer")
    page.get_by_role("button", name="End visit").click()
    page.get_by_role("spinbutton", name="People spoken to").wait_for()
    assert_accessible(page, "after the visit form")
    assert_plain(page, "after the visit form")
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator("#result").wait_for()
    page.get_by_role("heading", name="Next nearest hot spots").wait_for()
    assert_accessible(page, "visit recorded")
    assert_plain(page, "visit recorded")


@override_settings(RASURE_MAP_TILES="")
def test_trial_review_and_monitoring_pages_have_no_axe_violations(page: Any, live_server: Any) -> None:
    import datetime as dt

    from rasure_web import clock
    from rasure_web.trials import lifecycle

    store_city_with_hotspots()
    start = clock.local_today() + dt.timedelta(days=1)
    trial = lifecycle.trial_create(
        name="AXE-T (synthetic)", start=start, end=start + dt.timedelta(days=6), synthetic=True
    )
    lifecycle.trial_commit(trial_id=trial.pk, user=lifecycle.CliActor(username="cli:axe"), seed="7a" * 32)
    from rasure_web.crimes.models import ImportRun

    ImportRun.objects.create(  # a rejected drop-folder file, so the Imports page shows its notice
        kind="police-uk",
        path="/srv/drop/SYN/failed/2026-11-synthetic-street.csv",
        status=ImportRun.Status.REJECTED,
        trigger=ImportRun.Trigger.SCHEDULED,
        error="2026-11-synthetic-street.csv, line 4, field 'Latitude': is not a latitude in the UK",
    )
    # a stored evaluation for the results page: simulated outcomes on the trial's own schedule
    from rasure_web.trials.evaluation import trial_evaluation_simulate

    trial_evaluation_simulate(trial=trial)
    make_user("analyst")
    login(page, live_server.url, "analyst")
    for path, heading in (
        ("/trials/", None),
        (f"/trials/{trial.pk}/", None),
        (f"/trials/{trial.pk}/results/", "results"),
        ("/dashboard/review/", None),
        ("/dashboard/imports/", "Imports"),
        ("/dashboard/patrols/", "Patrol monitoring"),
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, path
        page.get_by_role("heading", level=1).first.wait_for()
        if heading:
            assert heading in page.get_by_role("heading", level=1).first.inner_text()
        assert_accessible(page, path)


@override_settings(RASURE_PEOPLE_PAGE_SIZE=5)
@pytest.mark.usefixtures("clock")  # the lists are "as of today": pinned to the synthetic city's end
def test_people_list_pages_monitoring_and_erase_pages_have_no_axe_violations(
    page: Any, live_server: Any
) -> None:
    from pathlib import Path

    from django.contrib.auth.models import Permission

    from tests.city import store_city

    shots = Path(__file__).resolve().parents[2] / "var" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    store_city()
    analyst = make_user("analyst")
    analyst.user_permissions.add(
        Permission.objects.get(content_type__app_label="people", codename="intelligence")
    )
    login(page, live_server.url, "analyst")
    page.get_by_role("heading", name="Serious violence overview").wait_for()
    page.goto(f"{live_server.url}/dashboard/people/?list=harm&reason=audit&page=2")
    page.get_by_role("navigation", name="Pages of the list").wait_for()
    page.screenshot(path=str(shots / "people-list-paged.png"), full_page=True)
    assert_accessible(page, "people list, page 2")
    page.goto(f"{live_server.url}/dashboard/people/monitor/")
    page.get_by_role("heading", name="Monitoring the hot-people lists").wait_for()
    page.screenshot(path=str(shots / "people-monitor.png"), full_page=True)
    assert_accessible(page, "people monitoring")
    page.context.clear_cookies()
    make_user("admin")
    login(page, live_server.url, "admin")
    page.goto(f"{live_server.url}/dashboard/people/erase/")
    page.get_by_role("heading", name="Erase a person's entry").wait_for()
    assert_accessible(page, "erase a person's entry")
    page.get_by_label("Person id").fill("SYN-P-NOBODY")
    page.get_by_label("Reason").fill("DPO decision DPO-TEST-1: synthetic check")
    page.get_by_label("I understand this cannot be undone").check()
    page.get_by_role("button", name="Erase this person's entry").click()
    page.get_by_role("alert").wait_for()
    page.screenshot(path=str(shots / "people-erase.png"), full_page=True)
    assert_accessible(page, "erase page with an error")


def test_training_tables_and_recognition_page_have_no_axe_violations(page: Any, live_server: Any) -> None:
    from pathlib import Path

    from rasure_web.accounts.models import Profile, Team
    from rasure_web.programme.demo import programme_demo_store
    from rasure_web.programme.models import ForceProgrammeSetting
    from tests.programme_data import TODAY, delivery_scenario

    shots = Path(__file__).resolve().parents[2] / "var" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    s = delivery_scenario()
    programme_demo_store(today=TODAY)
    force = Profile.objects.get(user=s["a"][0]).force
    ForceProgrammeSetting.objects.create(force=force, peer_recognition=True)
    dogs = Team.objects.create(
        force=force, code="DOGS", name="Dog unit", kind="specialist", specialist_unit="dogs"
    )
    Profile.objects.create(user=make_user("officer", username="pc_dogs"), team=dogs, force=force)
    make_user("supervisor", username="inspector")
    login(page, live_server.url, "supervisor", username="inspector")
    page.get_by_role("heading", name="Serious violence overview").wait_for()
    page.goto(f"{live_server.url}/programme/")
    page.get_by_role("heading", name="By specialist unit").wait_for()
    page.locator("#training-h").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "programme-training.png"), full_page=True)
    assert_accessible(page, "programme page with training by team and unit")
    page.goto(f"{live_server.url}/programme/recognition/")
    page.get_by_role("heading", name="Recognition: patrols delivered").wait_for()
    page.screenshot(path=str(shots / "programme-recognition.png"), full_page=True)
    assert_accessible(page, "recognition page")


@override_settings(RASURE_MAP_TILES="")
def test_institution_pages_have_no_axe_violations(page: Any, live_server: Any, tmp_path: Any) -> None:
    import datetime as dt

    from rasure_web.analysis.institution_plans import plan_save
    from rasure_web.analysis.models import HotSpot, Institution

    store_city_with_hotspots()
    hs = HotSpot.objects.order_by("period", "rank").first()
    assert hs is not None
    inst, _ = Institution.objects.get_or_create(
        name="Synthetic Custody Suite",
        type="custody_suite",
        defaults={"easting": hs.easting, "northing": hs.northing, "radius_m": 100.0, "synthetic": True},
    )
    for version, owner in enumerate(["Custody inspector (synthetic)", "Custody sergeant (synthetic)"]):
        plan_save(
            inst=inst,
            owner=owner,
            actions="Review the booking-in area weekly\nShare monthly counts with the custody manager",
            review_date=dt.date(2027, 3, 1),
            status="active",
            username="synthetic-analyst",
            seen_version=version,
        )
    make_user("analyst")
    login(page, live_server.url, "analyst")
    page.goto(f"{live_server.url}/dashboard/institutions/")
    page.get_by_role("heading", name="Institutions", level=1).wait_for()
    assert_accessible(page, "institution list")
    page.screenshot(path=str(tmp_path / "institutions.png"), full_page=True)
    page.get_by_role("link", name="Synthetic Custody Suite").click()
    page.get_by_role("heading", name="Prevention plan").wait_for()
    assert_accessible(page, "institution page")
    page.screenshot(path=str(tmp_path / "institution.png"), full_page=True)
    page.get_by_label("Owner").fill("")
    page.get_by_role("button", name="Save the plan").click()
    page.get_by_text("Give the plan an owner").wait_for()
    assert_accessible(page, "institution page with form errors")
    page.screenshot(path=str(tmp_path / "institution-errors.png"), full_page=True)
