"""The trial evaluation: golden tests against statsmodels fitted independently, and a simulation study.

Independent references:
* the NB2 estimate equals statsmodels' *discrete* NegativeBinomial maximum likelihood (a joint fit of
  coefficients and dispersion, a different code path from the profiled GLM Rasure uses), fitted here
  with the formula interface on the same simulated panel;
* the modified-Poisson risk ratio equals statsmodels' GEE with an independence working correlation
  (the same estimating equations, fitted by another routine);
* simulated trials with a known IRR 0.8 and over-dispersion (k = 1): the 95 % CI covers the truth in
  close to 95 % of replicates and the estimate is unbiased; with no effect the randomisation p-value
  is uniform. Seeds are fixed, so the study is deterministic.
"""

from __future__ import annotations

import warnings
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from rasure.trial import FrozenHotSpot, TrialDesign, make_schedule
from rasure.trial.evaluation import (
    EvaluationError,
    carryover_irr,
    consort_counts,
    fit_nb,
    harm_ratio_of_means,
    nb_itt,
    outcome_kind,
    positive_outcome_ratio,
    prepare_panel,
    prevalence_rr,
    randomisation_p_value,
    redrawn_allocations,
    ri_seed,
)

sm = pytest.importorskip("statsmodels.api")
smf = pytest.importorskip("statsmodels.formula.api")


def simulate(
    *, places: int = 20, days: int = 60, irr: float = 0.8, mu0: float = 0.3, k: float = 1.0, seed: int = 1
) -> tuple[pd.DataFrame, list[FrozenHotSpot], TrialDesign]:
    """A daily-design trial (3 strata, half treated), NB2 counts with place and weekday effects."""
    rng = np.random.default_rng(seed)
    spots = [FrozenHotSpot(f"HS{i:03d}", f"S{i % 3}", f"POINT ({i} 0)") for i in range(places)]
    design = TrialDesign(
        kind="daily", start=date(2025, 4, 7), end=date(2025, 4, 7) + timedelta(days=days - 1), cap_per_day=2
    )
    panel = make_schedule(spots, design, seed=f"{seed + 7:064x}")
    place = dict(zip([h.hotspot_id for h in spots], rng.gamma(2.0, 0.5, places), strict=True))
    weekday = np.array([1.0, 0.9, 0.9, 1.0, 1.2, 1.5, 1.3])
    dow = pd.to_datetime(panel["trial_day"]).dt.day_of_week.to_numpy()
    mu = mu0 * panel["hotspot_id"].map(place).to_numpy() * weekday[dow]
    mu = mu * np.where(panel["arm"] == "treatment", irr, 1.0)
    panel["sv_count"] = rng.poisson(rng.gamma(1 / k, k * mu))
    panel["harm_days"] = panel["sv_count"] * rng.lognormal(3.0, 1.0, len(panel))
    return panel, spots, design


def test_nb_estimate_equals_statsmodels_discrete_nb_maximum_likelihood() -> None:
    panel, _, _ = simulate(places=12, days=56, mu0=0.6, seed=3)
    ours = nb_itt(panel)
    frame, _ = prepare_panel(panel, outcome="sv_count")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = smf.negativebinomial("y ~ treated + C(place) + C(dow)", data=frame, loglike_method="nb2").fit(
            method="bfgs",
            maxiter=2000,
            gtol=1e-8,
            disp=0,
            cov_type="cluster",
            cov_kwds={"groups": pd.factorize(frame["place"])[0]},
        )
    assert ours.estimate == pytest.approx(np.exp(ref.params["treated"]), rel=1e-3)
    lo, hi = np.exp(ref.conf_int().loc["treated"])
    assert (ours.ci_low, ours.ci_high) == pytest.approx((lo, hi), rel=2e-3)
    assert ours.p_value == pytest.approx(ref.pvalues["treated"], rel=1e-2, abs=1e-4)
    assert fit_nb(frame, covariates=("place", "day_of_week")).dispersion_k == pytest.approx(
        ref.params["alpha"], rel=5e-3
    )


