"""Offline sync without loss or duplicates (docs/reliability.md §2.2, §5 rows 1, 3, 4, 5).

A Python model of the phone's outbox (the same rules as static/patrol/outbox.js: send in sequence
order, batch consecutive pings, delete on 200, keep on 404 ``visit_unknown``, quarantine on 409/422,
retry on network errors) talks to the real API through a flaky connection that loses requests, loses
responses after the server committed, delivers requests twice, and reorders what is sent. Hypothesis
draws the visits, the faults and the order. Invariants, checked after every send: the server holds no
record twice and nothing the phone did not make; everything the phone was told is stored is stored.
After the connection heals, the server holds exactly what the phone made: 0 lost, 0 duplicated.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rasure_web.analysis.models import HotSpot
from rasure_web.patrols.models import CapCounter, Ping, SyncRecord, Visit
from tests.web.test_patrol_routes import T0, client_for, iso, load_city, make_user, walk_route

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]  # now pinned: tests/conftest.py


@pytest.fixture
def city(db: Any) -> Any:
    return load_city()


ENDPOINT = {"visit_start": "/api/patrol/visits/start", "visit_end": "/api/patrol/visits/end"}


class NetworkDown(Exception):
    pass


@dataclass
class Faults:
    rng: random.Random
    p_lose_request: float
    p_lose_response: float
    p_duplicate: float
    p_reorder: float
    log: list[str] = field(default_factory=list)


@dataclass
class Phone:
    """The outbox of one phone: records by sequence number, never edited once made."""

    records: list[dict[str, Any]] = field(default_factory=list)
    acked: set[str] = field(default_factory=set)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0

    def make(self, kind: str, body: dict[str, Any]) -> None:
        self.seq += 1
        cid = str(uuid.uuid4())
        self.records.append(
            {
                "client_id": cid,
                "kind": kind,
                "seq": self.seq,
                "body": {**body, "client_id": cid, "seq": self.seq},
            }
        )

    def pending(self) -> list[dict[str, Any]]:
        return sorted((r for r in self.records if r["client_id"] not in self.acked), key=lambda r: r["seq"])


def _post(client: Any, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    r = client.post(path, data=json.dumps(body), content_type="application/json")
    assert r.status_code < 500, r.content
    return r.status_code, r.json()


def send(
    client: Any, faults: Faults, group: list[dict[str, Any]], sent_at: str
) -> tuple[int, dict[str, Any]]:
    if group[0]["kind"] == "ping":
        path, body = "/api/patrol/pings", {"device_sent_at": sent_at, "pings": [r["body"] for r in group]}
    else:
        path, body = ENDPOINT[group[0]["kind"]], {**group[0]["body"], "device_sent_at": sent_at}
    roll = faults.rng.random()
    if roll < faults.p_lose_request:
        faults.log.append("lost request")
        raise NetworkDown
    answer = _post(client, path, body)
    roll = faults.rng.random()
    if roll < faults.p_duplicate:
        faults.log.append("duplicate")
        answer = _post(client, path, body)
    if faults.rng.random() < faults.p_lose_response:
        faults.log.append("lost response after commit")
        raise NetworkDown
    return answer


def flush(client: Any, phone: Phone, faults: Faults, *, max_batch: int, sent_at: str) -> None:
    rows = phone.pending()
    groups: list[list[dict[str, Any]]] = []
    i = 0
    while i < len(rows):
        g = [rows[i]]
        if rows[i]["kind"] == "ping":
            while i + len(g) < len(rows) and rows[i + len(g)]["kind"] == "ping" and len(g) < max_batch:
                g.append(rows[i + len(g)])
        groups.append(g)
        i += len(g)
    if faults.rng.random() < faults.p_reorder:
        faults.rng.shuffle(groups)  # two tabs, a retry racing a new send, a proxy: any order can arrive
        faults.log.append("reordered")
    for g in groups:
        try:
            status, body = send(client, faults, g, sent_at)
        except NetworkDown:
            return  # back off; the next flush starts again from the outbox
        if status == 200 or (
            status == 409 and g[0]["kind"] == "visit_start" and body.get("code") != "conflict"
        ):
            phone.acked |= {r["client_id"] for r in g}
        elif status == 404 and body.get("code") == "visit_unknown":
            continue  # its start is still on its way
        elif status in (400, 409, 422):
            phone.quarantine += g
            phone.acked |= {r["client_id"] for r in g}
        else:
            return
        check_invariants(phone)


def check_invariants(phone: Phone) -> None:
    made = {r["client_id"] for r in phone.records}
    held_pings = list(Ping.objects.values_list("client_id", flat=True))
    held_records = list(SyncRecord.objects.values_list("client_id", flat=True))
    held = [str(c) for c in held_pings + held_records]
    assert len(held) == len(set(held)), "a record is held twice"
    assert set(held) <= made, "the server holds a record the phone never made"
    acked_ok = {r["client_id"] for r in phone.records if r["client_id"] in phone.acked} - {
        r["client_id"] for r in phone.quarantine
    }
    assert acked_ok <= set(held), "the phone was told a record was stored, but it is not"
    visit_ids = list(Visit.objects.values_list("visit_id", flat=True))
    assert len(visit_ids) == len(set(visit_ids))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    n_visits=st.integers(1, 3),
    pings_per_visit=st.integers(1, 24),
    max_batch=st.integers(1, 30),
    p_lose_request=st.floats(0, 0.4),
    p_lose_response=st.floats(0, 0.4),
    p_duplicate=st.floats(0, 0.4),
    p_reorder=st.floats(0, 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_flaky_connection_loses_nothing_and_duplicates_nothing(
    city: Any,
    n_visits: int,
    pings_per_visit: int,
    max_batch: int,
    p_lose_request: float,
    p_lose_response: float,
    p_duplicate: float,
    p_reorder: float,
    seed: int,
) -> None:
    for model in (Ping, SyncRecord, CapCounter):
        model.objects.all().delete()
    Visit.objects.all().delete()
    from django.contrib.auth.models import User

    user = User.objects.filter(username="pc-sync").first() or make_user("pc-sync")
    client = client_for(user)
    faults = Faults(random.Random(seed), p_lose_request, p_lose_response, p_duplicate, p_reorder)
    phone = Phone()
    hotspots = list(HotSpot.objects.filter(run=city).order_by("pk"))[:n_visits]
    made_pings: dict[str, int] = {}
    clock = T0
    for hs in hotspots:
        visit_id = str(uuid.uuid4())
        phone.make("visit_start", {"visit_id": visit_id, "hotspot_id": hs.pk, "started_at": iso(clock)})
        route = walk_route(hs.easting, hs.northing)[:pings_per_visit]
        for f in route:
            phone.make(
                "ping",
                {
                    "visit_id": visit_id,
                    "fix_time": iso(clock + timedelta(seconds=f.t)),
                    "lat": f.lat,
                    "lon": f.lon,
                    "accuracy_m": 6.0,
                },
            )
        made_pings[visit_id] = len(route)
        clock += timedelta(seconds=route[-1].t + 1)
        phone.make(
            "visit_end",
            {
                "visit_id": visit_id,
                "ended_at": iso(clock),
                "spoken_to": 2,
                "searched": 0,
                "arrested": 0,
                "crewed_with": [],
                "note": "",
            },
        )
        # the phone tries to send while the visit is still going on, too
        flush(client, phone, faults, max_batch=max_batch, sent_at=iso(clock))
    for _ in range(400):  # bounded: the connection is flaky, not dead
        if not phone.pending():
            break
        flush(client, phone, faults, max_batch=max_batch, sent_at=iso(clock))
    # heal: a clean connection sends whatever is left
    clean = Faults(random.Random(0), 0, 0, 0, 0)
    for _ in range(5):
        flush(client, phone, clean, max_batch=max_batch, sent_at=iso(clock))
    assert not phone.pending(), faults.log[-20:]
    assert phone.quarantine == [], "nothing a correct phone sends should be refused"
    check_invariants(phone)
    # exactly what was made: 0 lost, 0 duplicated
    assert Visit.objects.count() == len(hotspots)
    assert Visit.objects.filter(status="ended").count() == len(hotspots)
    for visit_id, n in made_pings.items():
        assert Ping.objects.filter(visit_id=visit_id).count() == n
        assert Visit.objects.get(visit_id=visit_id).n_pings == n  # dose computed from all of them
    assert SyncRecord.objects.count() == 2 * len(hotspots)
    assert CapCounter.objects.filter(kind="day").values_list("visits", flat=True).distinct().get() == 1
