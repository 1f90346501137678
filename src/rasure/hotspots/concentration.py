"""Concentration of crime (or harm) at places: the dashboard's "law of concentration" tile.

docs/methods.md §1.4: top-x% shares, the smallest share of places holding 25% and 50% of crime
(Weisburd 2015, *Criminology* 53:133), the Lorenz curve and Gini, the generalized Gini for
sparse counts (Bernasco & Steenbeek 2017, *J Quant Criminol* 33:451), and PAI/PEI for checking
a hot-spot list on later data (Chainey, Tompson & Uhlig 2008, *Security Journal* 21:4).

Always count the places with no crime: pass ``n_places`` = the number of places in the study
area (cells or LSOAs), otherwise concentration is understated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from rasure.hotspots.places import HotspotInputError

__all__ = ["Concentration", "PaiPei", "concentration", "gini", "lorenz_curve", "pai_pei"]

#: ``p·N`` is rounded up after removing float noise (0.07·100 is 7.000000000000001 in floating point).
_CEIL_SLACK = 1e-9


def _values_with_zeros(values: ArrayLike, n_places: int | None) -> NDArray[np.float64]:
    y = np.asarray(values, dtype=np.float64)
    if y.ndim != 1:
        raise HotspotInputError(f"values must be one-dimensional (one per place), got shape {y.shape}")
    if not np.isfinite(y).all() or (y < 0).any():
        raise HotspotInputError("values must be finite and non-negative counts or harm totals per place")
    if n_places is not None:
        if n_places < y.size:
            raise HotspotInputError(
                f"n_places ({n_places}) is smaller than the number of values ({y.size}); n_places is the "
                "number of places in the whole study area, zero-crime places included"
            )
        y = np.concatenate([y, np.zeros(n_places - y.size)])
    if y.size == 0:
        raise HotspotInputError("no places given; pass one value per place (or n_places)")
    return y


def _ceil(x: float) -> int:
    return math.ceil(x - _CEIL_SLACK)


def gini(values: ArrayLike, *, n_places: int | None = None) -> float:
    """Gini coefficient (no small-sample correction), zero-value places included.

    With the ``N`` values sorted ascending, ``y_(1) ≤ … ≤ y_(N)``::

        G = 2·Σ_i i·y_(i) / (N·Σy) − (N + 1)/N

    This is ``DescTools::Gini(x, unbiased = FALSE)``, the base of lorenzgini's generalized Gini.

    >>> round(gini([10, 8, 2] + [0] * 7), 12)  # lorenzgini's documented example: 0.78
    0.78
    """
    y = np.sort(_values_with_zeros(values, n_places))
    total = float(y.sum())
    if total <= 0:
        raise HotspotInputError("all values are zero, so concentration is undefined; use a longer period")
    n = y.size
    return float(2.0 * np.dot(np.arange(1, n + 1), y) / (n * total) - (n + 1) / n)


@dataclass(frozen=True)
class Concentration:
    """How concentrated crime (or harm) is across places.

    ``top_shares[p]`` is ``S(p)``, the share of the total in the top ``⌈p·N⌉`` places.
    ``places_for_shares[s]`` is the smallest share of places whose total is at least ``s`` of
    the whole. The Gini fields are described in :func:`concentration`.
    """

    n_places: int
    n_occupied: int
    total: float
    top_shares: dict[float, float]
    places_for_shares: dict[float, float]
    gini: float
    gini_generalized: float
    gini_generalized_unbiased: float


def concentration(
    values: ArrayLike,
    *,
    n_places: int | None = None,
    top_place_shares: Sequence[float] = (0.01, 0.05, 0.10),
    crime_shares: Sequence[float] = (0.25, 0.50),
) -> Concentration:
    """Top-x% shares, places needed for 25%/50% of crime, and the (generalized) Gini.

    ``values`` are counts (or harm) per place; with ``n_places`` the missing places count as 0.
    With the ``N`` values sorted descending, ``y_[1] ≥ … ≥ y_[N]``, and ``n = Σy``:

    * ``S(p) = Σ_{k ≤ ⌈p·N⌉} y_[k] / n`` (docs/methods.md §1.4);
    * places for share ``s``: ``k*/N`` with ``k* = min{k : Σ_{j ≤ k} y_[j] ≥ s·n}``;
    * ``gini``: :func:`gini`;
    * ``gini_generalized = max(1, N/n)·(G − 1) + 1``, which is 0 when ``n < N`` crimes are spread
      one per place and 1 when all are in one place (Bernasco & Steenbeek 2017);
    * ``gini_generalized_unbiased = G_gen·m/(m − 1)`` with ``m = min(N, n)`` (NaN when ``m ≤ 1``).

    The generalized forms treat ``n`` as a number of events, so read them for counts, not harm.

    >>> c = concentration([5, 2, 1], n_places=10)
    >>> c.top_shares[0.1], c.places_for_shares[0.5], round(c.gini, 12), round(c.gini_generalized, 12)
    (0.625, 0.1, 0.8, 0.75)
    """
    y = _values_with_zeros(values, n_places)
    n_total = y.size
    total = float(y.sum())
    if total <= 0:
        raise HotspotInputError("all values are zero, so concentration is undefined; use a longer period")
    desc = np.sort(y)[::-1]
    cum = np.cumsum(desc)
    top: dict[float, float] = {}
    for p in top_place_shares:
        if not 0 < p <= 1:
            raise HotspotInputError(f"top_place_shares must be in (0, 1], got {p}")
        k = max(1, _ceil(p * n_total))
        top[float(p)] = float(cum[k - 1] / total)
    need: dict[float, float] = {}
    for s in crime_shares:
        if not 0 < s <= 1:
            raise HotspotInputError(f"crime_shares must be in (0, 1], got {s}")
        k = int(np.searchsorted(cum, s * total * (1 - 1e-12), side="left")) + 1
        need[float(s)] = min(k, n_total) / n_total
    g = gini(y)
    g_gen = max(1.0, n_total / total) * (g - 1.0) + 1.0
    m = min(n_total, total)
    g_gen_u = g_gen * m / (m - 1) if m > 1 else float("nan")
    return Concentration(
        n_places=n_total,
        n_occupied=int((y > 0).sum()),
        total=total,
        top_shares=top,
        places_for_shares=need,
        gini=g,
        gini_generalized=float(g_gen),
        gini_generalized_unbiased=float(g_gen_u),
    )


def lorenz_curve(values: ArrayLike, *, n_places: int | None = None, descending: bool = False) -> pd.DataFrame:
    """The Lorenz curve: cumulative share of places (``place_share``) vs. of the total (``total_share``).

    Starts at ``(0, 0)`` and has ``N + 1`` points. ``descending=False`` is the textbook Lorenz
    curve (poorest places first), whose area ``A`` gives ``G = 1 − 2A``; ``descending=True`` is
    the criminologist's concentration curve (hottest places first: "x% of places hold y% of
    crime").

    >>> lorenz_curve([3, 1], n_places=4, descending=True)["total_share"].tolist()
    [0.0, 0.75, 1.0, 1.0, 1.0]
    """
    y = np.sort(_values_with_zeros(values, n_places))
    if descending:
        y = y[::-1]
    total = float(y.sum())
    if total <= 0:
        raise HotspotInputError("all values are zero, so there is no Lorenz curve; use a longer period")
    n = y.size
    return pd.DataFrame(
        {
            "place_share": np.arange(n + 1) / n,
            "total_share": np.concatenate([[0.0], np.cumsum(y) / total]),
        }
    )


@dataclass(frozen=True)
class PaiPei:
    """Accuracy of a hot-spot list on (later) observed data.

    ``hit_rate = n_sel/n`` (share of events in the selected places), ``area_share = a_sel/A``,
    ``pai = hit_rate/area_share``, ``pei = n_sel/n_best`` (``NaN`` when places differ in area).
    """

    hit_rate: float
    area_share: float
    pai: float
    pei: float


def pai_pei(selected: ArrayLike, observed: ArrayLike, *, area_m2: ArrayLike | None = None) -> PaiPei:
    """Predictive Accuracy Index and Predictive Efficiency Index (Chainey, Tompson & Uhlig 2008).

    ``selected`` is a boolean per place (the hot-spot list), ``observed`` the events per place in
    the evaluation period, every place of the study area included. ``PAI = (n_sel/n)/(a_sel/A)``.
    ``PEI = PAI/PAI*`` where ``PAI*`` is the PAI of the best possible selection of the same area;
    for equal-area places (grid cells) that is the same number of places with the most events,
    so ``PEI = n_sel/n_best``. Implemented only for equal areas (``NaN`` otherwise), as in
    ``ptools::pai`` for grids.

    >>> r = pai_pei([True, False, False, False], [2, 3, 0, 0])
    >>> r.pai, r.pei
    (1.6, 0.6666666666666666)
    """
    sel = np.asarray(selected, dtype=bool)
    obs = np.asarray(observed, dtype=np.float64)
    if sel.shape != obs.shape or sel.ndim != 1:
        raise HotspotInputError(
            f"selected and observed must be one value per place, got shapes {sel.shape} and {obs.shape}"
        )
    if (obs < 0).any() or not np.isfinite(obs).all():
        raise HotspotInputError("observed must be finite, non-negative counts per place")
    total = float(obs.sum())
    if total <= 0:
        raise HotspotInputError(
            "no events in the evaluation period, so PAI is undefined; use a longer period"
        )
    if area_m2 is None:
        area = np.ones(obs.size)
    else:
        area = np.asarray(area_m2, dtype=np.float64)
        if area.shape != obs.shape or (area <= 0).any():
            raise HotspotInputError("area_m2 must be one positive area per place")
    area_share = float(area[sel].sum() / area.sum())
    hit_rate = float(obs[sel].sum() / total)
    pai = hit_rate / area_share if area_share > 0 else float("nan")
    equal = bool(np.allclose(area, area[0]))
    k = int(sel.sum())
    if equal and k > 0:
        best = float(np.sort(obs)[::-1][:k].sum())
        pei = float(obs[sel].sum() / best) if best > 0 else float("nan")
    else:
        pei = float("nan")
    return PaiPei(hit_rate=hit_rate, area_share=area_share, pai=pai, pei=pei)