def test_prevalence_risk_ratio_equals_statsmodels_gee_independence() -> None:
    panel, _, _ = simulate(places=12, days=56, seed=4)
    ours = prevalence_rr(panel)
    frame, _ = prepare_panel(panel, outcome="sv_count")
    frame["any"] = (frame["y"] > 0).astype(float)
    # Places with no event on any day carry no information and are dropped by ours (a note says so).
    frame = frame[frame.groupby("place")["any"].transform("sum") > 0]
    ref = smf.gee(
        "any ~ treated + C(place) + C(dow)",
        groups="place",
        data=frame,
        family=sm.families.Poisson(),
        cov_struct=sm.cov_struct.Independence(),
    ).fit()
    assert ours.estimate == pytest.approx(np.exp(ref.params["treated"]), rel=1e-6)
    # GEE's robust SE has no small-sample correction; statsmodels' GLM cluster SE multiplies by
    # sqrt(G/(G-1) (N-1)/(N-p)). Undo it to compare.
    g, n = frame["place"].nunique(), len(frame)
    p = 1 + 1 + (g - 1) + 6
    corr = np.sqrt(g / (g - 1) * (n - 1) / (n - p))
    se_ours = (np.log(ours.ci_high) - np.log(ours.ci_low)) / (2 * 1.959963984540054)
    assert se_ours == pytest.approx(ref.bse["treated"] * corr, rel=1e-3)


def test_harm_ratio_of_means_is_the_ratio_of_arm_means() -> None:
    panel, _, _ = simulate(seed=5)
    r = harm_ratio_of_means(panel, bootstrap=199)
    t = panel.loc[panel["arm"] == "treatment", "harm_days"].mean()
    c = panel.loc[panel["arm"] == "control", "harm_days"].mean()
    assert r.estimate == pytest.approx(t / c, rel=1e-12)
    assert r.ci_low < r.estimate < r.ci_high


def test_simulated_trial_recovers_the_true_effect_within_its_ci() -> None:
    panel, _, _ = simulate(places=30, days=90, seed=11)
    r = nb_itt(panel)
    assert r.ci_low < 0.8 < r.ci_high
    assert r.n_place_days == 2700 and r.mean_control is not None and r.mean_control > 0


@pytest.mark.clock_free
def test_coverage_and_bias_over_simulated_trials() -> None:
    """40 replicates: 95 % CI coverage within 3 binomial SEs of 0.95, mean log IRR within 3 SEs of ln 0.8."""
    reps, logs, covered = 40, [], 0
    for s in range(reps):
        r = nb_itt(simulate(seed=100 + s)[0])
        assert r.estimate is not None and r.ci_low is not None and r.ci_high is not None
        logs.append(np.log(r.estimate))
        covered += r.ci_low <= 0.8 <= r.ci_high
    se_cover = np.sqrt(0.95 * 0.05 / reps)
    assert abs(covered / reps - 0.95) <= 3 * se_cover + 1 / reps
    assert abs(np.mean(logs) - np.log(0.8)) <= 3 * np.std(logs) / np.sqrt(reps)


@pytest.mark.clock_free
def test_randomisation_p_value_is_uniform_with_no_effect() -> None:
    """60 null trials, 19 re-draws each: p takes the values k/20; its mean is 0.525 and P(p <= 0.1) = 0.1."""
    ps = []
    for s in range(60):
        panel, spots, design = simulate(places=9, days=28, irr=1.0, seed=500 + s)
        entries = [(h.hotspot_id, h.stratum, None) for h in spots]
        r = nb_itt(
            panel,
            allocations=lambda f, e=entries, d=design: redrawn_allocations(f, entries=e, design=d, draws=19),
        )
        assert r.p_randomisation is not None
        ps.append(r.p_randomisation)
    ps_arr = np.array(ps)
    assert set(np.round(ps_arr * 20).astype(int)) <= set(range(1, 21))
    assert abs(ps_arr.mean() - 0.525) <= 3 * 0.2883 / np.sqrt(60)
    assert abs((ps_arr <= 0.1).mean() - 0.1) <= 3 * np.sqrt(0.09 / 60)


