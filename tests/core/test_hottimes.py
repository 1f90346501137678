"""Hot times: aoristic conventions, invariants and the peak summary."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rasure.errors import ConfigError
from rasure.hottimes import (
    HotTimesInputError,
    aoristic_week,
    day_night_shares,
    hot_times,
    matrix_to_week,
    peak_times,
    period_of,
    week_to_matrix,
)

MONDAY = pd.Timestamp("2024-01-01")  # a Monday


def minute_reference(start: pd.Timestamp, minutes: int) -> np.ndarray:
    """Brute force: walk the window minute by minute, 1/minutes to each minute's hour of week."""
    w = np.zeros(168)
    for m in range(minutes):
        t = start + pd.Timedelta(minutes=m)
        w[t.day_of_week * 24 + t.hour] += 1 / minutes
    return w


@settings(max_examples=40, deadline=None)
@given(start_min=st.integers(0, 4 * 7 * 24 * 60), span_min=st.integers(1, 30 * 60))
def test_proportional_weights_equal_minute_by_minute_reference(start_min: int, span_min: int) -> None:
    start = MONDAY + pd.Timedelta(minutes=start_min)
    got = aoristic_week([start], [start + pd.Timedelta(minutes=span_min)])
    np.testing.assert_allclose(got, minute_reference(start, span_min), atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-3 * 365 * 24 * 60, 3 * 365 * 24 * 60),  # start, minutes from 2024-01-01
            st.one_of(st.none(), st.integers(-600, 400 * 60)),  # span in minutes (None: no end)
            st.sampled_from(["minute", "day", "month"]),
            st.floats(0, 1000),
        ),
        min_size=0,
        max_size=40,
    ),
    st.sampled_from(["proportional", "blocks"]),
    st.integers(0, 23),
)
def test_total_weight_equals_crimes_used(rows: list, method: str, day_start_hour: int) -> None:
    starts = [MONDAY + pd.Timedelta(minutes=s) for s, _, _, _ in rows]
    ends = [pd.NaT if d is None else MONDAY + pd.Timedelta(minutes=s + d) for s, d, _, _ in rows]
    recs = pd.DataFrame(
        {
            "occurred_from": pd.Series(starts, dtype="datetime64[s]"),
            "occurred_to": pd.Series(ends, dtype="datetime64[s]"),
            "time_precision": [p for _, _, p, _ in rows],
            "harm_days": [h for _, _, _, h in rows],
        }
    )
    ht = hot_times(recs, harm_column="harm_days", method=method, day_start_hour=day_start_hour)  # type: ignore[arg-type]
    n_month = sum(p == "month" for _, _, p, _ in rows)
    assert ht.n_excluded_month_only == n_month
    assert ht.n_used == len(rows) - n_month
    assert ht.total_weight == pytest.approx(ht.n_used, abs=1e-9)
    assert (ht.matrix.to_numpy() >= -1e-15).all()
    harm_used = sum(h for _, _, p, h in rows if p != "month")
    assert ht.total_harm == pytest.approx(harm_used, rel=1e-9, abs=1e-9)


def test_conventions_missing_end_reversed_and_capped() -> None:
    start = MONDAY + pd.Timedelta(hours=13, minutes=40)
    w = aoristic_week([start, start, start], [pd.NaT, start - pd.Timedelta(hours=2), start])
    assert w[13] == pytest.approx(3.0) and w.sum() == pytest.approx(3.0)
    capped = aoristic_week([start], [start + pd.Timedelta(hours=200)])
    np.testing.assert_allclose(capped, np.full(168, 1 / 168))
    exactly_a_week = aoristic_week([start], [start + pd.Timedelta(hours=168)])
    np.testing.assert_allclose(exactly_a_week, np.full(168, 1 / 168))


def test_point_below_puts_short_windows_at_start_hour() -> None:
    s = MONDAY + pd.Timedelta(hours=22, minutes=45)
    e = s + pd.Timedelta(minutes=30)
    assert aoristic_week([s], [e])[22] == pytest.approx(0.5)
    assert aoristic_week([s], [e], point_below=timedelta(hours=1))[22] == pytest.approx(1.0)


def test_weights_argument_and_dates_before_1970() -> None:
    s = pd.Timestamp("1969-12-29 10:00")  # a Monday before the epoch
    w = aoristic_week([s], [s + pd.Timedelta(hours=2)], weights=[4.0])
    assert w[10] == pytest.approx(2.0) and w[11] == pytest.approx(2.0)


def test_inclusive_last_second_and_day_precision() -> None:
    recs = pd.DataFrame(
        {
            "occurred_from": pd.to_datetime(["2024-01-02 00:00", "2024-01-03 00:00"]),
            "occurred_to": pd.to_datetime(["2024-01-02 23:59:59", None], format="ISO8601"),
            "time_precision": ["day", "day"],
        }
    )
    ht = hot_times(recs)
    # both cover the whole day: exactly 1/24 to each hour of Tuesday and of Wednesday
    np.testing.assert_allclose(ht.matrix.loc[1].to_numpy(), np.full(24, 1 / 24))
    np.testing.assert_allclose(ht.matrix.loc[2].to_numpy(), np.full(24, 1 / 24))


