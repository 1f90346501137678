"""Partner data in (D8): emergency-department assault files through the command line and the portal,
refused whole with row-level errors, located to neighbourhoods, shown to analysts beside police data."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from rasure_web.accounts.models import AccessLog, Profile
from rasure_web.cli import main
from rasure_web.crimes.models import Area, CrimeRecord
from rasure_web.partners.models import DataSharingAgreement, PartnerRecord, PartnerUpload
from rasure_web.partners.services import DEMO_PARTNER_ORG, demo_partner_ensure
from tests.city import store_city_with_hotspots

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

BAD = (
    "date,time,location,weapon,assault\n"
    "2026-09-12,23:40,High Street,glass or bottle,stranger\n"
    "2026-09-31,01:15,Park Road,spoon,stranger\n"
)


@pytest.fixture
def agreement() -> DataSharingAgreement:
    store_city_with_hotspots()
    a = demo_partner_ensure()
    assert a is not None
    return a


def _good_file(tmp_path: Path) -> Path:
    """Rows at the positions of synthetic crimes (coordinates), a named street from the force's own
    records, a neighbourhood's name, and one place nobody knows."""
    recs = list(
        CrimeRecord.objects.filter(serious_violence=True, lsoa_code__isnull=False)
        .exclude(location_text="")
        .order_by("reference")[:3]
    )
    hood = Area.objects.filter(kind="neighbourhood").order_by("code").first()
    assert hood is not None and recs
    lines = ["date,time,location,latitude,longitude,weapon,assault"]
    for r in recs:
        lines.append(f"2026-09-12,22:10,,{r.lat},{r.lon},knife,stranger")
    street = (recs[0].location_text or "").removeprefix("On or near ")
    lines.append(f'2026-09-13,,"{street}",,,none,unknown')
    lines.append(f'2026-09-14,01:00,"{hood.name}",,,blunt,domestic')
    lines.append("2026-09-15,,Somewhere nobody has heard of,,,other,other")
    f = tmp_path / "ed-sept.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f


