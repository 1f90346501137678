"""A whole force through the real commands: `rasure import police-uk`, `rasure hotspots build`, the
dashboard (issue 17, item 6). SYNTHETIC DATA from :mod:`rasure.synth_force`, written to a temporary
folder.

The 30,000-row force runs in the normal suite, so the path cannot rot; the 3,000,000-row force (about
the Metropolitan Police over three years) is marked ``scale`` and runs only with ``RASURE_TEST_SCALE=1``
(minutes; its speed is measured by ``benchmarks/bench_scale.py``, not here). On SQLite, and on
PostgreSQL when DATABASE_URL is set.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.utils import timezone

from rasure.synth_force import write_policeuk_force
from rasure_web.analysis.models import HotSpot
from rasure_web.cli import main

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

SCALE = pytest.mark.skipif(
    os.environ.get("RASURE_TEST_SCALE") != "1", reason="3 M records take minutes: set RASURE_TEST_SCALE=1"
)


def _sql(query: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    with connection.cursor() as cur:
        cur.execute(query, params or [])
        return list(cur.fetchall())


@pytest.mark.parametrize(
    ("records", "months"),
    [
        pytest.param(30_000, 12, id="30k"),
        pytest.param(3_000_000, 36, id="3M", marks=[pytest.mark.scale, SCALE]),
    ],
)
def test_force_through_import_build_and_dashboard(tmp_path: Path, records: int, months: int) -> None:
    force = write_policeuk_force(tmp_path / "files", records=records, months=months, end_month="2025-12")
    assert force.rows == records

    assert main(["import", "police-uk", str(tmp_path / "files")]) == 0
    # every generated row is one record (anti-social behaviour rows too, under their stable keys),
    # with the crime type it was generated with
    assert _sql("SELECT COUNT(*) FROM crime_record") == [(records,)]
    stored = dict(_sql("SELECT category, COUNT(*) FROM crime_record GROUP BY category"))
    assert stored == {k: v for k, v in force.by_category.items() if v}

    assert main(["hotspots", "build"]) == 0
    spots = list(HotSpot.objects.order_by("rank"))
    assert spots and all(h.count > 0 for h in spots)
    assert len({h.code for h in spots}) == len(spots)

    analyst = User.objects.create_user(username="scale-analyst", password="x" * 20)
    analyst.groups.add(Group.objects.get(name="analyst"))
    c = Client()
    c.force_login(analyst)
    r = c.get("/dashboard/")
    assert r.status_code == 200
    # the overview's serious violence over the last 12 months of data, against a direct count
    since = timezone.make_aware(dt.datetime(2025, 1, 1))
    [(sv,)] = _sql(
        "SELECT COUNT(*) FROM crime_record WHERE serious_violence AND occurred_from >= %s",
        [connection.ops.adapt_datetimefield_value(since)],
    )
    assert sv > 0
    assert r.context["yoy"]["count"] == sv
    assert f"{sv:,}" in r.content.decode()
    # the hot-spot list on the overview and the map layer show the hot spots just built
    assert [h.code for h in r.context["hotspots"]] == [h.code for h in spots[:20]]
    layer = c.get("/dashboard/map/hotspots.json").json()
    assert len(layer["features"]) == len(spots)
