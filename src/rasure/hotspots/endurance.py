"""Do hot spots endure? Hot places per time window, stability between windows, and classes.

docs/methods.md §1.7: a place should be patrolled only if it is hot in at least 2 of the last 3
years; report Spearman's ρ of place counts and the Jaccard overlap of the top-K sets between
consecutive windows; classify places as persistent, emerging, intermittent or cooling (after
sfhotspot's ``hotspot_classify``, with our own, stated rules).

All functions take a *place × window* table: one row per place of the study area (zero rows
included: they matter for ranks), one column per time window in chronological order.
:func:`place_window_counts` builds it from per-record place ids and window labels.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from rasure.hotspots.places import HotspotInputError

__all__ = [
    "PLACE_CLASSES",
    "classify_places",
    "hot_in_m_of_n",
    "hot_places",
    "place_window_counts",
    "stability",
]

#: The classes :func:`classify_places` assigns, in the order its rules are tried.
PLACE_CLASSES: Final[tuple[str, ...]] = ("not hot", "cooling", "persistent", "emerging", "intermittent")


def _check_table(table: pd.DataFrame, name: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise HotspotInputError(f"{name} must be a pandas DataFrame (rows = places, columns = windows)")
    if table.shape[1] == 0:
        raise HotspotInputError(f"{name} has no window columns")
    if not table.index.is_unique:
        raise HotspotInputError(f"{name} has repeated place ids in its index; aggregate them first")


def place_window_counts(
    place_ids: ArrayLike,
    windows: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    places: ArrayLike | None = None,
    window_order: ArrayLike | None = None,
) -> pd.DataFrame:
    """The place × window table of counts (or summed ``weights``, e.g. harm) per place per window.

    ``place_ids`` and ``windows`` have one entry per record (place id ``-1`` = unplaced, dropped;
    a missing window label is dropped too). ``places`` lists every place of the study area, so
    places with no crime get a row of zeros; ``window_order`` fixes the columns (default:
    sorted labels), so an empty window still gets a column.

    >>> t = place_window_counts([7, 7, 9, -1], ["2023", "2024", "2024", "2024"], places=[7, 8, 9])
    >>> t.to_dict("list")
    {'2023': [1.0, 0.0, 0.0], '2024': [1.0, 0.0, 1.0]}
    """
    pid = np.asarray(place_ids)
    win = pd.Series(np.asarray(windows, dtype=object))
    if pid.ndim != 1 or pid.size != win.size:
        raise HotspotInputError(
            f"place_ids and windows must have one entry per record: {pid.size} and {win.size}"
        )
    w = np.ones(pid.size) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != pid.shape:
        raise HotspotInputError(f"weights must have one value per record: {w.size} for {pid.size}")
    keep = np.array(win.notna().to_numpy(), dtype=bool)
    if np.issubdtype(pid.dtype, np.number):
        keep &= pid != -1
    frame = pd.DataFrame({"place": pid[keep], "window": win[keep].to_numpy(), "w": w[keep]})
    table = frame.pivot_table(index="place", columns="window", values="w", aggfunc="sum", fill_value=0.0)
    cols = sorted(frame["window"].unique()) if window_order is None else list(np.asarray(window_order))
    extra = set(frame["window"].unique()) - set(cols)
    if extra:
        raise HotspotInputError(f"window labels {sorted(map(str, extra))} are not in window_order; add them")
    table = table.reindex(columns=cols, fill_value=0.0)
    if places is not None:
        want = pd.Index(np.asarray(places))
        unknown = table.index.difference(want)
        if len(unknown):
            raise HotspotInputError(
                f"{len(unknown)} place ids with records are not in `places` (first: {unknown[0]!r}); "
                "pass every place of the study area"
            )
        table = table.reindex(want, fill_value=0.0)
    table.columns.name = None
    table.index.name = "place"
    return table.astype(np.float64)


def hot_places(
    counts: pd.DataFrame,
    *,
    top_k: int | None = None,
    top_share: float | None = None,
) -> pd.DataFrame:
    """Which places are hot in each window: the top ``K`` places by value.

    Give exactly one of ``top_k`` or ``top_share`` (``K = ⌈top_share·N⌉``, ``N`` = number of rows).
    Rules: places are ranked by value, highest first; ties at the cut-off go to the place that
    comes first in the table (a stable sort), so exactly ``K`` places are hot; a place with a
    value of 0 (or less) is never hot, so a quiet window may have fewer than ``K``.

    >>> t = pd.DataFrame({"w1": [5, 0, 3, 3], "w2": [0, 0, 1, 0]}, index=list("abcd"))
    >>> hot_places(t, top_k=2).to_dict("list")
    {'w1': [True, False, True, False], 'w2': [False, False, True, False]}
    """
    _check_table(counts, "counts")
    n = counts.shape[0]
    if (top_k is None) == (top_share is None):
        raise HotspotInputError(
            "give exactly one of top_k (a number of places) or top_share (a share of places)"
        )
    if top_share is not None:
        if not 0 < top_share <= 1:
            raise HotspotInputError(f"top_share must be in (0, 1], got {top_share}")
        k = math.ceil(top_share * n - 1e-9)
    else:
        assert top_k is not None
        if top_k < 1:
            raise HotspotInputError(f"top_k must be at least 1, got {top_k}")
        k = int(top_k)
    values = counts.to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        raise HotspotInputError("counts contain missing values; use 0 for a place with no crime in a window")
    order = np.argsort(-values, axis=0, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(n)[:, None].repeat(values.shape[1], axis=1), axis=0)
    hot = (ranks < k) & (values > 0)
    return pd.DataFrame(hot, index=counts.index, columns=counts.columns)


def hot_in_m_of_n(hot: pd.DataFrame, *, m: int = 2, n: int = 3) -> pd.Series:
    """True for places hot in at least ``m`` of the last ``n`` windows (default 2 of 3, docs/methods.md §8).

    >>> h = pd.DataFrame({"y1": [True, True], "y2": [False, True], "y3": [True, False]}, index=["a", "b"])
    >>> hot_in_m_of_n(h).tolist()
    [True, True]
    """
    _check_table(hot, "hot")
    if not 1 <= m <= n:
        raise HotspotInputError(f"need 1 ≤ m ≤ n, got m={m}, n={n}")
    if hot.shape[1] < n:
        raise HotspotInputError(
            f"only {hot.shape[1]} windows given but the rule looks at the last {n}; "
            "use a longer history or a smaller n"
        )
    recent = hot.iloc[:, -n:].to_numpy(dtype=bool)
    return pd.Series(recent.sum(axis=1) >= m, index=hot.index, name=f"hot_{m}_of_{n}")


def _jaccard(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> float:
    union = int((a | b).sum())
    return float((a & b).sum() / union) if union else float("nan")


def _spearman(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Spearman's rank correlation ρ = Pearson's r of the two samples' average ranks (Spearman 1904),
    computed as ``scipy.stats.spearmanr`` computes it (one row of ranks per sample, given to
    ``np.corrcoef`` as columns, the lower off-diagonal taken), so the same number to the last bit,
    without importing ``scipy.stats``."""
    ranks = np.vstack(
        (pd.Series(a).rank(method="average").to_numpy(), pd.Series(b).rank(method="average").to_numpy())
    )
    return float(np.corrcoef(ranks.T, rowvar=False)[1, 0])


