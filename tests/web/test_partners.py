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
from tests.factories import write_ed_assaults

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


# ----------------------------------------------------------------------------- two forces (issue 10, part 7)

#: Every partner URL and JSON endpoint, and how it is asked (the rebuild is a POST).
ALL_PARTNER_ENDPOINTS = (
    ("GET", "/partners/"),
    ("GET", "/partners/map.json"),
    ("GET", "/partners/upload/"),
    ("GET", "/partners/data/"),
    ("GET", "/partners/data/points.json"),
    ("POST", "/partners/data/rebuild/"),
)
PORTAL = {"/partners/", "/partners/map.json", "/partners/upload/"}
ANALYSTS_PAGES = {"/partners/data/", "/partners/data/points.json"}
B_MARK = "(force B)"  # force B's areas and hot spots are named with this, force A's never are


@pytest.fixture
def two_forces(agreement: DataSharingAgreement, tmp_path: Any) -> dict[str, Any]:
    """Force A (the synthetic city, with the demo partner's agreement) and force B (another synthetic
    city with the same area codes, its names marked ``(force B)``). The demo partner has an agreement
    with each; a second partner (HEALTH-B) with force B only. One partner upload per force."""
    from django.db.models import Value
    from django.db.models.functions import Concat

    from rasure.hotspots.analysis import HotspotParams
    from rasure_web.accounts.models import Force
    from rasure_web.analysis.models import HotSpot
    from rasure_web.analysis.services import hotspots_build
    from rasure_web.crimes.services import synthetic_city_store
    from rasure_web.partners.services import partner_import
    from tests.city import CITY_SEED, city

    force_a = agreement.tenant
    force_b = Force.objects.create(code="BBB", name="Force B (synthetic)", synthetic=True)
    synthetic_city_store(city(0.1, seed=CITY_SEED + 1), force="BBB")
    run_b = hotspots_build(params=HotspotParams(top=4, gi_permutations=0), force="BBB")
    Area.objects.filter(tenant=force_b).update(name=Concat("name", Value(f" {B_MARK}")))
    HotSpot.objects.filter(run=run_b).update(name=Concat("name", Value(f" {B_MARK}")))
    health_b = Organisation.objects.create(code="HEALTH-B", name="Synthetic Health Board B", kind="health")
    today = clock.local_today()
    terms = {
        "purpose": "Synthetic: joint planning",
        "data_classes": [c.value for c in DataClass],
        "starts_on": today - dt.timedelta(days=10),
        "expires_on": today + dt.timedelta(days=100),
        "signed_off_by": "B. Example, DPO (synthetic)",
        "signed_off_on": today - dt.timedelta(days=11),
    }
    b_lpas = Area.objects.filter(tenant=force_b, kind="lpa")
    vru_b = DataSharingAgreement.objects.create(
        reference="DSA-B-VRU", organisation=agreement.organisation, tenant=force_b, **terms
    )
    vru_b.areas.set(b_lpas)
    health = DataSharingAgreement.objects.create(
        reference="DSA-B-HEALTH", organisation=health_b, tenant=force_b, **terms
    )
    health.areas.set(b_lpas)
    uploads = {}
    for code, ref, force in (("A", agreement, force_a), ("B", health, force_b)):
        recs = CrimeRecord.objects.filter(tenant=force, serious_violence=True, lat__isnull=False)
        f = write_ed_assaults(tmp_path / f"ed-force-{code.lower()}.csv", recs[:7])
        uploads[code] = partner_import(path=f, org_code=ref.organisation.code, username="t", agreement=ref)
    assert uploads["A"].tenant == force_a and uploads["B"].tenant == force_b
    return {
        "force": {"A": force_a, "B": force_b},
        "upload": uploads,
        "vru_b": vru_b,
        "health": health,
        "health_org": health_b,
    }


def _member(user: User, force: Any) -> User:
    Profile.objects.update_or_create(user=user, defaults={"force": force})
    return user


def _names(resp: Any) -> list[str]:
    body = resp.json()
    return [
        f["properties"]["name"] for layer in ("neighbourhoods", "hotspots") for f in body[layer]["features"]
    ]


