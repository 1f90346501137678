"""Endurance: hot places per window, m-of-n rule, stability, and the place classes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rasure.hotspots import (
    PLACE_CLASSES,
    HotspotInputError,
    classify_places,
    hot_in_m_of_n,
    hot_places,
    place_window_counts,
    stability,
)


def _hot(rows: dict[str, str]) -> pd.DataFrame:
    """Hand-made history: each string is one place's windows, oldest first ('1' = hot)."""
    return pd.DataFrame({k: [c == "1" for c in v] for k, v in rows.items()}).T.set_axis(
        [f"w{i}" for i in range(len(next(iter(rows.values()))))], axis=1
    )


# --- building the table and picking hot places ---------------------------------------------------


def test_place_window_counts_includes_empty_places_and_windows() -> None:
    t = place_window_counts(
        [3, 3, 5, -1, 3],
        ["2022", "2023", "2023", "2023", "2023"],
        weights=[1.0, 365.0, 10.0, 99.0, 1.0],
        places=[1, 3, 5],
        window_order=["2021", "2022", "2023"],
    )
    assert list(t.columns) == ["2021", "2022", "2023"]
    assert t.loc[3].tolist() == [0.0, 1.0, 366.0]
    assert t.loc[5].tolist() == [0.0, 0.0, 10.0]
    assert t.loc[1].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(HotspotInputError, match="every place"):
        place_window_counts([3, 4], ["a", "a"], places=[3])
    with pytest.raises(HotspotInputError, match="window_order"):
        place_window_counts([3], ["b"], window_order=["a"])


def test_hot_places_top_k_ties_and_zeros() -> None:
    t = pd.DataFrame({"y1": [2, 5, 5, 0, 1], "y2": [0, 0, 0, 0, 3]}, index=list("abcde"))
    hot = hot_places(t, top_k=2)
    # y1: b and c (5, 5). y2: only e has crime, so only one place is hot.
    assert hot["y1"].tolist() == [False, True, True, False, False]
    assert hot["y2"].tolist() == [False, False, False, False, True]
    # Tie at the cut-off (b, c both 5, K = 1): the first in table order wins.
    assert hot_places(t, top_k=1)["y1"].tolist() == [False, True, False, False, False]
    # top_share 0.5 of 5 places → ⌈2.5⌉ = 3 places.
    assert hot_places(t, top_share=0.5)["y1"].sum() == 3
    with pytest.raises(HotspotInputError, match="exactly one"):
        hot_places(t)
    with pytest.raises(HotspotInputError, match="exactly one"):
        hot_places(t, top_k=1, top_share=0.1)


def test_hot_in_two_of_last_three() -> None:
    hot = _hot({"a": "1100", "b": "0110", "c": "0101", "d": "1001", "e": "0011", "f": "0001"})
    # Last three windows: a 100 → 1, b 110 → 2, c 101 → 2, d 001 → 1, e 011 → 2, f 001 → 1.
    assert hot_in_m_of_n(hot).tolist() == [False, True, True, False, True, False]
    assert hot_in_m_of_n(hot, m=1, n=1).tolist() == [False, False, True, True, True, True]
    with pytest.raises(HotspotInputError, match="longer history"):
        hot_in_m_of_n(hot, m=2, n=5)


# --- stability ----------------------------------------------------------------------------------


def test_stability_by_hand() -> None:
    """Places a–e, windows y1, y2, y3.

    y1 → y2: values (4,3,0,0,1) vs (4,0,3,0,2). Average ranks: y1 (5,4,1.5,1.5,3), y2 (5,1.5,4,1.5,3).
    Pearson of the ranks: deviations from 3 are (2,1,−1.5,−1.5,0) and (2,−1.5,1,−1.5,0);
    Σ products = 4 − 1.5 − 1.5 + 2.25 + 0 = 3.25; Σ squares = 4 + 1 + 2.25 + 2.25 = 9.5 for both;
    ρ = 3.25/9.5 = 0.3421. Top-2 sets: {a, b} vs {a, c} → Jaccard 1/3.
    y2 → y3: y3 = y2, so ρ = 1 and Jaccard = 1.
    """
    t = pd.DataFrame(
        {"y1": [4, 3, 0, 0, 1], "y2": [4, 0, 3, 0, 2], "y3": [4, 0, 3, 0, 2]}, index=list("abcde")
    )
    s = stability(t, top_k=2)
    assert s["previous_window"].tolist() == ["y1", "y2"]
    assert s["window"].tolist() == ["y2", "y3"]
    assert s["spearman_rho"].tolist() == pytest.approx([3.25 / 9.5, 1.0])
    assert s["jaccard"].tolist() == pytest.approx([1 / 3, 1.0])
    assert s["n_hot"].tolist() == [2, 2]


def test_stability_constant_window_gives_nan() -> None:
    t = pd.DataFrame({"y1": [0, 0, 0], "y2": [1, 0, 2]})
    s = stability(t, top_k=1)
    assert np.isnan(s.loc[0, "spearman_rho"])
    assert s.loc[0, "jaccard"] == 0.0  # {} vs {place 2}: |∩| = 0, |∪| = 1


# --- classes ------------------------------------------------------------------------------------


