"""Outputs that were wrong on real data, each with the test that would have caught it (issue 11 part 8)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
import shapely
from django.contrib.auth.models import Group, User
from django.test import Client

from rasure.hotspots.analysis import HotspotParams, analyse, to_csv_frame, to_geojson
from rasure_web.analysis.models import HotSpot
from rasure_web.analysis.services import hotspots_build
from rasure_web.cli import main
from rasure_web.crimes import services
from rasure_web.dashboard.selectors import hotspot_hot_times
from tests.city import store_city_with_hotspots
from tests.factories import street_row, write_street

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
KML = "{http://www.opengis.net/kml/2.2}"


def _analyst() -> Client:
    u = User.objects.create_user(username="t-analyst", password="a-long-test-password")
    u.groups.add(Group.objects.get(name="analyst"))
    c = Client()
    c.force_login(u)
    return c


def _no_nan(text: str) -> object:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in JSON output")

    return json.loads(text, parse_constant=refuse)


def _policeuk(tmp_path: Path, months: list[str]) -> Path:
    rows = []
    for m in months:
        for i in range(12):
            rows.append(street_row(f"{m}-a{i}", m, "-3.0000", "51.6000", location="On or near Market Street"))
            rows.append(street_row(f"{m}-b{i}", m, "-3.0300", "51.6100", location="On or near Bridge Street"))
    return write_street(tmp_path / f"{months[-1]}-test-street.csv", rows)


def _kml_area(text: str, code: str) -> float:
    root = ET.fromstring(text)
    for pm in root.iter(f"{KML}Placemark"):
        if pm.findtext(f"{KML}name", "").startswith(code + " "):
            polys = []
            for poly in pm.iter(f"{KML}Polygon"):
                rings = []
                for tag in ("outerBoundaryIs", "innerBoundaryIs"):
                    for b in poly.findall(f"{KML}{tag}"):
                        text_ = b.findtext(f"{KML}LinearRing/{KML}coordinates", "")
                        rings.append([tuple(map(float, p.split(",")[:2])) for p in text_.split()])
                polys.append(shapely.Polygon(rings[0], rings[1:]))
            return float(shapely.union_all(polys).area)
    raise AssertionError(f"{code} not in the KML")


def test_kml_keeps_every_part_of_a_multipart_hot_spot() -> None:
    store_city_with_hotspots()
    h = HotSpot.objects.order_by("period", "rank").first()
    assert h is not None
    g = shapely.from_geojson(h.geofence_lonlat_geojson)
    x0, y0, x1, y1 = g.bounds
    w, d = x1 - x0, y1 - y0
    # two parts, the second with a hole: as a real merged hot spot can be
    part2 = shapely.Polygon(
        [(x1 + w, y0), (x1 + 3 * w, y0), (x1 + 3 * w, y0 + 2 * d), (x1 + w, y0 + 2 * d)],
        [
            [
                (x1 + 1.5 * w, y0 + 0.5 * d),
                (x1 + 2 * w, y0 + 0.5 * d),
                (x1 + 2 * w, y0 + d),
                (x1 + 1.5 * w, y0 + d),
            ]
        ],
    )
    multi = shapely.MultiPolygon([g, part2])
    h.geofence_lonlat_geojson = shapely.to_geojson(multi)
    h.save()
    c = _analyst()
    gj = _no_nan(c.get("/dashboard/export/hotspots.geojson").content.decode())
    feat = next(f for f in gj["features"] if f["properties"]["code"] == h.code)  # type: ignore[index]
    gj_area = shapely.geometry.shape(feat["geometry"]).area
    kml_area = _kml_area(c.get("/dashboard/export/hotspots.kml").content.decode(), h.code)
    assert kml_area == pytest.approx(gj_area, rel=1e-4)  # both rounded to 6 decimals
    assert kml_area == pytest.approx(multi.area, rel=1e-4)


def test_hot_times_of_a_day_hot_spot_use_its_period_and_window() -> None:
    run = store_city_with_hotspots()
    day = run.hotspots.filter(period="day").first()
    night = run.hotspots.filter(period="night").first()
    assert day is not None and night is not None
    admin = User.objects.create_user(username="t-a", password="a-long-test-password")
    admin.groups.add(Group.objects.get(name="analyst"))
    ht = hotspot_hot_times(user=admin, hs=day)
    hours = [int(h) for h in ht["hours"]]
    for row in ht["rows"]:
        for h, (v, _) in zip(hours, row["cells"], strict=True):
            if not 6 <= h < 18:
                assert v == 0.0, (row["day"], h)
    assert any(v > 0 for row in ht["rows"] for v, _ in row["cells"])
    assert f"from {run.window_start} to {run.window_end}" in ht["scope"] and "in the day" in ht["scope"]
    ht_n = hotspot_hot_times(user=admin, hs=night)
    for row in ht_n["rows"]:
        for h, (v, _) in zip(hours, row["cells"], strict=True):
            if 6 <= h < 18:
                assert v == 0.0
    page = _analyst().get(f"/dashboard/hotspots/{day.pk}/")
    assert (
        "the hot spot&#x27;s window" in page.content.decode()
        or "the hot spot's window" in page.content.decode()
    )


def test_policeuk_outputs_have_no_nan_and_say_approximation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _policeuk(tmp_path, ["2024-01", "2024-02", "2024-03", "2024-04"])
    assert all(r.ok for r in services.records_import_policeuk(paths=[str(src)]))
    hotspots_build(params=HotspotParams(top=2, gi_permutations=0, min_count=3))
    c = _analyst()
    points = _no_nan(c.get("/dashboard/map/crimes.json?zoom=17").content.decode())
    assert points["features"] and all(isinstance(f["properties"]["offence"], str) for f in points["features"])  # type: ignore[index]
    for url in (
        "/dashboard/map/hotspots.json",
        "/dashboard/export/hotspots.geojson",
        "/dashboard/map/areas.json",
    ):
        _no_nan(c.get(url).content.decode())
    rows = list(csv.DictReader(io.StringIO(c.get("/dashboard/export/hotspots.csv").content.decode())))
    assert rows and all("approximation" in r["serious_violence_basis"] for r in rows)
    assert all("APPROXIMATION" in r["harm_basis"] for r in rows)
    assert "approximation" in c.get("/dashboard/export/hotspots.kml").content.decode()
    overview = c.get("/dashboard/").content.decode()
    assert "Serious violence, last 4 months (all the data)" in overview
    assert "last 12 months" not in overview.split("Law of concentration")[0]
    # the file path: CSV and the Python GeoJSON say it too
    out = tmp_path / "hs.csv"
    assert (
        main(
            [
                "hotspots",
                "analyse",
                str(src),
                "--format",
                "csv",
                "--out",
                str(out),
                "--permutations",
                "0",
                "--min-count",
                "3",
            ]
        )
        == 0
    )
    frame = pd.read_csv(out)
    assert frame["serious_violence_basis"].str.contains("approximation").all()


def _four_months() -> pd.DataFrame:
    t = pd.date_range("2026-03-01", "2026-06-30 23:00", periods=120)
    return pd.DataFrame(
        {
            "source": "t",
            "reference": [f"r{i}" for i in range(120)],
            "easting": 450_000.0 + (pd.Series(range(120)) % 5) * 400,
            "northing": 200_000.0,
            "occurred_from": t,
            "occurred_to": t,
            "time_precision": "minute",
            "serious_violence": True,
            "sv_basis": "policeuk_approximation",
            "harm_days": 1.0,
            "offence_description": "wounding",
            "category": "Violence and sexual offences",
            "location_text": "On or near High Street",
        }
    )


def test_window_facts_match_the_span_of_the_data() -> None:
    res = analyse(_four_months(), params=HotspotParams(gi_permutations=0, top=1, periods="all"))
    facts = " ".join(res.hotspots.iloc[0]["facts"])
    assert "in the last 12 months" not in facts
    assert "in the 4 months of data (2026-03-01 to 2026-06-30)" in facts
    assert "against 0" not in facts and "no data before this window" in facts
    assert "approximation" in to_geojson(res)["properties"]["serious_violence"]
    assert to_csv_frame(res)["serious_violence_basis"].str.contains("approximation").all()


@pytest.mark.parametrize(
    "query",
    [
        "/dashboard/?area=%00",
        "/dashboard/map/crimes.json?zoom=abc",
        "/dashboard/map/crimes.json?zoom=99999999999999999999",
        "/dashboard/map/crimes.json?months=-3",
        "/dashboard/map/crimes.json?bbox=nan,nan,nan,nan",
        "/dashboard/map/crimes.json?bbox=1,2",
        "/dashboard/map/crimes.json?category=%00",
        "/dashboard/map/density.json?months=x",
        "/dashboard/map/hotspots.json?period=%00",
        "/dashboard/patrols/?weeks=lots",
        "/dashboard/patrols/?weeks=0",
        "/dashboard/export/hotspots.csv?area=a%00b",
    ],
)
def test_malformed_query_values_are_400_not_500(query: str) -> None:
    store_city_with_hotspots()
    r = _analyst().get(query)
    assert r.status_code == 400, (query, r.status_code)
