"""Getis-Ord Gi* local hot-spot statistic with permutation and FDR-adjusted p-values (docs/methods.md §1.5).

Our own vectorised implementation on a scipy sparse weights matrix. The z-scores equal
PySAL esda's ``G_Local(y, w, transform="B", star=True).Zs`` (tests/golden/test_gistar_esda.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from rasure.hotspots.places import HotspotInputError

__all__ = ["GiStarResult", "benjamini_hochberg", "gi_star"]


@dataclass(frozen=True)
class GiStarResult:
    """Gi* for each place, in the order of the input values.

    Attributes
    ----------
    z:
        Gi* z-score (Ord & Getis 1995). Positive = more than expected around the place.
    p_norm:
        Two-sided normal p-value, ``2·Φ(−|z|)``. (esda's ``p_norm`` is the one-sided ``Φ(−|z|)``.)
    q_norm:
        Benjamini–Hochberg adjusted ``p_norm`` over all places. Computed on first use (it needs a
        sort of all ``n`` p-values, most of a z-only call's time otherwise) and then kept.
    p_perm:
        Two-sided conditional-permutation pseudo p-value, ``min(1, 2·(min(#≥, #≤) + 1)/(R + 1))``
        where ``#≥`` (``#≤``) counts permutations whose neighbour sum is at least (at most) the
        observed one. ``None`` when ``permutations=0``.
    q_perm:
        Benjamini–Hochberg adjusted ``p_perm`` over the permuted places (the others are ``NaN``);
        ``None`` when ``permutations=0``. Computed on first use, like ``q_norm``.
    permutations, seed:
        As given, so the result can be reproduced.
    """

    z: NDArray[np.float64]
    p_norm: NDArray[np.float64]
    p_perm: NDArray[np.float64] | None
    permutations: int
    seed: int | None

    @cached_property
    def q_norm(self) -> NDArray[np.float64]:
        return benjamini_hochberg(self.p_norm)

    @cached_property
    def q_perm(self) -> NDArray[np.float64] | None:
        return None if self.p_perm is None else benjamini_hochberg(self.p_perm)

    def hot(self, *, q: float = 0.05, using: Literal["norm", "perm"] = "norm") -> NDArray[np.bool_]:
        """Places that are significant hot spots: ``z > 0`` and FDR q-value ``≤ q``.

        ``using="norm"`` (default) uses ``q_norm``, as ArcGIS's FDR option does. ``using="perm"``
        uses ``q_perm``; beware that with ``R`` permutations no p-value is below ``2/(R + 1)``,
        so among ``N`` places BH can flag ``k`` places only if ``2/(R + 1) ≤ q·k/N``: with
        ``R = 999`` and ``N = 10,000`` cells, only when at least 400 cells are hot. Use many
        more permutations (or ``"norm"``) for force-wide grids.
        """
        qv = self.q_perm if using == "perm" else self.q_norm
        if qv is None:
            raise HotspotInputError(
                "this Gi* result has no permutation p-values; call gi_star(..., permutations=999, seed=...) "
                "or use hot(using='norm')"
            )
        return np.asarray((self.z > 0) & (qv <= q), dtype=bool)

    def to_frame(self, index: ArrayLike | None = None) -> pd.DataFrame:
        """The result as a DataFrame (columns ``z, p_norm, q_norm`` and, if computed, ``p_perm, q_perm``)."""
        cols: dict[str, Any] = {"z": self.z, "p_norm": self.p_norm, "q_norm": self.q_norm}
        if self.p_perm is not None:
            cols["p_perm"] = self.p_perm
            cols["q_perm"] = self.q_perm
        return pd.DataFrame(cols, index=None if index is None else pd.Index(np.asarray(index)))


def benjamini_hochberg(p_values: ArrayLike) -> NDArray[np.float64]:
    """Benjamini–Hochberg (1995) FDR-adjusted p-values ("q-values").

    With the ``m`` finite p-values sorted ascending, ``p_(1) ≤ … ≤ p_(m)``,
    ``q_(k) = min_{j ≥ k} min(1, m·p_(j)/j)``; a place is significant at FDR level ``α`` when
    ``q ≤ α``. NaN p-values stay NaN and are not counted in ``m``. Same values as
    ``statsmodels.stats.multitest.multipletests(p, method="fdr_bh")[1]``.

    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.5]).round(4).tolist()
    [0.04, 0.0533, 0.0533, 0.5]
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise HotspotInputError(f"p-values must be one-dimensional, got shape {p.shape}")
    finite = np.isfinite(p)
    if ((p[finite] < 0) | (p[finite] > 1)).any():
        raise HotspotInputError("p-values must lie between 0 and 1")
    out = np.full(p.shape, np.nan)
    pv = p[finite]
    m = pv.size
    if m == 0:
        return out
    # Tied p-values get the same q whatever their order (the running minimum from the top reaches the
    # last of them first), so the faster unstable sort gives the same result as a stable one.
    order = np.argsort(pv)
    ranked = pv[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    q = np.empty(m)
    q[order] = q_sorted
    out[finite] = q
    return out


def _draw_without_replacement(rng: np.random.Generator, pool: int, shape: tuple[int, int, int]) -> Any:
    """Integers in ``0 … pool − 1``, shape ``(k, b, r)``, distinct along the first axis.

    Each ``[:, i, j]`` is uniform over ordered k-tuples of distinct values.
    """
    k, b, r = shape
    dtype = np.int32 if pool < 2**31 - 1 else np.int64
    if k == 0:
        return np.empty(shape, dtype=dtype)
    if pool <= 4 * k:
        # Small pool: rank uniform keys (memory b·r·pool, at most 4× the output).
        keys = rng.random((b, r, pool))
        return np.ascontiguousarray(np.moveaxis(keys.argsort(axis=-1)[..., :k], -1, 0).astype(dtype))
    draws = rng.integers(0, pool, size=shape, dtype=dtype)
    # Rejection: redraw whole k-tuples that repeat a value. With k ≪ pool this is rare, and
    # conditioning i.i.d. uniform tuples on being distinct leaves them uniform.
    todo = np.ones((b, r), dtype=bool)
    while True:
        sub = draws[:, todo]
        bad = _has_repeat(sub)
        if not bad.any():
            return draws
        idx = np.flatnonzero(todo)[bad]
        todo = np.zeros((b, r), dtype=bool)
        todo.flat[idx] = True
        draws[:, todo] = rng.integers(0, pool, size=(k, idx.size), dtype=dtype)


def _has_repeat(tuples: Any) -> NDArray[np.bool_]:
    """For a ``(k, m)`` array, whether each of the ``m`` columns repeats a value."""
    k = tuples.shape[0]
    if k <= 16:  # pairwise comparisons of contiguous rows beat sorting short rows
        bad = np.zeros(tuples.shape[1], dtype=bool)
        for i in range(k):
            for j in range(i + 1, k):
                bad |= tuples[i] == tuples[j]
        return bad
    srt = np.sort(tuples, axis=0)
    return np.asarray((np.diff(srt, axis=0) == 0).any(axis=0), dtype=bool)


def gi_star(
    values: ArrayLike,
    weights: Any,
    *,
    permutations: int = 999,
    seed: int | None = None,
    batch_elements: int = 4_000_000,
    permute_only: ArrayLike | None = None,
) -> GiStarResult:
    """Getis-Ord Gi* for each place, with two-sided normal and permutation p-values and BH q-values.

    Formula (Ord & Getis 1995, *Geographical Analysis* 27:286; as in ArcGIS "Hot Spot
    Analysis"), for place ``i`` with weights ``w_ij`` that include the place itself (``w_ii = 1``)::

        Gi* = (Σ_j w_ij x_j − X̄·W_i) / ( S · √( (n·S1_i − W_i²) / (n − 1) ) )

    with ``W_i = Σ_j w_ij``, ``S1_i = Σ_j w_ij²``, ``X̄ = Σx/n`` and ``S = √(Σx²/n − X̄²)``.
    For binary weights this is algebraically the same as esda's ``(G − E[G])/√V[G]``.

    ``weights`` is an ``n × n`` scipy sparse matrix (e.g. :func:`rasure.hotspots.places.cell_weights`);
    its values are used as given except that the diagonal is always set to 1 (Gi*, not Gi).
    Use all places of the study area, zeros included.

    Permutation p-value (conditional randomisation, Anselin 1995; as esda ``crand``): ``x_i`` is
    held fixed and the ``k_i`` neighbour values are replaced by ``k_i`` values drawn without
    replacement from the other ``n − 1`` places, ``permutations`` times. Each place gets its own
    independent draws (esda reuses one set of drawn index rows for all places). Work is done in
    batches of about ``batch_elements`` numbers, so memory stays bounded.

    ``permute_only`` (a boolean mask or indices of places): compute the permutation p-value for these
    places only, e.g. the candidate hot spots of an analysis (the z-scores need no permutations and are
    always computed for every place). The others get ``NaN`` in ``p_perm`` and ``q_perm``; ``q_perm`` is
    then Benjamini–Hochberg over the permuted places only (the family of tests actually made). Each
    place's draws are independent of the others', so a place's p-value has the same distribution
    whichever places are permuted with it (tests/golden/test_gistar_esda.py).

    Differences from esda 2.9 ``G_Local``, all documented in the golden test: our ``p_norm`` is
    two-sided (esda's is one-sided); our ``p_perm`` is two-sided (esda's ``p_sim`` is "directed":
    the smaller tail, which its own docs say is half the two-sided value).

    A path of four places, 0 – 1 – 2 – 3. For place 0: ``n = 4``, ``X̄ = 3``,
    ``S = √(50/4 − 9) = 1.8708``, ``W_0 = S1_0 = 2``, so
    ``Gi*_0 = (1 + 2 − 3·2) / (1.8708·√((4·2 − 4)/3)) = −1.3887``:

    >>> import scipy.sparse as sp
    >>> w = sp.csr_array(np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]], dtype=float))
    >>> r = gi_star([1.0, 2.0, 6.0, 3.0], w, permutations=999, seed=1)
    >>> r.z.round(4).tolist()
    [-1.3887, 0.0, 1.069, 1.3887]
    >>> bool(abs(r.p_perm[0] - 2 / 3) < 0.05)  # its one neighbour is 2; 1 of the 3 others is ≤ 2
    True
    """
    y = np.asarray(values, dtype=np.float64)
    if y.ndim != 1:
        raise HotspotInputError(f"values must be one-dimensional (one per place), got shape {y.shape}")
    n = y.size
    if n < 3:
        raise HotspotInputError(f"Gi* needs at least 3 places, got {n}; use a larger study area")
    if not np.isfinite(y).all():
        raise HotspotInputError("values contain NaN or infinity; give every place a number (0 for no crime)")
    if permutations < 0:
        raise HotspotInputError(f"permutations must be 0 or more, got {permutations}")
    if permutations > 0 and seed is None:
        raise HotspotInputError(
            "permutation p-values are random: pass seed=<int> so the result can be reproduced "
            "(or permutations=0 for z-scores and normal p-values only)"
        )
    if isinstance(weights, sp.csr_array) and weights.dtype == np.float64:
        w_all = weights  # used as it is (never modified), so scipy's checks already made are kept
    else:
        if not sp.issparse(weights):
            weights = sp.csr_array(np.asarray(weights, dtype=np.float64))
        w_all = sp.csr_array(weights, dtype=np.float64)
    if w_all.shape != (n, n):
        raise HotspotInputError(
            f"weights must be {n} × {n} (one row and column per value), got {w_all.shape}; "
            "build them with cell_weights(grid, ids) using the same places, in the same order"
        )
    # Gi*'s self-weight is 1 whatever the diagonal holds: the sums are taken over the matrix as
    # given and corrected for its diagonal (no sparse subtraction or addition of an identity).
    if not w_all.has_canonical_format:  # duplicates summed, on a copy (the caller's is left as given)
        w_all = w_all.copy()
        w_all.sum_duplicates()
    diag = w_all.diagonal()
    data = w_all.data
    if data.size and data.min() == 1.0 and data.max() == 1.0:
        # Binary weights (cell_weights): W_i and S1_i are both the count of entries in row i, so
        # both come from indptr, exactly as the sums of ones would, with no pass over the data.
        w_i = np.diff(w_all.indptr).astype(np.float64) - diag + 1.0
        s1_i = w_i
    else:
        w_i = np.asarray(w_all.sum(axis=1), dtype=np.float64).ravel() - diag + 1.0
        squares = sp.csr_array((data * data, w_all.indices, w_all.indptr), shape=(n, n))
        s1_i = np.asarray(squares.sum(axis=1), dtype=np.float64).ravel() - diag * diag + 1.0
    x_bar = float(y.mean())
    s = float(np.sqrt(max(float(np.mean(y * y)) - x_bar * x_bar, 0.0)))
    if s == 0.0 or s <= 1e-12 * max(abs(x_bar), 1.0):
        raise HotspotInputError(
            "every place has the same value, so Gi* is undefined; use a longer time window or a larger area"
        )
    lag = np.asarray(w_all @ y, dtype=np.float64) + (1.0 - diag) * y
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (lag - x_bar * w_i) / (s * np.sqrt((n * s1_i - w_i * w_i) / (n - 1)))
    p_norm = 2.0 * ndtr(-np.abs(z))

    p_perm: NDArray[np.float64] | None = None
    if permutations > 0:
        assert seed is not None
        w_off = _off_diagonal(w_all)
        sites = _sites(permute_only, n)
        p_perm = np.full(n, np.nan)
        p_perm[sites] = _permutation_p(
            y, w_off, permutations, np.random.default_rng(seed), batch_elements, sites
        )
    return GiStarResult(z=z, p_norm=p_norm, p_perm=p_perm, permutations=permutations, seed=seed)


def _off_diagonal(w: Any) -> Any:
    """The weights (canonical) without their diagonal and explicit zeros: the neighbours to permute."""
    n = w.shape[0]
    rows = np.repeat(np.arange(n), np.diff(w.indptr))
    keep = (w.indices != rows) & (w.data != 0)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=n), out=indptr[1:])
    return sp.csr_array((w.data[keep], w.indices[keep], indptr), shape=(n, n))


def _sites(permute_only: ArrayLike | None, n: int) -> NDArray[np.int64]:
    if permute_only is None:
        return np.arange(n)
    sel = np.asarray(permute_only)
    if sel.dtype == bool:
        if sel.shape != (n,):
            raise HotspotInputError(
                f"permute_only as a mask must have one entry per place ({n}), got {sel.shape}"
            )
        return np.flatnonzero(sel)
    if sel.ndim != 1 or not (sel.size == 0 or np.issubdtype(sel.dtype, np.integer)):
        raise HotspotInputError("permute_only must be a boolean mask or integer indices of places")
    sites = np.unique(sel.astype(np.int64))
    if sites.size and (sites[0] < 0 or sites[-1] >= n):
        raise HotspotInputError(f"permute_only holds indices outside 0 … {n - 1}")
    return sites


def _permutation_p(
    y: NDArray[np.float64],
    w_off: Any,
    permutations: int,
    rng: np.random.Generator,
    batch_elements: int,
    chosen: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Two-sided permutation p-values of the places ``chosen`` (in that order)."""
    n = y.size
    m = chosen.size
    indptr = np.asarray(w_off.indptr, dtype=np.int64)
    card = np.diff(indptr)[chosen]
    k_max = int(card.max()) if m else 0
    w_sub = w_off[chosen] if m < n else w_off
    observed = np.asarray(w_sub @ y, dtype=np.float64)
    # Neighbour weights padded to k_max columns (zeros beyond a place's own k_i neighbours).
    sub_ptr = np.asarray(w_sub.indptr, dtype=np.int64)
    w_pad = np.zeros((m, max(k_max, 1)))
    rows = np.repeat(np.arange(m), card)
    w_pad[rows, np.arange(rows.size) - sub_ptr[rows]] = w_sub.data
    w_pad = w_pad[:, :k_max]
    tol = 1e-9 * (np.abs(observed) + 1.0)  # equal sums must count as ties despite rounding
    ge = np.zeros(m, dtype=np.int64)
    le = np.zeros(m, dtype=np.int64)
    batch = max(1, batch_elements // max(permutations * max(k_max, 1), 1))
    for start in range(0, m, batch):  # batches of places, not a loop per place
        sites = np.arange(start, min(start + batch, m))
        draws = _draw_without_replacement(rng, n - 1, (k_max, sites.size, permutations))
        skip = chosen[sites][:, None]
        sims = np.zeros((sites.size, permutations))
        for t in range(k_max):  # over neighbour slots (≤ k_max), not over places
            idx = draws[t]
            idx += idx >= skip  # the pool is the other n − 1 places: step over the place itself
            sims += w_pad[sites, t, None] * y[idx]
        ge[sites] = (sims >= (observed[sites] - tol[sites])[:, None]).sum(axis=1)
        le[sites] = (sims <= (observed[sites] + tol[sites])[:, None]).sum(axis=1)
    return np.asarray(np.minimum(1.0, 2.0 * (np.minimum(ge, le) + 1) / (permutations + 1)), dtype=np.float64)
