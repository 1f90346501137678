"""Classification and harm once per distinct (offence code, weapon, category) give what classifying
and weighing every row gives: the same columns, dtypes, values and index."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rasure.derived import derive, derive_rows, factorize_rows
from rasure.synth import generate_city


@pytest.fixture(scope="module")
def city_records() -> pd.DataFrame:
    return generate_city(end=date(2026, 10, 31), scale=0.5).records


def test_derive_equals_every_row_on_a_synthetic_city(city_records: pd.DataFrame) -> None:
    # offence codes (with and without a weapon), weapons and categories; an index not 0..n-1
    records = city_records.set_axis(np.arange(len(city_records))[::-1] * 3)
    pd.testing.assert_frame_equal(derive(records), derive_rows(records), check_exact=True)


def test_derive_equals_every_row_without_offence_codes(city_records: pd.DataFrame) -> None:
    # police.uk: no offence code or weapon column, only the crime type
    records = city_records.drop(columns=["offence_code", "weapon"])
    pd.testing.assert_frame_equal(derive(records), derive_rows(records), check_exact=True)
    assert derive(records.iloc[:0]).empty


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, "8N", " 8N ", "34B", "", "XX"]),
            st.sampled_from([None, "knife", "KNIFE", "none", "firearm", "other"]),
            st.sampled_from([None, "Violence and sexual offences", "Robbery", "Burglary", "Own type"]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_derive_equals_every_row_on_any_mix(rows: list[tuple[str | None, str | None, str | None]]) -> None:
    records = pd.DataFrame(rows, columns=["offence_code", "weapon", "category"], dtype="string")
    pd.testing.assert_frame_equal(derive(records), derive_rows(records), check_exact=True)


def test_factorize_rows_numbers_rows_in_order_of_first_appearance() -> None:
    frame = pd.DataFrame({"a": ["x", None, "x", "y", None], "b": [2, 1, 2, 2, 1]})
    codes, distinct = factorize_rows(frame)
    assert codes.tolist() == [0, 1, 0, 2, 1]
    pd.testing.assert_frame_equal(distinct, frame.iloc[[0, 1, 3]].reset_index(drop=True))
    codes, distinct = factorize_rows(frame.iloc[:0])
    assert codes.tolist() == [] and distinct.empty
