"""Writes for the patrol app: visit start (takes a cap slot), pings, visit end and form, dose, AVLS.

**Idempotency** (docs/reliability.md §2.2). Each record from the phone carries a client UUID. The receipt
(:class:`~rasure_web.patrols.models.SyncRecord`, or the :class:`~rasure_web.patrols.models.Ping` row
itself) is inserted *first* in the record's transaction, under a UNIQUE constraint, then the effects are
written, then the answer is stored on the receipt. A concurrent duplicate blocks on the unique index and
then fails; it is retried once and answered from the receipt. So: a retry with the same payload gets the
original answer; a different payload under the same id gets 409 and changes nothing. Records refused
before they are executed (unknown visit, bad colleague id) store nothing, so they can be sent again.

**Caps** (P7). A visit start increments the hot spot's counter row for the trial day (and week) with
``UPDATE … SET visits = visits + 1 WHERE … AND visits < cap``, inside the start's transaction. The
database row lock decides which of two simultaneous starts gets the last slot, on any number of app
servers; the loser's UPDATE matches no row and it is refused (409 ``cap_reached``). A start the phone
made *while offline* (the officer was already there) is never lost: it is stored with ``slot=False``
(not a tasked visit) when no slot is left.

**Dose** (P4) is computed here from the stored pings with :mod:`rasure.patrol.dose`, when a visit ends
and again when pings arrive late. Phone clocks: each batch's offset ``received_at − device_sent_at``
is stored with its pings; the visit uses the *median* offset of its pings (one clock per phone per
visit, robust to one slow request), and :func:`rasure.patrol.dose.correct_clock` flags suspect pings
for review without dropping any.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F

from rasure.geo import lonlat_to_projected
from rasure.patrol.avls import AvlsMapping, presence_in_hotspots, read_avls
from rasure.patrol.dose import DoseParams, correct_clock, find_visits
from rasure_web import clock
from rasure_web.accounts.roles import OFFICER, has_role
from rasure_web.accounts.tenancy import acting_force_crs, acting_force_id, force_crs, resolve_force
from rasure_web.analysis.models import HotSpot
from rasure_web.patrols.models import (
    AvlsImport,
    AvlsPresence,
    CapCounter,
    HotSpotBriefing,
    Ping,
    SyncRecord,
    Visit,
)
from rasure_web.patrols.selectors import (
    hotspot_arms_at,
    officer_required,
    patrol_rules_at,
    visit_body,
)
from rasure_web.patrols.state import week_start

#: Dose parameters for phone pings (docs/methods.md §6.3 defaults).
DOSE_PARAMS = DoseParams()
MAX_CREW = 12


class PatrolRecordError(Exception):
    """A record the server did not execute (nothing stored): ``status`` and ``code`` go to the phone."""

    status = 422
    code = "invalid_record"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.extra = extra


class RecordConflict(PatrolRecordError):
    """The client id is already used by a different payload (or by another account)."""

    status = 409
    code = "conflict"


class VisitUnknown(PatrolRecordError):
    """The visit's start record has not arrived (yet): the phone keeps the record and sends it later."""

    status = 404
    code = "visit_unknown"


class HotSpotUnknown(PatrolRecordError):
    status = 404
    code = "hotspot_unknown"


@dataclass(frozen=True)
class Outcome:
    """The answer to an executed record: HTTP status and JSON body (stored for replays)."""

    status: int
    body: dict[str, Any]
    replay: bool = False


# --- canonical payloads -------------------------------------------------------------------------------


def _canon(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise PatrolRecordError("times must carry a time zone (e.g. 2024-05-01T12:00:00Z)")
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return [_canon(v) for v in value]
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in value.items()}
    return value


