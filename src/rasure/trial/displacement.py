"""Displacement and diffusion measures for an area-based intervention (issue 12; docs/methods.md §5.5).

**Weighted Displacement Quotient** (Bowers & Johnson 2003, *J Quant Criminol* 19(3):275–301), with
R the response (treated) area, B its buffer, C a control area, b before and a after::

    SM  = R_a/C_a − R_b/C_b        success measure (negative: the response area improved)
    BDM = B_a/C_a − B_b/C_b        buffer displacement measure
    WDQ = BDM / SM

WDQ > 0: diffusion of benefit into the buffer; WDQ < 0: displacement; meaningful only when SM < 0.
Total net effect ``TNE = (R_b·C_a/C_b − R_a) + (B_b·C_a/C_b − B_a)`` crimes.

**Weighted Displacement Difference** (Wheeler & Ratcliffe 2018, *Crime Science* 7:7), counts before (0)
and after (1) in the treated (T), control (C), displacement (D) and displacement-control (Dc) areas::

    WDD = (T1 − T0) − (C1 − C0) + (D1 − D0) − (Dc1 − Dc0),   Var = sum of the eight counts (Poisson)

with ``z = WDD/√Var`` and a normal interval.

**Catchment rings** (:func:`ring_assignments`): a crime is in ring ``(inner, outer)`` of a hot spot
when it lies outside every hot spot of the trial and its distance ``d`` from that hot spot's geofence
(shapely's planar distance to the polygon, in the projected CRS's metres) has ``inner ≤ d < outer``.
A crime within reach of two hot spots counts in the ring of each. The panel carries these counts per
place-day (``buffer_<inner>_<outer>_count``); :func:`rasure.trial.evaluation.buffer_displacement`
compares them on treated and control days.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rasure.trial.design import TrialError


class DisplacementError(TrialError):
    """Counts that cannot give the measure (a zero control count, negative counts)."""


@dataclass(frozen=True)
class WeightedDisplacementQuotient:
    success_measure: float
    buffer_displacement_measure: float
    wdq: float | None
    total_net_effect: float


def weighted_displacement_quotient(
    *, r_before: float, r_after: float, b_before: float, b_after: float, c_before: float, c_after: float
) -> WeightedDisplacementQuotient:
    """WDQ, its two parts and the total net effect (module docstring). ``wdq`` is ``None`` when SM = 0.

    >>> w = weighted_displacement_quotient(r_before=100, r_after=50, b_before=100, b_after=150, c_before=100, c_after=100)
    >>> w.success_measure, w.buffer_displacement_measure, w.wdq
    (-0.5, 0.5, -1.0)
    """
    counts = (r_before, r_after, b_before, b_after, c_before, c_after)
    if min(counts) < 0:
        raise DisplacementError(f"counts must not be negative, got {counts}.")
    if c_before == 0 or c_after == 0:
        raise DisplacementError("the control area needs crimes before and after (C_b, C_a > 0).")
    sm = r_after / c_after - r_before / c_before
    bdm = b_after / c_after - b_before / c_before
    tne = (r_before * c_after / c_before - r_after) + (b_before * c_after / c_before - b_after)
    return WeightedDisplacementQuotient(sm, bdm, None if sm == 0 else bdm / sm, tne)


@dataclass(frozen=True)
class WeightedDisplacementDifference:
    estimate: float
    se: float
    z: float
    ci_low: float
    ci_high: float


def weighted_displacement_difference(
    *,
    treated: tuple[float, float],
    control: tuple[float, float],
    displacement: tuple[float, float],
    displacement_control: tuple[float, float],
    alpha: float = 0.05,
) -> WeightedDisplacementDifference:
    """WDD with its Poisson standard error, z and ``1 − alpha`` normal interval (module docstring).
    Each argument is ``(before, after)``."""
    from scipy.stats import norm

    pairs = (treated, control, displacement, displacement_control)
    if any(x < 0 for p in pairs for x in p):
        raise DisplacementError("counts must not be negative.")
    est = (treated[1] - treated[0]) - (control[1] - control[0])
    est += (displacement[1] - displacement[0]) - (displacement_control[1] - displacement_control[0])
    se = math.sqrt(sum(sum(p) for p in pairs))
    z = est / se if se > 0 else float("nan")
    q = float(norm.ppf(1 - alpha / 2))
    return WeightedDisplacementDifference(est, se, z, est - q * se, est + q * se)


def buffer_column(inner: int, outer: int) -> str:
    """The panel column holding crimes in ring ``(inner, outer)`` metres: ``buffer_<inner>_<outer>_count``."""
    return f"buffer_{inner}_{outer}_count"


def ring_assignments(
    geometries: Sequence[Any], x: np.ndarray, y: np.ndarray, *, rings: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
    """For each ring, (point index, hot-spot index) of every point in that ring of that hot spot.

    ``geometries`` are the hot spots' shapely polygons in a metric CRS and ``x``, ``y`` the points'
    coordinates in the same CRS. Points inside any hot spot are in no ring (module docstring).

    >>> import shapely
    >>> square = shapely.box(0, 0, 100, 100)
    >>> got = ring_assignments([square], np.array([50.0, 150.0, 400.0, 700.0]), np.array([50.0] * 4), rings=[(0, 250), (250, 500)])
    >>> [got[r][0].tolist() for r in [(0, 250), (250, 500)]]
    [[1], [2]]
    """
    import shapely

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    inside_any = np.zeros(len(x), dtype=bool)
    for geom in geometries:
        shapely.prepare(geom)
        inside_any |= shapely.contains_xy(geom, x, y)
    reach = max((outer for _, outer in rings), default=0)
    found: dict[tuple[int, int], tuple[list[np.ndarray], list[np.ndarray]]] = {r: ([], []) for r in rings}
    for j, geom in enumerate(geometries):
        x0, y0, x1, y1 = shapely.bounds(geom)
        near = np.flatnonzero(
            ~inside_any & (x >= x0 - reach) & (x <= x1 + reach) & (y >= y0 - reach) & (y <= y1 + reach)
        )
        if not len(near):
            continue
        d = shapely.distance(geom, shapely.points(x[near], y[near]))
        for ring in rings:
            hit = near[(d >= ring[0]) & (d < ring[1])]
            found[ring][0].append(hit)
            found[ring][1].append(np.full(len(hit), j))
    empty = np.array([], dtype=int)
    return {
        r: (np.concatenate(a) if a else empty, np.concatenate(b) if b else empty)
        for r, (a, b) in found.items()
    }
