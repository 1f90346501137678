"""Every view and export of personal data is logged (DPA 2018 s.62): a tour of every URL and admin page.

The classification is rasure_web.accounts.personal_data; this test fails when a URL pattern or admin
model is not classified, and when a personal one leaves no access-log entry."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from rasure_web.accounts.models import AccessLog
from rasure_web.accounts.personal_data import (
    ADMIN_NOT_PERSONAL,
    ADMIN_PERSONAL,
    URL_NOT_PERSONAL,
    URL_PERSONAL,
    LogsPersonalDataAdmin,
)
from tests.web.test_patrol_routes import client_for, load_city, make_user, post, start_body

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

#: Personal pages whose logging is asserted by their own app's tests (they need a reason asked first, or a
#: programme of operations set up).
TOURED_ELSEWHERE = {
    "people:list": "tests/web/test_people.py",
    "people:person": "tests/web/test_people.py",
    "people:access": "tests/web/test_people.py",
    "people:monitor": "tests/web/test_people_safeguards.py",
    "programme:team": "tests/web/test_programme_delivery.py",
    "programme:officer": "tests/web/test_programme_delivery.py",
    "programme:officer-csv": "tests/web/test_programme_delivery.py",
    "programme:recognition": "tests/web/test_programme_training.py",
    "dashboard:institutions": "tests/web/test_institution_plans.py",
    "dashboard:institution": "tests/web/test_institution_plans.py",
}
ADMIN_SUFFIXES = ("_changelist", "_add", "_change", "_delete", "_history")


def _patterns(resolver: Any = None, ns: str = "", prefix: str = "") -> list[tuple[str, str]]:
    """(namespaced name or "", route) of every URL pattern."""
    out = []
    for p in (resolver or get_resolver()).url_patterns:
        if isinstance(p, URLResolver):
            out += _patterns(p, ns + (f"{p.namespace}:" if p.namespace else ""), prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            out.append((f"{ns}{p.name}" if p.name else "", prefix + str(p.pattern)))
    return out


def _admin_model_pages() -> set[str]:
    return {
        f"admin:{m._meta.app_label}_{m._meta.model_name}{suffix}"
        for m in admin.site._registry
        for suffix in ADMIN_SUFFIXES
    }


def test_every_url_and_admin_model_is_classified() -> None:
    model_pages = _admin_model_pages()
    unclassified = []
    for name, route in _patterns():
        if name in model_pages:
            continue
        if not name:
            # admin's unnamed object redirect and final catch-all, both under a classified model or admin:index
            if route.startswith("admin/"):
                continue
            unclassified.append(route)
        elif name not in URL_PERSONAL and name not in URL_NOT_PERSONAL:
            unclassified.append(name)
    assert not unclassified, f"classify these in rasure_web.accounts.personal_data: {unclassified}"
    assert not set(URL_PERSONAL) & set(URL_NOT_PERSONAL)
    labels = {m._meta.label for m in admin.site._registry}
    assert labels - set(ADMIN_PERSONAL) - set(ADMIN_NOT_PERSONAL) == set(), "classify these admin models"
    stale = (set(ADMIN_PERSONAL) | set(ADMIN_NOT_PERSONAL)) - labels
    assert not stale, f"no longer in the admin: {stale}"
    for model, model_admin in admin.site._registry.items():
        personal = model._meta.label in ADMIN_PERSONAL
        assert isinstance(model_admin, LogsPersonalDataAdmin) == personal, model._meta.label
        assert not model_admin.autocomplete_fields, (
            f"{model._meta.label}: autocomplete would show data unlogged"
        )
    print(f"personal-data surfaces: {len(URL_PERSONAL)} URLs + {len(ADMIN_PERSONAL)} admin models")


def _new_entries(since: int, resource: str) -> list[AccessLog]:
    return list(AccessLog.objects.filter(seq__gt=since, resource=resource))


def _head() -> int:
    head = AccessLog.objects.order_by("-seq").values_list("seq", flat=True).first()
    return int(head or 0)


def test_admin_tour_logs_every_personal_page(client: Any) -> None:
    from django.contrib.auth.models import User

    load_city()
    root = User.objects.create_superuser("synthetic-admin", password="a-long-test-password")
    make_user("synthetic-officer")
    c = client_for(root)
    missing = []
    for model in admin.site._registry:
        label = model._meta.label
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        since = _head()
        assert c.get(url).status_code == 200, url
        if label not in ADMIN_PERSONAL:
            continue
        if not _new_entries(since, ADMIN_PERSONAL[label]):
            missing.append(url)
        since = _head()
        c.get(url, {"q": "synthetic"})
        if not [e for e in _new_entries(since, ADMIN_PERSONAL[label]) if e.action == "search"]:
            missing.append(f"{url}?q=")
        obj = model._default_manager.first()
        if obj is not None:
            page = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
            since = _head()
            assert c.get(page).status_code == 200, page
            if not [e for e in _new_entries(since, ADMIN_PERSONAL[label]) if e.object_ref == str(obj.pk)]:
                missing.append(page)
    assert not missing, f"personal data shown unlogged: {missing}"


def test_page_and_api_tour_logs_every_personal_url(client: Any) -> None:
    from rasure_web.analysis.models import HotSpot
    from tests.web.test_patrol_api import first_listed

    load_city()
    analyst = client_for(make_user("synthetic-analyst", role="analyst"))
    officer = client_for(make_user("synthetic-officer"))
    make_user("synthetic-colleague")
    hs = HotSpot.objects.order_by("rank").first()
    assert hs is not None
    listed = first_listed(officer)
    start = start_body(listed.pk)
    assert post(officer, "/api/patrol/visits/start", start).status_code == 200
    tour: dict[str, tuple[Any, str, dict[str, Any]]] = {
        "dashboard:map-data": (analyst, reverse("dashboard:map-data", args=["crimes"]), {}),
        "dashboard:hotspot": (analyst, reverse("dashboard:hotspot", args=[hs.pk]), {}),
        "dashboard:briefing-sheet": (analyst, reverse("dashboard:briefing-sheet", args=[hs.pk]), {}),
        "dashboard:patrols": (analyst, reverse("dashboard:patrols"), {}),
        "dashboard:export-hotspots": (analyst, reverse("dashboard:export-hotspots", args=["csv"]), {}),
        "api:hotspot_briefing": (officer, f"/api/patrol/hotspots/{listed.pk}/briefing", {}),
        "api:colleagues": (officer, "/api/patrol/colleagues", {}),
        "api:visit_detail": (officer, f"/api/patrol/visits/{start['visit_id']}", {}),
    }
    missing = []
    for name, (who, url, params) in tour.items():
        since = _head()
        r = who.get(url, params)
        assert r.status_code == 200, (name, r.status_code)
        if not _new_entries(since, URL_PERSONAL[name]):
            missing.append(name)
    # sign-in (success, failure), SSO callback and sign-out are logged by signals (tests/web/test_signin.py,
    # test_sso.py); here only that each is in the tour's list
    since = _head()
    client.post(reverse("login"), {"username": "synthetic-analyst", "password": "wrong-password-here"})
    if not [e for e in _new_entries(since, "session") if e.action == "sign_in_failed"]:
        missing.append("login (failed)")
    untoured = (
        set(URL_PERSONAL)
        - set(tour)
        - {"login", "logout", "oidc_authentication_callback"}
        - set(TOURED_ELSEWHERE)
    )
    assert not untoured, f"add these to the tour: {untoured}"
    assert not missing, f"personal data shown unlogged: {missing}"
