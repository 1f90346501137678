"""Writes for the hot-people pages: reviews of a person's entries and problem-solving plans."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from rasure_web import clock
from rasure_web.crimes.models import Person
from rasure_web.people.models import PersonReview, ProblemSolvingPlan
from rasure_web.people.selectors import require_people


def review_record(
    *, user: Any, person_pk: int, decision: str, note: str, on: date | None = None
) -> PersonReview:
    """Record a human review: keep the person's entries until the next review date, or remove them."""
    require_people(user)
    if decision not in PersonReview.Decision.values:
        raise ValueError(f"decision must be one of {', '.join(PersonReview.Decision.values)}")
    if not note.strip():
        raise ValueError("a review needs a note saying why")
    return PersonReview.objects.create(
        person=Person.objects.get(pk=person_pk),
        reviewed_on=on or clock.local_today(),
        username=user.get_username(),
        decision=decision,
        note=note.strip(),
    )


@transaction.atomic
def plan_save(
    *, user: Any, person_pk: int, owner: str, partner_agencies: str, actions: str, review_date: date
) -> ProblemSolvingPlan:
    """Create or replace the person's problem-solving plan."""
    require_people(user)
    plan, _ = ProblemSolvingPlan.objects.update_or_create(
        person=Person.objects.get(pk=person_pk),
        defaults={
            "owner": owner.strip(),
            "partner_agencies": partner_agencies.strip(),
            "actions": actions.strip(),
            "review_date": review_date,
            "updated_at": clock.now(),
            "updated_by": user.get_username(),
        },
    )
    return plan
