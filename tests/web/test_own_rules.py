"""A force's own rules and places: scope (`rasure scope`), harm coverage, `--crs` on the file path,
institutions (`rasure institutions load`) and recording addresses held apart (issue 11 parts 2, 3, 5)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from rasure.geo import lonlat_to_projected, transformer
from rasure.harm import coverage_label, read_harm_file
from rasure.hotspots.analysis import HotspotParams, analyse
from rasure_web.accounts.models import Force
from rasure_web.accounts.tenancy import resolve_force
from rasure_web.analysis.models import Institution, PlaceDecision
from rasure_web.analysis.selectors import held_apart
from rasure_web.analysis.services import hotspots_build
from rasure_web.cli import main
from rasure_web.crimes.models import CrimeRecord, ScopeTableInfo
from tests.factories import IUCR_SCOPE, UTM16N, us_city_export


def _city_force() -> None:
    """The city's force, whose records are stored in its own CRS (UTM 16N), as the only force."""
    Force.objects.create(
        code="CITY", name="Test City PD (synthetic)", time_zone="America/Chicago", crs=UTM16N
    )


def test_non_uk_export_with_mapping_scope_and_crs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export, mapping, scope = us_city_export(tmp_path)
    out = tmp_path / "hs.geojson"
    base = [
        "hotspots",
        "analyse",
        str(export),
        "--mapping",
        str(mapping),
        "--permutations",
        "0",
        "--top",
        "3",
    ]
    # the built-in (Home Office) scope finds no serious violence in IUCR codes
    assert main([*base, "--crs", "32616", "--out", str(out)]) == 2
    assert "no serious-violence records" in capsys.readouterr().err
    # British National Grid is refused: Chicago is outside its area of use
    assert main([*base, "--scope", str(scope), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "outside the area of use of EPSG:27700" in err and "--crs" in err
    assert main([*base, "--scope", str(scope), "--crs", "32616", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    feats = doc["features"]
    assert {f["properties"]["period"] for f in feats} == {"day", "night"}
    assert doc["properties"]["params"]["crs"] == "EPSG:32616"
    assert "Test city scope" not in doc["properties"]["scope"]  # the label names the file
    assert str(scope) in doc["properties"]["scope"]
    t = transformer("EPSG:4326", UTM16N)
    by_period = {f["properties"]["period"]: f for f in feats if f["properties"]["rank"] == 1}
    for f in feats:
        g = shapely.transform(
            shapely.geometry.shape(f["geometry"]), lambda x, y: t.transform(x, y), interleaved=False
        )
        # the geofence is whole 150 m cells of the force's own CRS: its area in UTM metres says so
        assert g.area == pytest.approx(150.0**2 * f["properties"]["patrol_areas"], rel=1e-3)
    e0, n0 = lonlat_to_projected(np.array([-87.65]), np.array([41.85]), crs=UTM16N)
    day, night = by_period["day"]["properties"], by_period["night"]["properties"]
    assert abs(day["easting"] - e0[0]) < 300 and abs(day["northing"] - n0[0]) < 300
    assert abs(night["easting"] - (e0[0] + 2000)) < 300
    # distances in metres of the CRS: the two clusters are 2 km apart
    assert np.hypot(day["easting"] - night["easting"], day["northing"] - night["northing"]) == pytest.approx(
        2000, abs=300
    )


def test_crs_must_be_projected_metres(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export, mapping, _ = us_city_export(tmp_path)
    assert main(["hotspots", "analyse", str(export), "--mapping", str(mapping), "--crs", "4326"]) == 2
    assert "not a projected coordinate system in metres" in capsys.readouterr().err
    assert main(["hotspots", "analyse", str(export), "--mapping", str(mapping), "--crs", "999999"]) == 2
    assert "not a coordinate system pyproj knows" in capsys.readouterr().err


def _frame(n: int = 60, **over: object) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    t = pd.Timestamp("2026-03-01") + pd.to_timedelta(rng.uniform(0, 120, n), unit="D")
    df = pd.DataFrame(
        {
            "source": "t",
            "reference": [f"r{i}" for i in range(n)],
            "easting": 450_000 + rng.normal(0, 60, n),
            "northing": 200_000 + rng.normal(0, 60, n),
            "occurred_from": t.floor("min"),
            "occurred_to": t.floor("min"),
            "time_precision": "minute",
            "serious_violence": True,
            "harm_days": 10.0,
            "offence_description": "wounding",
            "category": "Violence and sexual offences",
            "location_text": "On or near High Street",
        }
    )
    for k, v in over.items():
        df[k] = v
    return df


def test_analyse_without_an_end_time_column() -> None:
    res = analyse(_frame().drop(columns=["occurred_to"]), params=HotspotParams(gi_permutations=0, top=2))
    assert len(res.hotspots) >= 1


def test_analyse_when_no_place_reaches_min_count() -> None:
    res = analyse(_frame(), params=HotspotParams(gi_permutations=0, min_count=1000))
    assert res.hotspots.empty
    assert res.n_records == 60


def test_analyse_skips_inf_and_nan_coordinates() -> None:
    df = _frame()
    df.loc[0:4, "easting"] = np.inf
    df.loc[5:9, "northing"] = np.nan
    res = analyse(df, params=HotspotParams(gi_permutations=0, top=2))
    assert res.n_records == 50
    assert np.isfinite(res.hotspots["easting"]).all()


@pytest.mark.django_db
def test_scope_load_show_and_reclassify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _city_force()
    export, mapping, scope = us_city_export(tmp_path)
    assert main(["import", "records", str(export), "--mapping", str(mapping)]) == 0
    assert CrimeRecord.objects.filter(serious_violence=True).count() == 0  # Home Office scope: none
    capsys.readouterr()
    assert main(["scope", "load", str(scope)]) == 0
    out = capsys.readouterr().out
    assert "version 2026.1" in out and "(4 offence codes)" in out and "310 record(s) reclassified" in out
    info = ScopeTableInfo.objects.get()
    assert info.version == "2026.1" and info.codes_csv == IUCR_SCOPE and len(info.sha256) == 64
    assert CrimeRecord.objects.filter(serious_violence=True).count() == 310
    assert set(CrimeRecord.objects.filter(serious_violence=True).values_list("sv_basis", flat=True)) == {
        "offence_code"
    }
    assert main(["scope", "show"]) == 0
    shown = capsys.readouterr().out
    assert "the force's own table" in shown and "041A" in shown
    bad = tmp_path / "bad.csv"
    bad.write_text("offence_code,sv_group,counts_as\n041A,x,sometimes\n", encoding="utf-8")
    assert main(["scope", "load", str(bad)]) == 2
    assert "counts_as must be 'always' or 'with_weapon'" in capsys.readouterr().err
    assert ScopeTableInfo.objects.count() == 1  # nothing half-written


@pytest.mark.django_db
def test_a_loaded_scope_applies_to_later_imports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _city_force()
    export, mapping, scope = us_city_export(tmp_path)
    assert main(["scope", "load", str(scope)]) == 0  # before any record is stored
    assert main(["import", "records", str(export), "--mapping", str(mapping)]) == 0
    assert CrimeRecord.objects.filter(serious_violence=True).count() == 310


@pytest.mark.django_db
def test_build_with_scope_file_classifies_with_it(tmp_path: Path) -> None:
    _city_force()
    export, mapping, scope = us_city_export(tmp_path)
    assert main(["import", "records", str(export), "--mapping", str(mapping)]) == 0
    # the records are in Chicago, stored in the city force's CRS (tests/web/test_force_crs.py checks
    # the places); the scope is tested here
    from rasure import classify as sv

    frame_scope = sv.load_scope(scope)
    run = hotspots_build(params=HotspotParams(top=2, gi_permutations=0), scope=frame_scope)
    assert run.records_in_window >= 300  # the 12-month window ending on the last record
    assert str(scope) in run.labels["scope"]


def test_harm_table_partial_and_category_level(tmp_path: Path) -> None:
    part = tmp_path / "cchi.csv"
    part.write_text("Offence code,CCHI days\n8N,100\n105A,5\n", encoding="utf-8")
    table = read_harm_file(part)
    recs = pd.DataFrame({"offence_code": ["8N", "105A", "28E", "28E"], "category": [None] * 4})
    assert coverage_label(table, recs).endswith(
        "official for 2 of 3 offence codes in the data; the rest built-in APPROXIMATION"
    )
    full = pd.DataFrame({"offence_code": ["8N", "105A"], "category": [None] * 2})
    assert coverage_label(table, full).endswith("official for all 2 offence codes in the data")
    cat = tmp_path / "by_category.csv"
    cat.write_text(
        "crime_type,cchi_days\nViolence and sexual offences,194.21\nPublic order,7.5\n", encoding="utf-8"
    )
    ct = read_harm_file(cat)
    assert ct.by_category["Violence and sexual offences"] == 194.21
    pu = pd.DataFrame(
        {
            "offence_code": [None, None, None],
            "category": ["Violence and sexual offences", "Public order", "Robbery"],
        }
    )
    assert coverage_label(ct, pu).endswith(
        "official for 2 of 3 crime types in the data; the rest built-in APPROXIMATION"
    )


def test_recording_address_is_held_apart_with_its_reason() -> None:
    df = _frame(80)
    df.loc[:39, "location_text"] = "On or near Police Station"
    res = analyse(df, params=HotspotParams(gi_permutations=0, top=3, min_count=3))
    assert not res.hotspots["name"].str.contains("Police Station").any()
    held = res.held_out
    assert len(held) >= 1
    assert held["exclusion_reason"].str.contains("recording address").all()
    kept = analyse(
        df, params=HotspotParams(gi_permutations=0, top=3, min_count=3, hold_recording_addresses=False)
    )
    assert kept.hotspots["name"].str.contains("Police Station").any()


def _police_station_data(tmp_path: Path) -> None:
    from rasure_web.crimes import services

    rows = [
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
        "Last outcome category,Context"
    ]
    for i in range(40):
        where = "On or near Police Station" if i < 25 else "On or near High Street"
        rows.append(f"c{i},2026-0{1 + i % 6},P,P,-1.2577,51.7520,{where},E1,X,Violence and sexual offences,,")
    for i in range(30):
        rows.append(
            f"d{i},2026-0{1 + i % 6},P,P,-1.2400,51.7600,On or near Market Square,E1,X,Violence and sexual offences,,"
        )
    f = tmp_path / "2026-06-test-street.csv"
    f.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert all(r.ok for r in services.records_import_policeuk(paths=[str(f)]))
    assert main(["hotspots", "build", "--permutations", "0", "--top", "3", "--min-count", "3"]) == 0


@pytest.mark.django_db
def test_review_decision_is_stored_and_reused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _police_station_data(tmp_path)
    places = held_apart(tenant=resolve_force(None).pk)
    assert [p["location"] for p in places] == ["On or near Police Station"]
    assert places[0]["decision"] == ""
    capsys.readouterr()
    assert main(["hotspots", "review"]) == 0
    assert "recording address" in capsys.readouterr().out
    assert (
        main(["hotspots", "review", "--decide", "1", "--as", "hot_spot", "--note", "a real fight spot"]) == 0
    )
    assert PlaceDecision.objects.get().decision == "hot_spot"
    assert main(["hotspots", "build", "--permutations", "0", "--top", "3", "--min-count", "3"]) == 0
    from rasure_web.analysis.models import AnalysisRun

    run = AnalysisRun.objects.get(is_current=True)
    assert run.hotspots.filter(name__icontains="Police Station").exists()
    assert held_apart(tenant=resolve_force(None).pk) == []


@pytest.mark.django_db
def test_institutions_load_csv_and_geojson(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "inst.csv"
    csv.write_text(
        "name,type,lon,lat\nGeneral Hospital,hospital,-1.2577,51.7520\nHMP Test,prison,-1.25,51.75\n",
        encoding="utf-8",
    )
    assert main(["institutions", "load", str(csv)]) == 0
    assert "2 institution(s) added" in capsys.readouterr().out
    gj = tmp_path / "inst.geojson"
    ring = [
        [-1.2401, 51.7601],
        [-1.2399, 51.7601],
        [-1.2399, 51.7599],
        [-1.2401, 51.7599],
        [-1.2401, 51.7601],
    ]
    gj.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "Central Custody", "type": "custody_suite"},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    }
                ],
            }
        )
    )
    assert main(["institutions", "load", str(gj)]) == 0
    custody = Institution.objects.get(name="Central Custody")
    assert custody.geometry_geojson and custody.radius_m == 0.0
    assert main(["institutions", "load", str(csv)]) == 0
    assert "0 institution(s) added, 2 updated" in capsys.readouterr().out
    assert Institution.objects.count() == 3
    from rasure_web.analysis.services import institutions_register

    reg = institutions_register()
    assert reg is not None and sorted(reg.table["kind"]) == ["point", "point", "polygon"]


