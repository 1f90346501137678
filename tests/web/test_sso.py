"""Single sign-on rules on the real test database: configuration from the environment, the decision made
at each sign-in from verified claims, and the login page. The full flow through a browser and a real
OpenID Provider is in tests/e2e/test_sso.py."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client, override_settings

from rasure_web.accounts.models import AccessLog, SsoIdentity
from rasure_web.accounts.sso import sign_in_from_claims
from rasure_web.accounts.sso_config import SsoConfigError, oidc_from_env, parse_role_map

ISSUER = "https://login.example.test/tenant/v2.0"
ENV = {
    "RASURE_OIDC_ISSUER": ISSUER + "/",
    "RASURE_OIDC_CLIENT_ID": "client-1",
    "RASURE_OIDC_CLIENT_SECRET": "secret-1",
    "RASURE_OIDC_ROLE_MAP": "g-officers=officer; g-analysts=analyst; g-admins=admin",
    "RASURE_OIDC_LABEL": "Test Constabulary",
}


def _cfg(**extra: str) -> dict[str, Any]:
    cfg = oidc_from_env({**ENV, **extra})
    assert cfg is not None
    return cfg


def _claims(sub: str = "sub-1", groups: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"sub": sub, "preferred_username": f"{sub}@force.example", "groups": groups or [], **extra}


def _role_names(user: Any) -> set[str]:
    return set(User.objects.get(pk=user.pk).groups.values_list("name", flat=True))


# --------------------------------------------------------------------------- configuration


def test_not_configured_is_none() -> None:
    assert oidc_from_env({}) is None
    assert oidc_from_env({"RASURE_OIDC_ISSUER": ISSUER}) is None


def test_configuration_from_environment() -> None:
    cfg = _cfg()
    assert cfg["issuer"] == ISSUER  # trailing slash dropped
    assert cfg["groups_claim"] == "groups" and cfg["username_claim"] == "preferred_username"
    assert cfg["role_map"] == {"g-officers": "officer", "g-analysts": "analyst", "g-admins": "admin"}
    assert cfg["allow_admin"] is False
    assert _cfg(RASURE_OIDC_ALLOW_ADMIN="1")["allow_admin"] is True
    assert _cfg(RASURE_OIDC_GROUPS_CLAIM="roles")["groups_claim"] == "roles"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"RASURE_OIDC_ISSUER": ""}, "RASURE_OIDC_ISSUER"),
        ({"RASURE_OIDC_CLIENT_SECRET": ""}, "RASURE_OIDC_CLIENT_SECRET"),
        ({"RASURE_OIDC_ROLE_MAP": ""}, "RASURE_OIDC_ROLE_MAP is empty"),
        ({"RASURE_OIDC_ROLE_MAP": "g1=sergeant"}, "'sergeant'"),
        ({"RASURE_OIDC_ROLE_MAP": "officer"}, "is not GROUP=ROLE"),
    ],
)
def test_bad_configuration_says_what_to_fix(change: dict[str, str], message: str) -> None:
    with pytest.raises(SsoConfigError, match=message):
        oidc_from_env({**ENV, **change})


def test_role_map_keeps_equals_signs_in_group_names() -> None:
    assert parse_role_map("CN=Officers,OU=Groups=officer") == {"CN=Officers,OU=Groups": "officer"}


def test_settings_refuse_to_start_with_a_half_configuration(tmp_path: Any) -> None:
    env = {**os.environ, "RASURE_HOME": str(tmp_path), "RASURE_OIDC_CLIENT_ID": "x"}
    env.pop("RASURE_OIDC_ISSUER", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='rasure_web.settings'; django.setup()",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "set RASURE_OIDC_ISSUER too" in proc.stderr


# --------------------------------------------------------------------------- the decision at sign-in


@pytest.mark.django_db
def test_new_person_gets_mapped_roles_and_unknown_groups_are_ignored() -> None:
    out = sign_in_from_claims(_cfg(), ISSUER, _claims(groups=["g-analysts", "g-officers", "staff-all"]))
    assert out.refusal is None
    assert out.user.username == "sub-1@force.example"
    assert _role_names(out.user) == {"analyst", "officer"}
    assert not out.user.has_usable_password() and not out.user.is_staff and not out.user.is_superuser
    assert SsoIdentity.objects.get(user=out.user).subject == "sub-1"
    entry = AccessLog.objects.get(action="sign_in")
    assert entry.user == out.user and "staff-all" in entry.detail


@pytest.mark.django_db
def test_roles_follow_the_claim_each_time_and_other_groups_stay() -> None:
    cfg = _cfg()
    user = sign_in_from_claims(cfg, ISSUER, _claims(groups=["g-analysts"])).user
    project = Group.objects.create(name="project-x")  # not a role: SSO leaves it alone
    user.groups.add(project)
    again = sign_in_from_claims(cfg, ISSUER, _claims(groups=["g-officers"])).user
    assert again.pk == user.pk
    assert _role_names(user) == {"officer", "project-x"}


@pytest.mark.django_db
def test_matched_on_issuer_and_subject_not_username() -> None:
    cfg = _cfg()
    user = sign_in_from_claims(cfg, ISSUER, _claims(groups=["g-analysts"])).user
    renamed = _claims(groups=["g-analysts"], preferred_username="new.name@force.example")
    assert sign_in_from_claims(cfg, ISSUER, renamed).user.pk == user.pk
    # The same subject at another issuer is another person, and clashes with the existing name.
    other = sign_in_from_claims(cfg, "https://other.example", _claims(groups=["g-analysts"]))
    assert other.refusal is not None and "was not created by single sign-on" in other.refusal.reason


@pytest.mark.django_db
def test_no_mapped_group_is_refused_and_logged() -> None:
    out = sign_in_from_claims(_cfg(), ISSUER, _claims(groups=["staff-all"]))
    assert out.user is None and out.refusal is not None and out.refusal.status == 403
    assert "none of your groups" in out.refusal.reason
    assert not User.objects.filter(username="sub-1@force.example").exists()
    entry = AccessLog.objects.get(action="refused", resource="sso_sign_in")
    assert entry.username == "sub-1@force.example" and entry.user is None


@pytest.mark.django_db
def test_losing_every_mapped_group_removes_the_roles_and_refuses() -> None:
    cfg = _cfg()
    user = sign_in_from_claims(cfg, ISSUER, _claims(groups=["g-officers"])).user
    assert _role_names(user) == {"officer"}
    out = sign_in_from_claims(cfg, ISSUER, _claims(groups=[]))
    assert out.refusal is not None
    assert _role_names(user) == set()
    assert AccessLog.objects.get(action="refused").user == user


@pytest.mark.django_db
def test_local_account_with_the_same_name_is_not_taken_over() -> None:
    local = User.objects.create_user("sub-1@force.example", password="a-long-local-password")
    local.groups.add(Group.objects.get(name="supervisor"))
    out = sign_in_from_claims(_cfg(), ISSUER, _claims(groups=["g-admins", "g-analysts"]))
    assert out.refusal is not None and out.user is None
    assert _role_names(local) == {"supervisor"}
    assert local.check_password("a-long-local-password")
    assert not SsoIdentity.objects.exists()


@pytest.mark.django_db
def test_admin_is_not_granted_unless_allowed() -> None:
    out = sign_in_from_claims(_cfg(), ISSUER, _claims(groups=["g-admins", "g-analysts"]))
    assert _role_names(out.user) == {"analyst"}
    assert not out.user.is_staff and not out.user.is_superuser
    assert "withheld=['admin']" in AccessLog.objects.get(action="sign_in").detail

    only_admin = sign_in_from_claims(_cfg(), ISSUER, _claims("sub-2", groups=["g-admins"]))
    assert only_admin.refusal is not None and "administrator role" in only_admin.refusal.reason


@pytest.mark.django_db
def test_admin_granted_with_allow_admin_and_taken_away_again() -> None:
    cfg = _cfg(RASURE_OIDC_ALLOW_ADMIN="1")
    user = sign_in_from_claims(cfg, ISSUER, _claims(groups=["g-admins"])).user
    user.refresh_from_db()
    assert _role_names(user) == {"admin"} and user.is_staff and user.is_superuser
    sign_in_from_claims(cfg, ISSUER, _claims(groups=["g-analysts"]))
    user.refresh_from_db()
    assert _role_names(user) == {"analyst"} and not user.is_staff and not user.is_superuser


@pytest.mark.django_db
def test_username_claim_and_fallbacks() -> None:
    cfg = _cfg(RASURE_OIDC_USERNAME_CLAIM="upn")
    a = sign_in_from_claims(
        cfg, ISSUER, {"sub": "s-a", "upn": "a.upn@force.example", "groups": ["g-officers"]}
    )
    b = sign_in_from_claims(cfg, ISSUER, {"sub": "s-b", "email": "b@force.example", "groups": ["g-officers"]})
    c = sign_in_from_claims(cfg, ISSUER, {"sub": "s-c", "groups": ["g-officers"]})
    assert [a.user.username, b.user.username, c.user.username] == [
        "a.upn@force.example",
        "b@force.example",
        "s-c",
    ]


@pytest.mark.django_db
def test_group_overage_is_refused_with_advice() -> None:
    claims = {"sub": "s-1", "_claim_names": {"groups": "src1"}, "_claim_sources": {"src1": {}}}
    out = sign_in_from_claims(_cfg(), ISSUER, claims)
    assert out.refusal is not None and "too many groups" in out.refusal.reason


@pytest.mark.django_db
def test_switched_off_account_is_refused() -> None:
    cfg = _cfg()
    user = sign_in_from_claims(cfg, ISSUER, _claims(groups=["g-officers"])).user
    User.objects.filter(pk=user.pk).update(is_active=False)
    out = sign_in_from_claims(cfg, ISSUER, _claims(groups=["g-officers"]))
    assert out.refusal is not None and "switched off" in out.refusal.reason


# --------------------------------------------------------------------------- pages


@pytest.mark.django_db
def test_login_page_unchanged_without_configuration() -> None:
    resp = Client().get("/accounts/login/")
    assert resp.status_code == 200 and b"Sign in with" not in resp.content
    assert Client().get("/accounts/oidc/start/").status_code == 404
    assert Client().get("/accounts/oidc/callback/?code=x&state=y").status_code == 404


@pytest.mark.django_db
def test_login_page_shows_button_above_password_form_when_configured() -> None:
    with override_settings(RASURE_OIDC=_cfg()):
        html = Client().get("/accounts/login/?next=/dashboard/").content.decode()
    assert 'href="/accounts/oidc/start/?next=%2Fdashboard%2F">Sign in with Test Constabulary</a>' in html
    assert html.index("Sign in with Test Constabulary") < html.index('name="password"')


@pytest.mark.django_db
def test_callback_without_a_started_sign_in_is_a_readable_refusal() -> None:
    with override_settings(RASURE_OIDC=_cfg()):
        resp = Client().get("/accounts/oidc/callback/?code=abc&state=forged")
        assert resp.status_code == 400
        assert b"Sign-in refused" in resp.content
        err = Client().get("/accounts/oidc/callback/?error=access_denied&state=forged")
        assert err.status_code == 403 and b"not completed at your identity provider" in err.content
    assert AccessLog.objects.filter(action="refused", resource="sso_sign_in").count() == 2


@pytest.mark.django_db
def test_unreachable_provider_is_a_readable_page() -> None:
    cfg = _cfg(RASURE_OIDC_ISSUER="http://127.0.0.1:9", RASURE_OIDC_TIMEOUT="2")
    with override_settings(RASURE_OIDC=cfg):
        resp = Client().get("/accounts/oidc/start/")
    assert resp.status_code == 502 and b"cannot be reached" in resp.content
