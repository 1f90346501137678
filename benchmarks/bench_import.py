"""Benchmark: import police.uk street + outcomes files end to end, against floors measured in the same run.

Data: the Gwent files in shared/data when present (36 months, street + outcomes), otherwise
synthetic police.uk files of the same shape. Run by `make bench` (benchmarks/run_all.py) once on
SQLite and once on PostgreSQL, each in a fresh database, DEBUG off. Prints figures and ratios;
asserts nothing about speed.

- **import**: ``rasure import police-uk`` as a service call (parse, validate, classify, harm,
  stage, merge), first run and an identical second run.
- **floor**: the same files parsed by pyarrow (all-string columns) and written with no checks: a
  bare ``COPY`` of the parsed columns into a plain table (PostgreSQL), or one transaction of
  ``executemany`` (SQLite).
- **memory against file size**: one synthetic street file of 25 k, 100 k, 300 k and 600 k rows, each
  imported in a fresh process; peak RSS of that process (before-import RSS subtracted too).

    python benchmarks/bench_import.py sqlite
    python benchmarks/bench_import.py postgres   # needs PostgreSQL at 127.0.0.1:5432 (trust auth)
    RASURE_BENCH_DB=rasure_bench_mine python benchmarks/bench_import.py postgres   # its own database
"""

from __future__ import annotations

import gzip
import io
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import goals
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("RASURE_SHARED_DATA", ROOT.parent / "shared" / "data")) / "policeuk" / "gwent"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
#: The PostgreSQL database the benchmark drops and re-creates (another name lets runs share a server).
BENCH_DB = os.environ.get("RASURE_BENCH_DB", "rasure_bench")
STREET_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)
CATEGORIES = [
    "Violence and sexual offences",
    "Anti-social behaviour",
    "Criminal damage and arson",
    "Public order",
    "Shoplifting",
    "Robbery",
    "Burglary",
    "Vehicle crime",
]


def synthetic_street(path: Path, rows: int, *, month: str = "2024-03", seed: int = 1) -> Path:
    """A synthetic police.uk street file (gzipped): random places in south Wales, a third ASB."""
    rng = np.random.default_rng(seed)
    ids = [f"{x:064x}" for x in rng.integers(0, 2**62, rows)]
    cat = rng.choice(CATEGORIES, rows)
    lon = rng.uniform(-3.4, -2.7, rows)
    lat = rng.uniform(51.5, 51.9, rows)
    lines = [STREET_HEADER]
    for i in range(rows):  # generating the input is not what is timed
        asb = cat[i] == "Anti-social behaviour"
        lines.append(
            f"{'' if asb else ids[i]},{month},Synthetic Police,Synthetic Police,{lon[i]:.6f},{lat[i]:.6f},"
            f"On or near Street {i % 5000} (synthetic),W01000{i % 900:03d},Synthetic {i % 900:03d}A,{cat[i]},"
            f"{'' if asb else 'Under investigation'},"
        )
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=1))
    return path


def _files(tmp: Path) -> tuple[list[str], str]:
    if DATA.is_dir() and any(DATA.glob("*.csv.gz")):
        return sorted(str(p) for p in DATA.glob("*.csv.gz")), f"Gwent police.uk files ({DATA})"
    files = [
        str(
            synthetic_street(
                tmp / f"2024-{m:02d}-synthetic-street.csv.gz", 10_000, month=f"2024-{m:02d}", seed=m
            )
        )
        for m in range(1, 13)
    ]
    return files, "synthetic police.uk street files (shared/data absent)"


