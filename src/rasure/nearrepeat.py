"""Near repeats: the Knox test with Monte-Carlo p-values (docs/methods.md §4).

For every pair of events ``i < j`` the spatial distance ``d_ij`` (Manhattan by default, as in
Ratcliffe's Near Repeat Calculator and ``wsteenbeek/NearRepeat``) and the time distance
``t_ij = |T_i − T_j|`` in days are binned into bands ``[a, b)`` (R ``cut(right=FALSE)``).
``O[s, t]`` is the number of pairs in distance band s and time band t. Under the null of no
space-time interaction the event times are exchangeable across locations, so the times are
permuted R times (default 999) and the table recounted, ``E^(r)[s, t]``:

- Knox ratio ``= O / mean_r E^(r)`` (a median variant is also given);
- p-value ``= (1 + #{r : E^(r) ≥ O}) / (R + 1)`` (one-sided: more pairs than chance).

Knox (1964), *Applied Statistics* 13(1):25-29; Johnson et al. (2007) for the permutation
form used in near-repeat work; Ratcliffe & Rengert (2008), *Security Journal* 21:58-76.

Default bands (docs/methods.md §4, a [U] proposal for violence): distance 0–1 m (same location),
1–100, 100–200, 200–400, 400–800 m, 800 m+; time 0–2, 3–7, 8–14, 15–28, 29–56, 57+ days,
i.e. the whole-day breaks 0, 3, 8, 15, 29, 57, ∞ in ``[a, b)`` form. Report only cells
with O ≥ 5.

Because a permutation of times leaves the locations (hence every ``d_ij``) and the multiset
of all pairwise time gaps unchanged, only pairs closer than the last finite distance break
are recounted in each simulation; an open-ended last band (``∞``) is the fixed total for
its time band minus the closer bands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from rasure.errors import ConfigError, RasureError

DEFAULT_DISTANCE_BANDS_M: Final[tuple[float, ...]] = (0.0, 1.0, 100.0, 200.0, 400.0, 800.0, float("inf"))
DEFAULT_TIME_BANDS_DAYS: Final[tuple[float, ...]] = (0.0, 3.0, 8.0, 15.0, 29.0, 57.0, float("inf"))
DEFAULT_PERMUTATIONS: Final[int] = 999
#: Up to this many events, pairs are enumerated densely with numpy; above it, with a k-d tree.
DENSE_PAIR_LIMIT: Final[int] = 3000

Metric = Literal["manhattan", "euclidean"]
#: Event times: datetimes (Series, Index, datetime64 array, list of timestamps) or numbers of days.
TimesLike: TypeAlias = "pd.Series[Any] | pd.Index[Any] | NDArray[Any] | Sequence[Any]"


class KnoxInputError(RasureError):
    """Events given to the Knox test are unusable (too few, mismatched lengths, missing values)."""


@dataclass(frozen=True)
class KnoxResult:
    """Knox test table and the settings that produced it.

    ``table`` has one row per (distance band, time band), distance bands outermost, with
    columns ``distance_band``, ``time_band``, ``distance_from_m``, ``distance_to_m``,
    ``time_from_days``, ``time_to_days``, ``observed``, ``expected`` (mean of the
    simulations), ``expected_median``, ``knox_ratio``, ``knox_ratio_median``, ``p_value``
    and ``reportable`` (observed ≥ ``min_observed``). A ratio is NaN where expected is 0.
    """

    table: pd.DataFrame
    n_events: int
    n_pairs: int
    n_permutations: int
    metric: str
    seed: int | None
    distance_bands_m: tuple[float, ...]
    time_bands_days: tuple[float, ...]
    n_excluded: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def pivot(self, column: str = "knox_ratio") -> pd.DataFrame:
        """One column of :attr:`table` as a distance × time grid (rows: distance bands)."""
        grid = self.table.pivot(index="distance_band", columns="time_band", values=column)
        rows = list(dict.fromkeys(self.table["distance_band"]))
        cols = list(dict.fromkeys(self.table["time_band"]))
        return grid.loc[rows, cols]


def _check_breaks(name: str, breaks: tuple[float, ...] | list[float]) -> NDArray[np.float64]:
    b = np.asarray(breaks, dtype=np.float64)
    if b.ndim != 1 or b.size < 2 or np.isnan(b).any() or (b < 0).any() or (np.diff(b) <= 0).any():
        raise ConfigError(
            f"{name} must be at least two strictly increasing non-negative breaks, e.g. (0, 1, 100, 200, inf); "
            f"got {list(breaks)!r}."
        )
    if np.isinf(b[:-1]).any():
        raise ConfigError(f"{name}: only the last break may be infinite; got {list(breaks)!r}.")
    return b


def _label(a: float, b: float, unit: str) -> str:
    return f"[{a:g}, {'∞' if np.isinf(b) else f'{b:g}'}) {unit}"


def _days(t: TimesLike, *, whole_days: bool) -> NDArray[np.float64]:
    arr = np.asarray(t)
    if arr.dtype.kind == "M" or arr.dtype == object:
        idx = pd.DatetimeIndex(pd.to_datetime(pd.Series(arr)))
        if idx.tz is not None:
            idx = idx.tz_localize(None)
        nat = np.asarray(idx.isna(), dtype=bool)
        if nat.any():
            raise KnoxInputError(f"{int(nat.sum())} event times are missing; drop those events first.")
        if whole_days:
            idx = idx.normalize()
        secs = idx.to_numpy().astype("datetime64[s]").astype(np.int64)
        return np.asarray((secs - secs.min()) / 86_400.0, dtype=np.float64)
    days = np.asarray(arr, dtype=np.float64)
    if np.isnan(days).any():
        raise KnoxInputError(f"{int(np.isnan(days).sum())} event times are missing; drop those events first.")
    return days


def _distance(dx: NDArray[np.float64], dy: NDArray[np.float64], metric: Metric) -> NDArray[np.float64]:
    if metric == "manhattan":
        return np.asarray(np.abs(dx) + np.abs(dy), dtype=np.float64)
    return np.asarray(np.hypot(dx, dy), dtype=np.float64)


def close_pairs(
    x: ArrayLike,
    y: ArrayLike,
    *,
    max_distance_m: float,
    metric: Metric = "manhattan",
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """All pairs ``i < j`` with distance ``< max_distance_m``: ``(i, j, d_ij)``, sorted by (i, j).

    Dense numpy enumeration up to :data:`DENSE_PAIR_LIMIT` events, else a scipy k-d tree
    (``query_pairs`` with Minkowski p = 1 or 2). Manhattan: ``|Δx| + |Δy|``; Euclidean:
    ``√(Δx² + Δy²)``.

    >>> i, j, d = close_pairs([0, 3, 10], [0, 4, 0], max_distance_m=8)
    >>> i.tolist(), j.tolist(), d.tolist()
    ([0], [1], [7.0])
    """
    if metric not in ("manhattan", "euclidean"):
        raise ConfigError(f"metric must be 'manhattan' or 'euclidean', got {metric!r}.")
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    n = xs.size
    if n <= DENSE_PAIR_LIMIT:
        i, j = np.triu_indices(n, k=1)
    else:
        tree = cKDTree(np.column_stack([xs, ys]))
        pairs = tree.query_pairs(
            r=max_distance_m, p=1.0 if metric == "manhattan" else 2.0, output_type="ndarray"
        )
        pairs = np.sort(pairs, axis=1)
        order = np.lexsort((pairs[:, 1], pairs[:, 0]))
        i, j = pairs[order, 0], pairs[order, 1]
    d = _distance(xs[i] - xs[j], ys[i] - ys[j], metric)
    keep = d < max_distance_m
    return i[keep].astype(np.intp), j[keep].astype(np.intp), d[keep]


def _pairs_below(sorted_days: NDArray[np.float64], gap: float) -> int:
    """Number of pairs i < j with ``|T_i − T_j| < gap`` (times sorted ascending)."""
    if gap <= 0:
        return 0
    n = sorted_days.size
    if np.isinf(gap):
        return n * (n - 1) // 2
    first = np.searchsorted(sorted_days, sorted_days - gap, side="right")
    return int(np.clip(np.arange(n) - first, 0, None).sum())


def knox_test(
    x: ArrayLike,
    y: ArrayLike,
    t: TimesLike,
    *,
    distance_bands_m: tuple[float, ...] | list[float] = DEFAULT_DISTANCE_BANDS_M,
    time_bands_days: tuple[float, ...] | list[float] = DEFAULT_TIME_BANDS_DAYS,
    metric: Metric = "manhattan",
    n_permutations: int = DEFAULT_PERMUTATIONS,
    min_observed: int = 5,
    whole_days: bool = True,
    seed: int = 0,
    rng: np.random.Generator | None = None,
) -> KnoxResult:
    """Knox test of space-time clustering with a Monte-Carlo permutation p-value per band.

    ``x``, ``y`` in projected metres (BNG); ``t`` as datetimes (floored to calendar dates
    when ``whole_days``, as the Near Repeat Calculator works in dates) or as numbers of days.
    See the module docstring for the formulas. The r-th simulation assigns the times
    ``t[rng.permutation(n)]`` (the r-th call), with ``rng = numpy.random.default_rng(seed)``
    unless ``rng`` is given, so results are reproducible from the seed.

    >>> res = knox_test([0, 0, 500, 5000], [0, 50, 0, 0], [0, 1, 2, 40], n_permutations=99,
    ...                 distance_bands_m=(0, 100, float("inf")), time_bands_days=(0, 7, float("inf")))
    >>> res.table[["distance_band", "time_band", "observed"]].values.tolist()[:2]
    [['[0, 100) m', '[0, 7) days', 1], ['[0, 100) m', '[7, ∞) days', 0]]
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    days = _days(t, whole_days=whole_days)
    n = xs.size
    if not (xs.shape == ys.shape == days.shape) or xs.ndim != 1:
        raise KnoxInputError(
            f"x, y and t must be 1-D and the same length; got {xs.shape}, {ys.shape}, {days.shape}."
        )
    if n < 2:
        raise KnoxInputError(f"the Knox test needs at least 2 events; got {n}.")
    if np.isnan(xs).any() or np.isnan(ys).any():
        raise KnoxInputError(
            "some events have no coordinates; drop them first (rasure.records.has_location)."
        )
    if n_permutations < 1:
        raise ConfigError(f"n_permutations must be ≥ 1 (999 is usual); got {n_permutations}.")
    sb = _check_breaks("distance_bands_m", distance_bands_m)
    tb = _check_breaks("time_bands_days", time_bands_days)
    open_ended = bool(np.isinf(sb[-1]))
    finite = sb[:-1] if open_ended else sb  # breaks of the bands recounted pair by pair
    n_s, n_t = sb.size - 1, tb.size - 1
    n_sf = finite.size - 1  # number of finite distance bands

    i, j, d = close_pairs(xs, ys, max_distance_m=float(finite[-1]), metric=metric)
    s_idx = np.searchsorted(finite, d, side="right") - 1
    keep = (s_idx >= 0) & (s_idx < n_sf)
    i, j, s_idx = i[keep], j[keep], s_idx[keep]

    def count(times: NDArray[np.float64]) -> NDArray[np.int64]:
        gap = np.abs(times[i] - times[j])
        t_idx = np.searchsorted(tb, gap, side="right") - 1
        ok = t_idx < n_t
        return np.bincount(s_idx[ok] * n_t + t_idx[ok], minlength=n_sf * n_t).reshape(n_sf, n_t)

    # pairs per time band over all pairs: invariant under permutation of the times
    sorted_days = np.sort(days)
    below = np.array([_pairs_below(sorted_days, float(c)) for c in tb])
    all_pairs_by_time = np.diff(below)

    def full(counts: NDArray[np.int64]) -> NDArray[np.int64]:
        if not open_ended:
            return counts
        return np.vstack([counts, all_pairs_by_time - counts.sum(axis=0)])

    generator = rng if rng is not None else np.random.default_rng(seed)
    observed = full(count(days))
    sims = np.empty((n_permutations, n_s, n_t), dtype=np.int64)
    for r in range(n_permutations):
        sims[r] = full(count(days[generator.permutation(n)]))

    expected = sims.mean(axis=0)
    expected_median = np.median(sims, axis=0)
    n_ge = (sims >= observed[None, :, :]).sum(axis=0)
    p_value = (1.0 + n_ge) / (n_permutations + 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, observed / expected, np.nan)
        ratio_median = np.where(expected_median > 0, observed / expected_median, np.nan)

    s_grid, t_grid = np.meshgrid(np.arange(n_s), np.arange(n_t), indexing="ij")
    s_flat, t_flat = s_grid.ravel(), t_grid.ravel()
    table = pd.DataFrame(
        {
            "distance_band": [_label(sb[s], sb[s + 1], "m") for s in s_flat],
            "time_band": [_label(tb[k], tb[k + 1], "days") for k in t_flat],
            "distance_from_m": sb[s_flat],
            "distance_to_m": sb[s_flat + 1],
            "time_from_days": tb[t_flat],
            "time_to_days": tb[t_flat + 1],
            "observed": observed.ravel(),
            "expected": expected.ravel(),
            "expected_median": expected_median.ravel(),
            "knox_ratio": ratio.ravel(),
            "knox_ratio_median": ratio_median.ravel(),
            "p_value": p_value.ravel(),
            "reportable": observed.ravel() >= min_observed,
        }
    )
    return KnoxResult(
        table=table,
        n_events=n,
        n_pairs=n * (n - 1) // 2,
        n_permutations=n_permutations,
        metric=metric,
        seed=None if rng is not None else seed,
        distance_bands_m=tuple(float(v) for v in sb),
        time_bands_days=tuple(float(v) for v in tb),
    )


