"""`rasure trial ...` on the database: create, commit, list, schedule, verify, power, export."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import shapely
from django.utils import timezone

from rasure_web.cli import main
from rasure_web.crimes.models import CrimeRecord
from rasure_web.trials.models import Trial, TrialHotSpot

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def city() -> None:
    from tests.city import store_city_with_hotspots

    store_city_with_hotspots()


def _seed(out: str) -> str:
    m = re.search(r"SECRET SEED.*?\n\s*\n\s+([0-9a-f]{64})\n", out, re.S)
    assert m, out
    return m.group(1)


@pytest.mark.django_db
@pytest.mark.usefixtures("clock")
def test_create_commit_schedule_verify(
    city: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = timezone.now().astimezone(LONDON).date() + dt.timedelta(days=2)
    assert (
        main(
            [
                "trial",
                "create",
                "--name",
                "CLI-TRIAL",
                "--start",
                start.isoformat(),
                "--days",
                "10",
                "--cap-per-day",
                "3",
                "--cap-per-week",
                "12",
                "--target-dose-min",
                "20",
                "--hotspots",
                "D01,D02,N01,N02,N03,N04",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    trial = Trial.objects.get()
    assert f"Trial {trial.pk} created (draft)" in out and "6 hot spots" in out
    assert trial.design["cap_per_week"] == 12 and trial.design["target_dose_seconds"] == 1200
    assert sorted(TrialHotSpot.objects.values_list("hotspot_code", flat=True)) == [
        "D01",
        "D02",
        "N01",
        "N02",
        "N03",
        "N04",
    ]

    doc = tmp_path / "commitment.json"
    assert main(["trial", "commit", str(trial.pk), "--out", str(doc)]) == 0
    out = capsys.readouterr().out
    seed = _seed(out)
    trial.refresh_from_db()
    assert trial.commitment_sha256 in out and "NOT stored" in out and "offline" in out
    assert seed not in doc.read_text() and trial.commitment_sha256 in doc.read_text()

    assert main(["trial", "list"]) == 0
    assert "committed" in capsys.readouterr().out

    csv = tmp_path / "schedule.csv"
    assert main(["trial", "schedule", str(trial.pk), "--out", str(csv)]) == 0
    lines = csv.read_text().splitlines()
    assert lines[0] == "trial_day,hotspot_id,stratum,arm" and len(lines) == 1 + 6 * 10
    assert main(["trial", "schedule", str(trial.pk), "--day", start.isoformat()]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 6

    assert main(["trial", "verify", str(trial.pk), "--seed", seed]) == 0
    assert "verification: PASSED" in capsys.readouterr().out
    assert main(["trial", "verify", str(trial.pk), "--seed", seed, "--schedule", str(csv)]) == 0
    capsys.readouterr()

    # an outside researcher's check: the stdlib-only reference script of docs/trial-verification.md
    text = (Path(__file__).resolve().parents[2] / "docs" / "trial-verification.md").read_text(
        encoding="utf-8"
    )
    script = re.search(r"<!-- reference-script: verify_trial.py -->\n```python\n(.*?)```", text, re.S)
    assert script is not None
    (tmp_path / "verify_trial.py").write_text(script.group(1), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-I", "-S", str(tmp_path / "verify_trial.py"), str(doc), seed, str(csv)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "commitment MATCHES" in run.stdout and "schedule file MATCHES" in run.stdout

    tampered = lines.copy()
    row = tampered[7].split(",")
    row[-1] = "control" if row[-1] == "treatment" else "treatment"
    tampered[7] = ",".join(row)
    bad = tmp_path / "tampered.csv"
    bad.write_text("\n".join(tampered) + "\n")
    assert main(["trial", "verify", str(trial.pk), "--seed", seed, "--schedule", str(bad)]) == 1
    report = capsys.readouterr().out
    assert "verification: FAILED" in report and f"line 8: {row[0]} {row[1]}: arm" in report

    assert main(["trial", "verify", str(trial.pk), "--seed", "ab" * 32]) == 1
    assert "DOES NOT MATCH" in capsys.readouterr().out
    assert main(["trial", "commit", str(trial.pk)]) == 2  # refused and logged
    assert "refused" in capsys.readouterr().err


def test_power_with_given_rates(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["trial", "power", "--hotspots", "34", "--days", "182", "--share", "0.5"]
    assert main([*args, "--base-rate", "0.05", "--dispersion", "1"]) == 0
    out = capsys.readouterr().out
    # figures of the core's doctests (Zhu & Lakkis 2014, approach 3)
    assert "IRR 0.702" in out and "34 hot spots × 182 days" in out
    assert "7,348 control + 7,348 treated place-days" in out and "433 days with 34 hot spots" in out
    assert main(["trial", "power", "--hotspots", "34"]) == 2
    assert "--base-rate" in capsys.readouterr().err


@pytest.mark.django_db
@pytest.mark.usefixtures("clock")
def test_power_from_data(city: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["trial", "power", "--from-data", "--hotspots", "34", "--days", "182", "--rate-ratio", "0.7"])
        == 0
    )
    out = capsys.readouterr().out
    assert "Rates from the data" in out and "place-day counts" in out and "IRR 0.7 (-30%)" in out
    rate = float(re.search(r"base rate ([0-9.]+) per place-day", out).group(1))  # type: ignore[union-attr]
    assert 0 < rate < 1


@pytest.mark.django_db
@pytest.mark.usefixtures("clock")
def test_export_panel_csv_and_parquet(city: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a rehearsal trial over the last 14 days of the synthetic data, so outcomes are known
    last = CrimeRecord.objects.filter(serious_violence=True).order_by("-occurred_from").first()
    assert last is not None
    end = last.occurred_from.astimezone(LONDON).date() - dt.timedelta(days=1)
    start = end - dt.timedelta(days=13)
    args = ["trial", "create", "--name", "PANEL", "--start", str(start), "--end", str(end)]
    assert main(args) == 0
    trial = Trial.objects.get()
    assert main(["trial", "commit", str(trial.pk)]) == 2  # its first day is past
    assert main(["trial", "commit", str(trial.pk), "--allow-past-start"]) == 0
    capsys.readouterr()
    n_spots = TrialHotSpot.objects.filter(trial=trial).count()

    assert main(["trial", "export", str(trial.pk), "--out", str(tmp_path / "panel.csv")]) == 0
    out = capsys.readouterr().out
    assert f"{n_spots * 14} place-day rows" in out
    panel = pd.read_csv(tmp_path / "panel.csv")
    assert len(panel) == n_spots * 14 == len(panel.drop_duplicates(["hotspot_id", "trial_day"]))
    for col in (
        "trial_day",
        "hotspot_id",
        "stratum",
        "arm",
        "sv_count",
        "harm_days",
        "dose_minutes",
        "visits",
    ):
        assert col in panel.columns
    assert set(panel["arm"]) == {"treatment", "control"}
    assert (
        panel.groupby("trial_day")["arm"].apply(lambda a: (a == "treatment").sum()) >= n_spots // 2 - 1
    ).all()

    # serious violence counted independently: inside the geofence, on the 06:00 trial day
    expected = 0
    members = list(TrialHotSpot.objects.filter(trial=trial).select_related("hotspot"))
    lo = dt.datetime.combine(start, dt.time(6), LONDON)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(6), LONDON)
    recs = list(
        CrimeRecord.objects.filter(
            serious_violence=True, easting__isnull=False, occurred_from__gte=lo, occurred_from__lt=hi
        ).values_list("easting", "northing")
    )
    x, y = np.array([r[0] for r in recs]), np.array([r[1] for r in recs])
    for m in members:
        expected += int(shapely.contains_xy(shapely.from_geojson(m.hotspot.geofence_geojson), x, y).sum())
    assert int(panel["sv_count"].sum()) == expected > 0
    assert (panel.loc[panel["sv_count"] > 0, "harm_days"] > 0).all()

    # buffer rings counted independently: outside every hot spot, distance from this one's edge
    geoms = [shapely.from_geojson(m.hotspot.geofence_geojson) for m in members]
    outside = ~np.any([shapely.contains_xy(g, x, y) for g in geoms], axis=0)
    points = shapely.points(x[outside], y[outside])
    for inner, outer in ((0, 250), (250, 500)):
        want = 0
        for g in geoms:
            d = shapely.distance(g, points)
            want += int(((d >= inner) & (d < outer)).sum())
        assert int(panel[f"buffer_{inner}_{outer}_count"].sum()) == want
    assert int(panel["buffer_0_250_count"].sum()) > 0

    assert main(["trial", "export", str(trial.pk), "--out", str(tmp_path / "panel.parquet")]) == 0
    pq = pd.read_parquet(tmp_path / "panel.parquet")
    assert len(pq) == len(panel) and list(pq.columns) == list(panel.columns)
    assert int(pq["sv_count"].sum()) == expected
    assert isinstance(pq["trial_day"].iloc[0], dt.date)
