"""Dashboard pages: access by role, layers, exports, and the access log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from rasure_web.accounts.models import AccessLog
from rasure_web.analysis.models import HotSpot
from tests.city import only_force_id, store_city_with_hotspots

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]  # now pinned: tests/conftest.py


@pytest.fixture
def city() -> None:
    store_city_with_hotspots()


def _client(role: str) -> Client:
    u = User.objects.create_user(username=f"t-{role}", password="a-long-test-password")
    u.groups.add(Group.objects.get(name=role))
    c = Client()
    c.force_login(u)
    return c


@pytest.mark.parametrize("role", ["officer", "partner"])
def test_dashboard_refused_to_officers_and_partners(city: None, role: str) -> None:
    c = _client(role)
    for url in (
        "/dashboard/",
        "/dashboard/map/",
        "/dashboard/map/crimes.json",
        "/dashboard/export/hotspots.csv",
        f"/dashboard/hotspots/{HotSpot.objects.first().pk}/",
    ):
        assert c.get(url).status_code == 403, url


def test_overview_and_map_layers(city: None) -> None:
    c = _client("analyst")
    page = c.get("/dashboard/").content.decode()
    for text in (
        "Serious violence overview",
        "Law of concentration",
        "Top hot spots",
        "Hot times",
        "Synthetic",
        "approximate",
        "Mon",
    ):
        assert text in page, text
    assert c.get("/dashboard/map/").status_code == 200
    areas = c.get("/dashboard/map/areas.json").json()
    assert {f["properties"]["kind"] for f in areas["features"]} == {"lpa", "neighbourhood"}
    hs = c.get("/dashboard/map/hotspots.json?period=night").json()
    assert hs["features"] and {f["properties"]["period"] for f in hs["features"]} == {"night"}
    inst = c.get("/dashboard/map/institutions.json").json()
    assert any("HMP" in f["properties"]["name"] for f in inst["features"])
    low = c.get("/dashboard/map/crimes.json?zoom=11").json()
    assert (
        low["properties"]["clustered"]
        and sum(f["properties"]["n"] for f in low["features"]) == low["properties"]["records"]
    )
    one = hs["features"][0]["geometry"]["coordinates"][0][0]
    bbox = f"{one[0] - 0.01},{one[1] - 0.01},{one[0] + 0.01},{one[1] + 0.01}"
    high = c.get(f"/dashboard/map/crimes.json?zoom=17&bbox={bbox}").json()
    assert not high["properties"]["clustered"] and all(f["properties"]["n"] == 1 for f in high["features"])
    night = c.get("/dashboard/map/crimes.json?zoom=11&daynight=night").json()
    assert 0 < night["properties"]["records"] < low["properties"]["records"]
    png = c.get("/dashboard/map/density.json")
    assert png["Content-Type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(c.get("/dashboard/map/density.json?format=bounds").json()["bounds"]) == 2


def test_hotspot_page_logs_access_and_exports(city: None) -> None:
    c = _client("supervisor")
    hs = HotSpot.objects.get(period="night", rank=1)
    page = c.get(f"/dashboard/hotspots/{hs.pk}/").content.decode()
    assert "Why it is hot" in page and hs.facts[0][:30] in page and "Crimes in the hot spot" in page
    assert "Night-time hot spot, rank 1" in page and "Night hot spot" not in page
    assert AccessLog.objects.filter(
        resource="hotspot_crimes", object_ref=hs.code, username="t-supervisor"
    ).exists()
    csv = c.get("/dashboard/export/hotspots.csv").content.decode().splitlines()
    assert csv[0].startswith("code,name,period,rank") and len(csv) == HotSpot.objects.count() + 1
    gj = json.loads(c.get("/dashboard/export/hotspots.geojson").content)
    assert gj["features"][0]["properties"]["why_hot"]
    kml = c.get("/dashboard/export/hotspots.kml").content.decode()
    assert kml.count("<Placemark>") == HotSpot.objects.count() and "<coordinates>" in kml
    assert AccessLog.objects.filter(action="export", resource="hotspots").count() == 3
    sheet = c.get(f"/dashboard/hotspots/{hs.pk}/sheet/").content.decode()
    assert "Hot-spot briefing · Night-time hot spot, rank 1" in sheet and "OFFICIAL-SENSITIVE" in sheet


def test_a_whole_day_hot_spot_is_named_in_words(city: None) -> None:
    """A run over the whole day (police.uk: times known only to the month) has period "all": its heading
    once read "All hot spot, rank 2" and the printed sheet "Hot-spot briefing · all"."""
    c = _client("analyst")
    hs = HotSpot.objects.get(period="night", rank=2)
    HotSpot.objects.filter(pk=hs.pk).update(period="all")
    page = c.get(f"/dashboard/hotspots/{hs.pk}/").content.decode()
    sheet = c.get(f"/dashboard/hotspots/{hs.pk}/sheet/").content.decode()
    assert "Hot spot (day and night), rank 2" in page
    assert "Hot-spot briefing · Hot spot (day and night), rank 2" in sheet
    for text in (page, sheet):
        assert "All hot spot" not in text and "· all ·" not in text


def test_briefing_edit_reaches_the_patrol_app(city: None) -> None:
    from rasure_web.patrols.selectors import hotspot_briefing

    c = _client("analyst")
    hs = HotSpot.objects.get(period="night", rank=1)
    r = c.post(
        f"/dashboard/hotspots/{hs.pk}/briefing/",
        {
            "background": "Late-night fights outside the bars at closing time.",
            "tasks": "Speak to door staff\\nCheck the taxi rank",
            "contact_name": "PS Synthetic Oak",
            "contact_details": "ext 1234",
        },
    )
    assert r.status_code == 302 and r["Location"].endswith("?saved=1#briefing")
    page = c.get(r["Location"]).content.decode()
    assert "Saved. Officers see it in the patrol app." in page and "Late-night fights" in page
    officer = User.objects.create_user(username="pc-brief", password="a-long-test-password")
    officer.groups.add(Group.objects.get(name="officer"))
    briefing = json.dumps(hotspot_briefing(user=officer, hotspot_id=hs.pk), default=str)
    assert "Late-night fights" in briefing and "PS Synthetic Oak" in briefing
    assert (
        _client("officer").post(f"/dashboard/hotspots/{hs.pk}/briefing/", {"background": "x"}).status_code
        == 403
    )


def test_patrol_monitoring_page(city: None) -> None:
    import uuid

    from rasure_web import clock
    from rasure_web.patrols.models import Visit

    hs = HotSpot.objects.get(period="night", rank=1)
    officer = User.objects.create_user(
        username="pc-mon", password="a-long-test-password", first_name="PC Synthetic Elm"
    )
    from rasure_web.trials.selectors import patrol_rules_for

    now = clock.now()
    Visit.objects.create(
        visit_id=uuid.uuid4(),
        start_client_id=uuid.uuid4(),
        officer=officer,
        hotspot=hs,
        trial_day=patrol_rules_for(when=now, force_id=only_force_id()).trial_day,
        started_at=now,
        start_received_at=now,
        dose_minutes=16.5,
        mode="foot",
        status="ended",
    )
    c = _client("supervisor")
    page = c.get("/dashboard/patrols/").content.decode()
    assert (
        "Patrol monitoring" in page
        and hs.code in page
        and "PC Synthetic Elm" in page
        and "Top contributors" in page
    )
    hs_page = c.get(f"/dashboard/hotspots/{hs.pk}/").content.decode()
    assert "Patrol history" in hs_page and "16.5" in hs_page
    assert _client("officer").get("/dashboard/patrols/").status_code == 403


def test_hot_times_say_why_they_are_empty_for_month_only_data(tmp_path: Path) -> None:
    """police.uk data carry only the month: the overview explains the missing grid, it does not draw
    an empty one."""
    from rasure_web.crimes import services
    from tests.factories import street_row, write_street

    f = write_street(tmp_path / "2024-03-t-street.csv", [street_row(f"m{i}") for i in range(6)])
    services.records_import_policeuk(paths=[str(f)])
    page = _client("analyst").get("/dashboard/").content.decode()
    assert 'class="heatmap"' not in page
    assert "No crimes with known times (6 are known only to the month, as in police.uk data)" in page
