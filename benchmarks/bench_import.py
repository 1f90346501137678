"""Benchmark: import all 36 Gwent months (street + outcomes) end to end.

Run by `make bench` (benchmarks/run_all.py) once on SQLite and once on PostgreSQL, each in a fresh
database and a fresh process, so the peak memory (ru_maxrss) is this import's own. Prints figures;
asserts nothing about speed.

    python benchmarks/bench_import.py sqlite
    python benchmarks/bench_import.py postgres   # needs PostgreSQL at 127.0.0.1:5432 (trust auth)
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("RASURE_SHARED_DATA", ROOT.parent / "shared" / "data")) / "policeuk" / "gwent"


def main(db: str) -> int:
    if not DATA.is_dir():
        print(f"SKIP import benchmark: {DATA} not found")
        return 0
    os.environ["RASURE_HOME"] = tempfile.mkdtemp(prefix="rasure-bench-")
    if db == "postgres":
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS rasure_bench")
            conn.execute("CREATE DATABASE rasure_bench")
        os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/rasure_bench"
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "rasure_web.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from rasure_web.crimes import services
    from rasure_web.crimes.models import CrimeRecord

    files = sorted(str(p) for p in DATA.glob("*.csv.gz"))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    reports = services.records_import_policeuk(paths=files)
    first = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = sum(r.rows_read for r in reports)
    t1 = time.perf_counter()
    again = services.records_import_policeuk(paths=files)
    second = time.perf_counter() - t1
    changed = sum(r.inserted + r.updated for r in again)
    biggest = max(Path(f).stat().st_size for f in files)
    print(
        f"import/{db}: {len(files)} files, {rows:,} rows (street + outcomes), {CrimeRecord.objects.count():,} records"
    )
    print(f"import/{db}: first run {first:.2f} s = {rows / first:,.0f} rows/s end to end")
    print(f"import/{db}: second run {second:.2f} s = {rows / second:,.0f} rows/s, {changed} rows changed")
    print(
        f"import/{db}: peak RSS {rss1 / 1024:.0f} MiB (before import {rss0 / 1024:.0f} MiB); "
        f"largest file {biggest / 1024:.0f} KiB gzipped (files import one at a time)"
    )
    if db == "postgres":
        from django.db import connections

        connections.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "sqlite"))