def knox_records(
    records: pd.DataFrame,
    *,
    time_column: str = "occurred_from",
    **options: object,
) -> KnoxResult:
    """Knox test on canonical records: uses ``easting``, ``northing`` and ``time_column``.

    Records known only to the month (``time_precision == "month"``, i.e. police.uk) cannot
    fall in day bands and are excluded, as are records without coordinates or time; the
    number excluded is in ``n_excluded`` and ``notes``. ``options`` go to :func:`knox_test`.

    >>> recs = pd.DataFrame({"easting": [0.0, 10.0, 5000.0], "northing": [0.0, 0.0, 0.0],
    ...     "occurred_from": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-03-01"]),
    ...     "time_precision": ["day", "day", "month"]})
    >>> res = knox_records(recs, n_permutations=9)
    >>> res.n_events, res.n_excluded, int(res.table["observed"].sum())
    (2, 1, 1)
    """
    missing = [c for c in ("easting", "northing", time_column, "time_precision") if c not in records.columns]
    if missing:
        raise KnoxInputError(f"records lack column(s) {missing}; give canonical records (rasure.records).")
    month = (records["time_precision"].astype("string").str.strip().str.lower() == "month").fillna(False)
    usable = ~month & records["easting"].notna() & records["northing"].notna() & records[time_column].notna()
    used = records[usable.to_numpy(dtype=bool)]
    n_month = int(month.sum())
    n_other = int((~usable).sum()) - n_month
    notes = []
    if n_month:
        notes.append(f"{n_month} month-only records excluded (time not known to the day)")
    if n_other:
        notes.append(f"{n_other} records without coordinates or time excluded")
    res = knox_test(
        used["easting"].to_numpy(dtype=np.float64),
        used["northing"].to_numpy(dtype=np.float64),
        used[time_column].to_numpy(),
        **options,  # type: ignore[arg-type]
    )
    return replace(res, n_excluded=n_month + n_other, notes=tuple(notes))
