"""Trial design and schedule: determinism, exact balance, the three designs, the trial day."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rasure.trial import (
    SCHEDULE_ALGORITHM,
    SCHEDULE_ALGORITHM_V1,
    FrozenHotSpot,
    HotSpotSetError,
    ScheduleError,
    SeedError,
    TrialDesign,
    TrialDesignError,
    make_schedule,
    read_schedule_csv,
    schedule_sha256,
    schedule_to_csv,
    treated_count,
    trial_day_of,
)

SEED = "5eed" * 16
V2_FROZEN_SHA256 = "863bc4cb7953560b22d1c17146aeda84e21ddca1c764e6198bc0b5b3d538581f"
OTHER_SEED = "0ddba11" + "0" * 57


def spots(sizes: dict[str, int], *, blocks_of: int | None = None) -> list[FrozenHotSpot]:
    out = []
    for stratum, n in sizes.items():
        for i in range(n):
            block = f"{stratum}-b{i // blocks_of}" if blocks_of else None
            out.append(FrozenHotSpot(f"{stratum}-{i:02d}", stratum, f"POINT ({i} {i})", block))
    return out


def design(**kw: object) -> TrialDesign:
    base: dict[str, object] = {
        "kind": "daily",
        "start": date(2025, 4, 1),
        "end": date(2025, 4, 14),
        "cap_per_day": 1,
    }
    base.update(kw)
    return TrialDesign(**base)  # type: ignore[arg-type]


def treated_per_group(schedule: pd.DataFrame, by: list[str]) -> pd.Series:
    return schedule.assign(t=schedule["arm"].eq("treatment")).groupby(by)["t"].sum()


# --- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_different_seed_differs() -> None:
    s = spots({"Oxford": 7, "Reading": 6, "Slough": 4})
    d = design()
    a = schedule_to_csv(make_schedule(s, d, seed=SEED))
    b = schedule_to_csv(make_schedule(list(reversed(s)), d, seed=SEED))  # input order does not matter
    assert a == b
    assert schedule_to_csv(make_schedule(s, d, seed=OTHER_SEED)) != a


def test_schedule_algorithm_output_is_frozen() -> None:
    # Pins rasure-schedule-v1: published commitments must stay verifiable. If this fails, the
    # algorithm changed; bump SCHEDULE_ALGORITHM instead of editing the expected rows. The rows were
    # checked by hand against HMAC-SHA256 orderings; the independent check is the stdlib script in
    # docs/trial-verification.md, run in test_trial_commitment.py.
    got = make_schedule(
        spots({"A": 3, "B": 2}), design(end=date(2025, 4, 3)), seed="ab" * 32, algorithm=SCHEDULE_ALGORITHM_V1
    )
    expected = """trial_day,hotspot_id,stratum,arm
