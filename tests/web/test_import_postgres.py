"""What a police.uk import asks of PostgreSQL itself: the storage choices that make it fast
(crimes migration 0010). The records and counts are the same as on SQLite (test_import.py,
test_writer_outcomes.py); these tests check only how PostgreSQL writes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from rasure_web.crimes import services
from rasure_web.crimes.models import CrimeRecord
from tests.factories import street_row, write_outcomes, write_street

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's storage only"),
]


def _updates() -> tuple[int, int]:
    """(updates, heap-only updates) of crime_record in this transaction."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'crime_record'"
        )
        row = cur.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def test_outcomes_and_changed_rows_update_records_in_place(tmp_path: Path) -> None:
    """An outcome, or a street row that changes no indexed column, rewrites its record as a heap-only
    tuple: no indexed column changes (import_run_id has no index) and the page has room."""
    rows = [street_row(f"c{i}") for i in range(1, 4)]
    [r] = services.records_import_policeuk(paths=[str(write_street(tmp_path / "2024-03-t-street.csv", rows))])
    assert r.inserted == 3
    before = _updates()
    outcomes = write_outcomes(tmp_path / "2024-04-t-outcomes.csv", [("c1", "2024-04", "Suspect charged")])
    [r] = services.records_import_policeuk(paths=[str(outcomes)])
    changed = [*rows[:2], street_row("c3", location="On or near Low Street")]
    [s] = services.records_import_policeuk(
        paths=[str(write_street(tmp_path / "2024-03-u-street.csv", changed))]
    )
    assert (r.updated, s.updated, s.unchanged) == (1, 1, 2)
    updated, hot = (a - b for a, b in zip(_updates(), before, strict=True))
    assert (updated, hot) == (2, 2)
    c1, c3 = CrimeRecord.objects.get(reference="c1"), CrimeRecord.objects.get(reference="c3")
    assert (c1.last_outcome, c3.location_text) == ("Suspect charged", "On or near Low Street")
    assert c1.import_run_id != c3.import_run_id


def test_record_pages_keep_room_for_updates() -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT reloptions FROM pg_class WHERE oid = 'crime_record'::regclass")
        assert "fillfactor=80" in (cur.fetchone()[0] or [])
        cur.execute(
            "SELECT COUNT(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'crime_record'::regclass "
            "AND a.attname IN ('import_run_id', 'last_outcome', 'last_outcome_month', 'updated_at')"
        )
        assert cur.fetchone()[0] == 0  # the columns an outcome or a changed row sets are in no index


def test_files_read_ahead_import_and_fail_as_one_by_one(tmp_path: Path) -> None:
    """Several files in one import (on PostgreSQL each file after the first is opened and read while
    the one before merges): every file imports, or is rejected with the error it has alone."""
    from rasure_web.crimes.models import ImportRun

    good = write_street(tmp_path / "2024-03-a-street.csv", [street_row("c1"), street_row("c2")])
    header = write_street(tmp_path / "2024-03-b-street.csv", [street_row("c3")], header="Crime ID,Month,Lng")
    rows = write_street(tmp_path / "2024-03-c-street.csv", [street_row("c4"), street_row("c5", lat="999")])
    unreadable = tmp_path / "2024-03-d-street.csv.gz"
    unreadable.write_bytes(b"not gzip")
    outcomes = write_outcomes(tmp_path / "2024-04-t-outcomes.csv", [("c1", "2024-04", "Suspect charged")])
    files = [good, header, rows, unreadable, outcomes]
    reports = services.records_import_policeuk(paths=[str(f) for f in files])
    assert [r.ok for r in reports] == [True, False, False, False, True]
    assert (reports[0].inserted, reports[-1].updated) == (2, 1)
    assert sorted(CrimeRecord.objects.values_list("reference", flat=True)) == ["c1", "c2"]
    assert CrimeRecord.objects.get(reference="c1").last_outcome == "Suspect charged"
    alone = [services.records_import_policeuk(paths=[str(f)])[0] for f in (header, rows, unreadable)]
    assert [r.error for r in reports[1:4]] == [r.error for r in alone] and all(r.error for r in alone)
    assert [len(r.problems) for r in reports[1:4]] == [len(r.problems) for r in alone]
    assert ImportRun.objects.filter(status=ImportRun.Status.REJECTED).count() == 6