def test_each_class_three_windows() -> None:
    """T = 3 (e.g. 3 years): R = max(1, ⌊0.2·3⌋) = 1 recent window (the last), 2 older."""
    hot = _hot(
        {
            "never": "000",
            "cooling": "110",  # hot before, not in the last year
            "cooling_once": "100",
            "persistent": "111",  # 3/3 ≥ 0.8
            "emerging": "001",  # hot last year, in 0 of 2 older (< 0.1·2)
            "intermittent": "101",  # hot last year and in 1/2 older, but 2/3 < 0.8 overall
            "intermittent2": "011",
        }
    )
    got = classify_places(hot)
    assert got.to_dict() == {
        "never": "not hot",
        "cooling": "cooling",
        "cooling_once": "cooling",
        "persistent": "persistent",
        "emerging": "emerging",
        "intermittent": "intermittent",
        "intermittent2": "intermittent",
    }


def test_each_class_ten_windows() -> None:
    """T = 10: R = ⌊0.2·10⌋ = 2 recent, 8 older; persistent needs ≥ 8 hot windows; emerging
    needs fewer than 0.1·8 = 0.8, i.e. 0, older hot windows."""
    hot = _hot(
        {
            "p_full": "1111111111",
            "p_gap": "1101111101",  # 8/10 and hot in the last window
            "c_was_persistent": "1111111100",  # 8/10 but not hot in either recent window
            "e_last": "0000000001",
            "e_both": "0000000011",
            "i_one_old": "1000000001",  # one older hot window = 1/8 ≥ 0.1 → not emerging
            "i_seven": "1110111001",  # 7/10 < 0.8
            "n": "0000000000",
        }
    )
    got = classify_places(hot)
    assert got.to_dict() == {
        "p_full": "persistent",
        "p_gap": "persistent",
        "c_was_persistent": "cooling",
        "e_last": "emerging",
        "e_both": "emerging",
        "i_one_old": "intermittent",
        "i_seven": "intermittent",
        "n": "not hot",
    }
    assert list(got.cat.categories) == list(PLACE_CLASSES)


def test_classify_parameters() -> None:
    hot = _hot({"a": "0111", "b": "0001"})
    # recent_prop 0.5 → R = 2 recent, 2 older. a: 3/4 < 0.8 → intermittent; with 0.7 → persistent.
    assert classify_places(hot, recent_prop=0.5).tolist() == ["intermittent", "emerging"]
    assert classify_places(hot, recent_prop=0.5, persistent_prop=0.7).tolist() == ["persistent", "emerging"]
    with pytest.raises(HotspotInputError, match="at least one is older"):
        classify_places(hot, recent_prop=1.0)
    with pytest.raises(HotspotInputError, match="at least 2 windows"):
        classify_places(hot[["w0"]])
    with pytest.raises(HotspotInputError, match="booleans"):
        classify_places(hot.astype(int) * 3)


@settings(max_examples=200, deadline=None)
@given(
    h=arrays(bool, st.tuples(st.integers(1, 25), st.integers(2, 12))),
    persistent_prop=st.floats(0.3, 1.0),
    recent_prop=st.floats(0.05, 0.45),
)
def test_class_invariants(h: np.ndarray, persistent_prop: float, recent_prop: float) -> None:
    hot = pd.DataFrame(h, index=[f"p{i}" for i in range(h.shape[0])])
    got = classify_places(hot, persistent_prop=persistent_prop, recent_prop=recent_prop)
    assert len(got) == h.shape[0] and got.notna().all()  # exactly one class per place
    assert set(got.unique()) <= set(PLACE_CLASSES)
    t = h.shape[1]
    r = max(1, int(np.floor(recent_prop * t + 1e-9)))
    ever = h.any(axis=1)
    recent = h[:, t - r :].any(axis=1)
    g = got.to_numpy()
    np.testing.assert_array_equal(g == "not hot", ~ever)
    np.testing.assert_array_equal(g == "cooling", ever & ~recent)
    assert recent[np.isin(g, ["persistent", "emerging", "intermittent"])].all()
    assert (h[g == "persistent"].sum(axis=1) >= persistent_prop * t - 1e-9).all()
    # Classes depend only on each place's own row: shuffling rows shuffles classes.
    order = np.random.default_rng(0).permutation(h.shape[0])
    again = classify_places(hot.iloc[order], persistent_prop=persistent_prop, recent_prop=recent_prop)
    assert again.tolist() == got.iloc[order].tolist()


@settings(max_examples=100, deadline=None)
@given(
    values=arrays(np.int64, st.tuples(st.integers(1, 30), st.integers(1, 5)), elements=st.integers(0, 9)),
    k=st.integers(1, 10),
)
def test_hot_places_invariants(values: np.ndarray, k: int) -> None:
    t = pd.DataFrame(values)
    hot = hot_places(t, top_k=k).to_numpy()
    assert (hot.sum(axis=0) <= k).all()
    assert not (hot & (values <= 0)).any()
    # Every hot place has at least the value of every non-hot place in its window.
    for j in range(values.shape[1]):
        if hot[:, j].any() and (~hot[:, j]).any():
            assert values[hot[:, j], j].min() >= values[~hot[:, j], j].max()
    # Exactly min(k, number of places with crime) are hot.
    np.testing.assert_array_equal(hot.sum(axis=0), np.minimum(k, (values > 0).sum(axis=0)))
