"""A force's own projected CRS, end to end in the database (issue 11, item 3): records imported for a
force outside Great Britain (a synthetic Chicago force, UTM zone 16N, EPSG:32616) are stored in its
metres, points outside its CRS's area of use are refused by line, hot spots are built, mapped and
exported in true lon/lat, and an officer's visit is located in that CRS; a British force on the same
installation keeps British National Grid. All people and places here are synthetic."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from django.core.exceptions import ValidationError
from pyproj import Geod

from rasure.errors import RasureError
from rasure.geo import BNG, lonlat_to_projected, projected_to_lonlat, reproject
from rasure.hotspots.analysis import HotspotParams
from rasure_web import clock
from rasure_web.accounts.models import Force, Profile
from rasure_web.accounts.tenancy import force_crs
from rasure_web.analysis.models import AnalysisRun, HotSpot
from rasure_web.analysis.services import hotspots_build
from rasure_web.cli import main
from rasure_web.crimes.models import CrimeRecord
from rasure_web.crimes.services import synthetic_city_store
from rasure_web.patrols.models import Ping, Visit
from tests.city import city
from tests.web.test_patrol_routes import (
    Fix,
    client_for,
    crossing_dwell_minutes,
    end_body,
    iso,
    make_user,
    post,
    start_body,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

UTM16N = "EPSG:32616"  # Chicago's UTM zone, metres
ILLINOIS_EAST = "EPSG:26971"  # NAD83 / Illinois East (metres): an export's own state-plane grid
CENTRE = (-87.65, 41.85)  # lon, lat: a synthetic place in the city
GEOD = Geod(ellps="WGS84")
HEADER = [
    "Crime Reference",
    "HO Offence Code",
    "Offence Description",
    "Crime Type",
    "Committed From",
    "Committed To",
    "Reported Date",
    "Longitude",
    "Latitude",
    "Location",
    "Weapon",
    "Domestic Flag",
]


def _mapping(tmp_path: Path, *, grid: str | None = None) -> Path:
    """A TOML mapping in the template's style, for lon/lat or (``grid``) easting/northing in that CRS."""
    where = (
        f'crs = "{grid}"\n[columns]\neasting = "Easting"\nnorthing = "Northing"\n'
        if grid
        else '[columns]\nlon = "Longitude"\nlat = "Latitude"\n'
    )
    m = tmp_path / ("grid.toml" if grid else "city.toml")
    m.write_text(
        '[source]\nname = "city:synthetic"\nforce = "Synthetic City PD"\n'
        'datetime_format = "%d/%m/%Y %H:%M"\ndate_format = "%d/%m/%Y"\n'
        + where
        + 'reference = "Crime Reference"\noffence_code = "HO Offence Code"\n'
        'offence_description = "Offence Description"\ncategory = "Crime Type"\n'
        'committed_from = "Committed From"\ncommitted_to = "Committed To"\nreported = "Reported Date"\n'
        'location_text = "Location"\nweapon = "Weapon"\ndomestic = "Domestic Flag"\n',
        encoding="utf-8",
    )
    return m


