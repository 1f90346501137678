"""Reads for the patrol app. Every selector takes the acting user and checks the officer role here.

Which hot spots an officer may see comes from the trial (``rasure_web.trials.selectors``): on a trial
day only the treated ones (control hot spots are never shown, R1), and none whose cap for the
day or week is reached (P7). Without a committed trial every hot spot of the current analysis run is
shown. In both cases the list holds the hot spots of the current shift's list (day hot spots from
``day_start_hour``, night ones from ``night_start_hour`` of the run that found them; ``all`` always).

Nearest first: a scipy ``cKDTree`` on unit-sphere xyz, built once per set of hot spots and kept in
memory (hot spots of a stored run never change), ~12 µs a query on a 2-core machine
(brute-force haversine distances took ~120 µs).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from rasure_web import clock
from rasure_web.accounts.roles import OFFICER, has_role
from rasure_web.accounts.tenancy import acting_force_id, only_force
from rasure_web.analysis.models import HotSpot
from rasure_web.patrols.models import HotSpotBriefing, Ping, SyncRecord, Visit
from rasure_web.patrols.state import patrol_state, patrol_state_and_counters, patrol_state_forget

if TYPE_CHECKING:
    from rasure_web.trials.selectors import PatrolRules

EARTH_RADIUS_M = 6_371_008.8
#: How often the app samples the position during a visit (docs/methods.md §6.2: ≤ 30 s; the issue: ≤ 15 s).
PING_INTERVAL_S = 15


class HotSpotNotAvailable(Exception):
    """The hot spot does not exist or is not on this officer's list today (control, or another run)."""


def officer_required(user: Any) -> None:
    """The one place the patrol app's role rule lives: officers only."""
    if not has_role(user, OFFICER):
        raise PermissionDenied("The patrol app is for patrol officers. Ask an administrator for the role.")


# --- the trial's interface, through the day's state held in memory (rasure_web.patrols.state) ------


def patrol_rules_at(*, when: datetime, force_id: int | None) -> PatrolRules:
    return patrol_state().rules(when, force_id)


def hotspot_arms_at(*, when: datetime, force_id: int | None) -> dict[int, str] | None:
    return patrol_state().arms(when, force_id)


# --- the in-memory index of hot spots ---------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class HotSpotIndex:
    ids: NDArray[np.int64]
    codes: list[str]
    names: list[str]
    periods: list[str]
    summaries: list[str]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    day_start_hour: NDArray[np.int64]
    night_start_hour: NDArray[np.int64]
    tree: cKDTree

    def position(self) -> dict[int, int]:
        return {int(pk): i for i, pk in enumerate(self.ids.tolist())}


_INDEX: OrderedDict[tuple[int, ...], HotSpotIndex] = OrderedDict()
_INDEX_LOCK = threading.Lock()
_INDEX_MAX = 16


