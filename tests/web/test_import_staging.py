"""Staging payloads: the Python values bound on SQLite and the literals of one-valued columns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from django.db import connection, transaction

from rasure_web.crimes import services, writer
from rasure_web.crimes.models import CrimeRecord
from tests.factories import street_row, write_street


def test_values_are_what_to_pylist_gives() -> None:
    table = pa.table(
        {
            "s": pa.array(["a", None, "b'%s", "a", "é€", ""], pa.string()),
            "ls": pa.array(["x", "x", None, "y", "x", "z"], pa.large_string()),
            "i": pa.array([1, None, -(2**62), 3, 0, 7], pa.int64()),
            "f": pa.array([1.5, None, -0.0, 1e300, 2.0, 3.25], pa.float64()),
            "b": pa.array([True, None, False, True, False, None], pa.bool_()),
            "t": pa.array([dt.datetime(2024, 1, 1), None, None, None, None, None], pa.timestamp("s")),
            "n": pa.nulls(6, pa.string()),
        }
    )
    want = list(zip(*(c.to_pylist() for c in table.columns), strict=True))
    got = writer._rows(table)
    assert got == want
    assert [[type(v) for v in row] for row in got] == [[type(v) for v in row] for row in want]


@pytest.mark.parametrize(
    ("values", "literal"),
    [
        (pa.array(["O'Brien 100%s"] * 3), "'O''Brien 100%%s'"),
        (pa.array([5, 5], pa.int64()), "5"),
        (pa.array([True, True]), "1"),
        (pa.array([False]), "0"),
        (pa.array(["a", "b"]), None),
        (pa.array(["a", None]), None),
        (pa.array([1.5, 1.5]), None),  # floats are always bound
        (pa.array(["a\x00"]), None),
    ],
)
def test_sql_literal(values: pa.Array, literal: str | None) -> None:
    assert writer._sql_literal(values) == literal


@pytest.mark.django_db
def test_one_valued_columns_are_stored_as_given(tmp_path: Path) -> None:
    """A place with a quote and a per cent sign, the same on every row, is stored as it is."""
    place = "On or near O'Brien's 100%s Yard"
    f = write_street(
        tmp_path / "2024-03-t-street.csv", [street_row(f"c{i}", location=place) for i in range(3)]
    )
    [r] = services.records_import_policeuk(paths=[str(f)])
    assert r.ok, r.error
    assert set(CrimeRecord.objects.values_list("location_text", flat=True)) == {place}


@pytest.mark.django_db
def test_one_valued_columns_of_a_chunk_do_not_reach_the_next() -> None:
    """A column written once for a chunk (SQLite: a literal; PostgreSQL: the column's default while
    it is copied) holds its value on that chunk's rows only: a later chunk where it is null on every
    row (left out) stores nulls."""
    first = pd.DataFrame(
        {
            "seq": [0, 1],
            "source": ["police.uk"] * 2,
            "reference": ["a", "b"],
            "last_outcome": ["O'Brien 100%s"] * 2,
            "last_outcome_month": ["2024-03"] * 2,
        }
    )
    second = first.assign(
        seq=[2, 3], reference=["c", "d"], last_outcome=None, last_outcome_month=[None, "2024-04"]
    )
    with transaction.atomic(), connection.cursor() as cur:
        writer._create_staging(cur)
        for chunk in (first, second):
            writer._stage(cur, "stage_outcome", chunk, writer._OUTCOME_COLUMNS)
        cur.execute(
            "SELECT seq, source, reference, last_outcome, last_outcome_month FROM stage_outcome ORDER BY seq"
        )
        got = [tuple(r) for r in cur.fetchall()]
    assert got == [
        (0, "police.uk", "a", "O'Brien 100%s", "2024-03"),
        (1, "police.uk", "b", "O'Brien 100%s", "2024-03"),
        (2, "police.uk", "c", None, None),
        (3, "police.uk", "d", None, "2024-04"),
    ]


@pytest.mark.django_db(transaction=True)
def test_staging_bounds_sqlite_caches_and_restores_them() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cur:
        cur.execute("PRAGMA main.cache_size")
        before = cur.fetchone()[0]
    with writer.staging_on_disk(), transaction.atomic(), connection.cursor() as cur:
        cur.execute("PRAGMA main.cache_size")
        assert cur.fetchone()[0] == -writer.IMPORT_CACHE_KIB
    with connection.cursor() as cur:
        cur.execute("PRAGMA main.cache_size")
        assert cur.fetchone()[0] == before


def test_row_hashes_are_pandas_hashes_of_the_canonical_columns() -> None:
    """The stored row hash is ``hash_pandas_object`` of the canonical columns (values only), shifted
    to 63 bits, whatever the dtypes and missing values (the definition records hashed by earlier
    versions were stored under, so it must not drift)."""
    import numpy as np
    import pandas as pd

    from rasure.records import RECORD_COLUMNS, conform

    n = 7
    rng = np.random.default_rng(3)
    data: dict[str, object] = {}
    for i, (c, t) in enumerate(RECORD_COLUMNS.items()):
        if t == "string":
            values: list[object] = [f"{c}-{v}" for v in rng.integers(0, 3, n)]
            values[i % n] = None
            data[c] = pd.array(values, dtype="string")
        elif t.startswith("datetime"):
            data[c] = pd.to_datetime(
                ["2024-03-01 00:00:00", None, "2023-12-31 23:59:59", *["2024-03-01 00:00:00"] * (n - 3)]
            )
        elif t == "float64":
            data[c] = [1.5, np.nan, -0.0, 0.0, 1e300, 2.0, float(i)]
        else:
            data[c] = pd.array([True, None, False, True, False, None, True], dtype=t)
    frame = conform(pd.DataFrame(data))
    want = pd.util.hash_pandas_object(frame[list(RECORD_COLUMNS)], index=False).to_numpy(dtype=np.uint64)
    got = writer.row_hashes(frame)
    assert got.tolist() == (want >> np.uint64(1)).astype(np.int64).tolist()
    assert got.index.equals(frame.index)


@pytest.mark.django_db
def test_rows_without_location_counted_after_repeats_merge(tmp_path: Path) -> None:
    """Rows without a location are counted once per record: a repeated Crime ID without location
    (merged into one record) counts once, as a record does when nothing repeats."""
    f = write_street(
        tmp_path / "2024-03-t-street.csv",
        [
            street_row("c1", lon="", lat=""),
            street_row("c1", lon="", lat=""),
            street_row("c2", lon="", lat=""),
            street_row("c3"),
        ],
    )
    [r] = services.records_import_policeuk(paths=[str(f)])
    assert r.ok, r.error
    assert (r.inserted, r.without_location) == (3, 2)
    g = write_street(
        tmp_path / "2024-04-t-street.csv",
        [street_row("d1", month="2024-04", lon="", lat=""), street_row("d2", month="2024-04")],
    )
    [r] = services.records_import_policeuk(paths=[str(g)])
    assert (r.inserted, r.without_location) == (2, 1)
    stored = CrimeRecord.objects.filter(easting__isnull=True).count()
    assert stored == 3


@pytest.mark.django_db
def test_one_reference_under_two_sources_is_two_records(tmp_path: Path) -> None:
    """The repeat check hashes references only: one Crime ID under two forces in a file sends the
    check to the database, which finds two records, none merged."""
    rows = [street_row("same"), street_row("other")]
    rows.append(street_row("same").replace("Test Police,Test Police", "Test Police,Other Police"))
    f = write_street(tmp_path / "2024-03-t-street.csv", rows)
    [r] = services.records_import_policeuk(paths=[str(f)])
    assert r.ok, r.error
    assert (r.inserted, r.updated, r.unchanged) == (3, 0, 0)
    assert not any("merged" in n for n in r.notes)
    assert CrimeRecord.objects.filter(reference="same").count() == 2
