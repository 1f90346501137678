"""Least privilege on PostgreSQL: an owner role that migrates and an application role that owns nothing.

``rasure db roles`` prints (or, with ``--apply``, runs) :func:`roles_sql`. Run it as a superuser after
every ``rasure manage migrate`` (it is idempotent): new tables are owned by the owner role and granted
to the application role again, with the exceptions below re-applied.

The application role can read and write what the application needs and nothing more:

- it owns no table, sequence or function, so it cannot ``ALTER``, ``DROP`` or ``DISABLE TRIGGER``;
- it has no ``TRUNCATE``, ``TRIGGER`` or ``REFERENCES`` privilege on any table;
- on ``access_log`` it may only ``SELECT`` and ``INSERT``; on ``trial_schedule_entry`` it may not
  ``UPDATE`` (the schedule is written once, at commit; ``DELETE`` stays granted because deleting a
  draft trial cascades to it, and the row triggers refuse it for a committed trial);
- it is not a superuser, so ``SET session_replication_role = replica`` (which silences triggers) is
  refused by PostgreSQL itself.

The owner role can still do all of that: the hash chain, its checkpoints and ``rasure trial audit``
are what detect it.
"""

from __future__ import annotations

import re

from rasure.errors import RasureError

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
APPEND_ONLY = ("access_log",)
WRITE_ONCE = ("trial_schedule_entry",)


class RoleNameError(RasureError):
    """A role or database name that cannot be used in the SQL."""


def _check(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise RoleNameError(
            f"{what} {name!r}: use lowercase letters, digits and '_' (at most 63), starting with a letter."
        )
    return name


def roles_sql(*, database: str, owner: str = "rasure_owner", app: str = "rasure_app") -> list[str]:
    """The statements, in order. Names are checked, then quoted."""
    db, own, app = _check(database, "database"), _check(owner, "owner role"), _check(app, "app role")
    if own == app:
        raise RoleNameError("the owner role and the application role must differ.")
    return [
        f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{own}') THEN CREATE ROLE "{own}" LOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{app}') THEN CREATE ROLE "{app}" LOGIN; END IF;
END $$;""",
        f'ALTER ROLE "{own}" NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS;',
        f'ALTER ROLE "{app}" NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;',
        f'ALTER DATABASE "{db}" OWNER TO "{own}";',
        f'REVOKE ALL ON DATABASE "{db}" FROM PUBLIC;',
        f'GRANT CONNECT, TEMPORARY ON DATABASE "{db}" TO "{app}";',
        f'ALTER SCHEMA public OWNER TO "{own}";',
        "REVOKE ALL ON SCHEMA public FROM PUBLIC;",
        f'GRANT USAGE ON SCHEMA public TO "{app}";',
        f"""DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
    EXECUTE format('ALTER TABLE public.%I OWNER TO "{own}"', r.tablename);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'public' LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO "{own}"', r.f);
  END LOOP;
END $$;""",
        f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{app}";',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{app}";',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{app}";',
        *(f'REVOKE UPDATE, DELETE ON TABLE public.{t} FROM "{app}";' for t in APPEND_ONLY),
        *(f'REVOKE UPDATE ON TABLE public.{t} FROM "{app}";' for t in WRITE_ONCE),
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{own}" IN SCHEMA public '
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{app}";',
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{own}" IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO "{app}";',
    ]