def test_missing_start_is_counted_not_placed() -> None:
    recs = pd.DataFrame(
        {
            "occurred_from": pd.to_datetime([None, "2024-01-01 03:00"]),
            "occurred_to": pd.to_datetime([None, None]),
            "time_precision": ["minute", "minute"],
            "harm_days": [5.0, float("nan")],
        }
    )
    ht = hot_times(recs, harm_column="harm_days")
    assert (ht.n_used, ht.n_excluded_no_time, ht.n_harm_missing) == (1, 1, 1)
    assert ht.total_harm == 0.0


def test_errors_say_how_to_fix() -> None:
    with pytest.raises(HotTimesInputError, match="harm_days"):
        hot_times(
            pd.DataFrame({"occurred_from": [], "occurred_to": [], "time_precision": []}),
            harm_column="harm_days",
        )
    with pytest.raises(HotTimesInputError, match="occurred_to"):
        hot_times(pd.DataFrame({"occurred_from": []}))
    with pytest.raises(ConfigError, match="0 to 23"):
        week_to_matrix(np.zeros(168), day_start_hour=24)
    with pytest.raises(ConfigError, match="method"):
        aoristic_week([MONDAY], [MONDAY + pd.Timedelta(hours=2)], method="minutes")  # type: ignore[arg-type]
    with pytest.raises(HotTimesInputError, match="missing"):
        aoristic_week([pd.NaT])


def test_matrix_round_trip_for_every_day_start() -> None:
    w = np.random.default_rng(3).random(168)
    for h in range(24):
        m = week_to_matrix(w, day_start_hour=h)
        assert m.loc[0, h] == w[h]  # each police day starts at h:00 on its calendar day
        np.testing.assert_array_equal(matrix_to_week(m, day_start_hour=h), w)


def test_period_of_vectorised_and_wrapping() -> None:
    ts = pd.date_range("2024-01-01", periods=24, freq="h")
    got = period_of(ts)
    assert got.tolist() == ["night"] * 6 + ["day"] * 12 + ["night"] * 6
    # a night shift from 22:00 to 07:00 expressed as day 07–22
    assert period_of(
        ["2024-01-01 23:00", "2024-01-01 07:00"], day_start_hour=7, night_start_hour=22
    ).tolist() == [
        "night",
        "day",
    ]
    assert period_of([pd.NaT]).tolist() == [""]
    with pytest.raises(ConfigError):
        period_of(ts, day_start_hour=6, night_start_hour=6)


def test_day_night_shares_missing_and_capped() -> None:
    got = day_night_shares([pd.NaT, MONDAY], [pd.NaT, MONDAY + pd.Timedelta(days=30)])
    assert np.isnan(got.loc[0, "day_share"])
    assert got.loc[1, "day_share"] == pytest.approx(0.5)


def _records(times: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "occurred_from": pd.to_datetime(times),
            "occurred_to": pd.NaT,
            "time_precision": "minute",
            "harm_days": 1.0,
        }
    )


def test_peak_windows_non_overlapping_and_wrap_the_week() -> None:
    # Sun 23:00 ×2, Mon 00:00 ×2, Mon 01:00 ×1 (a window across the week's end), Fri 21:00 ×3
    times = (
        ["2024-01-07 23:10"] * 2 + ["2024-01-08 00:20"] * 2 + ["2024-01-08 01:00"] + ["2024-01-05 21:00"] * 3
    )
    p = peak_times(hot_times(_records(times)), top=2, window_hours=3)
    assert p.windows["label"].tolist() == ["Sun 23:00–02:00", "Fri 19:00–22:00"]
    np.testing.assert_allclose(p.windows["share"], [5 / 8, 3 / 8])
    assert p.days.iloc[0]["name"] == "Mon" and p.days.iloc[0]["share"] == pytest.approx(3 / 8)
    assert p.night_share == pytest.approx(1.0)
    assert "Sun 23:00–02:00 (62%)" in p.text and "Based on 8 crimes" in p.text


def test_peak_by_harm_and_empty() -> None:
    recs = _records(["2024-01-01 10:00", "2024-01-02 20:00"])
    recs["harm_days"] = [1.0, 9.0]
    p = peak_times(hot_times(recs, harm_column="harm_days"), by="harm", top=1, window_hours=1)
    assert p.windows["label"].tolist() == ["Tue 20:00–21:00"] and p.windows["share"].iloc[0] == pytest.approx(
        0.9
    )
    with pytest.raises(ConfigError, match="harm_column"):
        peak_times(hot_times(recs), by="harm")
    empty = peak_times(hot_times(recs.iloc[0:0]))
    assert empty.windows.empty and "No crimes" in empty.text


def test_peak_fewer_windows_than_asked_when_little_data() -> None:
    p = peak_times(hot_times(_records(["2024-01-01 10:00"])), top=3, window_hours=2)
    assert len(p.windows) == 1