def _export(tmp_path: Path, *, extra: list[tuple[str, float, float]] = ()) -> Path:  # type: ignore[assignment]
    """A synthetic city export in the mapped style (docs/examples/force-export-example.csv, lon/lat):
    a day cluster (11:00-16:00) at CENTRE and a night cluster (22:00-02:00) 2 km east, assaults with
    injury (8N, serious violence in the built-in scope), plus noise; ``extra``: (reference, lon, lat)."""
    rng = np.random.default_rng(16)
    e0, n0 = lonlat_to_projected(np.array([CENTRE[0]]), np.array([CENTRE[1]]), crs=UTM16N)
    rows: list[list[Any]] = []

    def add(n: int, dx: float, hours: tuple[int, int], where: str, spread: float) -> None:
        x = e0[0] + dx + rng.normal(0, spread, n)
        y = n0[0] + rng.normal(0, spread, n)
        lon, lat = projected_to_lonlat(x, y, crs=UTM16N)
        day = pd.Timestamp("2025-03-01") + pd.to_timedelta(rng.integers(0, 360, n), unit="D")
        h = (hours[0] + rng.integers(0, (hours[1] - hours[0]) % 24 or 24, n)) % 24
        t = day + pd.to_timedelta(h, unit="h") + pd.to_timedelta(rng.integers(0, 60, n), unit="min")
        for i in range(n):
            rows.append(_row(f"SYN-C{len(rows):05d}", t[i], float(lon[i]), float(lat[i]), where))

    add(60, 0, (11, 16), "0000X S STATE ST (synthetic)", 30)
    add(60, 2000, (22, 2), "0000X W DIVISION ST (synthetic)", 30)
    add(80, 0, (0, 24), "STREET (synthetic)", 2500)
    for ref, lon, lat in extra:
        rows.append(_row(ref, pd.Timestamp("2025-06-01 12:00"), lon, lat, "PAIR (synthetic)"))
    f = tmp_path / "city-export.csv"
    pd.DataFrame(rows, columns=HEADER).to_csv(f, index=False)
    return f


def _row(ref: str, t: pd.Timestamp, lon: float, lat: float, where: str) -> list[Any]:
    return [
        ref,
        "8N",
        "Assault with injury",
        "Violence and sexual offences",
        t.strftime("%d/%m/%Y %H:%M"),
        "",
        t.strftime("%d/%m/%Y"),
        f"{lon:.7f}",
        f"{lat:.7f}",
        where,
        "None",
        "N",
    ]


@pytest.fixture
def forces(db: Any) -> dict[str, Force]:
    return {
        "CPD": Force.objects.create(
            code="CPD", name="Synthetic City PD", time_zone="America/Chicago", crs=UTM16N
        ),
        "TVP": Force.objects.create(code="TVP", name="Synthetic Thames PD"),
    }


@pytest.fixture
def chicago(tmp_path: Path, forces: dict[str, Force]) -> dict[str, Any]:
    """CPD's export imported through --mapping (with a pair of points 100 m apart on the ground), its
    hot spots built; TVP holds the synthetic city in British National Grid and its own hot spots."""
    a = (-87.6300, 41.8800)
    lon_b, lat_b, _ = GEOD.fwd(a[0], a[1], 60.0, 100.0)  # 100 m on the ellipsoid, bearing 60°
    export = _export(tmp_path, extra=[("SYN-PAIR-A", *a), ("SYN-PAIR-B", lon_b, lat_b)])
    assert (
        main(["import", "records", str(export), "--mapping", str(_mapping(tmp_path)), "--force", "CPD"]) == 0
    )
    args = ["hotspots", "build", "--permutations", "0", "--top", "3", "--min-count", "5"]
    assert main([*args, "--force", "CPD"]) == 0
    synthetic_city_store(city(0.3), force="TVP")
    hotspots_build(params=HotspotParams(top=4, gi_permutations=0), force="TVP")
    return {"export": export, "pair": (a, (lon_b, lat_b))}


def _member(user: Any, force: Force) -> Any:
    Profile.objects.update_or_create(user=user, defaults={"force": force})
    return user


def test_force_crs_is_the_one_helper(forces: dict[str, Force]) -> None:
    assert force_crs(forces["CPD"]) == UTM16N
    assert force_crs(forces["CPD"].pk) == UTM16N
    assert force_crs(forces["TVP"]) == BNG


