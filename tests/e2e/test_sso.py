"""Single sign-on end to end: real headless Chromium, the live Rasure server and a real OpenID Provider
(panva/oidc-provider from npm, tests/e2e/oidc/provider.mjs) on 127.0.0.1.

The provider runs once per session with its one client's redirect URI set to the live server's callback.
Node and npm absent: skipped, unless RASURE_REQUIRE_BROWSER=1 (CI), where that fails. The fixture runs
``npm ci`` itself when tests/e2e/oidc/node_modules is missing (registry: npm, lock file committed).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "rasure-test"
CLIENT_SECRET = "test-only-client-secret-not-a-real-one"
LABEL = "Test Constabulary"
BUTTON = f"Sign in with {LABEL}"

#: Synthetic people at the identity provider. Passwords are the provider's, never Rasure's.
USERS: dict[str, dict[str, Any]] = {
    "ana.lyst": {
        "password": "idp-pass-ana",
        "preferred_username": "ana.lyst@test-constabulary.example",
        "email": "ana.lyst@test-constabulary.example",
        "name": "Ana Lyst",
        "groups": ["rasure-analysts", "all-staff"],
    },
    "ollie.officer": {
        "password": "idp-pass-ollie",
        "preferred_username": "ollie.officer@test-constabulary.example",
        "email": "ollie.officer@test-constabulary.example",
        "name": "Ollie Officer",
        "groups": ["rasure-officers"],
    },
    "nora.norole": {
        "password": "idp-pass-nora",
        "preferred_username": "nora.norole@test-constabulary.example",
        "email": "nora.norole@test-constabulary.example",
        "name": "Nora Norole",
        "groups": ["all-staff", "canteen"],
    },
}


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("RASURE_REQUIRE_BROWSER") == "1":
            pytest.fail(
                f"single sign-on tests are required but {tool} is missing (install Node.js 20+ and npm)"
            )
        pytest.skip(f"{tool} not installed: single sign-on tests against a real OpenID Provider skipped")
    return path


@pytest.fixture(scope="session")
def idp_users_file() -> Iterator[Path]:
    # Its own folder, not pytest's basetemp, which another pytest session of the same user may prune.
    folder = Path(tempfile.mkdtemp(prefix="rasure-idp-"))
    yield folder / "users.json"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def provider(live_server: Any, idp_users_file: Path) -> Iterator[str]:
    """Start the OpenID Provider; yields its issuer (http://127.0.0.1:<port>)."""
    node, npm = _need("node"), _need("npm")
    # One `npm ci` even when pytest-xdist workers arrive together.
    with open(Path(tempfile.gettempdir()) / "rasure-oidc-npm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=OIDC_DIR,
                check=True,
                timeout=600,
            )
    idp_users_file.write_text(json.dumps(USERS), encoding="utf-8")
    env = {
        **os.environ,
        "OIDC_REDIRECT_URI": f"{live_server.url}/accounts/oidc/callback/",
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_USERS_FILE": str(idp_users_file),
    }
    # Output to a file, not a pipe nobody reads (a full pipe would block the provider).
    out_path = idp_users_file.parent / "provider.log"
    with open(out_path, "w") as out:
        proc = subprocess.Popen(
            [node, "provider.mjs"], cwd=OIDC_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    try:
        issuer = ""
        deadline = time.monotonic() + 60
        while not issuer and time.monotonic() < deadline and proc.poll() is None:
            issuer = next(
                (ln.split()[1] for ln in out_path.read_text().splitlines() if ln.startswith("READY ")), ""
            )
            time.sleep(0.05)
        if not issuer:
            proc.kill()
            pytest.fail(f"the OpenID Provider did not start:\n{out_path.read_text()}")
        yield issuer
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def sso(provider: str, idp_users_file: Path) -> Iterator[dict[str, Any]]:
    """Rasure configured for the provider (as the RASURE_OIDC_* variables would), fresh users at the IdP."""
    from django.test import override_settings

    from rasure_web.accounts.sso_config import oidc_from_env

    idp_users_file.write_text(json.dumps(USERS), encoding="utf-8")
    cfg = oidc_from_env(
        {
            "RASURE_OIDC_ISSUER": provider,
            "RASURE_OIDC_CLIENT_ID": CLIENT_ID,
            "RASURE_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "RASURE_OIDC_ROLE_MAP": "rasure-officers=officer;rasure-analysts=analyst;rasure-admins=admin",
            "RASURE_OIDC_LABEL": LABEL,
        }
    )
    assert cfg is not None
    with override_settings(RASURE_OIDC=cfg):
        yield {"issuer": provider, "users_file": idp_users_file}


def set_idp_groups(sso: dict[str, Any], login: str, groups: list[str]) -> None:
    users = json.loads(sso["users_file"].read_text(encoding="utf-8"))
    users[login]["groups"] = groups
    sso["users_file"].write_text(json.dumps(users), encoding="utf-8")


def finish_at_idp(page: Any, base: str, login: str, *, timeout: float = 30) -> None:
    """Whatever the provider shows (its login form, its consent page, or nothing when its session is still
    open), get through it as the person would, until the browser is back at Rasure."""
    deadline = time.monotonic() + timeout
    login_form = page.locator('input[name="login"]')
    consent = page.get_by_role("button", name="Continue")
    while time.monotonic() < deadline:
        if page.url.startswith(base):
            page.wait_for_load_state()
            return
        if login_form.is_visible():
            login_form.fill(login)
            page.locator('input[name="password"]').fill(USERS[login]["password"])
            with page.expect_navigation():
                page.get_by_role("button", name="Sign-in").click()
        elif consent.is_visible():
            with page.expect_navigation():
                consent.click()
        else:
            page.wait_for_timeout(100)
    raise AssertionError(f"still at {page.url} after {timeout}s")


def sso_sign_in(page: Any, base: str, login: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_role("link", name=BUTTON).click()
    finish_at_idp(page, base, login)


def _roles(username: str) -> set[str]:
    from django.contrib.auth.models import User

    return set(User.objects.get(username=username).groups.values_list("name", flat=True))


def _log(action: str) -> list[Any]:
    from rasure_web.accounts.models import AccessLog

    return list(AccessLog.objects.filter(resource="sso_sign_in", action=action).order_by("at"))


# --------------------------------------------------------------------------- tests


def test_analyst_signs_in_with_sso_and_lands_on_dashboard(
    page: Any, live_server: Any, sso: dict[str, Any]
) -> None:
    from rasure_web.accounts.models import SsoIdentity

    page.goto(f"{live_server.url}/")
    button = page.get_by_role("link", name=BUTTON)
    form_button = page.get_by_role("button", name="Sign in")
    # The SSO button sits above the local password form, which stays.
    assert button.bounding_box()["y"] < form_button.bounding_box()["y"]
    button.click()
    page.locator('input[name="login"]').wait_for()
    assert page.url.startswith(sso["issuer"] + "/interaction/")
    finish_at_idp(page, live_server.url, "ana.lyst")
    page.get_by_role("heading", name="Serious violence overview").wait_for()
    assert page.get_by_label("Signed in as").inner_text() == "ana.lyst@test-constabulary.example"

    username = "ana.lyst@test-constabulary.example"
    assert _roles(username) == {"analyst"}  # "all-staff" is not mapped: ignored
    identity = SsoIdentity.objects.get(user__username=username)
    assert (identity.issuer, identity.subject) == (sso["issuer"], "ana.lyst")
    assert not identity.user.has_usable_password()
    (entry,) = _log("sign_in")
    assert entry.username == username and "roles=['analyst']" in entry.detail


def test_officer_lands_on_patrol_app(page: Any, live_server: Any, sso: dict[str, Any]) -> None:
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if r.url.endswith("/patrol/") else None)
    sso_sign_in(page, live_server.url, "ollie.officer")
    page.wait_for_url(f"{live_server.url}/patrol/")
    assert statuses == [200]  # the app itself, not the "not an officer" page (403)
    assert _roles("ollie.officer@test-constabulary.example") == {"officer"}


def test_wrong_password_at_the_provider_is_refused_there(
    page: Any, live_server: Any, sso: dict[str, Any]
) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name=BUTTON).click()
    page.locator('input[name="login"]').fill("ana.lyst")
    page.locator('input[name="password"]').fill("not-her-password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("heading", name="Wrong login or password").wait_for()
    assert not _log("sign_in")


def test_user_without_mapped_group_is_refused_readably(
    page: Any, live_server: Any, sso: dict[str, Any]
) -> None:
    from django.contrib.auth.models import User

    responses: list[int] = []
    page.on("response", lambda r: responses.append(r.status) if "/accounts/oidc/callback/" in r.url else None)
    sso_sign_in(page, live_server.url, "nora.norole")
    page.get_by_role("heading", name="Sign-in refused").wait_for()
    assert "none of your groups gives you a role" in page.get_by_role("alert").inner_text()
    assert responses == [403]
    assert not User.objects.filter(username__startswith="nora").exists()
    (entry,) = _log("refused")
    assert entry.username == "nora.norole@test-constabulary.example"
    assert "canteen" in entry.detail
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url  # not signed in


def test_group_change_at_the_idp_changes_roles_at_next_sign_in(
    page: Any, live_server: Any, sso: dict[str, Any]
) -> None:
    username = "ana.lyst@test-constabulary.example"
    sso_sign_in(page, live_server.url, "ana.lyst")
    page.get_by_role("heading", name="Serious violence overview").wait_for()
    assert _roles(username) == {"analyst"}

    set_idp_groups(sso, "ana.lyst", ["rasure-officers", "all-staff"])
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/accounts/login/$"))
    sso_sign_in(page, live_server.url, "ana.lyst")  # the provider's own session may skip its form
    page.wait_for_url(f"{live_server.url}/patrol/")
    assert _roles(username) == {"officer"}  # analyst removed, officer added

    # Removed from every mapped group: refused, and the roles are gone too.
    set_idp_groups(sso, "ana.lyst", ["all-staff"])
    page.context.clear_cookies()
    sso_sign_in(page, live_server.url, "ana.lyst")
    page.get_by_role("heading", name="Sign-in refused").wait_for()
    assert _roles(username) == set()
    assert [e.action for e in _log("sign_in")] == ["sign_in", "sign_in"]


def test_tampered_state_is_refused(page: Any, live_server: Any, sso: dict[str, Any]) -> None:
    from django.contrib.auth.models import User

    # Start the sign-in without following the redirect, so the test holds the authorization request.
    start = page.request.get(f"{live_server.url}/accounts/oidc/start/", max_redirects=0)
    assert start.status == 302
    auth_url = start.headers["location"]
    assert auth_url.startswith(sso["issuer"])
    parts = urlsplit(auth_url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]  # PKCE is on
    query["state"] = query["state"][:-4] + "XXXX"
    page.goto(urlunsplit(parts._replace(query=urlencode(query))))
    finish_at_idp(page, live_server.url, "ana.lyst")
    page.get_by_role("heading", name="Sign-in refused").wait_for()
    assert "could not be verified" in page.get_by_role("alert").inner_text()
    assert not User.objects.filter(username__startswith="ana").exists()
    (entry,) = _log("refused")
    assert "state" in entry.detail
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url

    # The same provider session, untampered, does sign in: the refusal was the state's doing.
    sso_sign_in(page, live_server.url, "ana.lyst")
    page.get_by_role("heading", name="Serious violence overview").wait_for()


def test_sso_does_not_take_over_a_local_account(page: Any, live_server: Any, sso: dict[str, Any]) -> None:
    from django.contrib.auth.models import Group, User

    from rasure_web.accounts.models import SsoIdentity

    local = User.objects.create_user("ollie.officer@test-constabulary.example", password="local-password-1")
    local.groups.add(Group.objects.get_or_create(name="supervisor")[0])
    sso_sign_in(page, live_server.url, "ollie.officer")
    page.get_by_role("heading", name="Sign-in refused").wait_for()
    assert "was not created by single sign-on" in page.get_by_role("alert").inner_text()
    local.refresh_from_db()
    assert _roles(local.username) == {"supervisor"}
    assert not SsoIdentity.objects.filter(user=local).exists()
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url


def test_without_configuration_no_sso_button(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.get_by_role("link", name=re.compile("^Sign in with")).count() == 0
    assert page.request.get(f"{live_server.url}/accounts/oidc/start/", max_redirects=0).status == 404
