"""Institutions: register loading and validation, tagging, shares, dominant locations, place screening."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from rasure.errors import InputFileError, InvalidRowsError
from rasure.institutions import (
    REVIEW_FLAG,
    InstitutionInputError,
    InstitutionRegister,
    detect_dominant_locations,
    institution_shares,
    institution_totals,
    location_text_keys,
    make_register,
    read_institutions,
    read_institutions_csv,
    read_institutions_geojson,
    screen_places,
    tag_records,
)

E0, N0 = 450_000.0, 200_000.0  # somewhere in Oxfordshire, BNG metres


def square(x0: float, y0: float, side: float) -> shapely.Polygon:
    return shapely.box(x0, y0, x0 + side, y0 + side)


@pytest.fixture
def register() -> InstitutionRegister:
    # 0: a prison polygon 200 m square; 1: a hospital site polygon 300 m square;
    # 2: an A&E point inside the hospital site; 3: a school point elsewhere.
    return make_register(
        pd.DataFrame(
            {
                "name": ["HMP Example", "General Hospital", "General Hospital A&E", "St Mary's School"],
                "type": ["prison", "hospital", "A&E", "school"],
                "easting": [math.nan, math.nan, E0 + 1150.0, E0 + 3000.0],
                "northing": [math.nan, math.nan, N0 + 150.0, N0],
                "radius_m": [math.nan, math.nan, 30.0, math.nan],
                "geometry": [square(E0, N0, 200), square(E0 + 1000, N0, 300), None, None],
            }
        ),
        source="test",
    )


# --------------------------------------------------------------------------- register and tagging


def test_make_register_kinds_areas_and_default_radius(register: InstitutionRegister) -> None:
    t = register.table
    assert t["kind"].tolist() == ["polygon", "polygon", "point", "point"]
    assert t["type"].tolist() == ["prison", "hospital", "a_and_e", "school"]
    assert t["radius_m"].iloc[3] == 25.0  # the 25 m snap of docs/methods.md §1.2
    assert t["area_m2"].iloc[0] == pytest.approx(40_000)
    assert t["area_m2"].iloc[2] == pytest.approx(math.pi * 900)
    assert len(register) == 4


def test_tag_records_radius_polygon_and_most_specific(register: InstitutionRegister) -> None:
    x = [
        E0 + 100,
        E0 + 200,
        E0 + 1010,
        E0 + 1150 + 30,
        E0 + 1150 + 30.01,
        E0 + 3000 + 15,
        E0 + 3000 + 20,
        E0 + 600,
        math.nan,
    ]
    y = [N0 + 100, N0 + 100, N0 + 10, N0 + 150, N0 + 150, N0 + 20, N0 + 20, N0, N0]
    got = tag_records(register, x, y).tolist()
    # inside prison; on its boundary; hospital site; exactly 30 m from the A&E (inside the hospital too,
    # the smaller A&E footprint wins); 30.01 m: hospital only; 15-20 m offset: 25 m from the school;
    # √(20²+20²)=28.3 m: outside; open ground; no coordinates
    assert got == [0, 0, 1, 2, 1, 3, -1, -1, -1]


def test_tag_records_empty_register_and_length_mismatch() -> None:
    empty = make_register(pd.DataFrame({"name": [], "type": [], "easting": [], "northing": []}))
    assert tag_records(empty, [1.0, 2.0], [1.0, 2.0]).tolist() == [-1, -1]
    with pytest.raises(InstitutionInputError, match="one of each"):
        tag_records(empty, [1.0], [1.0, 2.0])


def test_make_register_rejects_unknown_type() -> None:
    with pytest.raises(InstitutionInputError, match="use one of"):
        make_register(pd.DataFrame({"name": ["X"], "type": ["jail"], "easting": [E0], "northing": [N0]}))


# --------------------------------------------------------------------------- CSV and GeoJSON loaders


def test_csv_easting_lonlat_and_wkt(tmp_path: Path) -> None:
    f = tmp_path / "inst.csv"
    f.write_text(
        "name,type,easting,northing,radius_m,lon,lat,wkt\n"
        f"HMP A,prison,{E0},{N0},40,,,\n"
        "John Radcliffe A&E,A&E,,,,-1.2196,51.7636,\n"
        f'Custody block,Custody Suite,,,,,,"POLYGON (({E0} {N0}, {E0 + 50} {N0}, {E0 + 50} {N0 + 50}, {E0} {N0}))"\n',
        encoding="utf-8",
    )
    reg = read_institutions(f)
    t = reg.table
    assert t["type"].tolist() == ["prison", "a_and_e", "custody_suite"]
    assert t["radius_m"].iloc[0] == 40.0 and t["radius_m"].iloc[1] == 25.0
    assert t["kind"].tolist() == ["point", "point", "polygon"]
    # lon/lat converted to BNG once at load (John Radcliffe is near E 453,9xx, N 207,7xx)
    assert 453_000 < t["easting"].iloc[1] < 455_000 and 207_000 < t["northing"].iloc[1] < 209_000
    assert reg.source == str(f)


def test_csv_reports_every_bad_row_with_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(
        "name,type,easting,northing,radius_m\n"
        f"Good,prison,{E0},{N0},\n"  # line 2
        f",hospital,{E0},{N0},\n"  # line 3: no name
        f"Jail,jail,{E0},{N0},\n"  # line 4: unknown type
        f"Somewhere,school,abc,{N0},\n"  # line 5: easting not a number
        f"Far,school,{E0},{N0},-5\n"  # line 6: bad radius
        "Paris,school,-1000,5,\n",  # line 7: outside BNG
        encoding="utf-8",
    )
    with pytest.raises(InvalidRowsError) as info:
        read_institutions_csv(f)
    got = [(p.line, p.field) for p in info.value.problems]
    assert got == [(3, "name"), (4, "type"), (5, "easting"), (6, "radius_m"), (7, "easting")]
    assert "bad.csv" in str(info.value) and "line 3" in str(info.value)
    assert "use one of" in str(info.value.problems[1])


def test_csv_header_and_file_errors(tmp_path: Path) -> None:
    f = tmp_path / "nohdr.csv"
    f.write_text("title,kind\nA,prison\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="lacks name, type") as info:
        read_institutions_csv(f)
    assert info.value.line == 1
    with pytest.raises(InputFileError, match="not found"):
        read_institutions_csv(tmp_path / "missing.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,type,easting,northing\nCaf\xe9,retail,450000,200000\n".encode("latin-1"))
    with pytest.raises(InputFileError, match="UTF-8"):
        read_institutions_csv(latin)
    with pytest.raises(InputFileError, match="unsupported"):
        read_institutions(tmp_path / "x.shp")


def _feature(name: str, itype: str, geometry: dict, **props: object) -> dict:
    return {"type": "Feature", "properties": {"name": name, "type": itype, **props}, "geometry": geometry}


def test_geojson_lonlat_polygons_and_points(tmp_path: Path) -> None:
    ring = [[-1.26, 51.75], [-1.25, 51.75], [-1.25, 51.755], [-1.26, 51.755], [-1.26, 51.75]]
    doc = {
        "type": "FeatureCollection",
        "features": [
            _feature("HMP Lonlat", "prison", {"type": "Polygon", "coordinates": [ring]}),
            _feature(
                "Station", "police_station", {"type": "Point", "coordinates": [-1.25, 51.75]}, radius_m=50
            ),
        ],
    }
    f = tmp_path / "inst.geojson"
    f.write_text(json.dumps(doc), encoding="utf-8")
    reg = read_institutions_geojson(f)
    assert reg.table["kind"].tolist() == ["polygon", "point"]
    assert reg.table["radius_m"].iloc[1] == 50.0
    # ~0.01° lon × 0.005° lat at 51.75° N ≈ 690 m × 556 m
    assert 300_000 < reg.table["area_m2"].iloc[0] < 500_000
    inside = reg.footprints[0].representative_point()
    assert tag_records(reg, [inside.x], [inside.y]).tolist() == [0]


def test_geojson_legacy_bng_crs_member(tmp_path: Path) -> None:
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
        "features": [_feature("Custody", "custody_suite", {"type": "Point", "coordinates": [E0, N0]})],
    }
    f = tmp_path / "bng.geojson"
    f.write_text(json.dumps(doc), encoding="utf-8")
    reg = read_institutions_geojson(f)
    assert (reg.table["easting"].iloc[0], reg.table["northing"].iloc[0]) == (E0, N0)


def test_geojson_reports_every_bad_feature(tmp_path: Path) -> None:
    bowtie = [[-1.0, 51.0], [-0.99, 51.01], [-0.99, 51.0], [-1.0, 51.01], [-1.0, 51.0]]
    doc = {
        "type": "FeatureCollection",
        "features": [
            _feature("Ok", "school", {"type": "Point", "coordinates": [-1.0, 51.0]}),
            _feature("", "school", {"type": "Point", "coordinates": [-1.0, 51.0]}),
            _feature("Bad type", "dungeon", {"type": "Point", "coordinates": [-1.0, 51.0]}),
            _feature("Line", "school", {"type": "LineString", "coordinates": [[-1.0, 51.0], [-1.1, 51.1]]}),
            _feature("Bowtie", "prison", {"type": "Polygon", "coordinates": [bowtie]}),
            _feature("Metres", "school", {"type": "Point", "coordinates": [E0, N0]}),
        ],
    }
    f = tmp_path / "bad.geojson"
    f.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        read_institutions_geojson(f)
    msg = str(info.value)
    assert "5 problem(s) in 6 features" in msg
    for part in (
        "feature 2: property 'name'",
        "feature 3 ('Bad type')",
        "feature 4 ('Line')",
        "feature 5 ('Bowtie'): invalid polygon",
        "feature 6 ('Metres'): coordinates are not lon/lat",
    ):
        assert part in msg


def test_geojson_not_json_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "broken.geojson"
    f.write_text('{\n  "type": "FeatureCollection",\n  "features": [,]\n}', encoding="utf-8")
    with pytest.raises(InputFileError, match="not valid JSON") as info:
        read_institutions_geojson(f)
    assert info.value.line == 3


# --------------------------------------------------------------------------- shares per cell


def test_institution_shares_hand_case(register: InstitutionRegister) -> None:
    cells = ["a", "a", "a", "a", "b", "b", "c"]
    inst = [0, 0, 1, -1, 1, 1, -1]
    harm = [60.0, 20.0, 30.0, 10.0, 0.0, 0.0, float("nan")]
    out = institution_shares(cells, inst, harm, register=register).set_index("cell_id")
    # cell a: total 120; prison 80 (2 records) beats hospital 30 → 80/120, count 2/4
    assert out.loc["a", "harm_total"] == 120.0
    assert out.loc["a", "top_institution"] == 0
    assert out.loc["a", "top_harm_share"] == pytest.approx(2 / 3)
    assert out.loc["a", "top_count_share"] == pytest.approx(0.5)
    assert out.loc["a", "top_institution_name"] == "HMP Example"
    # cell b: zero harm → harm share undefined, count share 1
    assert out.loc["b", "top_institution"] == 1 and math.isnan(out.loc["b", "top_harm_share"])
    assert out.loc["b", "top_count_share"] == 1.0
    # cell c: missing harm counts 0, no institution
    assert out.loc["c", "top_institution"] == -1 and pd.isna(out.loc["c", "top_institution_name"])


def test_institution_totals_panel(register: InstitutionRegister) -> None:
    out = institution_totals(register, [0, 0, 1, 3, -1], [10.0, 10.0, 60.0, 20.0, 500.0])
    assert out["name"].tolist()[:3] == ["General Hospital", "HMP Example", "St Mary's School"]
    # the prison and the school tie on harm (20 each); the prison has more records (2 vs 1)
    np.testing.assert_allclose(out["harm_share"], [0.6, 0.2, 0.2, 0.0])
    np.testing.assert_allclose(out["cumulative_harm_share"], [0.6, 0.8, 1.0, 1.0])
    with pytest.raises(InstitutionInputError):
        institution_totals(register, [9], [1.0])


# --------------------------------------------------------------------------- dominant locations


def test_detect_dominant_locations_by_coordinates_and_text() -> None:
    cells = ["p"] * 6 + ["q"] * 4
    x = [10.0, 10.0, 10.0, 10.0, 50.0, 90.0, 1.0, 2.0, 3.0, 4.0]
    y = [0.0] * 10
    harm = [100.0, 100.0, 50.0, 50.0, 200.0, 100.0] + [5.0] * 4
    text = (
        ["On or near X"] * 4 + ["Y", "Z"] + ["  HMP  Somewhere ", "hmp somewhere", "HMP Somewhere", "Street"]
    )
    out = detect_dominant_locations(cells, x, y, harm, location_text=text, threshold=0.5)
    rows = {(r.cell_id, r.key_type): r for r in out.itertuples()}
    # cell p: (10, 0) holds 300 of 600 harm = 0.5 ≥ 0.5, in 4 records
    assert rows[("p", "coordinates")].harm_share == pytest.approx(0.5)
    assert rows[("p", "coordinates")].location == "10.00,0.00"
    assert rows[("p", "coordinates")].count_share == pytest.approx(4 / 6)
    assert rows[("p", "location_text")].n_records == 4
    # cell q: coordinates all differ, but the text (normalised) is the same for 3 of 4 → 0.75
    assert ("q", "coordinates") not in rows
    assert rows[("q", "location_text")].location == "hmp somewhere"
    assert rows[("q", "location_text")].harm_share == pytest.approx(0.75)
    assert set(out["flag"]) == {REVIEW_FLAG}


def test_location_text_keys_are_each_texts_own_key() -> None:
    # worked out once per distinct text: the same key a text gets on its own, NA for a blank or missing one
    texts = ["  On or near  HIGH Street", "", " ", None, "Stra\u00dfe", "a\x0bb", "On or near High  street"]
    series = pd.Series(texts * 3, index=np.arange(21) * 2, name="location_text", dtype="string")
    keys = location_text_keys(series)
    own = [location_text_keys(pd.Series([t], dtype="string")).iloc[0] for t in series]
    assert keys.index.equals(series.index) and keys.name == "location_text" and keys.dtype == series.dtype
    assert keys.iloc[:7].tolist() == [
        "on or near high street",
        pd.NA,
        pd.NA,
        pd.NA,
        "strasse",
        "a b",
        "on or near high street",
    ]
    assert [k is pd.NA for k in keys] == [k is pd.NA for k in own]
    assert [k for k in keys if k is not pd.NA] == [k for k in own if k is not pd.NA]


def test_detect_dominant_locations_keys_each_point_by_its_own_value() -> None:
    # points written once per distinct value: -0.0 is not 0.0, a point without both coordinates has none
    x = [-0.0, 0.0, 0.0, np.nan, 1.005, 1.005, np.inf]
    y = [2.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0]
    out = detect_dominant_locations(["c"] * 7, x, y, [1.0] * 7, threshold=0.0, min_events=2)
    assert out["location"].tolist() == [f"{0.0:.2f},{2.0:.2f}"]
    out = detect_dominant_locations(["c"] * 7, x, y, [1.0, 1.0, 1.0, 1.0, 5.0, 5.0, 1.0], min_events=2)
    assert out["location"].tolist() == [f"{1.005:.2f},{3.0:.2f}"]


def test_detect_dominant_locations_needs_min_events_and_threshold() -> None:
    # two records at one point holding all harm: below min_events = 3
    assert detect_dominant_locations(["c", "c"], [1.0, 1.0], [1.0, 1.0], [10.0, 10.0]).empty
    out = detect_dominant_locations(["c"] * 4, [1.0, 1.0, 1.0, 2.0], [0.0] * 4, [1.0, 1.0, 1.0, 7.0])
    assert out.empty  # 3 of 10 harm at the repeated point
    assert (
        len(
            detect_dominant_locations(
                ["c"] * 4, [1.0, 1.0, 1.0, 2.0], [0.0] * 4, [1.0, 1.0, 1.0, 7.0], threshold=0.3
            )
        )
        == 1
    )


# --------------------------------------------------------------------------- screening places


@pytest.fixture
def places() -> pd.DataFrame:
    # ranked hot places (centroids): P1 has a prison's crimes, P2 is centred in the hospital site,
    # P3 is a street place, P4 is centred on the school (not a footprint type), P5 a snapped point.
    return pd.DataFrame(
        {
            "place_id": ["P1", "P2", "P3", "P4", "P5"],
            "easting": [E0 + 250, E0 + 1100, E0 + 5000, E0 + 3000, E0 + 8000],
            "northing": [N0 + 100, N0 + 100, N0, N0, N0],
            "rank": [1, 2, 3, 4, 5],
        }
    )


@pytest.fixture
def records() -> pd.DataFrame:
    rows = [
        # P1: 3 crimes inside the prison (harm 300) and 2 on the street outside (harm 100) → 0.75
        *[("P1", E0 + 100, N0 + 100, 100.0, "HMP")] * 3,
        *[("P1", E0 + 260 + k, N0 + 100, 50.0, f"street {k}") for k in range(2)],
        # P2: one street crime only; excluded for its centroid, not for harm
        ("P2", E0 + 900, N0 + 400, 30.0, "Lane"),
        # P3: street violence, the A&E is 1 km away
        *[("P3", E0 + 5000 + 7 * k, N0 + 3 * k, 20.0, f"road {k}") for k in range(6)],
        # P4: 4 crimes at the school (harm 40) and 6 on streets nearby (harm 60) → 0.4 < 0.5: kept
        *[("P4", E0 + 3000, N0, 10.0, "school")] * 4,
        *[("P4", E0 + 3100 + k, N0, 10.0, f"high st {k}") for k in range(6)],
        # P5: all crimes snapped to one map point, no registered institution
        *[("P5", E0 + 8000, N0, 25.0, "On or near Station Road")] * 4,
        ("P5", E0 + 8050, N0, 5.0, "Elsewhere"),
    ]
    return pd.DataFrame(rows, columns=["place_id", "easting", "northing", "harm_days", "location_text"])


def test_screen_places_rules_and_figures(
    register: InstitutionRegister, places: pd.DataFrame, records: pd.DataFrame
) -> None:
    s = screen_places(places, records, register=register)
    assert s.excluded["place_id"].tolist() == ["P1", "P2"]
    assert s.kept["place_id"].tolist() == ["P3", "P4", "P5"]  # rank order kept: the next place moves up
    p1 = s.excluded.set_index("place_id").loc["P1"]
    assert p1["n_records"] == 5 and p1["harm_total"] == 400.0
    assert p1["top_institution_name"] == "HMP Example"
    assert p1["top_harm_share"] == pytest.approx(0.75) and p1["top_count_share"] == pytest.approx(0.6)
    assert p1["reason"] == "HMP Example (prison) holds 75% of the harm (threshold 50%)"
    p2 = s.excluded.set_index("place_id").loc["P2"]
    assert p2["reason"] == "centroid inside the footprint of General Hospital (hospital)"
    assert p2["top_institution"] == -1
    kept = s.kept.set_index("place_id")
    assert kept.loc["P4", "top_harm_share"] == pytest.approx(0.4)
    # P5: one snapped point holds 100/105 of the harm: flagged for review, not excluded by default
    assert bool(kept.loc["P5", "review"]) and not bool(kept.loc["P3", "review"])
    assert kept.loc["P5", "location_harm_share"] == pytest.approx(100 / 105)
    assert set(s.review["cell_id"]) >= {"P5"}
    assert "rank" in s.places.columns and s.places["excluded"].sum() == 2


def test_screen_places_threshold_and_dominant_location_options(
    register: InstitutionRegister, places: pd.DataFrame, records: pd.DataFrame
) -> None:
    loose = screen_places(places, records, register=register, threshold=0.4)
    assert loose.excluded["place_id"].tolist() == ["P1", "P2", "P4"]
    strict = screen_places(places, records, register=register, dominant_location="exclude")
    p5 = strict.excluded.set_index("place_id").loc["P5"]
    assert REVIEW_FLAG in p5["reason"] and "95%" in p5["reason"]
    ignore = screen_places(places, records, register=register, dominant_location="ignore")
    assert ignore.review.empty and not ignore.places["review"].any()
    # footprint types are configurable: with schools listed, P4's centroid excludes it
    schools = screen_places(places, records, register=register, footprint_types=frozenset({"school"}))
    assert schools.excluded["place_id"].tolist() == ["P1", "P4"]


def test_screen_places_uses_given_institution_column_and_no_register(
    places: pd.DataFrame, records: pd.DataFrame
) -> None:
    recs = records.assign(institution=-1)
    s = screen_places(places, recs)
    assert s.excluded.empty and len(s.kept) == 5


def test_screen_places_input_errors(
    register: InstitutionRegister, places: pd.DataFrame, records: pd.DataFrame
) -> None:
    with pytest.raises(InstitutionInputError, match="harm"):
        screen_places(places, records.drop(columns="harm_days"), register=register)
    with pytest.raises(InstitutionInputError, match="threshold"):
        screen_places(places, records, register=register, threshold=1.5)
    with pytest.raises(InstitutionInputError, match="footprint_types"):
        screen_places(places, records, register=register, footprint_types=frozenset({"castle"}))