def test_records_are_stored_in_the_forces_crs(chicago: dict[str, Any], forces: dict[str, Force]) -> None:
    recs = CrimeRecord.objects.filter(tenant=forces["CPD"])
    assert recs.count() == 202
    r = recs.get(reference="SYN-PAIR-A")
    e, n = lonlat_to_projected(np.array([r.lon]), np.array([r.lat]), crs=UTM16N)
    assert r.easting == pytest.approx(float(e[0]), abs=0.01) and r.northing == pytest.approx(
        float(n[0]), abs=0.01
    )
    # distances are the CRS's own metres: two points 100 m apart on the ground are 100 m apart
    b = recs.get(reference="SYN-PAIR-B")
    assert np.hypot(b.easting - r.easting, b.northing - r.northing) == pytest.approx(100.0, abs=1.0)
    # ... which British National Grid would not give here (a Transverse Mercator far off its meridian)
    bng = lonlat_to_projected(np.array([r.lon, b.lon]), np.array([r.lat, b.lat]), crs=BNG)
    assert abs(np.hypot(np.diff(bng[0])[0], np.diff(bng[1])[0]) - 100.0) > 10
    # the British force's records stay in British National Grid
    uk = CrimeRecord.objects.filter(tenant=forces["TVP"]).exclude(easting=None).first()
    assert uk is not None
    e, n = lonlat_to_projected(np.array([uk.lon]), np.array([uk.lat]), crs=BNG)
    assert uk.easting == pytest.approx(float(e[0]), abs=1.0)


def test_an_export_in_its_own_grid_is_reprojected_to_the_forces_crs(
    tmp_path: Path, forces: dict[str, Force]
) -> None:
    x, y = lonlat_to_projected(np.array([CENTRE[0]]), np.array([CENTRE[1]]), crs=ILLINOIS_EAST)
    f = tmp_path / "grid-export.csv"
    row = _row("SYN-G1", pd.Timestamp("2025-06-01 12:00"), 0.0, 0.0, "GRID (synthetic)")
    cols = [
        c if c not in ("Longitude", "Latitude") else {"Longitude": "Easting", "Latitude": "Northing"}[c]
        for c in HEADER
    ]
    row[7], row[8] = f"{x[0]:.2f}", f"{y[0]:.2f}"
    pd.DataFrame([row], columns=cols).to_csv(f, index=False)
    assert (
        main(
            [
                "import",
                "records",
                str(f),
                "--mapping",
                str(_mapping(tmp_path, grid=ILLINOIS_EAST)),
                "--force",
                "CPD",
            ]
        )
        == 0
    )
    r = CrimeRecord.objects.get(reference="SYN-G1")
    e, n = reproject(x, y, src=ILLINOIS_EAST, dst=UTM16N)
    assert (r.easting, r.northing) == (
        pytest.approx(float(e[0]), abs=0.01),
        pytest.approx(float(n[0]), abs=0.01),
    )
    assert (r.lon, r.lat) == (pytest.approx(CENTRE[0], abs=1e-6), pytest.approx(CENTRE[1], abs=1e-6))


def test_points_outside_the_crs_area_of_use_are_refused_by_line(
    tmp_path: Path, forces: dict[str, Force], capsys: pytest.CaptureFixture[str]
) -> None:
    export = _export(tmp_path, extra=[("SYN-LONDON", -0.1276, 51.5072)])
    mapping = _mapping(tmp_path)
    assert main(["import", "records", str(export), "--mapping", str(mapping), "--force", "CPD"]) != 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert "outside the area of use of EPSG:32616" in text
    assert str(export) in text and "Longitude" in text and "line 202" in text
    assert not CrimeRecord.objects.filter(tenant=forces["CPD"]).exists()  # nothing half-written
    # the same city's export refused for the British force: its points are not in Great Britain
    assert (
        main(["import", "records", str(_export(tmp_path)), "--mapping", str(mapping), "--force", "TVP"]) != 0
    )
    assert "outside the area of use of EPSG:27700" in "".join(capsys.readouterr())
    assert not CrimeRecord.objects.exists()


