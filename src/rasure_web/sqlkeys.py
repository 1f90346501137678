"""Grouping keys computed by the database itself, on SQLite and PostgreSQL.

Django's ``Trunc*`` and ``Extract*`` functions run on SQLite as Python functions called once per row
(``django_datetime_trunc``), which made the dashboard's monthly aggregates cost seconds at 200,000
records. These keys are plain SQL on both databases, so ``GROUP BY`` runs in the database engine:

- :class:`UTCHourKey`: ``'YYYY-MM-DD HH'`` of a timestamp in UTC (group by it, then turn the few
  thousand keys into local months or days in pandas: local time zones shift by whole hours);
- :class:`WeekStart`: the Monday of a date's week (weeks Monday to Sunday).
- :class:`EpochSeconds`: a timestamp as seconds since the epoch (UTC, to the nearest second), for reading many rows
  into numpy without a Python datetime per row.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Func


class UTCHourKey(Func):
    """``'YYYY-MM-DD HH'`` of a datetime column in UTC, as text."""

    output_field = models.CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores aware datetimes on SQLite as UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
        return self.as_sql(compiler, connection, template="substr(%(expressions)s, 1, 13)", **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')",
            **extra,
        )


class WeekStart(Func):
    """The Monday of the week of a date column (ISO weeks, Monday to Sunday)."""

    output_field = models.DateField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # 'weekday 0' moves forward to the next Sunday (or stays on one); six days back is its Monday.
        return self.as_sql(
            compiler, connection, template="date(%(expressions)s, 'weekday 0', '-6 days')", **extra
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="CAST(date_trunc('week', %(expressions)s) AS date)", **extra
        )


class EpochSeconds(Func):
    """Seconds since 1970-01-01 UTC of a datetime column, to the nearest second, as an integer (NULL
    stays NULL): a number the driver hands over without building a Python datetime per row."""

    output_field = models.BigIntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # julianday reads the UTC text Django stores (strftime('%s') cannot be written: Django's SQLite
        # backend turns every %s of a query into a parameter); 2440587.5 is 1970-01-01 00:00 UTC
        return self.as_sql(
            compiler,
            connection,
            template="CAST(round((julianday(%(expressions)s) - 2440587.5) * 86400.0) AS INTEGER)",
            **extra,
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="CAST(round(EXTRACT(EPOCH FROM %(expressions)s)) AS bigint)",
            **extra,
        )
