"""A change the database refuses (append-only access log, committed trial) leaves an access-log entry,
whatever path the SQL took: the ORM, raw SQL, ``rasure manage shell``.

Every Django database connection gets :func:`log_refusals` as an execute wrapper. When the database
raises one of our triggers' refusals, the wrapper writes a ``refused`` entry and re-raises:

- outside a transaction (autocommit, e.g. a raw cursor in ``rasure manage shell`` or
  ``QuerySet.update``): on the same connection, at once;
- inside a transaction on PostgreSQL: the transaction is aborted and will roll back, so the entry is
  written through a second, short-lived connection (waiting at most 2 s for the chain's lock; if the
  same transaction already holds it, the entry cannot be written and the refusal still stands);
- inside a transaction on SQLite: the database cannot take the entry then (one writer at a time,
  this connection holds the write lock, and the transaction may roll back), so it is appended,
  flushed to disk, to a pending file beside the database (:func:`pending_path`), and written into
  the chain by the next :func:`pending_flush` — run after every refusal outside a transaction, by
  ``rasure audit verify`` and ``rasure audit checkpoint``, and so by the scheduled checkpoint job
  every few minutes. Each entry says when the refusal happened.

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


def pending_path() -> Any:
    """The file of refusals waiting to be written into the chain (SQLite, inside a transaction): one
    per database file, beside the data folder's other files."""
    import hashlib

    from django.conf import settings
    from django.db import connection

    name = str(connection.settings_dict.get("NAME") or "")
    return settings.RASURE_HOME / f"refusals-pending-{hashlib.sha256(name.encode()).hexdigest()[:12]}.jsonl"


def _pend(message: str, sql: str) -> None:
    import json
    import os

    from rasure_web import clock

    path = pending_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({**_values(message, sql), "at": clock.now().isoformat()}) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def pending_flush() -> int:
    """Write the pending refusals into the chain, oldest first; returns how many. Does nothing inside a
    transaction (its entries could roll back with it). The file is renamed first, so two processes
    never write the same entry twice."""
    import json
    import os

    from django.db import connection

    from rasure_web.accounts import chain

    path = pending_path()
    if connection.in_atomic_block or not path.exists():
        return 0
    taking = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        path.rename(taking)
    except FileNotFoundError:
        return 0
    n = 0
    for line in taking.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        v = json.loads(line)
        at = v.pop("at", "")
        v["detail"] = f"{v.get('detail', '')} (refused at {at} inside a transaction; logged afterwards)"
        chain.append(**v)
        n += 1
    taking.unlink()
    return n


def _record(conn: Any, message: str, sql: str) -> None:
    from rasure_web.accounts import chain

    if not conn.in_atomic_block:
        chain.append(**_values(message, sql))
        pending_flush()
        return
    if conn.vendor != "postgresql":
        _pend(message, sql)
        return
    if not SEPARATE_CONNECTION:
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