def stability(
    counts: pd.DataFrame,
    *,
    top_k: int | None = None,
    top_share: float | None = None,
) -> pd.DataFrame:
    """Stability between consecutive windows: Spearman's ρ and Jaccard overlap of the hot sets.

    One row per consecutive pair ``(previous_window, window)``:

    * ``spearman_rho``: Spearman's rank correlation of the two windows' values over **all**
      places (zeros included; ties get average ranks): Pearson's r of the average ranks,
      ``np.corrcoef`` of pandas' ``rank(method="average")``, the computation of
      ``scipy.stats.spearmanr`` (Spearman 1904) without importing ``scipy.stats`` (most of a second);
      NaN if either window is constant;
    * ``jaccard``: ``|A ∩ B| / |A ∪ B|`` of the hot sets from :func:`hot_places` with the same
      ``top_k``/``top_share`` (NaN when both are empty);
    * ``n_hot_previous``, ``n_hot``: sizes of the two sets.

    >>> t = pd.DataFrame({"y1": [5, 4, 0, 1], "y2": [6, 0, 3, 1]}, index=list("abcd"))
    >>> stability(t, top_k=2)[["window", "spearman_rho", "jaccard"]].round(3).to_dict("list")
    {'window': ['y2'], 'spearman_rho': [0.2], 'jaccard': [0.333]}
    """
    _check_table(counts, "counts")
    if counts.shape[1] < 2:
        raise HotspotInputError("stability needs at least two windows")
    hot = hot_places(counts, top_k=top_k, top_share=top_share).to_numpy(dtype=bool)
    values = counts.to_numpy(dtype=np.float64)
    rows = []
    for t in range(1, values.shape[1]):  # one row per pair of windows
        a, b = values[:, t - 1], values[:, t]
        rho = float("nan") if np.ptp(a) == 0 or np.ptp(b) == 0 or a.size < 2 else _spearman(a, b)
        rows.append(
            {
                "previous_window": counts.columns[t - 1],
                "window": counts.columns[t],
                "spearman_rho": rho,
                "jaccard": _jaccard(hot[:, t - 1], hot[:, t]),
                "n_hot_previous": int(hot[:, t - 1].sum()),
                "n_hot": int(hot[:, t].sum()),
            }
        )
    return pd.DataFrame(rows)


