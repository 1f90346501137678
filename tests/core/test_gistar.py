"""Gi*'s short cuts give what the long way gives: q-values computed on first use, the count short cut
for binary weights, and the canonical flag cell_weights sets without scipy's scan.

The statistics themselves are checked against esda in tests/golden/test_gistar_esda.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from rasure.hotspots import all_cells, benjamini_hochberg, cell_weights, gi_star, grid_for_bounds


@pytest.fixture(scope="module")
def case() -> tuple[np.ndarray, sp.csr_array]:
    grid = grid_for_bounds((0.0, 0.0, 20 * 150 - 1.0, 16 * 150 - 1.0), cell_size_m=150)
    y = np.random.default_rng(17).gamma(0.5, 2.0, size=grid.n_cells)
    return y, cell_weights(grid, all_cells(grid), include_self=True)


def test_q_values_are_computed_on_first_use_and_equal_bh_of_p(case: tuple[np.ndarray, sp.csr_array]) -> None:
    y, w = case
    res = gi_star(y, w, permutations=0)
    assert "q_norm" not in vars(res)  # a z-only call does not pay for the sort
    q = res.q_norm
    np.testing.assert_array_equal(q, benjamini_hochberg(res.p_norm))
    assert res.q_norm is q  # kept, not recomputed
    assert res.q_perm is None
    np.testing.assert_array_equal(res.hot(q=0.05), (res.z > 0) & (q <= 0.05))
    np.testing.assert_array_equal(res.to_frame()["q_norm"].to_numpy(), q)

    chosen = np.flatnonzero(y > np.quantile(y, 0.8))
    perm = gi_star(y, w, permutations=199, seed=4, permute_only=chosen)
    assert perm.p_perm is not None and perm.q_perm is not None
    np.testing.assert_array_equal(perm.q_perm, benjamini_hochberg(perm.p_perm))
    assert np.isnan(np.delete(perm.q_perm, chosen)).all()


def test_binary_weights_short_cut_equals_the_general_sums(case: tuple[np.ndarray, sp.csr_array]) -> None:
    """With 0/1 weights W_i = S1_i = the row's count of entries. An explicit zero entry changes no
    sum but sends the matrix down the general path (sums over the data); dropping it gives binary
    weights with the same meaning, which take the short cut. The z-scores must be identical."""
    y, w = case
    assert w.data.min() == w.data.max() == 1.0
    general = w.copy()
    general.data[[5, 400, 1000]] = 0.0  # a diagonal entry and two neighbours, as explicit zeros
    short = general.copy()
    short.eliminate_zeros()
    assert short.data.min() == 1.0 and short.nnz == w.nnz - 3
    np.testing.assert_array_equal(gi_star(y, general, permutations=0).z, gi_star(y, short, permutations=0).z)
    # Weights given as a csr_matrix (converted, not used as given) agree with the csr_array.
    np.testing.assert_array_equal(
        gi_star(y, sp.csr_matrix(w), permutations=0).z, gi_star(y, w, permutations=0).z
    )


@pytest.mark.parametrize("shape", ["square", "hex"])
@pytest.mark.parametrize("order", ["sorted", "shuffled"])
def test_weights_flagged_canonical_are_canonical(shape: str, order: str) -> None:
    grid = grid_for_bounds((0.0, 0.0, 3000.0, 2400.0), cell_size_m=150, shape=shape)  # type: ignore[arg-type]
    rng = np.random.default_rng(3)
    ids = np.sort(rng.choice(grid.n_cells, size=grid.n_cells // 2, replace=False))
    if order == "shuffled":
        ids = rng.permutation(ids)
    for kwargs in ({}, {"include_self": True}, {"distance_band_m": 400.0}):
        w = cell_weights(grid, ids, **kwargs)  # type: ignore[arg-type]
        assert w.has_canonical_format
        fresh = sp.csr_array((w.data, w.indices, w.indptr), shape=w.shape)  # scipy checks for itself
        assert fresh.has_canonical_format
        assert w.indices.dtype == np.int32 and w.indptr.dtype == np.int32
