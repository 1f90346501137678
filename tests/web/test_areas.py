"""`rasure areas load` / `lookup`: a force's boundaries in any format and CRS, used by hot spots,
trials, the dashboard filter and the concentration measure (issue 11 part 1)."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from django.test import Client

from rasure.geo import BNG, projected_to_lonlat, transformer
from rasure.synth import TOWN_BOUNDS
from rasure_web.accounts.tenancy import resolve_force
from rasure_web.analysis.models import AnalysisRun
from rasure_web.analysis.selectors import held_apart
from rasure_web.analysis.services import hotspots_build
from rasure_web.cli import main
from rasure_web.crimes.areas import force_area
from rasure_web.crimes.models import Area
from rasure_web.dashboard.selectors import area_choices
from tests.city import store_city

pytestmark = pytest.mark.django_db

X0, Y0, X1, Y1 = TOWN_BOUNDS
XM, YM = (X0 + X1) / 2, (Y0 + Y1) / 2
#: four "LSOAs" tiling the synthetic town (BNG metres), two in each half (the two "LPAs")
SQUARES = {
    "S01": (X0, Y0, XM, YM),
    "S02": (X0, YM, XM, Y1),
    "S03": (XM, Y0, X1, YM),
    "S04": (XM, YM, X1, Y1),
}
PARENT = {"S01": "WEST", "S02": "WEST", "S03": "EAST", "S04": "EAST"}


def _square(box: tuple[float, float, float, float], crs: str) -> shapely.Geometry:
    # densified, so the reprojected edge stays within centimetres of the BNG square
    g = shapely.segmentize(shapely.box(*box), 100.0)
    t = transformer(BNG, crs)
    return shapely.transform(g, lambda x, y: t.transform(x, y), interleaved=False)


def _write(path: Path, crs: str, driver: str, *, with_parent: bool = False) -> Path:
    codes = list(SQUARES)
    geoms = [_square(SQUARES[c], crs) for c in codes]
    fields = ["LSOA11CD", "LSOA11NM"]
    data = [np.array(codes, dtype=object), np.array([f"Square {c}" for c in codes], dtype=object)]
    if with_parent:
        fields.append("LPA")
        data.append(np.array([PARENT[c] for c in codes], dtype=object))
    pyogrio.raw.write(
        path,
        geometry=shapely.to_wkb(geoms),
        field_data=data,
        fields=fields,
        crs=crs,
        geometry_type="Polygon",
        driver=driver,
    )
    return path


def _city_without_areas() -> None:
    store_city(0.3)
    for kind in ("neighbourhood", "lsoa", "lpa", "force"):
        Area.objects.filter(kind=kind).delete()


@pytest.mark.parametrize(
    ("name", "crs", "driver"),
    [
        ("lsoa.geojson", "EPSG:4326", "GeoJSON"),
        ("lsoa.gpkg", "EPSG:3857", "GPKG"),
        ("lsoa.shp", "EPSG:32630", "ESRI Shapefile"),
    ],
)
def test_load_any_format_and_crs_lands_in_bng(tmp_path: Path, name: str, crs: str, driver: str) -> None:
    path = _write(tmp_path / name, crs, driver, with_parent=True)
    assert main(["force", "add", "TST", "--name", "Test force"]) == 0
    assert (
        main(["areas", "load", str(path), "--level", "lsoa", "--parent-field", "LPA", "--force", "TST"]) == 0
    )
    s01 = Area.objects.get(kind="lsoa", code="S01")
    assert s01.name == "Square S01" and s01.parent is not None and s01.parent.code == "WEST"
    got = shapely.from_geojson(s01.geometry_geojson)
    expected = shapely.box(*SQUARES["S01"])
    # the same square back in BNG metres, whatever CRS the file was in
    assert shapely.hausdorff_distance(got, expected) < 1.0
    west = Area.objects.get(kind="lpa", code="WEST")
    assert west.parent is not None and west.parent.code == "TST"
    assert shapely.from_geojson(west.geometry_geojson).area == pytest.approx(2 * expected.area, rel=1e-4)
    assert force_area().area == pytest.approx((X1 - X0) * (Y1 - Y0), rel=1e-4)


def test_lookup_then_build_gives_hotspots_their_lpa_and_trial_strata(tmp_path: Path) -> None:
    _city_without_areas()
    path = _write(tmp_path / "lsoa.geojson", "EPSG:4326", "GeoJSON")
    assert main(["areas", "load", str(path), "--level", "lsoa"]) == 0
    assert set(Area.objects.filter(kind="lsoa").values_list("parent", flat=True)) == {None}
    lookup = tmp_path / "lookup.csv"
    pd.DataFrame(
        {
            "LSOA11CD": [*SQUARES, "E01999999"],  # a national lookup: a code not loaded is ignored
            "LAD19CD": [*PARENT.values(), "E06999999"],
            "LAD19NM": ["West Town", "West Town", "East Town", "East Town", "Elsewhere"],
        }
    ).to_csv(lookup, index=False)
    rc = main(
        [
            "areas",
            "lookup",
            str(lookup),
            "--code-field",
            "LSOA11CD",
            "--parent-field",
            "LAD19CD",
            "--parent-name-field",
            "LAD19NM",
        ]
    )
    assert rc == 0
    assert not Area.objects.filter(code="E06999999").exists()
    assert Area.objects.get(kind="lpa", code="WEST").name == "West Town"
    from rasure.hotspots.analysis import HotspotParams

    run = hotspots_build(params=HotspotParams(top=6, gi_permutations=0))
    spots = list(run.hotspots.all())
    for h in spots:
        want = "WEST" if h.easting < XM else "EAST"
        assert h.lpa_code == want, (h.code, h.easting)
        assert h.neighbourhood_code == ""  # no neighbourhood level loaded
    assert {h.lpa_code for h in spots} == {"WEST", "EAST"}

    from rasure_web.trials.lifecycle import trial_create

    trial = trial_create(name="Strata test", start=date(2026, 12, 1), end=date(2027, 2, 28), synthetic=True)
    strata = set(trial.hotspots.values_list("stratum", flat=True))
    assert strata == {"WEST", "EAST"}


@pytest.mark.usefixtures("clock")
def test_dashboard_area_filter_uses_loaded_lpas(tmp_path: Path) -> None:
    from django.contrib.auth.models import Group, User

    from rasure.hotspots.analysis import HotspotParams

    _city_without_areas()
    path = _write(tmp_path / "lsoa.gpkg", "EPSG:3857", "GPKG", with_parent=True)
    assert main(["areas", "load", str(path), "--level", "lsoa", "--parent-field", "LPA"]) == 0
    hotspots_build(params=HotspotParams(top=6, gi_permutations=0))
    analyst = User.objects.create_user(username="t-analyst", password="a-long-test-password")
    analyst.groups.add(Group.objects.get(name="analyst"))
    assert [c.code for c in area_choices(user=analyst)] == ["", "EAST", "WEST"]
    c = Client()
    c.force_login(analyst)
    whole = c.get("/dashboard/")
    west = c.get("/dashboard/?area=WEST")
    assert whole.status_code == west.status_code == 200
    assert b"WEST" in west.content


def test_concentration_counts_the_force_area_not_the_bounding_box(tmp_path: Path) -> None:
    """An L-shaped force: a third of its bounding box is outside it, so the share of cells holding
    half the crime must be measured over the cells inside (as a hand count gives)."""
    from rasure.hotspots.analysis import HotspotParams, analyse

    rng = np.random.default_rng(5)
    n = 600
    # points only in the L: the bottom half and the top-left quarter of a 3 km square
    x = rng.uniform(0, 3000, n)
    y = rng.uniform(0, 3000, n)
    keep = (y < 1500) | (x < 1500)
    x, y = x[keep] + 450_000, y[keep] + 200_000
    t = pd.Timestamp("2026-06-01") + pd.to_timedelta(rng.uniform(0, 150, len(x)), unit="D")
    recs = pd.DataFrame(
        {
            "source": "t",
            "reference": [str(i) for i in range(len(x))],
            "easting": x,
            "northing": y,
            "occurred_from": t,
            "occurred_to": t,
            "time_precision": "minute",
            "serious_violence": True,
            "harm_days": 1.0,
            "offence_description": "x",
            "category": "v",
            "location_text": "street",
        }
    )
    area = shapely.difference(
        shapely.box(450_000, 200_000, 453_000, 203_000), shapely.box(451_500, 201_500, 453_000, 203_000)
    )
    p = HotspotParams(cell_size_m=150, periods="all", gi_permutations=0, min_count=1, window_months=6)
    box = analyse(recs, params=p).concentration["all"]
    own = analyse(recs, params=p, study_area=area).concentration["all"]
    # hand count: cells of the grid whose centre is in the L, plus occupied cells outside it
    assert own.n_places < box.n_places
    assert own.n_places == pytest.approx(0.75 * box.n_places, rel=0.08)
    assert own.places_for_shares[0.5] > box.places_for_shares[0.5]


def test_bad_boundary_files_are_refused_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    no_code = tmp_path / "nocode.geojson"
    no_code.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"x": 1},
                        "geometry": {"type": "Point", "coordinates": [-1.0, 51.5]},
                    }
                ],
            }
        )
    )
    assert main(["areas", "load", str(no_code), "--level", "lpa"]) == 2
    assert "no area-code field" in capsys.readouterr().err
    assert main(["areas", "load", str(no_code), "--level", "lpa", "--code-field", "x"]) == 2
    assert "not a polygon" in capsys.readouterr().err
    junk = tmp_path / "junk.gpkg"
    junk.write_text("not a geopackage")
    assert main(["areas", "load", str(junk), "--level", "lpa"]) == 2
    assert "cannot be read as a boundary file" in capsys.readouterr().err
    assert not Area.objects.exists()


@pytest.mark.realdata
def test_thames_valley_lsoas_give_lpas_strata_and_a_held_police_station(
    shared_data: Path, tmp_path: Path
) -> None:
    """Real data end to end: Thames Valley LSOA boundaries, an LSOA -> local authority lookup
    derived from the ONS file, two months of police.uk street files."""
    from rasure.hotspots.analysis import HotspotParams
    from rasure_web.crimes import services

    lsoas = shared_data / "boundaries" / "thames_valley_lsoa2011_bgc.geojson"
    ons = shared_data / "reference" / "ons_geography" / "LSOA11_WD19_LAD19_EW_LU.csv.gz"
    assert main(["force", "add", "TVP", "--name", "Thames Valley Police"]) == 0
    assert (
        main(
            [
                "areas",
                "load",
                str(lsoas),
                "--level",
                "lsoa",
                "--code-field",
                "LSOA11CD",
                "--name-field",
                "LSOA11NM",
                "--force",
                "TVP",
            ]
        )
        == 0
    )
    lookup = tmp_path / "lsoa_lpa.csv"
    with gzip.open(ons, "rt", encoding="utf-8-sig") as fh:
        pd.read_csv(fh, dtype=str).to_csv(lookup, index=False)
    assert (
        main(
            [
                "areas",
                "lookup",
                str(lookup),
                "--code-field",
                "LSOA11CD",
                "--parent-field",
                "LAD19CD",
                "--parent-name-field",
                "LAD19NM",
            ]
        )
        == 0
    )
    n_lpa = Area.objects.filter(kind="lpa").count()
    assert n_lpa >= 10  # Thames Valley covers 18 local authorities (2019)
    assert not Area.objects.filter(kind="lsoa", parent__isnull=True).exists()
    assert not Area.objects.filter(kind="lpa", parent__isnull=True).exists()  # all under the force
    tvp = shapely.from_geojson(Area.objects.get(kind="force").geometry_geojson)
    assert 5.0e9 < tvp.area < 6.5e9  # Thames Valley: about 5,700 km2
    files = sorted(
        str(p) for p in (shared_data / "policeuk" / "thames-valley" / "street").glob("2018-1[01]-*.csv")
    )
    assert all(r.ok for r in services.records_import_policeuk(paths=files))
    run = hotspots_build(params=HotspotParams(top=20, gi_permutations=0, window_months=2))
    lpas = [h.lpa_code for h in run.hotspots.all()]
    assert sum(1 for c in lpas if c) >= 0.9 * len(lpas)
    assert len(set(lpas)) >= 4
    held = held_apart(tenant=resolve_force(None).pk)
    assert any("police station" in p["location"].lower() and "recording address" in p["reason"] for p in held)
    assert not any("police station" in h.name.lower() for h in run.hotspots.all())
    lon, lat = projected_to_lonlat(
        np.array([run.hotspots.first().easting]), np.array([run.hotspots.first().northing])
    )
    assert -2.0 < lon[0] < 0.0 and 51.0 < lat[0] < 52.5
    assert AnalysisRun.objects.count() == 1


def test_a_boundary_file_reaching_outside_the_forces_crs_is_refused_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A British National Grid force and a file whose second polygon lies in Illinois (far outside
    BNG's area of use): refused naming the file, the feature, its code and the field; nothing stored."""
    assert main(["force", "add", "TST", "--name", "Test force"]) == 0  # EPSG:27700 by default
    here = _square(SQUARES["S01"], "EPSG:4326")
    chicago = shapely.box(-87.70, 41.85, -87.60, 41.90)
    path = tmp_path / "mixed.geojson"
    pyogrio.raw.write(
        path,
        geometry=shapely.to_wkb([here, chicago]),
        field_data=[np.array(["S01", "FAR01"], dtype=object)],
        fields=["LSOA11CD"],
        crs="EPSG:4326",
        geometry_type="Polygon",
        driver="GeoJSON",
    )
    assert main(["areas", "load", str(path), "--level", "lsoa", "--force", "TST"]) == 2
    err = capsys.readouterr().err
    assert "mixed.geojson" in err and "feature 2 (LSOA11CD FAR01)" in err and "field geometry" in err
    assert "outside the area of use of EPSG:27700" in err and "lon -87.60000, lat 41.85000" in err
    assert not Area.objects.exists()
    # the same file without the far polygon loads
    pyogrio.raw.write(
        path,
        geometry=shapely.to_wkb([here]),
        field_data=[np.array(["S01"], dtype=object)],
        fields=["LSOA11CD"],
        crs="EPSG:4326",
        geometry_type="Polygon",
        driver="GeoJSON",
    )
    assert main(["areas", "load", str(path), "--level", "lsoa", "--force", "TST"]) == 0
    assert list(Area.objects.filter(kind="lsoa").values_list("code", flat=True)) == ["S01"]
