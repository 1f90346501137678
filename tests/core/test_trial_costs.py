"""Cost–benefit arithmetic against a hand computation."""

from __future__ import annotations

import pytest

from rasure.trial.costs import CostInputError, UnitCosts, ValueLine, cost_benefit


def test_cost_benefit_equals_a_hand_computation() -> None:
    # control mean 0.1 per place-day, IRR 0.8 (0.6 to 1.1), 3,000 treated place-days:
    # prevented = 0.1 × 0.2 × 3000 = 60 (low 0.1 × -0.1 × 3000 = -30, high 0.1 × 0.4 × 3000 = 120).
    # value per crime = 10,000 × 1.2 + 500 = 12,500; cost = 750 h × 2 officers × £40 = £60,000.
    # benefit = 60 × 12,500 = £750,000; BCR = 12.5 (interval -6.25 to 25).
    costs = UnitCosts(
        cost_per_crime=10_000,
        uprating=1.2,
        officer_hour_cost=40,
        officers_per_patrol=2,
        value_lines=(ValueLine("health", 500, "a test source"),),
    )
    cb = cost_benefit(
        control_rate=0.1,
        irr=0.8,
        irr_low=0.6,
        irr_high=1.1,
        treated_place_days=3000,
        patrol_hours=750,
        costs=costs,
    )
    assert (cb.prevented, cb.prevented_low, cb.prevented_high) == pytest.approx((60, -30, 120))
    assert cb.benefit == pytest.approx(750_000) and cb.cost == pytest.approx(60_000)
    assert (cb.bcr, cb.bcr_low, cb.bcr_high) == pytest.approx((12.5, -6.25, 25))
    table = {(r["hour_cost_factor"], r["crime_cost_factor"]): r["bcr"] for r in cb.sensitivity}
    assert table[(2.0, 0.5)] == pytest.approx(12.5 / 4) and table[(0.5, 2.0)] == pytest.approx(50)
    assert any("uprated × 1.2" in a for a in cb.assumptions) and any("health" in a for a in cb.assumptions)


def test_defaults_are_marked_unverified_and_bad_inputs_refused() -> None:
    cb = cost_benefit(
        control_rate=0.1,
        irr=0.8,
        irr_low=0.6,
        irr_high=1.1,
        treated_place_days=10,
        patrol_hours=1,
        costs=UnitCosts(),
    )
    assert all(a.startswith("[U]") for a in cb.assumptions)
    with pytest.raises(CostInputError, match="patrol_hours"):
        cost_benefit(
            control_rate=0.1,
            irr=0.8,
            irr_low=0.6,
            irr_high=1.1,
            treated_place_days=10,
            patrol_hours=0,
            costs=UnitCosts(),
        )
    with pytest.raises(CostInputError, match="officer_hour_cost"):
        UnitCosts(officer_hour_cost=-1)
