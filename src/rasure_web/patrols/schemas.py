"""Typed request and response schemas of the patrol API (they make the OpenAPI document)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AfterValidator, AwareDatetime

MAX_ID = 2_147_483_647  # ids are 32-bit integers in every supported database
MAX_SEQ = 2**62


def _plausible(value: datetime) -> datetime:
    # Phones' clocks can be years out (docs/reliability.md §2.3), so this is wide; it only keeps arithmetic
    # on the value from overflowing.
    if not 1990 <= value.year <= 2200:
        raise ValueError("time is not plausible (year must be 1990–2200)")
    return value


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


Time = Annotated[AwareDatetime, AfterValidator(_plausible)]
Id = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]
Count = Annotated[int, Field(ge=0, le=10_000, strict=True)]
# Strict: a JSON true is not the number 1, nor a string a number (lax coercion would accept both).
Latitude = Annotated[float, Field(ge=-90, le=90, strict=True)]
Longitude = Annotated[float, Field(ge=-180, le=180, strict=True)]
Flag = Annotated[bool, Field(strict=True)]
SeqNo = Annotated[int, Field(ge=0, le=MAX_SEQ, strict=True)]


class ErrorOut(Schema):
    detail: Any = Field(..., description="what was wrong, in words (or the list of invalid fields)")
    code: str | None = Field(
        None, description="conflict, cap_reached, not_tasked, visit_unknown, invalid_record …"
    )
    conflicts: list[str] | None = Field(None, description="client ids already held with other content")
    visit_id: str | None = None
    field: str | None = None


class TodayOut(Schema):
    username: str
    display_name: str
    server_time: datetime
    trial_day: date
    trial_id: int | None
    target_minutes: float
    cap_per_day: int
    cap_per_week: int | None
    ping_interval_s: int


class NearestQuery(Schema):
    # Query strings are text: these fields are converted, not strict.
    lat: float = Field(..., ge=-90, le=90, description="the officer's latitude, WGS84 degrees")
    lon: float = Field(..., ge=-180, le=180, description="the officer's longitude, WGS84 degrees")
    limit: int = Field(10, ge=1, le=50)
    exclude: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=list, max_length=50, description="hot spot ids to leave out"
    )


class NearestHotSpotOut(Schema):
    id: int
    code: str
    name: str
    period: str
    summary: str = Field(..., description="the first 'why it is hot' fact")
    lat: float
    lon: float
    distance_m: float
    visits_today: int


class NearestOut(Schema):
    server_time: datetime
    trial_day: date
    trial_running: bool = Field(
        ..., description="false: no committed trial today, every current hot spot shown"
    )
    target_minutes: float
    cap_per_day: int
    cap_per_week: int | None
    n_treated: int = Field(..., description="hot spots on today's list before caps")
    n_capped: int = Field(..., description="of those, at their cap (not listed)")
    hotspots: list[NearestHotSpotOut]


class OffenceShare(Schema):
    offence: str
    share: float


class BriefingOut(Schema):
    id: int
    code: str
    name: str
    period: str
    lat: float
    lon: float
    plain_facts: list[str] = Field(
        ..., description="why it is hot, in plain words for officers (no statistics; docs/style-guide.md)"
    )
    facts: list[str] = Field(
        ..., description="why it is hot, with the analyst's figures (harm, Gi*, endurance)"
    )
    main_offences: list[OffenceShare]
    background: str
    tasks: list[str]
    contact_name: str
    contact_details: str
    updated_at: datetime | None
    geofence: dict[str, Any] = Field(..., description="GeoJSON polygon, WGS84 lon/lat")
    target_minutes: float
    cap_per_day: int


class ColleagueOut(Schema):
    id: int
    username: str
    name: str
    collar_number: str = Field("", description="collar number in the force; empty when not known")
    team: str = Field("", description="team name; empty when not known")


class VisitStartIn(Schema):
    client_id: uuid.UUID = Field(..., description="UUID of this record (idempotency key)")
    visit_id: uuid.UUID = Field(..., description="UUID of the visit; pings and the end record name it")
    hotspot_id: Id
    started_at: Time = Field(..., description="device clock when Start was pressed")
    device_sent_at: Time = Field(..., description="device clock when this request was sent")
    device_id: uuid.UUID | None = None
    seq: SeqNo = Field(0, description="per-device record sequence number")
    offline_start: Flag = Field(
        False, description="started while offline: stored even when the cap is reached"
    )


class VisitOut(Schema):
    visit_id: uuid.UUID
    hotspot_id: int
    status: str
    trial_day: date
    slot: bool = Field(..., description="took a patrol slot within the cap")
    offline_start: bool
    target_minutes: float
    started_at: datetime
    ended_at: datetime | None
    dose_minutes: float = Field(..., description="minutes inside the geofence, computed from the pings")
    entry_at: datetime | None
    exit_at: datetime | None
    mode: str = Field(..., description="foot, stopped, drive_through, unknown, none; empty until ended")
    n_pings: int
    target_met: bool


class PingIn(Schema):
    client_id: uuid.UUID
    visit_id: uuid.UUID
    seq: SeqNo
    fix_time: Time = Field(..., description="the position's timestamp (device clock)")
    lat: Latitude
    lon: Longitude
    accuracy_m: Annotated[float, Field(ge=0, le=100_000, strict=True)] | None = None
    speed_mps: Annotated[float, Field(ge=0, le=1_000, strict=True)] | None = None


class PingsIn(Schema):
    device_sent_at: Time
    device_id: uuid.UUID | None = None
    pings: list[PingIn] = Field(..., min_length=1, max_length=500)


class PingsOut(Schema):
    stored: int
    duplicates: int
    recomputed: list[str] = Field(..., description="ended visits whose dose was computed again")
    received_at: datetime


class VisitEndIn(Schema):
    client_id: uuid.UUID
    visit_id: uuid.UUID
    ended_at: Time
    device_sent_at: Time
    device_id: uuid.UUID | None = None
    seq: SeqNo = 0
    spoken_to: Count = Field(..., description="people spoken to (a whole number, 0 or more)")
    searched: Count
    arrested: Count
    crewed_with: list[Id] = Field(default_factory=list, max_length=12, description="officer account ids")
    note: Annotated[str, AfterValidator(_no_nul)] = Field(
        "", max_length=2000, description="free text; no names or details of members of the public"
    )


class RecordsStatusIn(Schema):
    client_ids: list[uuid.UUID] = Field(..., min_length=1, max_length=1000)


class RecordsStatusOut(Schema):
    held: list[str]
    missing: list[str]
    server_time: datetime
