"""Concentration: invariants (hypothesis) and input errors. Hand-computed values are in
tests/golden/test_concentration_hand.py."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import trapezoid  # np.trapezoid is NumPy >= 2 only

from rasure.hotspots import HotspotInputError, concentration, gini, lorenz_curve, pai_pei

counts = st.lists(st.integers(0, 50), min_size=1, max_size=60).filter(lambda v: sum(v) > 0)


@settings(max_examples=150, deadline=None)
@given(values=counts, extra_zeros=st.integers(0, 200))
def test_invariants(values: list[int], extra_zeros: int) -> None:
    n_places = len(values) + extra_zeros
    c = concentration(values, n_places=n_places, top_place_shares=(0.01, 0.05, 0.1, 0.5, 1.0))
    assert 0.0 <= c.gini < 1.0
    assert c.gini_generalized <= c.gini + 1e-12  # the sparse correction never increases G
    assert -1e-12 <= c.gini_generalized <= 1.0 + 1e-12
    shares = [c.top_shares[p] for p in (0.01, 0.05, 0.1, 0.5, 1.0)]
    assert all(a <= b + 1e-12 for a, b in itertools.pairwise(shares))  # S(p) non-decreasing
    assert shares[-1] == pytest.approx(1.0)
    assert c.top_shares[0.5] >= 0.5 - 1e-12  # the top half never holds less than half
    assert 0 < c.places_for_shares[0.25] <= c.places_for_shares[0.5] <= 1
    assert c.n_occupied == sum(v > 0 for v in values)
    # Order of places does not matter.
    assert gini(values[::-1], n_places=n_places) == pytest.approx(c.gini)


@settings(max_examples=100, deadline=None)
@given(values=counts)
def test_gini_equals_mean_absolute_difference_form(values: list[int]) -> None:
    """G = Σ_i Σ_j |y_i − y_j| / (2·N²·ȳ), an independent formula for the same coefficient."""
    y = np.asarray(values, dtype=float)
    mad = np.abs(y[:, None] - y[None, :]).sum() / (2 * y.size**2 * y.mean())
    assert gini(y) == pytest.approx(mad, abs=1e-12)
    lc = lorenz_curve(y)
    assert 1 - 2 * trapezoid(lc["total_share"], lc["place_share"]) == pytest.approx(mad, abs=1e-12)


def test_zeros_via_n_places_equal_explicit_zeros() -> None:
    a = concentration([4, 1, 1], n_places=8)
    b = concentration([0, 4, 0, 1, 0, 0, 1, 0])
    assert a == b


def test_harm_values_are_accepted() -> None:
    c = concentration([365.0, 10.0, 0.5], n_places=20)
    assert c.top_shares[0.05] == pytest.approx(365 / 375.5)


def test_errors_say_how_to_fix() -> None:
    with pytest.raises(HotspotInputError, match="zero-crime places included"):
        concentration([1, 2, 3], n_places=2)
    with pytest.raises(HotspotInputError, match="longer period"):
        concentration([0, 0])
    with pytest.raises(HotspotInputError, match="non-negative"):
        concentration([1, -1])
    with pytest.raises(HotspotInputError, match=r"\(0, 1\]"):
        concentration([1, 2], top_place_shares=(0.0,))
    with pytest.raises(HotspotInputError, match="one value per place"):
        pai_pei([True], [1, 2])
    with pytest.raises(HotspotInputError, match="longer period"):
        pai_pei([True, False], [0, 0])