def unit_xyz(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
    lo, la = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def chord_to_metres(chord: NDArray[np.float64]) -> NDArray[np.float64]:
    return 2 * EARTH_RADIUS_M * np.arcsin(np.clip(chord / 2, 0, 1))


def summary_line(facts: Sequence[str], main_offences: Sequence[dict[str, Any]]) -> str:
    """One line for the list: the engine's first fact up to its first comma or bracket, and the main offence.

    >>> summary_line(["96 serious-violence crimes at night in the last 12 months (16.6% of the area's), harm 1"],
    ...              [{"offence": "Assault with injury", "share": 0.47}])
    '96 serious-violence crimes at night in the last 12 months · mostly assault with injury'
    """
    head = (facts[0] if facts else "").split(" (")[0].split(",")[0].strip()
    if main_offences and main_offences[0].get("offence"):
        offence = str(main_offences[0]["offence"])
        head = f"{head} · mostly {offence[:1].lower()}{offence[1:]}" if head else f"Mostly {offence.lower()}"
    return head


def _build_index(ids: tuple[int, ...]) -> HotSpotIndex:
    rows = list(
        HotSpot.objects.filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", "code", "name", "period", "facts", "lon", "lat", "run__params", "main_offences")
    )
    params = [r[7] or {} for r in rows]
    lon = np.array([r[5] for r in rows], dtype=np.float64)
    lat = np.array([r[6] for r in rows], dtype=np.float64)
    return HotSpotIndex(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        codes=[r[1] for r in rows],
        names=[r[2] or r[1] for r in rows],
        periods=[r[3] for r in rows],
        summaries=[summary_line(r[4] or [], r[8] or []) for r in rows],
        lon=lon,
        lat=lat,
        day_start_hour=np.array([int(p.get("day_start_hour", 6)) for p in params], dtype=np.int64),
        night_start_hour=np.array([int(p.get("night_start_hour", 18)) for p in params], dtype=np.int64),
        tree=cKDTree(unit_xyz(lon, lat) if rows else np.zeros((0, 3))),
    )


def hotspot_index(*, ids: Iterable[int]) -> HotSpotIndex:
    """The cached index of these hot spots (built on first use; a stored run's hot spots never change)."""
    key = tuple(sorted({int(i) for i in ids}))
    with _INDEX_LOCK:
        found = _INDEX.get(key)
        if found is not None:
            _INDEX.move_to_end(key)
            return found
    built = _build_index(key)
    with _INDEX_LOCK:
        _INDEX[key] = built
        while len(_INDEX) > _INDEX_MAX:
            _INDEX.popitem(last=False)
    return built


def patrol_memory_forget() -> None:
    """Drop the state and indexes held in this process (tests: their databases reuse primary keys)."""
    patrol_state_forget()
    with _INDEX_LOCK:
        _INDEX.clear()


def _period_ok(index: HotSpotIndex, when: datetime) -> NDArray[np.bool_]:
    hour = when.astimezone(ZoneInfo(settings.TIME_ZONE)).hour
    is_day = (hour >= index.day_start_hour) & (hour < index.night_start_hour)
    periods = np.array(index.periods, dtype=object)
    return np.asarray((periods == "all") | ((periods == "day") & is_day) | ((periods == "night") & ~is_day))


@dataclass(frozen=True)
class PatrolList:
    """Today's hot spots for an officer, nearest first."""

    when: datetime
    rules: PatrolRules
    trial_running: bool
    hotspots: list[dict[str, Any]]
    n_treated: int
    n_capped: int


def hotspots_nearest(
    *,
    user: Any,
    lat: float,
    lon: float,
    limit: int = 10,
    when: datetime | None = None,
    exclude: Sequence[int] = (),
) -> PatrolList:
    """Today's treated hot spots not yet at their cap, nearest to (lat, lon) first, with distances."""
    officer_required(user)
    when = when or clock.now()
    force_id = acting_force_id(user)
    state, rules, counted = patrol_state_and_counters(when, force_id)
    arms = state.arms(when, force_id)
    index = hotspot_index(ids=state.candidates(arms, force_id))
    n = len(index.ids)
    if n == 0:
        return PatrolList(when, rules, arms is not None, [], 0, 0)
    ok = _period_ok(index, when)
    if arms is not None:
        ok &= np.array([arms.get(int(i)) == "treatment" for i in index.ids.tolist()], dtype=bool)
    if exclude:
        ok &= ~np.isin(index.ids, np.asarray(list(exclude), dtype=np.int64))
    n_treated = int(ok.sum())
    day, week = counted.day, counted.week
    capped = np.zeros(n, dtype=bool)
    for i, pk in enumerate(index.ids.tolist()):
        if not ok[i]:
            continue
        if day.get(pk, 0) >= rules.cap_per_day or (
            rules.cap_per_week is not None and week.get(pk, 0) >= rules.cap_per_week
        ):
            capped[i] = True
    ok &= ~capped
    out: list[dict[str, Any]] = []
    if ok.any():
        k = min(n, max(limit * 4, 16))
        here = unit_xyz(np.array([lon], dtype=np.float64), np.array([lat], dtype=np.float64))[0]
        while True:
            chord, idx = index.tree.query(here, k=k)
            chord, idx = np.atleast_1d(chord), np.atleast_1d(idx)
            keep = ok[idx]
            if keep.sum() >= limit or k >= n:
                break
            k = min(n, k * 4)
        metres = chord_to_metres(chord[keep])[:limit]
        for i, d in zip(idx[keep][:limit].tolist(), metres.tolist(), strict=True):
            pk = int(index.ids[i])
            out.append(
                {
                    "id": pk,
                    "code": index.codes[i],
                    "name": index.names[i],
                    "period": index.periods[i],
                    "summary": index.summaries[i],
                    "lat": float(index.lat[i]),
                    "lon": float(index.lon[i]),
                    "distance_m": round(float(d), 1),
                    "visits_today": day.get(pk, 0),
                }
            )
    return PatrolList(when, rules, arms is not None, out, n_treated, int(capped.sum()))


def hotspot_briefing(*, user: Any, hotspot_id: int, when: datetime | None = None) -> dict[str, Any]:
    """The briefing (P2) of a hot spot on this officer's list today; control hot spots are not shown."""
    officer_required(user)
    when = when or clock.now()
    force_id = acting_force_id(user)
    arms = hotspot_arms_at(when=when, force_id=force_id)
    if arms is not None:
        if arms.get(hotspot_id) != "treatment":
            raise HotSpotNotAvailable(hotspot_id)
        hotspot = HotSpot.objects.filter(pk=hotspot_id).first()
    else:
        hotspot = HotSpot.objects.filter(pk=hotspot_id, run__is_current=True, run__tenant_id=force_id).first()
    if hotspot is None or force_id is None:
        raise HotSpotNotAvailable(hotspot_id)
    rules = patrol_rules_at(when=when, force_id=force_id)
    briefing = HotSpotBriefing.objects.filter(hotspot=hotspot).first()
    return {
        "id": hotspot.pk,
        "code": hotspot.code,
        "name": hotspot.name or hotspot.code,
        "period": hotspot.period,
        "lat": hotspot.lat,
        "lon": hotspot.lon,
        "plain_facts": hotspot.plain_facts,
        "facts": list(hotspot.facts or []),
        "main_offences": [
            {"offence": str(m.get("offence", "")), "share": float(m.get("share", 0.0))}
            for m in (hotspot.main_offences or [])
        ],
        "background": briefing.background if briefing else "",
        "tasks": [t.strip() for t in (briefing.tasks if briefing else "").splitlines() if t.strip()],
        "contact_name": briefing.contact_name if briefing else "",
        "contact_details": briefing.contact_details if briefing else "",
        "updated_at": briefing.updated_at if briefing else None,
        "geofence": json.loads(hotspot.geofence_lonlat_geojson),
        "target_minutes": rules.target_dose.total_seconds() / 60,
        "cap_per_day": rules.cap_per_day,
    }


def patrol_today(*, user: Any, when: datetime | None = None) -> dict[str, Any]:
    """The rules the app applies now: target dose, caps, trial day, and how often to sample the position."""
    officer_required(user)
    when = when or clock.now()
    rules = patrol_rules_at(when=when, force_id=acting_force_id(user))
    return {
        "username": user.get_username(),
        "display_name": user.get_full_name() or user.get_username(),
        "server_time": when,
        "trial_day": rules.trial_day,
        "trial_id": rules.trial_id,
        "target_minutes": rules.target_dose.total_seconds() / 60,
        "cap_per_day": rules.cap_per_day,
        "cap_per_week": rules.cap_per_week,
        "ping_interval_s": PING_INTERVAL_S,
    }


def colleagues_list(*, user: Any) -> list[dict[str, Any]]:
    """Officer accounts the acting officer can say they were crewed with (active, not themselves), with
    collar number and team. An officer whose profile names a force sees only colleagues of that force;
    one without a profile sees every officer account."""
    from rasure_web.accounts.models import Profile

    officer_required(user)
    qs = get_user_model().objects.filter(is_active=True, groups__name=OFFICER).exclude(pk=user.pk)
    force_id = Profile.objects.filter(user_id=user.pk).values_list("force_id", flat=True).first()
    if force_id is None and only_force() is None:
        return []  # several forces and this account belongs to none: no colleagues to name
    if force_id is not None:
        qs = qs.filter(profile__force_id=force_id)
    rows = (
        qs.order_by("username")
        .values_list(
            "pk", "username", "first_name", "last_name", "profile__collar_number", "profile__team__name"
        )
        .distinct()
    )
    out = []
    for pk, username, first, last, collar, team in rows:
        name = " ".join(p for p in (first, last) if p and p != "(synthetic)").strip()
        out.append(
            {
                "id": pk,
                "username": username,
                "name": name or username,
                "collar_number": collar or "",
                "team": team or "",
            }
        )
    return out


def visit_body(visit: Visit) -> dict[str, Any]:
    """A visit as the API returns it (also stored as the answer to its start and end records)."""
    return {
        "visit_id": str(visit.visit_id),
        "hotspot_id": visit.hotspot_id,
        "status": visit.status,
        "trial_day": visit.trial_day.isoformat(),
        "slot": visit.slot,
        "offline_start": visit.offline_start,
        "target_minutes": visit.target_minutes,
        "started_at": visit.started_at.isoformat(),
        "ended_at": visit.ended_at.isoformat() if visit.ended_at else None,
        "dose_minutes": round(visit.dose_minutes, 2),
        "entry_at": visit.entry_at.isoformat() if visit.entry_at else None,
        "exit_at": visit.exit_at.isoformat() if visit.exit_at else None,
        "mode": visit.mode,
        "n_pings": visit.n_pings,
        "target_met": visit.dose_minutes >= visit.target_minutes,
    }


def visit_detail(*, user: Any, visit_id: uuid.UUID) -> dict[str, Any] | None:
    """One of the acting officer's own visits, as the server sees it (dose from the pings)."""
    officer_required(user)
    visit = Visit.objects.filter(visit_id=visit_id, officer=user).first()
    return visit_body(visit) if visit is not None else None


def records_held(*, user: Any, client_ids: Sequence[uuid.UUID]) -> dict[str, Any]:
    """Which of these client record ids the server holds for the acting officer (outbox reconciliation)."""
    officer_required(user)
    wanted = {str(c) for c in client_ids}
    held = {
        str(c)
        for c in SyncRecord.objects.filter(client_id__in=wanted, officer=user).values_list(
            "client_id", flat=True
        )
    }
    held |= {
        str(c)
        for c in Ping.objects.filter(client_id__in=wanted, officer=user).values_list("client_id", flat=True)
    }
    return {
        "held": sorted(held),
        "missing": sorted(wanted - held),
        "server_time": clock.now(),
    }
