"""Benchmark: server time of each dashboard page with ~200,000 records and a year of patrol data.

    python benchmarks/bench_dashboard.py [sqlite|postgres]

DEBUG off. Loads all 36 Gwent months (police.uk, ~202k street records) into a fresh database
(SQLite, or a throwaway PostgreSQL database at 127.0.0.1:5432),
builds hot spots, adds a year of SYNTHETIC patrol visits (about two a day at each hot spot, by
40 synthetic officers), then times each page through Django's test client (server time only,
no network): the first view after the data changed (aggregates computed) and the median of 5
repeat views (aggregates cached until the next import, harm-table load or hot-spot build). The process
serves one unrelated page first, so "first view" is the data's cold path, not Python's imports.
Floor, same run: one full scan of the records (``COUNT(*), SUM(harm_days)``) and of the year's visits; each page's
first view is printed as a multiple of it. Prints figures; asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("RASURE_SHARED_DATA", ROOT.parent / "shared" / "data")) / "policeuk" / "gwent"
PG_DB = os.environ.get("RASURE_BENCH_PG_DB", "rasure_bench_dashboard")  # own name when several run at once
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def main() -> int:
    if not DATA.is_dir():
        print(f"SKIP dashboard benchmark: {DATA} not found")
        return 0
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


def _run(vendor: str) -> int:
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client

    from rasure.hotspots.analysis import HotspotParams
    from rasure_web.analysis.models import HotSpot
    from rasure_web.analysis.services import hotspots_build
    from rasure_web.crimes import services
    from rasure_web.crimes.models import CrimeRecord

    call_command("migrate", verbosity=0)
    services.records_import_policeuk(paths=[str(p) for p in sorted(DATA.glob("*-street.csv.gz"))])
    hotspots_build(params=HotspotParams(top=40, gi_permutations=0))
    n_visits = _synthetic_patrol_year()
    from django.core.cache import cache

    cache.clear()  # measure the cold path first (the import command would have warmed it)
    u = User.objects.create_user(username="bench-analyst", password="x" * 20)
    u.groups.add(Group.objects.get(name="analyst"))
    c = Client()
    c.force_login(u)
    c.get("/accounts/login/")  # Python's imports and the URL configuration, before anything is timed
    from django.conf import settings

    scan = _floor_ms("SELECT COUNT(*), SUM(harm_days) FROM crime_record")
    visits_scan = _floor_ms("SELECT COUNT(*), SUM(dose_minutes) FROM patrol_visit")
    hs = HotSpot.objects.order_by("rank").first()
    pages = {
        "overview": "/dashboard/",
        "map page": "/dashboard/map/",
        "map: hot spots layer": "/dashboard/map/hotspots.json",
        "map: crimes, force zoom (clustered)": "/dashboard/map/crimes.json?zoom=11",
        "map: density PNG": "/dashboard/map/density.json",
        "hot spot page": f"/dashboard/hotspots/{hs.pk}/",
        "export CSV": "/dashboard/export/hotspots.csv",
        "patrol monitoring (8 weeks)": "/dashboard/patrols/",
        "patrol monitoring (52 weeks)": "/dashboard/patrols/?weeks=52",
        "delivery, whole force (52 weeks)": "/programme/delivery/?weeks=52",
        "programme page": "/programme/",
    }
    print(
        f"dashboard: {CrimeRecord.objects.count():,} records, {HotSpot.objects.count()} hot spots, "
        f"{n_visits:,} synthetic patrol visits over a year, {vendor}, DEBUG {settings.DEBUG}"
    )
    print(f"  floor: one scan of the records {scan:.0f} ms; of the visits {visits_scan:.0f} ms")
    for name, url in pages.items():
        floor = visits_scan if "patrol" in name else scan
        times = []
        cold = 0.0
        for i in range(6):
            t0 = time.perf_counter()
            r = c.get(url)
            dt = time.perf_counter() - t0
            if r.status_code != 200:
                print(f"  {name}: HTTP {r.status_code}")
                break
            if i:
                times.append(dt)
            else:
                cold = dt
        if times:
            print(
                f"  {name:<38} first view {cold * 1000:6.0f} ms   then median {statistics.median(times) * 1000:6.0f} ms"
                f"   max {max(times) * 1000:6.0f} ms   first view = {cold * 1000 / floor:5.1f}× its floor"
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
