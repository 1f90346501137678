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
    # idempotent: a second run does not duplicate
    n = CrimeRecord.objects.count()
    run_demo(host="127.0.0.1", port=8000, serve=False, scale=0.3)
    assert CrimeRecord.objects.count() == n
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