def test_role_endpoint_organisation_force_matrix(
    agreement: DataSharingAgreement, two_forces: dict[str, Any]
) -> None:
    """Every partner URL and JSON endpoint × every role × organisation (the demo partner: agreements
    with forces A and B; HEALTH-B: force B only; one with none; the force itself; none) × the force
    on the account (A, B). Expected allows: a partner of an organisation with a live agreement on
    the portal pages, seeing one force's areas only, never another organisation's uploads; analysts,
    supervisors and administrators on the analysts' pages, seeing their own force's partner data
    only; analysts and administrators queueing a rebuild of their own force's hot spots. Everything
    else is refused, and nothing of another force or organisation appears in what is allowed."""
    from django_q.models import OrmQ

    from rasure_web.jobs.tasks import REBUILD_GROUP

    orgs = {
        "VRU": agreement.organisation,
        "HEALTH-B": two_forces["health_org"],
        "SCHOOLS": Organisation.objects.create(
            code="SCHOOLS", name="Synthetic Schools Trust", kind="education"
        ),
        "DEMO": Organisation.objects.get(code="DEMO"),
        None: None,
    }
    unexpected: list[tuple[Any, ...]] = []

    def wrong(*why: Any) -> None:
        unexpected.append(why)

    for role in ("officer", "supervisor", "analyst", "partner", "admin", "researcher"):
        for org_key, org in orgs.items():
            for fkey in ("A", "B"):
                force = two_forces["force"][fkey]
                user = _member(_user(role, org, f"m-{role}-{org_key or 'none'}-{fkey}"), force)
                c = _client(user)
                for method, url in ALL_PARTNER_ENDPOINTS:
                    resp = c.get(url) if method == "GET" else c.post(url, {"include_partner_data": "1"})
                    code = resp.status_code
                    if url in PORTAL:
                        allowed = role == "partner" and org_key in ("VRU", "HEALTH-B")
                    elif url in ANALYSTS_PAGES:
                        allowed = role in ("analyst", "supervisor", "admin")
                    else:
                        allowed = role in ("analyst", "admin")
                    ok_code = 302 if method == "POST" else 200
                    if (code == ok_code) != allowed or (not allowed and code not in (302, 403)):
                        wrong(role, org_key, fkey, url, code)
                        continue
                    if not allowed:
                        continue
                    # allowed: nothing of another force or organisation in it
                    if url == "/partners/map.json":
                        names = _names(resp)
                        marked = [B_MARK in n for n in names]
                        # the default agreement: the newest (B's for both); one force at a time
                        if not names or len(set(marked)) != 1:
                            wrong(role, org_key, fkey, url, "mixed or empty", names[:3])
                        if org_key == "HEALTH-B" and not all(marked):
                            wrong(role, org_key, fkey, url, "force A's areas shown to a force-B partner")
                    elif url == "/partners/upload/":
                        page = resp.content.decode()
                        mine = {"VRU": "ed-force-a.csv", "HEALTH-B": "ed-force-b.csv"}[str(org_key)]
                        other = {"ed-force-a.csv", "ed-force-b.csv"} - {mine}
                        if org_key == "VRU" and mine in page:
                            wrong(role, org_key, fkey, url, "force A's upload under the force B agreement")
                        if any(o in page for o in other):
                            wrong(role, org_key, fkey, url, "another organisation's upload")
                    elif url == "/partners/data/":
                        page = resp.content.decode()
                        mine, theirs = ("ed-force-a.csv", "ed-force-b.csv")[:: 1 if fkey == "A" else -1]
                        if mine not in page or theirs in page:
                            wrong(role, org_key, fkey, url, "another force's uploads")
                    elif url == "/partners/data/points.json":
                        n = len(resp.json()["features"])
                        if n != two_forces["upload"][fkey].located:
                            wrong(role, org_key, fkey, url, "points of another force", n)
                    elif url == "/partners/":
                        page = resp.content.decode()
                        if org_key == "HEALTH-B" and (
                            "Central LPA" in page.replace(f"Central LPA {B_MARK}", "")
                        ):
                            wrong(role, org_key, fkey, url, "force A's areas on a force-B partner's page")
                    else:  # the rebuild: queued for the user's own force only
                        groups = [q.group() for q in OrmQ.objects.all()]
                        if groups != [REBUILD_GROUP + force.code]:
                            wrong(role, org_key, fkey, url, groups)
                        OrmQ.objects.all().delete()
    assert unexpected == []


def test_one_force_at_a_time_and_no_other_organisations_agreement(
    agreement: DataSharingAgreement, two_forces: dict[str, Any]
) -> None:
    vru = _partner(agreement)
    page = vru.get("/partners/").content.decode()
    assert "DSA-B-VRU: Force B (synthetic)" in page and f"{DEMO_AGREEMENT}: " in page  # the picker
    a_names = _names(vru.get(f"/partners/map.json?agreement={DEMO_AGREEMENT}"))
    b_names = _names(vru.get("/partners/map.json?agreement=DSA-B-VRU"))
    assert a_names and not any(B_MARK in n for n in a_names)
    assert b_names and all(B_MARK in n for n in b_names)
    page = vru.get(f"/partners/?agreement={DEMO_AGREEMENT}").content.decode()
    assert B_MARK not in page and "Central LPA" in page
    # the same file sent to each force is each force's own upload
    assert vru.get(f"/partners/upload/?agreement={DEMO_AGREEMENT}").content.decode().count("ed-force-a.csv")
    health = _client(_user("partner", two_forces["health_org"], "t-health"))
    for ref in (DEMO_AGREEMENT, "DSA-B-VRU"):
        for url in ("/partners/", "/partners/map.json", "/partners/upload/"):
            resp = health.get(f"{url}?agreement={ref}")
            assert resp.status_code == 403, (ref, url)
            assert "Central LPA" not in resp.content.decode()
    with pytest.raises(sel.NoLiveAgreement):
        sel.area_months(user=User.objects.get(username="t-health"), agreement=agreement)


def test_agreement_areas_must_be_the_agreements_forces(
    agreement: DataSharingAgreement, two_forces: dict[str, Any]
) -> None:
    from django.core.exceptions import ValidationError

    from rasure_web.partners.admin import AgreementForm

    foreign = Area.objects.filter(tenant=two_forces["force"]["B"], kind="lpa")
    with pytest.raises(ValidationError, match="not areas of this agreement's force"):
        agreement.clean_areas(foreign)
    data = {
        "reference": "DSA-MIXED",
        "organisation": agreement.organisation.pk,
        "tenant": agreement.tenant_id,
        "purpose": "x",
        "areas": [a.pk for a in foreign],
        "data_classes": [DataClass.CRIME_COUNTS],
        "starts_on": "2026-11-01",
        "expires_on": "2027-11-01",
        "signed_off_by": "x",
        "signed_off_on": "2026-11-01",
    }
    form = AgreementForm(data=data)
    assert not form.is_valid() and "not areas of this agreement's force" in form.errors["areas"][0]
    # an area that slipped in from another force is never shown
    agreement.areas.add(*foreign)
    u = _user("partner", agreement.organisation, "t-slipped")
    assert {a.tenant_id for a in sel.coverage(user=u, agreement=agreement).areas} == {agreement.tenant_id}
