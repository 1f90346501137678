"""Two real forces on one installation (issue 10, "Done means"): Gwent and Thames Valley police.uk street
files loaded through the real commands, each force with its own hot spots and a committed trial over the
same dates; officers see only their own force's treated hot spots wherever they stand, analysts' exports
and map layers hold only their own force's places, and each dashboard counts only its own records.

What does not depend on real data (the other force's pages are 404 for every role, a second trial of one
force over the same days, commands that must name the force, grants) is tested once, on two synthetic
cities, in tests/web/test_tenancy.py; this module keeps what real, far-apart forces with different
periods of data show.

The crime data are real public data (../shared/data, Open Government Licence v3.0: "Contains public
sector information licensed under the Open Government Licence v3.0"); the module skips when they are
absent. The people (officers, analysts) are synthetic.

Everything is loaded once for the module, inside one transaction that is rolled back at the end (each
test then runs in a savepoint of it, as Django's TestCase.setUpTestData does), so the module costs one
import of each force's files.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from rasure_web.cli import main
from tests.conftest import shared_data_dir
from tests.web.test_patrol_routes import client_for, make_user, post, start_body

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.realdata,
    pytest.mark.usefixtures("clock"),
    # one worker runs the whole module, so its module fixture (two forces' imports) is built once
    pytest.mark.xdist_group("two_real_forces"),
    pytest.mark.skipif(shared_data_dir() is None, reason="../shared/data is absent: real-data test skipped"),
]

API = "/api/patrol"

#: a few months of each force: small enough for a quick module, enough for stable hot spots
FORCES: dict[str, dict[str, Any]] = {
    "GWENT": {
        "name": "Gwent Police",
        "files": ("policeuk/gwent", "2025-0[56]-gwent-street.csv.gz"),
        "centre": (51.59, -2.99),  # Newport
        "seed": "6a" * 32,
    },
    "TVP": {
        "name": "Thames Valley Police",
        "files": ("policeuk/thames-valley/street", "2019-0[12]-thames-valley-street.csv"),
        "centre": (51.45, -0.97),  # Reading
        "seed": "7b" * 32,
    },
}
TVP_LSOAS = "boundaries/thames_valley_lsoa2011_bgc.geojson"
TRIAL_DAYS = 7


def _run(*args: str) -> str:
    """``rasure ARGS`` through the real command line; its standard output (it must succeed)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    assert code == 0, f"rasure {' '.join(args)} -> {code}\n{out.getvalue()}\n{err.getvalue()}"
    return out.getvalue()