def test_cli_refuses_bad_rows_whole(
    agreement: DataSharingAgreement, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(BAD, encoding="utf-8")
    errors = tmp_path / "errors.csv"
    assert main(["partners", "import", str(f), "--org", DEMO_PARTNER_ORG, "--errors-out", str(errors)]) == 1
    err = capsys.readouterr().err
    assert "REJECTED (nothing was loaded)" in err
    assert "bad.csv, line 3, field 'date'" in err and "bad.csv, line 3, field 'weapon'" in err
    assert PartnerUpload.objects.count() == 0 and PartnerRecord.objects.count() == 0
    assert "weapon" in errors.read_text(encoding="utf-8")
    assert main(["partners", "import", str(f), "--org", "NOPE"]) == 1
    assert "no organisation with the code 'NOPE'" in capsys.readouterr().err


def test_cli_loads_and_locates_a_good_file_once(
    agreement: DataSharingAgreement, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = _good_file(tmp_path)
    assert main(["partners", "import", str(f), "--org", DEMO_PARTNER_ORG]) == 0
    assert "Loaded 6 assault(s)" in capsys.readouterr().out
    up = PartnerUpload.objects.get()
    assert (up.rows, up.located) == (6, 5)
    recs = list(PartnerRecord.objects.order_by("occurred_on", "id"))
    by_coords = [r for r in recs if r.located_by == "coordinates"]
    police = list(
        CrimeRecord.objects.filter(serious_violence=True, lsoa_code__isnull=False)
        .exclude(location_text="")
        .order_by("reference")[:3]
    )
    assert [r.lsoa_code for r in by_coords] == [p.lsoa_code for p in police]
    assert {r.located_by for r in recs} == {"coordinates", "place name", "area name", ""}
    # the same file again is refused, nothing doubled
    assert main(["partners", "import", str(f), "--org", DEMO_PARTNER_ORG]) == 1
    assert "already loaded" in capsys.readouterr().err
    assert PartnerRecord.objects.count() == 6


def _partner(agreement: DataSharingAgreement) -> Client:
    u = User.objects.create_user(username="t-partner", password="a-long-test-password")
    u.groups.add(Group.objects.get_or_create(name="partner")[0])
    Profile.objects.create(user=u, organisation=agreement.organisation)
    c = Client()
    c.force_login(u)
    return c


def _analyst() -> Client:
    u = User.objects.create_user(username="t-analyst", password="a-long-test-password")
    u.groups.add(Group.objects.get_or_create(name="analyst")[0])
    c = Client()
    c.force_login(u)
    return c


def test_portal_upload_bad_then_good_and_analysts_see_it(
    agreement: DataSharingAgreement, tmp_path: Path
) -> None:
    c = _partner(agreement)
    assert c.get("/partners/upload/").status_code == 200
    resp = c.post("/partners/upload/", {"file": SimpleUploadedFile("bad.csv", BAD.encode())})
    assert resp.status_code == 400
    page = resp.content.decode()
    assert "nothing from this file was kept" in page and "not a known weapon" in page
    assert PartnerRecord.objects.count() == 0
    good = _good_file(tmp_path)
    resp = c.post("/partners/upload/", {"file": SimpleUploadedFile("ed-sept.csv", good.read_bytes())})
    assert resp.status_code == 200 and "Loaded." in resp.content.decode()
    assert AccessLog.objects.filter(action="import", resource="partner_data", username="t-partner").exists()
    # partners cannot see the analysts' page; analysts see the upload and the series
    assert c.get("/partners/data/").status_code == 403
    assert c.get("/partners/data/points.json").status_code == 403
    a = _analyst()
    page = a.get("/partners/data/").content.decode()
    assert "ed-sept.csv" in page and "Emergency departments: assaults" in page
    assert "2026-09" in page
    pts = a.get("/partners/data/points.json").json()
    assert len(pts["features"]) == 5
    assert all(f["properties"]["source"].startswith("emergency department") for f in pts["features"])
    assert AccessLog.objects.filter(resource="partner_data", username="t-analyst", action="view").exists()


def test_upload_refused_without_live_agreement(agreement: DataSharingAgreement) -> None:
    c = _partner(agreement)
    DataSharingAgreement.objects.filter(pk=agreement.pk).update(revoked_at="2026-11-01T00:00:00Z")
    resp = c.post("/partners/upload/", {"file": SimpleUploadedFile("bad.csv", BAD.encode())})
    assert resp.status_code == 403 and "ended early" in resp.content.decode()


def test_engagement_counted(agreement: DataSharingAgreement, tmp_path: Path) -> None:
    from rasure_web.partners.selectors import engagement

    c = _partner(agreement)
    c.get("/partners/")
    c.get("/partners/map.json")
    c.post("/partners/upload/", {"file": SimpleUploadedFile("ed.csv", _good_file(tmp_path).read_bytes())})
    with pytest.raises(PermissionDenied):  # partners do not see other partners' engagement
        engagement(user=User.objects.get(username="t-partner"))
    a = _analyst()
    e = engagement(user=User.objects.get(username="t-analyst"))
    assert e["totals"] == {"engaged": 1, "active_users": 1, "uploads": 1, "views": 2}
    assert "Partners engaged" in a.get("/partners/data/").content.decode()


def test_hot_spots_count_partner_data_only_when_chosen(
    agreement: DataSharingAgreement, tmp_path: Path
) -> None:
    from rasure.hotspots.analysis import HotspotParams
    from rasure_web.analysis.services import hotspots_build

    f = _hot_place_file(tmp_path)
    r = _hot_place_record()
    assert main(["partners", "import", str(f), "--org", DEMO_PARTNER_ORG]) == 0
    params = HotspotParams(top=6, gi_permutations=0)
    plain = hotspots_build(params=params)
    assert "partner_data" not in plain.labels
    assert main(["hotspots", "build", "--include-partner-data", "--top", "6", "--permutations", "0"]) == 0
    from rasure_web.analysis.models import AnalysisRun

    run = AnalysisRun.objects.get(is_current=True)
    assert run.labels["partner_data"].startswith(
        "includes partner data: 112 emergency-department assaults, each weighted as offence 8N"
    )
    assert run.records_in_window > plain.records_in_window
    import shapely

    def covers(run: AnalysisRun) -> bool:
        pt = shapely.Point(r.easting, r.northing)
        return any(shapely.from_geojson(h.geofence_geojson).buffer(1).covers(pt) for h in run.hotspots.all())

    assert covers(run) and not covers(plain)  # the hospital's hot place is now a hot spot
    a = _analyst()
    assert "includes partner data" in a.get("/dashboard/").content.decode()
    assert "includes partner data" in a.get("/dashboard/map/").content.decode()
    assert "includes_partner_data" in a.get("/dashboard/export/hotspots.csv").content.decode()
    hs = run.hotspots.first()
    assert (
        hs is not None and "includes partner data" in a.get(f"/dashboard/hotspots/{hs.pk}/").content.decode()
    )


def test_cli_import_is_for_the_force_of_a_live_agreement(
    agreement: DataSharingAgreement, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rasure_web.accounts.models import Force

    Force.objects.create(code="BBB", name="Force B (synthetic)", synthetic=True)
    f = _good_file(tmp_path)
    assert main(["partners", "import", str(f), "--org", DEMO_PARTNER_ORG]) == 1
    assert "say which with --force CODE" in capsys.readouterr().err
    assert main(["partners", "import", str(f), "--org", DEMO_PARTNER_ORG, "--force", "BBB"]) == 1
    err = capsys.readouterr().err
    assert "has no live data-sharing agreement with force BBB" in err and "nothing was loaded" in err
    assert PartnerUpload.objects.count() == 0
    assert main(["partners", "import", str(f), "--org", DEMO_PARTNER_ORG, "--force", "demo"]) == 0
    assert f"(force DEMO, agreement {agreement.reference})" in capsys.readouterr().out
    up = PartnerUpload.objects.get()
    assert (up.tenant_id, up.agreement_id) == (agreement.tenant_id, agreement.pk)


def test_hot_spot_input_is_the_forces_own_partner_records(
    agreement: DataSharingAgreement, tmp_path: Path
) -> None:
    from rasure_web.accounts.models import Force
    from rasure_web.partners.selectors import partner_records_frame

    other = Force.objects.create(code="BBB", name="Force B (synthetic)", synthetic=True)
    assert (
        main(["partners", "import", str(_good_file(tmp_path)), "--org", DEMO_PARTNER_ORG, "--force", "DEMO"])
        == 0
    )
    cols = ["source", "reference", "easting"]
    assert len(partner_records_frame(columns=cols, tenant=agreement.tenant_id)) == 5
    assert partner_records_frame(columns=cols, tenant=other.pk).empty
    # an analyst of the other force sees none of it
    u = User.objects.create_user(username="t-analyst-b", password="a-long-test-password")
    u.groups.add(Group.objects.get_or_create(name="analyst")[0])
    Profile.objects.create(user=u, force=other)
    c = Client()
    c.force_login(u)
    assert "ed-sept.csv" not in c.get("/partners/data/").content.decode()
    assert c.get("/partners/data/points.json").json()["features"] == []


def _hot_place_record() -> CrimeRecord:
    hood = Area.objects.filter(kind="neighbourhood").order_by("code").last()
    assert hood is not None
    r = CrimeRecord.objects.filter(lsoa_code=hood.code, lat__isnull=False).first()
    assert r is not None
    return r


def _hot_place_file(tmp_path: Path) -> Path:
    """112 assaults at one place the police data do not make hot."""
    r = _hot_place_record()
    lines = ["date,time,latitude,longitude,weapon,assault"]
    lines += [
        f"2026-{m:02d}-{d:02d},23:30,{r.lat},{r.lon},knife,stranger"
        for m in (6, 7, 8, 9)
        for d in range(1, 29)
    ]
    f = tmp_path / "ed.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f


@pytest.mark.django_db(transaction=True)
def test_analyst_queues_a_rebuild_with_then_without_partner_data(
    agreement: DataSharingAgreement, tmp_path: Path
) -> None:
    """The dashboard's control: queued on django-q2, run by the worker's code, status shown, logged;
    the next drop-folder rebuild keeps the choice."""
    from django_q.models import OrmQ

    from rasure_web.analysis.models import AnalysisRun
    from rasure_web.analysis.services import current_run_includes_partner_data
    from tests.worker import run_queued

    assert main(["partners", "import", str(_hot_place_file(tmp_path)), "--org", DEMO_PARTNER_ORG]) == 0
    before = AnalysisRun.objects.get(is_current=True)
    a = _analyst()
    page = a.get("/partners/data/").content.decode()
    assert "do not include partner data" in page
    resp = a.post("/partners/data/rebuild/", {"include_partner_data": "1"})
    assert resp.status_code == 302 and resp["Location"] == "/partners/data/#rebuild"
    assert OrmQ.objects.count() == 1
    page = a.get("/partners/data/").content.decode()
    assert "Queued: rebuild hot spots including partner data" in page and ">queued<" in page
    # a second choice while one waits is refused, not queued
    a.post("/partners/data/rebuild/", {"include_partner_data": "0"})
    assert OrmQ.objects.count() == 1
    assert "already queued" in a.get("/partners/data/").content.decode()
    status = a.get("/partners/data/rebuild/status.json").json()  # what the page polls
    assert [w["status"] for w in status["waiting"]] == ["queued"] and status["done"] == []
    log = AccessLog.objects.get(action="queue", resource="hotspots_rebuild")
    assert log.username == "t-analyst" and log.detail == "rebuild hot spots including partner data"

    run_queued()
    run = AnalysisRun.objects.get(is_current=True)
    assert run.pk != before.pk and run.labels["partner_data"].startswith(
        "includes partner data: 112 emergency-department assaults"
    )
    assert run.params == before.params  # the current run's settings, one choice changed
    assert current_run_includes_partner_data()  # what a drop-folder rebuild will keep
    page = a.get("/partners/data/").content.decode()
    assert ">done<" in page and f"analysis run {run.pk}" in page
    status = a.get("/partners/data/rebuild/status.json").json()
    assert status["waiting"] == [] and [d["status"] for d in status["done"]] == ["done"]
    assert status["done"][0]["finished"] in page and status["run"]["id"] == run.pk
    assert (
        f"(analysis run {run.pk}, {status['run']['created']})" in page
    )  # the page's line, as the script writes it
    assert status["run"]["partner_data"].startswith("includes partner data: 112")
    assert "<strong>includes partner data: 112" in page
    assert "includes partner data" in a.get("/dashboard/").content.decode()

    a.post("/partners/data/rebuild/", {"include_partner_data": "0"})
    run_queued()
    plain = AnalysisRun.objects.get(is_current=True)
    assert "partner_data" not in plain.labels and not current_run_includes_partner_data()
    assert "do not include partner data" in a.get("/partners/data/").content.decode()
    assert "includes partner data" not in a.get("/dashboard/").content.decode()


def test_the_rebuild_status_is_for_those_who_may_rebuild(agreement: DataSharingAgreement) -> None:
    """The JSON the partner data page polls has the rebuild control's permission: analysts (and
    administrators) only; a partner or an officer is refused, and signed-out visitors sent to sign in."""
    url = "/partners/data/rebuild/status.json"
    assert Client().get(url).status_code == 302
    for role in ("partner", "officer"):
        u = User.objects.create_user(username=f"t-{role}", password="a-long-test-password")
        u.groups.add(Group.objects.get_or_create(name=role)[0])
        c = Client()
        c.force_login(u)
        assert c.get(url).status_code == 403, role
    body = _analyst().get(url).json()
    assert body["waiting"] == [] and body["done"] == [] and set(body) == {"waiting", "done", "run"}
