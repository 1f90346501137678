"""Dose from pings (rasure.patrol.dose): synthetic walks and drives with GPS noise, and invariants.

The helpers build trajectories the way movingpandas' tests do: a list of legs (move to a point at a
speed, or stay for a while, wandering slowly), sampled every ``interval_s`` with Gaussian GPS noise
from an explicit ``rng``. The hot spot is a 200 m square centred on the origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from rasure.patrol.dose import (
    DoseParams,
    DoseParamsError,
    PingsError,
    correct_clock,
    depth_in,
    dose_summary,
    find_visits,
    prepare_track,
    presence_mode,
)

FENCE = box(-100, -100, 100, 100)
T0 = pd.Timestamp("2024-05-01 14:00", tz="UTC")
MPH = 1.609344  # km/h per mph


@dataclass(frozen=True)
class Move:
    """Go in a straight line to ``to`` at ``speed_kmh``."""

    to: tuple[float, float]
    speed_kmh: float


@dataclass(frozen=True)
class Stay:
    """Stay ``seconds``, wandering at ``wander_kmh`` between random points within ``radius_m`` (0: stand still)."""

    seconds: float
    wander_kmh: float = 0.0
    radius_m: float = 0.0


Leg = Move | Stay


def trajectory(
    legs: list[Leg],
    *,
    rng: np.random.Generator,
    start_xy: tuple[float, float],
    interval_s: float = 1.0,
    noise_m: float = 5.0,
    t0: pd.Timestamp = T0,
) -> pd.DataFrame:
    """Pings along the legs, sampled every ``interval_s`` with N(0, noise_m²) noise per axis.

    The noiseless positions are kept in ``true_x`` / ``true_y``.
    """
    xs, ys, ts = [start_xy[0]], [start_xy[1]], [0.0]
    for leg in legs:
        if isinstance(leg, Move):
            dist = float(np.hypot(leg.to[0] - xs[-1], leg.to[1] - ys[-1]))
            xs.append(leg.to[0])
            ys.append(leg.to[1])
            ts.append(ts[-1] + dist / (leg.speed_kmh / 3.6))
            continue
        cx, cy, end = xs[-1], ys[-1], ts[-1] + leg.seconds
        if leg.wander_kmh <= 0:
            xs.append(cx)
            ys.append(cy)
            ts.append(end)
            continue
        while ts[-1] < end:
            ang = rng.uniform(0, 2 * np.pi)
            r = leg.radius_m * np.sqrt(rng.uniform())
            nx, ny = cx + r * np.cos(ang), cy + r * np.sin(ang)
            step = float(np.hypot(nx - xs[-1], ny - ys[-1])) / (leg.wander_kmh / 3.6)
            xs.append(nx)
            ys.append(ny)
            ts.append(min(ts[-1] + max(step, 1e-3), end))
    times = np.arange(0.0, ts[-1] + 1e-9, interval_s)
    true_x, true_y = np.interp(times, ts, xs), np.interp(times, ts, ys)
    x = true_x + rng.normal(0, noise_m, len(times))
    y = true_y + rng.normal(0, noise_m, len(times))
    return pd.DataFrame(
        {
            "fix_time": t0 + pd.to_timedelta(times, unit="s"),
            "x": x,
            "y": y,
            "true_x": true_x,
            "true_y": true_y,
        }
    )


def true_minutes_inside(pings: pd.DataFrame) -> float:
    """Minutes the noiseless path spends in FENCE (fixes inside × sampling interval)."""
    step = pings["fix_time"].diff().dt.total_seconds().median()
    inside = (pings["true_x"].abs() <= 100) & (pings["true_y"].abs() <= 100)
    return float(inside.sum() * step / 60)


def walk_in_loiter_out(
    rng: np.random.Generator, *, loiter: timedelta = timedelta(minutes=15), interval_s: float = 1.0
) -> pd.DataFrame:
    """Walk 400 m in at 5 km/h, loiter (wander at 2 km/h within 40 m), walk 400 m out."""
    legs: list[Leg] = [
        Move((0.0, 0.0), 5.0),
        Stay(loiter.total_seconds(), 2.0, 40.0),
        Move((400.0, 0.0), 5.0),
    ]
    return trajectory(legs, rng=rng, start_xy=(-400.0, 0.0), interval_s=interval_s)


def drive_through(
    rng: np.random.Generator, *, speed_mph: float = 30.0, interval_s: float = 1.0
) -> pd.DataFrame:
    """Drive straight across the hot spot, 1.5 km each side, at ``speed_mph``."""
    legs: list[Leg] = [Move((1500.0, 0.0), speed_mph * MPH)]
    return trajectory(legs, rng=rng, start_xy=(-1500.0, 0.0), interval_s=interval_s)


def drive_park_drive(
    rng: np.random.Generator, *, park: timedelta = timedelta(minutes=10), interval_s: float = 1.0
) -> pd.DataFrame:
    """Drive in at 30 mph, park at the centre for ``park``, drive out at 30 mph."""
    legs: list[Leg] = [
        Move((0.0, 0.0), 30 * MPH),
        Stay(park.total_seconds()),
        Move((1500.0, 0.0), 30 * MPH),
    ]
    return trajectory(legs, rng=rng, start_xy=(-1500.0, 0.0), interval_s=interval_s)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_walk_in_loiter_out_is_one_foot_visit(seed: int) -> None:
    pings = walk_in_loiter_out(np.random.default_rng(seed))
    visits = find_visits(pings, FENCE)
    assert len(visits) == 1
    v = visits.iloc[0]
    assert v["mode"] == "foot"
    # Hysteresis: entry 10 m inside (−7 s at 5 km/h), exit 25 m outside (+18 s).
    assert v["minutes"] == pytest.approx(true_minutes_inside(pings) + 11 / 60, abs=0.15)
    assert v["ends_by"] == "exit"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_drive_through_at_30_mph(seed: int) -> None:
    visits = find_visits(drive_through(np.random.default_rng(seed)), FENCE)
    assert len(visits) == 1
    v = visits.iloc[0]
    assert v["mode"] == "drive_through"
    assert v["minutes"] == pytest.approx(200 / (30 * MPH / 3.6) / 60, abs=0.1)
    assert v["median_speed_kmh"] == pytest.approx(30 * MPH, rel=0.1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_drive_in_park_ten_minutes_drive_out_is_stopped(seed: int) -> None:
    visits = find_visits(drive_park_drive(np.random.default_rng(seed)), FENCE)
    assert len(visits) == 1
    v = visits.iloc[0]
    assert v["mode"] == "stopped"
    assert v["vehicle_context"]
    assert v["minutes"] == pytest.approx(10 + 2 * 100 / (30 * MPH / 3.6) / 60, abs=0.2)


@pytest.mark.parametrize(
    ("make", "interval_s", "mode"),
    [
        (walk_in_loiter_out, 30.0, "foot"),
        (drive_park_drive, 30.0, "stopped"),
        (drive_park_drive, 60.0, "stopped"),
    ],
)
def test_modes_survive_sparse_pings(make: object, interval_s: float, mode: str) -> None:
    pings = make(np.random.default_rng(7), interval_s=interval_s)  # type: ignore[operator]
    visits = find_visits(pings, FENCE)
    assert list(visits["mode"]) == [mode]


def test_parking_then_walking_about_is_foot() -> None:
    legs: list[Leg] = [
        Move((-50.0, 0.0), 30 * MPH),
        Stay(30.0),
        Stay(900.0, 4.0, 60.0),
        Move((-50.0, 0.0), 4.0),
        Move((-1500.0, 0.0), 30 * MPH),
    ]
    pings = trajectory(legs, rng=np.random.default_rng(3), start_xy=(-1500.0, 0.0))
    visits = find_visits(pings, FENCE)
    assert list(visits["mode"]) == ["foot"]
    assert bool(visits["vehicle_context"].iloc[0])


def test_hysteresis_standing_on_the_edge_is_one_visit() -> None:
    rng = np.random.default_rng(11)
    legs: list[Leg] = [Move((95.0, 0.0), 5.0), Stay(1200.0), Move((-400.0, 0.0), 5.0)]
    pings = trajectory(legs, rng=rng, start_xy=(400.0, 0.0), noise_m=6.0)
    assert len(find_visits(pings, FENCE)) == 1
    # Without hysteresis the same noise splits the stay into many visits.
    flicker = DoseParams(inner_tolerance_m=0.0, outer_hysteresis_m=0.0, exit_after=timedelta(0))
    assert len(find_visits(pings, FENCE, params=flicker)) > 5


def test_standing_just_outside_is_no_visit() -> None:
    legs: list[Leg] = [Move((115.0, 0.0), 5.0), Stay(1200.0)]
    pings = trajectory(legs, rng=np.random.default_rng(5), start_xy=(400.0, 0.0), noise_m=5.0)
    assert find_visits(pings, FENCE).empty


def _stand(
    t0: pd.Timestamp, seconds: int, *, at: tuple[float, float] = (0.0, 0.0), step: int = 10
) -> pd.DataFrame:
    times = t0 + pd.to_timedelta(np.arange(0, seconds + 1, step), unit="s")
    return pd.DataFrame({"fix_time": times, "x": at[0], "y": at[1]})


def test_long_gap_splits_visit_and_is_not_credited() -> None:
    before = _stand(T0, 300)
    after = _stand(T0 + pd.Timedelta(minutes=15), 300)
    visits = find_visits(pd.concat([before, after]), FENCE)
    assert list(visits["ends_by"]) == ["gap", "end_of_data"]
    assert visits["minutes"].tolist() == pytest.approx([5.0, 5.0])


def test_medium_gap_keeps_visit_and_credits_only_carry_gap() -> None:
    before = _stand(T0, 300)
    after = _stand(T0 + pd.Timedelta(minutes=9), 300)  # a 4-minute gap: between carry (2) and max (5)
    visits = find_visits(pd.concat([before, after]), FENCE)
    assert len(visits) == 1
    assert visits["minutes"].iloc[0] == pytest.approx(5 + 2 + 5)


def test_short_excursion_does_not_split_but_long_one_does() -> None:
    inside = _stand(T0, 300)
    out_short = _stand(T0 + pd.Timedelta(seconds=310), 60, at=(300.0, 0.0))
    back = _stand(T0 + pd.Timedelta(seconds=380), 300)
    assert len(find_visits(pd.concat([inside, out_short, back]), FENCE)) == 1
    out_long = _stand(T0 + pd.Timedelta(seconds=310), 240, at=(300.0, 0.0))
    back_late = _stand(T0 + pd.Timedelta(seconds=560), 300)
    visits = find_visits(pd.concat([inside, out_long, back_late]), FENCE)
    assert list(visits["ends_by"]) == ["exit", "end_of_data"]


def test_spikes_and_inaccurate_fixes_are_dropped() -> None:
    rng = np.random.default_rng(9)
    pings = walk_in_loiter_out(rng, interval_s=5.0)
    clean = find_visits(pings, FENCE)
    noisy = pings.copy()
    spikes = rng.choice(np.arange(5, len(pings) - 5, 7), 20, replace=False)
    noisy.loc[spikes, "x"] += 3000.0
    noisy["accuracy_m"] = 8.0
    noisy.loc[[3, 50, 90], "accuracy_m"] = 400.0
    track = prepare_track(noisy)
    assert track.n_jumps == 20
    assert track.n_inaccurate == 3
    visits = find_visits(track, FENCE)
    assert list(visits["mode"]) == list(clean["mode"])
    assert visits["minutes"].iloc[0] == pytest.approx(clean["minutes"].iloc[0], abs=0.2)


def test_sustained_high_speed_is_kept() -> None:
    pings = drive_through(np.random.default_rng(2), speed_mph=110.0)  # 177 km/h: a pursuit, not a spike
    track = prepare_track(pings)
    assert track.n_jumps == 0
    assert list(find_visits(track, FENCE)["mode"]) == ["drive_through"]


def test_device_speed_is_used_when_present() -> None:
    pings = _stand(T0, 600, step=5)
    pings["speed_mps"] = 1.4  # the device says walking while the positions stand still
    track = prepare_track(pings)
    assert track.pings["speed_kmh"].median() == pytest.approx(5.04)
    assert set(track.pings["movement"]) == {"foot"}


def test_naive_and_aware_times_agree() -> None:
    pings = walk_in_loiter_out(np.random.default_rng(4), interval_s=10.0)
    naive = pings.assign(fix_time=pings["fix_time"].dt.tz_localize(None))
    london = pings.assign(fix_time=pings["fix_time"].dt.tz_convert("Europe/London"))
    a, b, c = (find_visits(p, FENCE) for p in (pings, naive, london))
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


def test_entry_needs_n_fixes_when_asked() -> None:
    pings = pd.concat(
        [
            _stand(T0, 0, at=(300.0, 0.0)),
            _stand(T0 + pd.Timedelta(seconds=10), 0),
            _stand(T0 + pd.Timedelta(seconds=20), 200, at=(300.0, 0.0)),
        ]
    )
    assert len(find_visits(pings, FENCE)) == 1
    assert find_visits(pings, FENCE, params=DoseParams(min_entry_fixes=2)).empty


def test_presence_mode_of_a_whole_track() -> None:
    rng = np.random.default_rng(8)
    assert presence_mode(walk_in_loiter_out(rng)).mode == "foot"
    assert presence_mode(drive_through(rng)).mode == "drive_through"
    drive = drive_park_drive(rng)
    parked = presence_mode(drive, start=T0 + pd.Timedelta(minutes=3), end=T0 + pd.Timedelta(minutes=11))
    assert parked.mode == "stopped"


def test_depth_and_empty_inputs() -> None:
    assert depth_in(FENCE, np.array([0.0]), np.array([0.0])).tolist() == [100.0]
    empty = pd.DataFrame({"fix_time": pd.to_datetime([], utc=True), "x": [], "y": []})
    assert find_visits(empty, FENCE).empty
    assert presence_mode(empty).mode == "unknown"
    assert dose_summary(find_visits(empty, FENCE)).empty


def test_bad_input_and_params_raise_specific_errors() -> None:
    with pytest.raises(PingsError, match="no column"):
        find_visits(pd.DataFrame({"fix_time": [T0], "lon": [0.0], "lat": [0.0]}), FENCE)
    with pytest.raises(PingsError, match="'x' is not a finite number at row 1"):
        find_visits(pd.DataFrame({"fix_time": [T0, T0], "x": [0.0, None], "y": [0.0, 0.0]}), FENCE)
    with pytest.raises(PingsError, match="fix_time"):
        find_visits(pd.DataFrame({"fix_time": [T0, None], "x": [0.0, 1.0], "y": [0.0, 0.0]}), FENCE)
    with pytest.raises(DoseParamsError, match="foot_max_kmh"):
        DoseParams(foot_max_kmh=30.0)
    with pytest.raises(DoseParamsError, match="carry_gap"):
        DoseParams(carry_gap=timedelta(minutes=10))
    with pytest.raises(DoseParamsError, match="negative"):
        DoseParams(exit_after=timedelta(seconds=-1))


def test_dose_summary_per_day_and_per_visit() -> None:
    rng = np.random.default_rng(12)
    day1 = walk_in_loiter_out(rng, loiter=timedelta(minutes=14), interval_s=5.0)
    day1_later = drive_through(rng, interval_s=1.0)
    day1_later["fix_time"] += pd.Timedelta(hours=3)
    day2 = walk_in_loiter_out(rng, loiter=timedelta(minutes=5), interval_s=5.0)
    day2["fix_time"] += pd.Timedelta(days=1)
    visits = find_visits(pd.concat([day1, day1_later, day2]), FENCE)
    assert list(visits["mode"]) == ["foot", "drive_through", "foot"]
    daily = dose_summary(visits, target_dose=timedelta(minutes=15))
    assert list(daily["n_visits"]) == [2, 1]
    assert list(daily["target_met"]) == [True, False]
    assert list(daily["n_long_visits"]) == [1, 0]
    assert daily["dose_minutes"].iloc[0] == pytest.approx(
        daily["foot_minutes"].iloc[0] + daily["drive_through_minutes"].iloc[0]
    )
    per_visit = dose_summary(visits, per="visit")
    assert list(per_visit["target_met"]) == [True, False, False]


def test_dose_summary_day_is_local() -> None:
    late = _stand(pd.Timestamp("2024-06-30 23:30", tz="UTC"), 600)  # 00:30 on 1 July in London (BST)
    visits = find_visits(late, FENCE)
    assert str(dose_summary(visits)["date"].iloc[0]) == "2024-07-01"
    assert str(dose_summary(visits, day_tz="UTC")["date"].iloc[0]) == "2024-06-30"


pings_strategy = st.lists(
    st.tuples(
        st.integers(0, 3600),
        st.floats(-250, 250, allow_nan=False),
        st.floats(-250, 250, allow_nan=False),
    ),
    min_size=1,
    max_size=60,
)


def _frame(rows: list[tuple[int, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "fix_time": [T0 + pd.Timedelta(seconds=t) for t, _, _ in rows],
            "x": [x for _, x, _ in rows],
            "y": [y for _, _, y in rows],
        }
    )


@pytest.mark.clock_free
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=pings_strategy, perm_seed=st.integers(0, 2**32 - 1), dup_seed=st.integers(0, 2**32 - 1))
def test_dose_invariants(rows: list[tuple[int, float, float]], perm_seed: int, dup_seed: int) -> None:
    pings = _frame(rows)
    visits = find_visits(pings, FENCE)
    track = prepare_track(pings)
    span_min = track.span.total_seconds() / 60
    total = float(visits["minutes"].sum())
    assert 0.0 <= total <= span_min + 1e-9
    assert (visits["minutes"] >= 0).all()
    assert (visits["start"] <= visits["first_fix"]).all()
    assert (visits["last_fix"] <= visits["end"]).all()
    assert ((visits["end"] - visits["start"]).dt.total_seconds() / 60 >= visits["minutes"] - 1e-9).all()
    assert (visits["end"].iloc[:-1].to_numpy() <= visits["start"].iloc[1:].to_numpy()).all()
    daily = dose_summary(visits, day_tz="UTC")
    assert float(daily["dose_minutes"].sum()) <= span_min + 1e-9

    shuffled = pings.sample(frac=1.0, random_state=np.random.RandomState(perm_seed % 2**32))
    pd.testing.assert_frame_equal(find_visits(shuffled, FENCE), visits)

    dup_rng = np.random.default_rng(dup_seed)
    doubled = pd.concat([pings, pings.iloc[dup_rng.integers(0, len(pings), 1 + len(pings) // 2)]])
    pd.testing.assert_frame_equal(find_visits(doubled, FENCE), visits)


def test_correct_clock_shifts_and_flags_but_keeps_every_ping() -> None:
    sent = pd.Timestamp("2024-05-01 12:10", tz="UTC")
    pings = pd.DataFrame(
        {
            "fix_time": pd.to_datetime(
                [f"2024-05-01 {t}" for t in ("12:00:00", "12:00:10", "12:00:05", "12:00:20", "12:30:00")],
                utc=True,
            ),
            "seq": [1, 2, 3, 4, 5],
            "x": [0.0, 10.0, 5.0, 5000.0, 20.0],
            "y": 0.0,
            "device_now_at_send": sent - pd.Timedelta(minutes=5),  # phone clock 5 min slow
            "received_at": sent,
        }
    )
    out = correct_clock(pings)
    assert len(out) == len(pings)
    assert (out["clock_offset_s"] == 300).all()
    assert out["corrected_time"].iloc[0] == pd.Timestamp("2024-05-01 12:05", tz="UTC")
    assert out["flag_offset"].all()
    assert out["flag_seq"].tolist() == [False, False, True, False, False]
    assert out["flag_future"].tolist() == [False, False, False, False, True]
    assert out["flag_speed"].tolist() == [False, False, False, True, False]
    plain = correct_clock(pings.drop(columns=["device_now_at_send", "received_at", "seq"]))
    assert (plain["corrected_time"] == plain["fix_time"]).all()
    assert not plain[["flag_offset", "flag_future", "flag_seq"]].any().any()
