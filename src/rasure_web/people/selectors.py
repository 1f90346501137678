"""Reads for the hot-people pages. Every selector takes the acting user and checks access here.

Who may see named people: an analyst or supervisor who has been granted the ``people.intelligence``
permission explicitly (on the account or one of its groups; being a superuser is not enough).
Officers and partners never see people. Analysts and supervisors without the permission see how many
people are on each list, never who. The views log every look at a named person (s.62), with the
reason the user gave.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import shapely
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone

from rasure import people as core
from rasure.errors import ConfigError
from rasure_web.accounts.roles import ANALYST, PARTNER, SUPERVISOR, has_role
from rasure_web.accounts.tenancy import acting_force_id
from rasure_web.analysis.models import AnalysisRun
from rasure_web.crimes.models import Area, CrimePersonLink, Person
from rasure_web.people.models import PersonReview

PEOPLE_ROLES = (ANALYST, SUPERVISOR)

#: Why a person's data is looked at: one tap, recorded with every view and export.
REASONS = {
    "plan": "Problem-solving plan for this person",
    "safeguarding": "Safeguarding a victim",
    "tasking": "Tasking or briefing decision",
    "investigation": "Investigating a crime",
    "review": "Reviewing a listing (keep or remove)",
    "audit": "Data protection or oversight audit",
}


def rules() -> core.Rules:
    """The rules in force: the defaults in :class:`rasure.people.Rules`, overridden by the
    ``RASURE_PEOPLE_RULES`` setting (a dict of field names to values)."""
    overrides = dict(getattr(settings, "RASURE_PEOPLE_RULES", {}) or {})
    for key in ("police_discovered_codes", "knife_codes"):
        if key in overrides:
            overrides[key] = frozenset(overrides[key])
    try:
        return core.Rules(**overrides)
    except TypeError as exc:
        raise ConfigError(
            f"RASURE_PEOPLE_RULES: {exc}. The names are the fields of rasure.people.Rules."
        ) from exc


def has_intelligence(user: Any) -> bool:
    """Explicitly granted, to the account or one of its groups (a superuser does not have it by default)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    perm = Permission.objects.filter(content_type__app_label="people", codename="intelligence")
    return perm.filter(Q(user=user) | Q(group__user=user)).exists()


def may_see_aggregates(user: Any) -> bool:
    return has_role(user, *PEOPLE_ROLES) and not has_role(user, PARTNER)


def may_see_people(user: Any) -> bool:
    return may_see_aggregates(user) and has_intelligence(user)


def require_aggregates(user: Any) -> None:
    if not may_see_aggregates(user):
        raise PermissionDenied(
            "Hot people are for analysts and supervisors of the force only: officers and partner "
            "organisations never see them."
        )


def require_people(user: Any) -> None:
    require_aggregates(user)
    if not has_intelligence(user):
        raise PermissionDenied(
            "Named people need the 'intelligence' permission, granted to your account on purpose. "
            "Without it you see the number of people on each list, not who they are."
        )


def reason_text(code: str) -> str | None:
    return REASONS.get(code)


# ---------------------------------------------------------------------------------------- loading


def _day(when: datetime | None) -> date | None:
    return None if when is None else timezone.localtime(when).date()


_LINK_FIELDS = (
    "person__person_id",
    "role",
    "record__reference",
    "record__occurred_from",
    "record__offence_code",
    "record__offence_description",
    "record__category",
    "record__harm_days",
    "record__weapon",
    "record__knife_enabled",
    "record__domestic",
)


def _involvement(row: Sequence[Any], days: dict[datetime, date]) -> core.Involvement | None:
    """An involvement from a row of :data:`_LINK_FIELDS`' values (None for a crime without a date);
    ``days`` keeps each time's local day, converted once per distinct time (a crime's people share it)."""
    pid, role, reference, when, code, description, category, harm, weapon, knife, domestic = row
    if when is None:
        return None
    day = days.get(when)
    if day is None:
        day = days[when] = timezone.localtime(when).date()
    return core.Involvement(
        person_id=pid,
        role=role,
        reference=reference,
        occurred=day,
        offence_code=code or "",
        offence=description or category or "",
        harm_days=harm,
        knife=bool(knife) or weapon == "knife",
        domestic=bool(domestic),
    )


def _involvements(
    *, as_of: date, r: core.Rules, person_ids: list[str] | None = None, tenant: int | None = None
) -> list[core.Involvement]:
    """Involvements in crimes of one force (``tenant``; None: no force, so none)."""
    window = max(r.harm_window_days, r.knife_window_days, r.repeat_window_days, r.overlap_window_days)
    since = timezone.make_aware(datetime.combine(as_of - timedelta(days=window + 1), datetime.min.time()))
    qs = CrimePersonLink.objects.filter(
        record__occurred_from__gte=since, record__tenant_id=tenant, person__tenant_id=tenant
    )
    if person_ids is not None:
        qs = qs.filter(person__person_id__in=person_ids)
    days: dict[datetime, date] = {}
    rows = qs.values_list(*_LINK_FIELDS).iterator(chunk_size=5000)
    return [i for i in (_involvement(row, days) for row in rows) if i is not None]


