"""P7 under concurrency: two officers take the last patrol slot of a hot spot at the same moment through
two server processes; exactly one gets it. Runs on PostgreSQL (row lock on the counter row) and on SQLite
(IMMEDIATE transactions serialise writers); each child process has its own database connection.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.city import only_force_id
from tests.web.test_patrol_routes import load_city, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def city(db: Any) -> Any:
    return load_city()


ROUNDS = 12


def _worker(db_name: str, user_id: int, jobs: Any, results: Any, barrier: Any) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rasure_web.settings")
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = db_name  # the test database, not the development one
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from rasure_web.patrols import services

    user = get_user_model().objects.get(pk=user_id)  # opens this process's own connection
    while True:
        job = jobs.get()
        if job is None:
            break
        now = datetime.now(UTC)
        barrier.wait(timeout=60)
        outcome = services.visit_start(
            user=user,
            client_id=uuid.uuid4(),
            visit_id=uuid.uuid4(),
            hotspot_id=job,
            started_at=now,
            device_sent_at=now,
        )
        results.put((user_id, job, outcome.status, outcome.body.get("code")))


def test_two_processes_racing_for_the_last_slot_exactly_one_wins(city: Any) -> None:
    from django.db import connection
    from django.utils import timezone

    from rasure_web.analysis.models import HotSpot
    from rasure_web.patrols.models import CapCounter, Visit
    from rasure_web.patrols.selectors import patrol_rules_at

    officers = [make_user("pc-a"), make_user("pc-b")]
    rules = patrol_rules_at(when=timezone.now(), force_id=only_force_id())
    hotspots = list(HotSpot.objects.filter(run=city).values_list("pk", flat=True))[:ROUNDS]
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    queues = [ctx.Queue() for _ in officers]
    procs = [
        ctx.Process(
            target=_worker, args=(connection.settings_dict["NAME"], o.pk, q, results, barrier), daemon=True
        )
        for o, q in zip(officers, queues, strict=True)
    ]
    for p in procs:
        p.start()
    try:
        for hs in hotspots:
            # Everyone but the last slot is taken already.
            CapCounter.objects.create(
                hotspot_id=hs, kind="day", period_start=rules.trial_day, visits=rules.cap_per_day - 1
            )
            for q in queues:
                q.put(hs)
            got = [results.get(timeout=120) for _ in officers]
            statuses = sorted(g[2] for g in got)
            assert statuses == [200, 409], got
            assert [g[3] for g in got if g[2] == 409] == ["cap_reached"]
            counter = CapCounter.objects.get(hotspot_id=hs, kind="day", period_start=rules.trial_day)
            assert counter.visits == rules.cap_per_day
            assert Visit.objects.filter(hotspot_id=hs, slot=True).count() == 1
    finally:
        for q in queues:
            q.put(None)
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert len(hotspots) == min(ROUNDS, HotSpot.objects.filter(run=city).count())
    winners = {v.officer_id for v in Visit.objects.all()}
    assert winners <= {o.pk for o in officers}


def test_one_record_sent_by_eight_threads_at_once_is_stored_once(city: Any) -> None:
    """docs/reliability.md §5 row 4: concurrent duplicate sends of one record → exactly one row, all 200."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from rasure_web.analysis.models import HotSpot
    from rasure_web.patrols import services
    from rasure_web.patrols.models import CapCounter, SyncRecord, Visit

    user = make_user("pc-dup")
    hs = HotSpot.objects.filter(run=city).first()
    assert hs is not None
    now = datetime.now(UTC)
    args = {
        "user": user,
        "client_id": uuid.uuid4(),
        "visit_id": uuid.uuid4(),
        "hotspot_id": hs.pk,
        "started_at": now,
        "device_sent_at": now,
    }
    barrier = threading.Barrier(8)

    def send(_: int) -> tuple[int, dict[str, Any]]:
        try:
            barrier.wait(timeout=30)
            outcome = services.visit_start(**args)
            return outcome.status, outcome.body
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert {a[0] for a in answers} == {200}
    assert len({json_key(a[1]) for a in answers}) == 1  # every one got the original answer
    assert Visit.objects.count() == 1 and SyncRecord.objects.count() == 1
    assert SyncRecord.objects.get().replays == 7
    assert CapCounter.objects.get(hotspot=hs, kind="day").visits == 1


def json_key(body: dict[str, Any]) -> str:
    import json

    return json.dumps(body, sort_keys=True)
