"""WDQ and WDD against published worked examples (docs/methods.md §5.5)."""

from __future__ import annotations

import math

import pytest

from rasure.trial.displacement import (
    DisplacementError,
    weighted_displacement_difference,
    weighted_displacement_quotient,
)


def test_wdq_complete_displacement_example() -> None:
    # Bowers & Johnson's measure on the test vector of lamp_displacement_quotient: SM -0.5, BDM 0.5, WDQ -1
    w = weighted_displacement_quotient(
        r_before=100, r_after=50, b_before=100, b_after=150, c_before=100, c_after=100
    )
    assert (w.success_measure, w.buffer_displacement_measure, w.wdq) == pytest.approx((-0.5, 0.5, -1.0))
    assert w.total_net_effect == pytest.approx(0.0)  # 50 fewer in the area, 50 more in the buffer


def test_wdd_matches_the_ptools_worked_example() -> None:
    # ptools::wdd: control (308, 318), treated (207, 110), displacement control (150, 140),
    # displacement treated (178, 157) -> estimate -118, SE sqrt(1568), Z -2.98, 95 % CI [-196, -40]
    w = weighted_displacement_difference(
        treated=(207, 110), control=(308, 318), displacement=(178, 157), displacement_control=(150, 140)
    )
    assert w.estimate == pytest.approx(-118)
    assert w.se == pytest.approx(math.sqrt(1568))
    assert w.z == pytest.approx(-2.98, abs=0.005)
    assert (round(w.ci_low), round(w.ci_high)) == (-196, -40)


def test_bad_counts_are_refused() -> None:
    with pytest.raises(DisplacementError, match="control area"):
        weighted_displacement_quotient(r_before=1, r_after=1, b_before=1, b_after=1, c_before=0, c_after=1)
    assert (
        weighted_displacement_quotient(
            r_before=10, r_after=10, b_before=5, b_after=6, c_before=10, c_after=10
        ).wdq
        is None
    )