def involvements(*, user: Any, as_of: date) -> list[core.Involvement]:
    """Every person's involvements in the rules' windows up to ``as_of`` (what the lists are built from)."""
    require_people(user)
    return _involvements(as_of=as_of, r=rules(), tenant=acting_force_id(user))


def _latest_reviews(person_ids: list[str] | None = None, *, tenant: int | None) -> dict[str, core.Review]:
    """The latest review of each of the force's people (by the force's person id)."""
    qs = PersonReview.objects.filter(person__tenant_id=tenant).order_by(
        "person_id", "-reviewed_on", "-reviewed_at", "-pk"
    )
    if person_ids is not None:
        qs = qs.filter(person__person_id__in=person_ids)
    out: dict[str, core.Review] = {}
    for pid, on, decision in qs.values_list("person__person_id", "reviewed_on", "decision"):
        out.setdefault(pid, core.Review(on, keep=decision == PersonReview.Decision.KEEP))
    return out


def _people_in_area(area_code: str, tenant: int | None = None) -> set[str] | None:
    if not area_code:
        return None
    lsoas = Area.objects.filter(
        kind=Area.Kind.NEIGHBOURHOOD, parent__code=area_code, tenant_id=tenant
    ).values_list("code", flat=True)
    return set(
        CrimePersonLink.objects.filter(
            record__lsoa_code__in=list(lsoas), record__tenant_id=tenant
        ).values_list("person__person_id", flat=True)
    )


# ------------------------------------------------------------------------------------------ lists


@dataclass(frozen=True)
class ListRow:
    entry: core.Entry
    person_pk: int
    display_name: str
    synthetic: bool


@dataclass(frozen=True)
class PeopleList:
    kind: core.ListKind
    title: str
    as_of: date
    rows: list[ListRow]
    harm_share: float | None
    overdue: bool = False


def _area_involvements(*, as_of: date, area_code: str, tenant: int | None = None) -> list[core.Involvement]:
    invs = _involvements(as_of=as_of, r=rules(), tenant=tenant)
    inside = _people_in_area(area_code, tenant)
    return invs if inside is None else [i for i in invs if i.person_id in inside]


def people_list(
    *, user: Any, kind: str, as_of: date, area_code: str = "", search: str = "", overdue: bool = False
) -> PeopleList:
    """One list of named people (see :func:`rasure.people.build_list`), optionally for one area,
    narrowed to ids or names containing ``search``; ``overdue`` gives the entries past their review date."""
    require_people(user)
    k = core.ListKind(kind)
    invs = _area_involvements(as_of=as_of, area_code=area_code, tenant=acting_force_id(user))
    tenant = acting_force_id(user)
    reviews = _latest_reviews(tenant=tenant)
    entries = core.build_list(k, invs, as_of=as_of, rules=rules(), reviews=reviews, overdue=overdue)
    persons = {
        p.person_id: p
        for p in Person.objects.filter(tenant_id=tenant, person_id__in=[e.person_id for e in entries])
    }
    rows = [
        ListRow(e, persons[e.person_id].pk, persons[e.person_id].display_name, persons[e.person_id].synthetic)
        for e in entries
        if e.person_id in persons
    ]
    if search:
        s = search.casefold()
        rows = [
            row for row in rows if s in row.entry.person_id.casefold() or s in row.display_name.casefold()
        ]
    share = (
        core.harm_share(entries, invs, as_of=as_of, rules=rules())
        if k == core.ListKind.HARM and not overdue
        else None
    )
    return PeopleList(k, core.LIST_TITLES[k], as_of, rows, share, overdue)


def list_counts(*, user: Any, as_of: date, area_code: str = "") -> dict[str, int]:
    """How many people are on each list: aggregates, no one named (for analysts without the permission)."""
    require_aggregates(user)
    r = rules()
    invs = _area_involvements(as_of=as_of, area_code=area_code, tenant=acting_force_id(user))
    reviews = _latest_reviews(tenant=acting_force_id(user))
    return {
        k.value: len(core.build_list(k, invs, as_of=as_of, rules=r, reviews=reviews)) for k in core.ListKind
    }


# ----------------------------------------------------------------------------------------- person


@dataclass(frozen=True)
class PersonView:
    person: Person
    timeline: list[dict[str, Any]]
    entries: list[dict[str, Any]]
    co_offenders: list[dict[str, Any]]
    hotspots: list[dict[str, Any]]
    reviews: list[PersonReview]
    plan: Any
    role_counts: dict[str, int]


