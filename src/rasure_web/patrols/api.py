"""The patrol JSON API (mounted at /api/patrol/). Session auth with CSRF; officers only.

Thin: parse (schemas) → one selector or service → schema. Errors: 401 not signed in, 403 not an officer
or CSRF failed, 404 unknown or not on today's list, 409 a record id reused with other content or no
patrol slot left, 422 invalid input.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.security import SessionAuth

from rasure_web.accounts.access import access_log_record
from rasure_web.patrols import selectors, services
from rasure_web.patrols.schemas import (
    BriefingOut,
    ColleagueOut,
    ErrorOut,
    NearestOut,
    NearestQuery,
    PingsIn,
    PingsOut,
    RecordsStatusIn,
    RecordsStatusOut,
    TodayOut,
    VisitEndIn,
    VisitOut,
    VisitStartIn,
)

try:  # django-ninja ≥ 1.5; earlier versions take a (status, body) tuple
    from ninja import Status
except ImportError:  # pragma: no cover
    Status = None  # type: ignore[assignment,misc]

router = Router(auth=SessionAuth(), tags=["patrol"])


def _answer(status: int, body: Any) -> Any:
    return Status(status, body) if Status is not None else (status, body)


READ_ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    415: ErrorOut,
    422: ErrorOut,
}


def _error(exc: services.PatrolRecordError) -> Any:
    return _answer(exc.status, {"detail": str(exc), "code": exc.code, **exc.extra})


def _key_matches(request: HttpRequest, client_id: uuid.UUID) -> bool:
    key = request.headers.get("Idempotency-Key")
    return key is None or key.strip().lower() == str(client_id)


@router.get("/today", response={200: TodayOut, **READ_ERRORS}, summary="Today's patrol rules")
def today(request: HttpRequest) -> Any:
    return selectors.patrol_today(user=request.auth)


@router.get(
    "/hotspots/nearest",
    response={200: NearestOut, **READ_ERRORS},
    summary="Today's treated hot spots nearest to a position (control and capped ones left out)",
)
def hotspots_nearest(request: HttpRequest, query: Query[NearestQuery]) -> Any:
    result = selectors.hotspots_nearest(
        user=request.auth, lat=query.lat, lon=query.lon, limit=query.limit, exclude=query.exclude
    )
    rules = result.rules
    return {
        "server_time": result.when,
        "trial_day": rules.trial_day,
        "trial_running": result.trial_running,
        "target_minutes": rules.target_dose.total_seconds() / 60,
        "cap_per_day": rules.cap_per_day,
        "cap_per_week": rules.cap_per_week,
        "n_treated": result.n_treated,
        "n_capped": result.n_capped,
        "hotspots": result.hotspots,
    }


@router.get(
    "/hotspots/{hotspot_id}/briefing",
    response={200: BriefingOut, 404: ErrorOut, **READ_ERRORS},
    summary="Briefing of a hot spot on today's list: why it is hot, background, tasks, contact",
)
def hotspot_briefing(request: HttpRequest, hotspot_id: int) -> Any:
    try:
        body = selectors.hotspot_briefing(user=request.auth, hotspot_id=hotspot_id)
    except selectors.HotSpotNotAvailable:
        return _answer(404, {"detail": "This hot spot is not on today's patrol list.", "code": "not_listed"})
    access_log_record(
        user=request.auth,
        action="view",
        resource="briefing_contact",
        object_ref=str(hotspot_id),
        request=request,
    )
    return body


@router.get("/colleagues", response={200: list[ColleagueOut], **READ_ERRORS}, summary="Officers to crew with")
def colleagues(request: HttpRequest) -> Any:
    body = selectors.colleagues_list(user=request.auth)
    access_log_record(
        user=request.auth,
        action="view",
        resource="colleagues",
        detail=f"{len(body)} officers",
        request=request,
    )
    return body


@router.post(
    "/visits/start",
    response={200: VisitOut, **WRITE_ERRORS},
    summary="Start a visit (takes a patrol slot); idempotent on client_id",
)
def visit_start(request: HttpRequest, payload: VisitStartIn) -> Any:
    if not _key_matches(request, payload.client_id):
        return _answer(400, {"detail": "Idempotency-Key differs from client_id", "code": "bad_key"})
    try:
        outcome = services.visit_start(
            user=request.auth,
            client_id=payload.client_id,
            visit_id=payload.visit_id,
            hotspot_id=payload.hotspot_id,
            started_at=payload.started_at,
            device_sent_at=payload.device_sent_at,
            device_id=payload.device_id,
            seq=payload.seq,
            offline_start=payload.offline_start,
        )
    except services.PatrolRecordError as exc:
        return _error(exc)
    return _answer(outcome.status, outcome.body)


@router.post(
    "/pings",
    response={200: PingsOut, **WRITE_ERRORS},
    summary="A batch of GPS pings; each idempotent on its client_id, the batch all or nothing",
)
def pings(request: HttpRequest, payload: PingsIn) -> Any:
    try:
        outcome = services.pings_record(
            user=request.auth,
            pings=[services.PingData(**p.model_dump()) for p in payload.pings],
            device_sent_at=payload.device_sent_at,
            device_id=payload.device_id,
        )
    except services.PatrolRecordError as exc:
        return _error(exc)
    return _answer(outcome.status, outcome.body)


@router.post(
    "/visits/end",
    response={200: VisitOut, **WRITE_ERRORS},
    summary="End a visit with the form; the server computes the dose; idempotent on client_id",
)
def visit_end(request: HttpRequest, payload: VisitEndIn) -> Any:
    if not _key_matches(request, payload.client_id):
        return _answer(400, {"detail": "Idempotency-Key differs from client_id", "code": "bad_key"})
    try:
        outcome = services.visit_end(
            user=request.auth,
            client_id=payload.client_id,
            visit_id=payload.visit_id,
            ended_at=payload.ended_at,
            device_sent_at=payload.device_sent_at,
            device_id=payload.device_id,
            seq=payload.seq,
            spoken_to=payload.spoken_to,
            searched=payload.searched,
            arrested=payload.arrested,
            crewed_with=payload.crewed_with,
            note=payload.note,
        )
    except services.PatrolRecordError as exc:
        return _error(exc)
    return _answer(outcome.status, outcome.body)


@router.get(
    "/visits/{visit_id}",
    response={200: VisitOut, 404: ErrorOut, **READ_ERRORS},
    summary="One of your visits as the server holds it (dose and mode from the pings)",
)
def visit_detail(request: HttpRequest, visit_id: uuid.UUID) -> Any:
    body = selectors.visit_detail(user=request.auth, visit_id=visit_id)
    if body is None:
        return _answer(404, {"detail": "No such visit of yours.", "code": "visit_unknown"})
    access_log_record(
        user=request.auth, action="view", resource="visit", object_ref=str(visit_id), request=request
    )
    return body


@router.post(
    "/records/status",
    response={200: RecordsStatusOut, **WRITE_ERRORS},
    summary="Which of these record ids the server holds (outbox reconciliation)",
)
def records_status(request: HttpRequest, payload: RecordsStatusIn) -> Any:
    return selectors.records_held(user=request.auth, client_ids=payload.client_ids)
