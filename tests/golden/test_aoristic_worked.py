"""Aoristic hot times against a worked example computed by hand (Ratcliffe 2002; docs/methods.md §3).

Calendar: 1 January 2024 was a Monday, so 5 Jan is a Friday, 7 Jan a Sunday. Hour-of-week
unit u = 24 × day + hour, Monday 00:00–01:00 being u = 0.

Crime A  Fri 22:30 → Sat 01:30, 3 h long:
         Fri 22 block holds 0.5 h → 0.5/3 = 1/6;  Fri 23 → 1/3;  Sat 00 → 1/3;  Sat 01 → 0.5/3 = 1/6.
Crime B  Mon 08:00 → 16:00, 8 h (Ratcliffe's own example): 1/8 = 0.125 in each of Mon 08 … Mon 15.
Crime C  Wed 14:15, no end time: weight 1 to Wed 14.
Crime D  Sun 23:00 → Mon 00:30 (next week), 1.5 h: Sun 23 → 1/1.5 = 2/3;  Mon 00 → 0.5/1.5 = 1/3.
Crime E  Thu 09:00 → Thu 07:00 (end before start): weight 1 to Thu 09.
Crime F  Tue 10:00 → 10 days later (240 h > 168 h): capped, 1/168 to every hour.
Crime G  police.uk, month only: excluded.

Harm: A 100 days, B 10, C 1, D 50, E 2, F 168, G 999 (excluded).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rasure.hottimes import aoristic_week, day_night_shares, hot_times, matrix_to_week

FRI, SAT, SUN, MON, WED, THU = 4, 5, 6, 0, 2, 3


def u(day: int, hour: int) -> int:
    return 24 * day + hour


def hand_week() -> np.ndarray:
    w = np.zeros(168)
    # A
    w[u(FRI, 22)] += 0.5 / 3
    w[u(FRI, 23)] += 1 / 3
    w[u(SAT, 0)] += 1 / 3
    w[u(SAT, 1)] += 0.5 / 3
    # B
    for h in range(8, 16):
        w[u(MON, h)] += 0.125
    # C
    w[u(WED, 14)] += 1.0
    # D
    w[u(SUN, 23)] += 2 / 3
    w[u(MON, 0)] += 1 / 3
    # E
    w[u(THU, 9)] += 1.0
    # F
    w += 1 / 168
    return w


def hand_harm_week() -> np.ndarray:
    w = np.zeros(168)
    w[u(FRI, 22)] += 100 / 6
    w[u(FRI, 23)] += 100 / 3
    w[u(SAT, 0)] += 100 / 3
    w[u(SAT, 1)] += 100 / 6
    for h in range(8, 16):
        w[u(MON, h)] += 10 * 0.125
    w[u(WED, 14)] += 1.0
    w[u(SUN, 23)] += 50 * 2 / 3
    w[u(MON, 0)] += 50 / 3
    w[u(THU, 9)] += 2.0
    w += 168 / 168
    return w


@pytest.fixture
def records() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "occurred_from": pd.to_datetime(
                [
                    "2024-01-05 22:30",
                    "2024-01-01 08:00",
                    "2024-01-03 14:15",
                    "2024-01-07 23:00",
                    "2024-01-04 09:00",
                    "2024-01-02 10:00",
                    "2024-01-01 00:00",
                ],
                format="ISO8601",
            ).astype("datetime64[s]"),
            "occurred_to": pd.to_datetime(
                [
                    "2024-01-06 01:30",
                    "2024-01-01 16:00",
                    None,
                    "2024-01-08 00:30",
                    "2024-01-04 07:00",
                    "2024-01-12 10:00",
                    "2024-01-31 23:59:59",
                ],
                format="ISO8601",
            ).astype("datetime64[s]"),
            "time_precision": ["minute"] * 6 + ["month"],
            "harm_days": [100.0, 10.0, 1.0, 50.0, 2.0, 168.0, 999.0],
        }
    )


def test_week_vector_matches_hand_arithmetic(records: pd.DataFrame) -> None:
    used = records.iloc[:6]
    got = aoristic_week(used["occurred_from"], used["occurred_to"])
    np.testing.assert_allclose(got, hand_week(), atol=1e-12)
    assert got.sum() == pytest.approx(6.0)


def test_matrix_counts_harm_and_exclusions(records: pd.DataFrame) -> None:
    ht = hot_times(records, harm_column="harm_days")
    assert (ht.n_used, ht.n_excluded_month_only, ht.n_excluded_no_time) == (6, 1, 0)
    assert ht.total_weight == pytest.approx(6.0)
    assert ht.total_harm == pytest.approx(100 + 10 + 1 + 50 + 2 + 168)
    assert ht.matrix.shape == (7, 24)
    # spot cells straight from the hand arithmetic (row = day, column = hour)
    assert ht.matrix.loc[FRI, 22] == pytest.approx(1 / 6 + 1 / 168)
    assert ht.matrix.loc[SAT, 1] == pytest.approx(1 / 6 + 1 / 168)
    assert ht.matrix.loc[MON, 0] == pytest.approx(1 / 3 + 1 / 168)
    assert ht.matrix.loc[MON, 8] == pytest.approx(0.125 + 1 / 168)
    assert ht.matrix.loc[WED, 14] == pytest.approx(1 + 1 / 168)
    assert ht.matrix.loc[THU, 9] == pytest.approx(1 + 1 / 168)
    assert ht.matrix.loc[MON, 3] == pytest.approx(1 / 168)
    np.testing.assert_allclose(matrix_to_week(ht.matrix), hand_week(), atol=1e-12)
    assert ht.harm_matrix is not None
    np.testing.assert_allclose(matrix_to_week(ht.harm_matrix), hand_harm_week(), atol=1e-9)


def test_police_day_from_0600_keeps_friday_night_together(records: pd.DataFrame) -> None:
    ht = hot_times(records, day_start_hour=6)
    assert list(ht.matrix.columns) == [*range(6, 24), *range(6)]
    # Saturday 00:00 and 01:00 belong to Friday's police day
    assert ht.matrix.loc[FRI, 0] == pytest.approx(1 / 3 + 1 / 168)
    assert ht.matrix.loc[FRI, 1] == pytest.approx(1 / 6 + 1 / 168)
    # Monday 00:00 (crime D's second half) belongs to Sunday's police day
    assert ht.matrix.loc[SUN, 0] == pytest.approx(1 / 3 + 1 / 168)
    np.testing.assert_allclose(matrix_to_week(ht.matrix, day_start_hour=6), hand_week(), atol=1e-12)


def test_hour_block_method_gives_equal_weight_per_block_touched(records: pd.DataFrame) -> None:
    # Ratcliffe's original hour-block version: A touches 4 blocks → 1/4 each, D touches 2 → 1/2 each.
    got = aoristic_week(records["occurred_from"][:4], records["occurred_to"][:4], method="blocks")
    assert got[u(FRI, 22)] == pytest.approx(0.25)
    assert got[u(SAT, 1)] == pytest.approx(0.25)
    assert got[u(SUN, 23)] == pytest.approx(0.5)
    assert got[u(MON, 0)] == pytest.approx(0.5)
    assert got[u(MON, 8)] == pytest.approx(0.125)


def test_day_night_shares_by_hand() -> None:
    start = ["2024-01-05 22:30", "2024-01-01 08:00", "2024-01-01 16:00", "2024-01-01 05:30"]
    end = ["2024-01-06 01:30", "2024-01-01 16:00", "2024-01-01 20:00", "2024-01-01 06:30"]
    got = day_night_shares(start, end)  # day 06:00–18:00
    # 22:30–01:30 all night; 08–16 all day; 16–20: 2 h of 4 in the day; 05:30–06:30: half an hour of one
    np.testing.assert_allclose(got["day_share"], [0.0, 1.0, 0.5, 0.5])
    np.testing.assert_allclose(got["night_share"], [1.0, 0.0, 0.5, 0.5])
