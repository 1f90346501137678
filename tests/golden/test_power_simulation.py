"""The Zhu & Lakkis (2014) power formula against Monte Carlo simulation analysed by statsmodels.

Independent reference: counts are simulated from the negative binomial with numpy, and each
replicate is analysed the way a trial would be, by statsmodels' NB regression with a treatment
indicator and a Wald test on its coefficient (the log rate ratio). The share of replicates with
p < alpha estimates the power; the formula must agree within Monte Carlo error. Place-days are
simulated as independent, the formula's own assumption (clustering is a caveat documented in
rasure.trial.power, not tested here).

Tolerance: 3.5 binomial standard errors of the simulated power, plus 0.02 for the formula being
a large-sample approximation. Seeds are fixed, so the test is deterministic.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from rasure.trial.power import estimate_rate_dispersion, nb_minimum_detectable_effect, nb_power

sm = pytest.importorskip("statsmodels.api")


def _simulate_power(
    *,
    n_per_arm: int,
    mu0: float,
    irr: float,
    k: float,
    reps: int,
    seed: int,
    estimate_dispersion: bool,
    alpha: float = 0.05,
) -> float:
    rng = np.random.default_rng(seed)
    theta = 1 / k
    x = np.r_[np.zeros(n_per_arm), np.ones(n_per_arm)]
    design = sm.add_constant(x)
    rejections = 0
    for _ in range(reps):
        y0 = rng.negative_binomial(theta, theta / (theta + mu0), n_per_arm)
        y1 = rng.negative_binomial(theta, theta / (theta + mu0 * irr), n_per_arm)
        y = np.r_[y0, y1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if estimate_dispersion:
                fit = sm.NegativeBinomial(y, design).fit(disp=0, maxiter=200)
            else:
                fit = sm.GLM(y, design, family=sm.families.NegativeBinomial(alpha=k)).fit()
        if float(fit.pvalues[1]) < alpha:
            rejections += 1
    return rejections / reps


def _tolerance(p: float, reps: int) -> float:
    return 3.5 * math.sqrt(p * (1 - p) / reps) + 0.02


def test_mde_for_a_thames_valley_like_trial_has_the_stated_power_in_simulation() -> None:
    # 34 hot spots, half treated per day, 182 days, 0.05 per place-day, k = 1 (assumed inputs).
    mde = nb_minimum_detectable_effect(hotspots=34, days=182, base_rate=0.05, dispersion_k=1.0)
    n = int(mde.control_place_days)
    assert n == 3094
    reps = 600
    simulated = _simulate_power(
        n_per_arm=n, mu0=0.05, irr=mde.rate_ratio, k=1.0, reps=reps, seed=20250401, estimate_dispersion=True
    )
    assert abs(simulated - 0.8) <= _tolerance(0.8, reps), (simulated, mde.rate_ratio)


def test_power_at_a_middling_effect_matches_simulation_with_known_dispersion() -> None:
    n, mu0, irr, k = 2000, 0.2, 0.88, 0.5
    formula = nb_power(
        control_place_days=n, treated_place_days=n, base_rate=mu0, rate_ratio=irr, dispersion_k=k
    )
    assert 0.3 < formula < 0.7  # a point where power is most sensitive
    reps = 1000
    simulated = _simulate_power(
        n_per_arm=n, mu0=mu0, irr=irr, k=k, reps=reps, seed=7, estimate_dispersion=False
    )
    assert abs(simulated - formula) <= _tolerance(formula, reps), (simulated, formula)


def test_mle_dispersion_matches_statsmodels_negative_binomial() -> None:
    rng = np.random.default_rng(11)
    theta, mu = 0.8, 0.3
    y = rng.negative_binomial(theta, theta / (theta + mu), 5000)
    ours = estimate_rate_dispersion(y, method="mle")
    fit = sm.NegativeBinomial(y, np.ones((len(y), 1))).fit(disp=0, maxiter=500, gtol=1e-10)
    assert ours.base_rate == pytest.approx(math.exp(float(fit.params[0])), rel=1e-5)
    assert ours.dispersion_k == pytest.approx(float(fit.params[1]), rel=1e-4)
    moments = estimate_rate_dispersion(y, method="moments")
    assert moments.dispersion_k == pytest.approx(ours.dispersion_k, rel=0.15)
