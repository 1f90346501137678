"""The SQL that makes the access log append-only, shared by the migration and the test suite."""

from __future__ import annotations

from typing import Any

SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS access_log_no_update BEFORE UPDATE ON access_log "
    "BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END;",
    "CREATE TRIGGER IF NOT EXISTS access_log_no_delete BEFORE DELETE ON access_log "
    "BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END;",
]
POSTGRES = [
    "CREATE OR REPLACE FUNCTION access_log_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'access_log is append-only'; END; $$ LANGUAGE plpgsql;",
    "DROP TRIGGER IF EXISTS access_log_no_change ON access_log;",
    "CREATE TRIGGER access_log_no_change BEFORE UPDATE OR DELETE ON access_log "
    "FOR EACH ROW EXECUTE FUNCTION access_log_append_only();",
]


def install(connection: Any) -> None:
    with connection.cursor() as cur:
        for sql in POSTGRES if connection.vendor == "postgresql" else SQLITE:
            cur.execute(sql)


def remove(connection: Any) -> None:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("DROP TRIGGER IF EXISTS access_log_no_change ON access_log;")
        else:
            cur.execute("DROP TRIGGER IF EXISTS access_log_no_update;")
            cur.execute("DROP TRIGGER IF EXISTS access_log_no_delete;")
