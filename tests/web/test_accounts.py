"""Roles, login, the append-only access log, production settings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.contrib.auth.models import Group, User
from django.db import DatabaseError, connection, transaction
from django.test import Client

from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.models import AccessLog, AppendOnlyError

pytestmark = pytest.mark.django_db


def _user(role: str) -> User:
    u = User.objects.create_user(username=f"u-{role}", password="a-long-test-password")
    u.groups.add(Group.objects.get(name=role))
    return u


def test_role_groups_exist() -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "officer",
        "supervisor",
        "analyst",
        "partner",
        "admin",
    }


def test_access_log_is_append_only() -> None:
    entry = access_log_record(user=_user("analyst"), action="view", resource="person", object_ref="SYN-P1")
    entry.detail = "changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    # and the database refuses it too, whatever the path
    for sql in ("UPDATE access_log SET detail = 'x'", "DELETE FROM access_log"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql)
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessLog.objects.all().update(detail="x")
    assert AccessLog.objects.get().detail == ""


def test_login_and_role_pages(client: Client) -> None:
    assert client.get("/").status_code == 302
    _user("analyst")
    # Through the sign-in form: django-axes needs the request, which Client.login does not pass.
    assert (
        client.post(
            "/accounts/login/", {"username": "u-analyst", "password": "a-long-test-password"}
        ).status_code
        == 302
    )
    page = client.get("/")
    assert page.status_code == 200 and b"Serious violence overview" in page.content
    client.logout()
    _user("partner")
    assert (
        client.post(
            "/accounts/login/", {"username": "u-partner", "password": "a-long-test-password"}
        ).status_code
        == 302
    )
    home = client.get("/")  # partners land on the partner portal, which needs a live agreement
    assert home.status_code == 302 and home["Location"] == "/partners/"
    assert client.get("/partners/").status_code == 403
    assert client.get("/dashboard/").status_code == 403


def test_production_refuses_placeholder_secret() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RASURE_SECRET")}
    env.update(RASURE_ENV="production", DJANGO_SETTINGS_MODULE="rasure_web.settings")
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True
    )
    assert out.returncode != 0 and "RASURE_SECRET_KEY" in out.stderr
    env["RASURE_SECRET_KEY"] = "x" * 50
    env["RASURE_DEBUG"] = "0"
    ok = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr


def test_production_hashes_passwords_with_django_pbkdf2() -> None:
    """The tests hash with MD5 for speed (tests/conftest.py); the settings themselves, read in a fresh
    process as in production, keep Django's default: PBKDF2-SHA256 at Django's iteration count."""
    env = {**os.environ, "RASURE_ENV": "production", "RASURE_SECRET_KEY": "x" * 50, "RASURE_DEBUG": "0"}
    code = (
        "import django; django.setup();"
        "from django.conf import settings as s; from django.contrib.auth.hashers import make_password as m;"
        "print(s.PASSWORD_HASHERS[0]); print(m('a-long-test-password'))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    first, hashed = out.stdout.split()
    assert first == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    algorithm, iterations, _salt, _digest = hashed.split("$")
    assert algorithm == "pbkdf2_sha256" and int(iterations) >= 1_000_000


def test_sqlite_is_wal_and_full_sync() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cur:
        cur.execute("PRAGMA journal_mode")
        assert cur.fetchone()[0] == "wal"
        cur.execute("PRAGMA synchronous")
        assert cur.fetchone()[0] == 2  # FULL
