"""Benchmark: a 3-million-record force (about the Metropolitan Police over three years) end to end.

    python benchmarks/bench_scale.py postgres [sqlite] [--records N] [--keep]
    RASURE_BENCH_SCALE=1 python benchmarks/run_all.py      # `make bench` runs it only when asked

It takes minutes, so `make bench` skips it unless ``RASURE_BENCH_SCALE=1`` (then on both databases) or
this script is given a database. SYNTHETIC DATA: 36 monthly police.uk-shaped street files written by
:func:`rasure.synth_force.write_policeuk_force` into a temporary folder (deleted afterwards, never
committed). Then, in a fresh database (a throwaway PostgreSQL database at 127.0.0.1:5432, or SQLite
in a temporary ``RASURE_HOME``), DEBUG off, the real commands, each in its own process:

- ``rasure import police-uk FOLDER`` and ``rasure hotspots build`` (default parameters, 999 Gi*
  permutations): wall time, CPU time (user + system), peak RSS of that process, rows/s;
- the dashboard through Django's test client in this process (server time, no network; the process
  readied first as ``rasure serve``'s workers are, :func:`rasure_web.warmup.warm_process`): overview
  (with the hot-spot list), map page, map layers, a hot-spot page, the hot-spot export; first view
  after the cache is emptied ("cold") and median of 5 repeats ("warm");
- the database's size on disk.

Floors measured in the same run: pyarrow reading every file (all columns as strings), and writing
those columns with no checks at all (PostgreSQL: ``COPY`` into a plain table; SQLite: one transaction
of ``executemany``); one full scan of the records for the dashboard. Correctness is checked too:
records stored = rows generated, hot spots built, the overview's serious-violence count = a direct
SQL count. Prints figures and ratios; asserts nothing about speed (a wrong count exits 1).
"""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = os.environ.get("RASURE_BENCH_PG_DB", "rasure_bench_scale")
END_MONTH = "2025-12"  # fixed: the data are synthetic, so the run does not depend on today's date
RASURE = [str(Path(sys.executable).with_name("rasure"))]  # the installed command