def test_hot_spots_are_built_and_located_in_the_forces_crs(
    chicago: dict[str, Any], forces: dict[str, Force]
) -> None:
    run = AnalysisRun.objects.get(tenant=forces["CPD"], is_current=True)
    assert run.params["crs"] == UTM16N
    assert run.labels["crs"] == "distances in metres of EPSG:32616, the force's CRS"
    spots = {h.period: h for h in run.hotspots.filter(rank=1)}
    assert set(spots) == {"day", "night"}
    e0, n0 = lonlat_to_projected(np.array([CENTRE[0]]), np.array([CENTRE[1]]), crs=UTM16N)
    day, night = spots["day"], spots["night"]
    assert np.hypot(day.easting - e0[0], day.northing - n0[0]) < 200
    assert np.hypot(night.easting - (e0[0] + 2000), night.northing - n0[0]) < 200
    for h in run.hotspots.all():
        # the centroid round-trips: stored lon/lat is the CRS's metres converted back
        lon, lat = projected_to_lonlat(np.array([h.easting]), np.array([h.northing]), crs=UTM16N)
        assert (h.lon, h.lat) == (
            pytest.approx(float(lon[0]), abs=1e-7),
            pytest.approx(float(lat[0]), abs=1e-7),
        )
        assert -88.0 < h.lon < -87.3 and 41.6 < h.lat < 42.1
        # the geofence is whole 150 m cells of the force's CRS, and its lon/lat copy is the same place
        fence = shapely.from_geojson(h.geofence_geojson)
        assert fence.area == pytest.approx(150.0**2 * h.patrol_areas, rel=1e-6)
        ll = shapely.geometry.shape(json.loads(h.geofence_lonlat_geojson))
        assert ll.contains(shapely.Point(h.lon, h.lat)) or ll.distance(shapely.Point(h.lon, h.lat)) < 1e-3
    # the British force's run is untouched and in British lon/lat
    uk = AnalysisRun.objects.get(tenant=forces["TVP"], is_current=True)
    assert uk.params["crs"] == BNG
    assert all(-3.0 < h.lon < 1.0 and 50.0 < h.lat < 53.0 for h in uk.hotspots.all())


def test_map_json_and_exports_are_in_lon_lat(chicago: dict[str, Any], forces: dict[str, Force]) -> None:
    c = client_for(_member(make_user("analyst-cpd", role="analyst"), forces["CPD"]))
    gj = c.get("/dashboard/map/hotspots.json").json()
    assert gj["features"]
    for doc in (gj, json.loads(c.get("/dashboard/export/hotspots.geojson").content)):
        for f in doc["features"]:
            x0, y0, x1, y1 = shapely.geometry.shape(f["geometry"]).bounds
            assert -88.0 < x0 < x1 < -87.3 and 41.6 < y0 < y1 < 42.1
    kml = c.get("/dashboard/export/hotspots.kml").content.decode()
    first = kml.split("<coordinates>")[1].split("</coordinates>")[0].split()[0]
    lon, lat = (float(v) for v in first.split(",")[:2])
    assert -88.0 < lon < -87.3 and 41.6 < lat < 42.1
    crimes = c.get("/dashboard/map/crimes.json").json()
    pts = [f["geometry"]["coordinates"] for f in crimes.get("features", [])]
    assert all(-88.5 < p[0] < -87.0 and 41.5 < p[1] < 42.3 for p in pts)
    # a British analyst on the same installation sees British hot spots
    uk = client_for(_member(make_user("analyst-tvp", role="analyst"), forces["TVP"]))
    for f in uk.get("/dashboard/map/hotspots.json").json()["features"]:
        x0, y0, _, _ = shapely.geometry.shape(f["geometry"]).bounds
        assert -3.0 < x0 < 1.0 and 50.0 < y0 < 53.0


