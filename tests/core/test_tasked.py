"""Tasked vs untasked AVLS minutes (rasure.patrol.tasked): expected minutes worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from rasure.errors import InputFileError
from rasure.patrol.tasked import split_tasked


def t(hhmm: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-11-20 {hhmm}:00", tz="UTC")


def frame(rows: list[tuple[object, ...]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


PRESENCE = ["hotspot_id", "person", "start", "end", "minutes"]
WINDOWS = ["hotspot_id", "person", "start", "end"]


def test_split_by_overlap_with_same_person_same_hot_spot() -> None:
    presence = frame(
        [
            (1, "a", t("10:00"), t("10:20"), 20.0),  # visit 10:10–10:40 covers 10 of 20 min → 10 tasked
            (1, "b", t("10:00"), t("10:20"), 20.0),  # b had no visit → all untasked
            (2, "a", t("10:15"), t("10:25"), 10.0),  # a's visit was at hot spot 1, not 2 → untasked
            (1, "a", t("11:00"), t("11:30"), 15.0),  # 11:05–11:15 and 11:10–11:20 overlap: union 15 of 30 min
            (1, "a", t("12:00"), t("12:00"), 1.0),  # one fix at 12:00, inside 11:50–12:10 → tasked
            (1, "a", t("13:00"), t("13:00"), 1.0),  # one fix outside every window → untasked
        ],
        PRESENCE,
    )
    windows = frame(
        [
            (1, "a", t("10:10"), t("10:40")),
            (1, "a", t("11:05"), t("11:15")),
            (1, "a", t("11:10"), t("11:20")),
            (1, "a", t("11:50"), t("12:10")),
        ],
        WINDOWS,
    )
    out = split_tasked(presence, windows)
    assert out["tasked_minutes"].tolist() == pytest.approx([10.0, 0.0, 0.0, 7.5, 1.0, 0.0])
    assert out["untasked_minutes"].tolist() == pytest.approx([10.0, 20.0, 10.0, 7.5, 0.0, 1.0])
    assert (out["tasked_minutes"] + out["untasked_minutes"]).tolist() == pytest.approx(presence["minutes"])


def test_presence_inside_a_longer_visit_is_all_tasked() -> None:
    presence = frame([(1, 7, t("10:05"), t("10:17"), 12.0)], PRESENCE)
    windows = frame([(1, 7, t("10:00"), t("10:30"))], WINDOWS)
    out = split_tasked(presence, windows)
    assert out["tasked_minutes"].tolist() == [12.0] and out["untasked_minutes"].tolist() == [0.0]


def test_no_windows_and_no_presence() -> None:
    presence = frame([(1, "a", t("10:00"), t("10:10"), 10.0)], PRESENCE)
    out = split_tasked(presence, frame([], WINDOWS))
    assert out["untasked_minutes"].tolist() == [10.0]
    assert split_tasked(frame([], PRESENCE), frame([], WINDOWS)).empty


def test_bad_windows_and_columns_are_named() -> None:
    presence = frame([(1, "a", t("10:00"), t("10:10"), 10.0)], PRESENCE)
    with pytest.raises(InputFileError, match="ends before it starts"):
        split_tasked(presence, frame([(1, "a", t("10:10"), t("10:00"))], WINDOWS))
    with pytest.raises(InputFileError, match="minutes"):
        split_tasked(presence.drop(columns="minutes"), frame([], WINDOWS))
