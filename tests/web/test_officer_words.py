"""Officer-facing words (docs/style-guide.md): plain sentences from the figures, and no jargon outside the
briefing's "Details: the figures" fold (patrol API briefing, printed briefing sheet)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from rasure.hotspots.wording import endurance_sentence, officer_facts, rank_sentence, when_sentence
from rasure.hottimes import hot_times, peak_times
from rasure_web.analysis.models import HotSpot
from tests.web.test_patrol_routes import client_for, load_city, make_user

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "style-guide.md"


def jargon() -> list[str]:
    """The terms listed under "Words not to use" in the style guide (one place for the list)."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("## Words not to use", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^- `([^`]+)`", section, flags=re.MULTILINE)


def jargon_in(text: str) -> list[str]:
    """Listed terms found in ``text`` (whole words, any case)."""
    found = []
    for term in jargon():
        pattern = re.escape(term) if not term[-1].isalnum() else rf"\b{re.escape(term)}\b"
        if re.search(pattern, text, flags=re.IGNORECASE):
            found.append(term)
    return found


def test_the_style_guide_lists_the_jargon_and_the_check_finds_it() -> None:
    terms = jargon()
    assert {"CCHI", "Gi*", "endurance", "persistent", "neighbouring cells"} <= set(terms)
    assert jargon_in("harm 6,990 CCHI days; Endurance: persistent; Gi* z = 3.1") == [
        "CCHI",
        "Gi*",
        "z =",
        "endurance",
        "persistent",
    ]
    assert jargon_in("Hot for three years running. Cancelled events excellent.") == []


# --- the rules, one by one -------------------------------------------------------------------------


def test_rank_and_endurance_in_plain_words() -> None:
    assert rank_sentence(1, "night") == "The most harmful place in the area for serious violence at night."
    assert rank_sentence(3, "day").startswith("One of the three most harmful places")
    assert rank_sentence(7, "all").startswith("One of the ten most harmful places")
    assert rank_sentence(25, "all") == "One of the most harmful places in the area for serious violence."
    assert endurance_sentence("persistent", 3, 12) == "Hot for three years running."
    assert endurance_sentence("persistent", 6, 12) == "Hot in most of the last six years."
    assert endurance_sentence("emerging", 3, 12) == "Newly hot: it was not a hot spot in the years before."
    assert endurance_sentence("insufficient history", 3, 12) is None


def _peak(times: list[str]) -> Any:
    recs = pd.DataFrame(
        {"occurred_from": pd.to_datetime(times), "occurred_to": pd.NaT, "time_precision": "minute"}
    )
    return peak_times(hot_times(recs, day_start_hour=6))


def test_when_names_the_busiest_nights_and_says_when_it_is_a_rough_guide() -> None:
    # 2024-01-05 is a Friday; 00:30 on Saturday 6th still counts as Friday night (days run 06:00 to 06:00).
    fri_sat = ["2024-01-05 22:30", "2024-01-06 00:30", "2024-01-06 23:00", "2024-01-12 23:30"] * 6
    text = when_sentence(_peak([*fri_sat, "2024-01-08 14:00", "2024-01-09 15:00"]), "night")
    assert text.startswith("When: mostly Friday and Saturday nights, busiest 22:00 to 01:00.")
    assert "rough guide" not in text
    few = when_sentence(_peak(fri_sat[:6]), "all")
    assert few.startswith("When: mostly Friday and Saturday nights") and "Only six of these crimes" in few
    assert "only to the month" in when_sentence(None, "all")
    week = [f"2024-01-0{d} 14:00" for d in range(1, 8)] * 3  # every afternoon of one week, three times
    assert when_sentence(_peak(week), "all").startswith(
        "When: spread across the week, mostly in the daytime,"
    )
    assert when_sentence(_peak(week), "day").startswith("When: spread across the week, busiest ")


def test_officer_facts_carry_no_jargon_and_say_what_the_figures_mean() -> None:
    hs = {
        "period": "all",
        "rank": 2,
        "count": 96.4,
        "prev_count": 70,
        "persistence": "persistent",
        "patrol_areas": 3,
        "main_offences": [{"offence": "Violence and sexual offences", "share": 1.0}],
        "review_place": "On or near Police Station",
    }
    words = officer_facts(hs, peak=None)
    assert words[:3] == [
        "One of the three most harmful places in the area for serious violence.",
        "About 96 serious violent crimes here in the last year.",
        "All recorded as violence and sexual offences.",
    ]
    assert "Getting worse: 96 crimes against 70 in the year before." in words
    assert "Hot for three years running." in words
    assert any(w.startswith("Check with your supervisor") for w in words)
    assert "Bigger than most: three neighbouring 150 m squares. Patrol the whole outline." in words
    assert jargon_in(" ".join(words)) == []
    assert not any("When:" in w for w in officer_facts(hs, peak=None, times_known=False))


# --- what officers are shown ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("clock")
def test_briefing_api_and_sheet_have_no_jargon_outside_the_details_fold() -> None:
    load_city()
    officer = client_for(make_user("pc1"))
    supervisor = client_for(make_user("sup", role="supervisor"))
    spots = list(HotSpot.objects.all())
    assert spots and all(hs.officer_facts for hs in spots)
    assert any(jargon_in(" ".join(hs.facts)) for hs in spots)  # the analyst's figures are still there
    listed = officer.get("/api/patrol/hotspots/nearest", {"lat": 51.43, "lon": -1.13}).json()["hotspots"]
    assert listed
    for spot in listed:
        assert jargon_in(spot["name"] + " " + spot["summary"]) == []
        b = officer.get(f"/api/patrol/hotspots/{spot['id']}/briefing").json()
        assert b["plain_facts"] and jargon_in(" ".join(b["plain_facts"])) == [], b["plain_facts"]
        assert b["facts"]  # shown behind "Details: the figures"
    for hs in spots:
        page = supervisor.get(f"/dashboard/hotspots/{hs.pk}/sheet/")
        assert page.status_code == 200
        soup = BeautifulSoup(page.content, "html.parser")
        fold = soup.select_one("main details")
        assert fold is not None and fold.summary.get_text() == "Details: the figures"
        assert hs.facts[0] in fold.get_text()
        fold.decompose()
        assert jargon_in(soup.select_one("main").get_text(" ")) == [], hs.code


@pytest.mark.django_db
def test_a_run_stored_before_the_plain_words_gets_them_from_its_figures() -> None:
    load_city()
    hs = HotSpot.objects.order_by("period", "rank").first()
    assert hs is not None
    stored = hs.plain_facts
    HotSpot.objects.filter(pk=hs.pk).update(officer_facts=[])
    old = HotSpot.objects.get(pk=hs.pk).plain_facts
    assert old[:2] == stored[:2] and not any(w.startswith("When:") for w in old)
    assert jargon_in(" ".join(old)) == []
