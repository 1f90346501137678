"""The partner portal (D8): data-sharing agreements, scoping, suppression, refusals and the access log."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from rasure_web import clock
from rasure_web.accounts.models import AccessLog, Organisation, Profile
from rasure_web.crimes.models import Area, CrimeRecord
from rasure_web.partners import selectors as sel
from rasure_web.partners.models import DataClass, DataSharingAgreement
from rasure_web.partners.services import DEMO_AGREEMENT, demo_partner_ensure
from tests.city import store_city_with_hotspots
from tests.core.test_disclosure import intruder_bounds

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]  # now pinned: tests/conftest.py


@pytest.fixture
def agreement() -> DataSharingAgreement:
    store_city_with_hotspots()
    a = demo_partner_ensure()
    assert a is not None
    return a


def _user(role: str, org: Organisation | None = None, name: str = "") -> User:
    u = User.objects.create_user(username=name or f"t-{role}", password="a-long-test-password")
    u.groups.add(Group.objects.get(name=role))
    if org is not None:
        Profile.objects.create(user=u, organisation=org)
    return u


def _client(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _partner(agreement: DataSharingAgreement) -> Client:
    return _client(_user("partner", agreement.organisation))


def test_portal_shows_only_the_agreements_areas_and_logs_each_view(agreement: DataSharingAgreement) -> None:
    c = _partner(agreement)
    resp = c.get("/partners/")
    assert resp.status_code == 200
    page = resp.content.decode()
    for text in ("Central LPA", "North LPA", DEMO_AGREEMENT, "Data Protection Officer", "Hot times"):
        assert text in page, text
    assert "South LPA" not in page
    assert "What patrols are doing" in page and "Synthetic demonstration data" in page
    m = c.get(f"/partners/map.json?agreement={DEMO_AGREEMENT}").json()
    south = set(Area.objects.filter(parent__code="SYN-LPA-S").values_list("code", flat=True))
    codes = {f["properties"]["code"] for f in m["neighbourhoods"]["features"]}
    assert codes and not codes & south
    assert m["hotspots"]["features"]
    logged = AccessLog.objects.filter(username="t-partner", action="view")
    assert set(logged.values_list("resource", "object_ref")) == {
        ("partner_portal", DEMO_AGREEMENT),
        ("partner_map", DEMO_AGREEMENT),
    }


def test_no_person_or_crime_reference_in_the_page_or_its_json(agreement: DataSharingAgreement) -> None:
    c = _partner(agreement)
    body = c.get("/partners/").content.decode() + json.dumps(c.get("/partners/map.json").json())
    refs = set(CrimeRecord.objects.values_list("reference", flat=True))
    words = set(re.findall(r"[A-Za-z0-9_-]{6,}", body))
    assert refs and not refs & words
    from rasure_web.crimes.models import Person

    for name in Person.objects.exclude(display_name="").values_list("display_name", flat=True)[:500]:
        assert name not in body
    # nor the officers who patrolled
    for u in User.objects.filter(username__startswith="pc")[:50]:
        assert u.get_full_name() not in body if u.get_full_name() else True


def _published(table: dict[str, Any]) -> pd.DataFrame:
    rows = [[np.nan if cell["hidden"] else float(cell["text"]) for cell in r["cells"]] for r in table["rows"]]
    return pd.DataFrame(rows)


def test_small_numbers_suppressed_and_not_recoverable(agreement: DataSharingAgreement) -> None:
    # One neighbourhood: monthly counts are small, so the tables must hide cells, and an intruder with
    # every published figure must not pin any of them.
    hood = Area.objects.filter(kind="neighbourhood", parent__code="SYN-LPA-C").order_by("code")
    agreement.areas.set(hood[:3])
    u = _user("partner", agreement.organisation)
    page = _client(u).get("/partners/").content.decode()
    assert "fewer than 5" in page and "hidden" in page
    for table in (
        sel.area_months(user=u, agreement=agreement),
        sel.area_trends(user=u, agreement=agreement),
        sel.hot_times(user=u, agreement=agreement),
    ):
        pub = _published(table)
        bounds = intruder_bounds(pub)
        for cell, (lo, hi) in bounds.items():
            assert hi - lo > 1e-6, cell
        # every published small count would be a failure
        values = pub.to_numpy()
        assert not ((values > 0) & (values < 5)).any()
    m = _client(u).get("/partners/map.json").json()
    shown = [f["properties"]["crimes"] for f in m["neighbourhoods"]["features"]]
    assert all(not s.isdigit() or int(s) == 0 or int(s) >= 5 for s in shown)


def test_threshold_setting_and_agreement(agreement: DataSharingAgreement, settings: Any) -> None:
    u = _user("partner", agreement.organisation)
    assert sel.threshold_for(agreement) == 5
    settings.RASURE_PARTNER_SMALL_NUMBER_THRESHOLD = 8
    assert sel.threshold_for(agreement) == 8
    agreement.small_number_threshold = 10
    assert sel.threshold_for(agreement) == 10
    agreement.small_number_threshold = 3  # an agreement cannot lower the installation's threshold
    assert sel.threshold_for(agreement) == 8
    agreement.small_number_threshold = 10
    agreement.save()
    assert "fewer than 10" in _client(u).get("/partners/").content.decode()


def test_expiry_takes_effect_on_the_next_request(agreement: DataSharingAgreement) -> None:
    c = _partner(agreement)
    assert c.get("/partners/").status_code == 200
    yesterday = clock.local_today() - dt.timedelta(days=1)
    DataSharingAgreement.objects.filter(pk=agreement.pk).update(expires_on=yesterday)
    for url in ("/partners/", "/partners/map.json"):
        resp = c.get(url)
        assert resp.status_code == 403
        assert "expired on" in resp.content.decode() and DEMO_AGREEMENT in resp.content.decode()
    assert AccessLog.objects.filter(
        username="t-partner", action="refused", resource="partner_portal"
    ).exists()


def test_expiry_day_is_the_last_day(agreement: DataSharingAgreement) -> None:
    c = _partner(agreement)
    DataSharingAgreement.objects.filter(pk=agreement.pk).update(expires_on=clock.local_today())
    assert c.get("/partners/").status_code == 200


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"revoked_at": dt.datetime(2026, 11, 1, tzinfo=dt.UTC)}, "ended early"),
        ({"starts_on": dt.date(2026, 12, 1)}, "starts on 1 December 2026"),
    ],
)
def test_revoked_or_not_started(agreement: DataSharingAgreement, change: dict[str, Any], reason: str) -> None:
    DataSharingAgreement.objects.filter(pk=agreement.pk).update(**change)
    resp = _partner(agreement).get("/partners/")
    assert resp.status_code == 403 and reason in resp.content.decode()


def test_refusals_say_why(agreement: DataSharingAgreement) -> None:
    no_org = _client(_user("partner", None, "t-no-org")).get("/partners/")
    assert no_org.status_code == 403 and "not linked to a partner organisation" in no_org.content.decode()
    other = Organisation.objects.create(code="HEALTH1", name="Synthetic Health Trust", kind="health")
    c = _client(_user("partner", other, "t-other"))
    resp = c.get("/partners/")
    assert (
        resp.status_code == 403
        and "Synthetic Health Trust has no data-sharing agreement" in resp.content.decode()
    )
    # naming another organisation's agreement does not open it
    resp = c.get(f"/partners/?agreement={DEMO_AGREEMENT}")
    assert resp.status_code == 403 and "Central LPA" not in resp.content.decode()
    with pytest.raises(sel.NoLiveAgreement):
        sel.area_months(user=User.objects.get(username="t-other"), agreement=agreement)


def test_data_classes_limit_the_sections(agreement: DataSharingAgreement) -> None:
    agreement.data_classes = [DataClass.CRIME_COUNTS]
    agreement.save()
    c = _partner(agreement)
    page = c.get("/partners/").content.decode()
    assert "Crimes and harm by area and month" in page
    assert "Hot times" not in page and "What patrols are doing" not in page
    assert c.get("/partners/map.json").json()["hotspots"]["features"] == []


PARTNER_URLS = ("/partners/", "/partners/map.json")
OTHER_URLS = (
    "/",
    "/dashboard/",
    "/dashboard/map/",
    "/dashboard/map/crimes.json",
    "/dashboard/map/hotspots.json",
    "/dashboard/export/hotspots.csv",
    "/dashboard/patrols/",
    "/trials/",
    "/patrol/",
)


def test_role_endpoint_organisation_matrix(agreement: DataSharingAgreement) -> None:
    """Every role and organisation against every partner endpoint, and partners against the rest:
    the only allows are a partner of the agreement's organisation on the partner pages."""
    other = Organisation.objects.create(code="SCHOOLS", name="Synthetic Schools Trust", kind="education")
    force_org = Organisation.objects.get(code="DEMO")
    unexpected = []
    for role in ("officer", "supervisor", "analyst", "partner", "admin", "researcher"):
        for org in (agreement.organisation, other, force_org, None):
            user = _user(role, org, f"m-{role}-{org.code if org else 'none'}")
            c = _client(user)
            for url in PARTNER_URLS:
                allowed = role == "partner" and org == agreement.organisation
                code = c.get(url).status_code
                if (code == 200) != allowed:
                    unexpected.append((role, org and org.code, url, code))
            if role == "partner":
                for url in OTHER_URLS:
                    code = c.get(url).status_code
                    ok = (code == 302 and url in ("/", "/patrol/")) or code == 403
                    if not ok:
                        unexpected.append((role, org and org.code, url, code))
    assert unexpected == []


def test_partner_home_goes_to_the_portal(agreement: DataSharingAgreement) -> None:
    resp = _partner(agreement).get("/")
    assert resp.status_code == 302 and resp["Location"] == "/partners/"


def test_patrol_activity_counts_visits_without_officers(agreement: DataSharingAgreement) -> None:
    u = _user("partner", agreement.organisation)
    rows = sel.patrol_activity(user=u, agreement=agreement)
    assert all(set(r) == {"month", "visits", "minutes", "long_share"} for r in rows)
