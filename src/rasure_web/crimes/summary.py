"""The stored summary of a force's records (table ``crime_summary``): what the dashboard overview reads.

One row per force × area × local month of occurrence × (category, offence code, basis of serious
violence, serious or not), holding the count, the harm sum, the rows without location, knife-enabled and
gun crimes, and the first and last times. ``area_code`` ``""`` is the whole force; every LPA of the force
has its own rows too (its records: those whose LSOA or neighbourhood code lies under it, as
:func:`rasure_web.crimes.areas.lsoa_codes_in`). The month is the force's local calendar month
(``settings.TIME_ZONE``), ``""`` for a record with no time.

**Every writer of records calls** :func:`refresh_summary` **for the force it changed, in its own
transaction**: the imports (``crimes.services``, once per import, after the last file), a harm table
load, a scope load (reclassification), the synthetic city, an areas load or lookup (which moves
records between LPAs) and :func:`rasure_web.crimes.services.records_delete`. A refresh recomputes
the force's rows set-based in SQL (one ``INSERT … SELECT … GROUP BY`` for the force and one for its
LPAs), so it agrees with the records by construction: ``tests/web/test_summary.py`` checks it against
figures computed from the records directly after each of those writes, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from django.conf import settings
from django.db import connection, transaction

# grouping columns copied from the records, and the aggregates kept per group
_KEYS = ("category", "offence_code", "sv_basis", "serious_violence")
_AGGS = (
    "COUNT(*)",
    "SUM(r.harm_days)",
    "SUM(CASE WHEN r.easting IS NULL THEN 1 ELSE 0 END)",
    "SUM(CASE WHEN r.knife_enabled THEN 1 ELSE 0 END)",
    "SUM(CASE WHEN r.gun_crime THEN 1 ELSE 0 END)",
    "MIN(r.occurred_from)",
    "MAX(r.occurred_from)",
    "MAX(r.occurred_to)",
)
_COLUMNS = (
    "tenant_id",
    "area_code",
    "month",
    *_KEYS,
    "n",
    "harm",
    "no_location",
    "knife",
    "gun",
    "first_from",
    "last_from",
    "last_to",
)


def utc_offsets(start: dt.datetime, end: dt.datetime, tz: str) -> list[tuple[dt.datetime, int]]:
    """The UTC instants from which ``tz``'s offset from UTC (seconds) holds, covering [start, end]:
    the first element is ``start`` itself. Found day by day, then to the minute within a day whose
    offset changed (zones change at whole minutes)."""
    zone = ZoneInfo(tz)

    def off(t: dt.datetime) -> int:
        u = t.replace(tzinfo=dt.UTC).astimezone(zone).utcoffset()
        return int(u.total_seconds()) if u is not None else 0

    day = dt.timedelta(days=1)
    t = start.replace(hour=0, minute=0, second=0, microsecond=0)
    out = [(t, off(t))]
    while t <= end:
        nxt = t + day
        if off(nxt) != out[-1][1]:
            lo, hi = t, nxt  # off(lo) == current, off(hi) differs: bisect to the minute
            while hi - lo > dt.timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(second=0, microsecond=0)
                if mid <= lo:
                    break
                if off(mid) == out[-1][1]:
                    lo = mid
                else:
                    hi = mid
            out.append((hi, off(hi)))
        t = nxt
    return out


def _month_sql(tenant: int) -> tuple[str, list[Any]]:
    """SQL for the local month (``'YYYY-MM'``) of ``r.occurred_from``, and its parameters."""
    tz = settings.TIME_ZONE
    if connection.vendor == "postgresql":
        return "COALESCE(to_char(r.occurred_from AT TIME ZONE %s, 'YYYY-MM'), '')", [tz]
    # SQLite keeps UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]' and knows no zones: the offsets of the
    # force's zone over the records' span, as one CASE over the instants where it changes.
    with connection.cursor() as cur:
        cur.execute(
            "SELECT MIN(occurred_from), MAX(occurred_from) FROM crime_record WHERE tenant_id = %s", [tenant]
        )
        lo, hi = cur.fetchone()
    if lo is None:
        return "''", []
    first, last = (pd.Timestamp(v).to_pydatetime().replace(tzinfo=None) for v in (lo, hi))
    steps = utc_offsets(first, last, tz)
    case, params = "%s", [f"{steps[-1][1]:+d} seconds"]  # the offset after the last change
    if len(steps) > 1:
        case = "CASE"
        params = []
        for (_, seconds), (until, _) in itertools.pairwise(steps):
            case += " WHEN r.occurred_from < %s THEN %s"
            params += [until.strftime("%Y-%m-%d %H:%M:%S"), f"{seconds:+d} seconds"]
        case += " ELSE %s END"
        params.append(f"{steps[-1][1]:+d} seconds")
    return f"COALESCE(strftime('%%Y-%%m', r.occurred_from, {case}), '')", params


#: PostgreSQL: the ``work_mem`` of a summary refresh. With the server's default (4 MB) the planner,
#: expecting tens of thousands of groups, sorted the force's records on disk to group them; with
#: this it hashes them in memory (the groups are a few hundred): the force's statement took 310-410
#: ms instead of 520-580 ms at 201,633 Gwent records (EXPLAIN ANALYZE, 4 runs each alternating,
#: 2 cores). A hash that outgrows it spills to disk, as the sort did.
SUMMARY_WORK_MEM = "64MB"


@contextlib.contextmanager
def _work_mem(cur: Any) -> Iterator[None]:
    """PostgreSQL: :data:`SUMMARY_WORK_MEM` for the statements inside, then the setting as it was."""
    if connection.vendor != "postgresql":
        yield
        return
    cur.execute("SELECT current_setting('work_mem')")
    before = cur.fetchone()[0]
    cur.execute("SELECT set_config('work_mem', %s, true)", [SUMMARY_WORK_MEM])
    yield
    cur.execute("SELECT set_config('work_mem', %s, true)", [before])


def refresh_summary(tenant: int) -> int:
    """Recompute the force's summary rows from its records (in SQL); returns the rows written.

    Runs in one transaction (a savepoint inside the caller's), so readers see the old rows or the new."""
    from rasure_web.crimes.areas import lsoa_codes_in
    from rasure_web.crimes.models import Area

    tenant = int(tenant)
    with transaction.atomic(), connection.cursor() as cur, _work_mem(cur):
        cur.execute("DELETE FROM crime_summary WHERE tenant_id = %s", [tenant])
        month, mparams = _month_sql(tenant)
        keys = ", ".join(f"r.{k}" for k in _KEYS)
        cols = ", ".join(_COLUMNS)
        aggs = ", ".join(_AGGS)
        by_keys = ", ".join(str(4 + i) for i in range(len(_KEYS)))  # by position: the month once
        cur.execute(
            f"INSERT INTO crime_summary ({cols}) SELECT r.tenant_id, '', {month}, {keys}, {aggs} "
            f"FROM crime_record r WHERE r.tenant_id = %s GROUP BY 1, 3, {by_keys}",
            [*mparams, tenant],
        )
        written = int(cur.rowcount)
        lpas = Area.objects.filter(tenant_id=tenant, kind=Area.Kind.LPA).values_list("code", flat=True)
        pairs = [(code, lpa) for lpa in lpas for code in lsoa_codes_in(lpa, tenant=tenant)]
        if pairs:
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS summary_lpa (lsoa_code text, lpa_code text)")
            cur.execute("DELETE FROM summary_lpa")
            cur.executemany("INSERT INTO summary_lpa VALUES (%s, %s)", pairs)
            cur.execute(
                f"INSERT INTO crime_summary ({cols}) SELECT r.tenant_id, m.lpa_code, {month}, {keys}, {aggs} "
                "FROM crime_record r JOIN summary_lpa m ON m.lsoa_code = r.lsoa_code "
                f"WHERE r.tenant_id = %s GROUP BY 1, 2, 3, {by_keys}",
                [*mparams, tenant],
            )
            written += int(cur.rowcount)
            cur.execute("DELETE FROM summary_lpa")
    return written


def refresh_all() -> None:
    """Refresh every force's summary (after a migration, or to repair)."""
    from rasure_web.accounts.models import Force

    for pk in Force.objects.values_list("pk", flat=True):
        refresh_summary(pk)
