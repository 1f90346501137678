"""Scheduled jobs through django-q2's real parts: the scheduler turns a due ``Schedule`` row into a
queued task in the ORM broker's table, the pusher takes it from there, a worker runs it and the
monitor stores its result (the same functions ``rasure worker``'s cluster runs in its processes).
On SQLite and on PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from rasure.errors import ConfigError
from rasure_web.accounts.models import Force
from rasure_web.cli import main
from rasure_web.crimes.models import CrimeRecord, ImportRun
from rasure_web.jobs.dropfolder import storage_now
from rasure_web.jobs.schedules import jobs_schedule
from tests.factories import street_row, write_street
from tests.worker import run_queued

pytestmark = pytest.mark.django_db(transaction=True)

CODE = "SYN"  # a synthetic force


@pytest.fixture
def drop(tmp_path: Path, settings: Any) -> Path:
    settings.RASURE_DROP_ROOT = tmp_path / "drop"
    settings.RASURE_AUDIT_CHECKPOINT_FILE = tmp_path / "audit" / "checkpoints.jsonl"
    Force.objects.create(code=CODE, name="Synthetic test force", synthetic=True)
    folder = settings.RASURE_DROP_ROOT / CODE / "police-uk"
    folder.mkdir(parents=True)
    return folder


def _settled(path: Path, seconds: float = 120) -> Path:
    """As if the file had been written ``seconds`` ago (the job leaves younger files for later)."""
    t = storage_now(path.parent) - seconds  # the folder's clock, as the job measures a file's age
    os.utime(path, (t, t))
    return path


def _run_job(name: str) -> Any:
    """Make one job due and run a cycle of the worker through the broker; returns its stored Task."""
    from django_q.brokers import get_broker
    from django_q.models import Schedule, Task
    from django_q.scheduler import scheduler

    jobs_schedule()
    later = timezone.now() + dt.timedelta(days=1)
    Schedule.objects.exclude(name=name).update(next_run=later)
    Schedule.objects.filter(name=name).update(next_run=timezone.now() - dt.timedelta(minutes=1))
    broker = get_broker()
    scheduler(broker=broker)
    assert broker.queue_size() == 1
    run_queued(broker)
    return Task.objects.filter(group=name).order_by("-stopped").first()


def test_dropped_file_is_imported_once_by_the_scheduled_job(drop: Path) -> None:
    _settled(write_street(drop / "2024-03-syn-street.csv", [street_row("c1"), street_row("c2")]))
    task = _run_job("drop-folders")
    assert task.success, task.result
    run = ImportRun.objects.get()
    assert (run.status, run.trigger, run.tenant.code, run.inserted) == ("ok", "scheduled", CODE, 2)
    assert "hot spots" in run.notes  # rebuilt, or why not
    assert CrimeRecord.objects.count() == 2
    assert not list(drop.iterdir())  # moved out of the drop folder
    done = list((drop.parent / "done").iterdir())
    assert [p.name.endswith("-2024-03-syn-street.csv") for p in done] == [True]
    assert run.path == str(done[0])

    # a re-run finds nothing new; the same contents dropped again are skipped, not imported
    task = _run_job("drop-folders")
    assert task.success and "no new files" in task.result
    assert ImportRun.objects.count() == 1
    _settled(write_street(drop / "again.csv", [street_row("c1"), street_row("c2")]))
    task = _run_job("drop-folders")
    assert task.success, task.result
    skipped = ImportRun.objects.exclude(pk=run.pk).get()
    assert skipped.status == "skipped" and f"same contents as import run {run.pk}" in skipped.notes
    assert CrimeRecord.objects.count() == 2


def test_a_file_still_being_written_waits(drop: Path) -> None:
    f = write_street(drop / "2024-04-syn-street.csv", [street_row("c1")])  # modified just now
    task = _run_job("drop-folders")
    assert task.success and "waiting" in task.result
    assert f.exists() and not ImportRun.objects.exists()
    _settled(f)
    assert _run_job("drop-folders").success
    assert ImportRun.objects.get().status == "ok"


def test_a_bad_file_fails_with_file_line_and_field_and_loads_nothing(drop: Path) -> None:
    bad = [street_row("c1"), street_row("c2"), street_row("c3", lat="not-a-number")]
    _settled(write_street(drop / "2024-05-syn-street.csv", bad))
    task = _run_job("drop-folders")
    assert not task.success  # listed under the admin's Failed tasks
    run = ImportRun.objects.get()
    assert (run.status, run.trigger, run.tenant.code) == ("rejected", "scheduled", CODE)
    assert "2024-05-syn-street.csv, line 4, field 'Latitude'" in run.error, run.error
    assert CrimeRecord.objects.count() == 0  # nothing half-loaded
    [failed] = (drop.parent / "failed").iterdir()
    assert run.path == str(failed)

    # the Imports page flags it for analysts and admins; the overview says so too; officers are refused
    for role in ("analyst", "admin"):
        c = _client(role)
        page = c.get("/dashboard/imports/").content.decode()
        assert "1 file rejected in the last 7 days" in page and "line 4" in page
        assert "1 import rejected in the last 7 days" in c.get("/dashboard/").content.decode()
    assert _client("officer").get("/dashboard/imports/").status_code == 403


def test_records_export_without_a_mapping_fails_clearly(drop: Path) -> None:
    records = drop.parent / "records"
    records.mkdir()
    _settled(write_street(records / "nightly.csv", [street_row("c1")]))
    task = _run_job("drop-folders")
    assert not task.success
    run = ImportRun.objects.get()
    assert run.status == "rejected" and "records-mapping.toml" in run.error


def test_daily_trial_audit_job_result_shows_on_the_trial_page(drop: Path) -> None:
    from rasure_web.trials import lifecycle
    from rasure_web.trials.audit import trial_last_audit
    from tests.city import store_city_with_hotspots

    store_city_with_hotspots()
    start = timezone.now().astimezone(ZoneInfo("Europe/London")).date() + dt.timedelta(days=1)
    t = lifecycle.trial_create(name="JOBS-AUDIT-T", start=start, end=start + dt.timedelta(days=6))
    lifecycle.trial_commit(trial_id=t.pk, user=lifecycle.CliActor(username="cli:synthetic"), seed="5e" * 32)
    c = _client("analyst")
    assert b"Schedule check</strong>: not run yet" in c.get(f"/trials/{t.pk}/").content
    task = _run_job("trial-audit")
    assert task.success, task.result
    assert "UNCHANGED since commit" in task.result
    last = trial_last_audit(trial=t)
    assert last is not None and last.username == "job:trial-audit"
    assert b"the stored schedule is the one committed" in c.get(f"/trials/{t.pk}/").content


def test_checkpoint_and_ping_pruning_jobs(drop: Path, settings: Any) -> None:
    task = _run_job("audit-checkpoint")
    assert task.success, task.result
    lines = Path(settings.RASURE_AUDIT_CHECKPOINT_FILE).read_text().splitlines()
    assert len(lines) == 1 and '"hmac"' in lines[0]
    assert main(["audit", "verify", "--checkpoints", str(settings.RASURE_AUDIT_CHECKPOINT_FILE)]) == 0
    task = _run_job("prune-pings")
    assert task.success and "GPS pings older than" in task.result


def test_schedules_register_idempotently_from_settings(settings: Any) -> None:
    from django_q.models import Schedule

    assert {s for _, s in jobs_schedule()} == {"created"}
    assert {s for _, s in jobs_schedule()} == {"unchanged"}
    settings.RASURE_JOB_TRIAL_AUDIT_CRON = "0 7 * * *"
    assert dict(jobs_schedule())["trial-audit"] == "updated"
    s = Schedule.objects.get(name="trial-audit")
    assert s.cron == "0 7 * * *" and timezone.localtime(s.next_run).hour == 7
    assert Schedule.objects.count() == 4
    settings.RASURE_JOB_TRIAL_AUDIT_CRON = "every morning"
    with pytest.raises(ConfigError, match="RASURE_JOB_TRIAL_AUDIT_CRON"):
        jobs_schedule()


def _client(role: str) -> Client:
    u = User.objects.create_user(username=f"t-jobs-{role}", password="a-long-test-password")
    u.groups.add(Group.objects.get_or_create(name=role)[0])  # a transactional test's flush empties the groups
    c = Client()
    c.force_login(u)
    return c


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="runs once, on its own SQLite")
@pytest.mark.django_db(transaction=False)
def test_rasure_worker_process_imports_a_dropped_file_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """The real service: `rasure worker` as its own process on its own (SQLite) installation, a file
    dropped before it starts, imported by its first scheduled run; Ctrl-C (SIGINT) stops it."""
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(RASURE_HOME=str(tmp_path / "home"), RASURE_DROP_SETTLE_SECONDS="0")
    rasure = [sys.executable, "-m", "rasure_web.cli"]
    subprocess.run([*rasure, "force", "add", CODE, "--name", "Synthetic test force"], env=env, check=True)
    folder = tmp_path / "home" / "drop" / CODE / "police-uk"
    folder.mkdir(parents=True)
    write_street(folder / "2024-03-syn-street.csv", [street_row("c1"), street_row("c2")])
    done = folder.parent / "done"
    proc = subprocess.Popen([*rasure, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not (done.is_dir() and any(done.iterdir())) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(1)
        assert done.is_dir() and len(list(done.iterdir())) == 1
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # read the worker's database directly (no third process, and no Django settings of its own)
    with sqlite3.connect(tmp_path / "home" / "rasure.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM crime_record").fetchone() == (2,)
        assert db.execute(
            "SELECT status, trigger, (SELECT code FROM force WHERE id = tenant_id) FROM import_run"
        ).fetchall() == [("ok", "scheduled", CODE)]
        assert db.execute(
            "SELECT success FROM django_q_task WHERE \"group\" = 'drop-folders'"
        ).fetchall() == [(1,)]


def test_nightly_export_through_its_mapping_with_jobs_run(
    drop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The records/ folder reads the force's export with records-mapping.toml; `rasure jobs run` runs
    the job in the foreground (exit 0; 1 when it found a rejected file)."""
    import shutil

    from rasure.ingest.mapped import template_path

    examples = Path(__file__).resolve().parents[2] / "docs" / "examples"
    records = drop.parent / "records"
    records.mkdir()
    shutil.copy(template_path(), drop.parent / "records-mapping.toml")
    _settled(Path(shutil.copy(examples / "force-export-example.csv", records / "nightly.csv")))
    assert main(["jobs", "run", "drop-folders"]) == 0
    run = ImportRun.objects.get()
    assert (run.status, run.trigger, run.tenant.code) == ("ok", "scheduled", CODE)
    assert run.inserted == CrimeRecord.objects.count() > 0
    assert "1 imported" in capsys.readouterr().out
    _settled(write_street(drop / "2024-06-syn-street.csv", [street_row("c9", lon="200")]))
    assert main(["jobs", "run", "drop-folders"]) == 1
    assert "rejected" in capsys.readouterr().out
