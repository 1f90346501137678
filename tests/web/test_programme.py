"""The programme (S3–S6): outputs counted from the data, the register, training coverage, the model grid."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from rasure_web.accounts.models import Force, Organisation, Profile
from rasure_web.analysis.models import HotSpot
from rasure_web.cli import main
from rasure_web.patrols.models import Visit
from rasure_web.programme.demo import programme_demo_store
from rasure_web.programme.models import Course, Operation, StepStatus, TrainingRecord
from rasure_web.programme.services import outputs_window, programme_outputs, refresher_due, training_picture
from tests.city import TEST_NOW, store_city_with_hotspots
from tests.programme_data import visit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

TODAY = TEST_NOW.date()  # Wednesday 18 November 2026


def _user(name: str, role: str) -> User:
    u = User.objects.create_user(username=name, password=f"rasure-demo-{role}")
    u.groups.add(Group.objects.get_or_create(name=role)[0])
    return u


def test_window_is_full_weeks_before_this_one() -> None:
    assert outputs_window(date(2026, 11, 18), 12) == (date(2026, 8, 24), date(2026, 11, 15))
    assert outputs_window(date(2026, 11, 16), 1) == (date(2026, 11, 9), date(2026, 11, 15))  # a Monday
    assert outputs_window(date(2026, 11, 22), 1) == (date(2026, 11, 9), date(2026, 11, 15))  # a Sunday
    with pytest.raises(ValueError):
        outputs_window(date(2026, 11, 18), 0)


def test_refresher_due_is_calendar_months_later() -> None:
    assert refresher_due(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert refresher_due(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert refresher_due(date(2026, 5, 1), None) is None


def _scenario() -> dict[str, Any]:
    run = store_city_with_hotspots()
    hs = list(run.hotspots.order_by("period", "rank")[:2])
    force = Force.objects.get(code="DEMO")
    other = Force.objects.create(code="OTH", name="Other force")
    pcs = list(User.objects.filter(username__startswith="pc").order_by("username")[:5])
    outsider = _user("pc_other_force", "officer")
    Profile.objects.create(user=outsider, force=other)
    first, last = outputs_window(TODAY)
    # in the window: 7 ended visits by the demo force's officers and 2 by the other force's; outside
    # it (this week, and the day before the window) and open visits do not count
    for i in range(7):
        visit(pcs[i % len(pcs)], hs[i % 2], first + timedelta(days=i * 11), 15.0)
    visit(outsider, hs[0], last, 15.0)
    visit(outsider, hs[1], first, 15.0)
    visit(pcs[0], hs[0], TODAY, 15.0)
    visit(pcs[0], hs[0], first - timedelta(days=1), 15.0)
    visit(pcs[1], hs[1], first + timedelta(days=3), 15.0, status="open")
    course = Course.objects.create(
        force=force, name="Hot-spot policing", kind="hot_spot_policing", refresher_months=12
    )
    TrainingRecord.objects.create(
        course=course, user=pcs[0], attended_on=date(2025, 6, 1)
    )  # refresher overdue
    TrainingRecord.objects.create(
        course=course, user=pcs[0], attended_on=date(2025, 1, 1)
    )  # the same officer again
    TrainingRecord.objects.create(course=course, user=pcs[1], attended_on=date(2026, 6, 1))
    TrainingRecord.objects.create(
        course=course, attendee_name="Door supervisor", attended_on=date(2026, 6, 1)
    )
    analyst = _user("analyst", "analyst")
    TrainingRecord.objects.create(course=course, user=analyst, attended_on=date(2026, 6, 1))  # not an officer
    gone = _user("pc_left", "officer")
    gone.is_active = False
    gone.save()
    TrainingRecord.objects.create(course=course, user=gone, attended_on=date(2026, 6, 1))  # left the force
    council = Organisation.objects.create(code="COUNCIL", name="Demo Council", kind="council", force=force)
    school = Organisation.objects.create(code="SCHOOL", name="Demo School", kind="education", force=force)
    Organisation.objects.create(code="CHARITY", name="No users yet", kind="charity", force=force)
    Profile.objects.create(user=_user("council1", "partner"), organisation=council)
    Profile.objects.create(user=_user("council2", "partner"), organisation=council)
    Profile.objects.create(user=_user("school1", "partner"), organisation=school)
    Operation.objects.create(force=force, name="Funded", start=date(2026, 9, 1), budget_gbp=1000, aim="a")
    Operation.objects.create(force=force, name="Also funded", start=date(2026, 9, 1), budget_gbp=1, aim="b")
    Operation.objects.create(force=force, name="Unfunded", start=date(2026, 9, 1), budget_gbp=0, aim="c")
    return {"run": run}


def _expected(run: Any) -> dict[str, Any]:
    """The same six figures counted another way: plain Python over every row."""
    first, last = outputs_window(TODAY)
    ended = [v for v in Visit.objects.all() if v.status == "ended" and first <= v.trial_day <= last]
    police = {
        u.pk
        for u in User.objects.all()
        if u.is_active and {g.name for g in u.groups.all()} & {"officer", "supervisor"}
    }
    trained = {r.user_id for r in TrainingRecord.objects.all()} & police
    forces = set()
    for v in ended:
        p = Profile.objects.filter(user_id=v.officer_id).first()
        if p is not None and p.force_id is not None:
            forces.add(p.force_id)
    partners = set()
    for p in Profile.objects.all():
        if p.organisation_id and p.organisation.kind != "force" and p.user.is_active:
            partners.add(p.organisation_id)
    return {
        "officers_trained": len(trained),
        "patrols_per_week": round(len(ended) / 12, 1),
        "high_risk_areas": len([h for h in HotSpot.objects.all() if h.run.is_current]),
        "operations_funded": len([o for o in Operation.objects.all() if o.budget_gbp > 0]),
        "partners_engaged": len(partners),
        "forces_using": len(forces),
    }


def test_outputs_equal_counts_made_independently(capsys: pytest.CaptureFixture[str]) -> None:
    s = _scenario()
    expected = _expected(s["run"])
    # what the scenario was built to give, so the independent count is itself checked
    assert expected == {
        "officers_trained": 2,
        "patrols_per_week": round(9 / 12, 1),
        "high_risk_areas": HotSpot.objects.filter(run=s["run"]).count(),
        "operations_funded": 2,
        "partners_engaged": 2,
        "forces_using": 2,
    }
    out = programme_outputs(today=TODAY, all_forces=True)
    assert {k: out[k] for k in expected} == expected
    assert out["window"] == {"first_day": "2026-08-24", "last_day": "2026-11-15", "weeks": 12}
    assert out["all_forces"] is True and out["force"] is None
    assert main(["programme", "outputs", "--json", "--all-forces"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert {k: printed[k] for k in expected} == expected
    assert main(["programme", "outputs", "--all-forces"]) == 0
    out_text = capsys.readouterr().out
    assert "officers trained" in out_text and "across all forces (DEMO, OTH)" in out_text


def test_outputs_count_one_force_unless_all_are_asked_for(capsys: pytest.CaptureFixture[str]) -> None:
    s = _scenario()
    demo, oth = Force.objects.get(code="DEMO"), Force.objects.get(code="OTH")
    first, last = outputs_window(TODAY)
    # counted by hand from the scenario: the other force's officer patrolled the demo force's hot spots
    # twice in the window (those visits are the demo force's); it has no hot spots, operations,
    # partners or trained officers of its own
    ended_demo = [
        v
        for v in Visit.objects.filter(status="ended")
        if first <= v.trial_day <= last and v.hotspot.run.tenant_id == demo.pk
    ]
    assert len(ended_demo) == 9
    want_demo = {
        "officers_trained": 2,
        "patrols_per_week": round(9 / 12, 1),
        "high_risk_areas": HotSpot.objects.filter(run=s["run"]).count(),
        "operations_funded": 2,
        "partners_engaged": 2,
        "forces_using": 1,
        "force": "DEMO",
        "all_forces": False,
    }
    want_oth = {
        "officers_trained": 0,
        "patrols_per_week": 0.0,
        "high_risk_areas": 0,
        "operations_funded": 0,
        "partners_engaged": 0,
        "forces_using": 1,  # its officer recorded visits (in the demo force's hot spots)
        "force": "OTH",
        "all_forces": False,
    }
    for force, want in ((demo, want_demo), (oth, want_oth)):
        out = programme_outputs(today=TODAY, force_id=force.pk)
        assert {k: out[k] for k in want} == want
        assert main(["programme", "outputs", "--json", "--force", force.code.lower()]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert {k: printed[k] for k in want} == want
    assert main(["programme", "outputs", "--force", "OTH"]) == 0
    assert "Programme outputs of force OTH" in capsys.readouterr().out
    # two forces and neither --force nor --all-forces: the command stops and lists the codes
    assert main(["programme", "outputs"]) == 2
    err = capsys.readouterr().err
    assert "DEMO, OTH" in err and "--force" in err
    with pytest.raises(ValueError):
        programme_outputs(today=TODAY)
    with pytest.raises(SystemExit):  # both at once is wrong usage
        main(["programme", "outputs", "--force", "DEMO", "--all-forces"])


def test_training_coverage_per_lpa_and_overdue_refreshers() -> None:
    _scenario()
    pic = training_picture(today=TODAY)
    total_officers = sum(r.officers for r in pic.by_lpa)
    assert (
        total_officers
        == User.objects.filter(is_active=True, groups__name__in=["officer", "supervisor"]).count()
    )
    assert sum(r.trained for r in pic.by_lpa) == 2
    # pc0's latest attendance (1 June 2025) + 12 months is before 18 November 2026; pc1's is not
    assert sum(r.refreshers_overdue for r in pic.by_lpa) == 1
    assert pic.non_police_attendances == 1


def test_programme_page_for_supervisors_not_officers_or_partners() -> None:
    store_city_with_hotspots()
    programme_demo_store(today=TODAY)
    assert programme_demo_store(today=TODAY) == "programme examples already present"
    assert Operation.objects.filter(synthetic=True).count() == 3
    assert StepStatus.objects.exists()
    users = {role: _user(role, role) for role in ("supervisor", "officer", "partner")}
    c = Client()
    c.force_login(users["supervisor"])
    page = c.get("/programme/")
    assert page.status_code == 200
    html = page.content.decode()
    for text in (
        "Operations register",
        "Operation Lantern (synthetic)",
        "Training",
        "Delivery model",
        "Officers trained",
    ):
        assert text in html
    op = Operation.objects.get(name="Operation Lantern (synthetic)")
    detail = c.get(f"/programme/operations/{op.pk}/").content.decode()
    assert "Night-time economy" in detail and "High-visibility foot patrols" in detail
    for role in ("officer", "partner"):
        c = Client()
        c.force_login(users[role])
        assert c.get("/programme/").status_code == 403


def test_a_partner_engages_with_the_force_it_has_an_agreement_with(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A regional partner of no force counts for a force once it signs a data-sharing agreement with it,
    and only for that force."""
    from rasure_web.partners.models import DataSharingAgreement

    _scenario()
    oth = Force.objects.get(code="OTH")
    vru = Organisation.objects.create(code="VRU", name="Regional VRU", kind="vru", force=None)
    Profile.objects.create(user=_user("vru1", "partner"), organisation=vru)
    demo_id = Force.objects.get(code="DEMO").pk
    assert programme_outputs(today=TODAY, force_id=oth.pk)["partners_engaged"] == 0
    DataSharingAgreement.objects.create(
        reference="DSA-OTH-1",
        organisation=vru,
        tenant=oth,
        purpose="violence reduction planning",
        starts_on=date(2026, 1, 1),
        expires_on=date(2027, 12, 31),
        signed_off_by="Data protection officer",
        signed_off_on=date(2025, 12, 1),
    )
    assert programme_outputs(today=TODAY, force_id=oth.pk)["partners_engaged"] == 1
    assert programme_outputs(today=TODAY, force_id=demo_id)["partners_engaged"] == 2
    assert programme_outputs(today=TODAY, all_forces=True)["partners_engaged"] == 3


