"""Staging payloads: the Python values bound on SQLite and the literals of one-valued columns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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