def payload_sha256(payload: dict[str, Any]) -> str:
    """SHA-256 of a record's canonical JSON (UTC times, sorted keys); transport fields are left out."""
    text = json.dumps(_canon(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _idempotent(
    *,
    user: Any,
    kind: str,
    client_id: uuid.UUID,
    digest: str,
    received_at: datetime,
    work: Callable[[], Outcome],
) -> Outcome:
    for attempt in range(3):
        try:
            with transaction.atomic():
                found = SyncRecord.objects.select_for_update().filter(client_id=client_id).first()
                if found is not None:
                    if found.officer_id != user.pk or found.kind != kind or found.payload_sha256 != digest:
                        raise RecordConflict(
                            f"record {client_id} was already received with different content; "
                            "a record cannot change once sent (send a new record instead)"
                        )
                    SyncRecord.objects.filter(pk=found.pk).update(replays=F("replays") + 1)
                    return Outcome(found.status_code, found.response, replay=True)
                receipt = SyncRecord.objects.create(
                    client_id=client_id,
                    officer=user,
                    kind=kind,
                    payload_sha256=digest,
                    status_code=0,
                    response={},
                    received_at=received_at,
                )
                outcome = work()
                receipt.status_code, receipt.response = outcome.status, outcome.body
                receipt.save(update_fields=["status_code", "response"])
                return outcome
        except IntegrityError:
            # A concurrent request with the same client id (or visit id) committed first: look again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _device_offset(received_at: datetime, device_sent_at: datetime) -> timedelta:
    return received_at - device_sent_at


# --- caps ---------------------------------------------------------------------------------------------


def _take(hotspot_id: int, kind: str, start: date, cap: int) -> bool:
    CapCounter.objects.bulk_create(
        [CapCounter(hotspot_id=hotspot_id, kind=kind, period_start=start, visits=0)], ignore_conflicts=True
    )
    updated = CapCounter.objects.filter(
        hotspot_id=hotspot_id, kind=kind, period_start=start, visits__lt=cap
    ).update(visits=F("visits") + 1)
    return updated == 1


class _NoSlot(Exception):
    pass


def cap_slot_take(*, hotspot_id: int, trial_day: date, cap_per_day: int, cap_per_week: int | None) -> bool:
    """Take one patrol slot of a hot spot for a trial day (and its week); False when a cap is reached.

    Must run inside the caller's transaction; the week and day increments stand or fall together.
    """
    try:
        with transaction.atomic():
            if not _take(hotspot_id, CapCounter.Kind.DAY, trial_day, cap_per_day):
                raise _NoSlot
            if cap_per_week is not None and not _take(
                hotspot_id, CapCounter.Kind.WEEK, week_start(trial_day), cap_per_week
            ):
                raise _NoSlot
    except _NoSlot:
        return False
    return True


# --- visit start --------------------------------------------------------------------------------------


def visit_start(
    *,
    user: Any,
    client_id: uuid.UUID,
    visit_id: uuid.UUID,
    hotspot_id: int,
    started_at: datetime,
    device_sent_at: datetime,
    device_id: uuid.UUID | None = None,
    seq: int = 0,
    offline_start: bool = False,
    received_at: datetime | None = None,
) -> Outcome:
    """Store a visit start and take a cap slot, in one transaction (idempotent on ``client_id``).

    200 with the visit; 409 ``cap_reached`` / ``not_tasked`` when no slot can be taken and the start was
    made online (stored as the answer: a retry gets it again); a start made offline is stored with
    ``slot=False`` instead, so the visit the officer already made is never lost.
    """
    officer_required(user)
    received_at = received_at or clock.now()
    digest = payload_sha256(
        {
            "visit_id": visit_id,
            "hotspot_id": hotspot_id,
            "started_at": started_at,
            "device_id": device_id,
            "seq": seq,
            "offline_start": offline_start,
        }
    )

    def work() -> Outcome:
        hotspot = HotSpot.objects.filter(pk=hotspot_id).select_related("run").first()
        force_id = acting_force_id(user)
        if hotspot is None or hotspot.run.tenant_id != force_id:  # another force's: as if unknown
            raise HotSpotUnknown(f"there is no hot spot {hotspot_id}")
        if Visit.objects.filter(visit_id=visit_id).exists():
            raise RecordConflict(f"visit {visit_id} was already started by another record")
        # The moment of the start on the server's clock: the phone's time corrected by its offset at
        # sending, never later than the arrival.
        when = min(started_at + _device_offset(received_at, device_sent_at), received_at)
        rules = patrol_rules_at(when=when, force_id=force_id)
        arms = hotspot_arms_at(when=when, force_id=force_id)
        arm = (arms or {}).get(hotspot_id, "")
        tasked = arm == "treatment" if arms is not None else hotspot.run.is_current
        slot = tasked and cap_slot_take(
            hotspot_id=hotspot_id,
            trial_day=rules.trial_day,
            cap_per_day=rules.cap_per_day,
            cap_per_week=rules.cap_per_week,
        )
        if not slot and not offline_start:
            code = "cap_reached" if tasked else "not_tasked"
            detail = (
                "This hot spot has had its patrols for today. Choose another one."
                if tasked
                else "This hot spot is not on today's patrol list."
            )
            return Outcome(409, {"code": code, "detail": detail, "visit_id": str(visit_id)})
        visit = Visit.objects.create(
            visit_id=visit_id,
            start_client_id=client_id,
            officer=user,
            hotspot=hotspot,
            device_id=device_id,
            trial_day=rules.trial_day,
            trial_id=rules.trial_id,
            arm=arm,
            slot=slot,
            offline_start=offline_start,
            target_minutes=rules.target_dose.total_seconds() / 60,
            started_at=started_at,
            start_received_at=received_at,
            clock_offset_s=_device_offset(received_at, device_sent_at).total_seconds(),
        )
        return Outcome(200, visit_body(visit))

    return _idempotent(
        user=user,
        kind=SyncRecord.Kind.VISIT_START,
        client_id=client_id,
        digest=digest,
        received_at=received_at,
        work=work,
    )


# --- pings --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PingData:
    client_id: uuid.UUID
    visit_id: uuid.UUID
    seq: int
    fix_time: datetime
    lat: float
    lon: float
    accuracy_m: float | None = None
    speed_mps: float | None = None


def _ping_digest(p: PingData, device_id: uuid.UUID | None) -> str:
    return payload_sha256(
        {
            "visit_id": p.visit_id,
            "seq": p.seq,
            "fix_time": p.fix_time,
            "lat": float(p.lat),
            "lon": float(p.lon),
            "accuracy_m": None if p.accuracy_m is None else float(p.accuracy_m),
            "speed_mps": None if p.speed_mps is None else float(p.speed_mps),
            "device_id": device_id,
        }
    )


def pings_record(
    *,
    user: Any,
    pings: Sequence[PingData],
    device_sent_at: datetime,
    device_id: uuid.UUID | None = None,
    received_at: datetime | None = None,
) -> Outcome:
    """Store a batch of pings, all or nothing; each ping is idempotent on its own client id.

    Pings already held with the same content count as duplicates; any ping whose id is held with other
    content refuses the whole batch (409, ``conflicts`` lists them). Ended visits that receive late
    pings get their dose computed again.
    """
    officer_required(user)
    received_at = received_at or clock.now()
    digests: dict[uuid.UUID, str] = {}
    unique: list[PingData] = []
    for p in pings:
        d = _ping_digest(p, device_id)
        if p.client_id in digests:
            if digests[p.client_id] != d:
                raise RecordConflict(
                    "the batch holds two different pings under one client id", conflicts=[str(p.client_id)]
                )
            continue
        digests[p.client_id] = d
        unique.append(p)
    visit_ids = {p.visit_id for p in unique}
    for attempt in range(3):
        try:
            with transaction.atomic():
                # one query reads whose the visits are and the CRS of their force
                visits = list(
                    Visit.objects.filter(visit_id__in=visit_ids).values_list(
                        "officer_id", "hotspot__run__tenant__crs"
                    )
                )
                xs, ys = _pings_projected(user, unique, visits)
                held = {
                    cid: (officer_id, digest)
                    for cid, officer_id, digest in Ping.objects.filter(
                        client_id__in=list(digests)
                    ).values_list("client_id", "officer_id", "payload_sha256")
                }
                conflicts = [
                    str(cid)
                    for cid, (officer_id, d) in held.items()
                    if officer_id != user.pk or d != digests[cid]
                ]
                if conflicts:
                    raise RecordConflict(
                        f"{len(conflicts)} ping(s) were already received with different content",
                        conflicts=sorted(conflicts),
                    )
                if any(officer_id != user.pk for officer_id, _ in visits):
                    raise PatrolRecordError("a ping names a visit of another account")
                new = [
                    Ping(
                        client_id=p.client_id,
                        officer=user,
                        visit_id=p.visit_id,
                        device_id=device_id,
                        seq=p.seq,
                        fix_time=p.fix_time,
                        device_sent_at=device_sent_at,
                        received_at=received_at,
                        lon=p.lon,
                        lat=p.lat,
                        x=float(xs[i]),
                        y=float(ys[i]),
                        accuracy_m=p.accuracy_m,
                        speed_mps=p.speed_mps,
                        payload_sha256=digests[p.client_id],
                    )
                    for i, p in enumerate(unique)
                    if p.client_id not in held
                ]
                Ping.objects.bulk_create(new)
                touched = {p.visit_id for p in new}
                recomputed = []
                for visit in Visit.objects.select_for_update().filter(
                    visit_id__in=touched, officer=user, status=Visit.Status.ENDED
                ):
                    visit_dose_compute(visit=visit)
                    recomputed.append(str(visit.visit_id))
                return Outcome(
                    200,
                    {
                        "stored": len(new),
                        "duplicates": len(pings) - len(new),
                        "recomputed": sorted(recomputed),
                        "received_at": received_at.isoformat(),
                    },
                )
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _pings_projected(
    user: Any, pings: Sequence[PingData], visits: Sequence[tuple[int, str | None]]
) -> tuple[np.ndarray, np.ndarray]:
    """The pings' easting and northing in the CRS they are located in: that of the force of the hot
    spot visited (``visits``: officer and CRS of the visits the pings name), else, as a ping may arrive
    before its visit's start, the officer's acting force's (read with the user, so no query)."""
    if not pings:
        return np.empty(0), np.empty(0)
    crs = next((c for officer_id, c in visits if officer_id == user.pk and c is not None), None)
    if crs is None:
        crs = acting_force_crs(user)
    if crs is None:
        raise PatrolRecordError(
            "your account is not attached to a police force on this installation, so a ping cannot be "
            "located; ask an administrator to set your force"
        )
    xs, ys = lonlat_to_projected(
        np.array([p.lon for p in pings], dtype=np.float64),
        np.array([p.lat for p in pings], dtype=np.float64),
        crs=crs,
    )
    if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        raise PatrolRecordError(
            "a ping's position cannot be projected; send longitude and latitude in degrees"
        )
    return xs, ys


# --- visit end and form -------------------------------------------------------------------------------


def _crew(user: Any, ids: Sequence[int]) -> list[int]:
    wanted = sorted({int(i) for i in ids})
    if len(wanted) > MAX_CREW:
        raise PatrolRecordError(f"crewed with: at most {MAX_CREW} colleagues")
    if user.pk in wanted:
        raise PatrolRecordError("crewed with: do not pick yourself")
    found = set(
        get_user_model()
        .objects.filter(pk__in=wanted, is_active=True, groups__name=OFFICER)
        .values_list("pk", flat=True)
    )
    missing = [i for i in wanted if i not in found]
    if missing:
        raise PatrolRecordError(f"crewed with: {missing} are not officer accounts", field="crewed_with")
    return wanted


def visit_end(
    *,
    user: Any,
    client_id: uuid.UUID,
    visit_id: uuid.UUID,
    ended_at: datetime,
    device_sent_at: datetime,
    spoken_to: int,
    searched: int,
    arrested: int,
    crewed_with: Sequence[int] = (),
    note: str = "",
    device_id: uuid.UUID | None = None,
    seq: int = 0,
    received_at: datetime | None = None,
) -> Outcome:
    """End a visit with its form (P6) and compute its dose from the pings, in one transaction."""
    officer_required(user)
    received_at = received_at or clock.now()
    for name, value in (("spoken_to", spoken_to), ("searched", searched), ("arrested", arrested)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise PatrolRecordError(f"{name} must be a whole number, 0 or more", field=name)
    crew = _crew(user, crewed_with)
    digest = payload_sha256(
        {
            "visit_id": visit_id,
            "ended_at": ended_at,
            "spoken_to": spoken_to,
            "searched": searched,
            "arrested": arrested,
            "crewed_with": crew,
            "note": note,
            "device_id": device_id,
            "seq": seq,
        }
    )

    def work() -> Outcome:
        visit = Visit.objects.select_for_update().filter(visit_id=visit_id, officer=user).first()
        if visit is None:
            raise VisitUnknown(f"visit {visit_id} is not known yet: send its start record first")
        if visit.status == Visit.Status.ENDED:
            raise RecordConflict(f"visit {visit_id} was already ended by another record")
        visit.status = Visit.Status.ENDED
        visit.end_client_id = client_id
        visit.ended_at = ended_at
        visit.end_received_at = received_at
        visit.spoken_to, visit.searched, visit.arrested = spoken_to, searched, arrested
        visit.note = note
        visit.save()
        visit.crewed_with.set(crew)
        visit_dose_compute(visit=visit)
        return Outcome(200, visit_body(visit))

    return _idempotent(
        user=user,
        kind=SyncRecord.Kind.VISIT_END,
        client_id=client_id,
        digest=digest,
        received_at=received_at,
        work=work,
    )


# --- dose ---------------------------------------------------------------------------------------------


def visit_dose_compute(*, visit: Visit, params: DoseParams = DOSE_PARAMS) -> Visit:
    """Dose, entry, exit and mode of a visit from its stored pings (docs/methods.md §6.3), saved on the visit."""
    rows = list(
        Ping.objects.filter(visit_id=visit.visit_id, officer_id=visit.officer_id).values_list(
            "seq", "fix_time", "device_sent_at", "received_at", "x", "y", "accuracy_m", "speed_mps"
        )
    )
    visit.n_pings = len(rows)
    visit.dose_minutes, visit.entry_at, visit.exit_at, visit.n_segments = 0.0, None, None, 0
    visit.n_flagged_pings = 0
    visit.mode = Visit.Mode.NONE
    if rows:
        frame = pd.DataFrame(
            rows,
            columns=[
                "seq",
                "fix_time",
                "device_now_at_send",
                "received_at",
                "x",
                "y",
                "accuracy_m",
                "speed_mps",
            ],
        )
        for column in ("fix_time", "device_now_at_send", "received_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        offset = (frame["received_at"] - frame["device_now_at_send"]).median()
        visit.clock_offset_s = float(offset.total_seconds())
        flags = correct_clock(frame)
        visit.n_flagged_pings = int(
            (flags[["flag_offset", "flag_future", "flag_seq", "flag_speed"]].any(axis=1)).sum()
        )
        track = pd.DataFrame(
            {
                "fix_time": frame["fix_time"] + offset,
                "x": frame["x"].astype(float),
                "y": frame["y"].astype(float),
                "accuracy_m": pd.to_numeric(frame["accuracy_m"], errors="coerce"),
            }
        )
        if frame["speed_mps"].notna().any():
            track["speed_mps"] = pd.to_numeric(frame["speed_mps"], errors="coerce")
        geofence = shapely.from_geojson(visit.hotspot.geofence_geojson)
        found = find_visits(track, geofence, params=params)
        if not found.empty:
            visit.dose_minutes = float(found["minutes"].sum())
            visit.entry_at = found["start"].min().to_pydatetime()
            visit.exit_at = found["end"].max().to_pydatetime()
            visit.n_segments = len(found)
            by_mode = found.groupby("mode")["minutes"].sum()
            visit.mode = str(by_mode.idxmax()) if by_mode.max() > 0 else str(found["mode"].iloc[0])
    visit.dose_computed_at = clock.now()
    visit.save(
        update_fields=[
            "n_pings",
            "dose_minutes",
            "entry_at",
            "exit_at",
            "n_segments",
            "mode",
            "n_flagged_pings",
            "clock_offset_s",
            "dose_computed_at",
        ]
    )
    return visit


# --- briefing -----------------------------------------------------------------------------------------


def briefing_update(
    *,
    user: Any,
    hotspot_id: int,
    background: str = "",
    tasks: str = "",
    contact_name: str = "",
    contact_details: str = "",
) -> HotSpotBriefing:
    """Set the analyst's briefing of a hot spot (analysts, supervisors and administrators)."""
    from django.core.exceptions import PermissionDenied

    from rasure_web.accounts.roles import ADMIN, ANALYST, SUPERVISOR

    if not has_role(user, ANALYST, SUPERVISOR, ADMIN):
        raise PermissionDenied("Only analysts, supervisors and administrators edit briefings.")
    briefing, _ = HotSpotBriefing.objects.update_or_create(
        hotspot_id=hotspot_id,
        defaults={
            "background": background,
            "tasks": tasks,
            "contact_name": contact_name,
            "contact_details": contact_details,
            "updated_by": user,
        },
    )
    return briefing


# --- untasked presence (AVLS, P8) ---------------------------------------------------------------------


def avls_import(
    *, path: str | Path, mapping: AvlsMapping | None = None, force: str | None = None
) -> AvlsImport:
    """Read an AVLS / radio location CSV and store presence in every hot spot, treated or control.

    Hot spots: those of the force's (``force``: its code, default the only force) current analysis run
    and of its trial running now. All-or-nothing; a file
    already imported (same SHA-256) is not imported twice — its earlier import is returned.
    ``mapping`` gives the export's own column names, CRS and time zone.
    """
    tenant = resolve_force(force)
    crs = force_crs(tenant)  # the pings are located in the force's CRS, as its hot spots are
    if mapping is None:
        avls = read_avls(path, crs=crs)
    else:
        avls = read_avls(
            path, crs=mapping.crs, naive_tz=mapping.naive_tz, columns=mapping.columns, to_crs=crs
        )
    existing = AvlsImport.objects.filter(sha256=avls.sha256).first()
    if existing is not None:
        return existing
    now = clock.now()
    ids = set(HotSpot.objects.filter(run__is_current=True, run__tenant=tenant).values_list("pk", flat=True))
    ids |= set(hotspot_arms_at(when=now, force_id=tenant.pk) or {})
    geometries = {
        pk: shapely.from_geojson(text)
        for pk, text in HotSpot.objects.filter(pk__in=ids).values_list("pk", "geofence_geojson")
    }
    presence = presence_in_hotspots(avls.pings, geometries)
    days: dict[datetime, date] = {}

    def trial_day(start: datetime) -> date:
        if start not in days:
            days[start] = patrol_rules_at(when=start, force_id=tenant.pk).trial_day
        return days[start]

    with transaction.atomic():
        record = AvlsImport.objects.create(
            tenant=tenant,
            path=str(avls.path)[:500],
            sha256=avls.sha256,
            rows_read=avls.rows_read,
            officers=int(avls.pings["officer"].nunique()),
            visits=len(presence),
        )
        AvlsPresence.objects.bulk_create(
            [
                AvlsPresence(
                    source=record,
                    hotspot_id=int(row.hotspot_id),
                    officer=str(row.officer)[:100],
                    trial_day=trial_day(row.start.to_pydatetime()),
                    start=row.start.to_pydatetime(),
                    end=row.end.to_pydatetime(),
                    minutes=float(row.minutes),
                    n_fixes=int(row.n_fixes),
                    mode=str(row.mode),
                )
                for row in presence.itertuples()
            ]
        )
    return record