def test_the_programme_page_shows_only_the_acting_forces_operations_teams_and_steps() -> None:
    """Two forces: a supervisor of one sees its operations register, training picture and delivery
    model, never the other force's (their names would give away another force's operations)."""
    from rasure_web.accounts.models import Team
    from rasure_web.programme.models import ModelStep

    _scenario()
    demo, oth = Force.objects.get(code="DEMO"), Force.objects.get(code="OTH")
    Operation.objects.create(force=oth, name="OTH covert op", start=date(2026, 9, 1), budget_gbp=5, aim="x")
    Team.objects.create(force=oth, code="OTH-T1", name="OTH response team", kind="response")
    Team.objects.create(force=demo, code="DEMO-T1", name="Demo response team", kind="response")
    ModelStep.objects.create(force=oth, number=1, name="OTH step one")
    ModelStep.objects.create(force=demo, number=1, name="Demo step one")
    sup = _user("sup-demo", "supervisor")
    Profile.objects.create(user=sup, force=demo)
    c = Client()
    c.force_login(sup)
    html = c.get("/programme/").content.decode()
    assert "Funded" in html and "Demo response team" in html and "Demo step one" in html
    assert "OTH covert op" not in html and "OTH response team" not in html and "OTH step one" not in html
    # the services still count every force when asked to (the command line's --all-forces)
    assert any(t.name == "OTH response team" for t in training_picture(today=TODAY).by_team)
    assert not any(
        t.name == "OTH response team" for t in training_picture(today=TODAY, force_id=demo.pk).by_team
    )