def test_randomisation_p_is_small_for_a_large_effect_and_redraws_follow_the_design() -> None:
    panel, spots, design = simulate(places=12, days=40, irr=0.4, mu0=0.8, seed=9)
    entries = [(h.hotspot_id, h.stratum, None) for h in spots]
    frame, _ = prepare_panel(panel, outcome="sv_count")
    draws = redrawn_allocations(frame, entries=entries, design=design, draws=49)
    # each re-draw treats exactly half of each stratum each day, like the real schedule, and differs
    by_day_stratum = pd.DataFrame(draws.T).groupby([frame["trial_day"], frame["stratum"]]).sum()
    assert (by_day_stratum == 2).all().all()  # 4 hot spots per stratum, half treated
    assert len({tuple(row) for row in draws}) == 49 and len({ri_seed(b) for b in range(49)}) == 49
    r = nb_itt(panel, allocations=lambda f: redrawn_allocations(f, entries=entries, design=design, draws=49))
    assert r.p_randomisation == pytest.approx(1 / 50)


def test_randomisation_p_value_formula() -> None:
    assert randomisation_p_value(0.5, np.array([0.1, -0.6, 0.2, 0.5])) == pytest.approx(3 / 5)
    assert np.isnan(randomisation_p_value(float("inf"), np.array([0.1])))


def test_carryover_finds_a_lagged_effect_when_there_is_one() -> None:
    panel, _, _ = simulate(places=30, days=90, irr=1.0, mu0=0.4, seed=22)
    frame = panel.sort_values(["hotspot_id", "trial_day"]).reset_index(drop=True)
    yesterday = frame.groupby("hotspot_id")["arm"].shift(1).eq("treatment")
    rng = np.random.default_rng(22)
    thinned = rng.binomial(frame["sv_count"], np.where(yesterday, 0.6, 1.0))  # 40 % fewer the day after
    r = carryover_irr(frame.assign(sv_count=thinned), lag=1)
    assert r.ci_low < 0.6 < r.ci_high and r.ci_high < 1.0


def test_a_bad_panel_is_refused_with_the_missing_column() -> None:
    panel, _, _ = simulate(places=3, days=3)
    with pytest.raises(EvaluationError, match="lacks columns \\['sv_count'\\]"):
        nb_itt(panel.drop(columns="sv_count"))
    with pytest.raises(EvaluationError, match="both arms"):
        nb_itt(panel.assign(arm="control"))


def test_unknown_days_are_left_out_and_counted() -> None:
    panel, _, _ = simulate(places=9, days=28, seed=2)
    panel["sv_count"] = panel["sv_count"].astype("Float64")
    panel.loc[panel.index[-9:], "sv_count"] = pd.NA
    r = nb_itt(panel)
    assert r.n_place_days == len(panel) - 9
    assert any("9 place-days with no sv_count" in n for n in r.notes)


def test_positive_outcome_ratio_equals_a_hand_computation() -> None:
    # treated: 3 of 6 final outcomes positive (50 %); control: 2 of 8 (25 %) -> ratio 2
    panel = pd.DataFrame(
        {
            "hotspot_id": ["A", "A", "B", "B", "C", "C"],
            "trial_day": [date(2025, 4, 7), date(2025, 4, 8)] * 3,
            "arm": ["treatment", "control", "control", "treatment", "treatment", "control"],
            "sv_final_outcome": [2, 3, 4, 3, 1, 1],
            "sv_positive_outcome": [1, 1, 1, 2, 0, 0],
        }
    )
    r = positive_outcome_ratio(panel, bootstrap=199)
    assert r.estimate == pytest.approx(2.0) and r.estimand == "RoR"
    assert (r.mean_treatment, r.mean_control) == pytest.approx((0.5, 0.25))
    assert outcome_kind("Under investigation") == "pending" and outcome_kind("Local resolution") == "positive"


