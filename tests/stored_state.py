"""Replay, within one test process, of rows a test helper stored in an empty database.

Storing the synthetic city and building its hot spots took 5-10 s a test on the 2-core machine under
load, paid by some 200 tests. The rows it writes depend only on its inputs and on the clock, so per
test process (one xdist worker, one test database) the first call does the real work inside its test's
transaction and keeps a copy of every row it wrote; a later call on a database in the same state as
before that first call (same rows in every table, byte for byte) inserts the copy again, with the same
primary keys, and moves the sequences on (PostgreSQL; SQLite's sqlite_sequence follows explicit ids).

Timestamps the build wrote from the clock (every value of a date-time column within the build's own
start and end, e.g. ``import_run.finished_at``) are moved by the time since the first call, so they
read as written now. A copy is not made, and the real build runs every time, when the build changed a
table that had rows before it, or wrote a column partly from the clock and partly not; it is not
replayed, and the real build runs, when the database is in any other state than before the first call,
or when the copy holds today's date (as a date, or in text) and the date has changed since.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

#: Within this much of the build's start and end, a date-time value was written from the clock.
_SLACK = timedelta(seconds=1)


@dataclass(frozen=True)
class _Table:
    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    moved: tuple[int, ...]  # positions of the columns written from the clock


@dataclass(frozen=True)
class _Copy:
    database: str
    before: tuple[Any, ...]
    started: datetime
    dates: frozenset[date]  # the build's own dates, if the copy holds one of them
    tables: tuple[_Table, ...]
    result: Any


_COPIES: dict[Hashable, _Copy] = {}


def replayed(key: Hashable, build: Callable[[], Any], result: Callable[[Any], Any] | None = None) -> Any:
    """``build()`` the first time in this process on a database in this state, the copy of its rows
    afterwards. ``result`` turns the first call's return value into a later call's (default: the same
    value; e.g. re-read a model instance by its primary key). ``RASURE_TESTS_REAL_STORES=1`` makes
    every call a real build (to compare timings, or to rule the copy out)."""
    import os

    from django.db import connection, transaction

    if os.environ.get("RASURE_TESTS_REAL_STORES") == "1":
        return build()

    from rasure_web import clock

    before = _fingerprint(connection)
    database = str(connection.settings_dict["NAME"])
    copy = _COPIES.get(key)
    now = clock.now()
    if (
        copy is not None
        and copy.database == database
        and copy.before == before
        and not (copy.dates and _dates(now, now) != copy.dates)
    ):
        with transaction.atomic():
            _insert(connection, copy, now - copy.started)
        from rasure_web.crimes.writer import refresh_statistics

        refresh_statistics()  # as the real stores do: the planner's statistics are not rows to copy
        return result(copy.result) if result is not None else copy.result
    started = clock.now()
    value = build()
    finished = clock.now()
    made = _take(connection, before, started, finished)
    if made is not None:
        _COPIES[key] = _Copy(
            database=database,
            before=before,
            started=started,
            dates=made[1],
            tables=made[0],
            result=value,
        )
    return value


def forget() -> None:
    """Drop every copy (the next call of each build is a real one)."""
    _COPIES.clear()


def _tables(connection: Any) -> list[str]:
    """The models' tables (not e.g. a session's temporary staging tables)."""
    from django.apps import apps

    known = {m._meta.db_table for m in apps.get_models(include_auto_created=True)}
    return sorted(known & set(connection.introspection.table_names()))


def _counts(connection: Any, tables: list[str]) -> dict[str, int]:
    q = connection.ops.quote_name
    probe = " UNION ALL ".join(f"SELECT {i}, COUNT(*) FROM {q(t)}" for i, t in enumerate(tables))
    with connection.cursor() as cur:
        cur.execute(probe)
        return {tables[i]: n for i, n in cur.fetchall()}


def _digest(connection: Any, table: str) -> str:
    with connection.cursor() as cur:
        cur.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        rows = sorted(repr(r) for r in cur.fetchall())
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def _fingerprint(connection: Any) -> tuple[Any, ...]:
    """Every table's row count, and a digest of the rows of each table that has any."""
    counts = _counts(connection, _tables(connection))
    return tuple((t, n, _digest(connection, t) if n else "") for t, n in sorted(counts.items()))