def _setup(db: str, name: str) -> None:
    os.environ["RASURE_HOME"] = tempfile.mkdtemp(prefix="rasure-bench-")
    os.environ["RASURE_DEBUG"] = "0"
    if db == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "rasure_web.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _floor(files: list[str]) -> float:
    """Seconds to parse every file with pyarrow and write the columns with no checks at all."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from django.db import connection, transaction

    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        for f in files:
            table = pacsv.read_csv(f, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
            table = table.cast(pa.schema([(n, pa.string()) for n in table.column_names]))
            cols = ", ".join(f"c{i} text" for i in range(table.num_columns))
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS floor_{table.num_columns} ({cols})")
            if connection.vendor == "postgresql":
                buf = io.BytesIO()
                pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
                with cur.cursor.copy(f"COPY floor_{table.num_columns} FROM STDIN WITH (FORMAT csv)") as copy:
                    copy.write(buf.getbuffer())
            else:
                rows = list(zip(*(c.to_pylist() for c in table.columns), strict=True))
                marks = ", ".join(["%s"] * table.num_columns)
                cur.executemany(f"INSERT INTO floor_{table.num_columns} VALUES ({marks})", rows)
        transaction.set_rollback(True)
    return time.perf_counter() - t0


def main(db: str) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="rasure-bench-data-"))
    files, what = _files(tmp)
    _setup(db, BENCH_DB)
    from rasure_web.crimes import services
    from rasure_web.crimes.models import CrimeRecord

    floor = _floor(files)
    t0 = time.perf_counter()
    reports = services.records_import_policeuk(paths=files)
    first = time.perf_counter() - t0
    rows = sum(r.rows_read for r in reports)
    rejected = [r.path for r in reports if not r.ok]
    t1 = time.perf_counter()
    again = services.records_import_policeuk(paths=files)
    second = time.perf_counter() - t1
    changed = sum(r.inserted + r.updated for r in again)
    print(f"import/{db}: {what}: {len(files)} files, {rows:,} rows, {CrimeRecord.objects.count():,} records")
    if rejected:
        print(f"import/{db}: REJECTED {rejected}")
    print(
        f"import/{db}: floor (pyarrow parse + {'bare COPY' if db == 'postgres' else 'one-transaction executemany'})"
        f" {floor:.2f} s = {rows / floor:,.0f} rows/s"
    )
    print(
        f"import/{db}: first run {first:.2f} s = {rows / first:,.0f} rows/s end to end; "
        f"{first / floor:.2f}x the floor (goal <= 2x, or >= {'200' if db == 'postgres' else '100'} k rows/s)"
    )
    goal_rows = 200_000 if db == "postgres" else 100_000
    goals.record(
        f"import police.uk, {len(files)} files, {rows:,} rows, {db}",
        f"{rows / first:,.0f} rows/s",
        f"pyarrow + {'bare COPY' if db == 'postgres' else 'one-transaction executemany'} {rows / floor:,.0f} rows/s",
        f"{first / floor:.2f}× floor time",
        f"≥ {goal_rows // 1000} k rows/s or ≤ 2× floor",
        rows / first >= goal_rows or first / floor <= 2.0,
    )
    print(
        f"import/{db}: second run {second:.2f} s = {rows / second:,.0f} rows/s, {changed} rows changed; "
        f"{second / floor:.2f}x the floor"
    )
    from django.db import connections

    connections.close_all()
    growth: list[str] = []
    for n in (25_000, 100_000, 300_000, 600_000):
        f = synthetic_street(tmp / f"2024-03-size{n}-street.csv.gz", n)
        out = subprocess.run(
            [sys.executable, __file__, db, "memory", str(f)], capture_output=True, text=True, check=False
        )
        text = out.stdout.strip() or out.stderr.strip()[-2000:]
        print(text)
        grew = re.search(r"\(before import \d+ MiB, \+(\d+)\)", text)
        growth.append(f"+{grew.group(1)}" if grew else "?")
    mib = [int(g[1:]) for g in growth if g != "?"]
    goals.record(
        f"import memory, one file of 25 k / 100 k / 300 k / 600 k rows, {db}",
        " / ".join(growth) + " MiB",
        "—",
        "—",
        "flat in file size",
        None if len(mib) < 2 else mib[-1] <= 1.25 * mib[0],
    )
    return 0


def _peak_kib() -> int:
    """This process's peak resident memory in KiB (VmHWM: unlike ru_maxrss, not inherited from the
    parent across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def memory(db: str, path: str) -> int:
    """One file in a fresh process: peak RSS against the file's size."""
    _setup(db, f"{BENCH_DB}_mem")
    from rasure_web.crimes import services

    before = _peak_kib()
    t0 = time.perf_counter()
    [r] = services.records_import_policeuk(paths=[path])
    took = time.perf_counter() - t0
    peak = _peak_kib()
    print(
        f"import/{db}: memory: {r.rows_read:,} rows ({Path(path).stat().st_size / 2**20:.1f} MiB gzipped): "
        f"peak RSS {peak / 1024:.0f} MiB (before import {before / 1024:.0f} MiB, +{(peak - before) / 1024:.0f}); "
        f"{r.rows_read / took:,.0f} rows/s"
    )
    from django.db import connections

    connections.close_all()
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[2] == "memory":
        sys.exit(memory(sys.argv[1], sys.argv[3]))
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "sqlite"))