@pytest.mark.django_db
def test_harm_load_category_table_says_its_coverage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.factories import street_row, write_street

    f = write_street(
        tmp_path / "2024-03-test-street.csv",
        [
            street_row("a1"),
            street_row("a2", crime_type="Public order"),
            street_row("a3", crime_type="Robbery"),
        ],
    )
    assert main(["import", "police-uk", str(f)]) == 0
    cat = tmp_path / "by_category.csv"
    cat.write_text(
        "crime_type,cchi_days\nViolence and sexual offences,194.21\nPublic order,7.5\n", encoding="utf-8"
    )
    capsys.readouterr()
    assert main(["harm", "load", str(cat)]) == 0
    out = capsys.readouterr().out
    assert "official for 2 of 3 crime types in the data; the rest built-in APPROXIMATION" in out
    assert CrimeRecord.objects.get(reference="a1").harm_days == 194.21


@pytest.mark.django_db
def test_review_page_lists_and_stores_decisions(tmp_path: Path) -> None:
    from django.contrib.auth.models import Group, User
    from django.test import Client

    _police_station_data(tmp_path)
    clients = {}
    for role in ("analyst", "officer"):
        u = User.objects.create_user(username=f"t-{role}", password="a-long-test-password")
        u.groups.add(Group.objects.get(name=role))
        clients[role] = Client()
        clients[role].force_login(u)
    assert clients["officer"].get("/dashboard/review/").status_code == 403
    page = clients["analyst"].get("/dashboard/review/").content.decode()
    assert "On or near Police Station" in page and "recording address" in page
    assert (
        clients["analyst"].post("/dashboard/review/", {"n": "9", "decision": "keep_out"}).status_code == 400
    )
    r = clients["analyst"].post(
        "/dashboard/review/", {"n": "1", "decision": "keep_out", "note": "front desk"}
    )
    assert r.status_code == 302
    d = PlaceDecision.objects.get()
    assert (d.decision, d.note, d.username) == ("keep_out", "front desk", "t-analyst")
    assert 'value="keep_out" checked' in clients["analyst"].get("/dashboard/review/").content.decode()