def classify_places(
    hot: pd.DataFrame,
    *,
    persistent_prop: float = 0.8,
    recent_prop: float = 0.2,
    emerging_max_older_prop: float = 0.1,
) -> pd.Series:
    """Classify each place from its hot/not-hot history (``hot``: place × window booleans).

    With ``T`` windows, the last ``R = max(1, ⌊recent_prop·T⌋)`` are "recent" and the first
    ``T − R`` "older" (``T ≥ 2`` is required). The rules are tried in this order and the first
    that matches wins, so each place gets exactly one class:

    1. **not hot** — never hot.
    2. **cooling** — hot in some older window but in none of the recent ones.
    3. **persistent** — hot in at least ``persistent_prop`` of all ``T`` windows (and, not being
       cooling, in at least one recent window).
    4. **emerging** — hot in at least one recent window and in fewer than
       ``emerging_max_older_prop`` of the older windows (with the defaults and ``T ≤ 10``: in none).
    5. **intermittent** — every other place that was ever hot: hot recently, and hot in at least
       ``emerging_max_older_prop`` of the older windows, but in fewer than ``persistent_prop`` of all.

    Defaults follow sfhotspot's ``hotspot_classify_params`` (``persistent_prop=0.8``,
    ``recent_prop=0.2``, ``hotspot_prop=0.1``). Differences from sfhotspot: a place not hot in
    any recent window is "cooling" even if it was hot in 80% of the windows (sfhotspot calls it
    persistent); and sfhotspot counts ``R + 1`` windows as recent but divides by ``R``.

    >>> h = pd.DataFrame(
    ...     [[1, 1, 1, 1, 1], [0, 0, 0, 0, 1], [1, 1, 0, 0, 0], [1, 0, 1, 0, 1], [0, 0, 0, 0, 0]],
    ...     index=["p", "e", "c", "i", "n"], columns=[2020, 2021, 2022, 2023, 2024],
    ... ).astype(bool)
    >>> classify_places(h).tolist()
    ['persistent', 'emerging', 'cooling', 'intermittent', 'not hot']
    """
    _check_table(hot, "hot")
    for name, val in (
        ("persistent_prop", persistent_prop),
        ("recent_prop", recent_prop),
        ("emerging_max_older_prop", emerging_max_older_prop),
    ):
        if not 0 < val <= 1:
            raise HotspotInputError(f"{name} must be in (0, 1], got {val}")
    h = hot.to_numpy()
    if h.dtype != bool:
        if not np.isin(h, (0, 1, True, False)).all():
            raise HotspotInputError(
                "hot must hold booleans (True = hot in that window), e.g. from hot_places()"
            )
        h = h.astype(bool)
    n_windows = h.shape[1]
    if n_windows < 2:
        raise HotspotInputError("classification needs at least 2 windows (one older, one recent)")
    n_recent = max(1, math.floor(recent_prop * n_windows + 1e-9))
    if n_recent >= n_windows:
        raise HotspotInputError(
            f"recent_prop={recent_prop} makes all {n_windows} windows recent; lower it so at least one is older"
        )
    n_older = n_windows - n_recent
    hot_all = h.sum(axis=1)
    hot_recent = h[:, n_older:].sum(axis=1)
    hot_older = h[:, :n_older].sum(axis=1)
    conditions = [
        hot_all == 0,
        hot_recent == 0,
        hot_all >= persistent_prop * n_windows - 1e-9,
        hot_older < emerging_max_older_prop * n_older - 1e-9,
    ]
    labels = np.select(conditions, list(PLACE_CLASSES[:4]), default=PLACE_CLASSES[4])
    return pd.Series(
        pd.Categorical(labels, categories=list(PLACE_CLASSES)), index=hot.index, name="endurance_class"
    )
