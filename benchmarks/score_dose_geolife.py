"""Does the mode classifier tell on foot from driving on real GPS? Scores it on labelled GeoLife tracks.

Usage: ``.venv/bin/python benchmarks/score_dose_geolife.py [path/to/geolife_modes]``

Prints, per labelled segment and per 2-minute window, the accuracy on walk versus car (taxi) and the
confusion matrices (truth groups and raw modes), and per fix the movement class against the label.
Method and rules: :mod:`rasure.patrol.geolife`. The data are GeoLife 1.3 (Microsoft Research Asia,
research and non-commercial terms; users 010 and 020 as redistributed in trackintel's test data),
read from the shared data folder beside the clone (``../shared/data/gps/geolife/geolife_modes``) when no path is given.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from rasure.patrol.geolife import (
    confusion,
    cut_segments,
    foot_vs_car_accuracy,
    read_user,
    score,
    score_fixes,
)

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gps" / "geolife" / "geolife_modes"


def thinned(segments: pd.DataFrame, every_s: int) -> pd.DataFrame:
    """Keep the first fix of each ``every_s``-second slot of each segment (a sparser ping rate)."""
    slot = segments["fix_time"].astype("int64") // (every_s * 10**9)
    return segments[~pd.DataFrame({"s": segments["segment"], "slot": slot}).duplicated()]


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else DEFAULT
    if not root.is_dir():
        print(f"GeoLife folder not found: {root}", file=sys.stderr)
        return 2
    users = sorted(p for p in root.iterdir() if (p / "Trajectory").is_dir())
    fixes = pd.concat([read_user(u) for u in users], ignore_index=True)
    segments = cut_segments(fixes)
    pd.set_option("display.width", 160)
    print(f"GeoLife: {len(users)} users, {len(fixes)} fixes, {int(fixes['mode'].notna().sum())} labelled")
    print("Labelled fixes by mode:", segments["mode"].value_counts().to_dict())
    print(f"Segments: {segments['segment'].nunique()}\n")

    for per in ("segment", "window"):
        scored = score(segments, per=per)
        fc = scored[scored["truth"].isin(["foot", "car"])]
        n_bad = int((~fc["label_plausible"]).sum())
        print(f"== per {per}{' (2 min)' if per == 'window' else ''}: {len(scored)} units, {len(fc)} walk/car")
        print(
            f"walk vs car accuracy: {foot_vs_car_accuracy(scored):.3f} (all labels); "
            f"{foot_vs_car_accuracy(scored, plausible_only=True):.3f} without {n_bad} units "
            "of implausibly labelled walks"
        )
        print(confusion(scored).to_string())
        print(confusion(scored, detailed=True).to_string())
        if per == "segment":
            cols = [
                "segment",
                "user",
                "true_mode",
                "predicted_mode",
                "n_fixes",
                "minutes",
                "median_speed_kmh",
            ]
            print((scored[[*cols, "share_fast", "label_plausible"]]).round(2).to_string(index=False))
        print()

    for every_s in (30, 60):
        thin = thinned(segments, every_s)
        scored = score(thin, per="segment")
        print(
            f"== thinned to one fix per {every_s} s (AVLS-like): walk vs car per segment "
            f"{foot_vs_car_accuracy(scored):.3f} (all labels), "
            f"{foot_vs_car_accuracy(scored, plausible_only=True):.3f} (plausible), "
            f"{int(scored['truth'].isin(['foot', 'car']).sum())} walk/car segments"
        )
        print(confusion(scored).to_string())
        print()

    points = score_fixes(segments)
    print("== per fix: movement class (robust speed) by label, all labelled fixes")
    print(pd.crosstab(points["mode"], points["movement"]).to_string())
    fc = points[points["truth"].isin(["foot", "car"]) & points["label_plausible"]]
    right = ((fc["truth"] == "foot") & (fc["speed_kmh"] < 7)) | (
        (fc["truth"] == "car") & (fc["speed_kmh"] >= 7)
    )
    print(
        f"walk (< 7 km/h) vs car (≥ 7 km/h) per fix, plausible labels: {right.mean():.3f} of {len(fc)} fixes"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
