"""Peer recognition (S1): a positively framed table of the officers who delivered most, shown to their
colleagues only when the force turns it on (:class:`~rasure_web.programme.models.ForceProgrammeSetting`).

Off by default: then no page shows officers' names in a ranking to their peers (supervisors still see
their own team's officers, docs/programme.md). On: every officer, supervisor and analyst of the force
sees the officers of that force with at least one visit at the target dose in the last
:data:`~rasure_web.programme.delivery.SUPPORT_WEEKS` weeks, the most first (visits at target, then
minutes in hot spots, then name), at most :data:`LIMIT`. No one with none is listed, and nothing is
said about who is not on the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasure_web.accounts.models import Force, Profile
from rasure_web.programme.delivery import SUPPORT_WEEKS, Delivery, Tally
from rasure_web.programme.models import ForceProgrammeSetting

LIMIT = 10


@dataclass(frozen=True)
class Recognised:
    name: str
    at_target: int
    minutes: float
    forms: int


def viewer_force(user: Any) -> Force | None:
    """The force on the user's profile; in an installation with one force, that force."""
    force_id = Profile.objects.filter(user=user).values_list("force_id", flat=True).first()
    if force_id is not None:
        return Force.objects.get(pk=force_id)
    forces = list(Force.objects.all()[:2])
    return forces[0] if len(forces) == 1 else None


def peer_recognition_on(force: Force | None) -> bool:
    if force is None:
        return False
    return ForceProgrammeSetting.objects.filter(force=force, peer_recognition=True).exists()


def recognition_table(*, force: Force, d: Delivery) -> list[Recognised]:
    """The force's officers with a visit at target dose in the last weeks, the most first (module doc).
    Refuses (ValueError) when the force has not turned recognition on."""
    if not peer_recognition_on(force):
        raise ValueError(f"force {force.code} has not turned peer recognition on")
    recent = d.mondays[-SUPPORT_WEEKS:]
    in_force = set(Profile.objects.filter(force=force).values_list("user_id", flat=True))
    rows = []
    for oid, node in d.officers.items():
        if oid not in in_force:
            continue
        t = Tally()
        for monday in recent:
            t.add(node.weeks.get(monday, Tally()))
        if t.at_target > 0:
            rows.append(Recognised(node.label, t.at_target, t.minutes, t.forms))
    rows.sort(key=lambda r: (-r.at_target, -r.minutes, r.name))
    return rows[:LIMIT]
