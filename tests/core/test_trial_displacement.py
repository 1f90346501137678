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


# --- catchment rings and displacement from the trial panel (issue 12, part 5) ----------------------


def test_rings_measure_distance_from_the_edge_and_skip_points_inside_any_hot_spot() -> None:
    import numpy as np
    import shapely

    from rasure.trial.displacement import ring_assignments

    a = shapely.box(0, 0, 100, 100)
    b = shapely.box(400, 0, 500, 100)  # 300 m east of a
    x = np.array([50.0, 100.0, 349.0, 350.0, 450.0, 250.0, 50.0])
    y = np.array([50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 700.0])
    got = ring_assignments([a, b], x, y, rings=[(0, 250), (250, 500)])
    inner = sorted(zip(*(v.tolist() for v in got[(0, 250)]), strict=True))
    outer = sorted(zip(*(v.tolist() for v in got[(250, 500)]), strict=True))
    # point 1 on a's edge (d=0); 2 at 249 m from a and 51 m from b; 3 at exactly 250 m from a (outer
    # ring: inner <= d < outer); 4 inside b (in no ring); 5 at 150 m from both; 6 at 600 m from a
    assert inner == [(1, 0), (2, 0), (2, 1), (3, 1), (5, 0), (5, 1)]
    assert outer == [(1, 1), (3, 0)]


def panel_for_wdq():  # type: ignore[no-untyped-def]
    import pandas as pd

    # 2 places × 4 days; treated days: hot-spot crimes 1, ring crimes 3 in 4 place-days; control
    # days: hot-spot crimes 4, ring crimes 2 in 4 place-days.
    return pd.DataFrame(
        {
            "hotspot_id": ["A", "A", "A", "A", "B", "B", "B", "B"],
            "trial_day": pd.date_range("2025-04-07", periods=4).tolist() * 2,
            "arm": [
                "treatment",
                "control",
                "treatment",
                "control",
                "control",
                "treatment",
                "control",
                "treatment",
            ],
            "sv_count": [1, 2, 0, 1, 1, 0, 0, 0],
            "buffer_0_250_count": [1, 0, 1, 1, 1, 0, 0, 1],
        }
    )


def test_panel_wdq_equals_a_hand_computation() -> None:
    from rasure.trial.evaluation import buffer_displacement

    (ring,) = buffer_displacement(panel_for_wdq(), rings=[(0, 250)])
    assert ring["computed"] and ring["place_days"] == {"treatment": 4, "control": 4}
    assert ring["hotspot_crimes"] == {"treatment": 1, "control": 4}
    assert ring["buffer_crimes"] == {"treatment": 3, "control": 2}
    # by hand: SM = 1/4 − 4/4 = −0.75; BDM = 3/4 − 2/4 = 0.25; WDQ = 0.25 / −0.75 = −1/3;
    # TNE = (4·4/4 − 1) + (2·4/4 − 3) = 3 − 1 = 2 crimes
    assert ring["success_measure"] == pytest.approx(-0.75)
    assert ring["buffer_displacement_measure"] == pytest.approx(0.25)
    assert ring["wdq"] == pytest.approx(-1 / 3)
    assert ring["total_net_effect"] == pytest.approx(2.0)
    assert ring["interpretation"].startswith("the ring gained some crime, less than the hot spots lost")


def test_panel_displacement_buffer_irr_is_the_primary_model_on_the_ring_counts() -> None:
    from rasure.trial.evaluation import buffer_displacement, nb_itt
    from tests.core.test_trial_evaluation import simulate

    panel, _, _ = simulate(places=12, days=56, mu0=0.6, seed=3)
    panel["buffer_250_500_count"] = panel["sv_count"].to_numpy()[::-1]
    (missing, ring) = buffer_displacement(panel, rings=[(0, 250), (250, 500)])
    assert missing == {
        "ring_m": [0, 250],
        "column": "buffer_0_250_count",
        "computed": False,
        "reason": "the panel has no buffer_0_250_count column.",
    }
    ref = nb_itt(panel, outcome="buffer_250_500_count")  # itself golden-tested against statsmodels
    assert ring["buffer_irr"]["estimate"] == pytest.approx(ref.estimate)
    assert ring["buffer_irr"]["ci_low"] == pytest.approx(ref.ci_low)
