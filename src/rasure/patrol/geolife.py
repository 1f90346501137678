"""GeoLife GPS tracks with transport-mode labels: the real-data check of the mode classifier.

Reads Microsoft Research Asia's GeoLife 1.3 files (Zheng et al. 2009/2010; research and
non-commercial terms) as redistributed in the trackintel project's test data (users 010 and 020):

- ``<user>/Trajectory/*.plt``: 6 header lines, then ``lat, lon, 0, altitude_ft, days_since_1899,
  date, time`` in GMT, sampled every 1–5 s (sometimes sparser).
- ``<user>/labels.txt``: tab-separated ``Start Time, End Time, Transportation Mode`` (GMT),
  header line first.

Rules, so the score can be checked:

- A fix takes the mode of the label interval (inclusive) that contains it. Labels overlap in these
  files: a 4-hour "walk" contains an 8-minute "taxi" and runs 52 minutes into a "train" that starts
  before it ends. The label that **starts later** wins — a new label means the volunteer began a new
  leg and left the previous one open (this reading gives the per-mode fix counts the golden test checks).
  Two labels starting at the same second with different modes make the fix *ambiguous*: it is left
  unlabelled.
- Positions are projected to metres with the UTM zone of each file's median longitude (user 010
  travels across western China, user 020 is in Beijing, EPSG:32650), unless a ``crs`` is given.
- A **segment** is a run of fixes of one file with one mode and no gap over ``max_gap`` (5 min).
- The classifier is :func:`rasure.patrol.dose.presence_mode`, run on each segment (or each window of
  a segment) as if it were one visit; fixes of the same segment around a window give it the vehicle
  context a real visit would get from the approach.
- Truth groups: walk → ``foot``; taxi and car → ``car``; bus → ``bus``; bike → ``bike``; anything
  else (train, subway, …) → ``other``. Predictions: ``foot`` → ``foot``; ``stopped`` and
  ``drive_through`` → ``vehicle``; ``unknown`` stays ``unknown``. The headline figure is the accuracy
  on foot versus car segments.
- GeoLife labels are typed in by volunteers and some are wrong. A segment labelled ``walk`` whose
  straight-line displacement from first to last fix implies more than ``max_walk_kmh`` (15 km/h,
  faster than anyone walks for a whole segment) is flagged ``label_plausible = False``. Scores are
  reported with and without flagged segments; the filter is a declared cleaning rule, not a tuning
  knob (in these files it flags nothing; with the shortest-interval reading of overlapping labels it
  flagged a 50-minute "walk" covering 60 km, which is how the later-start rule was found).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from rasure.errors import InputFileError, InvalidRowsError, RowProblem
from rasure.geo import lonlat_to_projected
from rasure.patrol.dose import DoseParams, PresenceMode, prepare_track, presence_mode

PLT_HEADER_LINES = 6
TRUTH_GROUP: dict[str, str] = {"walk": "foot", "taxi": "car", "car": "car", "bus": "bus", "bike": "bike"}
PREDICTED_GROUP: dict[str, str] = {
    "foot": "foot",
    "stopped": "vehicle",
    "drive_through": "vehicle",
    "unknown": "unknown",
}


def utm_crs(lon: float, lat: float) -> str:
    """The WGS84 UTM zone (EPSG:326xx north, 327xx south) containing a point.

    >>> utm_crs(116.3, 39.98)
    'EPSG:32650'
    """
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def read_plt(path: str | Path) -> pd.DataFrame:
    """One ``.plt`` trajectory: ``fix_time`` (UTC), ``lat``, ``lon``, ``altitude_ft``. All-or-nothing."""
    file = str(path)
    try:
        lines = Path(path).read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(file, f"cannot read a GeoLife .plt file ({exc})", hint="check the path") from exc
    if len(lines) < PLT_HEADER_LINES or not lines[0].startswith("Geolife trajectory"):
        raise InputFileError(
            file, "not a GeoLife .plt file (the first line should be 'Geolife trajectory')", line=1
        )
    problems: list[RowProblem] = []
    rows: list[tuple[str, float, float, float]] = []
    for number, text in enumerate(lines[PLT_HEADER_LINES:], start=PLT_HEADER_LINES + 1):
        parts = text.split(",")
        if len(parts) != 7:
            problems.append(RowProblem(file, number, "", text[:80], f"has {len(parts)} fields, expected 7"))
            continue
        try:
            lat, lon, alt = float(parts[0]), float(parts[1]), float(parts[3])
        except ValueError:
            problems.append(RowProblem(file, number, "lat/lon/altitude", text[:80], "is not a number"))
            continue
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            problems.append(RowProblem(file, number, "lat/lon", f"{lat},{lon}", "is outside the globe"))
            continue
        rows.append((f"{parts[5]} {parts[6]}", lat, lon, alt))
    frame = pd.DataFrame(rows, columns=["fix_time", "lat", "lon", "altitude_ft"])
    times = pd.to_datetime(frame["fix_time"], format="%Y-%m-%d %H:%M:%S", errors="coerce", utc=True)
    for i in np.flatnonzero(times.isna().to_numpy()):
        problems.append(
            RowProblem(
                file,
                PLT_HEADER_LINES + 1 + int(i),
                "date/time",
                str(frame["fix_time"].iloc[i]),
                "bad date/time",
            )
        )
    if problems:
        raise InvalidRowsError(
            file, sorted(problems, key=lambda p: p.line), total_rows=len(lines) - PLT_HEADER_LINES
        )
    frame["fix_time"] = times.dt.as_unit("ns")
    return frame


def read_labels(path: str | Path) -> pd.DataFrame:
    """``labels.txt``: ``start``, ``end`` (UTC) and ``mode`` for each labelled interval. All-or-nothing."""
    file = str(path)
    try:
        raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as exc:
        raise InputFileError(file, f"cannot read GeoLife labels ({exc})") from exc
    expected = ["Start Time", "End Time", "Transportation Mode"]
    if list(raw.columns) != expected:
        raise InputFileError(file, f"wrong header {list(raw.columns)}, expected {expected}", line=1)
    start = pd.to_datetime(raw["Start Time"], format="%Y/%m/%d %H:%M:%S", errors="coerce", utc=True)
    end = pd.to_datetime(raw["End Time"], format="%Y/%m/%d %H:%M:%S", errors="coerce", utc=True)
    problems = [
        RowProblem(file, i + 2, column, str(raw[column].iloc[i]), "bad date/time", "use YYYY/MM/DD HH:MM:SS")
        for column, parsed in (("Start Time", start), ("End Time", end))
        for i in np.flatnonzero(parsed.isna().to_numpy()).tolist()
    ]
    problems += [
        RowProblem(file, i + 2, "End Time", str(raw["End Time"].iloc[i]), "ends before it starts")
        for i in np.flatnonzero((end < start).to_numpy()).tolist()
    ]
    if problems:
        raise InvalidRowsError(file, problems, total_rows=len(raw))
    return pd.DataFrame(
        {
            "start": start.dt.as_unit("ns"),
            "end": end.dt.as_unit("ns"),
            "mode": raw["Transportation Mode"].str.strip(),
        }
    )


def label_fixes(fixes: pd.DataFrame, labels: pd.DataFrame) -> pd.Series:
    """The mode of each fix (the containing label that starts last; ``None`` if none or ambiguous)."""
    t = fixes["fix_time"].to_numpy(dtype="datetime64[ns]")
    best_start = np.full(len(t), np.datetime64(-(2**62), "ns"))
    mode = np.full(len(t), None, dtype=object)
    ambiguous = np.zeros(len(t), dtype=bool)
    for start, end, label in labels[["start", "end", "mode"]].itertuples(index=False):
        s, e = np.datetime64(start.tz_convert(None), "ns"), np.datetime64(end.tz_convert(None), "ns")
        inside = (t >= s) & (t <= e)
        if not inside.any():
            continue
        later = inside & (s > best_start)
        tie = inside & (s == best_start) & (mode != label)
        mode[later] = label
        ambiguous[later] = False
        ambiguous[tie] = True
        best_start[later] = s
    mode[ambiguous] = None
    return pd.Series(mode, index=fixes.index, dtype="object", name="mode")


def read_user(folder: str | Path, *, crs: str | None = None) -> pd.DataFrame:
    """All trajectories of one user folder, labelled and projected.

    Columns: ``user``, ``trajectory`` (file stem), ``fix_time`` (UTC), ``lat``, ``lon``, ``x``, ``y``
    (metres), ``crs``, ``mode`` (label or ``None``).
    """
    root = Path(folder)
    files = sorted((root / "Trajectory").glob("*.plt"))
    if not files:
        raise InputFileError(str(root), "no Trajectory/*.plt files", hint="point at a GeoLife user folder")
    labels_path = root / "labels.txt"
    labels = (
        read_labels(labels_path) if labels_path.is_file() else pd.DataFrame(columns=["start", "end", "mode"])
    )
    parts = []
    for path in files:
        frame = read_plt(path)
        if frame.empty:
            continue
        zone = crs or utm_crs(float(frame["lon"].median()), float(frame["lat"].median()))
        x, y = lonlat_to_projected(frame["lon"].to_numpy(), frame["lat"].to_numpy(), crs=zone)
        frame = frame.assign(user=root.name, trajectory=path.stem, x=x, y=y, crs=zone)
        frame["mode"] = label_fixes(frame, labels)
        parts.append(frame)
    columns = ["user", "trajectory", "fix_time", "lat", "lon", "x", "y", "crs", "mode"]
    return pd.concat(parts, ignore_index=True)[columns]


def cut_segments(fixes: pd.DataFrame, *, max_gap: timedelta = timedelta(minutes=5)) -> pd.DataFrame:
    """Labelled fixes with a ``segment`` number: one file, one mode, no gap over ``max_gap``."""
    frame = (
        fixes[fixes["mode"].notna()].sort_values(["user", "trajectory", "fix_time"]).reset_index(drop=True)
    )
    if frame.empty:
        return frame.assign(segment=pd.Series(dtype="int64"))
    same = (
        (frame["user"] == frame["user"].shift())
        & (frame["trajectory"] == frame["trajectory"].shift())
        & (frame["mode"] == frame["mode"].shift())
        & (frame["fix_time"].diff() <= pd.Timedelta(max_gap))
    )
    frame["segment"] = (~same).cumsum() - 1
    return frame


def plausible_labels(segments: pd.DataFrame, *, max_walk_kmh: float = 15.0) -> pd.Series:
    """``False`` for each segment labelled walk whose first-to-last displacement is faster than ``max_walk_kmh``.

    Indexed by segment number.
    """
    grouped = segments.groupby("segment", sort=True)
    first, last = grouped.first(), grouped.last()
    hours = (last["fix_time"] - first["fix_time"]).dt.total_seconds() / 3600
    km = np.hypot(last["x"] - first["x"], last["y"] - first["y"]) / 1000
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = km / hours
    return pd.Series(~((first["mode"] == "walk") & (speed > max_walk_kmh)), name="label_plausible")


@dataclass(frozen=True)
class ScoreParams:
    """How segments are scored: minimum fixes and duration of a scored unit, window length."""

    min_fixes: int = 2
    min_duration: timedelta = timedelta(seconds=60)
    window: timedelta = timedelta(minutes=2)


def _row(unit: pd.DataFrame, result: PresenceMode, **extra: object) -> dict[str, object]:
    true_mode = str(unit["mode"].iloc[0])
    return {
        **extra,
        "user": unit["user"].iloc[0],
        "true_mode": true_mode,
        "truth": TRUTH_GROUP.get(true_mode, "other"),
        "predicted_mode": result.mode,
        "predicted": PREDICTED_GROUP[result.mode],
        "n_fixes": len(unit),
        "minutes": (unit["fix_time"].iloc[-1] - unit["fix_time"].iloc[0]).total_seconds() / 60,
        "median_speed_kmh": result.median_speed_kmh,
        "share_stationary": result.share_stationary,
        "share_foot": result.share_foot,
        "share_fast": result.share_fast,
        "vehicle_context": result.vehicle_context,
    }


def score(
    segments: pd.DataFrame,
    *,
    params: DoseParams | None = None,
    scoring: ScoreParams | None = None,
    per: Literal["segment", "window"] = "segment",
) -> pd.DataFrame:
    """Classify each segment (``per="segment"``) or each window of a segment (``per="window"``).

    Units with fewer than ``min_fixes`` fixes or shorter than ``min_duration`` are left out.
    """
    p = params or DoseParams()
    s = scoring or ScoreParams()
    plausible = plausible_labels(segments)
    rows: list[dict[str, object]] = []
    for number, seg in segments.groupby("segment", sort=True):
        track = prepare_track(seg[["fix_time", "x", "y", "mode", "user"]], params=p)
        fixes = track.pings
        if per == "segment":
            units = [(0, fixes["fix_time"].iloc[0], fixes["fix_time"].iloc[-1])] if len(fixes) else []
        else:
            edges = pd.date_range(fixes["fix_time"].iloc[0], fixes["fix_time"].iloc[-1], freq=s.window)
            units = [(i, a, a + s.window - pd.Timedelta(1, "ns")) for i, a in enumerate(edges)]
        for window, start, end in units:
            unit = fixes[(fixes["fix_time"] >= start) & (fixes["fix_time"] <= end)]
            if len(unit) < s.min_fixes:
                continue
            if unit["fix_time"].iloc[-1] - unit["fix_time"].iloc[0] < pd.Timedelta(s.min_duration):
                continue
            result = presence_mode(track, start=start, end=end)
            rows.append(
                _row(unit, result, segment=number, window=window, label_plausible=bool(plausible.loc[number]))
            )
    return pd.DataFrame(rows)


def score_fixes(segments: pd.DataFrame, *, params: DoseParams | None = None) -> pd.DataFrame:
    """Every labelled fix with its robust speed and movement class (speeds computed within its segment)."""
    parts = []
    plausible = plausible_labels(segments)
    for number, seg in segments.groupby("segment", sort=True):
        fixes = prepare_track(seg[["fix_time", "x", "y", "mode", "user"]], params=params).pings
        parts.append(
            fixes.assign(
                segment=number,
                truth=fixes["mode"].map(lambda m: TRUTH_GROUP.get(str(m), "other")),
                label_plausible=bool(plausible.loc[number]),
            )
        )
    return pd.concat(parts, ignore_index=True)


def confusion(scored: pd.DataFrame, *, detailed: bool = False) -> pd.DataFrame:
    """Truth (rows) by prediction (columns): groups, or raw modes when ``detailed``."""
    rows, cols = ("true_mode", "predicted_mode") if detailed else ("truth", "predicted")
    return pd.crosstab(scored[rows], scored[cols])


def foot_vs_car_accuracy(scored: pd.DataFrame, *, plausible_only: bool = False) -> float:
    """Share of walk and car/taxi units classified right (foot ↔ foot, car ↔ vehicle)."""
    both = scored[scored["truth"].isin(["foot", "car"])]
    if plausible_only:
        both = both[both["label_plausible"]]
    if both.empty:
        return float("nan")
    right = ((both["truth"] == "foot") & (both["predicted"] == "foot")) | (
        (both["truth"] == "car") & (both["predicted"] == "vehicle")
    )
    return float(right.mean())
