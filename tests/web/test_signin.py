"""Signing in: lockout after wrong passwords (django-axes), every sign-in in the access log, the idle
timeout, and the refusal (403) page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client

from rasure_web.accounts.models import AccessLog

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password"
LOGIN = "/accounts/login/"


def _user(role: str, *, username: str | None = None, first: str = "", last: str = "") -> User:
    u = User.objects.create_user(
        username=username or f"s-{role}", password=PASSWORD, first_name=first, last_name=last
    )
    u.groups.add(Group.objects.get(name=role))
    return u


def _sign_in(c: Client, username: str, password: str = PASSWORD, **extra: Any) -> Any:
    return c.post(LOGIN, {"username": username, "password": password}, **extra)


def _signed_in(c: Client) -> bool:
    return "_auth_user_id" in c.session


# --- lockout ---------------------------------------------------------------------------------------


def test_200_wrong_passwords_lock_the_account_until_the_cool_off(clock: Any, settings: Any) -> None:
    assert settings.AXES_FAILURE_LIMIT == 5 and timedelta(minutes=30) == settings.AXES_COOLOFF_TIME
    _user("analyst")
    c = Client()
    answers = [_sign_in(c, "s-analyst", f"wrong-{i}").status_code for i in range(200)]
    assert answers[:4] == [200] * 4  # the sign-in form again, "did not match"
    assert set(answers[4:]) == {429}, "the fifth failure and every one after it is refused"
    page = _sign_in(c, "s-analyst")  # the right password, during the lock
    assert page.status_code == 429 and not _signed_in(c)
    text = page.content.decode()
    assert "<main" in text and "<h1>Sign-in locked for now</h1>" in text
    assert "30 minutes" in text and "s-analyst" in text
    # Another account from the same address is not locked (username + address).
    _user("supervisor")
    assert _sign_in(Client(), "s-supervisor").status_code == 302
    # The lock counts from the last refused attempt: 29 minutes on, still locked; 31, open.
    clock.shift(timedelta(minutes=29))
    assert _sign_in(Client(), "s-analyst").status_code == 429
    clock.shift(timedelta(minutes=31))
    c = Client()
    assert _sign_in(c, "s-analyst").status_code == 302 and _signed_in(c)


def test_an_administrator_lifts_a_lock_with_the_reset_command() -> None:
    _user("officer")
    for i in range(5):
        _sign_in(Client(), "s-officer", f"wrong-{i}")
    assert _sign_in(Client(), "s-officer").status_code == 429
    call_command("axes_reset_username", "s-officer")
    assert _sign_in(Client(), "s-officer").status_code == 302


def test_failures_under_the_limit_are_forgotten_after_a_good_sign_in() -> None:
    _user("analyst")
    for _ in range(3):
        for i in range(4):
            assert _sign_in(Client(), "s-analyst", f"wrong-{i}").status_code == 200
        assert _sign_in(Client(), "s-analyst").status_code == 302


def test_the_patrol_api_keeps_working_with_session_auth(clock: Any) -> None:
    officer = _user("officer")
    c = Client()
    assert _sign_in(c, officer.username).status_code == 302
    # Someone else hammering the account from another address does not touch this session.
    for i in range(10):
        _sign_in(Client(), officer.username, f"wrong-{i}", REMOTE_ADDR="10.9.8.7")
    r = c.get("/api/patrol/colleagues")
    assert r.status_code == 200, r.content


def test_lockout_settings_come_from_the_environment() -> None:
    import os
    import subprocess
    import sys

    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='rasure_web.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME, s.RASURE_SESSION_IDLE_MINUTES,"
        " s.RASURE_PATROL_SESSION_IDLE_MINUTES)"
    )
    env = {
        **os.environ,
        "RASURE_LOGIN_FAILURE_LIMIT": "8",
        "RASURE_LOGIN_LOCKOUT_MINUTES": "45",
        "RASURE_SESSION_IDLE_MINUTES": "15",
        "RASURE_PATROL_SESSION_IDLE_MINUTES": "480",
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["8", "0:45:00", "15", "480"]
    env["RASURE_LOGIN_FAILURE_LIMIT"] = "five"
    bad = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert (
        bad.returncode != 0 and "RASURE_LOGIN_FAILURE_LIMIT must be a whole number, got 'five'" in bad.stderr
    )


# --- the access log --------------------------------------------------------------------------------


def test_every_sign_in_failure_and_sign_out_is_logged_without_the_password() -> None:
    u = _user("analyst")
    c = Client()
    _sign_in(c, "s-analyst", "not-my-password-123", REMOTE_ADDR="192.0.2.10")
    _sign_in(c, "nobody-by-this-name", "guess-456", REMOTE_ADDR="192.0.2.10")
    _sign_in(c, "s-analyst", REMOTE_ADDR="192.0.2.10")
    c.post("/accounts/logout/", REMOTE_ADDR="192.0.2.10")
    rows = list(AccessLog.objects.filter(resource="session").order_by("pk"))
    assert [(r.action, r.username, r.user_id) for r in rows] == [
        ("sign_in_failed", "s-analyst", None),
        ("sign_in_failed", "nobody-by-this-name", None),
        ("sign_in", "s-analyst", u.pk),
        ("sign_out", "s-analyst", u.pk),
    ]
    assert {r.ip_address for r in rows} == {"192.0.2.10"}
    assert all(r.at is not None for r in rows)
    assert rows[0].detail == "wrong username or password"
    for r in rows:
        blob = " ".join(str(v) for v in vars(r).values())
        assert "not-my-password" not in blob and "guess-456" not in blob and PASSWORD not in blob


def test_refused_attempts_during_a_lock_are_logged_as_such() -> None:
    _user("analyst")
    for i in range(5):
        _sign_in(Client(), "s-analyst", f"wrong-{i}")
    _sign_in(Client(), "s-analyst")
    last = AccessLog.objects.filter(action="sign_in_failed").order_by("-pk").first()
    assert last is not None and last.detail == "refused: locked out after too many failures"


def test_sign_in_entries_stay_append_only() -> None:
    _user("analyst")
    _sign_in(Client(), "s-analyst")
    entry = AccessLog.objects.get(action="sign_in")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE access_log SET username = 'someone-else' WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM access_log WHERE id = %s", [entry.pk])
    assert AccessLog.objects.get(pk=entry.pk).username == "s-analyst"


# --- idle timeout ----------------------------------------------------------------------------------


def test_dashboard_session_ends_after_30_idle_minutes_and_returns_to_the_page(clock: Any) -> None:
    from tests.city import store_city_with_hotspots

    store_city_with_hotspots()
    _user("analyst")
    c = Client()
    assert _sign_in(c, "s-analyst").status_code == 302
    assert c.get("/dashboard/").status_code == 200
    clock.shift(timedelta(minutes=29))
    assert c.get("/dashboard/").status_code == 200  # a request within the limit keeps it alive
    clock.shift(timedelta(minutes=31))
    r = c.get("/dashboard/map/?layer=harm")
    assert r.status_code == 302 and r["Location"] == "/accounts/login/?next=/dashboard/map/%3Flayer%3Dharm"
    assert not _signed_in(c)
    page = c.get(r["Location"]).content.decode()
    assert "You were signed out after 30 minutes without activity." in page
    back = c.post(
        r["Location"], {"username": "s-analyst", "password": PASSWORD, "next": "/dashboard/map/?layer=harm"}
    )
    assert back.status_code == 302 and back["Location"] == "/dashboard/map/?layer=harm"
    out = AccessLog.objects.filter(action="sign_out").get()
    assert out.detail == "idle timeout (30 minutes)"


def test_patrol_app_allows_a_shift_and_the_api_answers_401_after_it(clock: Any) -> None:
    _user("officer")
    c = Client()
    assert _sign_in(c, "s-officer").status_code == 302
    assert c.get("/api/patrol/colleagues").status_code == 200
    clock.shift(timedelta(minutes=90))  # far past the dashboard's 30 minutes
    assert c.get("/api/patrol/colleagues").status_code == 200
    clock.shift(timedelta(hours=10, minutes=1))
    r = c.get("/api/patrol/colleagues")
    assert r.status_code == 401 and r["Content-Type"].startswith("application/json")
    assert not _signed_in(c)


def test_idle_limit_is_configurable(clock: Any, settings: Any) -> None:
    settings.RASURE_SESSION_IDLE_MINUTES = 5
    _user("partner")
    c = Client()
    _sign_in(c, "s-partner")
    c.get("/")
    clock.shift(timedelta(minutes=6))
    r = c.get("/")
    assert r.status_code == 302 and "next=/" in r["Location"]
    assert "after 5 minutes without activity" in c.get(r["Location"]).content.decode()


# --- the refusal page ------------------------------------------------------------------------------


def test_officer_refused_the_dashboard_gets_a_readable_page() -> None:
    _user("officer", first="Alex", last="Morgan")
    c = Client()
    _sign_in(c, "s-officer")
    r = c.get("/dashboard/")
    assert r.status_code == 403
    text = r.content.decode()
    assert "<main" in text and "<h1>You cannot see this page</h1>" in text
    assert "The dashboard is for analysts and supervisors. You are signed in as a patrol officer." in text
    assert "Alex Morgan (s-officer)" in text and "Patrol officer: uses the patrol app" in text
    assert 'href="/patrol/"' in text
    assert 'action="/accounts/logout/"' in text and "csrfmiddlewaretoken" in text


def test_partner_is_told_of_the_portal_and_whom_to_ask(settings: Any) -> None:
    settings.RASURE_SUPPORT_CONTACT = "the Thames Valley analysis team (analysis@example.org)"
    _user("partner")
    c = Client()
    _sign_in(c, "s-partner")
    r = c.get("/dashboard/")
    assert r.status_code == 403
    text = r.content.decode()
    assert "You are signed in as a partner organisation user." in text
    assert 'href="/partners/"' in text  # the refusal points to the partner portal
    assert "the Thames Valley analysis team (analysis@example.org)" in text
    assert 'href="/patrol/"' not in text
    assert c.get("/")["Location"] == "/partners/"
    # the portal itself refuses an account with no organisation, and says why and whom to ask
    r = c.get("/partners/")
    text = r.content.decode()
    assert r.status_code == 403 and "not linked to a partner organisation" in text
    assert "the Thames Valley analysis team (analysis@example.org)" in text
    assert 'href="/partners/"' not in text.split("<main", 1)[1]  # no link back to the page refused


def test_sign_out_from_the_refusal_page_works() -> None:
    _user("partner")
    c = Client(enforce_csrf_checks=True)
    c.get(LOGIN)
    token = c.cookies["csrftoken"].value
    c.post(LOGIN, {"username": "s-partner", "password": PASSWORD, "csrfmiddlewaretoken": token})
    page = c.get("/dashboard/")
    assert page.status_code == 403
    token = c.cookies["csrftoken"].value
    assert c.post("/accounts/logout/").status_code == 403  # no CSRF token: refused
    r = c.post("/accounts/logout/", {"csrfmiddlewaretoken": token})
    assert r.status_code == 302 and r["Location"] == LOGIN
    assert not _signed_in(c) and not Session.objects.exists()


def test_the_api_keeps_json_errors() -> None:
    _user("analyst")
    c = Client()
    _sign_in(c, "s-analyst")
    r = c.get("/api/patrol/colleagues")
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
