"""Benchmark: server time of each dashboard page with ~200,000 records and a year of patrol data.

Loads all 36 Gwent months (police.uk, ~202k street records) into a fresh SQLite database,
builds hot spots, adds a year of SYNTHETIC patrol visits (about two a day at each hot spot, by
40 synthetic officers), then times each page through Django's test client (server time only,
no network): the first view after the data changed (aggregates computed) and the median of 5
repeat views (aggregates cached until the next import, harm-table load or hot-spot build). Prints figures; asserts nothing.
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


def main() -> int:
    if not DATA.is_dir():
        print(f"SKIP dashboard benchmark: {DATA} not found")
        return 0
    os.environ["RASURE_HOME"] = tempfile.mkdtemp(prefix="rasure-bench-dash-")
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "rasure_web.settings"
    os.environ.setdefault("RASURE_ALLOWED_HOSTS", "testserver,localhost")
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
    }
    print(
        f"dashboard: {CrimeRecord.objects.count():,} records, {HotSpot.objects.count()} hot spots, "
        f"{n_visits:,} synthetic patrol visits over a year, SQLite"
    )
    for name, url in pages.items():
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
                f"   max {max(times) * 1000:6.0f} ms"
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
