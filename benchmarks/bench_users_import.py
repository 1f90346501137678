"""Benchmark: ``rasure users import`` of 2,000 and 20,000 synthetic users, first run and re-run.

Each size runs in a fresh database (SQLite by default, or PostgreSQL with ``postgres``), in this one
process. Every user is synthetic (``syn.bench00001`` ...). Prints figures; asserts nothing about speed.

    python benchmarks/bench_users_import.py sqlite
    python benchmarks/bench_users_import.py postgres   # needs PostgreSQL at 127.0.0.1:5432 (trust auth)
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
import time
from pathlib import Path

SIZES = (2_000, 20_000)
COLUMNS = ("username", "full_name", "email", "collar_number", "force", "organisation", "team", "roles")
DB = "rasure_bench_users"


def _csv(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for i in range(n):
            w.writerow(
                [
                    f"syn.bench{i:06d}",
                    f"Synthetic Bench {i:06d}",
                    f"syn.bench{i:06d}@example.invalid",
                    str(100000 + i),
                    "SYNB",
                    "SYNB",
                    f"RT{i % 4 + 1}",
                    "officer" if i % 10 else "officer;supervisor",
                ]
            )
    return path


def main(db: str) -> int:
    home = Path(tempfile.mkdtemp(prefix="rasure-bench-users-"))
    os.environ["RASURE_HOME"] = str(home)
    if db == "postgres":
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB}")
            conn.execute(f"CREATE DATABASE {DB}")
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB}"
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "rasure_web.settings"
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from rasure_web import clock
    from rasure_web.accounts.models import Force, Organisation, Profile, Team
    from rasure_web.accounts.services import users_import

    call_command("migrate", verbosity=0)
    for n in SIZES:
        Profile.objects.all().delete()
        User.objects.filter(username__startswith="syn.bench").delete()
        Team.objects.all().delete()
        Organisation.objects.all().delete()
        Force.objects.all().delete()
        force = Force.objects.create(code="SYNB", name="Synthetic Bench Police")
        Organisation.objects.create(code="SYNB", name="Synthetic Bench Police", kind="force", force=force)
        for k in range(1, 5):
            Team.objects.create(force=force, code=f"RT{k}", name=f"Response {k}", kind="response")
        path = _csv(home / f"users-{n}.csv", n)
        t0 = time.perf_counter()
        first = users_import(path=path, user=None, when=clock.now())
        t1 = time.perf_counter()
        again = users_import(path=path, user=None, when=clock.now())
        t2 = time.perf_counter()
        print(
            f"users-import/{db}: {n:,} rows first run {t1 - t0:.2f} s ({n / (t1 - t0):,.0f} rows/s): {first.summary()}"
        )
        print(
            f"users-import/{db}: {n:,} rows re-run   {t2 - t1:.2f} s ({n / (t2 - t1):,.0f} rows/s): {again.summary()}"
        )
    if db == "postgres":
        from django.db import connections

        connections.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "sqlite"))
