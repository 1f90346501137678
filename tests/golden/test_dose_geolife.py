"""The mode classifier against real labelled GPS (GeoLife 1.3, users 010 and 020, from trackintel's test data).

Reference: the volunteers' own transport-mode labels, independent of our code. Measured when this
test was written: walk vs car 9/9 segments and 19/19 two-minute windows right; per fix, 99 % of walk
fixes under 7 km/h and 94 % of taxi fixes at or above it. The data are tiny (4 walk and 5 taxi
segments; a 95 % Wilson interval for 9/9 reaches down to 0.70), so each floor allows a miss or two:
the test catches a regression, not noise. Skips when ../shared/data is absent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rasure.patrol.geolife import (
    confusion,
    cut_segments,
    foot_vs_car_accuracy,
    read_user,
    score,
    score_fixes,
)

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def segments(shared_data: Path) -> pd.DataFrame:
    root = shared_data / "gps" / "geolife" / "geolife_modes"
    if not root.is_dir():
        pytest.skip("GeoLife tracks are absent from shared/data")
    fixes = pd.concat([read_user(root / user) for user in ("010", "020")], ignore_index=True)
    return cut_segments(fixes)


def test_reader_matches_provenance_counts(segments: pd.DataFrame) -> None:
    counts = segments["mode"].value_counts().to_dict()
    # the labelled ground truth as published with the data, overlapping labels read "later start wins"
    assert counts == {"walk": 644, "bike": 649, "taxi": 213, "bus": 266, "train": 2360}


def test_walk_vs_car_per_segment(segments: pd.DataFrame) -> None:
    scored = score(segments, per="segment")
    walk_car = scored[scored["truth"].isin(["foot", "car"])]
    print("\nper segment, walk vs car:", len(walk_car), "segments")
    print(confusion(scored).to_string())
    print(confusion(scored, detailed=True).to_string())
    acc_all = foot_vs_car_accuracy(scored)
    acc_plausible = foot_vs_car_accuracy(scored, plausible_only=True)
    print(f"accuracy {acc_all:.3f} (all labels), {acc_plausible:.3f} (plausible labels)")
    assert len(walk_car) >= 9
    assert int((~walk_car["label_plausible"]).sum()) == 0, (
        "the label filter must not hide classifier failures"
    )
    assert acc_all >= 0.85
    assert acc_plausible == acc_all
    # Every taxi segment is a vehicle; bus too.
    assert set(scored.loc[scored["truth"].isin(["car", "bus"]), "predicted"]) == {"vehicle"}


def test_walk_vs_car_per_two_minute_window(segments: pd.DataFrame) -> None:
    scored = score(segments, per="window")
    walk_car = scored[scored["truth"].isin(["foot", "car"])]
    acc_all = foot_vs_car_accuracy(scored)
    acc_plausible = foot_vs_car_accuracy(scored, plausible_only=True)
    print(
        f"\nper 2-min window: {len(walk_car)} walk/car windows; accuracy {acc_all:.3f} (all), {acc_plausible:.3f} (plausible)"
    )
    print(confusion(scored).to_string())
    assert len(walk_car) >= 15
    assert acc_plausible == acc_all
    assert acc_all >= 0.85


def test_per_fix_speed_separates_walk_from_car(segments: pd.DataFrame) -> None:
    points = score_fixes(segments)
    walk = points[points["truth"] == "foot"]
    car = points[points["truth"] == "car"]
    walk_ok = float((walk["speed_kmh"] < 7).mean())
    car_ok = float((car["speed_kmh"] >= 7).mean())
    print(f"\nper fix: walk < 7 km/h {walk_ok:.3f} of {len(walk)}, taxi ≥ 7 km/h {car_ok:.3f} of {len(car)}")
    assert walk_ok >= 0.9
    assert car_ok >= 0.85
