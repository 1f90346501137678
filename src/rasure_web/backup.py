"""Backups you can restore: ``rasure backup``, ``rasure restore`` and ``rasure restore-drill``.

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot while the
  server runs; restoring copies it back page by page (stop the server first).
- PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists --no-owner`` (the
  PostgreSQL client programs must be installed), then ``ANALYZE`` (a restore leaves the planner no
  statistics); after a restore, run ``rasure db roles --apply`` again so ownership and grants are as
  before.

The drill restores a backup into a scratch place (a temporary SQLite file, or a scratch PostgreSQL
database ``<name>_drill`` that is dropped afterwards), runs ``rasure audit verify`` and ``rasure trial
audit`` for every committed trial against it, and reports how long each step took.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection

from rasure.errors import RasureError


class BackupError(RasureError):
    """A backup or restore that cannot be made (missing tool, unreadable file, wrong database kind)."""


def _pg_env(settings: dict[str, Any], name: str | None = None) -> tuple[list[str], dict[str, str]]:
    args = ["--host", str(settings.get("HOST") or "127.0.0.1"), "--port", str(settings.get("PORT") or 5432)]
    if settings.get("USER"):
        args += ["--username", str(settings["USER"])]
    env = dict(os.environ)
    if settings.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings["PASSWORD"])
    return [*args, "--dbname", name or str(settings["NAME"])], env


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    if shutil.which(cmd[0]) is None:
        raise BackupError(
            f"{cmd[0]} is not installed: install the PostgreSQL client programs (postgresql-client)."
        )
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise BackupError(f"{cmd[0]} failed: {out.stderr.strip()[:1000]}")


def backup(out: Path) -> int:
    """Write a backup of the database to ``out``; returns its size in bytes."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        _sqlite_copy(sqlite3.connect(str(s["NAME"])), out)
    elif connection.vendor == "postgresql":
        args, env = _pg_env(s)
        _run(["pg_dump", "--format=custom", "--file", str(out), *args], env)
    else:
        raise BackupError(f"backups of a {connection.vendor} database are not supported.")
    return out.stat().st_size


def _sqlite_restore(backup_file: Path, target: Path) -> None:
    try:
        src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
        src.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{backup_file}: not a SQLite backup ({exc}).") from exc
    _sqlite_copy(src, target)


def _sqlite_copy(src: sqlite3.Connection, target: Path) -> None:
    """SQLite's online backup of ``src`` into the file ``target``; closes both connections."""
    dst = sqlite3.connect(str(target))
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def restore(backup_file: Path) -> None:
    """Replace the database's content with the backup (stop the server first)."""
    if not backup_file.is_file():
        raise BackupError(f"{backup_file}: no such backup file.")
    s = connection.settings_dict
    connection.close()
    if connection.vendor == "sqlite":
        _sqlite_restore(backup_file, Path(s["NAME"]))
    elif connection.vendor == "postgresql":
        args, env = _pg_env(s)
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--exit-on-error",
                *args,
                str(backup_file),
            ],
            env,
        )
        # pg_restore leaves the planner no statistics: until autovacuum gets round to each table,
        # joins are planned as if the tables were empty (the hot-people lists as a nested loop over
        # every record per link: seconds on a small city, far longer on a force's data)
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    else:
        raise BackupError(f"restoring a {connection.vendor} database is not supported.")


@dataclass
class DrillReport:
    backup_bytes: int
    restore_seconds: float = 0.0
    checks: list[tuple[str, int, float, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(code == 0 for _, code, _, _ in self.checks)

    def text(self) -> str:
        lines = [
            f"restore drill: {'PASSED' if self.ok else 'FAILED'}",
            f"backup {self.backup_bytes / 1e6:.1f} MB restored into a scratch database in {self.restore_seconds:.1f} s",
        ]
        for name, code, secs, out in self.checks:
            lines.append(f"{name}: exit {code} in {secs:.1f} s")
            lines.extend(f"    {line}" for line in out.strip().splitlines()[:6])
        return "\n".join(lines)


def _check(name: str, argv: list[str], env: dict[str, str]) -> tuple[str, int, float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "rasure_web.cli", *argv], env=env, capture_output=True, text=True, check=False
    )
    return name, out.returncode, time.perf_counter() - t0, out.stdout + out.stderr


def restore_drill(backup_file: Path, *, trial_ids: list[int], checkpoints: list[str]) -> DrillReport:
    """Restore ``backup_file`` into a scratch place and run the integrity checks against it."""
    if not backup_file.is_file():
        raise BackupError(f"{backup_file}: no such backup file.")
    report = DrillReport(backup_bytes=backup_file.stat().st_size)
    s = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RASURE_HOME")}
    with tempfile.TemporaryDirectory(prefix="rasure-drill-") as scratch:
        t0 = time.perf_counter()
        drop: str | None = None
        if connection.vendor == "sqlite":
            env["RASURE_HOME"] = scratch
            _sqlite_restore(backup_file, Path(scratch) / "rasure.sqlite3")
        elif connection.vendor == "postgresql":
            drop = f"{s['NAME']}_drill"
            with connection.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{drop}"')
                cur.execute(f'CREATE DATABASE "{drop}"')
            args, pg_env = _pg_env(s, drop)
            _run(["pg_restore", "--no-owner", "--exit-on-error", *args, str(backup_file)], pg_env)
            user = f"{s['USER']}@" if s.get("USER") else ""
            env["DATABASE_URL"] = (
                f"postgres://{user}{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{drop}"
            )
            if s.get("PASSWORD"):
                env["PGPASSWORD"] = str(s["PASSWORD"])
            env["RASURE_HOME"] = scratch
        else:
            raise BackupError(f"a drill on a {connection.vendor} database is not supported.")
        report.restore_seconds = time.perf_counter() - t0
        try:
            verify = ["audit", "verify", *[a for c in checkpoints for a in ("--checkpoints", c)]]
            report.checks.append(_check("audit verify", verify, env))
            for tid in trial_ids:
                report.checks.append(_check(f"trial audit {tid}", ["trial", "audit", str(tid)], env))
        finally:
            if drop:
                with connection.cursor() as cur:
                    cur.execute(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')
    return report
