"""The short cuts of the analysis path give what the long way gives: a column that needs no trimming
is passed on as it is, and one that may need it is trimmed exactly as ``utf8_trim_whitespace`` does;
the references' codes from fingerprints are the codes of the texts; the input hash of references
hashed as bytes is the hash of the texts."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rasure.hotspots.analysis import input_hash
from rasure.ingest.policeuk import (
    ANALYSIS_COLUMNS,
    _codes,
    _distinct,
    _fingerprints,
    _maybe_padded,
    _trimmed,
)

PADDED = [
    " lead",
    "trail ",
    "\ttab",
    "nl\n",
    "\u00a0nbsp",  # no-break space
    "ideographic\u3000",
    "\u2028line separator",
    "\x1ffile separator",
    "é accent first",
    "last accent é",
]


@pytest.mark.parametrize("value", PADDED)
def test_a_value_that_may_be_padded_is_found(value: str) -> None:
    values = pa.array(["On or near High Street", value, ""])
    assert _maybe_padded(values)
    assert _maybe_padded(values.slice(1, 1))  # a slice reads its own part of the buffers


def test_clean_values_need_no_trim() -> None:
    values = pa.array(["On or near High Street", "", "x", "Anti-social behaviour"])
    assert not _maybe_padded(values)
    assert not _maybe_padded(pa.array(["", ""]))  # no data buffer to read
    assert not _maybe_padded(pa.array([], pa.string()))
    assert _maybe_padded(pa.array(["a", None]))  # nulls: trim the long way
    # a slice past the padded value is clean
    assert not _maybe_padded(pa.array([" padded", "clean", "also clean"]).slice(1))


def test_trimmed_equals_trimming_every_column() -> None:
    n = len(PADDED)
    clean = [f"value {i}" for i in range(n)]
    batch = pa.record_batch(
        {c: pa.array(PADDED if c in ("Location", "Month") else clean) for c in ANALYSIS_COLUMNS}
    )
    got = _trimmed(batch)
    for c in ANALYSIS_COLUMNS:
        assert got[c].equals(pc.utf8_trim_whitespace(batch.column(c)))
    # clean: passed on, not copied
    assert got["Crime ID"].buffers()[2].address == batch.column("Crime ID").buffers()[2].address


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet="ab\x00é日 ", max_size=30), max_size=40),
    st.integers(min_value=0, max_value=3),
)
def test_reference_codes_are_the_distinct_codes(texts: list[str], cut: int) -> None:
    # short and long values, repeats, NUL bytes and multi-byte characters; a slice reads its own part
    values = pa.array(texts + texts[::2], pa.string()).slice(cut)
    assert _codes(values).tolist() == _distinct(values)[0].tolist()


def test_reference_codes_when_fingerprints_collide() -> None:
    # distinct texts equal in length and in their first, middle and last 8 bytes share a
    # fingerprint: the check finds it and the codes are still the texts' own
    texts = [f"{'p' * 8}{i:04d}{'m' * 8}{i % 3:04d}{'s' * 8}" for i in range(6)] * 2
    values = pa.array(texts)
    assert len(set(_fingerprints(values).tolist())) == 1
    assert _codes(values).tolist() == [0, 1, 2, 3, 4, 5] * 2 == _distinct(values)[0].tolist()
    crime_ids = pa.array([hashlib.sha256(str(i % 50).encode()).hexdigest() for i in range(120)])
    assert _codes(crime_ids).tolist() == _distinct(crime_ids)[0].tolist()


def _plain_input_hash(records: pd.DataFrame) -> str:
    """The input hash as first written: pandas' row hashes of the columns as they are, sorted."""
    cols = [
        c
        for c in ("source", "reference", "easting", "northing", "occurred_from", "occurred_to")
        if c in records
    ]
    frame = records[cols].assign(source=records["source"].astype("category"))
    h = pd.util.hash_pandas_object(frame, index=False, categorize=False).to_numpy()
    return hashlib.sha256(np.sort(h).tobytes()).hexdigest()


@pytest.mark.parametrize("missing", [False, True])
def test_input_hash_of_references_as_bytes_equals_the_plain_hash(missing: bool) -> None:
    n = 500
    refs = pd.array([f"ref-{i}-é\u00a0日本" if i % 7 else f"{i:064x}" for i in range(n)], dtype="string")
    if missing:
        refs[3] = pd.NA
    records = pd.DataFrame(
        {
            "source": "police.uk:gwent",
            "reference": refs,
            "easting": np.arange(n, dtype=float),
            "northing": np.arange(n, dtype=float)[::-1],
            "occurred_from": pd.date_range("2024-01-01", periods=n, freq="h"),
            "occurred_to": pd.date_range("2024-01-01", periods=n, freq="h"),
        }
    )
    assert isinstance(records["reference"].array, pd.arrays.ArrowStringArray)
    assert input_hash(records) == _plain_input_hash(records)
    assert input_hash(records.iloc[::-1]) == input_hash(records)  # row order does not matter
