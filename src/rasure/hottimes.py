"""Hot times: 7 × 24 day-of-week × hour matrices with aoristic weighting (docs/methods.md §3).

A crime known only to lie somewhere in ``[t_s, t_e)`` spreads its weight of 1 over the
hour blocks the window overlaps, in proportion to the overlap (Ratcliffe 2002, *Journal of
Quantitative Criminology* 18(1):23-43)::

    w_u = |[t_s, t_e) ∩ u| / (t_e − t_s)        for each hour block u

Ratcliffe's own example: 08:00–16:00 gives 0.125 to each of 8 hours. Conventions, as in
the R ``aoristic::aoristic.df`` documentation [V CRAN docs]:

- the output is 168 hour-of-week units (Monday 00:00–01:00 is unit 0);
- missing end time, or end not after start → weight 1.0 to the start hour;
- a window of 168 h or more is capped: each hour of the week gets 1/168.

Records known only to the month (police.uk) cannot be placed in hours: they are excluded
and counted, never put at midnight. Times are the recorded local clock times (no daylight
saving correction: a window crossing a clock change is at most one hour off).

Rows of every matrix are days, Monday = 0; columns are clock hours. With
``day_start_hour=6`` (the TVP convention, docs/methods.md §3) a row is a "police day" running
06:00 to 06:00, so Friday night's small hours stay on Friday's row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Literal, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from rasure.errors import ConfigError, RasureError

DAY_NAMES: Final[tuple[str, ...]] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOURS_PER_WEEK: Final[int] = 168

Method = Literal["proportional", "blocks"]
#: Datetimes: a pandas Series or Index, a numpy datetime64 array, or a list of timestamps / ISO strings.
TimesLike: TypeAlias = "pd.Series[Any] | pd.Index[Any] | NDArray[Any] | Sequence[Any]"

_SECONDS_PER_HOUR: Final[int] = 3600
# 1970-01-01 was a Thursday; 1970-01-05 00:00 is the first Monday midnight after the epoch.
_MONDAY_EPOCH_S: Final[int] = 4 * 86_400


class HotTimesInputError(RasureError):
    """The records given to a hot-times function lack a column or hold unusable values."""


@dataclass(frozen=True)
class HotTimes:
    """A 7 × 24 hot-times result.

    ``matrix`` holds aoristic crime counts (rows: day, Monday = 0, or the police day starting
    at ``day_start_hour``; columns: clock hour, starting at ``day_start_hour``).
    ``harm_matrix`` is the same with each crime's weight multiplied by its harm (CCHI days),
    or None when no harm column was asked for. ``total_weight`` equals ``n_used`` up to
    rounding: every crime used contributes exactly 1.
    """

    matrix: pd.DataFrame
    harm_matrix: pd.DataFrame | None
    n_used: int
    n_excluded_month_only: int
    n_excluded_no_time: int
    n_harm_missing: int
    total_weight: float
    total_harm: float | None
    day_start_hour: int
    method: str


@dataclass(frozen=True)
class PeakSummary:
    """Peak windows and days for "why is it hot" text (see :func:`peak_times`)."""

    windows: pd.DataFrame  # label, day, start_hour, hours, weight, share
    days: pd.DataFrame  # day, name, weight, share (busiest first)
    night_share: float
    text: str


# --------------------------------------------------------------------------- time conversion


def _to_seconds(values: TimesLike | Any) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Datetimes → (int64 seconds since the epoch, mask of missing values).

    Time-zone-aware values are read as their local clock time.
    """
    ser = values if isinstance(values, pd.Series) else pd.Series([values] if np.ndim(values) == 0 else values)
    if pd.api.types.is_datetime64_any_dtype(ser):
        idx = pd.DatetimeIndex(ser)
    else:
        idx = pd.DatetimeIndex(pd.to_datetime(ser, format="ISO8601"))
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    arr = idx.to_numpy().astype("datetime64[s]")
    missing = np.isnat(arr)
    secs = arr.astype(np.int64)
    secs[missing] = 0
    return secs, missing


