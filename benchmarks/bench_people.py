"""Benchmark: the hot-people list and person page on the synthetic city (scale 1.0, about 20k crimes).

Stores the SYNTHETIC city in a fresh SQLite database, then times, median of 5: reading the people's
involvements from the database (the floor: every list has to read them), building each list in the
pure core, and the list and person pages through Django's test client (server time only). Prints
figures and the ratio of each to the floor; asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date


def _median(fn: Callable[[], object], n: int = 5) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    os.environ["RASURE_HOME"] = tempfile.mkdtemp(prefix="rasure-bench-people-")
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "rasure_web.settings"
    os.environ.setdefault("RASURE_ALLOWED_HOSTS", "testserver,localhost")
    import django

    django.setup()
    import time_machine
    from django.contrib.auth.models import Group, Permission, User
    from django.core.management import call_command
    from django.test import Client

    from rasure import people as core
    from rasure.synth import generate_city
    from rasure_web.crimes.models import CrimePersonLink, Person
    from rasure_web.crimes.services import synthetic_city_store
    from rasure_web.people import selectors as sel

    call_command("migrate", verbosity=0)
    end = date(2026, 10, 31)
    synthetic_city_store(generate_city(end=end, scale=1.0, seed=20260401))
    as_of = date(2026, 11, 18)
    u = User.objects.create_user(username="bench-analyst", password="x" * 20)
    u.groups.add(Group.objects.get(name="analyst"))
    u.user_permissions.add(Permission.objects.get(content_type__app_label="people", codename="intelligence"))
    rules = sel.rules()
    print(f"synthetic city: {CrimePersonLink.objects.count():,} links, {Person.objects.count():,} people")
    rows: list[object] = []

    def load() -> None:
        rows[:] = list(
            CrimePersonLink.objects.values_list("person__person_id", "role", "record__occurred_from")
        )

    floor = _median(load)
    print(f"floor: read all {len(rows):,} links with their dates: {floor * 1000:.0f} ms")
    invs = sel.involvements(user=u, as_of=as_of)
    print(f"{len(invs):,} involvements in the rules' windows")
    for kind in core.ListKind:
        t = _median(lambda k=kind: core.build_list(k, invs, as_of=as_of, rules=rules))  # type: ignore[misc]
        n = len(core.build_list(kind, invs, as_of=as_of, rules=rules))
        print(f"core {kind.value:<16} {t * 1000:7.0f} ms  ({t / floor:4.1f}x floor), {n} listed")
    with time_machine.travel(date(2026, 11, 18), tick=True):
        c = Client()
        c.force_login(u)
        t = _median(lambda: c.get("/dashboard/people/?list=harm&reason=plan"))
        status = c.get("/dashboard/people/?list=harm&reason=plan").status_code
        print(f"page: people list (harm)  {t * 1000:7.0f} ms  ({t / floor:4.1f}x floor), HTTP {status}")
        pk = sel.people_list(user=u, kind="harm", as_of=as_of).rows[0].person_pk
        t = _median(lambda: c.get(f"/dashboard/people/{pk}/?reason=plan"))
        status = c.get(f"/dashboard/people/{pk}/?reason=plan").status_code
        print(f"page: person              {t * 1000:7.0f} ms  ({t / floor:4.1f}x floor), HTTP {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
