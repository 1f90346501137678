"""Hot people: worked examples computed by hand (arithmetic in each test), rule edges, invariants.

Every person here is invented for the test (ids ``SYN-T...``)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rasure.errors import ConfigError
from rasure.people import (
    Involvement,
    ListKind,
    Review,
    Rules,
    build_list,
    build_list_grouped,
    could_be_listed,
    entries_for_person,
    group_by_person,
    harm_contributions,
    harm_score,
    harm_share,
    is_current,
    last_events,
    listed_people,
    review_due,
)

AS_OF = date(2026, 7, 1)


def inv(
    pid: str = "SYN-T1",
    role: str = "offender",
    days_ago: int = 0,
    *,
    ref: str | None = None,
    code: str = "8N",
    harm: float | None = 365.0,
    knife: bool = False,
    domestic: bool = False,
) -> Involvement:
    return Involvement(
        person_id=pid,
        role=role,
        reference=ref or f"R-{pid}-{role}-{days_ago}-{code}",
        occurred=AS_OF - timedelta(days=days_ago),
        offence_code=code,
        offence=f"offence {code}",
        harm_days=harm,
        knife=knife,
        domestic=domestic,
    )


# ------------------------------------------------------------------------------------- harm score


def test_harm_score_worked_example() -> None:
    # Offender, 8N (365 days), today:             365 · 1.0 · 2^(-0/180)   = 365
    # Suspect, 105A (100 days), 180 days ago:      100 · 0.5 · 2^(-180/180) = 25
    # Offender, 10D possession found by police:    excluded by default       = 0
    # Offender, 8N, exactly 730 days ago:          outside the 24-month window (t > as_of - 730 is required)
    # Victim of 5D (1,000 days):                   victims are not scored    = 0
    # Total 390.
    invs = [
        inv(days_ago=0),
        inv(role="suspect", days_ago=180, code="105A", harm=100.0),
        inv(days_ago=10, code="10D", harm=273.75),
        inv(days_ago=730),
        inv(role="victim", days_ago=5, code="5D", harm=1000.0),
    ]
    assert AS_OF - timedelta(days=180) == date(2026, 1, 2)
    assert harm_score(invs, as_of=AS_OF) == pytest.approx(390.0)
    parts = harm_contributions(invs, as_of=AS_OF, rules=Rules())
    assert [round(p.points, 6) for p in parts] == [365.0, 25.0]


def test_harm_score_can_include_police_discovered_offences() -> None:
    # Same as above with possession included: 10D 10 days ago = 273.75 · 2^(-10/180) = 273.75 · 0.962224... = 263.409...
    invs = [inv(days_ago=0), inv(days_ago=10, code="10D", harm=273.75)]
    rules = Rules(exclude_police_discovered=False)
    assert harm_score(invs, as_of=AS_OF, rules=rules) == pytest.approx(365 + 273.75 * 2 ** (-10 / 180))
    assert pytest.approx(263.409, abs=1e-3) == 273.75 * 2 ** (-10 / 180)


def test_harm_score_half_life_and_weights_are_configurable() -> None:
    # h = 90: 400 days · 1.0 · 2^(-90/90) = 200; suspect weight 0: a suspect-only offence adds 0.
    rules = Rules(half_life_days=90, suspect_weight=0.0)
    invs = [inv(days_ago=90, harm=400.0), inv(role="suspect", days_ago=0, harm=1000.0)]
    assert harm_score(invs, as_of=AS_OF, rules=rules) == pytest.approx(200.0)


def test_harm_list_reasons_top_k_and_zero_scores() -> None:
    invs = [inv("SYN-TA", days_ago=0, harm=100.0), inv("SYN-TB", days_ago=0, harm=300.0)]
    invs += [inv("SYN-TC", days_ago=0, harm=0.0), inv("SYN-TD", days_ago=0, harm=50.0)]
    out = build_list(ListKind.HARM, invs, as_of=AS_OF, rules=Rules(harm_top_k=2))
    assert [e.person_id for e in out] == ["SYN-TB", "SYN-TA"]
    assert out[0].reasons[0].startswith("harm score 300 from 1 offence in 24 months")
    # Shares: listed 300 + 100 = 400 of all scored harm 450 (C scores 0 and is never listed).
    assert harm_share(out, invs, as_of=AS_OF) == pytest.approx(400 / 450)
    everyone = build_list(ListKind.HARM, invs, as_of=AS_OF)
    assert "SYN-TC" not in [e.person_id for e in everyone]


# ------------------------------------------------------------------------------------ knife carriers


def _knife(pid: str, role: str, days_ago: int) -> Involvement:
    return inv(pid, role, days_ago, code="8N", knife=True)


def test_knife_carrier_exactly_at_threshold_is_listed() -> None:
    # 2 knife events in 24 months, 1 as offender, latest 364 days ago (within 365): listed, as long as
    # someone reviewed the entry in the last 90 days (without a review it expired 364 - 90 = 274 days ago).
    invs = [_knife("SYN-T1", "offender", 700), _knife("SYN-T1", "suspect", 364)]
    assert build_list(ListKind.KNIFE, invs, as_of=AS_OF) == []
    [entry] = build_list(ListKind.KNIFE, invs, as_of=AS_OF, reviews={"SYN-T1": Review(AS_OF)})
    assert entry.score == 2
    assert entry.reasons[0].startswith("2 knife events in 24 months (1 as offender): ")


def test_knife_carrier_just_under_threshold_is_not_listed() -> None:
    one = [_knife("SYN-T1", "offender", 10)]
    both_suspect = [_knife("SYN-T2", "suspect", 10), _knife("SYN-T2", "suspect", 20)]
    one_outside = [_knife("SYN-T3", "offender", 10), _knife("SYN-T3", "offender", 730)]
    stale = [_knife("SYN-T4", "offender", 365), _knife("SYN-T4", "offender", 400)]
    reviewed = {f"SYN-T{n}": Review(AS_OF) for n in range(1, 5)}  # all reviewed today: only the rule decides
    assert (
        build_list(ListKind.KNIFE, one + both_suspect + one_outside + stale, as_of=AS_OF, reviews=reviewed)
        == []
    )


def test_knife_possession_code_counts_even_without_weapon_flag() -> None:
    invs = [inv(days_ago=3, code="10D", harm=273.75), inv(days_ago=40, code="10D", harm=273.75)]
    assert len(build_list(ListKind.KNIFE, invs, as_of=AS_OF)) == 1
    # ... but the same events make no harm score: police-discovered possession is excluded.
    assert harm_score(invs, as_of=AS_OF) == 0


def test_knife_rule_is_configurable() -> None:
    invs = [_knife("SYN-T1", "offender", 10), _knife("SYN-T1", "offender", 20)]
    assert build_list(ListKind.KNIFE, invs, as_of=AS_OF, rules=Rules(knife_min_events=3)) == []


# ------------------------------------------------------------------------------------------ victims


def test_repeat_and_vulnerable_victims() -> None:
    # A: 2 domestic victimisations of 10 days each in 12 months -> repeat (harm 20) and vulnerable (domestic).
    # B: 1 robbery victimisation, 365 days -> not repeat, vulnerable (high harm).
    # C: 2 victimisations, one 400 days ago -> not repeat, not vulnerable.
    invs = [
        inv("SYN-TA", "victim", 5, code="105A", harm=10.0, domestic=True),
        inv("SYN-TA", "victim", 50, code="105A", harm=10.0, domestic=True),
        inv("SYN-TB", "victim", 5, code="34B", harm=365.0),
        inv("SYN-TC", "victim", 5, code="105A", harm=10.0),
        inv("SYN-TC", "victim", 400, code="105A", harm=10.0),
    ]
    repeat = build_list(ListKind.REPEAT_VICTIM, invs, as_of=AS_OF)
    assert [(e.person_id, e.score) for e in repeat] == [("SYN-TA", 20.0)]
    assert repeat[0].reasons[0].startswith("victim 2 times in 12 months (harm 20 CCHI days): ")
    vulnerable = build_list(ListKind.VULNERABLE, invs, as_of=AS_OF)
    assert [(e.person_id, e.score) for e in vulnerable] == [("SYN-TB", 365.0), ("SYN-TA", 20.0)]
    assert "domestic abuse" in vulnerable[1].reasons[0]
    assert "high-harm" in vulnerable[0].reasons[0]


def test_victim_offender_overlap() -> None:
    invs = [
        inv("SYN-TA", "victim", 5, harm=10.0),
        inv("SYN-TA", "suspect", 100, harm=20.0),
        inv("SYN-TB", "victim", 5, harm=10.0),
        inv("SYN-TC", "victim", 5, harm=10.0),
        inv("SYN-TC", "offender", 800, harm=10.0),  # outside 24 months
    ]
    [entry] = build_list(ListKind.VICTIM_OFFENDER, invs, as_of=AS_OF)
    assert entry.person_id == "SYN-TA" and entry.score == 30.0
    assert entry.reasons[0].startswith("both victim and offender in 24 months: victim 1 times")


# ---------------------------------------------------------------------------------- review and expiry


def test_review_date_and_expiry() -> None:
    # Last event 2026-06-01; review due 2026-06-01 + 90 days = 2026-08-30.
    rules = Rules()
    last = date(2026, 6, 1)
    assert review_due(last, None, rules) == date(2026, 8, 30)
    assert is_current(last, None, as_of=date(2026, 8, 30), rules=rules)
    assert not is_current(last, None, as_of=date(2026, 8, 31), rules=rules)
    # Reviewed and kept on 2026-08-15: due 2026-08-15 + 90 = 2026-11-13.
    kept = Review(date(2026, 8, 15), keep=True)
    assert review_due(last, kept, rules) == date(2026, 11, 13)
    assert is_current(last, kept, as_of=date(2026, 9, 1), rules=rules)
    # Removed on 2026-08-15: off the lists, until an event after the removal.
    removed = Review(date(2026, 8, 15), keep=False)
    assert not is_current(last, removed, as_of=date(2026, 8, 16), rules=rules)
    assert is_current(date(2026, 8, 20), removed, as_of=date(2026, 8, 21), rules=rules)


def test_expired_entries_drop_off_lists() -> None:
    invs = [inv("SYN-TA", days_ago=91), inv("SYN-TB", days_ago=90)]
    # A's entry was due for review 1 day ago, B's is due today.
    assert [e.person_id for e in build_list(ListKind.HARM, invs, as_of=AS_OF)] == ["SYN-TB"]
    reviews = {"SYN-TA": Review(AS_OF - timedelta(days=1)), "SYN-TB": Review(AS_OF, keep=False)}
    assert [e.person_id for e in build_list(ListKind.HARM, invs, as_of=AS_OF, reviews=reviews)] == ["SYN-TA"]
    # The overdue list is what reviewers must look at: A (past due, never removed) before any review;
    # after the reviews, B (removed) is on neither list and A (kept) is current again.
    assert [e.person_id for e in build_list(ListKind.HARM, invs, as_of=AS_OF, overdue=True)] == ["SYN-TA"]
    assert build_list(ListKind.HARM, invs, as_of=AS_OF, reviews=reviews, overdue=True) == []
    # entries_for_person reports the entry whatever its review state, with its due date.
    assert entries_for_person([invs[0]], as_of=AS_OF)[ListKind.HARM].review_due == AS_OF - timedelta(days=1)


def test_bad_rules_are_refused_with_the_name() -> None:
    with pytest.raises(ConfigError, match="half_life_days"):
        Rules(half_life_days=0)
    with pytest.raises(ConfigError, match="knife_min_proven"):
        Rules(knife_min_events=2, knife_min_proven=3)


# ------------------------------------------------------------------------------------------ invariants

ROLES = st.sampled_from(["victim", "suspect", "offender"])
involvement = st.builds(
    inv,
    pid=st.sampled_from(["SYN-TA", "SYN-TB", "SYN-TC"]),
    role=ROLES,
    days_ago=st.integers(0, 900),
    code=st.sampled_from(["8N", "105A", "10D", "34B"]),
    harm=st.one_of(st.none(), st.floats(0, 5000)),
    knife=st.booleans(),
    domestic=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(involvement, max_size=12), st.integers(0, 900), st.floats(0, 5000), ROLES)
def test_score_never_falls_when_a_harmful_offence_is_added(
    invs: list[Involvement], days_ago: int, harm: float, role: str
) -> None:
    added = inv("SYN-TA", role, days_ago, ref="R-ADDED", harm=harm)
    mine = [i for i in invs if i.person_id == "SYN-TA"]
    assert harm_score([*mine, added], as_of=AS_OF) >= harm_score(mine, as_of=AS_OF)


@settings(max_examples=100, deadline=None)
@given(st.lists(involvement, max_size=20), st.randoms(use_true_random=False))
def test_lists_are_deterministic_whatever_the_order(invs: list[Involvement], rnd: random.Random) -> None:
    shuffled = list(invs)
    rnd.shuffle(shuffled)
    for kind in ListKind:
        assert build_list(kind, invs, as_of=AS_OF) == build_list(kind, shuffled, as_of=AS_OF)
        overdue = build_list(kind, invs, as_of=AS_OF, overdue=True)
        assert overdue == build_list(kind, shuffled, as_of=AS_OF, overdue=True)
        assert all(e.review_due < AS_OF for e in overdue)


@settings(max_examples=100, deadline=None)
@given(st.lists(involvement, max_size=20))
def test_every_entry_has_reasons_and_a_review_date(invs: list[Involvement]) -> None:
    for kind in ListKind:
        for entry in build_list(kind, invs, as_of=AS_OF):
            assert entry.reasons and all(r.strip() for r in entry.reasons)
            assert entry.references
            assert entry.review_due >= AS_OF
            assert entry.score > 0 or kind != ListKind.HARM


def test_two_offenders_of_one_crime_both_score() -> None:
    # One robbery (365 days), two offenders, today: each scores 365; together they hold all the harm.
    a = inv("SYN-TA", ref="R-ROB", code="34B")
    b = inv("SYN-TB", ref="R-ROB", code="34B")
    out = build_list(ListKind.HARM, [a, b, a], as_of=AS_OF)  # the duplicate row of A counts once
    assert [(e.person_id, e.score) for e in out] == [("SYN-TA", 365.0), ("SYN-TB", 365.0)]
    assert harm_share(out, [a, b], as_of=AS_OF) == pytest.approx(1.0)


REVIEW = st.one_of(
    st.none(),
    st.builds(
        Review, reviewed_on=st.integers(0, 900).map(lambda d: AS_OF - timedelta(days=d)), keep=st.booleans()
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(involvement, max_size=24),
    st.dictionaries(st.sampled_from(["SYN-TA", "SYN-TB", "SYN-TC"]), REVIEW),
    st.integers(0, 400),
    st.integers(1, 3),
)
def test_the_monitorings_wordless_rules_agree_with_the_lists(
    invs: list[Involvement], reviews: dict[str, Review | None], back: int, top_k: int
) -> None:
    """``listed_people`` and ``last_events`` (what the monitoring page counts) give the people and last
    events the lists and entries give, on any date, with any reviews and a top-K cut that bites."""
    as_of = AS_OF - timedelta(days=back)
    rules = Rules(harm_top_k=top_k)
    known = {pid: r for pid, r in reviews.items() if r is not None and r.reviewed_on <= as_of}
    grouped = group_by_person(invs)
    for kind in ListKind:
        built = build_list_grouped(kind, grouped, as_of=as_of, rules=rules, reviews=known)
        assert listed_people(kind, grouped, as_of=as_of, rules=rules, reviews=known) == {
            e.person_id for e in built
        }
        # the monitoring checks each rule only for the people who could meet it on some date
        pool = could_be_listed(kind, grouped, rules=rules)
        assert listed_people(kind, pool, as_of=as_of, rules=rules, reviews=known) == {
            e.person_id for e in built
        }
        assert {pid for pid in grouped if kind in last_events(grouped[pid], as_of=as_of, rules=rules)} <= set(
            pool
        )
    for pid, own in grouped.items():
        entries = entries_for_person(own, as_of=as_of, rules=rules, review=known.get(pid))
        assert last_events(own, as_of=as_of, rules=rules) == {k: e.last_event for k, e in entries.items()}


def test_who_could_be_listed_leaves_out_those_no_date_can_list() -> None:
    """A victim only is never on the harm, knife or victim-offender lists; one slight victimisation makes
    no repeat or vulnerable victim; an offender with harm is a candidate for the harm list only."""
    grouped = group_by_person(
        [
            inv("SYN-TA", "victim", 10, ref="R-1", harm=2.0),
            inv("SYN-TB", "offender", 10, ref="R-2", code="105A", harm=100.0),
            inv("SYN-TC", "victim", 10, ref="R-3", harm=400.0),
            inv("SYN-TC", "victim", 20, ref="R-4", harm=5.0),
        ]
    )
    pools = {k: set(could_be_listed(k, grouped)) for k in ListKind}
    assert pools == {
        ListKind.HARM: {"SYN-TB"},
        ListKind.KNIFE: set(),
        ListKind.REPEAT_VICTIM: {"SYN-TC"},
        ListKind.VULNERABLE: {"SYN-TC"},
        ListKind.VICTIM_OFFENDER: set(),
    }
