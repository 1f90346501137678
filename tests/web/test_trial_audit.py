"""`rasure trial audit`: a schedule changed at the database mid-trial is caught without the seed."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from rasure_web.accounts.models import AccessLog
from rasure_web.cli import main
from rasure_web.trials import lifecycle
from rasure_web.trials.audit import trial_anchor_schedule, trial_audit, trial_last_audit
from rasure_web.trials.models import ScheduleEntry, Trial

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

LONDON = ZoneInfo("Europe/London")
ACTOR = lifecycle.CliActor(username="cli:synthetic-analyst")


@pytest.fixture
def trial() -> Trial:
    from tests.city import store_city_with_hotspots

    store_city_with_hotspots()
    start = timezone.now().astimezone(LONDON).date() + dt.timedelta(days=1)
    t = lifecycle.trial_create(name="AUDIT-T", start=start, end=start + dt.timedelta(days=6))
    lifecycle.trial_commit(trial_id=t.pk, user=ACTOR, seed="5e" * 32)
    trial_anchor_schedule(trial_id=t.pk, user=ACTOR)
    t.refresh_from_db()
    return t


def _owner_sql(*statements: str) -> None:
    """As the database owner would: the trial triggers out of the way, then the change."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in ("trial", "trial_schedule_entry"):
                cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'trial%'")
            for (name,) in cur.fetchall():
                cur.execute(f'DROP TRIGGER "{name}"')
        for sql in statements:
            cur.execute(sql)


def _flip_one(trial: Trial) -> ScheduleEntry:
    entry = ScheduleEntry.objects.filter(trial=trial).order_by("trial_day", "hotspot_id").last()
    assert entry is not None
    other = "control" if entry.arm == "treatment" else "treatment"
    _owner_sql(f"UPDATE trial_schedule_entry SET arm = '{other}' WHERE id = {entry.id}")
    return entry


def test_unchanged_schedule_passes_and_is_logged(trial: Trial, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trial", "audit", str(trial.pk)]) == 0
    assert "UNCHANGED since commit" in capsys.readouterr().out
    last = trial_last_audit(trial=trial)
    assert last is not None and last.detail == "schedule audit unchanged"


def test_flipped_arm_is_caught_and_its_day_named(trial: Trial, capsys: pytest.CaptureFixture[str]) -> None:
    entry = _flip_one(trial)
    result = trial_audit(trial_id=trial.pk, user=ACTOR)
    assert not result.ok
    assert "not to the schedule_sha256 fixed at commit" in result.problems[0]
    assert any(f"trial day {entry.trial_day.isoformat()}: its rows changed" in p for p in result.problems)
    assert main(["trial", "audit", str(trial.pk)]) == 1
    assert "CHANGED" in capsys.readouterr().out
    last = trial_last_audit(trial=trial)
    assert last is not None and last.detail.startswith("schedule audit CHANGED")


def test_flip_with_the_trial_row_rewritten_too_is_caught_by_the_anchor(trial: Trial) -> None:
    entry = _flip_one(trial)
    new_sha = lifecycle.trial_schedule_frame(trial=trial)
    from rasure.trial.schedule import schedule_sha256

    _owner_sql(f"UPDATE trial SET schedule_sha256 = '{schedule_sha256(new_sha)}' WHERE id = {trial.pk}")
    result = trial_audit(trial_id=trial.pk, user=ACTOR)
    assert not result.ok
    assert "the trial row was edited" in result.problems[0]
    assert any(entry.trial_day.isoformat() in p for p in result.problems)


def test_deleted_day_and_emptied_schedule_are_caught(trial: Trial) -> None:
    day = ScheduleEntry.objects.filter(trial=trial).order_by("trial_day").first().trial_day  # type: ignore[union-attr]
    _owner_sql(f"DELETE FROM trial_schedule_entry WHERE trial_day = '{day.isoformat()}'")
    result = trial_audit(trial_id=trial.pk, user=ACTOR)
    assert f"trial day {day.isoformat()}: all its rows are missing (deleted)" in result.problems
    _owner_sql(
        "TRUNCATE trial_schedule_entry"
        if connection.vendor == "postgresql"
        else "DELETE FROM trial_schedule_entry"
    )
    result = trial_audit(trial_id=trial.pk, user=ACTOR)
    assert sum("all its rows are missing" in p for p in result.problems) == 7
    assert result.rows == 0


def test_truncate_of_a_committed_schedule_is_refused_on_postgresql(trial: Trial) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE meets the row triggers")
    from django.db import DatabaseError, transaction

    for table in ("trial_schedule_entry", "trial_hotspot", "access_log"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(f"TRUNCATE {table} CASCADE")
    assert ScheduleEntry.objects.filter(trial=trial).exists() and AccessLog.objects.exists()


def test_trial_page_shows_the_last_check(trial: Trial) -> None:
    from django.contrib.auth.models import Group, User
    from django.test import Client

    u = User.objects.create_user(username="synthetic-analyst", password="a-long-test-password")
    u.groups.add(Group.objects.get_or_create(name="analyst")[0])
    c = Client()
    c.force_login(u)
    assert b"Schedule check</strong>: not run yet" in c.get(f"/trials/{trial.pk}/").content
    trial_audit(trial_id=trial.pk, user=ACTOR)
    assert b"the stored schedule is the one committed" in c.get(f"/trials/{trial.pk}/").content
    _flip_one(trial)
    trial_audit(trial_id=trial.pk, user=ACTOR)
    page = c.get(f"/trials/{trial.pk}/").content.decode()
    assert "is <strong>not</strong> the one committed" in page and 'role="alert"' in page