def test_consort_counts_by_hand() -> None:
    panel = pd.DataFrame(
        {
            "arm": ["treatment", "treatment", "treatment", "control", "control"],
            "sv_count": [0, 1, None, 0, 2],
            "dose_minutes": [20.0, 5.0, 0.0, 3.0, 0.0],
        }
    )
    c = consort_counts(panel, target_minutes=15)
    assert c["allocated"] == {"treatment": 3, "control": 2}
    assert c["outcome_known"] == {"treatment": 2, "control": 2}
    assert (
        c["treated_full_dose"],
        c["treated_partial_dose"],
        c["treated_no_dose"],
        c["control_visited"],
    ) == (1, 1, 1, 1)
    assert consort_counts(panel.drop(columns="dose_minutes"), target_minutes=15)["treated_full_dose"] is None
    assert c["bau"] is None  # no radio/AVLS columns
    # radio/AVLS presence per arm, counted by hand: treatment 12 + 0 + 6 = 18 minutes over 3 place-days
    # (2 with presence), control 0 + 4 = 4 over 2 (1 with presence)
    bau = consort_counts(
        panel.assign(bau_minutes=[12.0, 0.0, 6.0, 0.0, 4.0], bau_visits=[1, 0, 1, 0, 1]), target_minutes=15
    )["bau"]
    assert bau == {
        "place_days_present": {"treatment": 2, "control": 1},
        "mean_minutes": {"treatment": 6.0, "control": 2.0},
    }
    no_file = panel.assign(bau_minutes=0.0, bau_visits=0)
    assert consort_counts(no_file, target_minutes=15)["bau"] is None  # no AVLS file imported


# --- dose-response (observational) ---------------------------------------------------------------


def test_dose_response_rate_ratio_equals_statsmodels_and_is_labelled_observational() -> None:
    from rasure.trial.evaluation import dose_response

    panel, _, _ = simulate(places=12, days=56, mu0=0.6, seed=8)
    rng = np.random.default_rng(80)
    treated = (panel["arm"] == "treatment").to_numpy()
    panel["dose_minutes"] = np.where(
        treated, rng.gamma(2.0, 8.0, len(panel)), rng.exponential(1.0, len(panel))
    )
    ours = dose_response(panel)
    assert ours["observational"] is True and ours["pre_specified"] is False
    assert "association, not effect" in ours["label"]
    frame, _ = prepare_panel(panel, outcome="sv_count")
    frame["dose_per"] = frame["dose_minutes"].astype(float) / 15.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = smf.negativebinomial(
            "y ~ treated + dose_per + C(place) + C(dow)", data=frame, loglike_method="nb2"
        ).fit(
            method="bfgs",
            maxiter=2000,
            gtol=1e-8,
            disp=0,
            cov_type="cluster",
            cov_kwds={"groups": pd.factorize(frame["place"])[0]},
        )
    assert ours["rate_ratio"] == pytest.approx(np.exp(ref.params["dose_per"]), rel=1e-3)
    lo, hi = np.exp(ref.conf_int().loc["dose_per"])
    assert (ours["ci_low"], ours["ci_high"]) == pytest.approx((lo, hi), rel=2e-3)


def test_dose_response_bands_by_hand_and_without_dose() -> None:
    from rasure.trial.evaluation import dose_response

    panel = pd.DataFrame(
        {
            "hotspot_id": ["A"] * 6,
            "trial_day": pd.date_range("2025-04-07", periods=6).tolist(),
            "arm": ["treatment", "treatment", "treatment", "control", "control", "treatment"],
            "sv_count": [0, 1, 2, 1, 3, 0],
            "dose_minutes": [0.0, 10.0, 15.0, 0.0, 5.0, 45.0],
        }
    )
    out = dose_response(panel)
    bands = {b["band"]: b for b in out["bands"]}
    assert bands["none"]["treatment"] == {"place_days": 1, "mean": 0.0}
    assert bands["none"]["control"] == {"place_days": 1, "mean": 1.0}
    assert bands["under 15 min"]["treatment"] == {"place_days": 1, "mean": 1.0}
    assert bands["under 15 min"]["control"] == {"place_days": 1, "mean": 3.0}
    # exactly 15 minutes: in the 15-to-30 band (half-open bands leave no dose out)
    assert bands["15 to under 30 min"]["treatment"] == {"place_days": 1, "mean": 2.0}
    assert bands["30 min or more"]["treatment"] == {"place_days": 1, "mean": 0.0}
    missing = dose_response(panel.drop(columns="dose_minutes"))
    assert missing["computed"] is False and "no dose_minutes" in missing["reason"]
    none = dose_response(panel.assign(dose_minutes=0.0))
    assert none["computed"] is False and "no presence" in none["reason"]
