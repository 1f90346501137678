"""Tasked vs untasked presence per hot spot, day and officer: app visits beside AVLS / radio presence.

The rule is :mod:`rasure.patrol.tasked` (AVLS minutes split by their overlap with a tasked visit of the
same person at the same hot spot). Here the two sides are read from the database and put on one clock:

- **Who.** An AVLS row names an officer or call sign as written in the file. It is the app user whose
  profile collar number equals it (when exactly one profile has it), else the user whose username equals
  it; anything else (a vehicle call sign, say) matches nobody and is untasked presence with no officer.
- **Tasked windows.** A visit covers from the officer's Start to their End (device clock, moved onto the
  server clock by the visit's measured ``clock_offset_s``, as its dose is); a visit not ended yet covers up
  to its last exit from the geofence when known, otherwise nothing. The window belongs to the visiting
  officer and to every officer crewed with them.
- **Days.** Presence belongs to its ``trial_day`` (the trial day on which it started, as stored on import).

Every figure here is read, never stored: re-importing AVLS or ending a visit changes it at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from django.contrib.auth import get_user_model
from django.db.models import Count

from rasure.patrol.tasked import split_tasked
from rasure_web.accounts.models import Profile
from rasure_web.patrols.models import AvlsPresence, Visit


@dataclass(frozen=True)
class PresenceRow:
    """AVLS presence of one person at one hot spot on one day, split into tasked and untasked minutes."""

    hotspot_id: int
    trial_day: dt.date
    identity: str
    user_id: int | None
    tasked_minutes: float
    untasked_minutes: float


def avls_identities(identities: set[str], *, force_id: int | None = None) -> dict[str, int]:
    """AVLS officer / call sign → app user id, by the collar-number-then-username rule above (collar
    numbers among the profiles of force ``force_id`` when given: they are unique only within a force)."""
    if not identities:
        return {}
    found: dict[str, int] = {}
    profiles = Profile.objects.filter(force_id=force_id) if force_id else Profile.objects.all()
    by_collar = (
        profiles.filter(collar_number__in=identities)
        .values("collar_number")
        .annotate(n=Count("id"))
        .filter(n=1)
        .values_list("collar_number", flat=True)
    )
    for collar, uid in profiles.filter(collar_number__in=list(by_collar)).values_list(
        "collar_number", "user_id"
    ):
        found[collar] = uid
    rest = identities - set(found)
    for username, uid in get_user_model().objects.filter(username__in=rest).values_list("username", "id"):
        found[username] = uid
    return found


def tasked_windows(*, first: dt.date, last: dt.date, force_id: int | None = None) -> pd.DataFrame:
    """One row per person per visit with trial day in ``first``…``last`` (±1 day for visits past midnight),
    to the hot spots of force ``force_id`` when given."""
    rows: list[dict[str, object]] = []
    visits = (
        (Visit.objects.filter(hotspot__run__tenant_id=force_id) if force_id else Visit.objects)
        .filter(trial_day__gte=first - dt.timedelta(days=1), trial_day__lte=last + dt.timedelta(days=1))
        .prefetch_related("crewed_with")
    )
    for v in visits:
        offset = dt.timedelta(seconds=v.clock_offset_s)
        start = v.started_at + offset
        if v.ended_at is not None:
            end = v.ended_at + offset
        elif v.exit_at is not None:
            end = v.exit_at
        else:
            continue
        if end < start:
            continue
        for person in {v.officer_id, *(u.pk for u in v.crewed_with.all())}:
            rows.append({"hotspot_id": v.hotspot_id, "person": person, "start": start, "end": end})
    return pd.DataFrame(rows, columns=["hotspot_id", "person", "start", "end"])


def presence_split(*, first: dt.date, last: dt.date, force_id: int | None = None) -> list[PresenceRow]:
    """AVLS presence with trial day in ``first``…``last``, tasked and untasked minutes per hot spot, day, person,
    in the hot spots of force ``force_id`` when given (else every force's)."""
    presence = (
        AvlsPresence.objects.filter(hotspot__run__tenant_id=force_id) if force_id else AvlsPresence.objects
    )
    rows = list(
        presence.filter(trial_day__gte=first, trial_day__lte=last).values_list(
            "hotspot_id", "trial_day", "officer", "start", "end", "minutes"
        )
    )
    if not rows:
        return []
    frame = pd.DataFrame(rows, columns=["hotspot_id", "trial_day", "identity", "start", "end", "minutes"])
    who = avls_identities(set(frame["identity"]), force_id=force_id)
    # an identity matching nobody gets a person key no user id can equal
    frame["person"] = [who.get(i, f"avls:{i}") for i in frame["identity"]]
    split = split_tasked(frame, tasked_windows(first=first, last=last, force_id=force_id))
    grouped = split.groupby(["hotspot_id", "trial_day", "identity"], sort=True)[
        ["tasked_minutes", "untasked_minutes"]
    ].sum()
    return [
        PresenceRow(
            hotspot_id=int(h),
            trial_day=day,
            identity=str(identity),
            user_id=who.get(str(identity)),
            tasked_minutes=float(r.tasked_minutes),
            untasked_minutes=float(r.untasked_minutes),
        )
        for (h, day, identity), r in grouped.iterrows()
    ]
