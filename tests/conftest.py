"""Shared test fixtures.

Real public data lives outside the repository, in ``../shared/data`` beside the clone
(or wherever ``RASURE_SHARED_DATA`` points). Tests that use it skip cleanly when it is
absent, e.g. on a fresh clone; CI has it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# The pure core (``rasure``: no Django, no database; the import contracts enforce it) and its golden
# tests give the same result whichever database is configured.
PURE_CORE_TESTS = ("src/rasure/", "tests/core/", "tests/golden/")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Two narrowings that CI asks for by environment, each reported as "deselected":

    - ``RASURE_TESTS_DATABASE_ONLY=1`` (CI's second pass, on PostgreSQL): leave out the pure core's
      tests, which have just run in the SQLite pass and cannot touch a database;
    - ``RASURE_TESTS_CLOCK_ONLY=1`` (CI's moved-clock runs): leave out tests marked ``clock_free``,
      seeded simulations that read no clock or calendar.

    A plain ``make test`` sets neither and runs everything."""
    database_only = os.environ.get("RASURE_TESTS_DATABASE_ONLY") == "1"
    clock_only = os.environ.get("RASURE_TESTS_CLOCK_ONLY") == "1"
    if not (database_only or clock_only):
        return
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        path = Path(str(item.path)).resolve().relative_to(REPO_ROOT).as_posix()
        core = database_only and path.startswith(PURE_CORE_TESTS)
        clock_free = clock_only and item.get_closest_marker("clock_free") is not None
        (dropped if core or clock_free else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def shared_data_dir() -> Path | None:
    env = os.environ.get("RASURE_SHARED_DATA")
    path = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


@pytest.fixture
def clock() -> Iterator[Any]:
    """Pin "now" at :data:`tests.city.TEST_NOW` for the test (time-machine; time still ticks on from
    there, so timeouts and durations behave). Everything in rasure_web reads time through
    ``rasure_web.clock``, so trial days, cap weeks and the patrol list all agree with the test.
    Yields the traveller: ``clock.move_to(...)`` jumps, e.g. across midnight or a clock change."""
    import time_machine

    from tests.city import TEST_NOW

    with time_machine.travel(TEST_NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ``shared/data``; skips the test when it is not there."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("../shared/data is absent (fresh clone): real-data test skipped")
    return path


_SQLITE_TRIGGERS: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _triggers_allow_test_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """Transactional tests end with Django flushing every table. On SQLite that is a DELETE, which
    our protective triggers refuse (append-only access log, committed trials). On PostgreSQL flush
    is a TRUNCATE, which row triggers do not see but the statement-level TRUNCATE guards refuse. So
    on SQLite: drop the triggers just for the flush, remember their SQL, and put them back before the
    next database test; on PostgreSQL: disable the TRUNCATE guards for the flush and enable them
    again before the next test."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        yield
        return
    # live_server makes a test transactional whatever its marker says (pytest-django)
    transactional = bool(
        marker.kwargs.get("transaction")
        or (marker.args and marker.args[0])
        or {"live_server", "transactional_db"} & set(request.fixturenames)
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    from django.db import connection

    if connection.vendor == "sqlite" and _SQLITE_TRIGGERS:
        with connection.cursor() as cur:
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            present = {r[0] for r in cur.fetchall()}
            for name, sql in _SQLITE_TRIGGERS.items():
                if name not in present:
                    cur.execute(sql)
    if connection.vendor == "postgresql":
        _set_truncate_guards(connection, enabled=True)
    yield
    if transactional and connection.vendor == "postgresql":
        _set_truncate_guards(connection, enabled=False)
    if transactional and connection.vendor == "sqlite":
        with connection.cursor() as cur:
            cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            for name, sql in cur.fetchall():
                _SQLITE_TRIGGERS[name] = sql
                cur.execute(f'DROP TRIGGER IF EXISTS "{name}"')


def _set_truncate_guards(connection: Any, *, enabled: bool) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND t.tgname LIKE %s AND (t.tgenabled = 'D') = %s",
            ["%no_truncate", enabled],
        )
        for table, name in cur.fetchall():
            cur.execute(f'ALTER TABLE "{table}" {"ENABLE" if enabled else "DISABLE"} TRIGGER "{name}"')


@pytest.fixture(scope="session", autouse=True)
def _sqlite_test_databases_from_a_migrated_template() -> None:
    """SQLite test databases are copies of one migrated once per set of migrations
    (:mod:`tests.migrated_template`); runs before the first test database is made."""
    from tests.migrated_template import install

    install()


@pytest.fixture(scope="session", autouse=True)
def _refusals_on_this_connection_only() -> None:
    """A refusal inside a transaction on PostgreSQL is logged through a second connection, whose entry
    would outlive the test's rolled-back transaction; tests that check it switch it on themselves."""
    from rasure_web.accounts import refusals

    refusals.SEPARATE_CONNECTION = False


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """Tests hash with MD5: Django's PBKDF2 (1,000,000 iterations) took 2-3 s a hash on the 2-core
    machine under load, paid by every ``create_user(password=...)``, demo user and sign-in. Production
    keeps Django's default hashers (tests/web/test_accounts.py checks that in a fresh process); they
    stay after MD5 here, so a PBKDF2 hash made elsewhere still verifies."""
    from django.conf import settings
    from django.test import override_settings

    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    with override_settings(PASSWORD_HASHERS=hashers):
        yield


def _commit_without_waiting_for_disk(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET synchronous_commit TO off")


@pytest.fixture(scope="session", autouse=True)
def _postgres_test_commits_do_not_wait_for_disk() -> Iterator[None]:
    """On PostgreSQL every commit of a test connection (the test's, the live server's, the refusal
    logger's) returns without waiting for its WAL to reach the disk: 15-17 ms a commit down to 3-4 ms
    on the 2-core machine under load, paid by every statement of a transactional test and by each
    flush. A test database is thrown away, so durability buys nothing; visibility to the other
    connections and transactional semantics are unchanged. Production connections are untouched."""
    from django.db.backends.signals import connection_created

    connection_created.connect(_commit_without_waiting_for_disk, dispatch_uid="tests-synchronous-commit-off")
    yield
    connection_created.disconnect(dispatch_uid="tests-synchronous-commit-off")


def _tables_with_rows_and_their_referrers(connection: Any, tables: list[str]) -> list[str]:
    """Of ``tables``, those holding a row, plus every table that references one of them by a foreign
    key (PostgreSQL refuses to TRUNCATE a referenced table without its referrers, empty or not)."""
    if not tables:
        return tables
    probe = " UNION ALL ".join(
        f"(SELECT %s WHERE EXISTS (SELECT 1 FROM {connection.ops.quote_name(t)}))" for t in tables
    )
    with connection.cursor() as cur:
        cur.execute(probe, tables)
        keep = {row[0] for row in cur.fetchall()}
        cur.execute(
            "SELECT c.relname, f.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
            "JOIN pg_class f ON f.oid = k.confrelid WHERE k.contype = 'f'"
        )
        references = cur.fetchall()
    wanted = set(tables)
    grew = True
    while grew:
        grew = False
        for referrer, referenced in references:
            if referenced in keep and referrer in wanted and referrer not in keep:
                keep.add(referrer)
                grew = True
    return [t for t in tables if t in keep]


@pytest.fixture(scope="session", autouse=True)
def _postgres_flush_truncates_only_tables_with_rows() -> Iterator[None]:
    """A transactional test ends with Django's flush, on PostgreSQL one TRUNCATE of every table (63, with
    217 indexes, today), which gives each table and index a new file. Tables that are empty already are left
    out (with the referrers PostgreSQL requires): the database ends as empty as before, for less."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(
        self: Any,
        style: Any,
        tables: list[str],
        *,
        reset_sequences: bool = False,
        allow_cascade: bool = False,
    ) -> list[str]:
        if not reset_sequences:  # an empty table's sequence may have moved on: RESTART IDENTITY needs all
            tables = _tables_with_rows_and_their_referrers(self.connection, list(tables))
        return original(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


@pytest.fixture(scope="session", autouse=True)
def _cache_per_worker() -> Iterator[None]:
    """Under pytest-xdist each worker has its own test database (pytest-django adds ``_gw0``...) and
    so must have its own file cache: the dashboard's cache keys are data versions, which repeat
    across databases."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        yield
        return
    from django.conf import settings
    from django.test import override_settings

    caches = {name: dict(conf) for name, conf in settings.CACHES.items()}
    for conf in caches.values():
        if "LOCATION" in conf:
            conf["LOCATION"] = f"{conf['LOCATION']}-{worker}"
    with override_settings(CACHES=caches):
        yield


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Dashboard aggregates are cached by data version, the patrol state by a fingerprint of ids; test
    databases reuse primary keys, so start clean."""
    from django.core.cache import cache

    from rasure_web.patrols.selectors import patrol_memory_forget

    cache.clear()
    patrol_memory_forget()
    _no_pending_refusals()
    yield
    _no_pending_refusals()


def _no_pending_refusals() -> None:
    """Refusals waiting to be logged (SQLite, refused inside a transaction) belong to the test that made
    them: its database is rolled back, so its pending file goes too."""
    from rasure_web.accounts.refusals import pending_path

    pending_path().unlink(missing_ok=True)
