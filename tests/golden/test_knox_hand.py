"""Knox test against pair counts enumerated by hand, and the permutation p-value against a brute-force loop.

Six events (x, y in metres, t in days):

    0: (0, 0)       t = 0
    1: (0, 0)       t = 2      same place as 0
    2: (70, 30)     t = 5
    3: (100, 50)    t = 1
    4: (1000, 0)    t = 20
    5: (1050, 0)    t = 21

Bands [a, b): distance [0,1) [1,100) [100,200) [200,∞) m; time [0,3) [3,8) [8,∞) days.
The 15 pairs, Manhattan distance |Δx|+|Δy| and |Δt|:

    (0,1)  d=0     dt=2  → [0,1)     [0,3)
    (0,2)  d=100   dt=5  → [100,200) [3,8)     (d exactly on a break: goes up, [a, b))
    (0,3)  d=150   dt=1  → [100,200) [0,3)
    (0,4)  d=1000  dt=20 → [200,∞)   [8,∞)
    (0,5)  d=1050  dt=21 → [200,∞)   [8,∞)
    (1,2)  d=100   dt=3  → [100,200) [3,8)     (dt exactly on a break)
    (1,3)  d=150   dt=1  → [100,200) [0,3)
    (1,4)  d=1000  dt=18 → [200,∞)   [8,∞)
    (1,5)  d=1050  dt=19 → [200,∞)   [8,∞)
    (2,3)  d=50    dt=4  → [1,100)   [3,8)
    (2,4)  d=960   dt=15 → [200,∞)   [8,∞)
    (2,5)  d=1010  dt=16 → [200,∞)   [8,∞)
    (3,4)  d=950   dt=19 → [200,∞)   [8,∞)
    (3,5)  d=1000  dt=20 → [200,∞)   [8,∞)
    (4,5)  d=50    dt=1  → [1,100)   [0,3)
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from rasure.nearrepeat import knox_test

X = [0.0, 0.0, 70.0, 100.0, 1000.0, 1050.0]
Y = [0.0, 0.0, 30.0, 50.0, 0.0, 0.0]
T = [0.0, 2.0, 5.0, 1.0, 20.0, 21.0]
D_BANDS = (0.0, 1.0, 100.0, 200.0, math.inf)
T_BANDS = (0.0, 3.0, 8.0, math.inf)

HAND_MANHATTAN = np.array(
    [
        # [0,3) [3,8) [8,∞)
        [1, 0, 0],  # [0,1)
        [1, 1, 0],  # [1,100)
        [2, 2, 0],  # [100,200)
        [0, 0, 8],  # [200,∞)
    ]
)

# Euclidean: (0,2) and (1,2) are √(70²+30²) = 76.2 m → [1,100); (0,3) and (1,3) are 111.8 m → [100,200).
HAND_EUCLIDEAN = np.array(
    [
        [1, 0, 0],
        [1, 3, 0],
        [2, 0, 0],
        [0, 0, 8],
    ]
)


def test_observed_counts_match_hand_enumeration_manhattan() -> None:
    res = knox_test(X, Y, T, distance_bands_m=D_BANDS, time_bands_days=T_BANDS, n_permutations=19, seed=1)
    assert res.pivot("observed").to_numpy().tolist() == HAND_MANHATTAN.tolist()
    assert res.n_pairs == 15 and res.table["observed"].sum() == 15
    assert (
        res.table["distance_band"].iloc[0] == "[0, 1) m" and res.table["time_band"].iloc[-1] == "[8, ∞) days"
    )


def test_observed_counts_match_hand_enumeration_euclidean() -> None:
    res = knox_test(
        X, Y, T, distance_bands_m=D_BANDS, time_bands_days=T_BANDS, metric="euclidean", n_permutations=19
    )
    assert res.pivot("observed").to_numpy().tolist() == HAND_EUCLIDEAN.tolist()


def test_dates_are_floored_to_whole_days() -> None:
    base = pd.Timestamp("2024-03-01")
    # each event at a different clock time on its day: whole days reproduce the table above
    times = [base + pd.Timedelta(days=t, hours=h) for t, h in zip(T, [23, 1, 12, 6, 0, 22], strict=True)]
    res = knox_test(X, Y, times, distance_bands_m=D_BANDS, time_bands_days=T_BANDS, n_permutations=19)
    assert res.pivot("observed").to_numpy().tolist() == HAND_MANHATTAN.tolist()


def brute_force_knox(
    x: list[float], y: list[float], t: list[float], *, seed: int, n_permutations: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference: plain loops over pairs and permutations (same rng draw order as documented)."""

    def band(value: float, breaks: tuple[float, ...]) -> int | None:
        for k in range(len(breaks) - 1):
            if breaks[k] <= value < breaks[k + 1]:
                return k
        return None

    def table(times: list[float]) -> np.ndarray:
        out = np.zeros((len(D_BANDS) - 1, len(T_BANDS) - 1), dtype=int)
        for i, j in itertools.combinations(range(len(x)), 2):
            s = band(abs(x[i] - x[j]) + abs(y[i] - y[j]), D_BANDS)
            k = band(abs(times[i] - times[j]), T_BANDS)
            if s is not None and k is not None:
                out[s, k] += 1
        return out

    observed = table(t)
    rng = np.random.default_rng(seed)
    sims = []
    for _ in range(n_permutations):
        perm = rng.permutation(len(x))
        sims.append(table([t[p] for p in perm]))
    n_ge = sum((s >= observed).astype(int) for s in sims)
    p = (1 + n_ge) / (n_permutations + 1)
    mean = sum(s.astype(float) for s in sims) / n_permutations
    return observed, mean, p


@pytest.mark.parametrize("seed", [0, 7])
def test_p_values_and_expected_match_brute_force_loop(seed: int) -> None:
    # a slightly larger case, so the tables are not trivial: two near-repeat chains plus noise
    rng = np.random.default_rng(100 + seed)
    x = [*rng.uniform(0, 150, 8), *rng.uniform(5000, 5300, 8), *rng.uniform(0, 3000, 8)]
    y = [*rng.uniform(0, 150, 8), *rng.uniform(0, 300, 8), *rng.uniform(0, 3000, 8)]
    t = [*rng.integers(0, 6, 8), *rng.integers(40, 46, 8), *rng.integers(0, 90, 8)]
    x, y, t = [float(v) for v in x], [float(v) for v in y], [float(v) for v in t]
    observed, mean, p = brute_force_knox(x, y, t, seed=seed, n_permutations=199)
    res = knox_test(x, y, t, distance_bands_m=D_BANDS, time_bands_days=T_BANDS, n_permutations=199, seed=seed)
    assert res.pivot("observed").to_numpy().tolist() == observed.tolist()
    np.testing.assert_allclose(res.pivot("expected").to_numpy(dtype=float), mean, rtol=1e-12)
    np.testing.assert_allclose(res.pivot("p_value").to_numpy(dtype=float), p, rtol=1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(mean > 0, observed / mean, np.nan)
    np.testing.assert_allclose(res.pivot("knox_ratio").to_numpy(dtype=float), ratio, rtol=1e-12)
    # the close, recent cell should stand out for this clustered pattern
    assert res.pivot("p_value").iloc[1, 0] <= 0.05
