"""A change refused by the database leaves an access-log entry, from any path through Django."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from rasure_web.accounts import chain, refusals
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.models import AccessLog
from rasure_web.trials import lifecycle
from rasure_web.trials.models import ScheduleEntry, Trial

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clock")]


def _refused_entries(resource: str) -> list[AccessLog]:
    return list(
        AccessLog.objects.filter(action="refused", resource=resource, username="(database connection)")
    )


def test_raw_sql_and_orm_refusals_in_autocommit_are_logged() -> None:
    access_log_record(user=None, username="synthetic", action="view", resource="person")
    with pytest.raises(DatabaseError), connection.cursor() as cur:  # e.g. from `rasure manage shell`
        cur.execute("UPDATE access_log SET detail = 'x'")
    with pytest.raises(DatabaseError):
        AccessLog.objects.all().update(detail="x")
    entries = _refused_entries("access_log")
    assert len(entries) == 2 and "UPDATE" in entries[0].detail and "append-only" in entries[0].detail
    assert chain.verify_chain().ok


def _trial() -> Trial:
    import datetime as dt

    from django.utils import timezone

    from tests.city import store_city_with_hotspots

    store_city_with_hotspots()
    start = timezone.localdate() + dt.timedelta(days=2)
    t = lifecycle.trial_create(name="REFUSE-T", start=start, end=start + dt.timedelta(days=2))
    lifecycle.trial_commit(trial_id=t.pk, user=lifecycle.CliActor(username="cli:synthetic"), seed="5e" * 32)
    return t


def test_schedule_change_refused_in_autocommit_is_logged() -> None:
    trial = _trial()
    with pytest.raises(DatabaseError):
        ScheduleEntry.objects.filter(trial=trial).update(arm="control")
    entries = _refused_entries("trial")
    assert len(entries) == 1 and "trial is committed" in entries[0].detail


def test_refusal_inside_a_transaction_is_logged_on_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    trial = _trial()
    monkeypatch.setattr(refusals, "SEPARATE_CONNECTION", True)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE trial SET name = 'bent' WHERE id = %s", [trial.pk])
    entries = _refused_entries("trial")
    if connection.vendor == "postgresql":
        assert len(entries) == 1 and "UPDATE refused" in entries[0].detail
        assert chain.verify_chain().ok
    else:
        # SQLite: one writer, and this transaction holds the lock: the refusal waits in the pending file
        assert entries == [] and refusals.pending_path().exists()
        assert refusals.pending_flush() == 1
        entries = _refused_entries("trial")
        assert len(entries) == 1 and "trial is committed" in entries[0].detail
        assert "inside a transaction; logged afterwards" in entries[0].detail
        assert not refusals.pending_path().exists() and chain.verify_chain().ok


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_a_pending_refusal_is_written_by_the_next_refusal_checkpoint_or_verify(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from rasure_web.cli import main

    trial = _trial()
    for _ in range(2):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
            cur.execute("UPDATE trial SET name = 'bent' WHERE id = %s", [trial.pk])
    assert len(refusals.pending_path().read_text(encoding="utf-8").splitlines()) == 2
    assert main(["audit", "verify"]) == 0
    assert "2 refusal(s) recorded while the database was busy" in capsys.readouterr().out
    assert len(_refused_entries("trial")) == 2
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE trial SET name = 'bent' WHERE id = %s", [trial.pk])
    with pytest.raises(DatabaseError):  # a refusal outside a transaction writes itself and the pending one
        Trial.objects.filter(pk=trial.pk).update(name="bent again")
    assert len(_refused_entries("trial")) == 4 and not refusals.pending_path().exists()
    assert chain.verify_chain().ok