def test_a_patrol_visit_inside_a_hot_spot_counts_as_inside(
    chicago: dict[str, Any], forces: dict[str, Force]
) -> None:
    officer = _member(make_user("pc-cpd"), forces["CPD"])
    c = client_for(officer)
    listed = c.get("/api/patrol/hotspots/nearest", {"lat": CENTRE[1], "lon": CENTRE[0]}).json()["hotspots"]
    hs = HotSpot.objects.get(pk=listed[0]["id"])
    assert hs.run.tenant_id == forces["CPD"].pk
    t0 = clock.now().replace(microsecond=0)
    start = start_body(hs.pk, at=t0)
    assert post(c, "/api/patrol/visits/start", start).status_code == 200
    # walk in from 200 m south, stay 12 minutes on the centroid (small circles), walk out north
    fence = shapely.from_geojson(hs.geofence_geojson)
    steps = [(0.0, -200.0 + 1.4 * 15 * k) for k in range(10)]
    steps += [(10 * np.sin(k / 3), 10 * np.cos(k / 3)) for k in range(48)]
    steps += [(0.0, 1.4 * 15 * k) for k in range(1, 12)]
    x = hs.easting + np.array([s[0] for s in steps])
    y = hs.northing + np.array([s[1] for s in steps])
    lon, lat = projected_to_lonlat(x, y, crs=UTM16N)
    pings = [
        {
            "client_id": str(uuid.uuid4()),
            "visit_id": start["visit_id"],
            "seq": 10 + i,
            "fix_time": iso(t0 + timedelta(seconds=15 * i)),
            "lat": float(lat[i]),
            "lon": float(lon[i]),
            "accuracy_m": 8.0,
        }
        for i in range(len(steps))
    ]
    sent = t0 + timedelta(seconds=15 * len(steps))
    for i in range(0, len(pings), 20):
        assert (
            post(
                c, "/api/patrol/pings", {"device_sent_at": iso(sent), "pings": pings[i : i + 20]}
            ).status_code
            == 200
        )
    # the pings are stored in the force's metres, where the hot spot's geofence is
    stored = Ping.objects.filter(visit_id=start["visit_id"]).order_by("seq")
    assert [round(p.x, 1) for p in stored[:3]] == [round(float(v), 1) for v in x[:3]]
    assert all(fence.contains(shapely.Point(p.x, p.y)) for p in stored[10:58])
    r = post(c, "/api/patrol/visits/end", end_body(start["visit_id"], at=sent))
    assert r.status_code == 200
    body = r.json()
    route = [Fix(15.0 * i, float(x[i]), float(y[i]), float(lon[i]), float(lat[i])) for i in range(len(steps))]
    expected = crossing_dwell_minutes(route, fence)  # time between crossing in and crossing out
    assert expected >= 12 and body["dose_minutes"] == pytest.approx(expected, abs=0.5)
    visit = Visit.objects.get(visit_id=start["visit_id"])
    assert visit.entry_at is not None and visit.exit_at is not None


def test_a_forces_crs_cannot_change_once_it_holds_records(
    chicago: dict[str, Any], forces: dict[str, Force]
) -> None:
    cpd = Force.objects.get(code="CPD")
    cpd.crs = BNG
    with pytest.raises(ValidationError, match="cannot change from EPSG:32616 to EPSG:27700"):
        cpd.full_clean()
    with pytest.raises(RasureError, match="crime record"):
        cpd.save()
    assert Force.objects.get(code="CPD").crs == UTM16N
    # a force without records may still choose its CRS; renaming one with records is fine
    empty = Force.objects.create(code="NEW", name="New force")
    empty.crs = UTM16N
    empty.save()
    assert force_crs(empty.pk) == UTM16N
    cpd = Force.objects.get(code="CPD")
    cpd.name = "Synthetic City Police"
    cpd.save()


def test_the_synthetic_city_is_not_stored_in_a_force_of_another_crs(forces: dict[str, Force]) -> None:
    with pytest.raises(
        RasureError, match="drawn in EPSG:27700, but force CPD stores its coordinates in EPSG:32616"
    ):
        synthetic_city_store(city(0.3), force="CPD")
    assert not CrimeRecord.objects.exists()


