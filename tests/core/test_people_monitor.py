"""Monitoring the hot-people lists: hand-built people whose statuses, series, areas and age bands are
worked out by hand in the comments. Every person here is invented for the test (ids ``SYN-T...``)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rasure.people import Involvement, ListKind, Review, Rules, entries_for_person
from rasure.people_monitor import (
    AGE_BANDS,
    NO_AREA,
    NOT_HELD,
    Status,
    age_band,
    entry_status,
    monitor,
    month_ends,
    reviews_on,
)

AS_OF = date(2026, 7, 1)


def knife(pid: str, days_ago: int, role: str = "offender", harm: float = 365.0) -> Involvement:
    return Involvement(
        person_id=pid,
        role=role,
        reference=f"R-{pid}-{days_ago}",
        occurred=AS_OF - timedelta(days=days_ago),
        offence_code="8N",
        offence="assault with injury",
        harm_days=harm,
        knife=True,
    )


def ago(days: int) -> date:
    return AS_OF - timedelta(days=days)


# A: knife events 100 and 10 days ago (2026-03-23, 2026-06-21): on the lists, not yet due (new).
# B: knife events 200 and 120 days ago (2025-12-13, 2026-03-03), due 2026-06-01; kept by a review on
#    2026-06-01 (30 days ago), so due 2026-08-30: on the list only because of the review (kept).
# C: like B, never reviewed: due 2026-06-01, so off the lists on AS_OF (overdue).
# D: like B, removed by a review on 2026-06-11 (20 days ago) (removed).
# E: one victimisation of low harm (10 days) only: on no list, but in the baseline of people linked to crimes.
INVS = [
    knife("SYN-T-A", 100),
    knife("SYN-T-A", 10),
    *(knife(p, d) for p in ("SYN-T-B", "SYN-T-C", "SYN-T-D") for d in (200, 120)),
    knife("SYN-T-E", 50, role="victim", harm=10.0),
]
HISTORY = [("SYN-T-B", Review(ago(30), keep=True)), ("SYN-T-D", Review(ago(20), keep=False))]
AREAS = {"SYN-T-A": frozenset({"LPA1"}), "SYN-T-B": frozenset({"LPA1", "LPA2"})}
BIRTHS = {"SYN-T-A": 2000, "SYN-T-B": 2010, "SYN-T-C": None, "SYN-T-D": 1970, "SYN-T-E": 1990}


def test_month_ends_are_the_last_days_of_the_previous_months_then_the_day() -> None:
    assert month_ends(date(2026, 3, 15), 3) == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 15)]
    assert month_ends(date(2026, 1, 5), 2) == [date(2025, 12, 31), date(2026, 1, 5)]
    assert month_ends(AS_OF, 1) == [AS_OF]
    with pytest.raises(ValueError, match="at least 1"):
        month_ends(AS_OF, 0)


def test_reviews_on_a_day_know_only_the_reviews_made_by_then() -> None:
    history = [("P", Review(date(2026, 1, 1), keep=True)), ("P", Review(date(2026, 2, 1), keep=False))]
    assert reviews_on(history, date(2025, 12, 31)) == {}
    assert reviews_on(history, date(2026, 1, 31)) == {"P": Review(date(2026, 1, 1), keep=True)}
    assert reviews_on(history, date(2026, 2, 1)) == {"P": Review(date(2026, 2, 1), keep=False)}


@pytest.mark.parametrize(
    ("pid", "review", "status"),
    [
        ("SYN-T-A", None, Status.NEW),
        ("SYN-T-B", Review(ago(30), keep=True), Status.KEPT),
        ("SYN-T-C", None, Status.OVERDUE),
        ("SYN-T-D", Review(ago(20), keep=False), Status.REMOVED),
        # a keep review older than the latest event changes nothing: still overdue
        ("SYN-T-C", Review(ago(150), keep=True), Status.OVERDUE),
        # a removal before the latest event does not hold: A is back on the list (new)
        ("SYN-T-A", Review(ago(50), keep=False), Status.NEW),
    ],
)
def test_entry_status(pid: str, review: Review | None, status: Status) -> None:
    own = [i for i in INVS if i.person_id == pid]
    entry = entries_for_person(own, as_of=AS_OF, rules=Rules(), review=review)[ListKind.KNIFE]
    assert entry_status(entry, review, as_of=AS_OF, rules=Rules()) == status


def test_statuses_and_the_share_reviewed_in_time() -> None:
    m = monitor(INVS, as_of=AS_OF, months=3, review_history=HISTORY, areas=AREAS, birth_years=BIRTHS)
    assert m.status["knife"] == {"new": 1, "kept": 1, "overdue": 1, "removed": 1}
    # of the three entries that reached their review date (B, C, D), two were reviewed (B kept, D removed)
    assert m.share_reviewed["knife"] == pytest.approx(2 / 3)
    assert m.status["harm"] == {"new": 1, "kept": 1, "overdue": 1, "removed": 1}
    assert m.status["repeat_victim"] == {"new": 0, "kept": 0, "overdue": 0, "removed": 0}
    assert m.share_reviewed["repeat_victim"] is None


def test_series_uses_only_the_reviews_known_on_each_date() -> None:
    m = monitor(INVS, as_of=AS_OF, months=3, review_history=HISTORY, areas=AREAS, birth_years=BIRTHS)
    assert [p.day for p in m.series] == [date(2026, 5, 31), date(2026, 6, 30), AS_OF]
    # 2026-05-31: A has one knife event (not a carrier); B, C, D are due 2026-06-01, so still listed and
    # no review is known yet. 2026-06-30: A is a carrier, B kept, C overdue, D removed.
    assert [p.by_kind["knife"] for p in m.series] == [3, 2, 2]
    # harm on 2026-05-31: A's offence of 2026-03-23 (due 2026-06-21) as well as B, C, D
    assert [p.by_kind["harm"] for p in m.series] == [4, 2, 2]
    assert [p.total for p in m.series] == [4, 2, 2]
    # by area: A in LPA1, B in LPA1 and LPA2, C and D have none
    assert m.series[0].by_area == {NO_AREA: 2, "LPA1": 2, "LPA2": 1}
    assert m.series[-1].by_area == {"LPA1": 2, "LPA2": 1}
    assert m.area_kind["LPA2"] == {
        "harm": 1,
        "knife": 1,
        "repeat_victim": 0,
        "vulnerable": 0,
        "victim_offender": 0,
    }


def test_age_bands_of_the_listed_beside_everyone_linked_to_a_crime() -> None:
    m = monitor(INVS, as_of=AS_OF, months=1, review_history=HISTORY, areas=AREAS, birth_years=BIRTHS)
    # listed on AS_OF: A (born 2000, 26) and B (born 2010, 16)
    assert m.ages_listed["knife"] == dict.fromkeys(AGE_BANDS, 0) | {"25 to 34": 1, "under 18": 1}
    assert m.ages_listed["any"] == m.ages_listed["knife"]
    # everyone linked to a crime in the window: A, B, C (not recorded), D (56), E (36)
    assert m.ages_baseline == {
        "under 18": 1,
        "18 to 24": 0,
        "25 to 34": 1,
        "35 to 49": 1,
        "50 and over": 1,
        "not recorded": 1,
    }
    assert "ethnicity" in NOT_HELD


@pytest.mark.parametrize(
    ("born", "band"),
    [
        (2009, "under 18"),
        (2008, "18 to 24"),
        (2002, "18 to 24"),
        (2001, "25 to 34"),
        (1977, "35 to 49"),
        (1976, "50 and over"),
        (None, "not recorded"),
    ],
)
def test_age_band_edges(born: int | None, band: str) -> None:
    assert age_band(born, date(2026, 7, 1)) == band


def test_events_after_the_day_are_not_counted() -> None:
    later = [*INVS, knife("SYN-T-F", -5), knife("SYN-T-F", -10)]
    assert monitor(later, as_of=AS_OF, months=1).status == monitor(INVS, as_of=AS_OF, months=1).status


def test_series_equals_each_dates_lists_built_in_full_for_a_synthetic_city() -> None:
    """The monitor leaves out, date by date, the people with no involvement in the longest window up
    to it: its series must still equal :func:`rasure.people.build_list` over everyone on each date
    (synthetic city, three years, 30 month ends so early dates have people only after them and late
    ones people only long before; reviews kept and removed along the way)."""
    import random

    from rasure.people import build_list
    from rasure.synth import generate_city

    c = generate_city(seed=5, scale=0.1, end=date(2026, 6, 30))
    recs = c.records.set_index("reference")
    rng = random.Random(3)
    invs = [
        Involvement(
            person_id=link.person_id,
            role=link.role,
            reference=link.reference,
            occurred=recs.at[link.reference, "occurred_from"].date(),
            offence_code=str(recs.at[link.reference, "offence_code"] or ""),
            harm_days=rng.choice([None, 0.0, 5.0, 400.0]),
            knife=rng.random() < 0.3,
            domestic=rng.random() < 0.2,
        )
        for link in c.links.itertuples()
    ]
    people = sorted({i.person_id for i in invs})
    history = sorted(
        ((pid, Review(ago(rng.randrange(0, 900)), keep=rng.random() < 0.5)) for pid in people[::7]),
        key=lambda pr: pr[1].reviewed_on,
    )
    rules = Rules(
        harm_window_days=200, knife_window_days=300, repeat_window_days=150, overlap_window_days=250
    )
    m = monitor(invs, as_of=AS_OF, months=30, rules=rules, review_history=history)
    assert len(m.series) == 30
    for point in m.series:
        reviews = reviews_on(history, point.day)
        lists = {
            k.value: build_list(k, invs, as_of=point.day, rules=rules, reviews=reviews) for k in ListKind
        }
        assert point.by_kind == {k: len(v) for k, v in lists.items()}, point.day
        assert point.total == len({e.person_id for v in lists.values() for e in v}), point.day
    assert sum(p.total for p in m.series) > 50
    # the harm list ranks every score and words only the top K: the same as wording every entry
    from rasure.people import group_by_person, is_current

    grouped = group_by_person(invs)
    for point in m.series[::6]:
        reviews = reviews_on(history, point.day)
        every = []
        for pid, own in grouped.items():
            e = entries_for_person(own, as_of=point.day, rules=rules, review=reviews.get(pid)).get(
                ListKind.HARM
            )
            r = reviews.get(pid)
            removed = e is not None and r is not None and not r.keep and r.reviewed_on >= e.last_event
            if e is not None and is_current(e.last_event, r, as_of=point.day, rules=rules) and not removed:
                every.append(e)
        every.sort(key=lambda e: (-e.score, e.person_id))
        assert build_list(ListKind.HARM, invs, as_of=point.day, rules=rules, reviews=reviews) == every[:20]
