"""Dose from pings: when an officer was in a hot spot, for how long, and how.

The method follows docs/methods.md §6.3 (a proposal, every parameter configurable in :class:`DoseParams`).
Input is the pings of **one** officer or device: a DataFrame with ``fix_time`` (tz-aware, or naive
meaning UTC), ``x`` and ``y`` in metres in a projected CRS (the geofence's CRS), and optionally
``accuracy_m`` (reported horizontal accuracy) and ``speed_mps`` (the device's own speed, m/s).
Times should already be corrected for device clock skew (docs/reliability.md §2.3:
``corrected_time = fix_time + (received_at − device_now_at_send)``): :func:`correct_clock` does that
and flags suspect pings for review without dropping any; the steps below only sort the times.

The steps, each a rule a statistician can check:

1. **Clean** (:func:`prepare_track`). Sort by time. Exact duplicates, and a second fix with the same
   ``fix_time``, are dropped (the one kept is the most accurate, then the smallest x, y, so the result
   does not depend on input order). Fixes with ``accuracy_m > max_accuracy_m`` (50 m) are dropped.
   Jumps: a fix is dropped when the implied speed **to and from** it exceeds ``max_speed_kmh``
   (150 km/h) while its two neighbours are consistent with each other (a spike out and back); the
   first or last fix when it alone disagrees with the next two. Deviations from docs/methods.md §6.3, and
   why: (a) fixes at the same place at different times are *kept* — deleting them would make a parked
   phone look like a signal gap; (b) a sustained speed above 150 km/h (a pursuit) is kept, only
   out-and-back spikes are removed.
2. **Runs and gaps.** Consecutive fixes more than ``max_gap`` (5 min) apart start a new *run*; nothing
   is credited across such a gap, speeds are not computed across it, and a visit ends at it.
3. **Speed** of each fix, robust to GPS noise: the straight-line distance between the first and last
   fix within ``±speed_window/2`` (±30 s) of it, over their time difference; with sparser pings, the
   chord between its two neighbours. Position noise of σ metres gives a spurious speed of about
   σ·√2 / 60 s (5 m → 0.4 km/h), where fix-to-fix speeds at 1 Hz would give 25 km/h. If the device
   reported ``speed_mps`` (Doppler, not affected by position noise) the median of those values in the
   same window is used instead. Each fix gets a movement class: ``stationary`` (< 1 km/h), ``foot``
   (1–7 km/h), ``cycle`` (7–20 km/h, cycle or slow vehicle), ``vehicle`` (≥ 20 km/h), ``unknown``
   (an isolated fix).
4. **Geofence with hysteresis.** A visit *starts* at the first of ``min_entry_fixes`` consecutive
   fixes at least ``inner_tolerance_m`` (10 m) inside the polygon. While in a visit, a fix within
   ``outer_hysteresis_m`` (25 m) *outside* the polygon still counts as inside, so jitter at the edge
   does not split a visit. The visit *ends* when the officer is seen beyond that outer band and is
   not seen back inside it within ``exit_after`` (120 s), or at a gap longer than ``max_gap``, or
   at the end of the data.
5. **Time credited** (the dose). For each pair of consecutive fixes in one run, ``min(Δt, carry_gap)``
   is credited when both fixes are in the visit, and half of that when one is (the crossing is
   placed at the midpoint: half the sampling interval at each end, docs/methods.md §6.3). The state is
   carried across gaps up to ``carry_gap`` (2 min); a gap between ``carry_gap`` and ``max_gap`` keeps
   the visit open but credits only ``carry_gap`` of it. So the dose can never exceed the time between
   the first and last fix. ``start`` and ``end`` of a visit are its first in-fence fix minus its
   left credit and its last in-fence fix plus its right credit.
6. **Mode of presence** of a visit, from the time-weighted shares of the movement classes of its
   in-fence fixes (each fix weighted by the time credited to it) and from *vehicle context*: at
   least ``vehicle_min_fixes`` fixes at vehicle speed from ``approach`` (2 min) before the first
   in-fence fix to ``approach`` after the last (arrived or left by vehicle):

   - ``drive_through`` — faster than walking (≥ 7 km/h) for at least ``fast_share_drive`` (half) of
     the time, or vehicle context and the visit lasted under ``drive_through_max_dwell`` (2 min);
   - ``stopped`` — otherwise, vehicle context and at least as much stationary time as walking time
     (a vehicle arrived and stood);
   - ``foot`` — otherwise: walking speeds, or standing still without having arrived by vehicle
     (an officer who parks and then walks about is on foot);
   - ``unknown`` — no fix of the visit has a speed (a single fix between long gaps).

   Police cycle patrols (7–20 km/h) come out as ``drive_through``: speed alone cannot tell a bicycle
   from a car in traffic.

:func:`dose_summary` adds up visits per day (or lists them per visit) against a target dose
(15 min: Koper 1995, docs/methods.md §6.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Literal

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from rasure.errors import RasureError

#: Modes of presence of a visit.
MODES: tuple[str, ...] = ("foot", "stopped", "drive_through", "unknown")
#: Movement class of a single fix, from its robust speed.
MOVEMENTS: tuple[str, ...] = ("stationary", "foot", "cycle", "vehicle", "unknown")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


class DoseParamsError(RasureError):
    """A :class:`DoseParams` value is impossible (negative, or thresholds out of order)."""


class PingsError(RasureError):
    """The pings frame is missing a column or holds a value the method cannot use."""


@dataclass(frozen=True)
class DoseParams:
    """Every parameter of the dose method (defaults: docs/methods.md §6.3 and §8). See the module docstring."""

    max_accuracy_m: float = 50.0
    max_speed_kmh: float = 150.0
    inner_tolerance_m: float = 10.0
    outer_hysteresis_m: float = 25.0
    min_entry_fixes: int = 1
    exit_after: timedelta = timedelta(seconds=120)
    carry_gap: timedelta = timedelta(seconds=120)
    max_gap: timedelta = timedelta(minutes=5)
    speed_window: timedelta = timedelta(seconds=60)
    stationary_max_kmh: float = 1.0
    foot_max_kmh: float = 7.0
    vehicle_min_kmh: float = 20.0
    fast_share_drive: float = 0.5
    drive_through_max_dwell: timedelta = timedelta(minutes=2)
    approach: timedelta = timedelta(minutes=2)
    vehicle_min_fixes: int = 2

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, timedelta):
                if value < timedelta(0):
                    raise DoseParamsError(f"DoseParams.{f.name} is {value}; it must not be negative")
            elif isinstance(value, int | float) and not value >= 0:
                raise DoseParamsError(f"DoseParams.{f.name} is {value}; it must be a number ≥ 0")
        if not self.stationary_max_kmh <= self.foot_max_kmh <= self.vehicle_min_kmh:
            raise DoseParamsError(
                "DoseParams speed thresholds must satisfy stationary_max_kmh ≤ foot_max_kmh ≤ vehicle_min_kmh "
                f"(got {self.stationary_max_kmh}, {self.foot_max_kmh}, {self.vehicle_min_kmh})"
            )
        if self.carry_gap > self.max_gap:
            raise DoseParamsError(
                f"DoseParams.carry_gap ({self.carry_gap}) is longer than max_gap ({self.max_gap}); "
                "time can only be carried across gaps that do not break the visit"
            )
        if self.min_entry_fixes < 1 or self.vehicle_min_fixes < 1:
            raise DoseParamsError("DoseParams.min_entry_fixes and vehicle_min_fixes must be at least 1")
        if not 0 < self.fast_share_drive <= 1:
            raise DoseParamsError(
                f"DoseParams.fast_share_drive is {self.fast_share_drive}; use a share in (0, 1]"
            )
        if self.max_speed_kmh == 0 or self.max_gap == timedelta(0) or self.speed_window == timedelta(0):
            raise DoseParamsError("DoseParams.max_speed_kmh, max_gap and speed_window must be greater than 0")


@dataclass(frozen=True, eq=False)
class Track:
    """One officer's cleaned, time-ordered pings with robust speeds. Build it with :func:`prepare_track`.

    ``pings`` has ``fix_time`` (UTC), ``x``, ``y``, ``speed_kmh``, ``movement`` and ``run`` (gap-separated
    run number), plus any other input columns. ``t_ns`` holds the fix times as integer nanoseconds,
    ``t_s`` as seconds since the first fix; ``run`` and ``speed_kmh`` repeat those columns as arrays.
    The ``n_*`` counts say what cleaning removed.
    """

    pings: pd.DataFrame
    t_ns: IntArray
    t_s: FloatArray
    run: IntArray
    speed_kmh: FloatArray
    n_input: int
    n_duplicates: int
    n_inaccurate: int
    n_jumps: int
    params: DoseParams = field(repr=False)

    @property
    def span(self) -> timedelta:
        """Last fix minus first fix (an upper bound on any dose computed from this track)."""
        if len(self.t_ns) == 0:
            return timedelta(0)
        return timedelta(microseconds=int(self.t_ns[-1] - self.t_ns[0]) / 1000)


@dataclass(frozen=True)
class PresenceMode:
    """The mode of presence of a stretch of fixes, with the figures it was decided from."""

    mode: str
    minutes: float
    n_fixes: int
    share_stationary: float
    share_foot: float
    share_fast: float
    vehicle_context: bool
    median_speed_kmh: float


def _utc_ns(values: pd.Series, *, column: str) -> IntArray:
    try:
        # utc=True: naive values are UTC, aware ones (even with mixed offsets) are converted.
        times = pd.to_datetime(values, utc=True)
    except (ValueError, TypeError) as exc:
        raise PingsError(
            f"column {column!r} cannot be read as date-times ({exc}); pass datetime values (tz-aware, or naive UTC)"
        ) from exc
    if times.isna().any():
        row = times.index[times.isna().to_numpy()][0]
        raise PingsError(f"column {column!r} is empty at row {row!r}; every ping needs a fix time")
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    return naive.astype(np.int64)


def correct_clock(
    pings: pd.DataFrame,
    *,
    max_offset: timedelta = timedelta(seconds=120),
    max_speed_mps: float = 50.0,
) -> pd.DataFrame:
    """Phone clock correction and flags (docs/reliability.md §2.3); never drops a ping.

    With ``device_now_at_send`` (the phone's clock when it sent the batch) and ``received_at`` (the
    server's clock) on every ping, ``clock_offset_s = received_at − device_now_at_send`` and
    ``corrected_time = fix_time + offset``; without them the offset is 0. Flags for supervisor review:
    ``flag_offset`` (|offset| > ``max_offset``), ``flag_future`` (corrected fix later than its receipt),
    ``flag_seq`` (with a ``seq`` column: a fix earlier than the one before it in sending order),
    ``flag_speed`` (implied speed from the previous corrected fix > ``max_speed_mps``, needs ``x``/``y``).
    Pass ``pings.assign(fix_time=result["corrected_time"])`` on to :func:`prepare_track`.

    >>> import pandas as pd
    >>> pings = pd.DataFrame({
    ...     "fix_time": pd.to_datetime(["2017-01-01 12:00:00", "2017-01-01 12:00:10"], utc=True),
    ...     "device_now_at_send": pd.to_datetime(["2017-01-01 12:00:20"] * 2, utc=True),
    ...     "received_at": pd.to_datetime(["2024-05-01 09:00:20"] * 2, utc=True), "x": 0.0, "y": 0.0})
    >>> out = correct_clock(pings)
    >>> str(out["corrected_time"].iloc[0]), bool(out["flag_offset"].iloc[0])
    ('2024-05-01 09:00:00+00:00', True)
    """
    if "fix_time" not in pings.columns:
        raise PingsError("the pings frame has no 'fix_time' column")
    out = pings.copy()
    fix = pd.to_datetime(out["fix_time"], utc=True)
    if "device_now_at_send" in out.columns and "received_at" in out.columns:
        received = pd.to_datetime(out["received_at"], utc=True)
        offset = received - pd.to_datetime(out["device_now_at_send"], utc=True)
        offset = offset.fillna(pd.Timedelta(0))
    else:
        received = None
        offset = pd.Series(pd.Timedelta(0), index=out.index)
    out["corrected_time"] = fix + offset
    out["clock_offset_s"] = offset.dt.total_seconds()
    out["flag_offset"] = out["clock_offset_s"].abs() > max_offset.total_seconds()
    out["flag_future"] = (out["corrected_time"] > received).fillna(False) if received is not None else False
    out["flag_seq"] = False
    if "seq" in out.columns:
        by_seq = out.sort_values("seq", kind="stable")
        earlier = by_seq["corrected_time"] < by_seq["corrected_time"].cummax().shift()
        out["flag_seq"] = earlier.fillna(False).reindex(out.index)
    out["flag_speed"] = False
    if "x" in out.columns and "y" in out.columns:
        by_time = out.sort_values("corrected_time", kind="stable")
        dt = by_time["corrected_time"].diff().dt.total_seconds()
        dist = np.hypot(by_time["x"].diff(), by_time["y"].diff())
        with np.errstate(divide="ignore", invalid="ignore"):
            fast = (dist / dt) > max_speed_mps
        out["flag_speed"] = fast.fillna(False).reindex(out.index)
    return out


def _float_column(pings: pd.DataFrame, column: str, *, required: bool) -> FloatArray:
    values = pd.to_numeric(pings[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if required and not np.isfinite(values).all():
        row = pings.index[~np.isfinite(values)][0]
        raise PingsError(
            f"column {column!r} is not a finite number at row {row!r} (value {pings[column].loc[row]!r}); "
            "drop pings without a position before computing dose"
        )
    return values


def _drop_jumps(t: FloatArray, x: FloatArray, y: FloatArray, max_mps: float) -> BoolArray:
    """Keep-mask after removing out-and-back spikes (see module docstring, step 1)."""
    keep = np.ones(len(t), dtype=bool)
    for _ in range(50):
        idx = np.flatnonzero(keep)
        if len(idx) < 3:
            break
        tt, xx, yy = t[idx], x[idx], y[idx]
        v = np.hypot(np.diff(xx), np.diff(yy)) / np.diff(tt)
        v_skip = np.hypot(xx[2:] - xx[:-2], yy[2:] - yy[:-2]) / (tt[2:] - tt[:-2])
        spike = np.zeros(len(idx), dtype=bool)
        spike[1:-1] = (v[:-1] > max_mps) & (v[1:] > max_mps) & (v_skip <= max_mps)
        spike[0] = v[0] > max_mps and v[1] <= max_mps
        spike[-1] = v[-1] > max_mps and v[-2] <= max_mps
        if not spike.any():
            break
        # Of two adjacent candidates drop only the first this round; the second is re-judged next round.
        spike[1:] &= ~spike[:-1]
        keep[idx[spike]] = False
    return keep


def _runs(t: FloatArray, max_gap_s: float) -> tuple[IntArray, IntArray, IntArray]:
    """Run number of each fix and the first / last index of its run."""
    n = len(t)
    run = np.zeros(n, dtype=np.int64)
    if n > 1:
        run[1:] = np.cumsum(np.diff(t) > max_gap_s)
    if n == 0:
        return run, run.copy(), run.copy()
    starts = np.flatnonzero(np.r_[True, run[1:] != run[:-1]]).astype(np.int64)
    ends = np.r_[starts[1:] - 1, n - 1].astype(np.int64)
    return run, starts[run], ends[run]


def _window_bounds(
    t: FloatArray, run_start: IntArray, run_end: IntArray, half_window_s: float
) -> tuple[IntArray, IntArray]:
    n = len(t)
    idx = np.arange(n, dtype=np.int64)
    lo = np.maximum(np.searchsorted(t, t - half_window_s, side="left"), run_start)
    hi = np.minimum(np.searchsorted(t, t + half_window_s, side="right") - 1, run_end)
    lonely = lo == hi
    lo = np.where(lonely, np.maximum(idx - 1, run_start), lo)
    hi = np.where(lonely, np.minimum(idx + 1, run_end), hi)
    return lo.astype(np.int64), hi.astype(np.int64)


def _robust_speed_kmh(
    t: FloatArray,
    x: FloatArray,
    y: FloatArray,
    device_mps: FloatArray | None,
    run_start: IntArray,
    run_end: IntArray,
    params: DoseParams,
) -> FloatArray:
    lo, hi = _window_bounds(t, run_start, run_end, params.speed_window.total_seconds() / 2)
    dt = t[hi] - t[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = np.where(dt > 0, np.hypot(x[hi] - x[lo], y[hi] - y[lo]) / dt, np.nan) * 3.6
    if device_mps is not None and np.isfinite(device_mps).any():
        # Median of the device's own speeds in the same window; a short Python loop is fine here
        # because only tracks that carry device speeds take this path.
        csum = np.cumsum(np.isfinite(device_mps))
        for i in np.flatnonzero(csum[hi] - np.r_[0, csum][lo] > 0):
            window = device_mps[lo[i] : hi[i] + 1]
            speed[i] = float(np.median(window[np.isfinite(window)])) * 3.6
    return np.asarray(speed, dtype=np.float64)


def _movement(speed_kmh: FloatArray, params: DoseParams) -> NDArray[np.str_]:
    out = np.full(len(speed_kmh), "unknown", dtype="<U10")
    known = np.isfinite(speed_kmh)
    out[known & (speed_kmh < params.stationary_max_kmh)] = "stationary"
    out[known & (speed_kmh >= params.stationary_max_kmh) & (speed_kmh < params.foot_max_kmh)] = "foot"
    out[known & (speed_kmh >= params.foot_max_kmh) & (speed_kmh < params.vehicle_min_kmh)] = "cycle"
    out[known & (speed_kmh >= params.vehicle_min_kmh)] = "vehicle"
    return out


def prepare_track(pings: pd.DataFrame, *, params: DoseParams | None = None) -> Track:
    """Clean one officer's pings and give every fix a robust speed and movement class (steps 1–3).

    >>> import pandas as pd
    >>> pings = pd.DataFrame({
    ...     "fix_time": pd.date_range("2024-05-01 12:00", periods=5, freq="10s"),
    ...     "x": [0.0, 14.0, 28.0, 5000.0, 56.0], "y": [0.0] * 5})
    >>> track = prepare_track(pings)
    >>> track.n_jumps, len(track.pings), round(float(track.pings["speed_kmh"].iloc[0]), 1)
    (1, 4, 5.0)
    """
    p = params or DoseParams()
    missing = [c for c in ("fix_time", "x", "y") if c not in pings.columns]
    if missing:
        raise PingsError(
            f"the pings frame has no column(s) {missing}; it needs fix_time, x and y (metres in the "
            "geofence's projected CRS) — convert lon/lat first with rasure.geo.lonlat_to_projected"
        )
    n_input = len(pings)
    frame = pings.reset_index(drop=True).copy()
    t_ns = _utc_ns(frame["fix_time"], column="fix_time")
    x = _float_column(frame, "x", required=True)
    y = _float_column(frame, "y", required=True)
    acc = _float_column(frame, "accuracy_m", required=False) if "accuracy_m" in frame.columns else None
    acc_key = np.where(np.isfinite(acc), acc, np.inf) if acc is not None else np.zeros(n_input)
    order = np.lexsort((y, x, acc_key, t_ns))
    t_ns, x, y = t_ns[order], x[order], y[order]
    frame = frame.iloc[order].reset_index(drop=True)
    first_of_time = np.r_[True, t_ns[1:] != t_ns[:-1]] if n_input else np.zeros(0, dtype=bool)
    n_duplicates = int((~first_of_time).sum())
    keep = first_of_time.copy()
    n_inaccurate = 0
    if acc is not None:
        inaccurate = acc[order] > p.max_accuracy_m
        n_inaccurate = int((keep & inaccurate).sum())
        keep &= ~inaccurate
    idx = np.flatnonzero(keep)
    t_ns, x, y = t_ns[idx], x[idx], y[idx]
    t = (t_ns - (t_ns[0] if len(t_ns) else 0)) / 1e9
    jump_keep = _drop_jumps(t, x, y, p.max_speed_kmh / 3.6)
    n_jumps = int((~jump_keep).sum())
    idx = idx[jump_keep]
    t_ns, x, y, t = t_ns[jump_keep], x[jump_keep], y[jump_keep], t[jump_keep]
    frame = frame.iloc[idx].reset_index(drop=True)
    run, run_start, run_end = _runs(t, p.max_gap.total_seconds())
    device = _float_column(frame, "speed_mps", required=False) if "speed_mps" in frame.columns else None
    speed = _robust_speed_kmh(t, x, y, device, run_start, run_end, p)
    frame["fix_time"] = pd.to_datetime(t_ns.astype("datetime64[ns]")).tz_localize("UTC")
    frame["x"] = x
    frame["y"] = y
    frame["speed_kmh"] = speed
    frame["movement"] = _movement(speed, p)
    frame["run"] = run
    return Track(
        pings=frame,
        t_ns=t_ns.astype(np.int64),
        t_s=np.asarray(t, dtype=np.float64),
        run=run,
        speed_kmh=speed,
        n_input=n_input,
        n_duplicates=n_duplicates,
        n_inaccurate=n_inaccurate,
        n_jumps=n_jumps,
        params=p,
    )


def _credits(t: FloatArray, run: IntArray, idx: IntArray, carry_s: float) -> tuple[FloatArray, FloatArray]:
    """Seconds credited to each in-fence fix ``idx`` from its left and right neighbour (step 5).

    Each neighbouring pair in one run contributes ``min(Δt, carry)/2`` to each of its fixes that is in
    the fence, so a pair with both fixes in counts ``min(Δt, carry)`` and a crossing pair half of it.
    """
    n = len(t)
    has_left = (idx > 0) & (run[np.maximum(idx - 1, 0)] == run[idx])
    has_right = (idx < n - 1) & (run[np.minimum(idx + 1, n - 1)] == run[idx])
    dt_left = np.minimum(t[idx] - t[np.maximum(idx - 1, 0)], carry_s)
    dt_right = np.minimum(t[np.minimum(idx + 1, n - 1)] - t[idx], carry_s)
    return np.where(has_left, dt_left / 2, 0.0), np.where(has_right, dt_right / 2, 0.0)


def _classify(
    speed_kmh: FloatArray,
    weight_s: FloatArray,
    *,
    vehicle_context: bool,
    dwell_s: float,
    minutes: float,
    p: DoseParams,
) -> PresenceMode:
    known = np.isfinite(speed_kmh)
    n = len(speed_kmh)
    if not known.any():
        return PresenceMode("unknown", minutes, n, np.nan, np.nan, np.nan, vehicle_context, np.nan)
    s = speed_kmh[known]
    w = weight_s[known]
    if w.sum() <= 0:
        w = np.ones(len(s))
    total = float(w.sum())
    share_stationary = float(w[s < p.stationary_max_kmh].sum()) / total
    share_fast = float(w[s >= p.foot_max_kmh].sum()) / total
    share_foot = max(0.0, 1.0 - share_stationary - share_fast)
    if share_fast >= p.fast_share_drive or (
        vehicle_context and dwell_s < p.drive_through_max_dwell.total_seconds()
    ):
        mode = "drive_through"
    elif vehicle_context and share_stationary >= share_foot:
        mode = "stopped"
    else:
        mode = "foot"
    return PresenceMode(
        mode, minutes, n, share_stationary, share_foot, share_fast, vehicle_context, float(np.median(s))
    )


def _vehicle_context(track: Track, t: FloatArray, first: int, last: int) -> bool:
    p = track.params
    approach = p.approach.total_seconds()
    lo = int(np.searchsorted(t, t[first] - approach, side="left"))
    hi = int(np.searchsorted(t, t[last] + approach, side="right"))
    run = track.run
    speed = track.speed_kmh[lo:hi]
    same = (run[lo:hi] >= run[first]) & (run[lo:hi] <= run[last])
    return int((same & (speed >= p.vehicle_min_kmh)).sum()) >= p.vehicle_min_fixes


def _as_track(pings: pd.DataFrame | Track, params: DoseParams | None) -> Track:
    if isinstance(pings, Track):
        if params is not None and params != pings.params:
            return prepare_track(pings.pings, params=params)
        return pings
    return prepare_track(pings, params=params)


def presence_mode(
    pings: pd.DataFrame | Track,
    *,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    params: DoseParams | None = None,
) -> PresenceMode:
    """The mode of presence of the fixes between ``start`` and ``end`` (inclusive), as if they were one visit.

    All fixes in the interval count as "in the fence"; fixes outside it (within ``approach``) give
    vehicle context, as for a real visit. With no bounds the whole track is one visit. Used to score the
    classifier on labelled tracks (:mod:`rasure.patrol.geolife`), and by :func:`find_visits`.
    """
    track = _as_track(pings, params)
    p = track.params
    t = track.t_s
    if len(t) == 0:
        return PresenceMode("unknown", 0.0, 0, np.nan, np.nan, np.nan, False, np.nan)
    times = track.pings["fix_time"]
    inside = np.ones(len(t), dtype=bool)
    if start is not None:
        inside &= (times >= _utc(start)).to_numpy()
    if end is not None:
        inside &= (times <= _utc(end)).to_numpy()
    idx = np.flatnonzero(inside)
    if len(idx) == 0:
        return PresenceMode("unknown", 0.0, 0, np.nan, np.nan, np.nan, False, np.nan)
    left, right = _credits(t, track.run, idx.astype(np.int64), p.carry_gap.total_seconds())
    weight = left + right
    first, last = int(idx[0]), int(idx[-1])
    dwell = t[last] + right[-1] - (t[first] - left[0])
    return _classify(
        track.speed_kmh[idx],
        weight,
        vehicle_context=_vehicle_context(track, t, first, last),
        dwell_s=float(dwell),
        minutes=float(weight.sum()) / 60,
        p=p,
    )


def _utc(ts: pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def depth_in(geofence: BaseGeometry, x: FloatArray, y: FloatArray) -> FloatArray:
    """Signed depth of each point in the geofence, metres: distance to the boundary, positive inside.

    >>> from shapely.geometry import box
    >>> depth_in(box(0, 0, 100, 100), np.array([50.0, 95.0, 130.0]), np.array([50.0, 50.0, 50.0])).tolist()
    [50.0, 5.0, -30.0]
    """
    if geofence.is_empty:
        return np.full(len(x), -np.inf)
    dist = shapely.distance(geofence.boundary, shapely.points(x, y))
    inside = shapely.contains_xy(geofence, x, y)
    return np.asarray(np.where(inside, dist, -dist), dtype=np.float64)


VISIT_COLUMNS: tuple[str, ...] = (
    "visit",
    "start",
    "end",
    "first_fix",
    "last_fix",
    "minutes",
    "n_fixes",
    "mode",
    "ends_by",
    "share_stationary",
    "share_foot",
    "share_fast",
    "vehicle_context",
    "median_speed_kmh",
)


def _segment(t: FloatArray, run: IntArray, depth: FloatArray, p: DoseParams) -> list[tuple[list[int], str]]:
    """The visit state machine (step 4): lists of in-fence fix indices, and how each visit ended.

    Only fixes within the outer band, and their neighbours, can change the state, so the loop visits
    just those (a month of sparse AVLS pings against one hot spot touches a few dozen fixes).
    """
    inner, outer = p.inner_tolerance_m, -p.outer_hysteresis_m
    exit_after = p.exit_after.total_seconds()
    near = np.flatnonzero(depth >= outer)
    if len(near) == 0 or not (depth >= inner).any():
        return []
    n = len(t)
    wanted = np.unique(np.clip(np.concatenate([near - 1, near, near + 1]), 0, n - 1))
    visits: list[tuple[list[int], str]] = []
    current: list[int] = []
    candidates: list[int] = []
    out_since: float | None = None
    prev = -2

    def close(how: str) -> None:
        nonlocal current, out_since
        if current:
            visits.append((current, how))
        current, out_since = [], None

    for k in wanted.tolist():
        contiguous = k == prev + 1
        if prev >= 0 and run[k] != run[prev]:
            close("gap" if out_since is None else "exit")
            candidates = []
        if not contiguous:
            candidates = []
        if current and depth[k] >= outer:
            if out_since is not None and t[k] - out_since >= exit_after:
                close("exit")
            else:
                out_since = None
                current.append(k)
        elif current and out_since is None:
            out_since = float(t[k])
        if not current:
            if depth[k] >= inner:
                candidates.append(k)
                if len(candidates) >= p.min_entry_fixes:
                    current, candidates, out_since = candidates, [], None
            else:
                candidates = []
        prev = k
    close("end_of_data" if out_since is None else "exit")
    return visits


def visit_rows(track: Track, depth_m: FloatArray) -> list[dict[str, object]]:
    """The rows of :func:`visits_from_depth` as plain dicts (cheap to collect over many geofences)."""
    if len(depth_m) != len(track.t_ns):
        raise PingsError(f"depth_m has {len(depth_m)} values for a track of {len(track.t_ns)} fixes")
    depth = np.asarray(depth_m, dtype=np.float64)
    p = track.params
    t = track.t_s
    rows: list[dict[str, object]] = []
    for number, (members, how) in enumerate(_segment(t, track.run, depth, p)):
        idx = np.asarray(members, dtype=np.int64)
        left, right = _credits(t, track.run, idx, p.carry_gap.total_seconds())
        weight = left + right
        first, last = int(idx[0]), int(idx[-1])
        start_ns = int(track.t_ns[first]) - round(float(left[0]) * 1e9)
        end_ns = int(track.t_ns[last]) + round(float(right[-1]) * 1e9)
        mode = _classify(
            track.speed_kmh[idx],
            weight,
            vehicle_context=_vehicle_context(track, t, first, last),
            dwell_s=(end_ns - start_ns) / 1e9,
            minutes=float(weight.sum()) / 60,
            p=p,
        )
        rows.append(
            {
                "visit": number,
                "start": start_ns,
                "end": end_ns,
                "first_fix": int(track.t_ns[first]),
                "last_fix": int(track.t_ns[last]),
                "minutes": mode.minutes,
                "n_fixes": len(idx),
                "mode": mode.mode,
                "ends_by": how,
                "share_stationary": mode.share_stationary,
                "share_foot": mode.share_foot,
                "share_fast": mode.share_fast,
                "vehicle_context": mode.vehicle_context,
                "median_speed_kmh": mode.median_speed_kmh,
            }
        )
    return rows


def visits_frame(rows: list[dict[str, object]], *, leading: tuple[str, ...] = ()) -> pd.DataFrame:
    """Rows from :func:`visit_rows` (plus any ``leading`` key columns) as a typed visits frame."""
    columns = [*leading, *VISIT_COLUMNS]
    data: dict[str, object] = {c: [r[c] for r in rows] for c in columns}
    for column in ("start", "end", "first_fix", "last_fix"):
        data[column] = pd.to_datetime(np.asarray(data[column], dtype=np.int64), unit="ns", utc=True)
    frame = pd.DataFrame(data, columns=columns)
    for column in ("visit", "n_fixes"):
        frame[column] = frame[column].astype("int64")
    frame["vehicle_context"] = frame["vehicle_context"].astype(bool)
    for column in ("mode", "ends_by"):
        frame[column] = frame[column].astype(object)
    for column in ("minutes", "share_stationary", "share_foot", "share_fast", "median_speed_kmh"):
        frame[column] = frame[column].astype("float64")
    return frame


def visits_from_depth(track: Track, depth_m: FloatArray) -> pd.DataFrame:
    """Visits from each fix's signed depth in a geofence (steps 4–6); :func:`find_visits` without the geometry.

    ``depth_m`` is aligned with ``track.pings``: metres inside the geofence (negative outside; ``-inf``
    for fixes known to be far away). Lets a caller that tests many geofences at once (an STRtree, see
    :mod:`rasure.patrol.avls`) compute depths only for the fixes near each one.
    """
    return visits_frame(visit_rows(track, depth_m))


def find_visits(
    pings: pd.DataFrame | Track, geofence: BaseGeometry, *, params: DoseParams | None = None
) -> pd.DataFrame:
    """Visits of one officer to one geofence: entry, exit, minutes credited and mode (steps 1–6).

    ``geofence`` is a shapely (Multi)Polygon in the same CRS as ``x``/``y``. Returns one row per visit
    with the columns in :data:`VISIT_COLUMNS`: ``start``/``end`` (UTC, estimated crossing times),
    ``first_fix``/``last_fix`` (first and last fix counted inside), ``minutes`` (the dose credited),
    ``n_fixes``, ``mode``, ``ends_by`` (``exit``, ``gap`` or ``end_of_data``) and the shares and speed
    the mode was decided from.

    >>> import pandas as pd
    >>> from shapely.geometry import box
    >>> times = pd.date_range("2024-05-01 12:00", periods=31, freq="30s")
    >>> pings = pd.DataFrame({"fix_time": times, "x": [-100.0] + [50.0] * 29 + [-100.0], "y": 50.0})
    >>> visit = find_visits(pings, box(0, 0, 100, 100)).iloc[0]
    >>> float(visit["minutes"]), visit["mode"], str(visit["start"])
    (14.5, 'foot', '2024-05-01 12:00:15+00:00')
    """
    track = _as_track(pings, params)
    x = track.pings["x"].to_numpy(dtype=np.float64)
    y = track.pings["y"].to_numpy(dtype=np.float64)
    return visits_from_depth(track, depth_in(geofence, x, y))


def dose_summary(
    visits: pd.DataFrame,
    *,
    target_dose: timedelta = timedelta(minutes=15),
    long_visit: timedelta = timedelta(minutes=10),
    per: Literal["day", "visit"] = "day",
    by: Sequence[str] | None = None,
    day_tz: str = "Europe/London",
) -> pd.DataFrame:
    """Dose per day (or per visit) against a target (docs/methods.md §6.1: 15 min; §6.3 step 6).

    ``visits`` is the output of :func:`find_visits` (or of
    :func:`rasure.patrol.avls.presence_in_hotspots`). A visit belongs to the local calendar day
    (``day_tz``, default UK time, as trial days are) on which it started, even if it runs past
    midnight. Grouping columns ``by`` default to whichever of ``hotspot_id`` and ``officer`` are present.

    Per day: ``dose_minutes`` (sum of credited minutes of all visits, any mode — officer-minutes
    when several officers are grouped together), ``n_visits``, ``n_long_visits`` (≥ ``long_visit``,
    Koper's 10-minute threshold), minutes by mode, ``first_visit_start`` and ``target_met``
    (``dose_minutes ≥ target_dose``). Per visit: each visit with ``dose_minutes`` and ``target_met``.
    Because visits never share credited time, ``dose_minutes`` never exceeds the span of the pings.
    """
    keys = list(by) if by is not None else [c for c in ("hotspot_id", "officer") if c in visits.columns]
    missing = [c for c in [*keys, "start", "minutes", "mode"] if c not in visits.columns]
    if missing:
        raise PingsError(f"the visits frame has no column(s) {missing}; pass the output of find_visits")
    target_min = target_dose.total_seconds() / 60
    frame = visits.copy()
    frame["date"] = pd.to_datetime(frame["start"], utc=True).dt.tz_convert(day_tz).dt.date
    frame["dose_minutes"] = frame["minutes"].astype("float64")
    if per == "visit":
        frame["target_met"] = frame["dose_minutes"] >= target_min
        return frame.reset_index(drop=True)
    groups = [*keys, "date"]
    if frame.empty:
        columns = [*groups, "n_visits", "n_long_visits", "dose_minutes"]
        columns += [f"{m}_minutes" for m in MODES] + ["first_visit_start", "target_met"]
        return pd.DataFrame(columns=columns)
    frame["is_long"] = frame["dose_minutes"] >= long_visit.total_seconds() / 60
    grouped = frame.groupby(groups, sort=True, dropna=False)
    out = grouped.agg(
        n_visits=("dose_minutes", "size"),
        n_long_visits=("is_long", "sum"),
        dose_minutes=("dose_minutes", "sum"),
        first_visit_start=("start", "min"),
    )
    by_mode = frame.pivot_table(
        index=groups, columns="mode", values="dose_minutes", aggfunc="sum", fill_value=0.0, observed=True
    )
    for m in MODES:
        out[f"{m}_minutes"] = by_mode[m] if m in by_mode.columns else 0.0
    out["target_met"] = out["dose_minutes"] >= target_min
    ordered = ["n_visits", "n_long_visits", "dose_minutes", *[f"{m}_minutes" for m in MODES]]
    return out[[*ordered, "first_visit_start", "target_met"]].reset_index()
