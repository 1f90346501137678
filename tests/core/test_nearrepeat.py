"""Knox test: pair enumeration, band edges, input checks and invariants."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rasure.nearrepeat as nr
from rasure.errors import ConfigError
from rasure.nearrepeat import (
    DEFAULT_DISTANCE_BANDS_M,
    DEFAULT_TIME_BANDS_DAYS,
    KnoxInputError,
    close_pairs,
    knox_records,
    knox_test,
)


def brute_pairs(x: np.ndarray, y: np.ndarray, max_d: float, metric: str) -> set[tuple[int, int]]:
    out = set()
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = x[i] - x[j], y[i] - y[j]
            d = abs(dx) + abs(dy) if metric == "manhattan" else math.sqrt(dx * dx + dy * dy)
            if d < max_d:
                out.add((i, j))
    return out


@pytest.mark.parametrize("metric", ["manhattan", "euclidean"])
def test_kdtree_and_dense_pairs_agree_with_brute_force(metric: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    x = np.round(rng.uniform(0, 2000, 300))  # whole metres: many exact ties at the cut
    y = np.round(rng.uniform(0, 2000, 300))
    expected = brute_pairs(x, y, 200.0, metric)
    i, j, d = close_pairs(x, y, max_distance_m=200.0, metric=metric)  # type: ignore[arg-type]
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == expected
    monkeypatch.setattr(nr, "DENSE_PAIR_LIMIT", 10)
    i2, j2, d2 = close_pairs(x, y, max_distance_m=200.0, metric=metric)  # type: ignore[arg-type]
    assert i2.tolist() == i.tolist() and j2.tolist() == j.tolist()
    np.testing.assert_allclose(d2, d)


def test_knox_same_result_through_kdtree_path(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(9)
    x, y, t = rng.uniform(0, 3000, 120), rng.uniform(0, 3000, 120), rng.integers(0, 120, 120)
    dense = knox_test(x, y, t, n_permutations=49, seed=3)
    monkeypatch.setattr(nr, "DENSE_PAIR_LIMIT", 10)
    tree = knox_test(x, y, t, n_permutations=49, seed=3)
    pd.testing.assert_frame_equal(dense.table, tree.table)


def test_default_bands_follow_methods_section_4() -> None:
    assert (0, 1, 100, 200, 400, 800, math.inf) == DEFAULT_DISTANCE_BANDS_M
    # 0–2, 3–7, 8–14, 15–28, 29–56, 57+ whole days, as [a, b)
    assert (0, 3, 8, 15, 29, 57, math.inf) == DEFAULT_TIME_BANDS_DAYS
    res = knox_test([0, 10, 20], [0, 0, 0], [0, 1, 2], n_permutations=9)
    assert len(res.table) == 6 * 6
    assert res.metric == "manhattan" and res.seed == 0


def test_finite_last_band_drops_far_and_late_pairs() -> None:
    res = knox_test(
        [0, 50, 500],
        [0, 0, 0],
        [0, 1, 30],
        distance_bands_m=(0, 100),
        time_bands_days=(0, 7),
        n_permutations=9,
    )
    # only (0,1) is within 100 m and 7 days; (0,2), (1,2) are 450–500 m apart
    assert res.table["observed"].tolist() == [1]


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 25),
    seed=st.integers(0, 10_000),
)
def test_invariants_totals_and_p_value_range(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, 1500, n).astype(float), rng.integers(0, 1500, n).astype(float)
    t = rng.integers(0, 100, n)
    res = knox_test(x, y, t, n_permutations=19, seed=seed)
    # with open-ended last bands every pair is in exactly one cell, observed and in every simulation
    assert res.table["observed"].sum() == n * (n - 1) // 2
    assert res.table["expected"].sum() == pytest.approx(n * (n - 1) / 2)
    p = res.table["p_value"]
    assert ((p >= 1 / 20) & (p <= 1)).all()
    # the time margins cannot change under a permutation of times
    by_time = res.table.groupby("time_band", sort=False)[["observed", "expected"]].sum()
    np.testing.assert_allclose(by_time["observed"], by_time["expected"])


def test_reproducible_from_seed_and_rng() -> None:
    rng = np.random.default_rng(1)
    x, y, t = rng.uniform(0, 1000, 40), rng.uniform(0, 1000, 40), rng.integers(0, 60, 40)
    a = knox_test(x, y, t, n_permutations=29, seed=11)
    b = knox_test(x, y, t, n_permutations=29, seed=11)
    c = knox_test(x, y, t, n_permutations=29, rng=np.random.default_rng(11))
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.table, c.table)
    assert c.seed is None


def test_reportable_flag_and_ratio_nan_when_expected_zero() -> None:
    res = knox_test(
        [0, 0],
        [0, 0],
        [0, 1],
        distance_bands_m=(0, 1, math.inf),
        time_bands_days=(0, 3, math.inf),
        n_permutations=9,
        min_observed=1,
    )
    row = res.table.set_index(["distance_band", "time_band"])
    assert row.loc[("[0, 1) m", "[0, 3) days"), "reportable"]
    assert math.isnan(row.loc[("[1, ∞) m", "[0, 3) days"), "knox_ratio"])


def test_input_errors() -> None:
    with pytest.raises(KnoxInputError, match="at least 2"):
        knox_test([0], [0], [0])
    with pytest.raises(KnoxInputError, match="same length"):
        knox_test([0, 1], [0], [0, 1])
    with pytest.raises(KnoxInputError, match="coordinates"):
        knox_test([0, np.nan], [0, 1], [0, 1])
    with pytest.raises(KnoxInputError, match="missing"):
        knox_test([0, 1], [0, 1], pd.to_datetime(["2024-01-01", None]))
    with pytest.raises(ConfigError, match="increasing"):
        knox_test([0, 1], [0, 1], [0, 1], distance_bands_m=(0, 100, 50))
    with pytest.raises(ConfigError, match="n_permutations"):
        knox_test([0, 1], [0, 1], [0, 1], n_permutations=0)
    with pytest.raises(ConfigError, match="metric"):
        knox_test([0, 1], [0, 1], [0, 1], metric="chebyshev")  # type: ignore[arg-type]


def test_knox_records_excludes_month_only_and_unlocated() -> None:
    recs = pd.DataFrame(
        {
            "easting": [0.0, 20.0, np.nan, 40.0],
            "northing": [0.0, 0.0, 0.0, 0.0],
            "occurred_from": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-01"]),
            "time_precision": ["minute", "day", "day", "month"],
        }
    )
    res = knox_records(recs, n_permutations=9, seed=2)
    assert (res.n_events, res.n_excluded) == (2, 2)
    assert any("month-only" in n for n in res.notes)
    with pytest.raises(KnoxInputError, match="easting"):
        knox_records(recs.drop(columns="easting"))