@pytest.fixture(scope="module")
def loaded(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """Forces GWENT and TVP through ``rasure force add``; two months of each force's street files through
    ``rasure import police-uk --force``; Thames Valley's 2011 LSOAs through ``rasure areas load``; hot
    spots per force through ``rasure hotspots build --force``; a trial per force over the same seven
    days through ``rasure trial create --force`` and ``rasure trial commit``."""
    data = shared_data_dir()
    if data is None:
        pytest.skip("../shared/data is absent (fresh clone): real-data test skipped")
    import time_machine

    from rasure_web import clock
    from rasure_web.accounts.models import Force, Profile
    from rasure_web.analysis.models import AnalysisRun, HotSpot
    from rasure_web.trials.models import Trial
    from rasure_web.trials.selectors import hotspot_arms_for
    from tests.city import TEST_NOW

    with (
        time_machine.travel(TEST_NOW, tick=True),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        start = clock.local_today("Europe/London")
        out: dict[str, Any] = {}
        for code, spec in FORCES.items():
            _run("force", "add", code, "--name", spec["name"])
            folder, pattern = spec["files"]
            files = sorted(str(p) for p in (data / folder).glob(pattern))
            assert len(files) == 2, files
            _run("import", "police-uk", *files, "--force", code)
            if code == "TVP":
                lsoas = str(data / TVP_LSOAS)
                _run("areas", "load", lsoas, "--level", "lsoa", "--code-field", "LSOA11CD", "--force", code)
            _run(
                *("hotspots", "build", "--force", code, "--top", "12", "--window-months", "2"),
                *("--permutations", "0"),
            )
            created = _run(
                *("trial", "create", "--name", f"{code}-SV-TRIAL", "--start", start.isoformat()),
                *("--days", str(TRIAL_DAYS), "--strata", "none", "--force", code),
            )
            m = re.search(r"Trial (\d+) created", created)
            assert m, created
            trial_id = int(m.group(1))
            _run("trial", "commit", str(trial_id), "--allow-past-start", "--seed", spec["seed"])
            force = Force.objects.get(code=code)
            run = AnalysisRun.objects.get(tenant=force, is_current=True)
            analyst = make_user(f"syn-analyst-{code.lower()}", role="analyst")
            officer = make_user(f"syn-pc-{code.lower()}")
            for u in (analyst, officer):
                Profile.objects.update_or_create(user=u, defaults={"force": force})
            out[code] = {
                "force": force,
                "run": run,
                "trial": Trial.objects.get(pk=trial_id),
                "hotspots": set(HotSpot.objects.filter(run=run).values_list("pk", flat=True)),
                "analyst": analyst,
                "officer": officer,
                "files": files,
            }
        # arms read once both trials are committed (each force's arms for today)
        for f in out.values():
            f["arms"] = hotspot_arms_for(when=clock.now(), force_id=f["force"].pk)
        yield out
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _loaded_first(loaded: dict[str, Any]) -> None:
    """Every test here stands on the module's loaded data (and so skips with it)."""


def _treated(f: dict[str, Any]) -> list[int]:
    return sorted(pk for pk, arm in f["arms"].items() if arm == "treatment")


# --- the installation -------------------------------------------------------------------------------------


def test_each_force_holds_its_own_records_hot_spots_and_a_trial_over_the_same_dates(
    loaded: dict[str, Any],
) -> None:
    from rasure_web.crimes.models import Area, CrimeRecord

    g, t = loaded["GWENT"], loaded["TVP"]
    lsoa = {
        code: set(
            CrimeRecord.objects.filter(tenant=f["force"])
            .exclude(lsoa_code=None)
            .values_list("lsoa_code", flat=True)
        )
        for code, f in loaded.items()
    }
    # each force's records are its own: Gwent's mostly in Welsh LSOAs (W01…, a few over the border),
    # Thames Valley's in English ones only, and no LSOA in both
    assert sum(c.startswith("W01") for c in lsoa["GWENT"]) > 0.9 * len(lsoa["GWENT"])
    assert lsoa["TVP"] and all(c.startswith("E01") for c in lsoa["TVP"])
    assert not lsoa["GWENT"] & lsoa["TVP"]
    # Thames Valley's 1,415 LSOAs are Thames Valley's areas; Gwent has none
    tvp_areas = set(
        Area.objects.filter(tenant=t["force"], kind=Area.Kind.LSOA).values_list("code", flat=True)
    )
    assert len(tvp_areas) == 1415 and not tvp_areas & lsoa["GWENT"]
    assert not Area.objects.filter(tenant=g["force"]).exists()
    # each force's run covers its own files' months (one current run per force, both trials committed
    # over the same days, and each force's arms its own hot spots: test_tenancy)
    assert g["run"].window_end.year == 2025 and t["run"].window_end.year == 2019
    assert g["hotspots"] and t["hotspots"] and _treated(g) and _treated(t)


# --- officers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mine", "theirs"), [("GWENT", "TVP"), ("TVP", "GWENT")])
def test_an_officer_sees_only_their_own_forces_treated_hot_spots(
    loaded: dict[str, Any], mine: str, theirs: str
) -> None:
    from rasure_web import clock
    from rasure_web.patrols.models import Visit

    me, other = loaded[mine], loaded[theirs]
    c = client_for(me["officer"])
    # standing in their own town, and standing in the other force's town: own treated hot spots only
    for lat, lon in (FORCES[mine]["centre"], FORCES[theirs]["centre"]):
        body = c.get(f"{API}/hotspots/nearest", {"lat": lat, "lon": lon, "limit": 50}).json()
        listed = {s["id"] for s in body["hotspots"]}
        assert body["trial_running"] is True
        assert listed == set(_treated(me)), (mine, lat, lon)
        assert not listed & other["hotspots"]
    # the other force's treated hot spot: no briefing, and a visit there is refused
    there = _treated(other)[0]
    assert c.get(f"{API}/hotspots/{there}/briefing").status_code == 404
    r = post(c, f"{API}/visits/start", start_body(there, at=clock.now()))
    assert r.status_code in (400, 404, 409), r.content
    assert not Visit.objects.exists()
    # their own treated hot spot: the same request is accepted (the refusal above is the force's)
    here = _treated(me)[0]
    assert c.get(f"{API}/hotspots/{here}/briefing").status_code == 200
    r = post(c, f"{API}/visits/start", start_body(here, at=clock.now()))
    assert r.status_code == 200, r.content
    assert Visit.objects.get().hotspot_id == here


# --- analysts ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mine", "theirs"), [("GWENT", "TVP"), ("TVP", "GWENT")])
def test_an_analysts_exports_hold_only_their_own_forces_hot_spots(
    loaded: dict[str, Any], mine: str, theirs: str
) -> None:
    import csv
    import io

    from rasure_web.analysis.models import HotSpot

    me, other = loaded[mine], loaded[theirs]
    c = client_for(me["analyst"])

    def codes(run: Any) -> set[tuple[str, float, float]]:
        return {(h.code, round(h.lon, 6), round(h.lat, 6)) for h in HotSpot.objects.filter(run=run)}

    own, theirs_rows = codes(me["run"]), codes(other["run"])
    rows = list(csv.DictReader(io.StringIO(c.get("/dashboard/export/hotspots.csv").content.decode())))
    assert {(r["code"], float(r["lon"]), float(r["lat"])) for r in rows} == own
    gj = json.loads(c.get("/dashboard/export/hotspots.geojson").content)
    exported = {
        (f["properties"]["code"], f["properties"]["lon"], f["properties"]["lat"]) for f in gj["features"]
    }
    assert exported == own and not exported & theirs_rows
    kml = c.get("/dashboard/export/hotspots.kml").content.decode()
    assert kml.count("<Placemark") == len(own)
    layer = c.get("/dashboard/map/hotspots.json").json()
    assert {f["properties"]["id"] for f in layer["features"]} == me["hotspots"]
    # the other force's places are nowhere in the export: Gwent is west of -2.6°, Thames Valley east of -1.7°
    west = mine == "GWENT"
    assert all((float(r["lon"]) < -2.6) == west for r in rows)


@pytest.mark.parametrize("mine", ["GWENT", "TVP"])
def test_each_forces_dashboard_overview_counts_only_its_own_records(
    loaded: dict[str, Any], mine: str
) -> None:
    from django.utils import timezone

    from rasure_web.crimes.models import CrimeRecord

    me = loaded[mine]
    c = client_for(me["analyst"])
    r = c.get("/dashboard/")
    assert r.status_code == 200
    own = CrimeRecord.objects.filter(tenant=me["force"])
    fresh = r.context["fresh"]
    assert fresh["records"] == own.count() < CrimeRecord.objects.count()
    assert fresh["serious_violence"] == own.filter(serious_violence=True).count()
    assert f"{fresh['records']:,} records;" in r.content.decode()
    # the monthly series: this force's serious violence in each of its own files' months, and no others
    zone = timezone.get_current_timezone()
    expected = {}
    for name in me["files"]:
        month = Path(name).name[:7]
        first = datetime.strptime(month, "%Y-%m").replace(tzinfo=zone)
        after = (first + timedelta(days=32)).replace(day=1)
        sv = own.filter(serious_violence=True, occurred_from__gte=first, occurred_from__lt=after)
        expected[month] = sv.count()
    shown = {row["month"]: row["count"] for row in r.context["series_rows"] if row["count"]}
    assert shown == expected and sum(expected.values()) == fresh["serious_violence"]
    assert not r.context["synthetic"]


def test_another_forces_synthetic_demo_does_not_label_this_forces_real_records_invented(
    loaded: dict[str, Any],
) -> None:
    """A demo force of synthetic records beside the two real ones: its overview says "synthetic", the real
    forces' overviews do not (their records are real police.uk data)."""
    from rasure_web.accounts.models import Force, Profile
    from rasure_web.crimes.models import CrimeRecord

    demo = Force.objects.create(code="SYNDEMO", name="Synthetic demonstration force")
    CrimeRecord.objects.create(source="synthetic", reference="SYN-1", time_precision="month", tenant=demo)
    demo_analyst = make_user("syn-analyst-demo", role="analyst")
    Profile.objects.update_or_create(user=demo_analyst, defaults={"force": demo})
    banner = "Synthetic demonstration data."
    assert banner in client_for(demo_analyst).get("/dashboard/").content.decode()
    for code in FORCES:
        page = client_for(loaded[code]["analyst"]).get("/dashboard/")
        assert page.status_code == 200 and banner not in page.content.decode(), code


@pytest.mark.parametrize("mine", ["GWENT", "TVP"])
def test_an_analysts_map_layers_hold_only_their_own_forces_crimes_and_areas(
    loaded: dict[str, Any], mine: str
) -> None:
    from rasure_web.crimes.models import CrimeRecord

    me = loaded[mine]
    c = client_for(me["analyst"])
    # a box over both forces (south Wales to the Chilterns), zoomed in so every point comes back unclustered
    layer = c.get("/dashboard/map/crimes.json", {"bbox": "-3.6,51.2,-0.4,52.3", "zoom": 16}).json()
    points = [f["geometry"]["coordinates"] for f in layer["features"]]
    own_sv = CrimeRecord.objects.filter(tenant=me["force"], serious_violence=True, lon__isnull=False)
    own_places = {(round(x, 5), round(y, 5)) for x, y in own_sv.values_list("lon", "lat")}
    assert points and {(round(x, 5), round(y, 5)) for x, y in points} <= own_places
    west = mine == "GWENT"
    assert all((lon < -2.6) == west for lon, _ in points)
    areas = c.get("/dashboard/map/areas.json").json()["features"]
    assert len(areas) == (0 if west else 1415)


@pytest.mark.parametrize("mine", ["GWENT", "TVP"])
def test_trial_power_from_data_reads_the_trials_own_forces_records(loaded: dict[str, Any], mine: str) -> None:
    """Gwent's records end in 2025, Thames Valley's in 2019: each force's rates come from its own last
    months (another force's later data must not move the window onto months this force has no data for)."""
    me = loaded[mine]
    last_month = max(Path(p).name[:7] for p in me["files"])
    for args in (["--trial", str(me["trial"].pk)], ["--force", mine]):
        out = _run("trial", "power", "--from-data", "--months", "2", *args)
        m = re.search(
            r"(\d{4}-\d{2}-\d{2}) to (\d{4}-\d{2}-\d{2}) \(.*?\): base rate ([0-9.]+) per place-day", out
        )
        assert m, out
        assert m.group(2)[:7] == last_month and float(m.group(3)) > 0, out


def test_trial_power_from_data_asks_which_force_when_there_are_several(
    loaded: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trial", "power", "--from-data"]) == 2
    assert "several forces (GWENT, TVP): say which with --force CODE" in capsys.readouterr().err


def test_a_trials_outcome_panel_counts_only_its_own_forces_records(loaded: dict[str, Any]) -> None:
    """One Gwent record (synthetic, dated to the minute on trial day 1) placed, as a wrong force's record
    would be, in the middle of a Thames Valley hot spot: Gwent's panel is covered to that day, Thames
    Valley's is not (no Thames Valley record after 2019), and the record is in neither force's counts."""
    from datetime import time as dtime

    from django.utils import timezone

    from rasure.geo import projected_to_lonlat
    from rasure_web.analysis.models import HotSpot
    from rasure_web.crimes.models import CrimeRecord
    from rasure_web.trials.panel import trial_panel_frame

    g, t = loaded["GWENT"], loaded["TVP"]
    spot = HotSpot.objects.get(pk=min(t["hotspots"]))
    lon, lat = projected_to_lonlat([spot.easting], [spot.northing])
    day1 = datetime.fromisoformat(t["trial"].design["start"]).date()
    at = datetime.combine(day1, dtime(12, 0), timezone.get_current_timezone())
    CrimeRecord.objects.create(
        source="synthetic",
        reference="SYN-WRONG-FORCE-1",
        time_precision="minute",
        occurred_from=at,
        occurred_to=at,
        easting=spot.easting,
        northing=spot.northing,
        lon=float(lon[0]),
        lat=float(lat[0]),
        category="Violence and sexual offences",
        serious_violence=True,
        tenant=g["force"],
    )
    gw, _ = trial_panel_frame(trial=g["trial"])
    tv, _ = trial_panel_frame(trial=t["trial"])
    assert gw.loc[gw["trial_day"] == day1, "sv_count"].eq(0).all()  # covered to day 1, nothing in its spots
    assert tv["sv_count"].isna().all()  # Thames Valley has no record of any trial day: unknown, not zero


def test_trial_list_says_whose_trial_each_is(loaded: dict[str, Any]) -> None:
    both = _run("trial", "list")
    for code, f in loaded.items():
        assert re.search(rf"^\s*{f['trial'].pk}\s+{code}\s+committed\b.*{code}-SV-TRIAL", both, re.M), both
    one = _run("trial", "list", "--force", "tvp")
    assert "TVP-SV-TRIAL" in one and "GWENT-SV-TRIAL" not in one
