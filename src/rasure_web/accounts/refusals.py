"""A change the database refuses (append-only access log, committed trial) leaves an access-log entry,
whatever path the SQL took: the ORM, raw SQL, ``rasure manage shell``.

Every Django database connection gets :func:`log_refusals` as an execute wrapper. When the database
raises one of our triggers' refusals, the wrapper writes a ``refused`` entry and re-raises:

- outside a transaction (autocommit, e.g. a raw cursor in ``rasure manage shell`` or
  ``QuerySet.update``): on the same connection, at once;
- inside a transaction on PostgreSQL: the transaction is aborted and will roll back, so the entry is
  written through a second, short-lived connection (waiting at most 2 s for the chain's lock; if the
  same transaction already holds it, the entry cannot be written and the refusal still stands);
- inside a transaction on SQLite: not possible (one writer at a time, and this connection holds the
  write lock); the refusal stands, unlogged. The services and the admin log their own refusals
  before any SQL runs, so this gap is for hand-written SQL only.

A path that does not go through Django (``psql``, ``sqlite3``) is not seen here: the hash chain and
``rasure trial audit`` are what detect changes made that way, and on PostgreSQL the application role
cannot make them (``rasure db roles``).
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import DatabaseError, connections

MARKERS = ("access_log is append-only", "trial is committed", "TRUNCATE refused")
#: Tests switch the second-connection path off: its entries would outlive the test's transaction.
SEPARATE_CONNECTION = True
_busy = threading.local()


def _values(message: str, sql: str) -> dict[str, Any]:
    return {
        "user": None,
        "username": "(database connection)",
        "action": "refused",
        "resource": "access_log" if "access_log" in message else "trial",
        "detail": f"refused by the database: {message}; statement: {sql[:300]}",
    }


def _record(conn: Any, message: str, sql: str) -> None:
    from rasure_web.accounts import chain

    if not conn.in_atomic_block:
        chain.append(**_values(message, sql))
        return
    if conn.vendor != "postgresql" or not SEPARATE_CONNECTION:
        return
    other = connections.create_connection(conn.alias)
    try:
        with other.cursor() as cur:
            cur.execute("SET lock_timeout = '2s'")
        connections[conn.alias] = other
        try:
            chain.append(**_values(message, sql))
        finally:
            connections[conn.alias] = conn
    finally:
        other.close()


def log_refusals(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    try:
        return execute(sql, params, many, context)
    except DatabaseError as exc:
        message = (str(exc).strip().splitlines() or [""])[0]
        if any(m in message for m in MARKERS) and not getattr(_busy, "on", False):
            _busy.on = True
            try:
                _record(context["connection"], message, str(sql))
            except DatabaseError:
                pass  # the refusal itself is what matters; it is raised below either way
            finally:
                _busy.on = False
        raise


def install(sender: Any = None, connection: Any = None, **kwargs: Any) -> None:
    """``connection_created`` receiver: add the wrapper once per connection."""
    if connection is not None and log_refusals not in connection.execute_wrappers:
        connection.execute_wrappers.append(log_refusals)
