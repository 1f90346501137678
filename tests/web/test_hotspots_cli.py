"""`rasure hotspots analyse` (files, no database) and `rasure hotspots build` (database)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rasure_web.cli import main
from tests.city import city


def _policeuk_file(tmp_path: Path) -> Path:
    """The synthetic city written out as a police.uk street file (month-only, like the real thing)."""
    r = city(0.5).records
    df = pd.DataFrame(
        {
            "Crime ID": r["reference"],
            "Month": r["occurred_from"].dt.strftime("%Y-%m"),
            "Reported by": "Synthetic Constabulary",
            "Falls within": "Synthetic Constabulary",
            "Longitude": r["lon"].round(6),
            "Latitude": r["lat"].round(6),
            "Location": r["location_text"],
            "LSOA code": r["lsoa_code"],
            "LSOA name": r["lsoa_name"],
            "Crime type": r["category"],
            "Last outcome category": r["last_outcome"],
            "Context": "",
        }
    )
    path = tmp_path / "synthetic-street.csv"
    df.to_csv(path, index=False)
    return path


def test_analyse_file_in_file_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _policeuk_file(tmp_path)
    out = tmp_path / "hotspots.geojson"
    assert (
        main(["hotspots", "analyse", str(src), "--out", str(out), "--top", "8", "--permutations", "0"]) == 0
    )
    err = capsys.readouterr().err
    assert "police.uk approximation" in err and "APPROXIMATION" in err and "hold half" in err
    gj = json.loads(out.read_text())
    assert gj["type"] == "FeatureCollection" and 1 <= len(gj["features"]) <= 8
    props = gj["features"][0]["properties"]
    for key in (
        "rank",
        "count",
        "harm",
        "gi_z",
        "gi_q",
        "period",
        "persistence",
        "institution_share",
        "facts",
    ):
        assert key in props
    assert props["period"] == "all" and gj["properties"]["input_sha256"]
    # police.uk publishes one category for all violence: say so instead of a "mix" at 100 %
    facts = " ".join(props["facts"])
    assert (
        "All recorded as \u201cviolence and sexual offences\u201d (the offence type is not published)."
        in facts
    )
    assert "(100%)" not in facts
    assert "known only to the month" in " ".join(gj["properties"]["notes"])
    csv = tmp_path / "hotspots.csv"
    assert (
        main(
            [
                "hotspots",
                "analyse",
                str(src),
                "--out",
                str(csv),
                "--format",
                "csv",
                "--top",
                "8",
                "--permutations",
                "0",
            ]
        )
        == 0
    )
    table = pd.read_csv(csv)
    assert len(table) == len(gj["features"]) and "geofence_wkt" in table


@pytest.mark.django_db
def test_build_stores_a_reproducible_run(capsys: pytest.CaptureFixture[str]) -> None:
    from rasure_web.analysis.models import AnalysisRun, HotSpot
    from tests.city import store_city

    store_city(0.5)
    assert main(["hotspots", "build", "--top", "6", "--permutations", "0"]) == 0
    run = AnalysisRun.objects.get(is_current=True)
    assert run.params["top"] == 6 and run.seed == 20260401 and run.version.startswith("0.")
    assert len(run.input_sha256) == 64 and run.records_in_window > 0
    assert "offence code" in run.labels["serious_violence"]
    hs = HotSpot.objects.filter(run=run)
    assert {h.period for h in hs} == {"day", "night"}
    h = hs.get(period="night", rank=1)
    assert json.loads(h.geofence_lonlat_geojson)["type"] == "Polygon" and h.facts and h.lpa_code
    assert any("HMP" in (x.get("exclusion_reason") or "") for x in run.held_out)
    first_hash = run.input_sha256
    assert main(["hotspots", "build", "--top", "6", "--permutations", "0"]) == 0
    assert AnalysisRun.objects.count() == 2 and AnalysisRun.objects.filter(is_current=True).count() == 1
    assert AnalysisRun.objects.get(is_current=True).input_sha256 == first_hash
