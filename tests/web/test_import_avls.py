"""`rasure import avls FILE [--mapping FILE]`: an export with its own column names and grid
coordinates → presence in the hot spots; the same file again changes nothing; a bad file is refused
whole with its line and field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from rasure.geo import lonlat_to_projected
from rasure_web.analysis.models import HotSpot
from rasure_web.cli import main
from rasure_web.patrols.models import AvlsImport, AvlsPresence
from tests.web.test_patrol_routes import T0, load_city, walk_route

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]  # now pinned: tests/conftest.py

MAPPING = """
[columns]
call_sign = "Resource Ref"
time = "Fix Stamp"
easting = "Pos E"
northing = "Pos N"
[source]
crs = "EPSG:27700"
timezone = "Europe/London"
"""


@pytest.fixture
def city(db: Any) -> Any:
    return load_city()


def _export(path: Path, rows: list[tuple[str, Any, float, float]], *, bad_row: bool = False) -> Path:
    lines = ["Resource Ref,Fix Stamp,Pos E,Pos N,Comment"]
    for who, t, lon, lat in rows:
        [e], [n] = lonlat_to_projected([lon], [lat])
        lines.append(f"{who},{(T0 + timedelta(seconds=t)).strftime('%Y-%m-%dT%H:%M:%SZ')},{e:.1f},{n:.1f},ok")
    if bad_row:
        lines.append("Z99,not a time,1.0,2.0,broken")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_avls_with_a_mapping(city: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spot = HotSpot.objects.filter(run=city).order_by("pk").first()
    assert spot is not None
    rows = [("ALPHA-21", f.t, f.lon, f.lat) for f in walk_route(spot.easting, spot.northing, interval_s=30)]
    mapping = tmp_path / "avls.toml"
    mapping.write_text(MAPPING)
    f = _export(tmp_path / "avls-export.csv", rows)
    # without the mapping the headers are not recognised
    assert main(["import", "avls", str(f)]) == 1
    assert "missing column(s)" in capsys.readouterr().err
    assert main(["import", "avls", str(f), "--mapping", str(mapping)]) == 0
    out = capsys.readouterr().out
    assert f"{len(rows)} pings from 1 officer(s) or call sign(s)" in out
    presence = AvlsPresence.objects.filter(officer="ALPHA-21")
    assert presence.filter(hotspot=spot).exists()
    assert all(12 < p.minutes < 15 for p in presence.filter(hotspot=spot))
    before = list(AvlsPresence.objects.values_list("hotspot_id", "officer", "start", "minutes"))
    assert main(["import", "avls", str(f), "--mapping", str(mapping)]) == 0
    assert "already imported" in capsys.readouterr().out
    assert list(AvlsPresence.objects.values_list("hotspot_id", "officer", "start", "minutes")) == before
    assert AvlsImport.objects.count() == 1


def test_bad_avls_file_is_refused_whole(
    city: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spot = HotSpot.objects.filter(run=city).order_by("pk").first()
    assert spot is not None
    rows = [("ALPHA-21", f.t, f.lon, f.lat) for f in walk_route(spot.easting, spot.northing, interval_s=30)]
    mapping = tmp_path / "avls.toml"
    mapping.write_text(MAPPING)
    f = _export(tmp_path / "avls-export.csv", rows, bad_row=True)
    assert main(["import", "avls", str(f), "--mapping", str(mapping)]) == 1
    err = capsys.readouterr().err
    assert f"line {len(rows) + 2}, field 'Fix Stamp'" in err and "REJECTED" in err
    assert not AvlsImport.objects.exists() and not AvlsPresence.objects.exists()
    mapping.write_text('[columns]\nwho = "Resource Ref"\n')
    assert main(["import", "avls", str(f), "--mapping", str(mapping)]) == 2
    assert "unknown key(s) ['who']" in capsys.readouterr().err


def test_trial_panel_has_bau_presence(city: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd

    from rasure_web.trials.models import Trial, TrialHotSpot

    day = T0.date()
    args = ["trial", "create", "--name", "BAU", "--start", str(day - timedelta(days=2)), "--end", str(day)]
    assert main(args) == 0
    trial = Trial.objects.get()
    assert main(["trial", "commit", str(trial.pk), "--allow-past-start"]) == 0
    member = TrialHotSpot.objects.filter(trial=trial).select_related("hotspot").order_by("hotspot_code")[0]
    spot = member.hotspot
    rows = [("ALPHA-21", f.t, f.lon, f.lat) for f in walk_route(spot.easting, spot.northing, interval_s=30)]
    mapping = tmp_path / "avls.toml"
    mapping.write_text(MAPPING)
    assert main(["import", "avls", str(_export(tmp_path / "a.csv", rows)), "--mapping", str(mapping)]) == 0
    assert AvlsPresence.objects.filter(hotspot=spot).count() == 1
    capsys.readouterr()
    assert main(["trial", "export", str(trial.pk), "--out", str(tmp_path / "panel.csv")]) == 0
    panel = pd.read_csv(tmp_path / "panel.csv").set_index(["hotspot_id", "trial_day"])
    code = {m.hotspot_id: m.hotspot_code for m in TrialHotSpot.objects.filter(trial=trial)}
    expected: dict[tuple[str, str], list[float]] = {}
    for p in AvlsPresence.objects.filter(hotspot_id__in=list(code)):
        expected.setdefault((code[p.hotspot_id], str(p.trial_day)), []).append(p.minutes)
    assert (member.hotspot_code, str(day)) in expected
    for key, row in panel.iterrows():
        minutes = expected.get(key, [])  # type: ignore[call-overload]
        assert row["bau_visits"] == len(minutes) and abs(row["bau_minutes"] - sum(minutes)) < 1e-6
    assert panel["bau_visits"].sum() == sum(len(v) for v in expected.values()) > 0