def test_institutions_and_areas_are_stored_in_the_forces_crs(
    tmp_path: Path, forces: dict[str, Force], capsys: pytest.CaptureFixture[str]
) -> None:
    from rasure_web.analysis.models import Institution
    from rasure_web.crimes.models import Area

    csv = tmp_path / "inst.csv"
    csv.write_text(
        f"name,type,lon,lat\nCity Hospital (synthetic),hospital,{CENTRE[0]},{CENTRE[1]}\n", encoding="utf-8"
    )
    assert main(["institutions", "load", str(csv), "--force", "CPD"]) == 0
    i = Institution.objects.get(tenant=forces["CPD"])
    e, n = lonlat_to_projected(np.array([CENTRE[0]]), np.array([CENTRE[1]]), crs=UTM16N)
    assert (i.easting, i.northing) == (
        pytest.approx(float(e[0]), abs=0.01),
        pytest.approx(float(n[0]), abs=0.01),
    )
    # a point in London is not this force's
    london = tmp_path / "london.csv"
    london.write_text(
        "name,type,lon,lat\nA hospital (synthetic),hospital,-0.1276,51.5072\n", encoding="utf-8"
    )
    assert main(["institutions", "load", str(london), "--force", "CPD"]) != 0
    assert "outside the area of use of EPSG:32616" in "".join(capsys.readouterr())
    # boundaries: a 1 km square in lon/lat, stored in the force's metres (1 km² there)
    corners = [(0, 0), (1000, 0), (1000, 1000), (0, 1000), (0, 0)]
    lon, lat = projected_to_lonlat(
        e[0] + np.array([c[0] for c in corners], float),
        n[0] + np.array([c[1] for c in corners], float),
        crs=UTM16N,
    )
    gj = tmp_path / "lpa.geojson"
    feature = {
        "type": "Feature",
        "properties": {"code": "LPA1", "name": "North district (synthetic)"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[float(a), float(b)] for a, b in zip(lon, lat, strict=True)]],
        },
    }
    gj.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    args = ["areas", "load", str(gj), "--level", "lpa", "--code-field", "code", "--name-field", "name"]
    assert main([*args, "--force", "CPD"]) == 0
    assert "stored in the force's CRS EPSG:32616" in capsys.readouterr().out
    area = shapely.from_geojson(Area.objects.get(tenant=forces["CPD"], code="LPA1").geometry_geojson)
    assert area.area == pytest.approx(1e6, rel=1e-4)
    # the map shows both back in lon/lat
    c = client_for(_member(make_user("analyst-cpd", role="analyst"), forces["CPD"]))
    [inst] = c.get("/dashboard/map/institutions.json").json()["features"]
    assert inst["geometry"]["coordinates"] == [
        pytest.approx(CENTRE[0], abs=1e-6),
        pytest.approx(CENTRE[1], abs=1e-6),
    ]
    [lpa] = c.get("/dashboard/map/areas.json").json()["features"]
    x0, _, _, y1 = shapely.geometry.shape(lpa["geometry"]).bounds
    assert x0 == pytest.approx(float(lon.min()), abs=1e-6) and y1 == pytest.approx(float(lat.max()), abs=1e-6)


def test_an_export_in_the_forces_own_grid_needs_no_crs_in_its_mapping(
    tmp_path: Path, forces: dict[str, Force]
) -> None:
    """A mapping that names no [source] crs means the export's easting/northing are in the force's own
    CRS (not British National Grid): stored as they are."""
    x, y = lonlat_to_projected(np.array([CENTRE[0]]), np.array([CENTRE[1]]), crs=UTM16N)
    f = tmp_path / "own-grid-export.csv"
    row = _row("SYN-O1", pd.Timestamp("2025-06-01 12:00"), 0.0, 0.0, "OWN GRID (synthetic)")
    cols = [
        c if c not in ("Longitude", "Latitude") else {"Longitude": "Easting", "Latitude": "Northing"}[c]
        for c in HEADER
    ]
    row[7], row[8] = f"{x[0]:.2f}", f"{y[0]:.2f}"
    pd.DataFrame([row], columns=cols).to_csv(f, index=False)
    mapping = _mapping(tmp_path, grid=UTM16N)
    mapping.write_text(
        mapping.read_text(encoding="utf-8").replace(f'crs = "{UTM16N}"\n', ""), encoding="utf-8"
    )
    assert "crs" not in mapping.read_text(encoding="utf-8")
    assert main(["import", "records", str(f), "--mapping", str(mapping), "--force", "CPD"]) == 0
    r = CrimeRecord.objects.get(reference="SYN-O1")
    assert (r.easting, r.northing) == (
        pytest.approx(float(x[0]), abs=0.01),
        pytest.approx(float(y[0]), abs=0.01),
    )
    assert (r.lon, r.lat) == (pytest.approx(CENTRE[0], abs=1e-6), pytest.approx(CENTRE[1], abs=1e-6))