def person_detail(*, user: Any, pk: int, as_of: date) -> PersonView:
    """Everything the person page shows: history (victim and offender roles apart), linked crimes and
    places, hot spots touched, co-offenders, list entries with reasons and review dates, reviews, plan."""
    require_people(user)
    tenant = acting_force_id(user)
    person = Person.objects.filter(pk=pk, tenant_id=tenant).first()
    if person is None:
        from django.http import Http404

        raise Http404(f"no person {pk} in this force's records")
    links = list(
        CrimePersonLink.objects.filter(person=person, record__tenant_id=tenant)
        .select_related("record")
        .order_by("-record__occurred_from", "record__reference")
    )
    timeline = [
        {
            "date": _day(link.record.occurred_from),
            "role": link.role,
            "reference": link.record.reference,
            "offence": link.record.offence_description
            or link.record.category
            or link.record.offence_code
            or "",
            "offence_code": link.record.offence_code or "",
            "place": link.record.location_text or link.record.lsoa_name or "",
            "harm_days": link.record.harm_days,
            "knife": link.record.knife_enabled or link.record.weapon == "knife",
            "domestic": link.record.domestic,
            "easting": link.record.easting,
            "northing": link.record.northing,
        }
        for link in links
    ]
    r = rules()
    days: dict[datetime, date] = {}
    own = (_involvement(_link_row(link, person.person_id), days) for link in links)
    invs = [i for i in own if i is not None]
    review = _latest_reviews([person.person_id], tenant=tenant).get(person.person_id)
    entries = []
    for kind, entry in core.entries_for_person(invs, as_of=as_of, rules=r, review=review).items():
        entries.append(
            {
                "kind": kind.value,
                "title": core.LIST_TITLES[kind],
                "entry": entry,
                "current": core.is_current(entry.last_event, review, as_of=as_of, rules=r),
            }
        )
    if not links:  # a person known only to another force's records is not this force's to see
        from django.http import Http404

        raise Http404(f"no person {pk} in this force's records")
    offending = [link.record_id for link in links if link.role != CrimePersonLink.Role.VICTIM]
    co = (
        CrimePersonLink.objects.filter(record_id__in=offending)
        .exclude(person=person)
        .exclude(role=CrimePersonLink.Role.VICTIM)
        .values_list("person__pk", "person__person_id", "person__display_name", "record__reference")
    )
    together: dict[tuple[int, str, str], list[str]] = {}
    for ppk, pid, name, ref in co:
        together.setdefault((ppk, pid, name), []).append(ref)
    co_offenders = [
        {"pk": k[0], "person_id": k[1], "name": k[2], "crimes": sorted(set(v))}
        for k, v in sorted(together.items(), key=lambda kv: (-len(kv[1]), kv[0][1]))
    ]
    return PersonView(
        person=person,
        timeline=timeline,
        entries=entries,
        co_offenders=co_offenders,
        hotspots=_hotspots_touched(timeline, tenant),
        reviews=list(person.reviews.all()[:20]),
        plan=getattr(person, "plan", None),
        role_counts=dict(Counter(t["role"] for t in timeline)),
    )


def _link_row(link: CrimePersonLink, person_id: str) -> tuple[Any, ...]:
    """A link's values in the order of :data:`_LINK_FIELDS`."""
    rec = link.record
    return (
        person_id,
        link.role,
        rec.reference,
        rec.occurred_from,
        rec.offence_code,
        rec.offence_description,
        rec.category,
        rec.harm_days,
        rec.weapon,
        rec.knife_enabled,
        rec.domestic,
    )


def _hotspots_touched(timeline: list[dict[str, Any]], tenant: int | None = None) -> list[dict[str, Any]]:
    run = AnalysisRun.objects.filter(is_current=True, tenant_id=tenant).first()
    if run is None:
        return []
    points = [(t["easting"], t["northing"], t["reference"]) for t in timeline if t["easting"] is not None]
    out = []
    for hs in run.hotspots.order_by("period", "rank"):
        geom = shapely.from_geojson(hs.geofence_geojson)
        refs = sorted({ref for x, y, ref in points if geom.covers(shapely.Point(x, y))})
        if refs:
            out.append({"pk": hs.pk, "code": hs.code, "name": hs.name, "crimes": refs})
    return out


def access_history(*, user: Any, person_id: str = "", limit: int = 500) -> list[Any]:
    """Who looked at which person, when and why (for the data protection officer)."""
    from rasure_web.accounts.models import AccessLog
    from rasure_web.accounts.roles import ADMIN

    if not has_role(user, ADMIN):
        raise PermissionDenied(
            "The record of who viewed whom is for system administrators and data protection officers."
        )
    qs = AccessLog.objects.filter(resource__in=("person", "people_list", "people_export"))
    if person_id:
        qs = qs.filter(Q(object_ref=person_id) | Q(detail__contains=person_id))
    return list(qs.order_by("-at", "-pk")[:limit])
