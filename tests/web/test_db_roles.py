"""`rasure db roles` on real PostgreSQL roles: the application's own connection cannot bend the access log
or a committed schedule; the owner can only by leaving traces that `audit verify` / `trial audit` find."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from rasure_web import clock
from rasure_web.accounts import chain
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.db_roles import RoleNameError, roles_sql
from rasure_web.cli import main
from rasure_web.trials import lifecycle

OWNER, APP = "rasure_trust_test_owner", "rasure_trust_test_app"
ACTOR = lifecycle.CliActor(username="cli:synthetic-analyst")


def test_role_names_are_checked() -> None:
    with pytest.raises(RoleNameError, match="lowercase letters"):
        roles_sql(database="rasure", app='x"; DROP TABLE access_log; --')
    with pytest.raises(RoleNameError, match="must differ"):
        roles_sql(database="rasure", owner="same", app="same")


def _connect(role: str) -> Any:
    import psycopg

    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, dbname=s["NAME"], user=role, autocommit=True
    )


@pytest.fixture
def roles() -> Iterator[None]:
    if connection.vendor != "postgresql":
        pytest.skip("roles are PostgreSQL's; SQLite has none (docs/deploy.md says what SQLite can protect)")
    yield
    with connection.cursor() as cur:
        for role in (OWNER, APP):
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cur.fetchone():
                cur.execute(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
                cur.execute(f'DROP OWNED BY "{role}"')
                cur.execute(f'DROP ROLE "{role}"')


def _refused(conn: Any, sql: str) -> str:
    import psycopg

    with pytest.raises(psycopg.Error) as err:
        conn.execute(sql)
    return str(err.value)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clock")
def test_app_role_cannot_bend_the_log_or_the_schedule(roles: None, tmp_path: Path) -> None:
    from tests.city import store_city_with_hotspots

    store_city_with_hotspots()
    start = timezone.now().astimezone(ZoneInfo("Europe/London")).date() + dt.timedelta(days=1)
    trial = lifecycle.trial_create(name="ROLES-T", start=start, end=start + dt.timedelta(days=3))
    lifecycle.trial_commit(trial_id=trial.pk, user=ACTOR, seed="5e" * 32)
    for i in range(3):
        access_log_record(user=None, username=f"synthetic-{i}", action="view", resource="person")
    from rasure_web.accounts.models import AccessLog

    entries = AccessLog.objects.count()  # the three above and the schedule's anchor written at commit
    assert entries == 4
    cp = tmp_path / "cp.jsonl"
    cp.write_text(chain.head_checkpoint(written_at=clock.now()).to_line() + "\n")

    assert main(["db", "roles", "--owner", OWNER, "--app", APP, "--apply"]) == 0
    assert main(["db", "roles", "--owner", OWNER, "--app", APP, "--apply"]) == 0  # idempotent

    with _connect(APP) as app:
        # what the application needs still works
        assert app.execute("SELECT count(*) FROM access_log").fetchone()[0] == entries
        app.execute("SELECT count(*) FROM trial_schedule_entry").fetchone()
        # what it must not do is refused by PostgreSQL
        for table in ("access_log", "trial_schedule_entry", "trial_hotspot", "trial"):
            assert "permission denied" in _refused(app, f"TRUNCATE {table} CASCADE")
            assert "must be owner" in _refused(app, f"ALTER TABLE {table} DISABLE TRIGGER ALL")
            assert "must be owner" in _refused(app, f"ALTER TABLE {table} ADD COLUMN x int")
            assert "must be owner" in _refused(app, f"DROP TABLE {table} CASCADE")
        assert "permission denied" in _refused(app, "DELETE FROM access_log")
        assert "permission denied" in _refused(app, "UPDATE access_log SET detail = 'x'")
        assert "permission denied" in _refused(app, "UPDATE trial_schedule_entry SET arm = 'control'")
        assert "trial is committed" in _refused(app, "DELETE FROM trial_schedule_entry")
        assert "trial is committed" in _refused(app, "UPDATE trial SET name = 'other'")
        assert "must be owner" in _refused(app, "DROP TRIGGER access_log_no_change ON access_log")
        assert "permission denied" in _refused(app, "SET session_replication_role = replica")
        assert "permission denied" in _refused(app, "CREATE TABLE sneaky (x int)")
        assert "permission denied" in _refused(
            app,
            "CREATE TRIGGER t BEFORE INSERT ON access_log FOR EACH ROW EXECUTE FUNCTION access_log_append_only()",
        )

    with _connect(OWNER) as owner:
        # the owner meets the guards too ...
        assert "append-only" in _refused(owner, "TRUNCATE access_log")
        assert "TRUNCATE refused" in _refused(owner, "TRUNCATE trial_schedule_entry")
        assert "append-only" in _refused(owner, "DELETE FROM access_log WHERE seq = 2")
        # ... and can take them away, but not unseen
        owner.execute("ALTER TABLE access_log DISABLE TRIGGER USER")
        owner.execute("DELETE FROM access_log WHERE seq >= 2")
        owner.execute("ALTER TABLE trial_schedule_entry DISABLE TRIGGER USER")
        owner.execute("UPDATE trial_schedule_entry SET arm = 'control'")
    report = chain.verify_chain(chain.read_checkpoints(cp))
    assert not report.ok and "cut from the end" in report.problems[0]
    from rasure_web.trials.audit import trial_audit

    assert not trial_audit(trial_id=trial.pk, user=ACTOR).ok  # caught without the seed
    with connection.cursor() as cur:  # the guards back for the tests after this one
        cur.execute("ALTER TABLE access_log ENABLE TRIGGER USER")
        cur.execute("ALTER TABLE trial_schedule_entry ENABLE TRIGGER USER")
