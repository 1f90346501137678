"""Power / MDE formulas (docs/methods.md §5.2) and the rate and dispersion estimators, on hand-made inputs."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rasure.trial import (
    PowerInputError,
    estimate_rate_dispersion,
    nb_minimum_detectable_effect,
    nb_power,
    nb_required_place_days,
    place_day_counts,
)
from rasure.trial.power import Approach, nb_variances

# docs/methods.md §5.2 worked examples: place-days per arm, alpha .05 two-sided, power .8, r = 1,
# approach 3; columns theta = 0.5 / 1 / 5 (k = 2 / 1 / 0.2). The table there is rounded to the nearest day.
METHODS_TABLE = {
    (0.05, 0.7): (3178, 3055, 2956),
    (0.05, 0.8): (7663, 7347, 7095),
    (0.05, 0.9): (32624, 31210, 30078),
    (0.10, 0.7): (1712, 1589, 1490),
    (0.10, 0.8): (4147, 3831, 3579),
    (0.10, 0.9): (17726, 16312, 15181),
    (0.20, 0.7): (980, 856, 757),
    (0.20, 0.8): (2389, 2073, 1821),
    (0.20, 0.9): (10277, 8863, 7732),
}


@pytest.mark.parametrize(("mu0", "irr"), list(METHODS_TABLE))
def test_required_place_days_reproduce_the_methods_table(mu0: float, irr: float) -> None:
    for theta, expected in zip((0.5, 1.0, 5.0), METHODS_TABLE[(mu0, irr)], strict=True):
        got = nb_required_place_days(base_rate=mu0, rate_ratio=irr, dispersion_k=1 / theta)
        assert round(got.control_place_days_exact) == expected
        assert got.control_place_days == math.ceil(got.control_place_days_exact)
        assert got.treated_place_days == got.control_place_days


def test_variances_by_hand() -> None:
    # mu0 = 0.1, mu1 = 0.05, r = 2, k = 0.5: V1 = 10 + 10 + 0.75; V0 per approach.
    assert nb_variances(mu0=0.1, mu1=0.05, r=2.0, k=0.5, approach=1) == pytest.approx((15.75, 20.75))
    assert nb_variances(mu0=0.1, mu1=0.05, r=2.0, k=0.5, approach=2) == pytest.approx((20.75, 20.75))
    assert nb_variances(mu0=0.1, mu1=0.05, r=2.0, k=0.5, approach=3) == pytest.approx((9 / 0.4 + 0.75, 20.75))


def test_poisson_limit_is_the_wald_test_on_two_rates() -> None:
    # k = 0, approach 2: power = Φ(√n|ln RR| / √(1/μ0 + 1/μ1) − z) for n place-days per arm.
    n, mu0, irr = 5000, 0.1, 0.85
    expected = stats.norm.cdf(
        math.sqrt(n) * abs(math.log(irr)) / math.sqrt(1 / mu0 + 1 / (mu0 * irr)) - 1.959964
    )
    got = nb_power(
        control_place_days=n,
        treated_place_days=n,
        base_rate=mu0,
        rate_ratio=irr,
        dispersion_k=0.0,
        approach=2,
    )
    assert got == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("approach", [1, 2, 3])
@pytest.mark.parametrize("share", [0.5, 1 / 3])
def test_power_at_the_required_size_is_the_target(approach: Approach, share: float) -> None:
    req = nb_required_place_days(
        base_rate=0.08, rate_ratio=0.75, dispersion_k=1.5, treated_share=share, power=0.9, approach=approach
    )
    r = share / (1 - share)
    got = nb_power(
        control_place_days=req.control_place_days_exact,
        treated_place_days=r * req.control_place_days_exact,
        base_rate=0.08,
        rate_ratio=0.75,
        dispersion_k=1.5,
        approach=approach,
    )
    assert got == pytest.approx(0.9, abs=1e-9)


def test_mde_inverts_power_and_is_a_formula_output() -> None:
    mde = nb_minimum_detectable_effect(hotspots=34, days=182, base_rate=0.05, dispersion_k=1.0)
    assert mde.control_place_days == mde.treated_place_days == 3094
    assert mde.rate_ratio == pytest.approx(0.7017, abs=1e-4)
    assert mde.percent_change == pytest.approx((mde.rate_ratio - 1) * 100)
    power = nb_power(
        control_place_days=3094,
        treated_place_days=3094,
        base_rate=0.05,
        rate_ratio=mde.rate_ratio,
        dispersion_k=1,
    )
    assert power == pytest.approx(0.8, abs=1e-8)
    assert "assumed inputs" in mde.summary()
    up = nb_minimum_detectable_effect(
        hotspots=34, days=182, base_rate=0.05, dispersion_k=1.0, direction="increase"
    )
    assert up.rate_ratio > 1
    assert nb_power(
        control_place_days=3094,
        treated_place_days=3094,
        base_rate=0.05,
        rate_ratio=up.rate_ratio,
        dispersion_k=1,
    ) == pytest.approx(0.8, abs=1e-8)


def test_more_place_days_or_less_dispersion_give_a_smaller_mde() -> None:
    def mde(**kw: float) -> float:
        args: dict[str, float] = {"hotspots": 34, "days": 182, "base_rate": 0.05, "dispersion_k": 1.0}
        args.update(kw)
        return nb_minimum_detectable_effect(**args).rate_ratio  # type: ignore[arg-type]

    base = mde()
    assert mde(days=364) > base  # IRR closer to 1 = smaller detectable effect
    assert mde(dispersion_k=0.2) > base
    assert mde(design_effect=2.0) < base


def test_impossible_mde_says_how_to_fix() -> None:
    with pytest.raises(PowerInputError, match="Add days or hot spots"):
        nb_minimum_detectable_effect(hotspots=2, days=3, base_rate=0.01, dispersion_k=1.0)


def test_days_for_a_number_of_hot_spots() -> None:
    req = nb_required_place_days(base_rate=0.05, rate_ratio=0.7, dispersion_k=1.0)
    days = req.days_for(34)
    assert days * 17 >= req.control_place_days > (days - 1) * 17


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_rate": 0.0},
        {"base_rate": float("nan")},
        {"rate_ratio": 1.0},
        {"rate_ratio": -0.5},
        {"dispersion_k": -1.0},
        {"alpha": 1.5},
        {"power": 0.0},
        {"treated_share": 1.0},
        {"design_effect": 0.5},
        {"approach": 4},
        {"alternative": "less"},
    ],
)
def test_bad_power_inputs_are_refused(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"base_rate": 0.05, "rate_ratio": 0.8, "dispersion_k": 1.0}
    args.update(kwargs)
    with pytest.raises(PowerInputError):
        nb_required_place_days(**args)  # type: ignore[arg-type]


# --- estimating the base rate and dispersion ------------------------------------------------------


def test_moments_estimate_by_hand() -> None:
    counts = [0, 0, 0, 1, 0, 3, 0, 0, 1, 0]  # mean 0.5, variance 17/18
    est = estimate_rate_dispersion(counts)
    assert est.base_rate == 0.5
    assert est.variance == pytest.approx(17 / 18)
    assert est.dispersion_k == pytest.approx((17 / 18 - 0.5) / 0.25)
    assert est.theta == pytest.approx(1 / est.dispersion_k)
    assert (est.n_place_days, est.total_count) == (10, 5)


def test_mle_maximises_the_nb2_likelihood_on_a_grid() -> None:
    counts = np.array([0] * 70 + [1] * 15 + [2] * 8 + [3] * 4 + [5] * 2 + [9])
    est = estimate_rate_dispersion(counts, method="mle")
    mu = counts.mean()

    def loglik(k: float) -> float:
        th = 1 / k
        return math.fsum(
            math.lgamma(y + th)
            - math.lgamma(th)
            - math.lgamma(y + 1)
            + th * math.log(th / (th + mu))
            + y * math.log(mu / (th + mu))
            for y in counts
        )

    grid = np.linspace(0.05, 10, 4000)
    best = grid[int(np.argmax([loglik(k) for k in grid]))]
    assert est.dispersion_k == pytest.approx(best, abs=0.01)
    assert loglik(est.dispersion_k) >= loglik(best) - 1e-9


def test_no_overdispersion_gives_k_zero() -> None:
    counts = [0, 1, 0, 1, 0, 1, 1, 0]  # variance < mean
    for method in ("moments", "mle"):
        est = estimate_rate_dispersion(counts, method=method)
        assert est.dispersion_k == 0.0 and est.theta == math.inf
        assert "no overdispersion" in est.note


@pytest.mark.parametrize("counts", [[0, 0, 0], [1], [0, -1, 2], [0.5, 1, 2]])
def test_unusable_counts_are_refused(counts: list[float]) -> None:
    with pytest.raises(PowerInputError):
        estimate_rate_dispersion(counts)


def test_place_day_counts_fill_zeros_and_respect_the_six_oclock_boundary() -> None:
    events = pd.DataFrame(
        {
            "hotspot_id": ["A", "A", "B", "A", "C", "B"],
            "occurred_at": [
                datetime(2025, 4, 2, 5, 59),  # trial day 1 April
                datetime(2025, 4, 2, 6, 0),  # trial day 2 April
                datetime(2025, 4, 1, 12, 0),
                datetime(2025, 3, 31, 12, 0),  # before the window
                datetime(2025, 4, 1, 12, 0),  # hot spot not listed
                datetime(2025, 4, 3, 5, 0),  # trial day 2 April
            ],
        }
    )
    out = place_day_counts(events, hotspot_ids=["B", "A"], start=date(2025, 4, 1), end=date(2025, 4, 2))
    assert out.to_dict("list") == {
        "hotspot_id": ["A", "A", "B", "B"],
        "trial_day": [date(2025, 4, 1), date(2025, 4, 2), date(2025, 4, 1), date(2025, 4, 2)],
        "count": [1, 1, 1, 1],
    }


def test_place_day_counts_convert_aware_times_to_local() -> None:
    events = pd.DataFrame({"hotspot_id": ["A"], "occurred_at": [datetime(2025, 7, 2, 5, 30, tzinfo=UTC)]})
    with pytest.raises(PowerInputError, match="timezone="):
        place_day_counts(events, hotspot_ids=["A"], start=date(2025, 7, 1), end=date(2025, 7, 2))
    out = place_day_counts(
        events, hotspot_ids=["A"], start=date(2025, 7, 1), end=date(2025, 7, 2), timezone="Europe/London"
    )
    assert out["count"].tolist() == [0, 1]  # 06:30 BST: the 2 July trial day
    out = place_day_counts(
        events,
        hotspot_ids=["A"],
        start=date(2025, 7, 1),
        end=date(2025, 7, 2),
        day_start=time(7, 0),
        timezone="Europe/London",
    )
    assert out["count"].tolist() == [1, 0]
