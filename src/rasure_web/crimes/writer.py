"""Fast, all-or-nothing writes of canonical records into the database.

Upserts by ``(source, reference)`` with a single SQL statement per batch, so a repeat
import updates rather than duplicates, and a changed record is detected in SQL (a row
whose values are all equal is left alone, so a second identical import changes
nothing). PostgreSQL gets COPY into a temporary table; SQLite gets ``executemany``.
The caller wraps everything for one file in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection

from rasure.records import RECORD_COLUMNS
from rasure_web import clock

RECORD_DB_COLUMNS = [
    "source",
    "reference",
    "offence_code",
    "offence_description",
    "category",
    "occurred_from",
    "occurred_to",
    "time_precision",
    "reported_date",
    "lon",
    "lat",
    "easting",
    "northing",
    "location_text",
    "lsoa_code",
    "lsoa_name",
    "weapon",
    "domestic",
    "last_outcome",
    "last_outcome_month",
    "force",
    "as_of",
    "serious_violence",
    "sv_group",
    "sv_basis",
    "knife_enabled",
    "gun_crime",
    "harm_days",
    "harm_basis",
]
_DATETIMES = ("occurred_from", "occurred_to", "reported_date")
_OUTCOME = ("last_outcome", "last_outcome_month")
_COMPARED = [c for c in RECORD_DB_COLUMNS if c not in ("source", "reference", *_OUTCOME)]
BATCH = 50_000


def _utc_strings(s: pd.Series) -> pd.Series:
    """Local wall-clock times (the force's time zone) to UTC ISO strings, None for missing."""
    s = pd.to_datetime(s)
    if s.dt.tz is None:
        s = s.dt.tz_localize(
            settings.TIME_ZONE, ambiguous=np.zeros(len(s), dtype=bool), nonexistent="shift_forward"
        )
    s = s.dt.tz_convert("UTC")
    out = s.dt.strftime("%Y-%m-%d %H:%M:%S")
    if connection.vendor == "postgresql":
        out = out + "+00:00"
    return out.astype(object).where(s.notna(), None)


def to_rows(frame: pd.DataFrame, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """Frame to DB-API rows, with None for every kind of missing value."""
    cols = {}
    for c in columns:
        s = frame[c]
        if c in _DATETIMES:
            cols[c] = _utc_strings(s)
        elif s.dtype == "boolean" or s.dtype.kind == "f":
            cols[c] = s.astype(object).where(s.notna(), None)
        elif s.dtype.kind in "bi":
            cols[c] = s.astype(object)
        else:
            cols[c] = s.astype(object).where(s.notna(), None)
    return list(zip(*(cols[c].tolist() for c in columns), strict=True))


def _distinct(a: str, b: str) -> str:
    return f"{a} IS DISTINCT FROM {b}" if connection.vendor == "postgresql" else f"{a} IS NOT {b}"


def _upsert_sql(source_sql: str, *, run_id: int, now: str) -> str:
    """INSERT ... ON CONFLICT DO UPDATE for changed rows.

    A row older than the stored version (``as_of``) never overwrites it. The last outcome
    is replaced only by one dated strictly later: an outcomes file for the same month is the
    more specific source, so ties go to it and re-imports do not flip-flop.
    """
    cols = ", ".join(f'"{c}"' for c in [*RECORD_DB_COLUMNS, "row_hash"])
    newer = (
        "excluded.last_outcome_month IS NOT NULL AND (crime_record.last_outcome_month IS NULL "
        "OR excluded.last_outcome_month > crime_record.last_outcome_month)"
    )
    sets = [f'"{c}" = excluded."{c}"' for c in _COMPARED]
    sets += [
        f"last_outcome = CASE WHEN {newer} THEN excluded.last_outcome ELSE crime_record.last_outcome END",
        f"last_outcome_month = CASE WHEN {newer} THEN excluded.last_outcome_month "
        "ELSE crime_record.last_outcome_month END",
        "row_hash = excluded.row_hash",
        f"import_run_id = {int(run_id)}",
        f"updated_at = '{now}'",
    ]
    changed = [_distinct(f'crime_record."{c}"', f'excluded."{c}"') for c in _COMPARED]
    changed.append(f"({newer} AND {_distinct('crime_record.last_outcome', 'excluded.last_outcome')})")
    current = "(excluded.as_of IS NULL OR crime_record.as_of IS NULL OR excluded.as_of >= crime_record.as_of)"
    return (
        f"INSERT INTO crime_record ({cols}, import_run_id, updated_at) {source_sql} "
        f"ON CONFLICT (source, reference) DO UPDATE SET {', '.join(sets)} "
        f"WHERE {current} AND ({' OR '.join(changed)})"
    )


def _count(cursor: Any, table: str) -> int:
    cursor.execute(f"SELECT COUNT(*) FROM {table}")
    return int(cursor.fetchone()[0])


def row_hashes(frame: pd.DataFrame) -> pd.Series:
    """A 63-bit hash of each record's source values (canonical columns only, not derived ones),
    to tell unchanged rows from changed ones without comparing every column in SQL."""
    h = pd.util.hash_pandas_object(frame[list(RECORD_COLUMNS)], index=False).to_numpy(dtype=np.uint64)
    return pd.Series((h >> np.uint64(1)).astype(np.int64), index=frame.index)


def _existing(cur: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """(source, reference) -> row_hash, as_of of the records already stored that this frame names."""
    keys = list(frame[["source", "reference"]].itertuples(index=False, name=None))
    if connection.vendor == "postgresql":
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS tmp_keys (source text, reference text)")
        cur.execute("TRUNCATE tmp_keys")
        with cur.cursor.copy("COPY tmp_keys FROM STDIN") as copy:
            for k in keys:
                copy.write_row(k)
        cur.execute(
            "ANALYZE tmp_keys"
        )  # temp tables have no statistics: without them the join plan is quadratic
    else:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS tmp_keys (source text, reference text)")
        cur.execute("DELETE FROM tmp_keys")
        cur.executemany("INSERT INTO tmp_keys VALUES (%s, %s)", keys)
    cur.execute(
        "SELECT c.source, c.reference, c.row_hash, c.as_of FROM crime_record c "
        "JOIN tmp_keys k ON c.source = k.source AND c.reference = k.reference"
    )
    rows = cur.fetchall()
    return pd.DataFrame(rows, columns=["source", "reference", "stored_hash", "stored_as_of"])


def upsert_records(frame: pd.DataFrame, *, run_id: int) -> tuple[int, int]:
    """Insert or update records; returns (inserted, updated). Call inside a transaction.

    Rows whose source values hash the same as the stored row are left alone; new rows are
    plain inserts (COPY on PostgreSQL); only changed rows go through the upsert statement.
    """
    if frame.empty:
        return 0, 0
    now = clock.now().astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") + (
        "+00:00" if connection.vendor == "postgresql" else ""
    )
    frame = frame.assign(row_hash=row_hashes(frame))
    with connection.cursor() as cur:
        existing = _existing(cur, frame)
        merged = frame.merge(existing, on=["source", "reference"], how="left", indicator=True)
        is_new = (merged["_merge"] == "left_only").to_numpy()
        changed = ~is_new & (merged["stored_hash"].to_numpy() != merged["row_hash"].to_numpy())
        new_rows, changed_rows = frame[is_new], frame[changed]
        for start in range(0, len(new_rows), BATCH):
            _insert_batch(cur, new_rows.iloc[start : start + BATCH], run_id=run_id, now=now)
        updated = 0
        for start in range(0, len(changed_rows), BATCH):
            rows = to_rows(changed_rows.iloc[start : start + BATCH], [*RECORD_DB_COLUMNS, "row_hash"])
            updated += _upsert_batch(cur, rows, run_id=run_id, now=now)
    return int(is_new.sum()), updated


_INSERT_COLUMNS = [*RECORD_DB_COLUMNS, "row_hash", "import_run_id", "updated_at"]


def _insert_batch(cur: Any, frame: pd.DataFrame, *, run_id: int, now: str) -> None:
    rows = to_rows(frame.assign(import_run_id=run_id, updated_at=now), _INSERT_COLUMNS)
    cols = ", ".join(f'"{c}"' for c in _INSERT_COLUMNS)
    if connection.vendor == "postgresql":
        with cur.cursor.copy(f"COPY crime_record ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    cur.executemany(
        f"INSERT INTO crime_record ({cols}) VALUES ({', '.join(['%s'] * len(_INSERT_COLUMNS))})", rows
    )


def _upsert_batch(cur: Any, rows: list[tuple[Any, ...]], *, run_id: int, now: str) -> int:
    cols = ", ".join(f'"{c}"' for c in [*RECORD_DB_COLUMNS, "row_hash"])
    if connection.vendor == "postgresql":
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS tmp_crime AS SELECT {cols} FROM crime_record WITH NO DATA"
        )
        cur.execute("TRUNCATE tmp_crime")
        with cur.cursor.copy(f"COPY tmp_crime ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(
            _upsert_sql(
                f"SELECT {cols}, {int(run_id)}, '{now}'::timestamptz FROM tmp_crime", run_id=run_id, now=now
            )
        )
        return int(cur.rowcount)
    placeholders = ", ".join(["%s"] * (len(RECORD_DB_COLUMNS) + 1))
    sql = _upsert_sql(f"VALUES ({placeholders}, {int(run_id)}, '{now}')", run_id=run_id, now=now)
    cur.executemany(sql, rows)
    return int(cur.rowcount)


def apply_outcomes(outcomes: pd.DataFrame, *, run_id: int) -> tuple[int, int]:
    """Update last outcomes; returns (updated, not found). An older outcome never replaces a newer one."""
    if outcomes.empty:
        return 0, 0
    rows = to_rows(outcomes, ["source", "reference", "last_outcome", "last_outcome_month"])
    newer = "(c.last_outcome_month IS NULL OR t.last_outcome_month >= c.last_outcome_month)"
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS tmp_outcome (source text, reference text, last_outcome text, "
                "last_outcome_month text)"
            )
            cur.execute("TRUNCATE tmp_outcome")
            with cur.cursor.copy("COPY tmp_outcome FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute("ANALYZE tmp_outcome")
            cur.execute(
                "SELECT COUNT(*) FROM tmp_outcome t LEFT JOIN crime_record c "
                "ON c.source = t.source AND c.reference = t.reference WHERE c.id IS NULL"
            )
            missing = int(cur.fetchone()[0])
            cur.execute(
                f"UPDATE crime_record c SET last_outcome = t.last_outcome, last_outcome_month = t.last_outcome_month, "
                f"import_run_id = {int(run_id)} FROM tmp_outcome t WHERE c.source = t.source AND c.reference = t.reference "
                f"AND {newer} AND (c.last_outcome IS DISTINCT FROM t.last_outcome "
                f"OR c.last_outcome_month IS DISTINCT FROM t.last_outcome_month)"
            )
            return int(cur.rowcount), missing
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS tmp_outcome (source text, reference text, last_outcome text, "
            "last_outcome_month text)"
        )
        cur.execute("DELETE FROM tmp_outcome")
        cur.executemany("INSERT INTO tmp_outcome VALUES (%s, %s, %s, %s)", rows)
        cur.execute(
            "SELECT COUNT(*) FROM tmp_outcome t WHERE NOT EXISTS (SELECT 1 FROM crime_record c "
            "WHERE c.source = t.source AND c.reference = t.reference)"
        )
        missing = int(cur.fetchone()[0])
        cur.execute(
            "UPDATE crime_record AS c SET last_outcome = t.last_outcome, last_outcome_month = t.last_outcome_month, "
            f"import_run_id = {int(run_id)} FROM tmp_outcome AS t WHERE c.source = t.source AND c.reference = t.reference "
            f"AND {newer} AND (c.last_outcome IS NOT t.last_outcome OR c.last_outcome_month IS NOT t.last_outcome_month)"
        )
        return int(cur.rowcount), missing


def upsert_people(persons: pd.DataFrame, links: pd.DataFrame) -> int:
    """Insert persons (by person_id) and crime-person links; returns links added."""
    if links.empty and persons.empty:
        return 0
    with connection.cursor() as cur:
        if not persons.empty:
            prow = to_rows(persons, ["person_id", "source", "display_name", "year_of_birth", "synthetic"])
            cur.executemany(
                "INSERT INTO person (person_id, source, display_name, year_of_birth, synthetic) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (person_id) DO UPDATE SET display_name = excluded.display_name, "
                "year_of_birth = excluded.year_of_birth",
                [(r[0], r[1], r[2] or "", r[3], bool(r[4])) for r in prow],
            )
        if links.empty:
            return 0
        _ensure_link_people(cur, links)
        lrows = to_rows(links, ["source", "reference", "person_id", "role"])
        before = _count(cur, "crime_person_link")
        cur.executemany(
            "INSERT INTO crime_person_link (record_id, person_id, role) "
            "SELECT c.id, p.id, %s FROM crime_record c, person p WHERE c.source = %s AND c.reference = %s "
            "AND p.person_id = %s ON CONFLICT DO NOTHING",
            [(r[3], r[0], r[1], r[2]) for r in lrows],
        )
        return _count(cur, "crime_person_link") - before


def _ensure_link_people(cur: Any, links: pd.DataFrame) -> None:
    ids: Iterable[tuple[str, str]] = (
        links[["person_id", "source"]].drop_duplicates().itertuples(index=False, name=None)
    )
    cur.executemany(
        "INSERT INTO person (person_id, source, display_name, synthetic) VALUES (%s, %s, '', false) "
        "ON CONFLICT (person_id) DO NOTHING",
        list(ids),
    )
