"""Hot people, the safeguards added after the lists: erasing a person's entry (command and administrator's
page), monitoring the lists (page and ``rasure people monitor --json``), paging the list. The access matrix
covers every new URL for every role; every allowed view of people adds exactly one access-log row. Every
person here is built by the test (tests.web.test_people's fixture) and marked synthetic."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from rasure_web.accounts.chain import verify_chain
from rasure_web.accounts.models import AccessLog
from rasure_web.cli import main
from rasure_web.crimes.models import CrimePersonLink, CrimeRecord, Person
from rasure_web.people.models import PersonReview, ProblemSolvingPlan
from tests.web.test_people import people

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]  # today = 2026-11-18 (TEST_NOW)
__all__ = ["people"]

REASON = "DPO decision DPO-2026-017: the force removed this person from its records"


def make(name: str, *roles: str, intelligence: bool = False, superuser: bool = False) -> User:
    u = User.objects.create_user(username=name, password="a-long-test-password", is_superuser=superuser)
    for role in roles:
        u.groups.add(Group.objects.get(name=role))
    if intelligence:
        u.user_permissions.add(
            Permission.objects.get(content_type__app_label="people", codename="intelligence")
        )
    return u


def client(user: User | None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


ROLES = {
    "officer": lambda: make("t-officer", "officer", intelligence=True),
    "supervisor": lambda: make("t-supervisor", "supervisor"),
    "supervisor-intel": lambda: make("t-supervisor-intel", "supervisor", intelligence=True),
    "analyst": lambda: make("t-analyst", "analyst"),
    "analyst-intel": lambda: make("t-analyst-intel", "analyst", intelligence=True),
    "partner": lambda: make("t-partner", "partner", intelligence=True),
    "admin": lambda: make("t-admin", "admin"),
    "superuser": lambda: make("t-superuser", superuser=True),
    "anonymous": lambda: None,
}
#: status of GET /dashboard/people/monitor/ and /dashboard/people/erase/ for each role (302: to sign in)
EXPECTED = {
    "officer": (403, 403),
    "supervisor": (403, 403),
    "supervisor-intel": (200, 403),
    "analyst": (403, 403),
    "analyst-intel": (200, 403),
    "partner": (403, 403),
    "admin": (403, 200),
    "superuser": (403, 200),
    "anonymous": (302, 302),
}


def entries() -> list[AccessLog]:
    """Access-log entries other than signing in."""
    return list(AccessLog.objects.exclude(resource="session").order_by("seq"))


@pytest.mark.parametrize("role", list(ROLES))
def test_access_matrix_for_the_new_pages(people: dict[str, Person], role: str) -> None:
    c = client(ROLES[role]())
    monitor, erase = EXPECTED[role]
    resp = c.get("/dashboard/people/monitor/")
    assert resp.status_code == monitor
    if monitor == 302:
        assert resp["Location"].startswith("/accounts/login/")
    if monitor == 200:
        page = resp.content.decode()
        assert "Monitoring the hot-people lists" in page and "does not hold ethnicity" in page
        assert all(p.person_id not in page and p.display_name not in page for p in people.values())
        [row] = entries()
        assert (row.action, row.resource) == ("view", "people_monitor")
    else:
        assert entries() == []
    assert c.get("/dashboard/people/erase/").status_code == erase
    resp = c.post(
        "/dashboard/people/erase/", {"person_ref": "SYN-T-KNIFE", "reason": REASON, "confirm": "yes"}
    )
    assert resp.status_code == erase
    assert Person.objects.filter(person_id="SYN-T-KNIFE").exists() == (erase != 200)
    if erase == 200:
        [row] = entries()
        assert (row.action, row.resource, row.object_ref) == ("erase", "person", "SYN-T-KNIFE")


def test_cli_delete_erases_the_person_links_reviews_and_plan_and_logs_once(
    people: dict[str, Person], capsys: pytest.CaptureFixture[str]
) -> None:
    make("t-admin", "admin")
    knife = people["KNIFE"]
    PersonReview.objects.create(
        person=knife, reviewed_on="2026-11-15", username="t-x", decision="keep", note="Secret note 42"
    )
    ProblemSolvingPlan.objects.create(
        person=knife, owner="PS Synthetic", actions="Mentoring", review_date="2027-01-01", updated_by="t-x"
    )
    records = CrimeRecord.objects.count()
    before = len(entries())
    assert main(["people", "delete", "SYN-T-KNIFE", "--reason", REASON, "--user", "t-admin"]) == 0
    out = capsys.readouterr().out
    assert "erased SYN-T-KNIFE" in out and "2 link(s)" in out and "1 review(s)" in out and "plan" in out
    assert not Person.objects.filter(person_id="SYN-T-KNIFE").exists()
    assert not CrimePersonLink.objects.filter(person_id=knife.pk).exists()
    assert PersonReview.objects.count() == 0 and ProblemSolvingPlan.objects.count() == 0
    # the crimes stay (the force's records), and so does the co-suspect's link to T1
    assert CrimeRecord.objects.count() == records
    assert CrimePersonLink.objects.filter(person=people["CO"], record__reference="T1").exists()
    [row] = entries()[before:]
    assert (row.username, row.action, row.resource, row.object_ref) == (
        "t-admin",
        "erase",
        "person",
        "SYN-T-KNIFE",
    )
    assert REASON in row.detail and "command line" in row.detail
    # never what was erased: not the name, the crimes, the review's note or the plan
    for text in (knife.display_name, "T1", "T2", "Secret note 42", "Mentoring", "PS Synthetic"):
        assert text not in row.detail, text
    assert row.get_action_display() == "Erased (a person's entry, on a decision)"
    assert verify_chain().ok


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["SYN-T-NOBODY", "--reason", REASON, "--user", "t-admin"],
            "no person with reference 'SYN-T-NOBODY'",
        ),
        (["SYN-T-KNIFE", "--reason", "dpo", "--user", "t-admin"], "at least 10 characters"),
        (
            ["SYN-T-KNIFE", "--reason", REASON, "--user", "t-intel"],
            "refused: Erasing a person's entry is for",
        ),
        (["SYN-T-KNIFE", "--reason", REASON, "--user", "t-ghost"], "no active account 't-ghost'"),
    ],
    ids=["unknown-person", "no-real-reason", "not-an-administrator", "unknown-account"],
)
def test_cli_delete_refuses_cleanly_and_changes_nothing(
    people: dict[str, Person], capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    make("t-admin", "admin")
    make("t-intel", "analyst", intelligence=True)
    links = CrimePersonLink.objects.count()
    assert main(["people", "delete", *argv]) == 2
    assert message in capsys.readouterr().err
    assert Person.objects.count() == len(people) and CrimePersonLink.objects.count() == links
    assert entries() == []


def test_erase_page_asks_for_confirmation_and_reports_unknown_people(people: dict[str, Person]) -> None:
    c = client(make("t-admin", "admin"))
    page = c.get("/dashboard/people/erase/").content.decode()
    assert "cannot be undone" in page and "SYN-T-" not in page
    no_tick = c.post("/dashboard/people/erase/", {"person_ref": "SYN-T-HARM", "reason": REASON})
    assert no_tick.status_code == 400 and "Tick the box" in no_tick.content.decode()
    unknown = c.post(
        "/dashboard/people/erase/", {"person_ref": "SYN-T-NOBODY", "reason": REASON, "confirm": "yes"}
    )
    assert unknown.status_code == 400 and "no person with reference" in unknown.content.decode()
    assert Person.objects.count() == len(people) and entries() == []
    done = c.post(
        "/dashboard/people/erase/", {"person_ref": "SYN-T-HARM", "reason": REASON, "confirm": "yes"}
    )
    text = done.content.decode()
    assert done.status_code == 200 and "Erased SYN-T-HARM" in text and "1 link to crimes" in text
    [row] = entries()
    assert row.path == "/dashboard/people/erase/" and "web page" in row.detail
    # the erasure shows on the DPO's "who viewed whom" page for that reference
    assert "Erased (a person" in c.get("/dashboard/people/access/?person=SYN-T-HARM").content.decode()


def test_monitor_json_counts_the_hand_built_people(
    people: dict[str, Person], capsys: pytest.CaptureFixture[str]
) -> None:
    make("t-intel", "analyst", intelligence=True)
    make("t-plain", "analyst")
    assert main(["people", "monitor", "--user", "t-plain", "--json"]) == 2
    capsys.readouterr()
    assert main(["people", "monitor", "--user", "t-intel", "--json", "--months", "3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["as_of"] == "2026-11-18"
    assert [p["date"] for p in doc["series"]] == ["2026-09-30", "2026-10-31", "2026-11-18"]
    # knife carriers: OLD (T6, T7; latest 2026-08-01, due 2026-10-30) on 30 Sep; on 31 Oct OLD is overdue
    # and KNIFE has T1 (1 Oct) only; today KNIFE (T1, T2) is listed.
    assert [p["by_list"]["knife"] for p in doc["series"]] == [1, 0, 1]
    assert doc["review_status"]["knife"] == {"new": 1, "kept": 0, "overdue": 1, "removed": 0}
    assert doc["share_reviewed"]["knife"] == 0.0
    # today by area: KNIFE's crimes are in N1 (Test Area A); ELSE's T5 in N2 (Test Area B)
    assert doc["by_area_and_list"]["SYN-T-A"]["knife"] == 1
    assert doc["by_area_and_list"]["SYN-T-B"] == {
        "harm": 1,
        "knife": 0,
        "repeat_victim": 0,
        "vulnerable": 0,
        "victim_offender": 0,
    }
    assert doc["age_bands"]["listed"]["any"]["not recorded"] == doc["series"][-1]["total"]
    assert "does not hold ethnicity" in doc["protected_characteristics"]
    text = json.dumps(doc)
    assert all(p.person_id not in text and p.display_name not in text for p in people.values())
    [row] = entries()  # counts only, logged all the same, like the page
    assert (row.username, row.action, row.resource) == ("t-intel", "export", "people_monitor")


def test_list_pages_keep_filters_and_log_only_the_people_shown(
    people: dict[str, Person], settings: Any
) -> None:
    settings.RASURE_PEOPLE_PAGE_SIZE = 2
    c = client(make("t-intel", "analyst", intelligence=True))
    # harm list in Test Area A: HARM (1,825 days, 8 days ago), KNIFE (T1 365), CO (T1 as suspect, 182.5)
    first = c.get("/dashboard/people/?list=harm&area=SYN-T-A&reason=plan").content.decode()
    assert "People 1 to 2 of 3 (page 1 of 2)" in first
    assert "SYN-T-HARM" in first and "SYN-T-KNIFE" in first and "SYN-T-CO" not in first
    assert "?list=harm&amp;area=SYN-T-A&amp;reason=plan&amp;page=2" in first
    second = c.get("/dashboard/people/?list=harm&area=SYN-T-A&reason=plan&page=2").content.decode()
    assert "SYN-T-CO" in second and "SYN-T-HARM" not in second
    assert "<td>3</td>" in second  # numbered on from the first page
    assert 'aria-current="page">2<' in second
    one, two = AccessLog.objects.filter(resource="people_list").order_by("seq")
    assert one.detail.endswith("shown: SYN-T-HARM, SYN-T-KNIFE") and two.detail.endswith("shown: SYN-T-CO")
    # a search and the overdue filter are kept too; a page past the end shows the last one
    found = c.get("/dashboard/people/?list=harm&q=syn-t&overdue=&reason=plan&page=99").content.decode()
    assert "page 2 of 2" in found and "q=syn-t" in found and "page=1" in found
    assert AccessLog.objects.filter(resource="people_list").count() == 3
    # one page only: no page links
    settings.RASURE_PEOPLE_PAGE_SIZE = 50
    assert "Pages of the list" not in c.get("/dashboard/people/?list=harm&reason=plan").content.decode()
