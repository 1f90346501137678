"""The map's crimes and density layers and the hot-spot page are cached per data version (issue 17,
item 4): a repeat view reads no crime records, and an import or a deletion is seen at the next view."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rasure_web.analysis.models import HotSpot
from rasure_web.cli import main
from rasure_web.crimes.models import CrimeRecord
from rasure_web.crimes.services import records_delete
from tests.city import CITY_END, store_city_with_hotspots

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]  # now pinned: tests/conftest.py

LAYERS = ("/dashboard/map/crimes.json?zoom=11", "/dashboard/map/density.json")


@pytest.fixture
def analyst() -> Client:
    store_city_with_hotspots()
    u = User.objects.create_user(username="t-analyst", password="a-long-test-password")
    u.groups.add(Group.objects.get(name="analyst"))
    c = Client()
    c.force_login(u)
    return c


def _record_reads(c: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as q:
        assert c.get(url).status_code == 200
    return sum('"crime_record"' in x["sql"] for x in q.captured_queries)


def _sv_in_map_window() -> int:
    """Serious violence the crimes layer shows by default: with coordinates, in the 12 months (of
    30.44 days) up to the latest such record."""
    qs = CrimeRecord.objects.filter(
        serious_violence=True, easting__isnull=False, lon__isnull=False, lat__isnull=False
    )
    last = qs.order_by("-occurred_from").values_list("occurred_from", flat=True).first()
    return qs.filter(occurred_from__gte=last - dt.timedelta(days=30.44 * 12)).count()


def test_repeat_views_read_no_crime_records(analyst: Client) -> None:
    hs = HotSpot.objects.order_by("rank").first()
    assert hs is not None
    for url in (*LAYERS, f"/dashboard/hotspots/{hs.pk}/"):
        assert _record_reads(analyst, url) > 0, url  # computed at the first view
        assert _record_reads(analyst, url) == 0, url  # then read from the cache
    # another box or zoom of the same filter reuses the filter's points
    lon, lat = hs.lon, hs.lat
    assert (
        _record_reads(
            analyst, f"/dashboard/map/crimes.json?zoom=13&bbox={lon - 0.05},{lat - 0.05},{lon},{lat}"
        )
        == 0
    )


def test_warm_cache_computes_the_map_layers_and_hot_spot_pages(analyst: Client) -> None:
    from rasure_web.dashboard.selectors import warm_cache

    warm_cache()
    for hs in HotSpot.objects.all():
        assert _record_reads(analyst, f"/dashboard/hotspots/{hs.pk}/") == 0, hs.code
    for url in LAYERS:
        assert _record_reads(analyst, url) == 0, url


def test_a_deletion_is_seen_by_the_layers_and_the_hot_spot_page(analyst: Client) -> None:
    hs = HotSpot.objects.order_by("rank").first()
    assert hs is not None
    crimes = analyst.get(LAYERS[0]).json()
    assert crimes["properties"]["records"] == _sv_in_map_window()
    png = analyst.get(LAYERS[1]).content
    page = analyst.get(f"/dashboard/hotspots/{hs.pk}/")
    assert len(page.context["crimes"]) > 0
    assert min(_trend_months(hs)) < f"{CITY_END - dt.timedelta(days=182):%Y-%m}"

    # records before the last 6 months of the city go (retention): fewer on the map, another density
    cut = dt.datetime.combine(CITY_END - dt.timedelta(days=182), dt.time(0), tzinfo=dt.UTC)
    assert records_delete(occurred_before=cut) > 0
    after = analyst.get(LAYERS[0]).json()
    assert after["properties"]["records"] == _sv_in_map_window() < crimes["properties"]["records"]
    assert analyst.get(LAYERS[1]).content != png
    page = analyst.get(f"/dashboard/hotspots/{hs.pk}/")
    assert all(c["occurred_from"] >= cut for c in page.context["crimes"])
    assert all(m >= f"{cut:%Y-%m}" for m in _trend_months(hs))


def _trend_months(hs: HotSpot) -> list[str]:
    from rasure_web.dashboard.selectors import hotspot_trend

    user = User.objects.get(username="t-analyst")
    return [str(m) for m in hotspot_trend(user=user, hs=hs)["month"]]


def test_an_import_is_seen_by_the_layers_and_the_hot_spot_page(analyst: Client, tmp_path: Path) -> None:
    hs = HotSpot.objects.order_by("rank").first()
    assert hs is not None
    before = analyst.get(LAYERS[0]).json()["properties"]["records"]
    png = analyst.get(LAYERS[1]).content
    trend = _trend_counts(hs)
    # a police.uk file of the city's last month: 40 violent crimes at the hot spot's centre
    month = f"{CITY_END:%Y-%m}"
    rows = [
        f"T{i:04d},{month},Test Police,Test Police,{hs.lon:.6f},{hs.lat:.6f},On or near High Street,,,"
        "Violence and sexual offences,Under investigation,"
        for i in range(40)
    ]
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / f"{month}-test-street.csv").write_text(
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
        "Crime type,Last outcome category,Context\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    assert main(["import", "police-uk", str(folder)]) == 0
    after = analyst.get(LAYERS[0]).json()["properties"]["records"]
    assert after == _sv_in_map_window() > before
    assert analyst.get(LAYERS[1]).content != png
    assert _trend_counts(hs).get(month, 0) > trend.get(month, 0)


def _trend_counts(hs: HotSpot) -> dict[str, int]:
    from rasure_web.dashboard.selectors import hotspot_trend

    user = User.objects.get(username="t-analyst")
    t = hotspot_trend(user=user, hs=hs)
    return dict(zip(t["month"].astype(str), t["count"].astype(int), strict=True))
