"""The web surface: spreadsheet-safe CSV exports, Cache-Control on API answers and signed-in pages,
the Content-Security-Policy header, and the CSP source for the map's tile server."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from rasure.spreadsheet import neutralise_cell, neutralise_frame, neutralise_rows
from tests.city import store_city_with_hotspots

FORMULA = '=HYPERLINK("http://x","y")'


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_text_that_a_spreadsheet_would_run_gets_a_quote(start: str) -> None:
    assert neutralise_cell(f"{start}1+1") == f"'{start}1+1"


@pytest.mark.parametrize("value", ["High Street", "", " =1", "'=1", "a=b", 3, -1.5, None, 0.0])
def test_other_cells_are_left_alone(value: object) -> None:
    assert neutralise_cell(value) == value


def test_rows_and_frames_keep_numbers_as_numbers() -> None:
    assert neutralise_rows([{"name": FORMULA, "harm": -2.5}]) == [{"name": "'" + FORMULA, "harm": -2.5}]
    frame = pd.DataFrame({"where": [FORMULA, "Park"], "z": [-1.0, 2.0], "=h": ["-x", "y"]})
    out = neutralise_frame(frame)
    assert out["where"].tolist() == ["'" + FORMULA, "Park"]
    assert out["z"].tolist() == [-1.0, 2.0]
    assert list(out.columns) == ["where", "z", "'=h"]
    assert frame["where"][0] == FORMULA  # a copy: the input is unchanged


def _client(role: str) -> Client:
    u = User.objects.create_user(username=f"t-{role}", password="a-long-test-password")
    u.groups.add(Group.objects.get_or_create(name=role)[0])
    c = Client()
    c.force_login(u)
    return c


@pytest.mark.django_db
@pytest.mark.usefixtures("clock")
def test_hotspot_csv_export_neutralises_formulas() -> None:
    from rasure_web.analysis.models import HotSpot

    store_city_with_hotspots()
    hs = HotSpot.objects.filter(run__is_current=True).order_by("rank").first()
    hs.name = FORMULA
    hs.save(update_fields=["name"])
    body = _client("analyst").get("/dashboard/export/hotspots.csv").content.decode()
    assert "'=HYPERLINK" in body
    rows = list(csv.DictReader(io.StringIO(body)))
    assert "'" + FORMULA in {r["name"] for r in rows}
    assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r.values())
    # Numbers stay numbers (a negative Gi* z is not a formula).
    assert all(float(r["gi_z"]) == float(r["gi_z"]) for r in rows)


@pytest.mark.django_db
def test_errors_out_file_neutralises_formulas(tmp_path: Path) -> None:
    from rasure_web.crimes.services import records_import_policeuk, write_errors_out

    src = tmp_path / "2025-01-bad-street.csv"
    src.write_text(
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
        "Crime type,Last outcome category,Context\n"
        f'abc,=1+2,Force,Force,-1.1,51.4,"{FORMULA.replace(chr(34), chr(34) * 2)}",E01,x,Burglary,,\n'
    )
    reports = records_import_policeuk(paths=[str(src)])
    out = tmp_path / "rejected.csv"
    assert write_errors_out(reports, str(out)) >= 1
    text = out.read_text()
    assert "'=1+2" in text
    assert not any(v.startswith("=") for row in csv.reader(io.StringIO(text)) for v in row)


@pytest.mark.django_db
def test_api_answers_and_signed_in_pages_are_not_stored() -> None:
    anon = Client()
    r = anon.get("/api/patrol/today")
    assert r.status_code == 401 and "no-store" in r["Cache-Control"]
    assert "no-store" in anon.get("/api/openapi.json")["Cache-Control"]
    c = _client("analyst")
    for path in ("/dashboard/", "/dashboard/map/", "/dashboard/map/hotspots.json", "/trials/"):
        r = c.get(path)
        assert r.status_code == 200, path
        assert r["Cache-Control"] == "private, no-store", path
    officer = _client("officer")
    for path in ("/patrol/", "/patrol/sw.js", "/api/patrol/today"):
        r = officer.get(path)
        assert r.status_code == 200 and "no-store" in r["Cache-Control"], path


@pytest.mark.django_db
def test_static_files_stay_cacheable(live_server: object) -> None:
    import urllib.request

    url = f"{live_server.url}/static/rasure/site.css"  # type: ignore[attr-defined]
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.status == 200
        assert "no-store" not in (r.headers.get("Cache-Control") or "")


@pytest.mark.django_db
def test_every_page_has_the_strict_csp() -> None:
    r = Client().get("/accounts/login/")
    csp = r["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'self'" and directives["form-action"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["img-src"].startswith("'self' data:")


def test_csp_images_allow_the_tile_host() -> None:
    from django.conf import settings

    from rasure_web.settings import tile_source

    assert tile_source("https://tile.openstreetmap.org/{z}/{x}/{y}.png") == ["https://tile.openstreetmap.org"]
    assert tile_source("https://{s}.tiles.force.police.uk:8443/{z}/{x}/{y}.png") == [
        "https://*.tiles.force.police.uk:8443"
    ]
    assert tile_source("") == [] and tile_source("not a url") == []
    img = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"]
    assert [*tile_source(settings.RASURE_MAP_TILES)] == img[2:]


def test_no_template_has_inline_script_or_handlers() -> None:
    """The CSP allows no inline script, on* handler or style attribute; templates keep to it."""
    import re

    root = Path(__file__).resolve().parents[2] / "src" / "rasure_web"
    for t in root.rglob("templates/**/*.html"):
        text = t.read_text()
        for m in re.finditer(r"<script\b([^>]*)>", text):
            assert "src=" in m.group(1) or "application/json" in m.group(1), (t, m.group())
        assert not re.search(r"\son[a-z]+\s*=", text), t
        assert not re.search(r"\sstyle\s*=", text), t


def test_no_front_end_script_writes_html_from_strings() -> None:
    import re

    root = Path(__file__).resolve().parents[2] / "src" / "rasure_web"
    for js in root.rglob("static/**/*.js"):
        if "vendor" in js.parts:
            continue
        text = js.read_text()
        # One exception: the map's escapeText reads innerHTML (escaped text) for Leaflet's attribution.
        writes = re.findall(r"(innerHTML\s*=|insertAdjacentHTML|outerHTML\s*=|document\.write)", text)
        assert not writes, (js, writes)
        assert not re.search(r"bind(Popup|Tooltip)\(\s*`", text), js


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", ["bbox=a,b,c,d", "bbox=1,2", "zoom=x", "months=nan", "months=", "bbox=nan,nan,nan,nan&zoom=-3"]
)
def test_malformed_map_parameters_are_a_bad_request(query: str) -> None:
    c = _client("analyst")
    c.raise_request_exception = False
    r = c.get(f"/dashboard/map/crimes.json?{query}")
    assert r.status_code in (200, 400), (query, r.status_code)
    assert r["Content-Type"].startswith("application/json")
