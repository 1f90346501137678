"""Tasked vs untasked presence (issue 11 part 6, issue 15 part 1) on patrol monitoring and delivery pages.

Hand-built visits and AVLS presence; the expected minutes are worked out in the comments.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from rasure_web.accounts.models import Profile
from rasure_web.analysis.models import HotSpot
from rasure_web.dashboard.integrations import patrol_monitoring
from rasure_web.patrols.models import AvlsImport, AvlsPresence, Visit
from rasure_web.patrols.presence import avls_identities, presence_split
from rasure_web.programme.delivery import delivery
from rasure_web.programme.services import week_of
from tests.city import TEST_NOW, only_force_id
from tests.programme_data import delivery_scenario, make_role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

TODAY = TEST_NOW.date()


def at(hh: int, mm: int) -> datetime:
    return datetime(TODAY.year, TODAY.month, TODAY.day, hh, mm, tzinfo=TEST_NOW.tzinfo)


def presence(
    source: AvlsImport, hs: HotSpot, who: str, start: datetime, end: datetime, minutes: float
) -> None:
    AvlsPresence.objects.create(
        source=source,
        hotspot=hs,
        officer=who,
        trial_day=TODAY,
        start=start,
        end=end,
        minutes=minutes,
        n_fixes=3,
        mode="foot",
    )


@pytest.fixture
def scene() -> dict[str, Any]:
    s = delivery_scenario()
    a0, b0 = s["a"][0], s["b"][0]
    Profile.objects.filter(user=a0).update(collar_number="9901")
    spots = list(HotSpot.objects.order_by("period", "rank")[:4])
    h0, h3 = spots[0], spots[3]
    # a0's tasked visit at h0, 09:00–09:30 on the phone's clock, which runs 2 minutes slow
    # (offset +120 s): on the server's clock 09:02–09:32. b0 is crewed with a0.
    v = Visit.objects.create(
        visit_id=uuid.uuid4(),
        start_client_id=uuid.uuid4(),
        officer=a0,
        hotspot=h0,
        trial_day=TODAY,
        started_at=at(9, 0),
        start_received_at=at(9, 2),
        ended_at=at(9, 30),
        clock_offset_s=120.0,
        dose_minutes=25.0,
        status="ended",
    )
    v.crewed_with.add(b0)
    src = AvlsImport.objects.create(path="hand.csv", sha256="0" * 64, rows_read=0, officers=3, visits=4)
    # 1. a0 by collar number at h0, 08:52–09:12 (20 min): 09:02–09:12 is inside → 10 tasked, 10 untasked
    presence(src, h0, "9901", at(8, 52), at(9, 12), 20.0)
    # 2. b0 by username at h0, 09:22–09:42 (20 min), crewed: 09:22–09:32 inside → 10 tasked, 10 untasked
    presence(src, h0, b0.username, at(9, 22), at(9, 42), 20.0)
    # 3. a vehicle call sign no officer has, at h3 (15 min): untasked, no officer
    presence(src, h3, "ALPHA 21", at(9, 5), at(9, 20), 15.0)
    # 4. a0 at h3 during the h0 visit (10 min): another hot spot → untasked
    presence(src, h3, "9901", at(9, 10), at(9, 20), 10.0)
    return {**s, "h0": h0, "h3": h3, "a0": a0, "b0": b0}


def test_identities_by_collar_then_username(scene: dict[str, Any]) -> None:
    who = avls_identities({"9901", scene["b0"].username, "ALPHA 21"})
    assert who == {"9901": scene["a0"].pk, scene["b0"].username: scene["b0"].pk}


def test_split_per_hot_spot_day_and_person(scene: dict[str, Any]) -> None:
    rows = {(r.hotspot_id, r.identity): r for r in presence_split(first=TODAY, last=TODAY)}
    h0, h3 = scene["h0"].pk, scene["h3"].pk
    assert (rows[h0, "9901"].tasked_minutes, rows[h0, "9901"].untasked_minutes) == pytest.approx((10, 10))
    b = rows[h0, scene["b0"].username]
    assert (b.tasked_minutes, b.untasked_minutes, b.user_id) == (
        pytest.approx(10),
        pytest.approx(10),
        scene["b0"].pk,
    )
    assert (rows[h3, "ALPHA 21"].untasked_minutes, rows[h3, "ALPHA 21"].user_id) == (15.0, None)
    assert (rows[h3, "9901"].tasked_minutes, rows[h3, "9901"].untasked_minutes) == (0.0, 10.0)


def test_open_visit_covers_up_to_its_last_exit(scene: dict[str, Any]) -> None:
    # not ended on the phone, last seen leaving at 09:07 (server clock): 08:52–09:07 → 09:02–09:07 = 5 of 20
    Visit.objects.update(ended_at=None, exit_at=at(9, 7), status="open")
    rows = {(r.hotspot_id, r.identity): r for r in presence_split(first=TODAY, last=TODAY)}
    assert rows[scene["h0"].pk, "9901"].tasked_minutes == pytest.approx(5.0)


def test_patrol_monitoring_shows_tasked_and_untasked(scene: dict[str, Any]) -> None:
    m = patrol_monitoring(weeks=8, force_id=only_force_id())
    week = week_of(TODAY)
    by = {(r["hotspot_id"], r["week"]): r for r in m["by_spot"]}
    h0, h3 = by[scene["h0"].pk, week], by[scene["h3"].pk, week]
    assert (h0["avls_tasked"], h0["avls_untasked"]) == pytest.approx((20.0, 20.0))
    assert (h3["avls_tasked"], h3["avls_untasked"]) == pytest.approx((0.0, 25.0))
    assert h3["visits"] == 0  # seen only on the radio file: still a row
    assert (m["total_avls_tasked"], m["total_avls_untasked"]) == pytest.approx((20.0, 45.0))
    analyst = make_role(scene["command"], "analyst")
    c = Client()
    c.force_login(analyst)
    page = c.get("/dashboard/patrols/").content.decode()
    assert "Radio minutes untasked" in page and "Untasked radio minutes" in page


def test_delivery_levels_carry_tasked_and_untasked(scene: dict[str, Any]) -> None:
    d = delivery(today=TODAY, target_minutes=15.0, weeks=8)
    a0, b0 = d.officers[scene["a0"].pk], d.officers[scene["b0"].pk]
    assert (a0.total.avls_tasked, a0.total.avls_untasked) == pytest.approx((10.0, 20.0))
    assert (b0.total.avls_tasked, b0.total.avls_untasked) == pytest.approx((10.0, 10.0))
    assert (d.force.total.avls_tasked, d.force.total.avls_untasked) == pytest.approx((20.0, 45.0))
    assert d.unmatched_untasked == pytest.approx(15.0)
    team_a = d.teams[str(scene["team_a"])]
    assert team_a.total.avls_untasked == pytest.approx(20.0)
    assert d.force.week(week_of(TODAY)).avls_untasked == pytest.approx(45.0)
    c = Client()
    c.force_login(scene["command"])
    assert "Untasked radio minutes" in c.get("/programme/delivery/").content.decode()
    rows = list(
        csv.DictReader(
            io.StringIO(c.get(f"/programme/delivery/officer/{scene['a0'].pk}/pdr.csv").content.decode())
        )
    )
    week = next(r for r in rows if r["week_of"] == week_of(TODAY).isoformat())
    assert (week["radio_minutes_on_tasked_visits"], week["untasked_radio_minutes"]) == ("10.0", "20.0")


def test_nothing_imported_means_no_presence(scene: dict[str, Any]) -> None:
    AvlsPresence.objects.all().delete()
    assert presence_split(first=TODAY - timedelta(days=7), last=TODAY) == []
    assert patrol_monitoring(weeks=8, force_id=only_force_id())["avls_loaded"] is False


def test_from_avls_points_through_the_import(scene: dict[str, Any], tmp_path: Any) -> None:
    """Radio fixes every 60 s standing at a hot spot's centre, 10:00–10:20 UTC: the import credits the
    20 minutes between the first and the last fix (each gap is within the 2-minute carry). A tasked visit
    of the same officer 10:10–10:40 covers 10:10–10:20 of it: 10 tasked and 10 untasked minutes."""
    from rasure_web.patrols.services import avls_import

    AvlsPresence.objects.all().delete()
    Visit.objects.all().delete()
    h0, a0 = scene["h0"], scene["a0"]
    lines = ["Collar Number,GPS Time,Longitude,Latitude"]
    lines += [
        f"9901,{at(10, 0) + timedelta(minutes=k):%Y-%m-%dT%H:%M:%SZ},{h0.lon:.7f},{h0.lat:.7f}"
        for k in range(21)
    ]
    path = tmp_path / "radio.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    avls_import(path=path)
    stored = AvlsPresence.objects.get(hotspot=h0, officer="9901")
    assert (stored.start, stored.end, stored.minutes) == (at(10, 0), at(10, 20), pytest.approx(20.0))
    Visit.objects.create(
        visit_id=uuid.uuid4(),
        start_client_id=uuid.uuid4(),
        officer=a0,
        hotspot=h0,
        trial_day=TODAY,
        started_at=at(10, 10),
        start_received_at=at(10, 10),
        ended_at=at(10, 40),
        dose_minutes=30.0,
        status="ended",
    )
    row = next(r for r in presence_split(first=TODAY, last=TODAY) if r.hotspot_id == h0.pk)
    assert (row.user_id, row.tasked_minutes, row.untasked_minutes) == (
        a0.pk,
        pytest.approx(10.0),
        pytest.approx(10.0),
    )
