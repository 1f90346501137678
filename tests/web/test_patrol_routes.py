"""Simulated patrol routes (walking in, dwelling, walking out; driving through) and their expected dose.

Used by the API, sync and browser tests of the patrol app; the tests here check the routes themselves
against the pure dose code, so a failure elsewhere points at the app, not the route.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Polygon, box

from rasure.geo import projected_to_lonlat
from rasure.patrol.dose import find_visits

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Fix:
    t: float  # seconds from the start of the route
    x: float
    y: float
    lon: float
    lat: float


def _fixes(t: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[Fix]:
    lon, lat = projected_to_lonlat(x, y)
    return [
        Fix(float(a), float(b), float(c), float(d), float(e))
        for a, b, c, d, e in zip(t, x, y, lon, lat, strict=True)
    ]


def walk_route(
    cx: float, cy: float, *, interval_s: float = 15.0, approach_m: float = 200.0, dwell_s: float = 720.0
) -> list[Fix]:
    """Walk north at 1.4 m/s from ``approach_m`` south of (cx, cy) to it, patrol on foot around it for
    ``dwell_s`` (a 25 m circle at 1.1 m/s), then walk on north for ``approach_m``."""
    speed = 1.4
    t_in = approach_m / speed
    t_loop_end = t_in + dwell_s
    t_end = t_loop_end + approach_m / speed
    t = np.arange(0.0, t_end + 1e-9, interval_s)
    x = np.empty_like(t)
    y = np.empty_like(t)
    r, w = 25.0, 1.1 / 25.0
    for i, s in enumerate(t):
        if s <= t_in:
            x[i], y[i] = cx, cy - approach_m + speed * s
        elif s <= t_loop_end:
            a = w * (s - t_in)
            # a circle through the centre, so the loop starts where the approach ended
            x[i], y[i] = cx + r * np.sin(a), cy + r * (1 - np.cos(a))
        else:
            a = w * dwell_s
            x0, y0 = cx + r * np.sin(a), cy + r * (1 - np.cos(a))
            x[i], y[i] = x0, y0 + speed * (s - t_loop_end)
    return _fixes(t, x, y)


def drive_route(
    cx: float, cy: float, *, interval_s: float = 15.0, speed_mps: float = 8.0, steps: int = 3
) -> list[Fix]:
    """Drive north through (cx, cy) at ``speed_mps`` (8 m/s ≈ 29 km/h); one fix falls on the centre."""
    k = np.arange(-steps, steps + 1, dtype=float)
    t = (k + steps) * interval_s
    return _fixes(t, np.full_like(k, cx), cy + k * speed_mps * interval_s)


def crossing_dwell_minutes(route: list[Fix], fence: Polygon) -> float:
    """Time between the first and last crossing of the fence boundary along the route (linear interpolation)."""
    inside = [fence.contains(shapely.Point(f.x, f.y)) for f in route]
    first = inside.index(True)
    last = len(inside) - 1 - inside[::-1].index(True)

    def cross(a: Fix, b: Fix) -> float:
        lo, hi = 0.0, 1.0
        a_in = fence.contains(shapely.Point(a.x, a.y))
        for _ in range(40):
            mid = (lo + hi) / 2
            p = shapely.Point(a.x + (b.x - a.x) * mid, a.y + (b.y - a.y) * mid)
            if fence.contains(p) == a_in:
                lo = mid
            else:
                hi = mid
        return a.t + (b.t - a.t) * lo

    t_in = cross(route[first - 1], route[first]) if first > 0 else route[0].t
    t_out = cross(route[last], route[last + 1]) if last < len(route) - 1 else route[-1].t
    return (t_out - t_in) / 60


def frame(route: list[Fix], start: datetime = T0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "fix_time": [start + timedelta(seconds=f.t) for f in route],
            "x": [f.x for f in route],
            "y": [f.y for f in route],
        }
    )


def test_walk_route_is_one_visit_on_foot_of_the_crossing_dwell() -> None:
    fence = box(-75, -75, 75, 75)
    route = walk_route(0.0, 0.0)
    visits = find_visits(frame(route), fence)
    assert len(visits) == 1
    assert visits["mode"].iloc[0] == "foot"
    expected = crossing_dwell_minutes(route, fence)
    assert abs(visits["minutes"].iloc[0] - expected) < 0.5
    assert 12.5 < expected < 14


def test_drive_route_is_a_drive_through() -> None:
    fence = box(-75, -75, 75, 75)
    visits = find_visits(frame(drive_route(0.0, 0.0)), fence)
    assert len(visits) == 1
    assert visits["mode"].iloc[0] == "drive_through"
    assert visits["minutes"].iloc[0] <= 0.5


# --- shared fixtures and helpers for the patrol tests (imported by the other test_patrol* modules) ---

import json  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402


def load_city() -> Any:
    """The synthetic city and its hot spots (6 day, 6 night at most); returns the analysis run.

    Each test module declares its own ``city`` fixture calling this (a fixture imported from another
    module would shadow the test arguments that name it)."""
    from tests.city import store_city_with_hotspots

    return store_city_with_hotspots()


def make_user(username: str, role: str = "officer", password: str | None = None) -> Any:
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username=username, password=password or f"rasure-demo-{username}")
    user.first_name = username.title()
    user.save()
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def client_for(user: Any, *, csrf: bool = False) -> Any:
    from django.test import Client

    c = Client(enforce_csrf_checks=csrf)
    c.force_login(user)
    return c


def post(client: Any, path: str, body: dict[str, Any], **headers: Any) -> Any:
    return client.post(path, data=json.dumps(body, default=str), content_type="application/json", **headers)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def start_body(hotspot_id: int, *, at: datetime = T0, offline: bool = False, **extra: Any) -> dict[str, Any]:
    body = {
        "client_id": str(uuid.uuid4()),
        "visit_id": str(uuid.uuid4()),
        "hotspot_id": hotspot_id,
        "started_at": iso(at),
        "device_sent_at": iso(at),
        "offline_start": offline,
        "seq": 1,
    }
    body.update(extra)
    return body


def ping_bodies(
    visit_id: str, route: list[Fix], *, start: datetime = T0, seq0: int = 10
) -> list[dict[str, Any]]:
    return [
        {
            "client_id": str(uuid.uuid4()),
            "visit_id": visit_id,
            "seq": seq0 + i,
            "fix_time": iso(start + timedelta(seconds=f.t)),
            "lat": f.lat,
            "lon": f.lon,
            "accuracy_m": 8.0,
        }
        for i, f in enumerate(route)
    ]


def end_body(visit_id: str, *, at: datetime, **form: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": str(uuid.uuid4()),
        "visit_id": visit_id,
        "ended_at": iso(at),
        "device_sent_at": iso(at),
        "spoken_to": 3,
        "searched": 1,
        "arrested": 0,
        "crewed_with": [],
        "note": "Quiet. Shop staff reported youths gathering after school.",
    }
    body.update(form)
    return body
