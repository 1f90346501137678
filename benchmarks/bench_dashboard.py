"""Benchmark: server time of each dashboard page with ~200,000 records and a year of patrol data.

    python benchmarks/bench_dashboard.py [sqlite|postgres]
    RASURE_BENCH_RECORDS=300000 python benchmarks/bench_dashboard.py postgres   # a synthetic force instead
    RASURE_BENCH_BASELINE_SRC=/tmp/base/src python benchmarks/bench_dashboard.py  # also time older code

DEBUG off. Loads all 36 Gwent months (police.uk, ~202k street records) into a fresh database
(SQLite, or a throwaway PostgreSQL database at 127.0.0.1:5432), builds hot spots, adds a year of
SYNTHETIC patrol visits (about two a day at each hot spot, by 40 synthetic officers). Then each page
is timed in a FRESH Python process (one per page) through Django's test client (server time only, no
network): that process is readied as ``rasure serve``'s workers are before their first request
(:func:`rasure_web.warmup.warm_process`: the project's modules imported, start-up objects frozen out
of the garbage collector's walks; the overview is also timed once without, as the first request of a
process that skipped it), serves one unrelated page, empties the cache, and times the page's cold view (nothing cached) and the median of 5 warm views, each as wall time and as this
process's CPU time (on PostgreSQL the database server's own CPU is not in it).
Floors, same run: the SQL of the overview's summary read (``crime_summary``, the table the overview
reads), one full scan of the records (``COUNT(*), SUM(harm_days)``: what the overview read before the
summary) and of the year's visits; each cold view is printed as a multiple of its floor. Prints
figures; asserts nothing.

``RASURE_BENCH_RECORDS=N``: instead of Gwent, a SYNTHETIC force of N rows over 36 months
(:func:`rasure.synth_force.write_policeuk_force`, ending 2025-12, written to a temporary folder and
deleted), imported the same way. ``RASURE_BENCH_BASELINE_SRC``: a ``src`` folder of another version
of the code (e.g. ``git archive COMMIT src | tar -x -C /tmp/base``; same migrations): each page is also
served by it, in the same run against the same database, printed as "baseline" rows beside the others.
The map's crimes layer at a street zoom and its density bounds are timed too; a warm view of the crimes
layer is what any pan of the map costs once the filter's points are cached (only they are).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import goals

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("RASURE_SHARED_DATA", ROOT.parent / "shared" / "data")) / "policeuk" / "gwent"
# the pages issue 17 holds to a time (cold, one fresh process, DEBUG off)
GOALS_MS = {"overview": 300, "patrol monitoring (52 weeks)": 300}
PG_DB = os.environ.get("RASURE_BENCH_PG_DB", "rasure_bench_dashboard")  # own name when several run at once
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def main() -> int:
    if not DATA.is_dir():
        print(f"SKIP dashboard benchmark: {DATA} not found")
        return 0
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":  # a page's own process (environment from main)
        return _serve(sys.argv[2], preload="--first-request" not in sys.argv)
    vendor = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    os.environ["RASURE_HOME"] = tempfile.mkdtemp(prefix="rasure-bench-dash-")
    os.environ.pop("DATABASE_URL", None)
    if vendor == "postgres":
        try:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {PG_DB}")
        except Exception as exc:
            print(f"SKIP dashboard benchmark on PostgreSQL: not reachable ({exc})")
            return 0
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "rasure_web.settings"
    os.environ["RASURE_DEBUG"] = "0"
    os.environ["RASURE_ALLOWED_HOSTS"] = "testserver,localhost"
    try:
        return _run(vendor)
    finally:
        if vendor == "postgres":
            import psycopg
            from django.db import connections

            connections.close_all()
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def _floor_ms(sql: str) -> float:
    from django.db import connection

    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(sql)
            cur.fetchall()
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def _count(table: str) -> int:
    from django.db import connection

    try:
        with connection.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM {table}")
            return int(cur.fetchone()[0])
    except Exception:
        return 0


def _summary_floor_ms() -> float:
    """The overview's read of the stored summary (crimes.selectors.records_summary's grouping) as raw
    SQL; NaN where the table does not exist (code from before it)."""
    from django.db import connection

    if "crime_summary" not in connection.introspection.table_names():
        return float("nan")
    return _floor_ms(
        "SELECT category, sv_basis, offence_code, SUM(n), SUM(harm), SUM(no_location), SUM(knife), "
        "SUM(gun), MIN(first_from), MAX(last_to) FROM crime_summary WHERE area_code = '' "
        "GROUP BY category, sv_basis, offence_code"
    )


def _serve(url: str, *, preload: bool) -> int:
    """In a fresh process: readied as a server worker is (``preload``), one unrelated page, an empty
    cache, then the page cold and 5 times warm."""
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.test import Client

    if preload:  # readied as a server process is before its first request (rasure_web.wsgi)
        from rasure_web.warmup import warm_process

        warm_process()
    c = Client()
    c.force_login(User.objects.get(username="bench-analyst"))
    c.get("/accounts/login/")  # the first request's own imports, before anything is timed
    cache.clear()
    walls, cpus, status = [], [], 0
    for _ in range(6):
        w0, c0 = time.perf_counter(), time.process_time()
        r = c.get(url)
        walls.append((time.perf_counter() - w0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
        status = r.status_code
        if status != 200:
            break
    print(
        json.dumps(
            {
                "status": status,
                "cold_wall": walls[0],
                "cold_cpu": cpus[0],
                "warm_wall": statistics.median(walls[1:]) if len(walls) > 1 else float("nan"),
                "warm_cpu": statistics.median(cpus[1:]) if len(cpus) > 1 else float("nan"),
            }
        )
    )
    return 0


def _run(vendor: str) -> int:
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from rasure.hotspots.analysis import HotspotParams
    from rasure_web.analysis.models import HotSpot
    from rasure_web.analysis.services import hotspots_build
    from rasure_web.crimes import services
    from rasure_web.crimes.models import CrimeRecord

    call_command("migrate", verbosity=0)
    n_synth = int(os.environ.get("RASURE_BENCH_RECORDS", "0") or 0)
    if n_synth:
        from rasure.synth_force import write_policeuk_force

        folder = Path(tempfile.mkdtemp(prefix="rasure-bench-dash-synth-"))
        force = write_policeuk_force(folder, records=n_synth, months=36, end_month="2025-12")
        services.records_import_policeuk(paths=[str(p) for p in force.files])
        shutil.rmtree(folder, ignore_errors=True)
    else:
        services.records_import_policeuk(paths=[str(p) for p in sorted(DATA.glob("*-street.csv.gz"))])
    hotspots_build(params=HotspotParams(top=40, gi_permutations=0))
    n_visits = _synthetic_patrol_year()
    from rasure_web.crimes.writer import refresh_statistics

    refresh_statistics()  # as after `rasure import` (PostgreSQL's planner statistics)
    u = User.objects.create_user(username="bench-analyst", password="x" * 20)
    u.groups.add(Group.objects.get(name="analyst"))
    from django.conf import settings

    scan = _floor_ms("SELECT COUNT(*), SUM(harm_days) FROM crime_record")
    visits_scan = _floor_ms("SELECT COUNT(*), SUM(dose_minutes) FROM patrol_visit")
    summary = _summary_floor_ms()
    from rasure_web.dashboard.selectors import warm_cache

    t0 = time.perf_counter()
    warm_cache()  # what imports and hot-spot builds run at their end (the pages below start from empty)
    warm_s = time.perf_counter() - t0
    hs = HotSpot.objects.order_by("rank").first()
    lon, lat = hs.lon, hs.lat
    street = f"{lon - 0.004:.5f},{lat - 0.0025:.5f},{lon + 0.004:.5f},{lat + 0.0025:.5f}"  # about 550 x 550 m
    pages = {
        "overview": "/dashboard/",
        "map page": "/dashboard/map/",
        "map: hot spots layer": "/dashboard/map/hotspots.json",
        "map: crimes, force zoom (clustered)": "/dashboard/map/crimes.json?zoom=11",
        "map: crimes, street zoom (points)": f"/dashboard/map/crimes.json?zoom=16&bbox={street}",
        "map: density PNG": "/dashboard/map/density.json",
        "map: density bounds": "/dashboard/map/density.json?format=bounds",
        "hot spot page": f"/dashboard/hotspots/{hs.pk}/",
        "export CSV": "/dashboard/export/hotspots.csv",
        "patrol monitoring (8 weeks)": "/dashboard/patrols/",
        "patrol monitoring (52 weeks)": "/dashboard/patrols/?weeks=52",
        "delivery, whole force (52 weeks)": "/programme/delivery/?weeks=52",
        "programme page": "/programme/",
    }
    wanted = os.environ.get("RASURE_BENCH_PAGES", "")
    # names with a comma in them are given separated by ";"
    only = [p.strip() for p in wanted.split(";" if ";" in wanted else ",") if p.strip()]
    if only:  # e.g. RASURE_BENCH_PAGES="overview,patrol monitoring (52 weeks)"
        pages = {k: v for k, v in pages.items() if k in only}
    n_summary = _count("crime_summary")
    n_records = CrimeRecord.objects.count()
    print(
        f"dashboard: {'SYNTHETIC force, ' if n_synth else ''}{n_records:,} records ({n_summary:,} summary rows), "
        f"{HotSpot.objects.count()} hot spots, {n_visits:,} synthetic patrol visits over a year, {vendor}, "
        f"DEBUG {settings.DEBUG}; each page in a fresh process, cache empty for its cold view"
    )
    print(
        f"  floors: the overview's summary read {summary:.1f} ms; one scan of the records {scan:.0f} ms; "
        f"of the visits {visits_scan:.0f} ms; the cache warmed after an import or build (this code) in {warm_s:.1f} s"
    )
    from django.db import connections

    connections.close_all()
    import compileall

    import rasure_web

    # bytecode, as an installed server has it (this machine sets PYTHONDONTWRITEBYTECODE)
    compileall.compile_dir(str(Path(rasure_web.__file__).parents[1]), quiet=1)
    runs = [(name, url, "", "") for name, url in pages.items()]
    if "overview" in pages:  # also as the first request a new server process serves (its imports in it)
        runs.append(("overview, a new process's 1st request", pages["overview"], "--first-request", ""))
    baseline = os.environ.get("RASURE_BENCH_BASELINE_SRC", "")
    if baseline:  # each page also served by the older code, right after this code's row
        runs = [
            r for name, url, flag, _ in runs for r in ((name, url, flag, ""), (name, url, flag, baseline))
        ]
    for name, url, flag, src in runs:
        env = {**os.environ, **({"PYTHONPATH": src} if src else {})}
        out = subprocess.run(
            [sys.executable, __file__, "--serve", url, *([flag] if flag else [])],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        if src:
            name = f"  baseline: {name}"
        if out.returncode != 0:
            print(f"  {name}: failed\n{out.stderr[-2000:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        if r.get("status") != 200:
            print(f"  {name}: HTTP {r.get('status')}")
            continue
        floor = visits_scan if "patrol" in name or "delivery" in name else scan
        ratio = f"{r['cold_wall'] / floor:5.1f}× its scan floor"
        if name.startswith("overview") and summary == summary:  # not NaN: the summary table exists
            ratio += f", {r['cold_wall'] / max(summary, 0.01):5.0f}× the summary read"
        if not src and name in GOALS_MS:
            goals.record(
                f"dashboard {name}, cold, {n_records:,} records, {vendor}",
                f"{r['cold_wall']:.0f} ms wall (warm {r['warm_wall']:.0f} ms)",
                f"one scan of the {'visits' if 'patrol' in name else 'records'} {floor:.0f} ms",
                f"{r['cold_wall'] / floor:.1f}× the scan",
                f"< {GOALS_MS[name]} ms cold",
                r["cold_wall"] < GOALS_MS[name],
            )
        print(
            f"  {name:<46} cold {r['cold_wall']:6.0f} ms wall {r['cold_cpu']:6.0f} ms CPU   "
            f"warm median {r['warm_wall']:5.0f} ms wall {r['warm_cpu']:5.0f} ms CPU   cold = {ratio}"
        )
    return 0


def _synthetic_patrol_year() -> int:
    """About two visits a day at each hot spot for a year, ending today (synthetic officers)."""
    import datetime as dt
    import uuid

    import numpy as np
    from django.contrib.auth.models import Group, User

    from rasure_web import clock
    from rasure_web.analysis.models import HotSpot
    from rasure_web.patrols.models import Visit

    rng = np.random.default_rng(7)
    group = Group.objects.get(name="officer")
    officers = []
    for i in range(40):
        u = User.objects.create_user(username=f"pc-syn-{i}", first_name=f"PC Synthetic {i}")
        u.groups.add(group)
        officers.append(u)
    spots = list(HotSpot.objects.all())
    now = clock.now()  # the system clock, read once: the pages timed are "the last N weeks"
    today = clock.local_today()
    rows = []
    for d in range(365):
        day = today - dt.timedelta(days=d)
        for hs in spots:
            for _ in range(int(rng.poisson(2))):
                start = now - dt.timedelta(days=d, minutes=int(rng.integers(0, 1440)))
                rows.append(
                    Visit(
                        visit_id=uuid.uuid4(),
                        start_client_id=uuid.uuid4(),
                        end_client_id=uuid.uuid4(),
                        officer=officers[int(rng.integers(0, 40))],
                        hotspot=hs,
                        trial_day=day,
                        arm=("treatment" if rng.random() < 0.8 else "control"),
                        started_at=start,
                        start_received_at=start,
                        ended_at=start + dt.timedelta(minutes=15),
                        end_received_at=start + dt.timedelta(minutes=15),
                        status="ended",
                        dose_minutes=float(rng.gamma(4, 4)),
                        mode="foot",
                        spoken_to=int(rng.poisson(2)),
                        searched=0,
                        arrested=0,
                    )
                )
    Visit.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


if __name__ == "__main__":
    sys.exit(main())
