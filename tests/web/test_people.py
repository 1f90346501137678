"""Hot-people pages and export: the access matrix, one access-log row per allowed view with its reason,
reviews and expiry, plans, the admin. Every person here is built by the test and marked synthetic."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.utils import timezone

from rasure_web.accounts.models import AccessLog
from rasure_web.cli import main
from rasure_web.crimes.models import Area, CrimePersonLink, CrimeRecord, Person
from rasure_web.people.models import PersonReview, ProblemSolvingPlan

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]  # today = 2026-11-18 (TEST_NOW)


def _when(day: str) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(f"{day}T21:00"))


def _crime(
    ref: str, day: str, *, code: str = "8N", harm: float = 365.0, weapon: str = "none", lsoa: str = "SYN-T-N1"
) -> CrimeRecord:
    return CrimeRecord.objects.create(
        source="test",
        reference=ref,
        offence_code=code,
        offence_description=f"Offence {code}",
        occurred_from=_when(day),
        time_precision="minute",
        weapon=weapon,
        knife_enabled=weapon == "knife",
        harm_days=harm,
        lsoa_code=lsoa,
        location_text=f"Synthetic Street {ref}",
        serious_violence=True,
    )


def _person(pid: str) -> Person:
    return Person.objects.create(
        person_id=pid, source="test", display_name=f"Test Person {pid[-4:]}", synthetic=True
    )


def _link(rec: CrimeRecord, person: Person, role: str) -> None:
    CrimePersonLink.objects.create(record=rec, person=person, role=role)


@pytest.fixture
def people() -> dict[str, Person]:
    lpa_a = Area.objects.create(kind="lpa", code="SYN-T-A", name="Test Area A", synthetic=True)
    lpa_b = Area.objects.create(kind="lpa", code="SYN-T-B", name="Test Area B", synthetic=True)
    Area.objects.create(kind="neighbourhood", code="SYN-T-N1", name="N1", parent=lpa_a, synthetic=True)
    Area.objects.create(kind="neighbourhood", code="SYN-T-N2", name="N2", parent=lpa_b, synthetic=True)
    p = {k: _person(f"SYN-T-{k}") for k in ("KNIFE", "HARM", "VICTIM", "ELSE", "CO", "OLD")}
    # OLD: knife carrier by rule, but the latest event (2026-08-01) was due for review on 2026-10-30.
    _link(_crime("T6", "2026-07-01", weapon="knife"), p["OLD"], "offender")
    _link(_crime("T7", "2026-08-01", weapon="knife"), p["OLD"], "offender")
    k1 = _crime("T1", "2026-10-01", weapon="knife")
    k2 = _crime("T2", "2026-11-01", code="10D", harm=273.75, weapon="knife")
    _link(k1, p["KNIFE"], "offender")
    _link(k1, p["CO"], "suspect")
    _link(k2, p["KNIFE"], "offender")
    h = _crime("T3", "2026-11-10", code="5D", harm=1825.0)
    _link(h, p["HARM"], "offender")
    _link(h, p["VICTIM"], "victim")
    _link(_crime("T4", "2026-11-12", code="105A", harm=10.0), p["VICTIM"], "victim")
    _link(_crime("T5", "2026-11-12", lsoa="SYN-T-N2"), p["ELSE"], "offender")
    return p


def _user(name: str, *roles: str, intelligence: bool = False, superuser: bool = False) -> User:
    u = User.objects.create_user(username=name, password="a-long-test-password", is_superuser=superuser)
    for role in roles:
        u.groups.add(Group.objects.get(name=role))
    if intelligence:
        u.user_permissions.add(
            Permission.objects.get(content_type__app_label="people", codename="intelligence")
        )
    return u


def _client(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _logged() -> list[AccessLog]:
    return list(
        AccessLog.objects.filter(resource__in=("people_list", "person", "people_export")).order_by("pk")
    )


def _urls(p: dict[str, Person]) -> list[str]:
    pk = p["KNIFE"].pk
    return [
        "/dashboard/people/?reason=plan",
        f"/dashboard/people/{pk}/?reason=plan",
        f"/dashboard/people/{pk}/review/",
        f"/dashboard/people/{pk}/plan/",
    ]


@pytest.mark.parametrize(
    "make",
    [
        lambda: _user("t-officer", "officer", intelligence=True),
        lambda: _user("t-partner", "partner", intelligence=True),
        lambda: _user("t-partner-analyst", "partner", "analyst", intelligence=True),
        lambda: _user("t-admin", "admin", superuser=True),
    ],
    ids=["officer", "partner", "partner-analyst", "superuser-admin"],
)
def test_refused_everywhere_with_a_readable_reason(people: dict[str, Person], make: Any) -> None:
    c = _client(make())
    for url in _urls(people):
        for resp in (c.get(url), c.post(url, {"reason": "plan"})):
            assert resp.status_code == 403, url
            assert "You cannot see this page" in resp.content.decode()
    assert _logged() == []


@pytest.mark.parametrize("role", ["analyst", "supervisor"])
def test_without_the_permission_numbers_only(people: dict[str, Person], role: str) -> None:
    c = _client(_user(f"t-{role}", role))
    page = c.get("/dashboard/people/?reason=plan").content.decode()
    assert "numbers only" in page and "intelligence" in page
    assert all(p.person_id not in page and p.display_name not in page for p in people.values())
    for url in _urls(people)[1:]:
        assert c.get(url).status_code == 403
    assert _logged() == []


def test_list_asks_why_then_logs_exactly_one_row(people: dict[str, Person]) -> None:
    c = _client(_user("t-intel", "analyst", intelligence=True))
    ask = c.get("/dashboard/people/?list=knife")
    assert "Why are you opening" in ask.content.decode()
    assert "SYN-T-KNIFE" not in ask.content.decode()
    assert _logged() == []
    page = c.get("/dashboard/people/?list=knife&reason=tasking").content.decode()
    assert "SYN-T-KNIFE" in page and "Synthetic people" in page
    # 2 knife events (T1 on 2026-10-01 and T2 on 2026-11-01), both as offender: listed, review by 2027-01-30.
    assert "2 knife events in 24 months (2 as offender)" in page and "2027-01-30" in page
    [row] = _logged()
    assert (row.username, row.action, row.resource, row.object_ref) == (
        "t-intel",
        "view",
        "people_list",
        "knife",
    )
    assert row.detail == "reason=tasking (Tasking or briefing decision); shown: SYN-T-KNIFE"


def test_harm_list_area_filter_and_search(people: dict[str, Person]) -> None:
    c = _client(_user("t-intel", "supervisor", intelligence=True))
    page = c.get("/dashboard/people/?list=harm&reason=plan").content.decode()
    # HARM 1,825 · 2^(-8/180) = 1,769 ranks above KNIFE (T1 only: T2 is possession found by police).
    assert page.index("SYN-T-HARM") < page.index("SYN-T-KNIFE")
    assert "SYN-T-ELSE" in page
    area = c.get("/dashboard/people/?list=harm&area=SYN-T-A&reason=plan").content.decode()
    assert "SYN-T-ELSE" not in area and "SYN-T-HARM" in area
    c.get("/dashboard/people/?list=harm&q=knife&reason=plan")
    last = _logged()[-1]
    assert last.action == "search" and last.detail.endswith("shown: SYN-T-KNIFE")
    assert len(_logged()) == 3


def test_person_page_shows_history_and_logs_one_row(people: dict[str, Person]) -> None:
    c = _client(_user("t-intel", "analyst", intelligence=True))
    pk = people["KNIFE"].pk
    assert "Why are you opening" in c.get(f"/dashboard/people/{pk}/").content.decode()
    assert _logged() == []
    page = c.get(f"/dashboard/people/{pk}/?reason=investigation").content.decode()
    for text in (
        "Habitual knife carriers",
        "T1",
        "T2",
        "Synthetic Street T1",
        "SYN-T-CO",
        "Synthetic person",
        "Never used",
    ):
        assert text in page, text
    [row] = _logged()
    assert (row.resource, row.object_ref) == ("person", "SYN-T-KNIFE")
    assert row.detail.startswith("reason=investigation")
    victim = c.get(f"/dashboard/people/{people['VICTIM'].pk}/?reason=safeguarding").content.decode()
    assert "Repeat victims" in victim and "Vulnerable victims" in victim and "Victim" in victim
    assert len(_logged()) == 2


def test_review_remove_takes_a_person_off_the_lists_and_plan_saves(people: dict[str, Person]) -> None:
    c = _client(_user("t-intel", "analyst", intelligence=True))
    pk = people["KNIFE"].pk
    resp = c.post(
        f"/dashboard/people/{pk}/review/",
        {"reason": "review", "decision": "remove", "note": "No longer carrying."},
    )
    assert resp.status_code == 302
    assert PersonReview.objects.get().decision == "remove"
    assert "SYN-T-KNIFE" not in c.get("/dashboard/people/?list=knife&reason=review").content.decode()
    # Removed by a review: not overdue either. HARM's entry (last event 2026-11-10) is not overdue yet.
    overdue = c.get("/dashboard/people/?list=knife&reason=review&overdue=1").content.decode()
    assert "overdue for review" in overdue and "SYN-T-KNIFE" not in overdue
    assert "SYN-T-OLD" in overdue and "2026-10-30" in overdue
    assert _logged()[-1].object_ref == "knife overdue"
    page = c.get(f"/dashboard/people/{pk}/?reason=review").content.decode()
    assert "off the list" in page and "No longer carrying." in page
    bad = c.post(f"/dashboard/people/{pk}/review/", {"reason": "review", "decision": "keep", "note": " "})
    assert "error=" in bad["Location"] and PersonReview.objects.count() == 1
    c.post(
        f"/dashboard/people/{pk}/plan/",
        {
            "reason": "plan",
            "owner": "PS Synthetic 1234",
            "partner_agencies": "Youth offending",
            "actions": "Mentoring",
            "review_date": "2027-01-15",
        },
    )
    plan = ProblemSolvingPlan.objects.get()
    assert c.post("/dashboard/people/999999/review/", {"decision": "keep", "note": "x"}).status_code == 404
    assert (plan.owner, plan.updated_by, str(plan.review_date)) == (
        "PS Synthetic 1234",
        "t-intel",
        "2027-01-15",
    )


def test_admin_has_no_person_pages(people: dict[str, Person]) -> None:
    admin = _user("t-super", "admin", superuser=True)
    User.objects.filter(pk=admin.pk).update(is_staff=True)
    c = _client(admin)
    assert c.get("/admin/crimes/crimerecord/").status_code == 200  # the admin works; people are not in it
    assert c.get("/admin/crimes/person/").status_code == 404
    assert c.get(f"/admin/crimes/person/{people['KNIFE'].pk}/change/").status_code == 404


def test_access_page_for_administrators(people: dict[str, Person]) -> None:
    intel = _client(_user("t-intel", "analyst", intelligence=True))
    intel.get(f"/dashboard/people/{people['HARM'].pk}/?reason=plan")
    assert intel.get("/dashboard/people/access/").status_code == 403
    admin = _client(_user("t-dpo", "admin"))
    page = admin.get("/dashboard/people/access/?person=SYN-T-HARM").content.decode()
    assert "t-intel" in page and "reason=plan" in page
    assert AccessLog.objects.filter(resource="people_access_log", username="t-dpo").count() == 1


def test_cli_export_needs_the_permission_and_a_reason_and_is_logged(
    people: dict[str, Person], capsys: pytest.CaptureFixture[str]
) -> None:
    _user("t-plain", "analyst")
    _user("t-intel", "analyst", intelligence=True)
    assert main(["people", "list", "--user", "t-plain", "--reason", "plan", "--json"]) == 2
    assert main(["people", "list", "--user", "t-intel", "--reason", "because", "--json"]) == 2
    assert _logged() == []
    capsys.readouterr()
    assert (
        main(["people", "list", "--user", "t-intel", "--reason", "plan", "--list", "repeat_victim", "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    # VICTIM: T3 (1,825 days) and T4 (10 days) within 12 months: repeat victim with harm 1,835.
    assert [(p["person_id"], p["score"], p["synthetic"]) for p in out["people"]] == [
        ("SYN-T-VICTIM", 1835.0, True)
    ]
    [row] = _logged()
    assert (row.action, row.resource, row.username) == ("export", "people_export", "t-intel")
    assert "reason=plan" in row.detail and "SYN-T-VICTIM" in row.detail


def test_the_synthetic_citys_people_are_listed_and_all_marked_synthetic() -> None:
    from tests.city import store_city

    store_city()
    c = _client(_user("t-intel", "analyst", intelligence=True))
    page = c.get("/dashboard/people/?list=harm&reason=audit").content.decode()
    assert "Synthetic people." in page
    [row] = _logged()
    shown = row.detail.split("shown: ")[1].split(", ")
    assert len(shown) == 20  # the top 20 (harm_top_k) on 2026-11-18
    assert set(Person.objects.filter(person_id__in=shown).values_list("synthetic", flat=True)) == {True}
    assert all(pid.startswith("SYN-P") for pid in shown)


def test_rules_come_from_the_setting(settings: Any) -> None:
    from rasure.errors import ConfigError
    from rasure_web.people.selectors import rules

    settings.RASURE_PEOPLE_RULES = {"review_days": 30, "knife_codes": ["10D", "10E"]}
    assert (rules().review_days, rules().knife_codes) == (30, frozenset({"10D", "10E"}))
    settings.RASURE_PEOPLE_RULES = {"review_dayz": 30}
    with pytest.raises(ConfigError, match="RASURE_PEOPLE_RULES"):
        rules()


def test_the_synthetic_city_leaves_the_planner_statistics_of_the_people_tables() -> None:
    """PostgreSQL: with the statistics of empty tables the involvements (links joined to records and
    people) were planned as a nested loop scanning every record once per link: the people list took 9 s
    and the monitoring 13 s on the test city instead of well under one. The store analyses them."""
    from django.db import connection

    from tests.city import store_city

    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps no planner statistics by default")
    store_city()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN ('crime_record', 'person', 'crime_person_link')"
        )
        estimated = dict(cur.fetchall())
    actual = {
        "crime_record": CrimeRecord.objects.count(),
        "person": Person.objects.count(),
        "crime_person_link": CrimePersonLink.objects.count(),
    }
    assert all(n > 1000 for n in actual.values())
    # ANALYZE samples 30,000 rows, so a bigger table's estimate is near its count, not equal to it;
    # never analysed, the estimate is -1 (0 before PostgreSQL 14)
    assert {t: estimated[t] > n / 2 for t, n in actual.items()} == dict.fromkeys(actual, True), (
        estimated,
        actual,
    )