2025-04-01,A-00,A,treatment
2025-04-01,A-01,A,control
2025-04-01,A-02,A,control
2025-04-01,B-00,B,treatment
2025-04-01,B-01,B,control
2025-04-02,A-00,A,treatment
2025-04-02,A-01,A,control
2025-04-02,A-02,A,treatment
2025-04-02,B-00,B,treatment
2025-04-02,B-01,B,control
2025-04-03,A-00,A,control
2025-04-03,A-01,A,treatment
2025-04-03,A-02,A,control
2025-04-03,B-00,B,control
2025-04-03,B-01,B,treatment
"""
    assert schedule_to_csv(got).decode() == expected
    assert schedule_sha256(got) == "17419517d6f8c64fa4b2c7ea41ba70fa2b632df8b38ec6c9b43dd2be0bea947d"


def test_draws_vary_by_day_and_each_unit_is_treated_about_half_the_time() -> None:
    s = spots({"A": 2})
    sched = make_schedule(s, design(end=date(2025, 4, 1) + timedelta(days=1999)), seed=SEED)
    share = sched[sched["hotspot_id"] == "A-00"]["arm"].eq("treatment").mean()
    # Binomial(2000, 1/2): sd ≈ 0.011; 5 sd keeps this test from ever flaking on a fixed seed.
    assert abs(share - 0.5) < 0.06
    patterns = sched.pivot(index="trial_day", columns="hotspot_id", values="arm")
    assert patterns["A-00"].nunique() == 2


# --- exact balance -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=11), min_size=1, max_size=5),
    n_days=st.integers(min_value=1, max_value=15),
    share=st.sampled_from([Fraction(1, 2), Fraction(1, 3), Fraction(2, 5), Fraction(3, 4)]),
    by_shift=st.booleans(),
    seed_byte=st.integers(min_value=0, max_value=255),
)
def test_v1_balance_is_exact_within_each_stratum_and_day(
    sizes: list[int], n_days: int, share: Fraction, by_shift: bool, seed_byte: int
) -> None:
    s = spots({f"S{i}": n for i, n in enumerate(sizes)})
    d = design(
        end=date(2025, 4, 1) + timedelta(days=n_days - 1),
        treated_share=float(share),
        strata_by_shift=by_shift,
    )
    sched = make_schedule(s, d, seed=f"{seed_byte:02x}" * 32, algorithm=SCHEDULE_ALGORITHM_V1)
    keys = ["trial_day", "stratum", "shift"] if by_shift else ["trial_day", "stratum"]
    assert len(sched) == len(s) * n_days * (2 if by_shift else 1)
    counts = treated_per_group(sched, keys)
    groups = sorted({(f"S{i}", sh) for i in range(len(sizes)) for sh in (d.active_shifts)})
    rank = {g: j for j, g in enumerate(groups)}
    for key, n_treated in zip(counts.index.tolist(), counts.tolist(), strict=True):
        day, stratum = key[0], key[1]
        shift = key[2] if by_shift else ""
        size = sizes[int(stratum[1:])]
        exact = share * size
        assert n_treated in (math.floor(exact), math.ceil(exact))
        assert n_treated == treated_count(
            size, share=share, draw_index=(day - d.start).days, group_rank=rank[(stratum, shift)]
        )
    # Running totals never stray a whole unit from share × size × days.
    per_group_total = treated_per_group(sched, keys[1:])
    for key, total in zip(per_group_total.index.tolist(), per_group_total.tolist(), strict=True):
        stratum = key[0] if by_shift else key
        assert abs(total - share * sizes[int(stratum[1:])] * n_days) < 1


def test_v1_half_of_an_odd_stratum_alternates_and_strata_are_staggered() -> None:
    sched = make_schedule(
        spots({"A": 5, "B": 5}), design(end=date(2025, 4, 4)), seed=SEED, algorithm=SCHEDULE_ALGORITHM_V1
    )
    counts = treated_per_group(sched, ["stratum", "trial_day"])
    assert counts["A"].tolist() == [2, 3, 2, 3]
    assert counts["B"].tolist() == [3, 2, 3, 2]
    assert treated_per_group(sched, ["trial_day"]).tolist() == [5, 5, 5, 5]


# --- rasure-schedule-v2: randomisation that stays random (issue 12, item 8) ---------------------


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=11), min_size=1, max_size=5),
    n_days=st.integers(min_value=1, max_value=15),
    share=st.sampled_from([Fraction(1, 2), Fraction(1, 3), Fraction(2, 5), Fraction(3, 4)]),
    by_shift=st.booleans(),
    seed_byte=st.integers(min_value=0, max_value=255),
)
def test_v2_counts_are_floor_or_ceil_and_the_force_wide_total_is_level(
    sizes: list[int], n_days: int, share: Fraction, by_shift: bool, seed_byte: int
) -> None:
    s = spots({f"S{i}": n for i, n in enumerate(sizes)})
    d = design(
        end=date(2025, 4, 1) + timedelta(days=n_days - 1),
        treated_share=float(share),
        strata_by_shift=by_shift,
    )
    sched = make_schedule(s, d, seed=f"{seed_byte:02x}" * 32)
    keys = ["trial_day", "stratum", "shift"] if by_shift else ["trial_day", "stratum"]
    for key, n_treated in treated_per_group(sched, keys).items():
        exact = share * sizes[int(key[1][1:])]
        assert n_treated in (math.floor(exact), math.ceil(exact))
    units = len(s) * (2 if by_shift else 1)
    for total in treated_per_group(sched, ["trial_day"]):
        assert total in (math.floor(share * units), math.ceil(share * units))


def switch_rate(sizes: dict[str, int], hotspot_id: str, *, algorithm: str, seeds: int) -> tuple[float, float]:
    """Over ``seeds`` secret seeds: P(arm tomorrow != arm today) and P(treated) for one hot spot."""
    switches = treated = days = 0
    d = design(end=date(2025, 4, 10))
    for i in range(seeds):
        sched = make_schedule(spots(sizes), d, seed=f"{i:064x}", algorithm=algorithm)
        arms = sched[sched["hotspot_id"] == hotspot_id]["arm"].eq("treatment").to_numpy()
        switches += int((arms[1:] != arms[:-1]).sum())
        treated += int(arms.sum())
        days += len(arms)
    return switches / (seeds * (len(arms) - 1)), treated / days


def test_v1_flaw_a_single_hot_spot_stratum_strictly_alternates() -> None:
    switches, _ = switch_rate({"A": 1, "B": 4}, "A-00", algorithm=SCHEDULE_ALGORITHM_V1, seeds=20)
    assert switches == 1.0  # predictable from the manifest: the reason for v2


@pytest.mark.parametrize("sizes", [{"A": 1, "B": 4}, {"A": 1, "B": 1, "C": 3}, {"A": 3}])
def test_v2_no_hot_spot_is_predictable_from_yesterday(sizes: dict[str, int]) -> None:
    # 300 seeds × 9 day pairs = 2700 transitions: sd of the rate at 0.5 is 0.0096; ±0.05 is 5 sd.
    switches, treated = switch_rate(sizes, "A-00", algorithm=SCHEDULE_ALGORITHM, seeds=300)
    assert abs(switches - 0.5) < 0.05
    assert abs(treated - 0.5) < 0.05


def test_v2_fixed_design_singleton_stratum_is_a_coin_toss_not_its_rank() -> None:
    arms = [
        make_schedule(spots({"A": 1, "B": 1}), design(kind="fixed"), seed=f"{i:064x}")
        .drop_duplicates("hotspot_id")
        .set_index("hotspot_id")["arm"]
        for i in range(400)
    ]
    a = sum(a["A-00"] == "treatment" for a in arms) / len(arms)
    assert abs(a - 0.5) < 0.1  # v1 gives 0 or 1 here, fixed by the group's rank
    assert all((x == "treatment").sum() == 1 for x in arms)  # still exactly one of the two treated


def test_v2_whole_share_groups_treat_exactly_and_outputs_are_frozen() -> None:
    got = make_schedule(spots({"A": 3, "B": 2}), design(end=date(2025, 4, 3)), seed="ab" * 32)
    assert treated_per_group(got, ["trial_day", "stratum"]).unstack()["B"].eq(1).all()
    # Pins rasure-schedule-v2 (checked independently by the stdlib script in docs/trial-verification.md,
    # run in test_trial_commitment.py). If this fails, bump SCHEDULE_ALGORITHM instead of editing it.
    assert schedule_sha256(got) == V2_FROZEN_SHA256


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(ScheduleError, match="rasure-schedule-v2"):
        make_schedule(spots({"A": 2}), design(), seed=SEED, algorithm="rasure-schedule-v9")


# --- the other designs ---------------------------------------------------------------------------


def test_fixed_design_keeps_each_hot_spot_in_one_arm_and_treats_half_of_each_stratum() -> None:
    sched = make_schedule(spots({"A": 6, "B": 4, "C": 3}), design(kind="fixed"), seed=SEED)
    assert sched.groupby("hotspot_id")["arm"].nunique().eq(1).all()
    per_day = treated_per_group(sched, ["trial_day", "stratum"]).unstack()
    assert (per_day["A"] == 3).all()
    assert (per_day["B"] == 2).all()
    assert per_day["C"].isin([1, 2]).all()


@pytest.mark.parametrize("allocation", ["per_day", "fixed"])
def test_blocked_design_treats_exactly_one_of_each_pair(allocation: str) -> None:
    s = spots({"A": 6, "B": 4}, blocks_of=2)
    sched = make_schedule(s, design(kind="blocked", block_allocation=allocation), seed=SEED)
    block = {h.hotspot_id: h.pair_or_block for h in s}
    sched["block"] = sched["hotspot_id"].map(block)
    assert treated_per_group(sched, ["trial_day", "block"]).eq(1).all()
    varies = sched.groupby("hotspot_id")["arm"].nunique().gt(1).any()
    assert varies == (allocation == "per_day")


def test_shift_strata_allocate_each_shift_separately() -> None:
    sched = make_schedule(spots({"A": 4}), design(strata_by_shift=True), seed=SEED)
    assert list(sched.columns) == ["trial_day", "hotspot_id", "stratum", "shift", "arm"]
    assert treated_per_group(sched, ["trial_day", "shift"]).eq(2).all()
    day = sched[sched["shift"] == "day"].set_index(["trial_day", "hotspot_id"])["arm"]
    night = sched[sched["shift"] == "night"].set_index(["trial_day", "hotspot_id"])["arm"]
    assert (day != night).any()


# --- canonical CSV -------------------------------------------------------------------------------


def test_canonical_csv_is_order_independent_and_round_trips() -> None:
    sched = make_schedule(spots({"A": 3, "B": 2}), design(strata_by_shift=True), seed=SEED)
    data = schedule_to_csv(sched)
    assert data.endswith(b"\n") and b"\r" not in data and not data.startswith(b"\xef\xbb\xbf")
    assert schedule_to_csv(sched.sample(frac=1.0, random_state=3)) == data
    back = read_schedule_csv(data).drop(columns="line")
    assert schedule_to_csv(back) == data
    assert schedule_sha256(data) == schedule_sha256(sched)


def test_csv_rejects_repeated_rows_and_unknown_arms() -> None:
    sched = make_schedule(spots({"A": 2}), design(end=date(2025, 4, 1)), seed=SEED)
    with pytest.raises(ScheduleError, match="repeats trial day 2025-04-01"):
        schedule_to_csv(pd.concat([sched, sched.iloc[:1]]))
    bad = sched.copy()
    bad.loc[0, "arm"] = "treated"
    with pytest.raises(ScheduleError, match="'treated'"):
        schedule_to_csv(bad)


# --- trial day -----------------------------------------------------------------------------------


def test_trial_day_boundary_at_six() -> None:
    assert trial_day_of(datetime(2025, 4, 2, 5, 59, 59)) == date(2025, 4, 1)
    assert trial_day_of(datetime(2025, 4, 2, 6, 0, 0)) == date(2025, 4, 2)
    assert trial_day_of(datetime(2025, 4, 2, 23, 0), day_start=time(0, 0)) == date(2025, 4, 2)


def test_trial_day_converts_aware_timestamps_to_local_time() -> None:
    # 05:30 UTC on 2 July is 06:30 BST: already the new trial day in London.
    ts = datetime(2025, 7, 2, 5, 30, tzinfo=UTC)
    assert trial_day_of(ts, timezone="Europe/London") == date(2025, 7, 2)
    assert trial_day_of(ts, timezone="UTC") == date(2025, 7, 1)
    with pytest.raises(TrialDesignError, match="timezone="):
        trial_day_of(ts)
    assert design().trial_day_of(ts) == date(2025, 7, 2)


def test_week_index_counts_calendar_weeks_like_the_patrol_app() -> None:
    d = design(end=date(2025, 4, 30))  # 1 April 2025 is a Tuesday
    assert [d.week_index(date(2025, 4, n)) for n in (1, 6, 7, 8, 30)] == [0, 0, 1, 1, 4]


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"end": date(2025, 3, 1)}, "before start"),
        ({"treated_share": 0.0}, "strictly between 0 and 1"),
        ({"treated_share": 1.0}, "strictly between 0 and 1"),
        ({"treated_share": 0.123456789}, "simple fraction"),
        ({"cap_per_day": 0}, "cap_per_day"),
        ({"cap_per_day": 3, "cap_per_week": 2}, "cap_per_week"),
        ({"target_dose": timedelta(0)}, "target_dose"),
        ({"target_dose": 15}, "target_dose"),
        ({"timezone": "Europe/Londres"}, "IANA"),
        ({"block_allocation": "fixed"}, "only to kind='blocked'"),
        ({"kind": "weekly"}, "kind must be"),
        ({"shifts": ("day", "day")}, "repeat"),
        ({"shifts": ("day,late",)}, "comma"),
        ({"start": datetime(2025, 4, 1)}, "datetime.date"),
    ],
)
def test_design_errors_say_what_to_fix(changes: dict[str, object], message: str) -> None:
    with pytest.raises(TrialDesignError, match=message):
        design(**changes)


def test_design_json_round_trip() -> None:
    d = design(treated_share=1 / 3, strata_by_shift=True, cap_per_week=5, target_dose=timedelta(minutes=12))
    assert d.to_json_dict()["treated_share"] == "1/3"
    assert TrialDesign.from_json_dict(d.to_json_dict()) == d
    assert dataclasses.replace(d, cap_per_day=2).to_json_dict() != d.to_json_dict()


@pytest.mark.parametrize(
    ("hotspots", "kind", "message"),
    [
        ([], "daily", "empty"),
        (spots({"A": 2}) + spots({"A": 1}), "daily", "repeat"),
        (spots({"A": 2}), "blocked", "pair_or_block"),
        (spots({"A": 3}, blocks_of=2), "blocked", "single hot spot"),
    ],
)
def test_hot_spot_set_errors(hotspots: list[FrozenHotSpot], kind: str, message: str) -> None:
    with pytest.raises(HotSpotSetError, match=message):
        make_schedule(hotspots, design(kind=kind), seed=SEED)


@pytest.mark.parametrize(
    "bad",
    [
        lambda: FrozenHotSpot("HS,1", "A", "POINT (0 0)"),
        lambda: FrozenHotSpot("HS1", " A", "POINT (0 0)"),
        lambda: FrozenHotSpot("HS1\n", "A", "POINT (0 0)"),
        lambda: FrozenHotSpot("HS1", "A", ""),
    ],
)
def test_frozen_hot_spot_rejects_unusable_labels(bad: object) -> None:
    with pytest.raises(HotSpotSetError):
        bad()  # type: ignore[operator]


@pytest.mark.parametrize("seed", ["AB" * 32, "ab" * 8, "xyz", "abc"])
def test_seed_must_be_long_lowercase_hex(seed: str) -> None:
    with pytest.raises(SeedError, match=r"secrets\.token_hex"):
        make_schedule(spots({"A": 2}), design(), seed=seed)
