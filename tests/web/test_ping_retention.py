"""GPS pings are deleted after the retention period; visits keep their dose; the deletion is logged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from rasure_web import clock
from rasure_web.accounts.models import AccessLog
from rasure_web.cli import main
from rasure_web.patrols.models import Ping, Visit
from rasure_web.patrols.retention import RetentionError, pings_prune
from tests.web.test_patrol_api import first_listed
from tests.web.test_patrol_routes import (
    T0,
    client_for,
    end_body,
    load_city,
    make_user,
    ping_bodies,
    post,
    start_body,
    walk_route,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
API = "/api/patrol"


@pytest.fixture
def visit() -> Any:
    load_city()
    c = client_for(make_user("synthetic-pc1"))
    hs = first_listed(c)
    start = start_body(hs.pk)
    pings = ping_bodies(start["visit_id"], walk_route(hs.easting, hs.northing))
    assert post(c, f"{API}/visits/start", start).status_code == 200
    assert (
        post(c, f"{API}/pings", {"device_sent_at": "2026-03-02T10:20:00Z", "pings": pings}).status_code == 200
    )
    assert (
        post(c, f"{API}/visits/end", end_body(start["visit_id"], at=T0 + timedelta(minutes=20))).status_code
        == 200
    )
    orphan = ping_bodies(
        "00000000-0000-4000-8000-000000000001", walk_route(hs.easting, hs.northing)[:3], seq0=900
    )
    assert (
        post(c, f"{API}/pings", {"device_sent_at": "2026-03-02T10:21:00Z", "pings": orphan}).status_code
        == 200
    )
    return Visit.objects.get(visit_id=start["visit_id"])


def test_old_pings_deleted_dose_kept_and_logged(visit: Any, capsys: pytest.CaptureFixture[str]) -> None:
    total = Ping.objects.count()
    dose = visit.dose_minutes
    assert total > 3 and dose > 0
    now = clock.now()
    assert pings_prune(now=now, user=None, days=30).deleted == 0  # younger than the period: kept
    later = now + timedelta(days=31)
    assert pings_prune(now=later, user=None, days=30, dry_run=True).deleted == total
    assert Ping.objects.count() == total and not AccessLog.objects.filter(action="delete").exists()
    result = pings_prune(now=later, user=None, days=30)
    assert result.deleted == total and Ping.objects.count() == 0
    visit.refresh_from_db()
    assert visit.dose_minutes == dose and visit.n_pings > 0  # the summary stays
    entry = AccessLog.objects.get(action="delete", resource="gps_ping")
    assert f"{total} pings" in entry.detail and "30-day" in entry.detail
    assert "lat" not in entry.detail and str(visit.visit_id) not in entry.detail  # nothing of the content


def test_open_visit_keeps_its_pings(visit: Any) -> None:
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.OPEN)
    result = pings_prune(now=clock.now() + timedelta(days=400), user=None, days=30)
    assert result.deleted == 3  # only the pings that match no visit
    assert Ping.objects.filter(visit_id=visit.visit_id).exists()


def test_command_and_bad_period(visit: Any, capsys: pytest.CaptureFixture[str], settings: Any) -> None:
    settings.RASURE_PING_RETENTION_DAYS = 5000
    assert main(["patrol", "prune-pings", "--dry-run"]) == 0
    assert "5000 days" in capsys.readouterr().out and Ping.objects.exists()
    with pytest.raises(RetentionError, match="at least 1"):
        pings_prune(now=clock.now(), user=None, days=0)
    assert main(["patrol", "prune-pings", "--days", "0"]) == 2
