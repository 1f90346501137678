"""Fast, all-or-nothing, set-based writes of canonical records into the database.

A file is written in two steps, inside the caller's transaction:

1. **Stage.** Each chunk the reader yields (memory flat in the file's size) goes into temporary
   staging tables as it comes: on PostgreSQL one ``COPY ... FORMAT csv`` per chunk, its payload
   written by pyarrow from the columns (no Python per row; a column with one value on every row is
   sent once, as its default); on SQLite one ``executemany`` per chunk.
2. **Merge.** Once the whole file has been read and found valid, a few set-based statements merge
   the staging tables into the live ones: repeats within the file are merged (the reader says
   whether the first or the last row wins), then one ``INSERT ... SELECT ... ON CONFLICT (source,
   reference) DO UPDATE ... WHERE <changed>`` upserts every record, an ``UPDATE ... FROM`` applies
   outcomes, and two ``INSERT ... SELECT`` add people and their links.

A repeat import updates rather than duplicates, and a row whose values are all equal is left alone,
so a second identical import changes nothing. A row older than the stored version (``as_of``)
never overwrites it, and an outcome never rolls back to an older one. If the reader finds a bad row
anywhere in the file, it raises after staging and the caller's transaction undoes everything.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.conf import settings
from django.db import connection

from rasure.ingest.common import Batch, StreamedFile
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
_STAGED_RECORD = ["seq", *RECORD_DB_COLUMNS, "row_hash"]
_OUTCOME_COLUMNS = ["seq", "source", "reference", "last_outcome", "last_outcome_month"]
_LINK_COLUMNS = ["source", "reference", "person_id", "role"]


@dataclass(frozen=True)
class Written:
    """What merging one file changed."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0  # rows of the file merged into an earlier or later row with the same reference
    without_location: int = 0
    outcomes_not_found: int = 0
    links_added: int = 0


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _now_sql() -> str:
    now = clock.now().astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"'{now}+00:00'::timestamptz" if _pg() else f"'{now}'"


# --- payloads -----------------------------------------------------------------------------------------


def _utc(s: pd.Series) -> pd.Series:
    """Local wall-clock times (the force's time zone) to UTC; NaT stays missing."""
    s = pd.to_datetime(s)
    if s.dt.tz is None:
        s = s.dt.tz_localize(
            settings.TIME_ZONE, ambiguous=np.zeros(len(s), dtype=bool), nonexistent="shift_forward"
        )
    return s.dt.tz_convert("UTC").dt.as_unit("s")


def _datetimes(s: pd.Series) -> pa.Array:
    """A datetime column as the text stored: UTC (:func:`_utc`), in PostgreSQL's ``timestamptz``
    input form (``2024-03-01 00:00:00+00``) or Django's text form on SQLite; missing as null.
    Converted and formatted once per distinct value (a file's records share a few months), then
    spread back to the rows: pyarrow's CSV writer formatted a timestamp column at ~1.3 us a value,
    most of the time it took to write a staged police.uk chunk."""
    codes, uniques = pd.factorize(pd.to_datetime(s))  # NaT: code -1
    utc = _utc(pd.Series(uniques))
    if _pg():
        distinct = pa.array(utc.dt.strftime("%Y-%m-%d %H:%M:%S+00"), type=pa.string())
    else:
        distinct = pa.array(utc.dt.tz_localize(None), type=pa.timestamp("s")).cast(pa.string())
    return distinct.take(pa.array(codes, mask=codes < 0))


def _arrow(frame: pd.DataFrame, columns: Sequence[str]) -> pa.Table:
    """The columns as an Arrow table, datetimes in UTC (SQLite: Django's text form), missing as null."""
    cols: dict[str, Any] = {}
    for c in columns:
        s = frame[c]
        cols[c] = _datetimes(s) if c in _DATETIMES else pa.array(s, from_pandas=True)
    return pa.table(cols)