def _dates(started: datetime, finished: datetime) -> frozenset[date]:
    from zoneinfo import ZoneInfo

    from django.conf import settings

    local = ZoneInfo(settings.TIME_ZONE)
    return frozenset(d for t in (started, finished) for d in (t.date(), t.astimezone(local).date()))


def _datetime_columns() -> dict[str, set[str]]:
    from django.apps import apps
    from django.db import models

    out: dict[str, set[str]] = {}
    for model in apps.get_models(include_auto_created=True):
        out.setdefault(model._meta.db_table, set()).update(
            f.column for f in model._meta.concrete_fields if isinstance(f, models.DateTimeField)
        )
    return out


def _take(
    connection: Any, before: tuple[Any, ...], started: datetime, finished: datetime
) -> tuple[tuple[_Table, ...], frozenset[date]] | None:
    after = _fingerprint(connection)
    was = {t: (n, d) for t, n, d in before}
    written = []
    for table, n, digest in after:
        if (n, digest) == was.get(table, (0, "")):
            continue
        if was.get(table, (0, ""))[0]:
            return None  # the build changed rows that were there before it: no copy
        written.append(table)
    stamps = _datetime_columns()
    today = _dates(started, finished)
    texts = {d.isoformat() for d in today}
    holds_today = False
    tables = []
    for table in written:
        columns, rows = _select(connection, table)
        moved = []
        for i, column in enumerate(columns):
            values = [r[i] for r in rows if r[i] is not None]
            if column in stamps.get(table, set()):
                when = [_parse(v) for v in values]
                inside = [started - _SLACK <= w <= finished + _SLACK for w in when]
                if any(inside) and not all(inside):
                    return None  # partly from the clock, partly not: no copy
                if when and all(inside):
                    moved.append(i)
                continue
            holds_today = holds_today or any(
                (isinstance(v, date) and v in today) or (isinstance(v, str) and any(s in v for s in texts))
                for v in values
            )
        tables.append(_Table(table, columns, tuple(rows), tuple(moved)))
    return tuple(tables), (today if holds_today else frozenset())


def _select(connection: Any, table: str) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """The table's rows as the database gives them back unconverted: SQLite's own values; on
    PostgreSQL, COPY's text form of each value (every type round-trips through it)."""
    q = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(f"SELECT * FROM {q(table)} WHERE 1 = 0")
        columns = tuple(c[0] for c in cur.description)
        if connection.vendor == "postgresql":
            with cur.copy(f"COPY {q(table)} TO STDOUT") as copy:
                rows = list(copy.rows())
        else:
            cur.execute(f"SELECT * FROM {q(table)}")
            rows = [tuple(r) for r in cur.fetchall()]
    return columns, rows


def _parse(value: Any) -> datetime:
    from datetime import UTC

    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _moved(value: Any, by: timedelta) -> Any:
    if value is None:
        return None
    when = _parse(value) + by
    if isinstance(value, str) and "+" not in value[10:]:  # SQLite: naive UTC text, as Django writes it
        return str(when.replace(tzinfo=None))
    return when.isoformat(" ")


def _insert(connection: Any, copy: _Copy, by: timedelta) -> None:
    from django.apps import apps
    from django.core.management.color import no_style

    q = connection.ops.quote_name
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            cur.execute("PRAGMA defer_foreign_keys = ON")
        for table in copy.tables:
            rows: Any = table.rows
            if table.moved and by:
                rows = [
                    tuple(_moved(v, by) if i in table.moved else v for i, v in enumerate(r)) for r in rows
                ]
            names = ", ".join(q(c) for c in table.columns)
            if connection.vendor == "postgresql":
                with cur.copy(f"COPY {q(table.name)} ({names}) FROM STDIN") as pg:
                    for row in rows:
                        pg.write_row(row)
            else:
                marks = ", ".join("%s" for _ in table.columns)
                cur.executemany(f"INSERT INTO {q(table.name)} ({names}) VALUES ({marks})", rows)
        written = {t.name for t in copy.tables}
        models = [m for m in apps.get_models(include_auto_created=True) if m._meta.db_table in written]
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cur.execute(sql)
