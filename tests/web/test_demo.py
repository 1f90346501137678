"""`rasure demo` (without the server): synthetic city, users per role, logins printed."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory

from rasure_web.crimes.models import Area, CrimeRecord, Person
from rasure_web.demo import demo_users, run_demo

pytestmark = pytest.mark.django_db


def test_demo_loads_synthetic_city_and_users(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(host="127.0.0.1", port=8000, serve=False, scale=0.3) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC DATA ONLY" in out and "http://127.0.0.1:8000/accounts/login/" in out
    # a synthetic partner organisation with a live agreement, the partner login in it, partner data
    assert "http://127.0.0.1:8000/partners/" in out
    from django.contrib.auth.models import User

    from rasure_web.partners.models import PartnerUpload
    from rasure_web.partners.selectors import agreement_for

    assert agreement_for(user=User.objects.get(username="partner")).reference == "DSA-DEMO-001"
    assert PartnerUpload.objects.get().rows > 50
    for username, password, _role in demo_users():
        assert password in out
        # django-axes (sign-in lockout) needs the request, as the sign-in form passes it.
        request = RequestFactory().post("/accounts/login/")
        assert authenticate(request, username=username, password=password) is not None
    assert CrimeRecord.objects.filter(source="synthetic").count() > 3000
    assert CrimeRecord.objects.exclude(source="synthetic").count() == 0
    assert Person.objects.filter(synthetic=False).count() == 0
    assert Area.objects.filter(kind="lpa").count() == 3
    sv = CrimeRecord.objects.filter(serious_violence=True)
    assert sv.filter(sv_basis="offence_code").count() == sv.count() > 0
    assert CrimeRecord.objects.filter(knife_enabled=True).exists()
    # one synthetic force, its organisation, teams for each LPA, profiles for the synthetic officers
    from rasure_web.accounts.models import Force, Profile, Team

    force = Force.objects.get()
    assert (force.code, force.synthetic) == ("DEMO", True) and "synthetic" in force.name
    lpas = set(Area.objects.filter(kind="lpa").values_list("code", flat=True))
    assert set(Team.objects.values_list("lpa_code", flat=True)) == lpas
    assert Team.objects.filter(force=force).count() == 15  # 3 LPAs x (4 response + 1 neighbourhood)
    officers = Profile.objects.filter(user__username__startswith="pc", force=force)
    assert officers.count() == 40
    assert not officers.filter(collar_number="").exists() and not officers.filter(team=None).exists()
    for p in officers.select_related("user"):
        assert p.user.username == f"pc{p.collar_number}"
    assert Profile.objects.get(user__username="officer").collar_number == "0001"
    # the current demo trial (from today, for the patrol app) and a completed past one before it, with
    # synthetic visits, so `rasure trial evaluate` has outcome days
    from rasure_web.patrols.models import Visit
    from rasure_web.trials.lifecycle import DEMO_PAST_TRIAL, trial_design
    from rasure_web.trials.models import Trial

    past = Trial.objects.get(name=DEMO_PAST_TRIAL)
    current = Trial.objects.exclude(pk=past.pk).get()
    assert past.status == Trial.Status.COMPLETED and past.synthetic and current.synthetic
    assert trial_design(trial=past).end < trial_design(trial=current).start
    assert Visit.objects.filter(trial_id=past.pk).count() > 50
    assert "completed demo trial" in out and f"rasure trial evaluate {past.pk}" in out
    # idempotent: a second run does not duplicate
    n = CrimeRecord.objects.count()
    run_demo(host="127.0.0.1", port=8000, serve=False, scale=0.3)
    assert CrimeRecord.objects.count() == n
    assert Force.objects.count() == 1 and Team.objects.count() == 15
    assert PartnerUpload.objects.count() == 1
    assert (
        Trial.objects.count() == 2 and Visit.objects.count() == Visit.objects.filter(trial_id=past.pk).count()
    )
    c = Client()
    assert (
        c.post("/accounts/login/", {"username": "analyst", "password": "rasure-demo-analyst"}).status_code
        == 302
    )
    page = c.get("/").content.decode()
    assert "Synthetic demonstration data" in page


def test_demo_refuses_production(settings: object, capsys: pytest.CaptureFixture[str]) -> None:
    settings.PRODUCTION = True  # type: ignore[attr-defined]
    assert run_demo(host="127.0.0.1", port=8000, serve=False, scale=0.1) == 2
    assert "refuses" in capsys.readouterr().err
