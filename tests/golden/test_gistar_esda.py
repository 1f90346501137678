"""Gi* against PySAL esda (an independent implementation) with the same weights.

esda 2.9 ``G_Local(y, w, transform="B", star=True)``: when the weights have no diagonal it
sets the self-weight to 1 (``_infer_star_and_structure_w`` → ``fill_diagonal(w, 1)``); when they
have one, it keeps it. Our ``gi_star`` always sets ``w_ii = 1``. With binary weights both are
the same Gi*, so the z-scores must agree to rounding.

Documented differences, allowed for below:
* esda's ``p_norm`` is one-sided, ``Φ(−|z|)``; ours is two-sided, ``2·Φ(−|z|)``.
* esda's ``p_sim`` (no ``alternative`` argument in 2.9) is "directed": ``(min(#≥, #<) + 1)/(R + 1)``,
  half a two-sided p-value; ours is ``min(1, 2·(min(#≥, #≤) + 1)/(R + 1))``. With continuous
  values (no ties) ``min(1, 2·p_sim)`` estimates the same quantity as ours.
* esda draws one set of permuted index rows for all places; we draw independently per place.
  Both are Monte Carlo, so the permutation p-values are compared with a tolerance.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from rasure.hotspots import (
    HotspotInputError,
    all_cells,
    benjamini_hochberg,
    cell_weights,
    gi_star,
    grid_for_bounds,
)

libpysal = pytest.importorskip("libpysal")
esda_getisord = pytest.importorskip("esda.getisord")


def _esda_g_local(y: np.ndarray, w: sp.csr_array, **kwargs: object) -> object:
    wsp = libpysal.weights.WSP(sp.csr_matrix(w))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libpysal/esda deprecation chatter
        lw = wsp.to_W(silence_warnings=True)
        return esda_getisord.G_Local(y, lw, transform="B", star=True, n_jobs=1, **kwargs)


@pytest.fixture(scope="module")
def square_case() -> tuple[np.ndarray, sp.csr_array]:
    grid = grid_for_bounds((0.0, 0.0, 15 * 150 - 1.0, 15 * 150 - 1.0), cell_size_m=150)
    w = cell_weights(grid, all_cells(grid))  # queen, no diagonal: esda fills it with 1
    rng = np.random.default_rng(20240401)
    y = rng.gamma(0.5, 2.0, size=grid.n_cells)  # continuous and skewed, like harm
    return y, w


def test_z_equals_esda_queen_squares(square_case: tuple[np.ndarray, sp.csr_array]) -> None:
    y, w = square_case
    ours = gi_star(y, w, permutations=0)
    ref = _esda_g_local(y, w, permutations=0)
    # Measured max |Δz| = 8.9e-16.
    np.testing.assert_allclose(ours.z, ref.Zs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.p_norm, 2 * ref.p_norm, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("shape", "kwargs"),
    [
        ("square", {"contiguity": "rook"}),
        ("square", {"distance_band_m": 320.0}),  # 12 neighbours: at 150, 212 and 300 m; not √5·150 = 335 m
        ("hex", {}),
        ("hex", {"distance_band_m": 450.0}),
    ],
)
def test_z_equals_esda_other_weights(shape: str, kwargs: dict[str, object]) -> None:
    grid = grid_for_bounds((0.0, 0.0, 2000.0, 1800.0), cell_size_m=150, shape=shape)  # type: ignore[arg-type]
    ids = all_cells(grid)
    w = cell_weights(grid, ids, **kwargs)  # type: ignore[arg-type]
    y = np.random.default_rng(7).poisson(1.5, size=ids.size).astype(float)  # counts with ties
    np.testing.assert_allclose(
        gi_star(y, w, permutations=0).z, _esda_g_local(y, w, permutations=0).Zs, atol=1e-9
    )


def test_z_equals_esda_with_diagonal_given() -> None:
    grid = grid_for_bounds((0.0, 0.0, 1500.0, 1500.0), cell_size_m=150)
    w_self = cell_weights(grid, all_cells(grid), include_self=True)
    assert (w_self.diagonal() == 1).all()
    y = np.random.default_rng(11).exponential(3.0, size=grid.n_cells)
    np.testing.assert_allclose(
        gi_star(y, w_self, permutations=0).z, _esda_g_local(y, w_self, permutations=0).Zs, atol=1e-9
    )


def test_z_equals_esda_occupied_cells_only_with_islands() -> None:
    grid = grid_for_bounds((0.0, 0.0, 3000.0, 3000.0), cell_size_m=150)
    rng = np.random.default_rng(5)
    occupied = np.sort(rng.choice(grid.n_cells, size=120, replace=False))
    w = cell_weights(grid, occupied)
    y = rng.gamma(1.0, 1.0, size=occupied.size)
    ref = _esda_g_local(y, w, permutations=0)
    np.testing.assert_allclose(gi_star(y, w, permutations=0).z, ref.Zs, atol=1e-9)


def test_permutation_p_values_agree_with_esda(square_case: tuple[np.ndarray, sp.csr_array]) -> None:
    y, w = square_case
    perms = 9999
    ours = gi_star(y, w, permutations=perms, seed=1)
    ref = _esda_g_local(y, w, permutations=perms, seed=5)
    esda_two_sided = np.minimum(1.0, 2.0 * ref.p_sim)
    assert ours.p_perm is not None
    diff = np.abs(ours.p_perm - esda_two_sided)
    # Monte Carlo sd of each two-sided estimate ≤ 2·√(0.25/9999) = 0.010, of the difference 0.014;
    # the max over 225 places is about 3 sd. Measured: max 0.034–0.043, mean 0.010 (seeds 0–2).
    assert diff.max() < 0.06
    assert diff.mean() < 0.02
    assert np.corrcoef(ours.p_perm, esda_two_sided)[0, 1] > 0.99


def test_permutation_p_value_exact_small_case() -> None:
    """Enumerable case: path 0–1–2–3–4. Place 0 has one neighbour (value 2); under conditional
    randomisation its neighbour value is uniform over the other four values {2, 7, 3, 5}. The
    observed 2 is the smallest: P(draw ≤ 2) = 1/4, P(draw ≥ 2) = 1, so the exact two-sided
    p-value is 2·(1/4) = 0.5. Place 2 has neighbours {2, 3} (sum 5) drawn from {1, 2, 3, 5}:
    the 6 pairs sum to 3, 4, 6, 5, 7, 8; P(≤ 5) = 3/6 and P(≥ 5) = 4/6, so p = 2·(3/6) = 1.0."""
    y = np.array([1.0, 2.0, 7.0, 3.0, 5.0])
    adj = np.zeros((5, 5))
    for i in range(4):
        adj[i, i + 1] = adj[i + 1, i] = 1.0
    res = gi_star(y, sp.csr_array(adj), permutations=20000, seed=3)
    assert res.p_perm is not None
    assert abs(res.p_perm[0] - 0.5) < 0.02
    assert res.p_perm[2] == pytest.approx(1.0, abs=0.02)
    # Same seed, same answer: the result is reproducible.
    again = gi_star(y, sp.csr_array(adj), permutations=20000, seed=3)
    np.testing.assert_array_equal(res.p_perm, again.p_perm)


def test_z_hand_computed_star_of_the_formula() -> None:
    """Ord & Getis (1995) written out for one place of a 3 × 3 queen grid (the centre, which
    neighbours everything, so W = S1 = 9 = n and the denominator is 0 → NaN) and a corner."""
    grid = grid_for_bounds((0.0, 0.0, 449.0, 449.0), cell_size_m=150)
    w = cell_weights(grid, all_cells(grid))
    y = np.array([4.0, 0.0, 1.0, 0.0, 2.0, 0.0, 1.0, 0.0, 1.0])
    z = gi_star(y, w, permutations=0).z
    # Corner 0 (self + cells 1, 3, 4): Σwx = 4 + 0 + 0 + 2 = 6, W = S1 = 4, n = 9,
    # X̄ = 9/9 = 1, S² = Σx²/n − X̄² = (16+1+4+1+1)/9 − 1 = 14/9.
    expected = (6 - 1 * 4) / (np.sqrt(14 / 9) * np.sqrt((9 * 4 - 16) / 8))
    assert z[0] == pytest.approx(expected, rel=1e-12)
    assert np.isnan(z[4])


# --- Benjamini–Hochberg against statsmodels, and the result object --------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bh_equals_statsmodels(seed: int) -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(size=300), rng.uniform(0, 0.01, size=30), [0.5, 0.5, 0.5, 1.0, 0.0]])
    ref = multitest.multipletests(p, method="fdr_bh")[1]
    np.testing.assert_allclose(benjamini_hochberg(p), ref, rtol=0, atol=1e-15)


def test_bh_hand_example_and_nan() -> None:
    # m = 4: sorted 0.01, 0.03, 0.04, 0.5 → m·p/k = 0.04, 0.06, 0.0533, 0.5 → running min from the
    # top: 0.04, 0.0533, 0.0533, 0.5. A NaN is left out of m and stays NaN.
    q = benjamini_hochberg([0.01, np.nan, 0.04, 0.03, 0.5])
    np.testing.assert_allclose(q, [0.04, np.nan, 0.16 / 3, 0.16 / 3, 0.5])
    with pytest.raises(HotspotInputError):
        benjamini_hochberg([0.2, 1.5])


def test_result_frame_and_hot(square_case: tuple[np.ndarray, sp.csr_array]) -> None:
    y, w = square_case
    y = y.copy()
    block = [112, 113, 127, 128]  # a block of high values in the middle of the 15 × 15 grid
    y[block] += 25.0
    res = gi_star(y, w, permutations=499, seed=9)
    frame = res.to_frame(index=np.arange(y.size) + 1000)
    assert list(frame.columns) == ["z", "p_norm", "q_norm", "p_perm", "q_perm"]
    assert frame.index[0] == 1000
    hot = res.hot(q=0.05)  # normal q-values
    assert hot[block].all()
    assert hot.sum() < 30
    # The documented limit: with R = 499 the smallest p_perm is 2/500 = 0.004, and BH over 225
    # places needs p ≤ 0.05·k/225, i.e. k ≥ 18 hot places, so nothing passes here.
    assert res.p_perm is not None and res.p_perm.min() >= 2 / 500
    assert not res.hot(q=0.05, using="perm").any()
    many = gi_star(y, w, permutations=9999, seed=9)
    assert many.hot(q=0.05, using="perm")[block].all()
    with pytest.raises(HotspotInputError, match="permutations"):
        gi_star(y, w, permutations=0).hot(using="perm")


def test_input_errors_say_how_to_fix(square_case: tuple[np.ndarray, sp.csr_array]) -> None:
    y, w = square_case
    with pytest.raises(HotspotInputError, match="seed"):
        gi_star(y, w, permutations=99)
    with pytest.raises(HotspotInputError, match="cell_weights"):
        gi_star(y[:-1], w, permutations=0)
    with pytest.raises(HotspotInputError, match="same value"):
        gi_star(np.zeros(y.size), w, permutations=0)
    with pytest.raises(HotspotInputError, match="NaN"):
        gi_star(np.full(y.size, np.nan), w, permutations=0)


def test_permutations_for_some_places_only_agree_with_esda(
    square_case: tuple[np.ndarray, sp.csr_array],
) -> None:
    """``permute_only`` (the analysis permutes only its candidate cells): the chosen places' p-values
    agree with esda's for those places as closely as a full run does; the others are NaN, and
    ``q_perm`` is BH over the chosen ones."""
    y, w = square_case
    perms = 9999
    chosen = np.flatnonzero(y > np.quantile(y, 0.7))
    ours = gi_star(y, w, permutations=perms, seed=3, permute_only=chosen)
    ref = _esda_g_local(y, w, permutations=perms, seed=5)
    esda_two_sided = np.minimum(1.0, 2.0 * ref.p_sim)
    assert ours.p_perm is not None and ours.q_perm is not None
    assert np.isnan(np.delete(ours.p_perm, chosen)).all()
    diff = np.abs(ours.p_perm[chosen] - esda_two_sided[chosen])
    assert diff.max() < 0.06  # the same Monte Carlo bound as the full run above
    assert diff.mean() < 0.02
    np.testing.assert_allclose(ours.q_perm[chosen], benjamini_hochberg(ours.p_perm[chosen]))
    mask = np.zeros(y.size, dtype=bool)
    mask[chosen] = True
    again = gi_star(y, w, permutations=perms, seed=3, permute_only=mask)
    np.testing.assert_array_equal(again.p_perm, ours.p_perm)
    np.testing.assert_array_equal(again.z, gi_star(y, w, permutations=0).z)


def test_weights_from_the_sorting_path_equal_libpysal_queen() -> None:
    """cell_weights (one sort, no np.unique) against libpysal's own lattice queen weights, and its
    uniqueness check still refuses repeated ids."""
    grid = grid_for_bounds((0.0, 0.0, 7 * 150 - 1.0, 5 * 150 - 1.0), cell_size_m=150)
    ours = cell_weights(grid, all_cells(grid))
    ref = libpysal.weights.lat2W(grid.n_rows, grid.n_cols, rook=False)
    ref_sparse = ref.sparse.toarray()
    np.testing.assert_array_equal(ours.toarray(), ref_sparse)
    shuffled = np.random.default_rng(0).permutation(all_cells(grid))
    w2 = cell_weights(grid, shuffled)
    back = np.argsort(shuffled)
    np.testing.assert_array_equal(w2.toarray()[np.ix_(back, back)], ref_sparse)
    with pytest.raises(HotspotInputError, match="unique"):
        cell_weights(grid, np.array([0, 1, 1]))
