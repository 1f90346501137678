"""Backup, restore and the restore drill, on SQLite and PostgreSQL (round trip, and a drill that fails)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from rasure_web.accounts import chain
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.models import AccessLog
from rasure_web.cli import main

pytestmark = pytest.mark.django_db(transaction=True)


def _log(n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        access_log_record(user=None, username=f"synthetic-{i}", action="view", resource="person")


def test_backup_restore_round_trip_and_drill(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _log(4)
    backup = tmp_path / "rasure.backup"
    assert main(["backup", str(backup)]) == 0
    assert main(["restore-drill", str(backup)]) == 0
    out = capsys.readouterr().out
    assert "restore drill: PASSED" in out and "INTACT (4 entries" in out
    _log(3, start=4)
    assert AccessLog.objects.count() == 7
    assert main(["restore", str(backup)]) == 2  # without --yes: refused, nothing changed
    assert AccessLog.objects.count() == 7
    assert main(["restore", str(backup), "--yes"]) == 0
    connection.close()
    assert sorted(AccessLog.objects.values_list("seq", flat=True)) == [1, 2, 3, 4]
    assert chain.verify_chain().ok
    if connection.vendor == "postgresql":  # analysed after the restore: pg_restore leaves no statistics
        with connection.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM pg_stats WHERE tablename = 'access_log'")
            assert cur.fetchone()[0] > 0
    _log(1, start=10)  # the chain carries on after a restore
    assert AccessLog.objects.order_by("-seq").first().seq == 5  # type: ignore[union-attr]


def test_drill_fails_on_a_broken_chain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _log(3)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE access_log DISABLE TRIGGER USER")
            cur.execute("UPDATE access_log SET detail = 'edited' WHERE seq = 2")
            cur.execute("ALTER TABLE access_log ENABLE TRIGGER USER")
        else:
            cur.execute("DROP TRIGGER access_log_no_update")
            cur.execute("UPDATE access_log SET detail = 'edited' WHERE seq = 2")
    if connection.vendor == "sqlite":
        from rasure_web.accounts.migrations import _append_only

        _append_only.install(connection)  # the trigger back for the tests after this one
    backup = tmp_path / "rasure.backup"
    assert main(["backup", str(backup)]) == 0
    assert main(["restore-drill", str(backup)]) == 1
    out = capsys.readouterr().out
    assert "restore drill: FAILED" in out and "seq 2" in out


def test_unreadable_backup_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "not-a-backup"
    bad.write_text("hello")
    assert main(["restore", str(bad), "--yes"]) == 2
    assert "rasure:" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "missing"), "--yes"]) == 2
