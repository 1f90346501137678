"""Hot people: the offender and victim corners of the victim–offender–location triangle (D3, D4).

Pure functions over a person's involvements in crimes (as victim, suspect or offender). Nothing here
reads the clock: every function takes the date the lists are built for (``as_of``). Methods and
sources: docs/hot-people.md, which also says what is a default still to be confirmed.

What the lists are built from, and what they are never built from
    Only offences: the date, the Home Office offence code, the weapon flag, the harm weight (Cambridge
    Crime Harm Index days, CCHI), the domestic flag and the person's role in the crime. No protected
    characteristic (age, sex, ethnicity, religion, disability ...) is an input to any score or rule
    here; :data:`SCORE_INPUTS` lists the inputs so pages can show them.

The harm score (Recency-Frequency-Harm, the harm-decay form of RFG)
    ``score_i(t) = Σ_k  e_k · CCHI_k · 2^(−(t − t_k) / h)``
    over the offences ``k`` person ``i`` is linked to as offender or suspect with ``t − W < t_k ≤ t``,
    where ``CCHI_k`` is the offence's harm weight in days, ``h`` the half-life in days, ``W`` the window
    in days and ``e_k`` the evidential weight of the role (offender, i.e. charged or proceeded against:
    1.0; named suspect: 0.5). Frequency enters through the sum, gravity through ``CCHI_k`` and recency
    through the decay. Offences the police find themselves (possession found in a stop) are left out
    by default (``exclude_police_discovered``), as the CCHI itself leaves out proactively detected
    offences (Sherman, Neyroud & Neyroud 2016, *Policing* 10(3):171-183), so that patrolling a person
    more does not raise their score. Form and defaults (h = 180 days, W = 24 months, weights 1.0 / 0.5)
    follow the project's methods note, which found no published national RFG formula: they are
    defaults to confirm with the force, not established values. The Metropolitan Police's move from
    RFG to RFH (2020) is the nearest published practice.

Habitual knife carriers (HKC)
    At least ``min_events`` (default 2) knife events in the last ``window_days`` (default 730), at least
    ``min_proven`` (default 1) of them as offender, and the latest within ``expiry_days`` (default 365).
    A knife event is an offence with a knife or sharp instrument, or one of ``knife_codes`` (default
    10D, possession of an article with a blade or point). Police-discovered possession counts here:
    carrying is the behaviour the list is about. There is no statutory definition; Thames Valley
    practice is "on more than one occasion" (secondary source). Every threshold is a default to confirm.

Repeat victims, vulnerable victims, victim-offenders
    Repeat victim: at least ``min_victimisations`` (default 2) violent or harmful victimisations
    (harm weight at least ``min_harm_days``) in ``window_days`` (default 365): Farrell & Pease 1993,
    *Once bitten, twice bitten*. Vulnerable victim: a repeat victim of domestic abuse, or the victim of
    one offence with harm weight at least ``high_harm_days`` (default 365, a year's custody: robbery,
    violence with injury) in the window. Victim-offender: at least one victimisation and at least one
    offence (as offender or suspect) in ``window_days`` (default 730), the Leicestershire definition.

Review and expiry
    Every entry has a review date: ``max(latest qualifying event, last review) + review_days`` (default
    90). After that date the entry drops off every list until someone reviews it again or a new event
    brings it back. A review that removes the person keeps them off until a newer event.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from rasure.errors import ConfigError
from rasure.records import LinkRole

#: The only inputs to the scores and rules (shown on the people pages).
SCORE_INPUTS = (
    "the date of each offence",
    "its Home Office offence code and harm weight (CCHI days)",
    "whether a knife or sharp instrument was involved",
    "whether it was domestic abuse",
    "the person's role in it: victim, named suspect or offender (charged or proceeded against)",
)
#: Never inputs (and not read by this module): listed on the pages so a reviewer can check.
NOT_INPUTS = "age, sex, ethnicity, religion, disability, address or any other protected characteristic"


class ListKind(StrEnum):
    HARM = "harm"
    KNIFE = "knife"
    REPEAT_VICTIM = "repeat_victim"
    VULNERABLE = "vulnerable"
    VICTIM_OFFENDER = "victim_offender"


LIST_TITLES: Mapping[ListKind, str] = {
    ListKind.HARM: "Offenders causing the most harm",
    ListKind.KNIFE: "Habitual knife carriers",
    ListKind.REPEAT_VICTIM: "Repeat victims",
    ListKind.VULNERABLE: "Vulnerable victims",
    ListKind.VICTIM_OFFENDER: "Victim-offenders",
}


@dataclass(frozen=True)
class Involvement:
    """One person in one crime, with the facts of the crime the rules read."""

    person_id: str
    role: str  # LinkRole value
    reference: str
    occurred: date
    offence_code: str = ""
    offence: str = ""  # description or category, for the reasons
    harm_days: float | None = None
    knife: bool = False
    domestic: bool = False


@dataclass(frozen=True)
class Review:
    """The latest human review of a person's entries: kept until ``reviewed_on + review_days``, or removed."""

    reviewed_on: date
    keep: bool = True


