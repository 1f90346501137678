"""Monitoring the hot-people lists: who is listed, where, under which rule, over time (a DPO's check).

Pure functions over the same involvements and reviews :mod:`rasure.people` builds its lists from; no
clock (every function takes ``as_of``). What it reports, and how each figure is defined:

Listed people over time
    For each date ``d`` in :func:`month_ends` (the last day of each of the previous months, then
    ``as_of``), ``n_kind(d) = |build_list(kind, involvements, as_of=d, reviews=R(d))|`` where ``R(d)`` is,
    for every person, their latest review made on or before ``d`` (reviews made later are not known on
    ``d``). So the series is what the lists would have shown on each date.

By area
    A person counts in a local policing area when at least one of their crimes (any role) is in one of
    its neighbourhoods: the same rule as the area filter on the list page. A person linked to crimes in
    two areas counts in both, so area figures can add up to more than the total.

Review status (on ``as_of``), for everyone who meets a list's rule (the harm list: a score above 0,
before the top-K cut)
    - ``new``: on the list, within ``review_days`` of its latest event;
    - ``kept``: on the list only because a review kept it (``as_of > last event + review_days``);
    - ``overdue``: meets the rule but is past its review date, so it is off every list;
    - ``removed``: a review after its latest event removed it.
    The share reviewed = ``(kept + removed) / (kept + removed + overdue)``: of the entries that reached
    their review date, the share a person looked at before it lapsed (None when none reached it).

What the data holds about the people themselves
    Rasure stores no ethnicity, sex, religion, disability or any other protected characteristic except
    a year of birth where the force's export gives one. So the only disparity check possible here is by
    age: listed people in age bands (age = ``as_of.year − year of birth``, so up to a year over) beside
    everyone linked to a crime in the lists' longest window, the baseline the lists are drawn from. A
    comparison with the force's population or arrest data by ethnicity or sex has to be done by the
    force with data Rasure does not hold (:data:`NOT_HELD`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from rasure.people import (
    LIST_TITLES,
    Entry,
    Involvement,
    ListKind,
    Review,
    Rules,
    could_be_listed,
    group_by_person,
    is_current,
    last_events,
    listed_people,
)

NOT_HELD = (
    "Rasure does not hold ethnicity, sex, religion, disability or any other protected characteristic, so "
    "it cannot show who is listed by them. The force has to compare the lists with its own population "
    "and arrest data for those. Age is shown below only because some exports give a year of birth."
)
NO_AREA = "(no area recorded)"
AGE_BANDS = ("under 18", "18 to 24", "25 to 34", "35 to 49", "50 and over", "not recorded")


class Status(StrEnum):
    NEW = "new"
    KEPT = "kept"
    OVERDUE = "overdue"
    REMOVED = "removed"


STATUS_TITLES: Mapping[Status, str] = {
    Status.NEW: "On the list, not yet due for review",
    Status.KEPT: "On the list because a review kept it",
    Status.OVERDUE: "Past its review date, not reviewed (off the lists)",
    Status.REMOVED: "Removed by a review",
}


def entry_status(entry: Entry, review: Review | None, *, as_of: date, rules: Rules) -> Status:
    """Where one entry stands on ``as_of`` (module docstring)."""
    return status_of(entry.last_event, review, as_of=as_of, rules=rules)


def status_of(last_event: date, review: Review | None, *, as_of: date, rules: Rules) -> Status:
    """Where an entry whose latest event is ``last_event`` stands on ``as_of`` (module docstring)."""
    if review is not None and not review.keep and review.reviewed_on >= last_event:
        return Status.REMOVED
    if not is_current(last_event, review, as_of=as_of, rules=rules):
        return Status.OVERDUE
    if as_of > last_event + timedelta(days=rules.review_days):
        return Status.KEPT
    return Status.NEW


def reviews_on(history: Iterable[tuple[str, Review]], day: date) -> dict[str, Review]:
    """Each person's latest review made on or before ``day``. ``history`` is in the order the reviews
    were made (oldest first); on one day the later one counts."""
    out: dict[str, Review] = {}
    for pid, review in history:
        if review.reviewed_on <= day and (pid not in out or review.reviewed_on >= out[pid].reviewed_on):
            out[pid] = review
    return out


def month_ends(as_of: date, months: int) -> list[date]:
    """The last day of each of the ``months − 1`` months before ``as_of``'s month, then ``as_of``."""
    if months < 1:
        raise ValueError("months must be at least 1")
    out = []
    first = as_of.replace(day=1)
    for _ in range(months - 1):
        last = first - timedelta(days=1)
        out.append(last)
        first = last.replace(day=1)
    return [*sorted(out), as_of]


def age_band(year_of_birth: int | None, as_of: date) -> str:
    if year_of_birth is None:
        return AGE_BANDS[-1]
    age = as_of.year - year_of_birth
    for limit, band in zip((18, 25, 35, 50), AGE_BANDS, strict=False):
        if age < limit:
            return band
    return AGE_BANDS[4]


