"""Untasked presence (P8): an AVLS / radio location file → presence in every hot spot, treated or control."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from rasure_web.analysis.models import HotSpot
from rasure_web.patrols.models import AvlsImport, AvlsPresence
from rasure_web.patrols.services import avls_import
from tests.web.test_patrol_routes import T0, drive_route, load_city, walk_route

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]  # now pinned: tests/conftest.py


@pytest.fixture
def city(db: Any) -> Any:
    return load_city()


def _write(path: Path, rows: list[tuple[str, Any, float, float]]) -> Path:
    lines = ["Collar Number,GPS Time,Longitude,Latitude"]
    lines += [
        f"{who},{(T0 + timedelta(seconds=t)).strftime('%Y-%m-%dT%H:%M:%SZ')},{lon:.7f},{lat:.7f}"
        for who, t, lon, lat in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_avls_presence_in_hot_spots(city: Any, tmp_path: Path) -> None:
    spots = list(HotSpot.objects.filter(run=city).order_by("pk"))
    walked, driven = spots[0], next(s for s in spots if s.geofence_geojson != spots[0].geofence_geojson)
    rows = [("1234", f.t, f.lon, f.lat) for f in walk_route(walked.easting, walked.northing, interval_s=30)]
    rows += [("5678", f.t, f.lon, f.lat) for f in drive_route(driven.easting, driven.northing, interval_s=15)]
    record = avls_import(path=_write(tmp_path / "avls.csv", rows))
    assert record.rows_read == len(rows) and record.officers == 2
    same_place = [s.pk for s in spots if s.geofence_geojson == walked.geofence_geojson]
    walk = AvlsPresence.objects.filter(officer="1234")
    # one visit per hot spot drawn at that place (a day list and a night list can share a cell)
    assert sorted(walk.values_list("hotspot_id", flat=True)) == sorted(same_place)
    assert {p.mode for p in walk} == {"foot"} and all(12 < p.minutes < 15 for p in walk)
    drive = AvlsPresence.objects.filter(officer="5678")
    assert drive.exists() and {p.mode for p in drive} == {"drive_through"}
    assert all(p.trial_day == (T0 + timedelta(hours=0)).date() for p in AvlsPresence.objects.all())
    again = avls_import(path=tmp_path / "avls.csv")
    assert again.pk == record.pk and AvlsImport.objects.count() == 1
    assert AvlsPresence.objects.count() == record.visits