@dataclass(frozen=True)
class Rules:
    """Every parameter of the scores and rules. The values are defaults to confirm with the force."""

    half_life_days: float = 180.0
    harm_window_days: int = 730
    offender_weight: float = 1.0
    suspect_weight: float = 0.5
    exclude_police_discovered: bool = True
    police_discovered_codes: frozenset[str] = frozenset({"10C", "10D", "90", "92D", "92E", "92F"})
    harm_top_k: int = 20
    knife_min_events: int = 2
    knife_min_proven: int = 1
    knife_window_days: int = 730
    knife_expiry_days: int = 365
    knife_codes: frozenset[str] = frozenset({"10D"})
    repeat_min_victimisations: int = 2
    repeat_window_days: int = 365
    repeat_min_harm_days: float = 1.0
    vulnerable_high_harm_days: float = 365.0
    overlap_window_days: int = 730
    review_days: int = 90

    def __post_init__(self) -> None:
        positive = (
            *("half_life_days", "harm_window_days", "knife_window_days", "knife_expiry_days"),
            *("repeat_window_days", "overlap_window_days", "review_days", "harm_top_k"),
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise ConfigError(
                    f"hot-people rule {name} must be greater than 0 (got {getattr(self, name)})."
                )
        for name in (
            "offender_weight",
            "suspect_weight",
            "repeat_min_harm_days",
            "vulnerable_high_harm_days",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"hot-people rule {name} must not be negative (got {getattr(self, name)}).")
        if not 1 <= self.knife_min_proven <= self.knife_min_events:
            raise ConfigError("hot-people rule knife_min_proven must be between 1 and knife_min_events.")
        if self.repeat_min_victimisations < 1:
            raise ConfigError("hot-people rule repeat_min_victimisations must be at least 1.")


@dataclass(frozen=True)
class Contribution:
    """One offence's part in a harm score (so every score can be explained offence by offence)."""

    reference: str
    occurred: date
    offence: str
    role: str
    harm_days: float
    evidential_weight: float
    decay: float

    @property
    def points(self) -> float:
        return self.harm_days * self.evidential_weight * self.decay


@dataclass(frozen=True)
class Entry:
    """One person on one list, with the plain-words reasons and the date it must be reviewed by."""

    kind: ListKind
    person_id: str
    score: float
    reasons: tuple[str, ...]
    references: tuple[str, ...]
    last_event: date
    review_due: date
    contributions: tuple[Contribution, ...] = field(default=())


# The roles as plain strings: an enum member's ``.value`` is a descriptor call, and the monitoring page
# reads them millions of times (12 dates × 5 lists × every person's involvements).
_OFFENDER = LinkRole.OFFENDER.value
_SUSPECT = LinkRole.SUSPECT.value
_VICTIM = LinkRole.VICTIM.value
_OFFENDING = frozenset({_OFFENDER, _SUSPECT})


def _in_window(inv: Involvement, as_of: date, days: int) -> bool:
    return as_of - timedelta(days=days) < inv.occurred <= as_of


def _label(inv: Involvement) -> str:
    what = inv.offence or inv.offence_code or "offence"
    return f"{what} on {inv.occurred.isoformat()} ({inv.reference})"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def harm_contributions(
    involvements: Iterable[Involvement], *, as_of: date, rules: Rules
) -> list[Contribution]:
    """The offence-level parts of one person's harm score (see the module docstring for the formula)."""
    return _contributions(_tidy(involvements), as_of=as_of, rules=rules)


def _counted(
    tidy: Sequence[Involvement], as_of: date, rules: Rules
) -> list[tuple[Involvement, float, float]]:
    """The offences a harm score counts, each with its evidential weight and decay: the one place the
    harm rule's window, roles and police-discovered exclusion are read."""
    out = []
    since = as_of - timedelta(days=rules.harm_window_days)
    for inv in tidy:
        if inv.role not in _OFFENDING or not since < inv.occurred <= as_of:
            continue
        if rules.exclude_police_discovered and inv.offence_code in rules.police_discovered_codes:
            continue
        weight = rules.offender_weight if inv.role == _OFFENDER else rules.suspect_weight
        out.append((inv, weight, math.pow(2.0, -(as_of - inv.occurred).days / rules.half_life_days)))
    return out


def _contributions(tidy: Sequence[Involvement], *, as_of: date, rules: Rules) -> list[Contribution]:
    """:func:`harm_contributions` of involvements already tidied (:func:`_tidy`)."""
    out = [
        Contribution(
            inv.reference, inv.occurred, inv.offence or inv.offence_code, inv.role, inv.harm_days or 0.0, w, d
        )
        for inv, w, d in _counted(tidy, as_of, rules)
    ]
    out.sort(key=lambda c: (-c.points, c.occurred, c.reference))
    return out


def _harm_rank(invs: Sequence[Involvement], as_of: date, rules: Rules) -> tuple[float, date] | None:
    """A person's harm score and the date of the latest offence it counts, or None for a score of 0;
    the same figures as :func:`_contributions` gives (points summed largest first, as there), without
    building the contributions."""
    counted = _counted(invs, as_of, rules)
    points = sorted(((inv.harm_days or 0.0) * w * d for inv, w, d in counted), reverse=True)
    score = sum(points)
    if score <= 0:  # zero-harm scores are never listed
        return None
    refs = {inv.reference for inv, _, _ in counted}
    return score, max(i.occurred for i in invs if i.reference in refs and i.role in _OFFENDING)


def harm_score(involvements: Iterable[Involvement], *, as_of: date, rules: Rules | None = None) -> float:
    """``Σ e_k · CCHI_k · 2^(−(as_of − t_k)/h)`` over the person's offences in the window."""
    return sum(c.points for c in harm_contributions(involvements, as_of=as_of, rules=rules or Rules()))


def review_due(last_event: date, review: Review | None, rules: Rules) -> date:
    """``max(last qualifying event, last review) + review_days``."""
    start = last_event if review is None else max(last_event, review.reviewed_on)
    return start + timedelta(days=rules.review_days)


def is_current(last_event: date, review: Review | None, *, as_of: date, rules: Rules) -> bool:
    """Whether an entry is still on the lists: not past its review date, and not removed by a review
    that came after its latest event."""
    if review is not None and not review.keep and review.reviewed_on >= last_event:
        return False
    return as_of <= review_due(last_event, review, rules)


def _entry(
    kind: ListKind,
    pid: str,
    score: float,
    reasons: list[str],
    events: Sequence[Involvement],
    review: Review | None,
    rules: Rules,
    contributions: Sequence[Contribution] = (),
) -> Entry:
    last = max(e.occurred for e in events)
    refs = tuple(sorted({e.reference for e in events}))
    return Entry(
        kind, pid, score, tuple(reasons), refs, last, review_due(last, review, rules), tuple(contributions)
    )


def _order(i: Involvement) -> tuple[object, ...]:
    harm = -1.0 if i.harm_days is None else i.harm_days
    return (
        i.occurred,
        i.reference,
        i.person_id,
        i.role,
        i.offence_code,
        i.offence,
        harm,
        i.knife,
        i.domestic,
    )


def _tidy(involvements: Iterable[Involvement]) -> list[Involvement]:
    """Sorted, one involvement per (person, crime, role): the same input in any order gives the same result."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for inv in sorted(involvements, key=_order):
        key = (inv.person_id, inv.reference, inv.role)
        if key not in seen:
            seen.add(key)
            out.append(inv)
    return out


def _group(involvements: Iterable[Involvement]) -> dict[str, list[Involvement]]:
    by: dict[str, list[Involvement]] = defaultdict(list)
    for inv in involvements:
        by[inv.person_id].append(inv)
    return {pid: _tidy(invs) for pid, invs in by.items()}


def _harm_entry(
    pid: str, invs: Sequence[Involvement], as_of: date, rules: Rules, review: Review | None
) -> Entry | None:
    parts = _contributions(invs, as_of=as_of, rules=rules)  # invs: tidy (a person's grouped involvements)
    score = sum(c.points for c in parts)
    if score <= 0:  # zero-harm scores are never listed
        return None
    months = rules.harm_window_days * 12 // 365
    top = "; ".join(f"{c.offence} on {c.occurred.isoformat()} ({c.points:.0f} points)" for c in parts[:3])
    reasons = [
        f"harm score {score:.0f} from {_plural(len(parts), 'offence')} in {months} months "
        f"(CCHI days, halving every {rules.half_life_days:.0f} days)",
        f"largest parts: {top}",
    ]
    suspects = sum(1 for c in parts if c.role == _SUSPECT)
    if suspects:
        reasons.append(f"{suspects} of them as a named suspect only, counted at {rules.suspect_weight:g}")
    counted = {c.reference for c in parts}
    events = [i for i in invs if i.reference in counted and i.role in _OFFENDING]
    return _entry(ListKind.HARM, pid, score, reasons, events, review, rules, parts)


def _knife_events(invs: Sequence[Involvement], as_of: date, rules: Rules) -> list[Involvement] | None:
    """The knife events that put a person on the knife list, by date, or None if the rule is not met."""
    since = as_of - timedelta(days=rules.knife_window_days)
    events = [
        i
        for i in invs
        if i.role in _OFFENDING
        and since < i.occurred <= as_of
        and (i.knife or i.offence_code in rules.knife_codes)
    ]
    distinct = {e.reference: e for e in sorted(events, key=lambda e: e.role != _OFFENDER)}
    events = sorted(distinct.values(), key=lambda e: (e.occurred, e.reference))
    proven = [e for e in events if e.role == _OFFENDER]
    if len(events) < rules.knife_min_events or len(proven) < rules.knife_min_proven:
        return None
    if not _in_window(events[-1], as_of, rules.knife_expiry_days):
        return None
    return events


def _knife_entry(
    pid: str, invs: Sequence[Involvement], as_of: date, rules: Rules, review: Review | None
) -> Entry | None:
    events = _knife_events(invs, as_of, rules)
    if events is None:
        return None
    proven = [e for e in events if e.role == _OFFENDER]
    months = rules.knife_window_days * 12 // 365
    reasons = [
        f"{_plural(len(events), 'knife event')} in {months} months ({len(proven)} as offender): "
        + "; ".join(_label(e) for e in events),
        f"rule: at least {rules.knife_min_events} knife events in {months} months, at least "
        f"{rules.knife_min_proven} as offender, the latest within {rules.knife_expiry_days} days",
    ]
    return _entry(ListKind.KNIFE, pid, float(len(events)), reasons, events, review, rules)


def _victimisations(
    invs: Sequence[Involvement], as_of: date, days: int, min_harm: float
) -> list[Involvement]:
    since = as_of - timedelta(days=days)
    return [
        i
        for i in invs
        if i.role == _VICTIM and since < i.occurred <= as_of and (i.harm_days or 0.0) >= min_harm
    ]


def _repeat_events(invs: Sequence[Involvement], as_of: date, rules: Rules) -> list[Involvement] | None:
    """The victimisations that make a person a repeat victim, or None if the rule is not met."""
    vic = _victimisations(invs, as_of, rules.repeat_window_days, rules.repeat_min_harm_days)
    return vic if len(vic) >= rules.repeat_min_victimisations else None


def _repeat_entry(
    pid: str, invs: Sequence[Involvement], as_of: date, rules: Rules, review: Review | None
) -> Entry | None:
    vic = _repeat_events(invs, as_of, rules)
    if vic is None:
        return None
    months = rules.repeat_window_days * 12 // 365
    harm = sum(v.harm_days or 0.0 for v in vic)
    reasons = [
        f"victim {len(vic)} times in {months} months (harm {harm:.0f} CCHI days): "
        + "; ".join(_label(v) for v in vic)
    ]
    return _entry(ListKind.REPEAT_VICTIM, pid, harm, reasons, vic, review, rules)


def _vulnerable_events(
    invs: Sequence[Involvement], as_of: date, rules: Rules
) -> tuple[list[Involvement], list[Involvement], list[Involvement]] | None:
    """(domestic victimisations, high-harm ones, those the entry counts, by date) for a vulnerable
    victim, or None if the rule is not met."""
    vic = _victimisations(invs, as_of, rules.repeat_window_days, rules.repeat_min_harm_days)
    domestic = [v for v in vic if v.domestic]
    high = [v for v in vic if (v.harm_days or 0.0) >= rules.vulnerable_high_harm_days]
    repeat = len(domestic) >= rules.repeat_min_victimisations
    if not repeat and not high:
        return None
    counted = (domestic if repeat else []) + high
    events = sorted({v.reference: v for v in counted}.values(), key=lambda v: (v.occurred, v.reference))
    return domestic, high, events


def _vulnerable_entry(
    pid: str, invs: Sequence[Involvement], as_of: date, rules: Rules, review: Review | None
) -> Entry | None:
    found = _vulnerable_events(invs, as_of, rules)
    if found is None:
        return None
    domestic, high, events = found
    reasons = []
    months = rules.repeat_window_days * 12 // 365
    if len(domestic) >= rules.repeat_min_victimisations:
        reasons.append(
            f"repeat victim of domestic abuse: {len(domestic)} times in {months} months: "
            + "; ".join(_label(v) for v in domestic)
        )
    if high:
        reasons.append(
            f"victim of {_plural(len(high), 'high-harm offence')} (at least {rules.vulnerable_high_harm_days:.0f} "
            f"CCHI days) in {months} months: " + "; ".join(_label(v) for v in high)
        )
    harm = sum(v.harm_days or 0.0 for v in events)
    return _entry(ListKind.VULNERABLE, pid, harm, reasons, events, review, rules)


def _overlap_events(
    invs: Sequence[Involvement], as_of: date, rules: Rules
) -> tuple[list[Involvement], list[Involvement], list[Involvement]] | None:
    """(involvements in the window, victimisations, offences) for a victim-offender, or None."""
    since = as_of - timedelta(days=rules.overlap_window_days)
    recent = [i for i in invs if since < i.occurred <= as_of]
    vic = [i for i in recent if i.role == _VICTIM]
    off = [i for i in recent if i.role in _OFFENDING]
    return (recent, vic, off) if vic and off else None


def _overlap_entry(
    pid: str, invs: Sequence[Involvement], as_of: date, rules: Rules, review: Review | None
) -> Entry | None:
    found = _overlap_events(invs, as_of, rules)
    if found is None:
        return None
    recent, vic, off = found
    months = rules.overlap_window_days * 12 // 365
    reasons = [
        f"both victim and offender in {months} months: victim {len(vic)} times ("
        + "; ".join(_label(v) for v in vic)
        + f"), offender or suspect {len(off)} times ("
        + "; ".join(_label(o) for o in off)
        + ")"
    ]
    harm = sum(i.harm_days or 0.0 for i in recent)
    return _entry(ListKind.VICTIM_OFFENDER, pid, harm, reasons, recent, review, rules)


_BUILDERS = {
    ListKind.HARM: _harm_entry,
    ListKind.KNIFE: _knife_entry,
    ListKind.REPEAT_VICTIM: _repeat_entry,
    ListKind.VULNERABLE: _vulnerable_entry,
    ListKind.VICTIM_OFFENDER: _overlap_entry,
}


def entries_for_person(
    involvements: Sequence[Involvement],
    *,
    as_of: date,
    rules: Rules | None = None,
    review: Review | None = None,
) -> dict[ListKind, Entry]:
    """Every list one person qualifies for on ``as_of``, whether or not the entry is past its review date."""
    rules = rules or Rules()
    invs = _tidy(involvements)
    out = {}
    for kind, build in _BUILDERS.items():
        entry = build(invs[0].person_id if invs else "", invs, as_of, rules, review) if invs else None
        if entry is not None:
            out[kind] = entry
    return out


def group_by_person(involvements: Iterable[Involvement]) -> dict[str, list[Involvement]]:
    """Each person's involvements, sorted, one per (person, crime, role): the form
    :func:`build_list_grouped` reads, so several lists or dates can share one grouping."""
    return _group(involvements)


def build_list(
    kind: ListKind,
    involvements: Iterable[Involvement],
    *,
    as_of: date,
    rules: Rules | None = None,
    reviews: Mapping[str, Review] | None = None,
    overdue: bool = False,
) -> list[Entry]:
    """One list on ``as_of``: current entries only (past their review date or removed ones drop off),
    highest score first, ties by person id, so the same input always gives the same list. The harm
    list keeps the top ``harm_top_k``.

    ``overdue=True`` gives instead the entries that still meet the rule but are past their review date
    (not those removed by a review): what a reviewer has to look at to keep or remove."""
    return build_list_grouped(
        kind, group_by_person(involvements), as_of=as_of, rules=rules, reviews=reviews, overdue=overdue
    )


def build_list_grouped(
    kind: ListKind,
    grouped: Mapping[str, Sequence[Involvement]],
    *,
    as_of: date,
    rules: Rules | None = None,
    reviews: Mapping[str, Review] | None = None,
    overdue: bool = False,
) -> list[Entry]:
    """:func:`build_list` on involvements already grouped by :func:`group_by_person`."""
    rules = rules or Rules()
    reviews = reviews or {}
    if ListKind(kind) == ListKind.HARM:
        return _harm_list(grouped, as_of=as_of, rules=rules, reviews=reviews, overdue=overdue)
    build = _BUILDERS[ListKind(kind)]
    out = []
    for pid, invs in grouped.items():
        review = reviews.get(pid)
        entry = build(pid, invs, as_of, rules, review)
        if entry is None:
            continue
        if _listed_now(entry.last_event, review, as_of=as_of, rules=rules, overdue=overdue):
            out.append(entry)
    out.sort(key=lambda e: (-e.score, e.person_id))
    return out


def _listed_now(last_event: date, review: Review | None, *, as_of: date, rules: Rules, overdue: bool) -> bool:
    """Whether an entry with this last event goes on the list (or, ``overdue``, on the overdue list)."""
    current = is_current(last_event, review, as_of=as_of, rules=rules)
    removed = review is not None and not review.keep and review.reviewed_on >= last_event
    return (current and not overdue) or (overdue and not current and not removed)


def _harm_list(
    grouped: Mapping[str, Sequence[Involvement]],
    *,
    as_of: date,
    rules: Rules,
    reviews: Mapping[str, Review],
    overdue: bool,
) -> list[Entry]:
    """:func:`build_list_grouped` for the harm list: every person's score and last event first, then the
    entries (their reasons in words) only for the top ``harm_top_k``, the same as building every
    entry (:func:`_harm_entry`) and cutting the sorted list."""
    out = []
    for pid in _harm_top(grouped, as_of=as_of, rules=rules, reviews=reviews, overdue=overdue):
        entry = _harm_entry(pid, grouped[pid], as_of, rules, reviews.get(pid))
        assert entry is not None  # its score is above 0
        out.append(entry)
    return out


def _harm_top(
    grouped: Mapping[str, Sequence[Involvement]],
    *,
    as_of: date,
    rules: Rules,
    reviews: Mapping[str, Review],
    overdue: bool,
) -> list[str]:
    """The people on the harm list, highest score first (ties by person id), cut at ``harm_top_k``."""
    ranked = []
    for pid, invs in grouped.items():
        found = _harm_rank(invs, as_of, rules)
        if found is not None and _listed_now(
            found[1], reviews.get(pid), as_of=as_of, rules=rules, overdue=overdue
        ):
            ranked.append((-found[0], pid))
    ranked.sort()
    return [pid for _, pid in ranked[: rules.harm_top_k]]


def _last_of(events: Sequence[Involvement] | None) -> date | None:
    return None if events is None else max(e.occurred for e in events)


def _harm_last(invs: Sequence[Involvement], as_of: date, rules: Rules) -> date | None:
    found = _harm_rank(invs, as_of, rules)
    return None if found is None else found[1]


def _knife_last(invs: Sequence[Involvement], as_of: date, rules: Rules) -> date | None:
    return _last_of(_knife_events(invs, as_of, rules))


def _repeat_last(invs: Sequence[Involvement], as_of: date, rules: Rules) -> date | None:
    return _last_of(_repeat_events(invs, as_of, rules))


def _vulnerable_last(invs: Sequence[Involvement], as_of: date, rules: Rules) -> date | None:
    found = _vulnerable_events(invs, as_of, rules)
    return None if found is None else _last_of(found[2])


def _overlap_last(invs: Sequence[Involvement], as_of: date, rules: Rules) -> date | None:
    found = _overlap_events(invs, as_of, rules)
    return None if found is None else _last_of(found[0])


# Each list's rule without its words: the date its entry's review counts from (Entry.last_event), or
# None when the rule is not met. The *_entry builders read the same *_events functions.
_LAST_EVENT = {
    ListKind.HARM: _harm_last,
    ListKind.KNIFE: _knife_last,
    ListKind.REPEAT_VICTIM: _repeat_last,
    ListKind.VULNERABLE: _vulnerable_last,
    ListKind.VICTIM_OFFENDER: _overlap_last,
}


def last_events(grouped_invs: Sequence[Involvement], *, as_of: date, rules: Rules) -> dict[ListKind, date]:
    """For one person's grouped involvements (:func:`group_by_person`), the lists whose rule they meet on
    ``as_of`` (the harm list: a score above 0, before the top-K cut) with each entry's last event: the
    lists :func:`entries_for_person` gives, and the same ``last_event``, without the reasons in words."""
    out = {}
    for kind, last in _LAST_EVENT.items():
        day = last(grouped_invs, as_of, rules) if grouped_invs else None
        if day is not None:
            out[kind] = day
    return out


def _may_meet(kind: ListKind, invs: Sequence[Involvement], rules: Rules) -> bool:
    """False only if the involvements meet the rule of ``kind`` on no date at all: a condition every
    list's rule needs (whatever its window and date), read from the rules' own filters above."""
    if kind == ListKind.HARM:  # a score above 0 needs a counted offence with harm above 0
        return any(
            i.role in _OFFENDING
            and (i.harm_days or 0.0) > 0
            and not (rules.exclude_police_discovered and i.offence_code in rules.police_discovered_codes)
            for i in invs
        )
    if kind == ListKind.KNIFE:
        knives = {
            i.reference
            for i in invs
            if i.role in _OFFENDING and (i.knife or i.offence_code in rules.knife_codes)
        }
        return len(knives) >= rules.knife_min_events
    if kind == ListKind.VICTIM_OFFENDER:
        return any(i.role == _VICTIM for i in invs) and any(i.role in _OFFENDING for i in invs)
    vic = [i for i in invs if i.role == _VICTIM and (i.harm_days or 0.0) >= rules.repeat_min_harm_days]
    if kind == ListKind.REPEAT_VICTIM:
        return len(vic) >= rules.repeat_min_victimisations
    domestic = sum(1 for v in vic if v.domestic)
    return domestic >= rules.repeat_min_victimisations or any(
        (v.harm_days or 0.0) >= rules.vulnerable_high_harm_days for v in vic
    )


def could_be_listed(
    kind: ListKind, grouped: Mapping[str, Sequence[Involvement]], *, rules: Rules | None = None
) -> dict[str, Sequence[Involvement]]:
    """The people of ``grouped`` who could meet the rule of ``kind`` on some date (a necessary
    condition, checked once): :func:`listed_people` of these gives the same people as of all of
    ``grouped`` on every date (the harm list's top-K too, since the others score 0), so a series of
    dates checks each rule only for them (most people are on no list's path: a victim only is never
    on the harm list)."""
    rules = rules or Rules()
    kind = ListKind(kind)
    return {pid: invs for pid, invs in grouped.items() if _may_meet(kind, invs, rules)}


def listed_people(
    kind: ListKind,
    grouped: Mapping[str, Sequence[Involvement]],
    *,
    as_of: date,
    rules: Rules | None = None,
    reviews: Mapping[str, Review] | None = None,
) -> set[str]:
    """Who :func:`build_list_grouped` puts on the list, without writing their entries: what the
    monitoring page counts, 12 dates × 5 lists at a time."""
    rules = rules or Rules()
    reviews = reviews or {}
    if ListKind(kind) == ListKind.HARM:
        return set(_harm_top(grouped, as_of=as_of, rules=rules, reviews=reviews, overdue=False))
    last = _LAST_EVENT[ListKind(kind)]
    out = set()
    for pid, invs in grouped.items():
        day = last(invs, as_of, rules)
        if day is not None and _listed_now(day, reviews.get(pid), as_of=as_of, rules=rules, overdue=False):
            out.add(pid)
    return out


def harm_share(
    entries: Sequence[Entry], involvements: Iterable[Involvement], *, as_of: date, rules: Rules | None = None
) -> float:
    """The share of all scored harm that the listed people account for (the "power few" figure)."""
    rules = rules or Rules()
    total = sum(c.points for c in harm_contributions(involvements, as_of=as_of, rules=rules))
    return sum(e.score for e in entries) / total if total > 0 else 0.0
