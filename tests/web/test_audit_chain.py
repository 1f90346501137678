"""The access log's hash chain: every tampering case is found by `rasure audit verify` (SQLite and PostgreSQL).

The tampering goes round the append-only triggers the way a database owner would (dropping or
disabling them inside the test's transaction, which is rolled back afterwards)."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection, connections, transaction

from rasure_web import clock
from rasure_web.accounts import chain
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.models import AccessLog
from rasure_web.cli import main

pytestmark = pytest.mark.django_db


def _entries(n: int = 5) -> list[AccessLog]:
    return [
        access_log_record(
            user=None,
            username=f"synthetic-{i}",
            action="view",
            resource="person",
            object_ref=f"SYN-P{i}",
            detail="synthetic person, é ünïcode",
        )
        for i in range(1, n + 1)
    ]


def _sql(*statements: str) -> None:
    """Run SQL with the append-only triggers out of the way (as the owner could)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks: ALTER TABLE needs none
            cur.execute("ALTER TABLE access_log DISABLE TRIGGER USER")
        else:
            cur.execute("DROP TRIGGER IF EXISTS access_log_no_update")
            cur.execute("DROP TRIGGER IF EXISTS access_log_no_delete")
        for sql in statements:
            cur.execute(sql)


def _checkpoint(path: Path) -> Path:
    path.write_text(chain.head_checkpoint(written_at=clock.now()).to_line() + "\n", encoding="utf-8")
    return path


def test_chain_links_and_verifies() -> None:
    rows = _entries(5)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == chain.GENESIS
    assert all(b.prev_hash == a.row_hash for a, b in itertools.pairwise(rows))
    stored = AccessLog.objects.get(seq=3)
    assert chain.row_hash(stored) == stored.row_hash  # the hash survives the round trip through the database
    assert chain.verify_chain().ok


def test_ipv6_address_hashes_as_stored() -> None:
    entry = chain.append(
        username="synthetic",
        action="view",
        resource="person",
        ip_address="2001:0db8:0000:0000:0000:0000:0000:0001",
    )
    stored = AccessLog.objects.get(pk=entry.pk)
    assert stored.row_hash == chain.row_hash(stored)
    assert chain.verify_chain().ok


TAMPERING: dict[str, tuple[Callable[[], None], str]] = {
    "edited": (lambda: _sql("UPDATE access_log SET detail = 'nothing to see' WHERE seq = 3"), "seq 3 (id"),
    "deleted": (lambda: _sql("DELETE FROM access_log WHERE seq = 3"), "seq 3 missing"),
    "reordered": (
        lambda: _sql(
            "UPDATE access_log SET seq = -1 WHERE seq = 2",
            "UPDATE access_log SET seq = 2 WHERE seq = 3",
            "UPDATE access_log SET seq = 3 WHERE seq = -1",
        ),
        "seq 2 (id",
    ),
    "inserted": (
        lambda: _sql(
            "INSERT INTO access_log (at, username, action, resource, object_ref, detail, path, prev_hash, row_hash) "
            "VALUES ('2026-01-01 00:00:00+00:00', 'intruder', 'view', 'person', '', '', '', '', '')"
        ),
        "outside the chain",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampering_in_the_middle_is_named(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    _entries(5)
    tamper, expected = TAMPERING[case]
    tamper()
    report = chain.verify_chain()
    assert not report.ok
    assert expected in report.problems[0], report.problems
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "BROKEN" in out and "first problem" in out and expected in out


def test_edit_then_rewritten_chain_is_caught_by_a_checkpoint(tmp_path: Path) -> None:
    _entries(5)
    cp = _checkpoint(tmp_path / "cp.jsonl")
    _sql("UPDATE access_log SET detail = 'rewritten' WHERE seq = 2")
    # recompute every hash after the edit, as someone who knows the scheme would
    prev = chain.GENESIS
    for e in AccessLog.objects.order_by("seq"):
        e.prev_hash = prev
        e.row_hash = chain.row_hash(e)
        _sql(
            f"UPDATE access_log SET prev_hash = '{e.prev_hash}', row_hash = '{e.row_hash}' WHERE id = {e.id}"
        )
        prev = e.row_hash
    assert chain.verify_chain().ok  # the chain alone cannot see a full rewrite ...
    report = chain.verify_chain(chain.read_checkpoints(cp), source="cp.jsonl")
    assert not report.ok and "rewritten" in report.problems[0]  # ... the checkpoint can


def test_cut_tail_and_emptied_table_are_caught_by_a_checkpoint(tmp_path: Path) -> None:
    _entries(5)
    cp = _checkpoint(tmp_path / "cp.jsonl")
    _sql("DELETE FROM access_log WHERE seq >= 4")
    assert chain.verify_chain().ok  # what is left is a valid chain
    report = chain.verify_chain(chain.read_checkpoints(cp))
    assert (
        not report.ok and "cut from the end" in report.problems[0] and "ends at seq 3" in report.problems[0]
    )
    assert main(["audit", "verify", "--checkpoints", str(cp)]) == 1
    if connection.vendor == "postgresql":
        _sql("TRUNCATE access_log")
    else:
        _sql("DELETE FROM access_log")
    report = chain.verify_chain(chain.read_checkpoints(cp))
    assert report.entries == 0 and "ends at seq 0" in report.problems[0]


def test_forged_checkpoint_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _entries(3)
    cp = _checkpoint(tmp_path / "cp.jsonl")
    doc = json.loads(cp.read_text())
    doc["seq"] = 2
    cp.write_text(json.dumps(doc) + "\n")
    with pytest.raises(chain.CheckpointError, match="line 1: the signature does not match"):
        chain.read_checkpoints(cp)
    assert main(["audit", "verify", "--checkpoints", str(cp)]) == 2
    assert "signature" in capsys.readouterr().err


def test_checkpoint_command_appends_signed_heads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cp = tmp_path / "cp.jsonl"
    _entries(2)
    assert main(["audit", "checkpoint", "--out", str(cp)]) == 0
    _entries(1)
    assert main(["audit", "checkpoint", "--out", str(cp), "--print"]) == 0
    points = chain.read_checkpoints(cp)
    assert [c.seq for _, c in points] == [2, 3]
    assert json.loads(capsys.readouterr().out)["seq"] == 3
    assert main(["audit", "verify", "--checkpoints", str(cp)]) == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_fork_the_chain() -> None:
    """Real concurrent transactions: a writer holds its transaction open after appending; others
    append meanwhile from their own connections. On PostgreSQL they wait for the advisory lock; on
    SQLite for the write lock (transactions begin IMMEDIATE; the test database is a file)."""
    holding = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                chain.append(username="slow", action="view", resource="person")
                holding.set()
                release.wait(10)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def writer(k: int) -> None:
        try:
            holding.wait(10)
            for i in range(10):
                chain.append(username=f"w{k}", action="view", resource="person", object_ref=str(i))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=slow_writer)] + [
        threading.Thread(target=writer, args=(k,)) for k in range(4)
    ]
    for t in threads:
        t.start()
    holding.wait(10)
    # the others are now blocked on the lock: nothing they wrote is visible yet
    assert AccessLog.objects.count() == 0
    release.set()
    for t in threads:
        t.join(30)
    assert not errors, errors
    seqs = list(AccessLog.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 42))
    assert AccessLog.objects.get(seq=1).username == "slow"
    assert chain.verify_chain().ok
