"""An institution's own prevention plan (D5, issue 11 part 5): figures, places it dominates, plan edits.

Crimes are scattered around synthetic institutions by a seeded generator; the expected figures are
counted here with plain distance and date comparisons, not with the code under test.
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from rasure_web.analysis.institution_plans import Window, institution_figures
from rasure_web.analysis.models import (
    AnalysisRun,
    Institution,
    InstitutionPlan,
    InstitutionPlanVersion,
    PlaceDecision,
)
from rasure_web.crimes.models import CrimeRecord
from tests.city import TEST_NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

E, N = 451_000.0, 206_000.0  # the synthetic prison's point (BNG metres)
WINDOW = Window(date(2025, 11, 1), date(2026, 10, 31))
CATEGORIES = ["Violence and sexual offences", "Public order", "Drugs", ""]


def _user(name: str, role: str) -> User:
    u = User.objects.create_user(name)
    u.groups.add(Group.objects.get_or_create(name=role)[0])
    return u


@pytest.fixture
def scene() -> dict[str, Any]:
    prison = Institution.objects.create(
        name="HMP Synthetic Vale", type="prison", easting=E, northing=N, radius_m=25.0, synthetic=True
    )
    square = {
        "type": "Polygon",
        "coordinates": [[[E + 500, N], [E + 600, N], [E + 600, N + 100], [E + 500, N + 100], [E + 500, N]]],
    }
    hospital = Institution.objects.create(
        name="Synthetic General Hospital",
        type="hospital",
        easting=E + 550,
        northing=N + 50,
        geometry_geojson=json.dumps(square),
        synthetic=True,
    )
    rng = random.Random(20261118)
    records = []
    for k in range(400):
        x = E + rng.uniform(-60, 660)
        y = N + rng.uniform(-60, 160)
        day = date(2024, 11, 1) + timedelta(days=rng.randrange(0, 730))
        records.append(
            CrimeRecord(
                source="synthetic",
                reference=f"SYN-{k}",
                category=rng.choice(CATEGORIES),
                occurred_from=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
                time_precision="exact",
                easting=x,
                northing=y,
                serious_violence=rng.random() < 0.4,
                harm_days=rng.choice([None, 1.0, 30.0, 365.0]),
            )
        )
    CrimeRecord.objects.bulk_create(records)
    AnalysisRun.objects.create(
        params={"cell_size_m": 150.0},
        seed=1,
        version="test",
        input_sha256="0" * 64,
        records_in_window=len(records),
        window_start=WINDOW.start,
        window_end=WINDOW.end,
        held_out=[
            {
                "period": "night",
                "institution": prison.name,
                "dominant_location": "On or near Prison",
                "easting": E,
                "northing": N,
                "count": 41.0,
                "harm": 900.0,
                "exclusion_reason": "a prison holds 80% of the harm",
            },
            {
                "period": "day",
                "institution": None,
                "dominant_location": "Police Station",
                "easting": E + 3000,
                "northing": N,
                "count": 20.0,
                "harm": 100.0,
                "exclusion_reason": "recording address",
            },
        ],
        is_current=True,
    )
    PlaceDecision.objects.create(
        location="On or near Prison", easting=E + 10, northing=N, decision="keep_out"
    )
    return {"prison": prison, "hospital": hospital, "records": records}


def _expected(records: list[CrimeRecord], inside: Any, window: Window) -> dict[str, Any]:
    def in_window(r: CrimeRecord, w: Window) -> bool:
        assert r.occurred_from is not None
        return w.start <= r.occurred_from.date() <= w.end

    now = [r for r in records if inside(r) and in_window(r, window)]
    before = [r for r in records if inside(r) and in_window(r, window.previous)]
    by: dict[str, int] = {}
    for r in now:
        by[r.category or "Not given"] = by.get(r.category or "Not given", 0) + 1
    return {
        "crimes": len(now),
        "sv": sum(r.serious_violence for r in now),
        "harm": sum(r.harm_days or 0.0 for r in now),
        "previous": len(before),
        "previous_harm": sum(r.harm_days or 0.0 for r in before),
        "by": by,
    }


def _check(f: dict[str, Any], want: dict[str, Any]) -> None:
    assert f["crimes"] == want["crimes"] > 0
    assert f["serious_violence"] == want["sv"]
    assert f["harm"] == pytest.approx(want["harm"])
    assert (f["previous_crimes"], f["previous_harm"]) == (
        want["previous"],
        pytest.approx(want["previous_harm"]),
    )
    assert {c["category"]: c["crimes"] for c in f["by_category"]} == want["by"]


def test_figures_of_a_point_institution_match_an_independent_count(scene: dict[str, Any]) -> None:
    def near(r: CrimeRecord) -> bool:
        return math.hypot(r.easting - E, r.northing - N) <= 25.0  # type: ignore[operator]

    f = institution_figures(scene["prison"])
    assert f["window"] == WINDOW and WINDOW.previous == Window(date(2024, 11, 1), date(2025, 10, 31))
    _check(f, _expected(scene["records"], near, WINDOW))
    assert [p["location"] for p in f["places"]] == ["On or near Prison"]
    assert f["places"][0]["decision"] == "keep_out"
    assert [d.location for d in f["decisions"]] == ["On or near Prison"]


def test_figures_of_a_footprint_institution_match_an_independent_count(scene: dict[str, Any]) -> None:
    def inside(r: CrimeRecord) -> bool:
        return E + 500 <= r.easting <= E + 600 and N <= r.northing <= N + 100  # type: ignore[operator]

    f = institution_figures(scene["hospital"])
    _check(f, _expected(scene["records"], inside, WINDOW))
    assert f["places"] == []


def test_who_may_see_and_edit(scene: dict[str, Any]) -> None:
    pk = scene["prison"].pk
    url = f"/dashboard/institutions/{pk}/"
    post = {
        "owner": "Head of security (synthetic)",
        "actions": "Weekly meeting",
        "review_date": "2027-01-31",
        "status": "active",
        "version": "0",
    }
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    for role in ("officer", "partner", "researcher"):
        c = Client()
        c.force_login(_user(f"u_{role}", role))
        assert c.get(url).status_code == 403 and c.get("/dashboard/institutions/").status_code == 403
        assert c.post(url, post).status_code == 403
    c = Client()
    c.force_login(_user("sgt", "supervisor"))
    page = c.get(url)
    assert page.status_code == 200 and "Save the plan" not in page.content.decode()
    assert c.post(url, post).status_code == 403 and not InstitutionPlan.objects.exists()
    listing = c.get("/dashboard/institutions/").content.decode()
    assert "HMP Synthetic Vale" in listing
    for role in ("analyst", "admin"):
        c = Client()
        c.force_login(_user(f"u2_{role}", role))
        assert "Save the plan" in c.get(url).content.decode()
        assert 'href="/dashboard/institutions/"' in c.get("/dashboard/review/").content.decode()
    assert Client().get("/dashboard/institutions/").status_code == 302


def test_plan_edit_keeps_history(scene: dict[str, Any]) -> None:
    inst = scene["prison"]
    url = f"/dashboard/institutions/{inst.pk}/"
    c = Client()
    c.force_login(_user("ana", "analyst"))
    first = {
        "owner": "Head of security (synthetic)",
        "actions": "Weekly meeting\n\n  Search visitors  ",
        "review_date": "31/01/2027",
        "status": "active",
        "version": "0",
    }
    r = c.post(url, first)
    assert r.status_code == 302 and r["Location"] == f"{url}?saved=1"
    plan = InstitutionPlan.objects.get()
    assert (plan.name, plan.type, plan.version) == (inst.name, "prison", 1)
    assert plan.action_lines == ["Weekly meeting", "Search visitors"] and plan.review_date == date(
        2027, 1, 31
    )
    assert TEST_NOW <= plan.updated_at < TEST_NOW + timedelta(minutes=1) and plan.updated_by == "ana"
    r = c.post(url, {**first, "owner": "Governor (synthetic)", "status": "review", "version": "1"})
    assert r.status_code == 302
    versions = list(
        InstitutionPlanVersion.objects.order_by("version").values_list("version", "owner", "status")
    )
    assert versions == [(1, "Head of security (synthetic)", "active"), (2, "Governor (synthetic)", "review")]
    page = c.get(url).content.decode()
    assert "Governor (synthetic)" in page and "History" in page and "Head of security (synthetic)" in page
    # the register reloaded (rows deleted and created again): the plan is still found by name and type
    Institution.objects.all().delete()
    again = Institution.objects.create(name=inst.name, type="prison", easting=E, northing=N)
    assert "Governor (synthetic)" in c.get(f"/dashboard/institutions/{again.pk}/").content.decode()


def test_views_are_access_logged(scene: dict[str, Any]) -> None:
    from rasure_web.accounts.models import AccessLog

    c = Client()
    c.force_login(_user("ana", "analyst"))
    assert c.get("/dashboard/institutions/").status_code == 200
    assert c.get(f"/dashboard/institutions/{scene['prison'].pk}/").status_code == 200
    refs = list(AccessLog.objects.filter(resource="institution_plan").values_list("object_ref", flat=True))
    assert sorted(refs) == ["", str(scene["prison"].pk)]


def test_plan_validation_errors_save_nothing(scene: dict[str, Any]) -> None:
    url = f"/dashboard/institutions/{scene['prison'].pk}/"
    c = Client()
    c.force_login(_user("ana", "analyst"))
    good = {
        "owner": "Head of security (synthetic)",
        "actions": "Weekly meeting",
        "review_date": "2027-01-31",
        "status": "active",
        "version": "0",
    }
    cases = [
        ({"owner": ""}, "Give the plan an owner"),
        ({"actions": "  \n  "}, "Write at least one action"),
        ({"review_date": "2026-11-17"}, "The review date is in the past; choose 18/11/2026 or later"),
        ({"review_date": "next week"}, "Write the date as 31/01/2027"),
        ({"status": "finished"}, "Select a valid choice"),
    ]
    for change, message in cases:
        r = c.post(url, {**good, **change})
        assert r.status_code == 400 and message in r.content.decode(), change
    assert not InstitutionPlan.objects.exists()
    assert c.post(url, good).status_code == 302
    stale = c.post(url, {**good, "owner": "Someone else (synthetic)", "version": "0"})
    assert stale.status_code == 409 and "Not saved" in stale.content.decode()
    assert InstitutionPlan.objects.get().owner == "Head of security (synthetic)"
    assert InstitutionPlanVersion.objects.count() == 1
    assert c.get("/dashboard/institutions/999999/").status_code == 404


def _crime(
    ref: str, day: date, *, sv: bool = False, harm: float | None = None, text: str = ""
) -> CrimeRecord:
    return CrimeRecord.objects.create(
        source="synthetic",
        reference=ref,
        category="Violence and sexual offences",
        occurred_from=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
        time_precision="exact",
        easting=E + 5,
        northing=N,
        location_text=text or None,
        serious_violence=sv,
        harm_days=harm,
    )


def test_the_page_shows_the_same_days_a_year_earlier_and_names_as_stored() -> None:
    """Hand-counted: a two-month window (September and October 2026), its 61 days before, and the
    same two months of 2025; place names as the records spell them; the kind said once."""
    hospital = Institution.objects.create(
        name="Vale General Hospital A&E (synthetic hospital)",
        type="hospital",
        easting=E,
        northing=N,
        radius_m=50.0,
        synthetic=True,
    )
    window = Window(date(2026, 9, 1), date(2026, 10, 31))
    assert window.previous == Window(date(2026, 7, 2), date(2026, 8, 31))
    assert window.year_earlier == Window(date(2025, 9, 1), date(2025, 10, 31))
    shout = "ON OR NEAR ST JOHN'S ROAD"
    _crime("now-1", date(2026, 9, 1), sv=True, harm=30.0, text=shout)
    _crime("now-2", date(2026, 10, 31), harm=1.0, text=shout)
    _crime("now-3", date(2026, 10, 2), sv=True, text="on or near St John's Road")
    _crime("before-1", date(2026, 8, 31), harm=365.0)
    _crime("year-1", date(2025, 9, 1), sv=True, harm=30.0)
    _crime("year-2", date(2025, 10, 31), harm=365.0)
    _crime("outside-1", date(2025, 8, 31), sv=True, harm=1.0)  # the day before the year-earlier window
    _crime("outside-2", date(2025, 11, 1), sv=True, harm=1.0)  # the day after it
    f = institution_figures(hospital, window=window)
    assert (f["crimes"], f["serious_violence"], f["harm"]) == (3, 2, 31.0)
    assert (f["previous_crimes"], f["previous_harm"]) == (1, 365.0)
    assert f["year_earlier"] == window.year_earlier and not f["year_earlier_is_previous"]
    assert (f["year_earlier_crimes"], f["year_earlier_serious_violence"], f["year_earlier_harm"]) == (
        2,
        1,
        395.0,
    )
    # a whole year's window: the days before are the same days a year earlier
    year = institution_figures(hospital, window=Window(date(2025, 11, 1), date(2026, 10, 31)))
    assert year["year_earlier_is_previous"] and year["year_earlier_crimes"] == year["previous_crimes"] == 3

    AnalysisRun.objects.create(
        params={"cell_size_m": 150.0},
        seed=1,
        version="test",
        input_sha256="0" * 64,
        records_in_window=8,
        window_start=window.start,
        window_end=window.end,
        held_out=[
            {
                "period": "day",
                "institution": hospital.name,
                "dominant_location": "on or near st john's road",  # the run's case-folded key
                "easting": E,
                "northing": N,
                "count": 3.0,
                "harm": 31.0,
                "exclusion_reason": "one location, 'on or near st john's road', holds 100% of the harm",
            }
        ],
        is_current=True,
    )
    PlaceDecision.objects.create(
        location="on or near st john's road", easting=E, northing=N, decision="keep_out"
    )
    c = Client()
    c.force_login(_user("ana", "analyst"))
    page = c.get(f"/dashboard/institutions/{hospital.pk}/").content.decode()
    assert "(synthetic hospital)</h1>" in page and "(hospital)" not in page
    # two records spell it in capitals, one in lower case: the capitals, in title case
    assert "<td>On or near St John&#x27;s Road</td>" in page
    assert "On or near St John&#x27;s Road: Keep out" in page
    assert "&#x27;On or near St John&#x27;s Road&#x27;, holds 100%" in page
    assert "on or near st john" not in page
    assert "1 in the 61 days before; 2 a year earlier" in page  # crimes
    assert "1 a year earlier" in page  # serious violence
    assert "the same days a year earlier (1 Sep 2025 to 31 Oct 2025)" in page
    # the places-held-apart page names the place as the records spell it too, not by the run's key
    review = c.get("/dashboard/review/").content.decode()
    assert "<td>On or near St John&#x27;s Road</td>" in review
    assert "Decision for On or near St John&#x27;s Road" in review
    assert "&#x27;On or near St John&#x27;s Road&#x27;, holds 100%" in review
    assert "on or near st john" not in review
    assert 'value="keep_out" checked' in review  # the decision, stored under the run's key, still matches