def _values(col: pa.Array | pa.ChunkedArray) -> list[Any]:
    """A column's values as Python objects, None for null: what ``to_pylist`` gives, made by numpy
    (a text column's distinct values become Python strings once, shared by their rows)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        enc = pc.dictionary_encode(col)
        words = np.array([*enc.dictionary.to_pylist(), None], dtype=object)
        at = pc.fill_null(enc.indices, len(enc.dictionary)).to_numpy(zero_copy_only=False)
        out: list[Any] = words[at].tolist()
        return out
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        if not col.null_count:
            # numpy's tolist gives Python ints, floats and bools, as to_pylist does
            plain: list[Any] = col.to_numpy(zero_copy_only=False).tolist()
            return plain
        filled = pc.fill_null(col, pa.scalar(False if pa.types.is_boolean(t) else 0, t))
        obj = filled.to_numpy(zero_copy_only=False).astype(object)
        obj[col.is_null().to_numpy(zero_copy_only=False)] = None
        some: list[Any] = obj.tolist()
        return some
    rest: list[Any] = col.to_pylist()
    return rest


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    """DB-API rows from an Arrow table (for SQLite's executemany)."""
    return list(zip(*(_values(col) for col in table.columns), strict=True))


def to_rows(frame: pd.DataFrame, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """Frame to DB-API rows, with None for every kind of missing value."""
    return _rows(_arrow(frame, columns))


def _one_value(col: pa.Array | pa.ChunkedArray) -> str | int | bool | None:
    """The value every row of the column holds, if it is one text, integer or boolean value (a file's
    source, month, force...); else None (a float too: its literal could round)."""
    if col.null_count or not len(col):
        return None
    t = col.type
    if not any(
        f(t) for f in (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer, pa.types.is_boolean)
    ):
        return None
    lo, hi = pc.min_max(col).values()
    if lo != hi:
        return None
    value = lo.as_py()
    if not isinstance(value, str | int) or (isinstance(value, str) and "\x00" in value):
        return None
    return value


def _sql_literal(col: pa.Array | pa.ChunkedArray) -> str | None:
    """SQLite: the SQL literal of a column whose rows all hold one value (:func:`_one_value`), so the
    statement holds it once instead of binding it on every row (the value stored is the same). None
    for any other column. ``%`` is doubled for the DB-API's ``format`` parameter style."""
    value = _one_value(col)
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''").replace("%", "%%") + "'"


def _stage(cur: Any, table: str, frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Append ``frame`` to a staging table: COPY on PostgreSQL, executemany on SQLite. A column null
    on every row is left out (null is the staging tables' default). A column with one value on every
    row (:func:`_one_value`) is written once: on SQLite as a literal in the statement
    (:func:`_sql_literal`), on PostgreSQL as the column's default while the chunk is copied
    (:func:`_copy`)."""
    data = _arrow(frame, columns)
    keep = [c for c in columns if data[c].null_count < len(data)] or list(columns[:1])
    if _pg():
        _copy(cur, table, data.select(keep))
        return
    marks = {c: _sql_literal(data[c]) for c in keep}
    bound = [c for c in keep if marks[c] is None] or keep[:1]
    cols = ", ".join(f'"{c}"' for c in keep)
    values = ", ".join("%s" if c in bound else str(marks[c]) for c in keep)
    rows = list(zip(*(_values(data[c]) for c in bound), strict=True))
    cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({values})", rows)


def _copy(cur: Any, table: str, data: pa.Table) -> None:
    """PostgreSQL: ``COPY`` the columns of ``data`` into a staging table, those holding one value on
    every row (a police.uk street file's source, months, force, times...) not sent but set as the
    column's default for the ``COPY``, and dropped after it (a failed ``COPY`` rolls them back). The
    rows hold the same values; the server parses each such value once, not once a row. A Gwent
    street file's payload of 5,200 records: 1.6 MB instead of 2.4 MB. Over the 72 Gwent files
    (345,129 rows; three runs each way, alternating, 2 cores) writing the payloads took 0.19-0.26 s
    instead of 0.77-0.99 s (with the datetimes formatted once per value, :func:`_datetimes`) and the
    server's ``COPY`` 0.95-1.16 s instead of 1.05-1.36 s."""
    one = {c: _one_value(data[c]) for c in data.column_names}
    fixed = [c for c in data.column_names if one[c] is not None]
    sent = [c for c in data.column_names if c not in fixed] or fixed[:1]
    fixed = [c for c in fixed if c not in sent]
    from psycopg import sql  # the PostgreSQL driver: only here

    raw = cur.cursor
    if fixed:
        sets = ", ".join(
            f'ALTER COLUMN "{c}" SET DEFAULT {sql.Literal(one[c]).as_string(raw)}' for c in fixed
        )
        cur.execute(f"ALTER TABLE {table} {sets}")
    buf = io.BytesIO()
    pacsv.write_csv(
        data.select(sent), buf, pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    )
    cols = ", ".join(f'"{c}"' for c in sent)
    with raw.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(buf.getbuffer())
    if fixed:
        drops = ", ".join(f'ALTER COLUMN "{c}" DROP DEFAULT' for c in fixed)
        cur.execute(f"ALTER TABLE {table} {drops}")


def row_hashes(frame: pd.DataFrame) -> pd.Series:
    """A 63-bit hash of each record's source values (canonical columns only, not derived ones),
    stored with the record so a later reader can tell which version it holds:
    ``pd.util.hash_pandas_object`` of the canonical columns (values only), shifted to 63 bits."""
    h = pd.util.hash_pandas_object(frame[list(RECORD_COLUMNS)], index=False).to_numpy(dtype=np.uint64)
    return pd.Series((h >> np.uint64(1)).astype(np.int64), index=frame.index)


# --- staging tables -------------------------------------------------------------------------------------


def _create_staging(cur: Any) -> None:
    """Empty temporary staging tables, shaped like the live ones (per connection, so per process)."""
    cols = ", ".join(f'"{c}"' for c in [*RECORD_DB_COLUMNS, "row_hash"])
    if _pg():
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS stage_record AS SELECT 0::bigint AS seq, {cols} "
            "FROM crime_record WITH NO DATA"
        )
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS stage_outcome (seq bigint, source text, reference text, "
            "last_outcome text, last_outcome_month text)"
        )
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS stage_link (source text, reference text, person_id text, role text)"
        )
        cur.execute("TRUNCATE stage_record, stage_outcome, stage_link")
        return
    cur.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS stage_record AS SELECT 0 AS seq, {cols} FROM crime_record WHERE 0"
    )
    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS stage_outcome (seq integer, source text, reference text, "
        "last_outcome text, last_outcome_month text)"
    )
    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS stage_link (source text, reference text, person_id text, role text)"
    )
    for t in ("stage_record", "stage_outcome", "stage_link"):
        cur.execute(f"DELETE FROM {t}")


class Stager:
    """Stages batches of records, outcomes and links, numbering rows in file order."""

    def __init__(self, cur: Any, *, derive: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> None:
        self.cur = cur
        self.derive = derive
        self.seq = 0
        self.staged = {"stage_record": 0, "stage_outcome": 0, "stage_link": 0}  # rows in each table
        self.without_location = 0  # staged records without easting or northing (before repeats merge)
        self._keys: dict[str, list[np.ndarray]] = {"stage_record": [], "stage_outcome": []}
        _create_staging(cur)

    def _remember_keys(self, table: str, frame: pd.DataFrame) -> None:
        """A 64-bit hash of each staged reference: 8 bytes a row, so :meth:`may_repeat` can tell
        without asking the database that a file repeats no (source, reference) (the usual case)."""
        reference = pd.util.hash_pandas_object(frame["reference"], index=False).to_numpy(dtype=np.uint64)
        self._keys[table].append(reference)

    def may_repeat(self, table: str) -> bool:
        """False only if no (source, reference) was staged twice in ``table``: equal keys have equal
        references and these hash alike, so distinct hashes prove distinct keys (a collision, or one
        reference under two sources, merely sends the check to the database)."""
        parts = self._keys[table]
        if not parts:
            return False
        h = np.sort(np.concatenate(parts))
        return bool((h[1:] == h[:-1]).any())

    def _numbered(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.reset_index(drop=True).assign(
            seq=np.arange(self.seq, self.seq + len(frame), dtype=np.int64)
        )
        self.seq += len(frame)
        return out

    def records(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        if self.derive is not None:
            frame = self.derive(frame)
        frame = frame.assign(row_hash=row_hashes(frame))
        self._remember_keys("stage_record", frame)
        _stage(self.cur, "stage_record", self._numbered(frame), _STAGED_RECORD)
        self.staged["stage_record"] += len(frame)
        self.without_location += int((frame["easting"].isna() | frame["northing"].isna()).sum())

    def outcomes(self, frame: pd.DataFrame) -> None:
        if not frame.empty:
            self._remember_keys("stage_outcome", frame)
            _stage(self.cur, "stage_outcome", self._numbered(frame), _OUTCOME_COLUMNS)
            self.staged["stage_outcome"] += len(frame)

    def links(self, frame: pd.DataFrame) -> None:
        if not frame.empty:
            _stage(self.cur, "stage_link", frame, _LINK_COLUMNS)
            self.staged["stage_link"] += len(frame)


@contextlib.contextmanager
def staging_on_disk() -> Iterator[None]:
    """SQLite: while an import runs, temporary tables live in a temporary file behind a bounded page
    cache instead of in memory (the connection's ``temp_store=MEMORY``), and the database's own page
    cache is bounded too (:data:`IMPORT_CACHE_KIB`), so importing a file of any size takes the same
    memory. The temporary file is scratch space, never synced and deleted at close;
    committed data keeps its durability. Changing ``temp_store`` drops the temporary tables and is
    refused inside a transaction, so this is done only outside one (else nothing changes).
    PostgreSQL: staging is the server's business; nothing to do."""
    if _pg() or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cur:
        before = _one(cur, "PRAGMA temp_store")
        main_cache = _one(cur, "PRAGMA main.cache_size")
        cur.execute("PRAGMA temp_store = FILE")
        cur.execute(f"PRAGMA temp.cache_size = -{TEMP_CACHE_KIB}")
        cur.execute(f"PRAGMA main.cache_size = -{IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA temp_store = {int(before)}")
            cur.execute(f"PRAGMA main.cache_size = {int(main_cache)}")


#: SQLite: KiB of page cache for the staging tables during an import (beyond it pages spill to the
#: temporary file). A chunk of ~10,000 police.uk rows stages about 4 MiB (half of 20,000 rows), so a file
#: of a few chunks fills it.
TEMP_CACHE_KIB = 8 << 10
#: SQLite: KiB of page cache for the database itself during an import. The connection's own cache
#: (settings: 128 MiB, for reading) filled with the pages an import writes and the summary reads, so
#: a bigger file took more memory; beyond this bound dirty pages spill to the write-ahead log, which
#: the transaction writes anyway. SQLite's sorter (the summary's ``GROUP BY``) also keeps up to this
#: much in memory before it spills to the temporary file. At 32 MiB for this and the staging cache,
#: a one-file import's SQLite memory rose from 32 MiB (25 k rows) to 99 MiB (600 k rows,
#: ``sqlite3_memory_highwater``); at 8 MiB each it is bounded near 24 MiB. Restored when the import
#: ends.
IMPORT_CACHE_KIB = 8 << 10


# --- merging --------------------------------------------------------------------------------------------


def _one(cur: Any, sql: str) -> int:
    cur.execute(sql)
    return int(cur.fetchone()[0] or 0)


def _distinct(a: str, b: str) -> str:
    return f"{a} IS DISTINCT FROM {b}" if _pg() else f"{a} IS NOT {b}"


def _merge_repeats(cur: Any, table: str, keep: str, staged: int, *, may_repeat: bool = True) -> int:
    """Keep one row per (source, reference) in a staging table of ``staged`` rows; returns the number
    of rows merged. ``may_repeat=False``: the caller knows no key repeats (nothing to count)."""
    distinct = staged
    if may_repeat:
        distinct = _one(cur, f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} GROUP BY source, reference) d")
    if staged > distinct:
        pick = "MIN" if keep == "first" else "MAX"
        cur.execute(
            f"DELETE FROM {table} WHERE seq NOT IN (SELECT {pick}(seq) FROM {table} GROUP BY source, reference)"
        )
    return staged - distinct


#: The tables written in bulk (imports, the synthetic city) that the dashboard and the hot-people
#: lists join: :func:`refresh_statistics` analyses them.
BULK_TABLES = ("crime_record", "person", "crime_person_link")


def refresh_statistics() -> None:
    """PostgreSQL: ``ANALYZE`` the tables of :data:`BULK_TABLES` after an import or the synthetic
    city, so the planner knows how many records, people and links a force has. Autovacuum would get
    there in its own time; the first view should not wait for it. With the statistics of empty tables
    it planned the dashboard's records summary as a sort spilling to disk (841 ms at 200,000 Gwent
    records; 240 ms once analysed), and the hot-people involvements (links joined to records and
    people) as a nested loop scanning every record once per link: 13.3 s instead of 0.18 s for the
    test city's 8,046 involvements, so the people list took 9 s and the list monitoring 13 s.
    SQLite keeps no such statistics by default: nothing to do."""
    if _pg():
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {', '.join(BULK_TABLES)}")


def _tenant_of_run(cur: Any, run_id: int) -> int:
    """The force an import run writes for (every record of the run belongs to it)."""
    cur.execute("SELECT tenant_id FROM import_run WHERE id = %s", [int(run_id)])
    row = cur.fetchone()
    if row is None or row[0] is None:
        raise ValueError(f"import run {run_id} has no force")
    return int(row[0])


def _changes(old: str, new: str) -> str:
    """When the staged row ``new`` overwrites the stored record ``old`` (table names or aliases): it is
    not older (``as_of``) and some value differs, or it brings a later outcome that differs."""
    newer = (
        f"{new}.last_outcome_month IS NOT NULL AND ({old}.last_outcome_month IS NULL "
        f"OR {new}.last_outcome_month > {old}.last_outcome_month)"
    )
    changed = [_distinct(f'{old}."{c}"', f'{new}."{c}"') for c in _COMPARED]
    changed.append(f"({newer} AND {_distinct(f'{old}.last_outcome', f'{new}.last_outcome')})")
    current = f"({new}.as_of IS NULL OR {old}.as_of IS NULL OR {new}.as_of >= {old}.as_of)"
    return f"{current} AND ({' OR '.join(changed)})"


def _upsert_sql(*, run_id: int, tenant: int, skip_unchanged: bool = False) -> str:
    """INSERT ... SELECT ... ON CONFLICT DO UPDATE for changed rows, from the staging table.

    A row older than the stored version (``as_of``) never overwrites it. The last outcome
    is replaced only by one dated strictly later: an outcomes file for the same month is the
    more specific source, so ties go to it and re-imports do not flip-flop.

    ``skip_unchanged``: staged rows the upsert would leave alone (a stored record that they would not
    change, by the same test as its ``WHERE``) are left out of the ``SELECT`` by an anti-join on
    (tenant, source, reference), so they never reach ``ON CONFLICT``, which locks every conflicting
    row (on PostgreSQL a WAL record each) before it evaluates the ``WHERE``. Same rows changed, same
    counts; worth it when most staged rows are stored already (:func:`_mostly_stored`).
    """
    cols = ", ".join(f'"{c}"' for c in [*RECORD_DB_COLUMNS, "row_hash"])
    newer = (
        "excluded.last_outcome_month IS NOT NULL AND (crime_record.last_outcome_month IS NULL "
        "OR excluded.last_outcome_month > crime_record.last_outcome_month)"
    )
    now = _now_sql()
    sets = [f'"{c}" = excluded."{c}"' for c in _COMPARED]
    sets += [
        f"last_outcome = CASE WHEN {newer} THEN excluded.last_outcome ELSE crime_record.last_outcome END",
        f"last_outcome_month = CASE WHEN {newer} THEN excluded.last_outcome_month "
        "ELSE crime_record.last_outcome_month END",
        "row_hash = excluded.row_hash",
        f"import_run_id = {int(run_id)}",
        f"updated_at = {now}",
    ]
    # "WHERE true": SQLite needs a WHERE to tell ON CONFLICT from a join constraint after a SELECT
    rows = "stage_record WHERE true"
    if skip_unchanged:
        rows = (
            "stage_record AS s WHERE NOT EXISTS (SELECT 1 FROM crime_record AS c WHERE "
            f"c.tenant_id = {int(tenant)} AND c.source = s.source AND c.reference = s.reference "
            f"AND ({_changes('c', 's')}) IS NOT TRUE)"
        )
    return (
        f"INSERT INTO crime_record ({cols}, import_run_id, tenant_id, updated_at) "
        f"SELECT {cols}, {int(run_id)}, {int(tenant)}, {now} FROM {rows} "
        f"ON CONFLICT (tenant_id, source, reference) DO UPDATE SET {', '.join(sets)} "
        f"WHERE {_changes('crime_record', 'excluded')}"
    )


#: How many staged records :func:`_mostly_stored` looks up.
_SAMPLE = 64


def _mostly_stored(cur: Any, tenant: int) -> bool:
    """Whether most of a sample of the staged records (the first :data:`_SAMPLE` in the table) are
    stored already, as on a repeat import: a choice of plan only, the upsert's result is the same."""
    cur.execute(
        f"SELECT COUNT(*), COUNT(c.id) FROM (SELECT source, reference FROM stage_record LIMIT {_SAMPLE}) AS s "
        f"LEFT JOIN crime_record AS c ON c.tenant_id = {int(tenant)} AND c.source = s.source "
        "AND c.reference = s.reference"
    )
    n, stored = (int(v) for v in cur.fetchone())
    return 2 * stored > n


def _merge_records(
    cur: Any,
    *,
    keep: str,
    run_id: int,
    staged: int,
    may_repeat: bool = True,
    tenant: int | None = None,
    without: int | None = None,
) -> tuple[int, int, int, int, int]:
    """(inserted, updated, unchanged, merged, without location) of the ``staged`` records (``tenant``:
    the run's force, if the caller has looked it up; ``without``: the staged records without a
    location, if the caller counted them, which holds after the merge of repeats if none merged)."""
    if not staged:
        return 0, 0, 0, 0, 0
    merged = _merge_repeats(cur, "stage_record", keep, staged, may_repeat=may_repeat)
    distinct = staged - merged
    if without is None or merged:
        without = _one(cur, "SELECT COUNT(*) FROM stage_record WHERE easting IS NULL OR northing IS NULL")
    if tenant is None:
        tenant = _tenant_of_run(cur, run_id)
    skip = _mostly_stored(cur, tenant)
    with _index_joins(cur) if skip else contextlib.nullcontext():  # the anti-join probes the index
        sql = _upsert_sql(run_id=run_id, tenant=tenant, skip_unchanged=skip)
        if _pg():
            # xmax = 0 marks a row this statement inserted (not one it updated): no second join needed
            cur.execute(
                f"WITH up AS ({sql} RETURNING (xmax = 0) AS ins) SELECT COUNT(*) FILTER (WHERE ins), COUNT(*) FROM up"
            )
            inserted, changed = (int(v) for v in cur.fetchone())
        else:
            # ids are AUTOINCREMENT on SQLite: every row this statement inserts has an id above today's
            # largest, so counting them is a range of the primary key, not a join of the staged rows
            top = _one(cur, "SELECT MAX(id) FROM crime_record")
            cur.execute(sql)
            changed = int(cur.rowcount)
            inserted = _one(cur, f"SELECT COUNT(*) FROM crime_record WHERE id > {top}")
    updated = changed - inserted
    return inserted, updated, distinct - inserted - updated, merged, without


def _fresh_statistics(cur: Any) -> None:
    """PostgreSQL: ``ANALYZE crime_record`` when the table has grown to more than twice the pages its
    statistics were taken on (its size on disk, which counts this transaction's own uncommitted rows,
    against ``pg_class.relpages``). With the statistics of a nearly empty table the planner scans a
    force's every record once per staged outcome (a nested loop over a materialised bitmap scan:
    minutes per Gwent outcomes file at 200 k records). The server's live-row counter was used before,
    but it moves only when a transaction commits, so an import inside one transaction (several files
    in one command, or a test) never analysed: 75 s instead of 3 s for three months of Gwent.
    Analysing at each doubling costs a few sample scans over a whole import; only the columns the
    import's joins look up are analysed (the others are analysed by :func:`refresh_statistics` once
    the import is done): 108 ms instead of 371 ms for the whole row at 201,633 Gwent records."""
    cur.execute(
        "SELECT relpages, pg_relation_size(oid) / current_setting('block_size')::int FROM pg_class "
        "WHERE oid = 'crime_record'::regclass"
    )
    row = cur.fetchone()
    if row is not None and float(row[1] or 0) > 2 * max(float(row[0] or 0), 0) + 40:
        cur.execute("ANALYZE crime_record (tenant_id, source, reference)")


@contextlib.contextmanager
def _index_joins(cur: Any) -> Iterator[None]:
    """Joins from a staging table probe the live table's (source, reference) index.

    During a long import PostgreSQL's statistics of ``crime_record`` lag behind its growth (no
    autovacuum inside a transaction), and it then hashes or sorts the whole table to join a few
    thousand staged rows — measured at 0.3-1.5 s per file on a 200 k-record table. A staged file is
    a small part of the table, or else the table is small, so index probes are the right plan."""
    if not _pg():
        yield
        return
    _fresh_statistics(cur)
    cur.execute("SET LOCAL enable_hashjoin = off")
    cur.execute("SET LOCAL enable_mergejoin = off")
    try:
        yield
    finally:
        cur.execute("RESET enable_hashjoin")
        cur.execute("RESET enable_mergejoin")


def _merge_outcomes(
    cur: Any, *, keep: str, run_id: int, staged: int, may_repeat: bool = True, tenant: int | None = None
) -> tuple[int, int, int]:
    """(updated, not found, merged) for the staged outcomes (``tenant`` as for :func:`_merge_records`).
    An older outcome never replaces a newer one.

    PostgreSQL: one statement joins the staged outcomes to the force's records once (index probes
    of (tenant, source, reference)); the records to change are then updated by primary key, and the
    outcomes whose crime is not there are counted from the same join. Measured on the 36 Gwent
    outcomes files after their street files: the separate ``NOT EXISTS`` count it replaces was a
    second full join, ~1.3 s of the import. The staged outcomes are not analysed: with hash and merge
    joins off (:func:`_index_joins`) the plan is the same without statistics (EXPLAIN ANALYZE on the
    first and the thirtieth Gwent outcomes file), and analysing took ~5 ms a file.
    SQLite: a count and an ``UPDATE ... FROM``."""
    if not staged:
        return 0, 0, 0
    merged = _merge_repeats(cur, "stage_outcome", keep, staged, may_repeat=may_repeat)
    if tenant is None:
        tenant = _tenant_of_run(cur, run_id)
    newer = "(c.last_outcome_month IS NULL OR t.last_outcome_month >= c.last_outcome_month)"
    differs = (
        f"({_distinct('c.last_outcome', 't.last_outcome')} "
        f"OR {_distinct('c.last_outcome_month', 't.last_outcome_month')})"
    )
    join = f"c.tenant_id = {tenant} AND c.source = t.source AND c.reference = t.reference"
    if _pg():
        # keys are unique in stage_outcome (repeats merged above), so each record is matched once
        cur.execute(
            "WITH m AS MATERIALIZED (SELECT c.id, t.last_outcome, t.last_outcome_month, "
            f"({newer} AND {differs}) AS change FROM stage_outcome AS t LEFT JOIN crime_record AS c ON {join}), "
            "u AS (UPDATE crime_record AS c SET last_outcome = m.last_outcome, "
            f"last_outcome_month = m.last_outcome_month, import_run_id = {int(run_id)} "
            "FROM m WHERE c.id = m.id AND m.change RETURNING 1) "
            "SELECT (SELECT COUNT(*) FROM u), COUNT(*) FILTER (WHERE m.id IS NULL) FROM m"
        )
        updated, missing = (int(v) for v in cur.fetchone())
        return updated, missing, merged
    # SQLite: the join once into a scratch table (the records found, and whether each changes), the
    # outcomes not found counted from it, the changes applied by rowid
    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS stage_match (id integer, last_outcome text, "
        "last_outcome_month text, change integer)"
    )
    cur.execute("DELETE FROM stage_match")
    cur.execute(
        "INSERT INTO stage_match SELECT c.id, t.last_outcome, t.last_outcome_month, "
        f"({newer} AND {differs}) FROM stage_outcome AS t JOIN crime_record AS c ON {join}"
    )
    missing = staged - merged - int(cur.rowcount)  # keys are unique now: each matches one record or none
    cur.execute(
        "UPDATE crime_record SET last_outcome = m.last_outcome, last_outcome_month = m.last_outcome_month, "
        f"import_run_id = {int(run_id)} FROM stage_match AS m WHERE crime_record.id = m.id AND m.change"
    )
    updated = int(cur.rowcount)
    cur.execute("DELETE FROM stage_match")
    return updated, missing, merged


def _merge_links(cur: Any, staged: int, *, tenant: int) -> int:
    """People named by the staged links (added without a name if new, as the force's people: a force's
    person ids are its own) and the links themselves."""
    if not staged:
        return 0
    cur.execute(
        "INSERT INTO person (person_id, source, display_name, synthetic, tenant_id) "
        f"SELECT person_id, MIN(source), '', false, {int(tenant)} FROM stage_link WHERE true GROUP BY person_id "
        "ON CONFLICT (tenant_id, person_id) DO NOTHING"
    )
    cur.execute(
        "INSERT INTO crime_person_link (record_id, person_id, role) "
        "SELECT DISTINCT c.id, p.id, l.role FROM stage_link l "
        f"JOIN crime_record c ON c.tenant_id = {int(tenant)} AND c.source = l.source AND c.reference = l.reference "
        f"JOIN person p ON p.tenant_id = {int(tenant)} AND p.person_id = l.person_id WHERE true ON CONFLICT DO NOTHING"
    )
    return int(cur.rowcount)


def merge_people(cur: Any, staged: int, *, run_id: int, tenant: int | None = None) -> int:
    """Merge the ``staged`` links to the records of the run's force (``tenant``, if the caller has
    looked it up; a separate step so a failure here is seen to undo the whole file)."""
    if not staged:
        return 0
    return _merge_links(cur, staged, tenant=_tenant_of_run(cur, run_id) if tenant is None else tenant)


# --- entry points ---------------------------------------------------------------------------------------


def write_file(
    file: StreamedFile,
    *,
    run_id: int,
    derive: Callable[[pd.DataFrame], pd.DataFrame],
    batches: Iterable[Batch],
) -> Written:
    """Stream ``batches`` (``file.batches()``, or read ahead of the writer: see :mod:`.readahead`) into
    the staging tables, then merge them. Call inside a transaction: raises the reader's
    :class:`~rasure.errors.InvalidRowsError` (after staging) if any row is bad."""
    with connection.cursor() as cur:
        stager = Stager(cur, derive=derive)
        for batch in batches:
            stager.records(batch.records)
            stager.outcomes(batch.outcomes)
            stager.links(batch.links)
            # Arrow's allocator (mimalloc) keeps the pages of the buffers a chunk freed unless told, and
            # they added up over a large file (see rasure.ingest.common.BLOCK_BYTES)
            pa.default_memory_pool().release_unused()
        file.raise_problems()
        n = stager.staged
        tenant = _tenant_of_run(cur, run_id)  # once for the file's merges
        inserted, updated, unchanged, merged, without = _merge_records(
            cur,
            keep=file.keep,
            run_id=run_id,
            staged=n["stage_record"],
            may_repeat=stager.may_repeat("stage_record"),
            tenant=tenant,
            without=stager.without_location,
        )
        with _index_joins(cur):
            o_updated, not_found, o_merged = _merge_outcomes(
                cur,
                keep=file.keep,
                run_id=run_id,
                staged=n["stage_outcome"],
                may_repeat=stager.may_repeat("stage_outcome"),
                tenant=tenant,
            )
            links = merge_people(cur, n["stage_link"], run_id=run_id, tenant=tenant)
    return Written(
        inserted=inserted,
        updated=updated + o_updated,
        unchanged=unchanged,
        merged=merged + o_merged,
        without_location=without,
        outcomes_not_found=not_found,
        links_added=links,
    )


def upsert_records(frame: pd.DataFrame, *, run_id: int) -> tuple[int, int]:
    """Insert or update derived records held in memory; returns (inserted, updated). Call inside a
    transaction. Keys must be unique in ``frame``."""
    if frame.empty:
        return 0, 0
    with connection.cursor() as cur:
        stager = Stager(cur)
        stager.records(frame)
        inserted, updated, *_ = _merge_records(
            cur,
            keep="last",
            run_id=run_id,
            staged=stager.staged["stage_record"],
            may_repeat=stager.may_repeat("stage_record"),
        )
    return inserted, updated


def upsert_people(persons: pd.DataFrame, links: pd.DataFrame, *, run_id: int) -> int:
    """Insert persons (by person_id) and links to the crimes of the run's force; returns links added."""
    if links.empty and persons.empty:
        return 0
    with connection.cursor() as cur:
        if not persons.empty:
            tenant = _tenant_of_run(cur, run_id)
            prow = to_rows(persons, ["person_id", "source", "display_name", "year_of_birth", "synthetic"])
            cur.executemany(
                "INSERT INTO person (person_id, source, display_name, year_of_birth, synthetic, tenant_id) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, person_id) DO UPDATE SET "
                "display_name = excluded.display_name, year_of_birth = excluded.year_of_birth",
                [(r[0], r[1], r[2] or "", r[3], bool(r[4]), tenant) for r in prow],
            )
        if links.empty:
            return 0
        stager = Stager(cur)
        stager.links(links)
        return merge_people(cur, stager.staged["stage_link"], run_id=run_id)