class _ServerCpu(threading.Thread):
    """CPU seconds spent by the PostgreSQL backends serving the benchmark's database while a command
    runs (sampled from /proc every half second, so a local server only; None if it cannot be read).
    The command's own rusage does not include them, and on PostgreSQL they are much of an import."""

    def __init__(self, vendor: str) -> None:
        super().__init__(daemon=True)
        self.vendor, self.seen, self.stop, self.readable = vendor, dict[int, float](), threading.Event(), True

    def run(self) -> None:
        if self.vendor != "postgres":
            return
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            while not self.stop.is_set():
                pids = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [PG_DB]).fetchall()
                for (pid,) in pids:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        self.readable = False
                        continue
                    ticks = int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)
                    self.seen[pid] = max(self.seen.get(pid, 0.0), ticks / os.sysconf("SC_CLK_TCK"))
                self.stop.wait(0.5)

    def total(self) -> float | None:
        self.stop.set()
        self.join()
        return sum(self.seen.values()) if self.vendor == "postgres" and self.readable and self.seen else None


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, str, float | None]:
    """Run ``cmd``; its wall seconds, CPU seconds (user + system) and peak RSS (KiB), from wait4, and
    the CPU seconds of the database server's backends for it (PostgreSQL on this machine)."""
    server = _ServerCpu("postgres" if "DATABASE_URL" in env else "sqlite")
    server.start()
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert p.stdout is not None
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    server_cpu = server.total()
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        print(out[-3000:])
        raise SystemExit(f"{' '.join(cmd[1:3])} exited {p.returncode}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, out, server_cpu


def _server(cpu: float | None) -> str:
    return "" if cpu is None else f" + {cpu:.1f} s PostgreSQL server CPU"


def _floor(files: list[Path], vendor: str, dsn: str) -> tuple[float, float]:
    """Seconds to parse every file with pyarrow, and to parse and write the columns with no checks."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    def tables() -> list[pa.Table]:
        out = []
        for f in files:
            t = pacsv.read_csv(f, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
            out.append(t.cast(pa.schema([(n, pa.string()) for n in t.column_names])))
        return out

    t0 = time.perf_counter()
    parsed = tables()
    parse = time.perf_counter() - t0
    del parsed
    cols = ", ".join(f"c{i} text" for i in range(12))
    t0 = time.perf_counter()
    if vendor == "postgres":
        import psycopg

        with psycopg.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE TABLE floor_copy ({cols})")
            for table in tables():
                buf = io.BytesIO()
                pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
                with cur.copy("COPY floor_copy FROM STDIN WITH (FORMAT csv)") as copy:
                    copy.write(buf.getbuffer())
            conn.commit()
            written = time.perf_counter() - t0
            cur.execute("DROP TABLE floor_copy")
    else:
        db = Path(dsn)
        lite = sqlite3.connect(db)
        lite.execute(f"CREATE TABLE floor_copy ({cols})")
        with lite:
            for table in tables():
                rows = zip(*(c.to_pylist() for c in table.columns), strict=True)
                lite.executemany(f"INSERT INTO floor_copy VALUES ({', '.join('?' * 12)})", rows)
        written = time.perf_counter() - t0
        lite.close()
        db.unlink()
    return parse, written


def _db_size(vendor: str, home: Path) -> int:
    if vendor == "postgres":
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{PG_DB}") as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            assert row is not None
            return int(row[0])
    return sum(p.stat().st_size for p in home.glob("rasure.sqlite3*"))


def _dashboard(vendor: str) -> dict[str, int]:
    """Time the dashboard pages in this process (cold, then warm); returns the counts it checked."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "rasure_web.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from rasure_web.analysis.models import HotSpot
    from rasure_web.crimes.models import CrimeRecord
    from rasure_web.warmup import warm_process

    setup_test_environment()  # the test client's response.context (DEBUG stays off)
    settings.DEBUG = False
    warm_process()  # readied as a server worker is before its first request (rasure_web.wsgi)
    u = User.objects.create_user(username="bench-scale-analyst", password="x" * 20)
    u.groups.add(Group.objects.get(name="analyst"))
    c = Client()
    c.force_login(u)
    c.get("/accounts/login/")  # imports and URL configuration, before anything is timed
    hs = HotSpot.objects.order_by("rank").first()
    assert hs is not None
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute("SELECT COUNT(*), SUM(harm_days) FROM crime_record")
            cur.fetchall()
        best = min(best, time.perf_counter() - t0)
    scan_ms = best * 1000
    pages = {
        "overview (with the hot-spot list)": "/dashboard/",
        "map page": "/dashboard/map/",
        "map: hot spots layer": "/dashboard/map/hotspots.json",
        "map: crimes, force zoom (clustered)": "/dashboard/map/crimes.json?zoom=11",
        "map: crimes, street zoom": "/dashboard/map/crimes.json?zoom=16",
        "map: density": "/dashboard/map/density.json",
        "hot spot page": f"/dashboard/hotspots/{hs.pk}/",
        "hot spots export (CSV)": "/dashboard/export/hotspots.csv",
    }
    cache.clear()  # the commands warmed it: time the cold path first
    print(f"  dashboard ({vendor}, DEBUG {settings.DEBUG}); floor: one scan of the records {scan_ms:.0f} ms")
    yoy_count = -1
    for name, url in pages.items():
        times, cpus = [], []
        for _ in range(6):
            t0, c0 = time.perf_counter(), time.process_time()
            r = c.get(url)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            if r.status_code != 200:
                print(f"  {name}: HTTP {r.status_code}")
                break
            if url == "/dashboard/" and r.context is not None:
                yoy_count = int(r.context["yoy"]["count"])
        if len(times) == 6:
            print(
                f"  {name:<36} cold {times[0] * 1000:7.0f} ms ({cpus[0] * 1000:6.0f} ms CPU, "
                f"{times[0] * 1000 / scan_ms:5.1f}x the scan)   warm median {statistics.median(times[1:]) * 1000:6.0f} ms"
            )
    # the overview's count: serious violence in the last 12 months of data (local months)
    last = CrimeRecord.objects.filter(serious_violence=True).order_by("-occurred_from").first()
    assert last is not None
    import datetime as dt

    from django.utils import timezone

    local = timezone.localtime(last.occurred_from)
    first_month = (local.year * 12 + local.month - 1) - 11
    since = timezone.make_aware(dt.datetime(first_month // 12, first_month % 12 + 1, 1))
    with connection.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM crime_record WHERE serious_violence AND occurred_from >= %s",
            [connection.ops.adapt_datetimefield_value(since)],  # as the database stores it (SQLite: UTC text)
        )
        (sql_count,) = cur.fetchone()
        cur.execute("SELECT COUNT(*) FROM crime_record")
        (records,) = cur.fetchone()
    return {
        "records": int(records),
        "hotspots": HotSpot.objects.count(),
        "overview_sv": yoy_count,
        "sql_sv": int(sql_count),
    }


def main(argv: list[str]) -> int:
    vendors = [a for a in argv if a in {"postgres", "sqlite"}]
    if not argv and os.environ.get("RASURE_BENCH_SCALE") != "1":
        print("SKIP scale benchmark (takes minutes): set RASURE_BENCH_SCALE=1, or run it with a database")
        return 0
    vendors = vendors or ["postgres", "sqlite"]
    records = int(argv[argv.index("--records") + 1]) if "--records" in argv else 3_000_000
    keep = "--keep" in argv
    if "postgres" in vendors:
        try:
            import psycopg

            psycopg.connect(PG_ADMIN, connect_timeout=3).close()
        except Exception as exc:
            print(f"SKIP scale benchmark on PostgreSQL: not reachable ({exc})")
            vendors.remove("postgres")
    if not vendors:
        return 0
    from rasure.synth_force import write_policeuk_force

    tmp = Path(tempfile.mkdtemp(prefix="rasure-bench-scale-"))
    try:
        t0 = time.perf_counter()
        force = write_policeuk_force(tmp / "files", records=records, months=36, end_month=END_MONTH)
        gen = time.perf_counter() - t0
        gz = sum(f.stat().st_size for f in force.files)
        load = os.getloadavg()
        print(
            f"scale: SYNTHETIC force, {force.rows:,} rows in {len(force.files)} monthly police.uk street files "
            f"({gz / 2**20:.0f} MiB gzipped), generated in {gen:.1f} s; {os.cpu_count()} cores, "
            f"load average {load[0]:.1f} at the start"
        )
        failed = 0
        for vendor in vendors:
            failed += _one(vendor, force.files, force.rows, tmp, keep=keep)
        print(f"scale: load average {os.getloadavg()[0]:.1f} at the end")
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _one(vendor: str, files: list[Path], rows: int, tmp: Path, *, keep: bool) -> int:
    home = tmp / f"home-{vendor}"
    home.mkdir()
    env = {**os.environ, "RASURE_HOME": str(home), "RASURE_DEBUG": "0", "PYTHONPATH": str(ROOT / "src")}
    env.pop("DATABASE_URL", None)
    if vendor == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_DB}")
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
        dsn = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
    else:
        dsn = str(tmp / "floor.sqlite3")
    os.environ.update({k: v for k, v in env.items() if k.startswith("RASURE") or k == "DATABASE_URL"})
    if vendor == "sqlite":
        os.environ.pop("DATABASE_URL", None)
    parse, written = _floor(files, vendor, dsn)
    floor_name = "bare COPY" if vendor == "postgres" else "one-transaction executemany"
    print(f"\nscale/{vendor}:")
    print(
        f"  floor: pyarrow parse {parse:.1f} s = {rows / parse:,.0f} rows/s; parse + {floor_name} {written:.1f} s"
    )
    wall, cpu, rss, _, server = _run([*RASURE, "import", "police-uk", str(files[0].parent)], env)
    print(
        f"  rasure import police-uk: {wall:.1f} s wall, {cpu:.1f} s CPU{_server(server)}, peak RSS {rss / 1024:.0f} MiB; "
        f"{rows / wall:,.0f} rows/s; {wall / written:.1f}x the floor (parse + {floor_name}), "
        f"{wall / parse:.1f}x the parse alone"
    )
    wall, cpu, rss, out, server = _run([*RASURE, "hotspots", "build"], env)
    summary = next((line for line in out.splitlines() if line.startswith("Analysis run")), "")
    print(
        f"  rasure hotspots build: {wall:.1f} s wall, {cpu:.1f} s CPU{_server(server)}, peak RSS {rss / 1024:.0f} MiB; "
        f"{wall / parse:.1f}x the parse; {summary}"
    )
    print(f"  database size after import and build: {_db_size(vendor, home) / 2**20:,.0f} MiB")
    # the dashboard runs in a child of this process, so each database gets a fresh Django
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import bench_scale; "
        "print('COUNTS ' + json.dumps(bench_scale._dashboard(sys.argv[2])))"
    )
    p = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), vendor],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = p.stdout.splitlines()
    print("\n".join(line for line in lines if not line.startswith("COUNTS ")))
    if p.returncode != 0:
        print(p.stderr[-3000:])
        return 1
    import json

    counts = json.loads(next(line for line in lines if line.startswith("COUNTS "))[7:])
    ok = counts["records"] == rows and counts["hotspots"] > 0 and counts["overview_sv"] == counts["sql_sv"]
    print(
        f"  checks: {counts['records']:,} records stored of {rows:,} generated; {counts['hotspots']} hot spots; "
        f"overview's serious violence (12 months) {counts['overview_sv']:,}, direct SQL {counts['sql_sv']:,}: "
        f"{'OK' if ok else 'WRONG'}"
    )
    if vendor == "postgres" and not keep:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