def _end_seconds(
    end: TimesLike | Any | None, start_s: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """The end times as :func:`_to_seconds` gives them, one per start; with no end, every end is
    missing (so each crime's weight goes to its start hour)."""
    if end is None:
        return start_s.copy(), np.ones(start_s.shape, dtype=bool)
    end_s, end_missing = _to_seconds(end)
    if end_s.shape != start_s.shape:
        raise HotTimesInputError(f"start has {start_s.size} values but end has {end_s.size}; give one each.")
    return end_s, end_missing


def _check_hour(name: str, value: int) -> None:
    if not (isinstance(value, int | np.integer) and 0 <= int(value) <= 23):
        raise ConfigError(f"{name} must be a whole hour from 0 to 23, got {value!r}.")


# --------------------------------------------------------------------------- aoristic core


def _spread(
    start_s: NDArray[np.int64],
    end_s: NDArray[np.int64],
    end_missing: NDArray[np.bool_],
    *,
    method: Method,
    point_below: timedelta,
) -> Iterator[tuple[NDArray[np.intp], NDArray[np.int64], NDArray[np.float64]]]:
    """Yield ``(crime index, hour-of-week, weight)`` triples, one batch per hour offset.

    The loop runs over at most 169 hour offsets from each crime's start block, never over
    crimes, so the work is vectorised over crimes.
    """
    if method not in ("proportional", "blocks"):
        raise ConfigError(f"method must be 'proportional' or 'blocks', got {method!r}.")
    rel_start = start_s - _MONDAY_EPOCH_S
    rel_end = end_s - _MONDAY_EPOCH_S
    span = rel_end - rel_start
    point_s = int(point_below.total_seconds())
    is_point = end_missing | (span <= max(point_s, 0))
    is_week = ~is_point & (span >= HOURS_PER_WEEK * _SECONDS_PER_HOUR)
    first_block = rel_start // _SECONDS_PER_HOUR  # floor division: correct before 1970 too

    idx = np.flatnonzero(is_point)
    if idx.size:
        yield idx, first_block[idx] % HOURS_PER_WEEK, np.ones(idx.size)
    idx = np.flatnonzero(is_week)
    if idx.size:
        for u in range(HOURS_PER_WEEK):
            yield idx, np.full(idx.size, u, dtype=np.int64), np.full(idx.size, 1.0 / HOURS_PER_WEEK)

    spread = np.flatnonzero(~is_point & ~is_week)
    if not spread.size:
        return
    s, e, b0 = rel_start[spread], rel_end[spread], first_block[spread]
    n_blocks = -((-e) // _SECONDS_PER_HOUR) - b0  # blocks touched: ceil(e) − floor(s)
    length = (e - s).astype(np.float64)
    for k in range(int(n_blocks.max())):
        active = np.flatnonzero(n_blocks > k)
        block = b0[active] + k
        lo = np.maximum(s[active], block * _SECONDS_PER_HOUR)
        hi = np.minimum(e[active], (block + 1) * _SECONDS_PER_HOUR)
        overlap = np.clip(hi - lo, 0, None).astype(np.float64)
        if method == "proportional":
            w = overlap / length[active]
        else:  # Ratcliffe's original: equal weight to each hour block touched
            w = np.where(overlap > 0, 1.0 / n_blocks[active], 0.0)
        yield spread[active], block % HOURS_PER_WEEK, w


def aoristic_week(
    start: TimesLike,
    end: TimesLike | None = None,
    *,
    weights: ArrayLike | None = None,
    method: Method = "proportional",
    point_below: timedelta = timedelta(0),
) -> NDArray[np.float64]:
    """Aoristic weight per hour of the week (168 values, Monday 00:00–01:00 first).

    ``w_u = |[t_s, t_e) ∩ u| / (t_e − t_s)`` (Ratcliffe 2002); each crime's weight (1, or its
    entry in ``weights``, e.g. harm) is shared out over the hour blocks it overlaps. Missing
    end, end ≤ start, or a span ≤ ``point_below`` → all weight to the start hour; a span of
    168 h or more → 1/168 to every hour. ``method="blocks"`` gives equal weight to each
    hour block touched (Ratcliffe's original hour-block version).

    >>> w = aoristic_week(["2024-01-01 08:00"], ["2024-01-01 16:00"])  # a Monday
    >>> w[8:16].tolist(), float(w.sum())
    ([0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125], 1.0)
    """
    start_s, start_missing = _to_seconds(start)
    if start_missing.any():
        raise HotTimesInputError(
            f"{int(start_missing.sum())} start times are missing; drop those records first "
            "(hot_times() does this and reports how many)."
        )
    end_s, end_missing = _end_seconds(end, start_s)
    w_in = np.ones(start_s.size) if weights is None else np.asarray(weights, dtype=np.float64)
    if w_in.shape != start_s.shape:
        raise HotTimesInputError(f"weights has {w_in.size} values for {start_s.size} crimes; give one each.")
    out = np.zeros(HOURS_PER_WEEK)
    for idx, how, w in _spread(start_s, end_s, end_missing, method=method, point_below=point_below):
        out += np.bincount(how, weights=w * w_in[idx], minlength=HOURS_PER_WEEK)
    return out


# --------------------------------------------------------------------------- 7 × 24 matrices


def week_to_matrix(week: NDArray[np.float64], *, day_start_hour: int = 0) -> pd.DataFrame:
    """Fold 168 hour-of-week values into a 7 × 24 frame (rows: day, Monday = 0; columns: hour).

    With ``day_start_hour = h`` row d runs from day d at h:00 to day d+1 at h:00 and the
    columns run h, h+1, …, 23, 0, …, h−1 (so Sunday night's small hours sit on Sunday's row).

    >>> m = week_to_matrix(np.arange(168.0), day_start_hour=6)
    >>> list(m.columns[:2]), float(m.loc[6, 2])  # Sunday row, 02:00 is Monday 02:00
    ([6, 7], 2.0)
    """
    _check_hour("day_start_hour", day_start_hour)
    week = np.asarray(week, dtype=np.float64)
    if week.shape != (HOURS_PER_WEEK,):
        raise ConfigError(f"expected 168 hour-of-week values, got shape {week.shape}.")
    shifted = np.roll(week, -day_start_hour)  # shifted[v] = week[v + h]
    cols = [(day_start_hour + c) % 24 for c in range(24)]
    return pd.DataFrame(
        shifted.reshape(7, 24),
        index=pd.Index(range(7), name="day_of_week"),
        columns=pd.Index(cols, name="hour"),
    )


def matrix_to_week(matrix: pd.DataFrame, *, day_start_hour: int = 0) -> NDArray[np.float64]:
    """Inverse of :func:`week_to_matrix`.

    >>> w = np.arange(168.0)
    >>> bool((matrix_to_week(week_to_matrix(w, day_start_hour=6), day_start_hour=6) == w).all())
    True
    """
    _check_hour("day_start_hour", day_start_hour)
    cols = [(day_start_hour + c) % 24 for c in range(24)]
    shifted = matrix.loc[list(range(7)), cols].to_numpy(dtype=np.float64).reshape(HOURS_PER_WEEK)
    return np.roll(shifted, day_start_hour)


def hot_times(
    records: pd.DataFrame,
    *,
    harm_column: str | None = None,
    day_start_hour: int = 0,
    method: Method = "proportional",
    point_below: timedelta = timedelta(0),
) -> HotTimes:
    """Aoristic 7 × 24 day × hour matrix of crimes (and of harm) from canonical records.

    Uses ``occurred_from``, ``occurred_to`` and ``time_precision``. Each crime adds weight 1
    spread over ``[occurred_from, occurred_to)`` as in :func:`aoristic_week`. Records with
    ``time_precision == "month"`` and records without a start time are excluded and counted.
    Two readings of the canonical schema:

    - an end at hh:mm:59 is an inclusive last second (the ingest convention), read as the
      next whole minute;
    - a ``"day"`` record without an end (or ending at its start) covers the whole day.

    With ``harm_column`` (e.g. ``"harm_days"``) the harm matrix weights each crime by its
    harm; a missing harm counts 0 and is reported in ``n_harm_missing``.

    >>> recs = pd.DataFrame({
    ...     "occurred_from": pd.to_datetime(["2024-01-05 22:30", "2024-01-06 01:00", "2024-01-01 00:00"]),
    ...     "occurred_to": pd.to_datetime(["2024-01-06 01:30:00", None, "2024-01-31 23:59:59"]),
    ...     "time_precision": ["minute", "minute", "month"]})
    >>> ht = hot_times(recs, day_start_hour=6)
    >>> ht.n_used, ht.n_excluded_month_only, round(ht.total_weight, 9)
    (2, 1, 2.0)
    >>> round(float(ht.matrix.loc[4, 1]), 4)  # Friday's police-day row, 01:00 (Saturday morning)
    1.1667
    """
    _check_hour("day_start_hour", day_start_hour)
    missing_cols = [c for c in ("occurred_from", "occurred_to", "time_precision") if c not in records.columns]
    if harm_column is not None and harm_column not in records.columns:
        missing_cols.append(harm_column)
    if missing_cols:
        raise HotTimesInputError(
            f"records lack column(s) {missing_cols}; give canonical records (rasure.records) "
            "and add harm with rasure.harm.harm_days first if harm is wanted."
        )
    precision = records["time_precision"].astype("string").str.strip().str.lower()
    month_only = (precision == "month").fillna(False).to_numpy(dtype=bool)
    start_s, start_missing = _to_seconds(records["occurred_from"])
    end_s, end_missing = _to_seconds(records["occurred_to"])
    use = ~month_only & ~start_missing
    n_no_time = int((~month_only & start_missing).sum())

    start_s, end_s, end_missing = start_s[use], end_s[use].copy(), end_missing[use].copy()
    inclusive = ~end_missing & (end_s % 60 == 59)
    end_s[inclusive] += 1
    day_only = (precision == "day").fillna(False).to_numpy(dtype=bool)[use]
    whole_day = day_only & (end_missing | (end_s <= start_s))
    end_s[whole_day] = start_s[whole_day] + 86_400
    end_missing[whole_day] = False

    counts = np.zeros(HOURS_PER_WEEK)
    harm_week = np.zeros(HOURS_PER_WEEK)
    harm = None
    n_harm_missing = 0
    if harm_column is not None:
        harm_all = pd.to_numeric(records[harm_column], errors="coerce").to_numpy(dtype=np.float64)[use]
        n_harm_missing = int(np.isnan(harm_all).sum())
        harm = np.nan_to_num(harm_all, nan=0.0)
    for idx, how, w in _spread(start_s, end_s, end_missing, method=method, point_below=point_below):
        counts += np.bincount(how, weights=w, minlength=HOURS_PER_WEEK)
        if harm is not None:
            harm_week += np.bincount(how, weights=w * harm[idx], minlength=HOURS_PER_WEEK)
    return HotTimes(
        matrix=week_to_matrix(counts, day_start_hour=day_start_hour),
        harm_matrix=None if harm is None else week_to_matrix(harm_week, day_start_hour=day_start_hour),
        n_used=int(use.sum()),
        n_excluded_month_only=int(month_only.sum()),
        n_excluded_no_time=n_no_time,
        n_harm_missing=n_harm_missing,
        total_weight=float(counts.sum()),
        total_harm=None if harm is None else float(harm_week.sum()),
        day_start_hour=day_start_hour,
        method=method,
    )


# --------------------------------------------------------------------------- day / night


def _is_day_hour(hour: NDArray[np.int64], day_start_hour: int, night_start_hour: int) -> NDArray[np.bool_]:
    _check_hour("day_start_hour", day_start_hour)
    _check_hour("night_start_hour", night_start_hour)
    if day_start_hour == night_start_hour:
        raise ConfigError("day_start_hour and night_start_hour must differ (e.g. 6 and 18).")
    day_len = (night_start_hour - day_start_hour) % 24
    return np.asarray((hour - day_start_hour) % 24 < day_len, dtype=bool)


def period_of(ts: TimesLike, *, day_start_hour: int = 6, night_start_hour: int = 18) -> NDArray[np.str_]:
    """``"day"`` when ``day_start_hour ≤ clock hour < night_start_hour`` (wrapping midnight), else ``"night"``.

    Missing times give ``""``.

    >>> period_of(["2024-03-01 05:59", "2024-03-01 06:00", "2024-03-01 18:00"]).tolist()
    ['night', 'day', 'night']
    """
    secs, missing = _to_seconds(ts)
    hour = (secs // _SECONDS_PER_HOUR) % 24
    out = np.where(_is_day_hour(hour, day_start_hour, night_start_hour), "day", "night").astype("<U5")
    out[missing] = ""
    return out


def day_night_shares(
    start: TimesLike,
    end: TimesLike | None = None,
    *,
    day_start_hour: int = 6,
    night_start_hour: int = 18,
    method: Method = "proportional",
    point_below: timedelta = timedelta(0),
) -> pd.DataFrame:
    """Aoristic share of each crime's window falling in the day and in the night.

    ``day_share = Σ_{u ∈ day hours} w_u`` with ``w_u`` as in :func:`aoristic_week`;
    ``night_share = 1 − day_share``. Missing start → NaN in both.

    >>> day_night_shares(["2024-03-01 16:00"], ["2024-03-01 20:00"]).round(2).values.tolist()
    [[0.5, 0.5]]
    """
    start_s, start_missing = _to_seconds(start)
    end_s, end_missing = _end_seconds(end, start_s)
    day_hours = _is_day_hour(np.arange(HOURS_PER_WEEK) % 24, day_start_hour, night_start_hour)
    ok = np.flatnonzero(~start_missing)
    day = np.zeros(start_s.size)
    for idx, how, w in _spread(
        start_s[ok], end_s[ok], end_missing[ok], method=method, point_below=point_below
    ):
        day += np.bincount(ok[idx], weights=w * day_hours[how], minlength=start_s.size)
    day[start_missing] = np.nan
    return pd.DataFrame({"day_share": day, "night_share": 1.0 - day})


# --------------------------------------------------------------------------- peak summary


def _hhmm(hour: int) -> str:
    return f"{hour % 24:02d}:00"


def peak_times(
    result: HotTimes,
    *,
    by: Literal["count", "harm"] = "count",
    top: int = 3,
    window_hours: int = 3,
    night_start_hour: int = 18,
    night_end_hour: int = 6,
) -> PeakSummary:
    """The ``top`` busiest non-overlapping windows of ``window_hours`` consecutive hours, and the busiest days.

    Windows are chosen greedily on the circular week: the window with the largest total
    weight, then the largest not overlapping it, and so on (ties → earliest in the week).
    ``share`` is the window's weight over the week's total. Days follow the result's
    ``day_start_hour``. ``night_share`` is the weight from ``night_start_hour`` to
    ``night_end_hour``. Shade or caveat anything based on few crimes (docs/methods.md §3).

    >>> recs = pd.DataFrame({"occurred_from": pd.to_datetime(["2024-01-05 22:00"] * 3 + ["2024-01-03 09:00"]),
    ...                      "occurred_to": pd.NaT, "time_precision": "minute"})
    >>> p = peak_times(hot_times(recs), top=2, window_hours=1)
    >>> p.windows["label"].tolist(), p.windows["share"].tolist()
    (['Fri 22:00–23:00', 'Wed 09:00–10:00'], [0.75, 0.25])
    """
    if top < 1 or not 1 <= window_hours <= 24:
        raise ConfigError("top must be ≥ 1 and window_hours between 1 and 24.")
    if by == "harm":
        if result.harm_matrix is None:
            raise ConfigError("by='harm' needs a result made with hot_times(..., harm_column='harm_days').")
        matrix = result.harm_matrix
    elif by == "count":
        matrix = result.matrix
    else:
        raise ConfigError(f"by must be 'count' or 'harm', got {by!r}.")
    week = matrix_to_week(matrix, day_start_hour=result.day_start_hour)
    total = float(week.sum())
    what = "crimes" if by == "count" else "harm"
    columns = ["label", "day", "start_hour", "hours", "weight", "share"]
    if total <= 0:
        empty = pd.DataFrame(columns=columns)
        days = pd.DataFrame(columns=["day", "name", "weight", "share"])
        return PeakSummary(empty, days, float("nan"), f"No {what} with known times to summarise.")

    # window_sum[u] = Σ_{k<w} week[u + k] (circular)
    window_sum = np.zeros(HOURS_PER_WEEK)
    for k in range(window_hours):
        window_sum += np.roll(week, -k)
    used = np.zeros(HOURS_PER_WEEK, dtype=bool)
    rows = []
    for _ in range(top):
        blocked = np.zeros(HOURS_PER_WEEK, dtype=bool)
        for k in range(window_hours):
            blocked |= np.roll(used, -k)
        candidates = np.where(blocked, -np.inf, window_sum)
        u = int(np.argmax(candidates))
        if not np.isfinite(candidates[u]) or candidates[u] <= 0:
            break
        used[(u + np.arange(window_hours)) % HOURS_PER_WEEK] = True
        day, hour = divmod(u, 24)
        label = f"{DAY_NAMES[day]} {_hhmm(hour)}–{_hhmm(hour + window_hours)}"
        rows.append((label, day, hour, window_hours, float(window_sum[u]), float(window_sum[u]) / total))
    windows = pd.DataFrame(rows, columns=columns)

    day_weight = matrix.sum(axis=1).to_numpy(dtype=np.float64)
    order = np.argsort(-day_weight, kind="stable")
    days = pd.DataFrame(
        {
            "day": order,
            "name": [DAY_NAMES[d] for d in order],
            "weight": day_weight[order],
            "share": day_weight[order] / total,
        }
    )
    night = ~_is_day_hour(np.arange(HOURS_PER_WEEK) % 24, night_end_hour, night_start_hour)
    night_share = float(week[night].sum()) / total

    peak = ", ".join(f"{r[0]} ({r[5]:.0%})" for r in rows)
    day_span = (
        f" ({_hhmm(result.day_start_hour)} to {_hhmm(result.day_start_hour)})"
        if result.day_start_hour
        else ""
    )
    busiest = ", ".join(f"{n} {s:.0%}" for n, s in zip(days["name"][:2], days["share"][:2], strict=True))
    excluded = (
        f"; {result.n_excluded_month_only} month-only records excluded"
        if result.n_excluded_month_only
        else ""
    )
    text = (
        f"Peak times ({what}): {peak}. Busiest days{day_span}: {busiest}. "
        f"{night_share:.0%} at night ({_hhmm(night_start_hour)}–{_hhmm(night_end_hour)}). "
        f"Based on {result.n_used} crimes with known times{excluded}."
    )
    return PeakSummary(windows=windows, days=days, night_share=night_share, text=text)
