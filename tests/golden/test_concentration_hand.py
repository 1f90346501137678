"""Concentration measures against hand computations and lorenzgini's published examples.

lorenzgini (Steenbeek, github.com/wsteenbeek/lorenzgini, R/gini.R) documents these results in
its ``@examples``: c(10,8,2, 0×7) → 0.78 (standard and generalized); c(5,2,1, 0×7) → standard
0.8, generalized 0.75; c(10, 0×9) → 0.9 biased, 1 unbiased; c(10, 0×99) → 0.99 biased.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import trapezoid  # np.trapezoid is NumPy >= 2 only

from rasure.hotspots import concentration, gini, lorenz_curve, pai_pei


def test_lorenzgini_documented_examples() -> None:
    assert gini([10, 8, 2] + [0] * 7) == pytest.approx(0.78, abs=1e-12)
    c = concentration([10, 8, 2] + [0] * 7)
    assert c.gini_generalized == pytest.approx(0.78, abs=1e-12)  # n = 20 ≥ N = 10: same as G
    c = concentration([5, 2, 1] + [0] * 7)
    assert c.gini == pytest.approx(0.8, abs=1e-12)
    assert c.gini_generalized == pytest.approx(0.75, abs=1e-12)
    assert gini([10] + [0] * 9) == pytest.approx(0.9, abs=1e-12)
    assert concentration([10] + [0] * 9).gini_generalized_unbiased == pytest.approx(1.0, abs=1e-12)
    assert gini([10] + [0] * 99) == pytest.approx(0.99, abs=1e-12)


def test_gini_by_hand_sparse() -> None:
    """N = 10 places (7 empty), n = 8 crimes: values 5, 2, 1.

    Ascending y = (0,0,0,0,0,0,0,1,2,5) at ranks 8, 9, 10:
      Σ i·y_(i) = 8·1 + 9·2 + 10·5 = 76
      G = 2·76/(10·8) − 11/10 = 1.9 − 1.1 = 0.8
      G_gen = max(1, 10/8)·(0.8 − 1) + 1 = 1.25·(−0.2) + 1 = 0.75
      m = min(10, 8) = 8 → G_gen,u = 0.75·8/7 = 0.857142…
    Top shares (descending 5, 2, 1, 0…; ⌈p·N⌉ places):
      1%: ⌈0.1⌉ = 1 place → 5/8 = 0.625;   5%: ⌈0.5⌉ = 1 → 0.625;   10%: ⌈1⌉ = 1 → 0.625
      30%: ⌈3⌉ = 3 places → 8/8 = 1
    Places for 25%: 2 crimes → the top place (5) suffices → 1/10; for 50% (4): 1/10;
    for 75% (6): 5 + 2 = 7 ≥ 6 → 2 places → 2/10.
    """
    c = concentration(
        [5, 2, 1], n_places=10, top_place_shares=(0.01, 0.05, 0.10, 0.30), crime_shares=(0.25, 0.5, 0.75)
    )
    assert c.n_places == 10
    assert c.n_occupied == 3
    assert c.total == 8
    assert c.gini == pytest.approx(0.8, abs=1e-12)
    assert c.gini_generalized == pytest.approx(0.75, abs=1e-12)
    assert c.gini_generalized_unbiased == pytest.approx(0.75 * 8 / 7, abs=1e-12)
    assert c.top_shares == pytest.approx({0.01: 0.625, 0.05: 0.625, 0.10: 0.625, 0.30: 1.0})
    assert c.places_for_shares == pytest.approx({0.25: 0.1, 0.5: 0.1, 0.75: 0.2})


def test_gini_by_hand_dense() -> None:
    """N = 4, y = 1, 2, 3, 4 (n = 10 ≥ N so generalized = standard).

    Σ i·y_(i) = 1 + 4 + 9 + 16 = 30;  G = 2·30/(4·10) − 5/4 = 1.5 − 1.25 = 0.25
    Unbiased: m = min(4, 10) = 4 → 0.25·4/3 = 0.3333…
    Mean-absolute-difference check: Σ_i Σ_j |y_i − y_j| = 2·(1+2+3+1+2+1) = 20;
    G = 20 / (2·N²·ȳ) = 20 / (2·16·2.5) = 0.25 ✓.
    Top 50% = ⌈2⌉ = 2 places: (4 + 3)/10 = 0.7. Places for 50% of crime: 4 + 3 = 7 ≥ 5 → 2/4;
    for 25%: 4 ≥ 2.5 → 1/4.
    """
    c = concentration([3, 1, 4, 2], top_place_shares=(0.5,))
    assert c.gini == pytest.approx(0.25, abs=1e-12)
    assert c.gini_generalized == pytest.approx(0.25, abs=1e-12)
    assert c.gini_generalized_unbiased == pytest.approx(1 / 3, abs=1e-12)
    assert c.top_shares[0.5] == pytest.approx(0.7)
    assert c.places_for_shares == pytest.approx({0.25: 0.25, 0.5: 0.5})


def test_generalized_gini_is_zero_when_crimes_are_spread_one_per_place() -> None:
    """n = 3 crimes over N = 12 places, one each: G = 1 − 3/12 = 0.75, G_gen = 4·(−0.25) + 1 = 0."""
    c = concentration([1, 1, 1], n_places=12)
    assert c.gini == pytest.approx(0.75, abs=1e-12)
    assert c.gini_generalized == pytest.approx(0.0, abs=1e-12)


def test_ceil_of_p_times_n_is_not_fooled_by_float_noise() -> None:
    """0.07·100 is 7.000000000000001 in floating point; the top 7% of 100 places is 7 places."""
    values = np.arange(100, 0, -1)  # 100, 99, …, 1; total 5050
    c = concentration(values, top_place_shares=(0.07,))
    assert c.top_shares[0.07] == pytest.approx(sum(range(94, 101)) / 5050)  # 100+99+…+94 = 679


def test_lorenz_curve_by_hand_and_area() -> None:
    """y = 1, 2, 3, 4: ascending cumulative shares 0, .1, .3, .6, 1; trapezoid area
    = ¼·(0+.1 + .1+.3 + .3+.6 + .6+1)/2 = ¼·3.0/2 = 0.375, so G = 1 − 2·0.375 = 0.25 ✓."""
    lc = lorenz_curve([4, 1, 3, 2])
    np.testing.assert_allclose(lc["total_share"], [0, 0.1, 0.3, 0.6, 1.0])
    np.testing.assert_allclose(lc["place_share"], [0, 0.25, 0.5, 0.75, 1.0])
    area = trapezoid(lc["total_share"], lc["place_share"])
    assert 1 - 2 * area == pytest.approx(0.25)
    desc = lorenz_curve([4, 1, 3, 2], descending=True)
    np.testing.assert_allclose(desc["total_share"], [0, 0.4, 0.7, 0.9, 1.0])


def test_pai_pei_by_hand() -> None:
    """10 equal cells, 20 events next period: 8, 5, 3, 2, 1, 1, 0, 0, 0, 0 in cells 0…9.
    Our list = cells 1 and 5 (5 + 1 = 6 events). hit rate 6/20 = 0.3, area 2/10 = 0.2,
    PAI = 1.5. The best 2 cells hold 8 + 5 = 13, so PEI = 6/13."""
    obs = [8, 5, 3, 2, 1, 1, 0, 0, 0, 0]
    sel = np.zeros(10, dtype=bool)
    sel[[1, 5]] = True
    r = pai_pei(sel, obs)
    assert r.hit_rate == pytest.approx(0.3)
    assert r.area_share == pytest.approx(0.2)
    assert r.pai == pytest.approx(1.5)
    assert r.pei == pytest.approx(6 / 13)
    # Unequal areas (cells 1 and 5 twice as big): a_sel/A = 4/12, PAI = 0.3/(1/3) = 0.9; no PEI.
    r2 = pai_pei(sel, obs, area_m2=[1, 2, 1, 1, 1, 2, 1, 1, 1, 1])
    assert r2.area_share == pytest.approx(4 / 12)
    assert r2.pai == pytest.approx(0.9)
    assert np.isnan(r2.pei)
