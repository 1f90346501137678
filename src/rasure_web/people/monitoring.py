"""Monitoring the hot-people lists for the data protection officer: counts only, no one named.

Reads the same involvements and reviews the lists are built from and hands them to
:func:`rasure.people_monitor.monitor` (definitions there). For people with the ``intelligence``
permission, like the lists themselves.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from rasure import people as core
from rasure import people_monitor as pm
from rasure_web.accounts.tenancy import acting_force_id
from rasure_web.crimes.models import Area, CrimePersonLink, Person
from rasure_web.people.models import PersonReview
from rasure_web.people.selectors import involvements, require_people, rules


def _review_history(tenant: int | None) -> list[tuple[str, core.Review]]:
    rows = (
        PersonReview.objects.filter(person__tenant_id=tenant)
        .order_by("reviewed_on", "reviewed_at", "pk")
        .values_list("person__person_id", "reviewed_on", "decision")
    )
    return [(pid, core.Review(on, keep=d == PersonReview.Decision.KEEP)) for pid, on, d in rows]


def _person_areas(people: set[str], tenant: int | None) -> dict[str, frozenset[str]]:
    """Each of the force's people's local policing areas: those holding a neighbourhood where one of
    their crimes was."""
    lpa_of = dict(
        Area.objects.filter(kind=Area.Kind.NEIGHBOURHOOD, parent__isnull=False, tenant_id=tenant).values_list(
            "code", "parent__code"
        )
    )
    out: dict[str, set[str]] = defaultdict(set)
    rows = CrimePersonLink.objects.filter(
        person__person_id__in=list(people), person__tenant_id=tenant
    ).values_list("person__person_id", "record__lsoa_code")
    for pid, lsoa in rows.iterator(chunk_size=5000):
        if lsoa in lpa_of:
            out[pid].add(lpa_of[lsoa])
    return {pid: frozenset(v) for pid, v in out.items()}


def list_monitor(*, user: Any, as_of: date, months: int = 12) -> pm.Monitor:
    """The lists' monitoring figures on ``as_of`` and the month ends before it."""
    require_people(user)
    if not 1 <= months <= 60:
        raise ValueError("months must be between 1 and 60")
    first = pm.month_ends(as_of, months)[0]
    invs = involvements(user=user, as_of=first)  # everything from the earliest date's window onwards
    people = {i.person_id for i in invs}
    tenant = acting_force_id(user)
    births = dict(
        Person.objects.filter(person_id__in=list(people), tenant_id=tenant).values_list(
            "person_id", "year_of_birth"
        )
    )
    return pm.monitor(
        invs,
        as_of=as_of,
        months=months,
        rules=rules(),
        review_history=_review_history(tenant),
        areas=_person_areas(people, tenant),
        birth_years=births,
    )


def area_names(tenant: int | None) -> dict[str, str]:
    """One force's local policing areas' names by code (two forces may use the same codes)."""
    return dict(Area.objects.filter(kind=Area.Kind.LPA, tenant_id=tenant).values_list("code", "name"))


def monitor_json(m: pm.Monitor) -> dict[str, Any]:
    """The figures as plain JSON (``rasure people monitor --json``)."""
    return {
        "as_of": m.as_of.isoformat(),
        "titles": pm.titles(),
        "series": [
            {"date": p.day.isoformat(), "total": p.total, "by_list": p.by_kind, "by_area": p.by_area}
            for p in m.series
        ],
        "by_area_and_list": m.area_kind,
        "review_status": m.status,
        "share_reviewed": m.share_reviewed,
        "age_bands": {"listed": m.ages_listed, "everyone_linked_to_a_crime": m.ages_baseline},
        "protected_characteristics": pm.NOT_HELD,
    }
