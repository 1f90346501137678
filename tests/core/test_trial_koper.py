"""The Koper curve (rasure.trial.koper): golden tests against a published survival analysis, and the
spells, follow-up and censoring worked by hand."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from rasure.trial.koper import (
    KoperError,
    assign_band,
    cox_ph,
    kaplan_meier,
    koper_curve,
    presence_spells,
    time_to_next_crime,
)

# Freireich et al. (1963) leukaemia remission times in weeks, the worked example of Kleinbaum & Klein,
# *Survival Analysis: A Self-Learning Text* (3rd ed., Springer 2012), ch. 2 (Kaplan–Meier) and ch. 3
# (Cox), also R's MASS::gehan. Group 1 (6-MP): 9 relapses, 12 censored ("+").
SIX_MP = [*(6, 6, 6, 7, 10, 13, 16, 22, 23), *(6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35)]
SIX_MP_EVENT = [1] * 9 + [0] * 12
PLACEBO = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]


def test_kaplan_meier_equals_the_published_table() -> None:
    km = kaplan_meier(SIX_MP, SIX_MP_EVENT)
    # Kleinbaum & Klein ch. 2 (6-MP group): S(t) at the relapse times and Greenwood standard errors
    # (as R's survfit(Surv(time, cens) ~ 1) prints them for the 6-MP group)
    assert list(km.times) == [6, 7, 10, 13, 16, 22, 23]
    assert list(km.at_risk) == [21, 17, 15, 12, 11, 7, 6]
    np.testing.assert_allclose(
        km.survival, [0.8571, 0.8067, 0.7529, 0.6902, 0.6275, 0.5378, 0.4482], atol=5e-5
    )
    np.testing.assert_allclose(km.se, [0.0764, 0.0869, 0.0963, 0.1068, 0.1141, 0.1282, 0.1346], atol=5e-5)
    assert km.median == 23
    assert km.at(5.9) == 1.0 and km.at(9) == pytest.approx(0.8067, abs=5e-5)
    assert kaplan_meier(PLACEBO, [1] * 21).median == 8


def test_cox_equals_the_published_fit() -> None:
    time = np.array(SIX_MP + PLACEBO, dtype=float)
    event = np.array(SIX_MP_EVENT + [1] * 21)
    exog = pd.DataFrame({"placebo": [0.0] * 21 + [1.0] * 21})
    # Efron ties (R coxph default): coef 1.572, se 0.412; Breslow ties (Stata, Kleinbaum & Klein ch. 3):
    # coef 1.509, se 0.410, hazard ratio 4.523
    (efron,) = cox_ph(time, event, exog)
    assert efron.beta == pytest.approx(1.572, abs=5e-4) and efron.se == pytest.approx(0.412, abs=5e-4)
    (breslow,) = cox_ph(time, event, exog, ties="breslow")
    assert breslow.beta == pytest.approx(1.509, abs=5e-4) and breslow.se == pytest.approx(0.410, abs=5e-4)
    hr, lo, hi = breslow.hazard_ratio()
    assert hr == pytest.approx(4.523, abs=5e-3)
    assert lo == pytest.approx(np.exp(1.509 - 1.959964 * 0.410), rel=2e-3) and hi > hr


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def test_spells_merge_overlapping_visits_and_cap_the_dose() -> None:
    visits = pd.DataFrame(
        {
            "hotspot_id": ["A", "A", "A", "B"],
            "start": [
                _t("2026-01-01 10:00"),
                _t("2026-01-01 10:05"),
                _t("2026-01-01 12:00"),
                _t("2026-01-01 10:00"),
            ],
            "end": [
                _t("2026-01-01 10:15"),
                _t("2026-01-01 10:20"),
                _t("2026-01-01 12:07"),
                _t("2026-01-01 10:30"),
            ],
            "dose_minutes": [15.0, 15.0, 7.0, 30.0],
        }
    )
    spells = presence_spells(visits)
    assert list(spells["hotspot_id"]) == ["A", "A", "B"]
    assert list(spells["visits"]) == [2, 1, 1]
    # two officers 15 min each over a 20-minute span: 20 minutes of presence, not 30
    assert list(spells["dose_minutes"]) == [20.0, 7.0, 30.0]
    with pytest.raises(KoperError, match="end before they start"):
        presence_spells(visits.assign(end=visits["start"] - pd.Timedelta(minutes=1)))


def test_follow_up_ends_at_the_crime_or_is_censored_by_the_next_visit_data_end_or_limit() -> None:
    spells = pd.DataFrame(
        {
            "hotspot_id": ["A", "A", "B", "C", "D"],
            "start": [
                _t("2026-01-01 10:00"),
                _t("2026-01-01 14:00"),
                _t("2026-01-01 10:00"),
                _t("2026-01-02 22:00"),
                _t("2026-01-01 00:00"),
            ],
            "end": [
                _t("2026-01-01 10:15"),
                _t("2026-01-01 14:10"),
                _t("2026-01-01 10:12"),
                _t("2026-01-02 22:30"),
                _t("2026-01-01 00:10"),
            ],
            "dose_minutes": [15.0, 10.0, 12.0, 30.0, 10.0],
        }
    )
    crimes = pd.DataFrame(
        {
            # A: a crime during the first visit (not counted), one at 13:15 (after 3 h), one after the 2nd
            # B: the next crime 30 h later, beyond the 24-hour limit; D: none
            "hotspot_id": ["A", "A", "A", "B"],
            "occurred_at": [
                _t("2026-01-01 10:05"),
                _t("2026-01-01 13:15"),
                _t("2026-01-01 15:10"),
                _t("2026-01-02 16:12"),
            ],
        }
    )
    out = time_to_next_crime(
        spells, crimes, data_end=_t("2026-01-03 00:00"), max_follow_up=timedelta(hours=24)
    )
    got = {(r.hotspot_id, r.dose_minutes): (r.minutes, r.event, r.censored_by) for r in out.itertuples()}
    assert got[("A", 15.0)] == (180.0, 1, "crime")
    assert got[("A", 10.0)] == (60.0, 1, "crime")
    assert got[("B", 12.0)] == (1440.0, 0, "follow-up limit")
    assert got[("C", 30.0)] == (90.0, 0, "end of data")
    assert got[("D", 10.0)] == (1440.0, 0, "follow-up limit")
    # the next visit censors: A's first spell when the crime at 13:15 is moved after A's second visit
    moved = crimes.assign(
        occurred_at=[
            crimes["occurred_at"][0],
            _t("2026-01-01 14:30"),
            _t("2026-01-01 15:10"),
            crimes["occurred_at"][3],
        ]
    )
    again = time_to_next_crime(spells, moved, data_end=_t("2026-01-03 00:00"))
    first = again[(again["hotspot_id"] == "A") & (again["dose_minutes"] == 15.0)].iloc[0]
    assert (first["minutes"], first["event"], first["censored_by"]) == (225.0, 0, "next visit")


def test_bands_are_half_open() -> None:
    labels = assign_band(pd.Series([0.0, 4.99, 5.0, 14.9, 15.0, 20.0, 95.0]))
    assert list(labels) == ["0–5 min", "0–5 min", "5–10 min", "10–15 min", "15–20 min", "20+ min", "20+ min"]


def _simulated(seed: int, n: int = 600) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Visits to 30 places, one a day; after a visit of 10+ minutes the next crime comes at half the
    hazard (exponential, mean 12 h vs 6 h)."""
    rng = np.random.default_rng(seed)
    start = _t("2026-01-01 08:00") + pd.to_timedelta(np.arange(n) // 30, unit="D")
    place = [f"H{i % 30:02d}" for i in range(n)]
    dose = rng.uniform(0, 30, n)
    end = start + pd.to_timedelta(dose, unit="m")
    mean_h = np.where(dose >= 10, 12.0, 6.0)
    crime = end + pd.to_timedelta(rng.exponential(mean_h), unit="h")
    visits = pd.DataFrame({"hotspot_id": place, "start": start, "end": end, "dose_minutes": dose})
    return visits, pd.DataFrame({"hotspot_id": place, "occurred_at": crime})


def test_koper_curve_recovers_a_known_hazard_ratio() -> None:
    visits, crimes = _simulated(7)
    out = koper_curve(visits, crimes, data_end=_t("2026-03-01"), outcome="any")
    assert out["computed"] and out["observational"] and out["reference_band"] == "0–5 min"
    assert [r["band"] for r in out["band_rows"]] == [
        "0–5 min",
        "5–10 min",
        "10–15 min",
        "15–20 min",
        "20+ min",
    ]
    hr = {c["band"]: c for c in out["cox"]}
    assert hr["5–10 min"]["ci_low"] < 1 < hr["5–10 min"]["ci_high"]
    for band in ("10–15 min", "15–20 min", "20+ min"):
        assert hr[band]["ci_low"] < 0.5 < hr[band]["ci_high"] and hr[band]["hazard_ratio"] < 0.8
    assert out["logrank_p"] < 0.001
    assert out["censored_by"]  # the next day's visit censors crimes beyond 24 h
    assert sum(r["spells"] for r in out["band_rows"]) == out["n_spells"] == 600
    assert "next visit" in out["censoring"]


def test_koper_curve_says_why_not_computed() -> None:
    visits, crimes = _simulated(1, n=60)
    few = koper_curve(visits, crimes.iloc[:0], data_end=_t("2026-03-01"))
    assert not few["computed"] and "too few" in few["reason"] and few["observational"]
    with pytest.raises(KoperError, match="outcome must be"):
        koper_curve(visits, crimes, data_end=_t("2026-03-01"), outcome="burglary")
    with pytest.raises(KoperError, match="missing columns"):
        koper_curve(visits.drop(columns="dose_minutes"), crimes, data_end=_t("2026-03-01"))