@dataclass(frozen=True)
class Point:
    day: date
    by_kind: dict[str, int]
    by_area: dict[str, int]  # distinct people on any list, per area
    total: int  # distinct people on any list


@dataclass(frozen=True)
class Monitor:
    as_of: date
    series: list[Point]
    area_kind: dict[str, dict[str, int]]  # on as_of: area -> kind -> people listed
    status: dict[str, dict[str, int]]  # on as_of: kind -> status -> entries
    share_reviewed: dict[str, float | None]
    ages_listed: dict[str, dict[str, int]]  # kind (and "any") -> age band -> people
    ages_baseline: dict[str, int]  # everyone linked to a crime in the window -> age band -> people


def _listed(
    pools: Mapping[ListKind, Mapping[str, Sequence[Involvement]]],
    day: date,
    rules: Rules,
    reviews: Mapping[str, Review],
) -> dict[str, set[str]]:
    """Who is on each list on ``day``; ``pools``: each list's :func:`could_be_listed` people."""
    # Only people with an involvement in the longest window up to ``day`` can be on a list that day
    # (every rule reads its own window, none longer): the others are left out before the rules run.
    # Each person's involvements are sorted by date (group_by_person), so the first and last bound them.
    since = day - timedelta(days=_longest_window(rules))
    out = {}
    for kind, pool in pools.items():
        near = {
            pid: invs
            for pid, invs in pool.items()
            if invs and invs[0].occurred <= day and invs[-1].occurred > since
        }
        out[kind.value] = listed_people(kind, near, as_of=day, rules=rules, reviews=reviews)
    return out


def _longest_window(rules: Rules) -> int:
    return max(
        rules.harm_window_days, rules.knife_window_days, rules.repeat_window_days, rules.overlap_window_days
    )


def _by_area(people: Iterable[str], areas: Mapping[str, frozenset[str]]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for pid in people:
        for area in areas.get(pid) or (NO_AREA,):
            out[area] += 1
    return dict(sorted(out.items()))


def monitor(
    involvements: Iterable[Involvement],
    *,
    as_of: date,
    months: int = 12,
    rules: Rules | None = None,
    review_history: Sequence[tuple[str, Review]] = (),
    areas: Mapping[str, frozenset[str]] | None = None,
    birth_years: Mapping[str, int | None] | None = None,
) -> Monitor:
    """Every figure in the module docstring, for the ``months`` dates ending on ``as_of``."""
    rules = rules or Rules()
    areas = areas or {}
    birth_years = birth_years or {}
    invs = [i for i in involvements if i.occurred <= as_of]
    series = []
    listed_now: dict[str, set[str]] = {}
    grouped = group_by_person(invs)  # once for every list and date (grouping is most of the cost)
    pools = {k: could_be_listed(k, grouped, rules=rules) for k in ListKind}  # once, not per date
    for day in month_ends(as_of, months):
        listed = _listed(pools, day, rules, reviews_on(review_history, day))
        anyone = set().union(*listed.values())
        series.append(
            Point(day, {k: len(v) for k, v in listed.items()}, _by_area(anyone, areas), len(anyone))
        )
        listed_now = listed
    area_kind: dict[str, dict[str, int]] = defaultdict(lambda: {k.value: 0 for k in ListKind})
    for kind, people in listed_now.items():
        for area, n in _by_area(people, areas).items():
            area_kind[area][kind] = n

    reviews = reviews_on(review_history, as_of)
    status = {k.value: {s.value: 0 for s in Status} for k in ListKind}
    for pid in set().union(*pools.values()):  # a person in no pool meets no rule
        review = reviews.get(pid)
        for kind, last in last_events(grouped[pid], as_of=as_of, rules=rules).items():
            status[kind.value][status_of(last, review, as_of=as_of, rules=rules).value] += 1
    share: dict[str, float | None] = {}
    for kind, counts in status.items():
        reached = counts["kept"] + counts["removed"] + counts["overdue"]
        share[kind] = (counts["kept"] + counts["removed"]) / reached if reached else None

    window = _longest_window(rules)
    baseline_people = {i.person_id for i in invs if as_of - timedelta(days=window) < i.occurred}

    def bands(people: Iterable[str]) -> dict[str, int]:
        out = dict.fromkeys(AGE_BANDS, 0)
        for pid in people:
            out[age_band(birth_years.get(pid), as_of)] += 1
        return out

    ages = {k: bands(v) for k, v in listed_now.items()}
    ages["any"] = bands(set().union(*listed_now.values()) if listed_now else set())
    return Monitor(
        as_of=as_of,
        series=series,
        area_kind=dict(sorted(area_kind.items())),
        status=status,
        share_reviewed=share,
        ages_listed=ages,
        ages_baseline=bands(baseline_people),
    )


def titles() -> dict[str, str]:
    """List and status titles by value, for pages and JSON."""
    return {k.value: LIST_TITLES[k] for k in ListKind} | {s.value: STATUS_TITLES[s] for s in Status}
