"""Erasing a person's entry: the person, their links to crimes, reviews and plan (docs/hot-people.md §5).

Done after the data protection officer's decision (the force removed the person from its records, a
rights request, or a review found the entry should not be held). Only an administrator may do it. One
access-log entry records who did it, the person's reference and the reason given, never what was
erased; it is written in the same transaction as the deletion, so either both happen or neither.
The crime records themselves stay: they are the force's records, not the person's entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from rasure.errors import RasureError
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.models import AccessLog
from rasure_web.accounts.roles import ADMIN, has_role
from rasure_web.accounts.tenancy import acting_force_id
from rasure_web.crimes.models import CrimePersonLink, Person
from rasure_web.people.models import PersonReview, ProblemSolvingPlan

MIN_REASON = 10


class ErasureError(RasureError):
    """The erasure was refused: unknown person or no usable reason. Nothing was changed."""


@dataclass(frozen=True)
class Erased:
    person_ref: str
    links: int
    reviews: int
    plan: bool
    log_seq: int


def may_erase(user: Any) -> bool:
    return has_role(user, ADMIN)


def person_erase(*, user: Any, person_ref: str, reason: str, request: Any = None, via: str = "") -> Erased:
    """Delete the person with force id ``person_ref`` and everything Rasure holds on them, and log it."""
    if not may_erase(user):
        raise PermissionDenied(
            "Erasing a person's entry is for system administrators, on the DPO's decision."
        )
    ref = person_ref.strip()
    why = " ".join(reason.split())
    if len(why) < MIN_REASON:
        raise ErasureError(
            f"give the reason for erasing in words (at least {MIN_REASON} characters), e.g. the DPO's "
            "decision and its reference"
        )
    with transaction.atomic():
        # the administrator's force's person (a force's person ids are its own)
        person = (
            Person.objects.select_for_update().filter(person_id=ref, tenant_id=acting_force_id(user)).first()
        )
        if person is None:
            raise ErasureError(
                f"no person with reference {ref!r}: check the force's person id (as in the export); nothing "
                "was erased"
            )
        links = CrimePersonLink.objects.filter(person=person).count()
        reviews = PersonReview.objects.filter(person=person).count()
        plan = ProblemSolvingPlan.objects.filter(person=person).exists()
        person.delete()  # the links, reviews and plan go with it (on_delete=CASCADE)
        entry = access_log_record(
            user=user,
            action=AccessLog.Action.ERASE,
            resource="person",
            object_ref=ref,
            detail=f"erased on a decision; reason: {why}" + (f"; {via}" if via else ""),
            request=request,
        )
    return Erased(ref, links, reviews, plan, entry.seq or 0)
