"""Each force's own harm and serious-violence scope tables on one installation (issue 10, the parts
left open): the same records classified and weighed by two forces' different tables give different
counts and harm, counted here independently from the file; commands name the force or stop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rasure.hotspots.analysis import HotspotParams
from rasure_web.accounts.models import Force
from rasure_web.analysis.services import hotspots_build
from rasure_web.cli import main
from rasure_web.crimes.models import CrimeRecord, HarmTableInfo, HarmWeight, ScopeTableInfo
from rasure_web.crimes.scope import scope_current
from rasure_web.crimes.selectors import records_summary
from rasure_web.crimes.services import harm_table_current
from tests.factories import IUCR_SCOPE, us_city_export

pytestmark = pytest.mark.django_db

# Force BBB's own tables: only armed robbery is serious violence there, and it weighs two codes
SCOPE_B = "# Force B scope. Version 7.\noffence_code,sv_group,counts_as\n031A,armed robbery: handgun,always\n"
HARM_B = "Offence code,CCHI days\n041A,50\n031A,30\n"


@pytest.fixture
def two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Forces AAA and BBB holding the same export. AAA loads its scope before importing (the import
    classifies with it); BBB imports first and then loads its scope and harm tables (its records are
    reclassified and reweighed; AAA's are not touched)."""
    export, mapping, scope_a = us_city_export(tmp_path)
    scope_b = tmp_path / "scope_b.csv"
    scope_b.write_text(SCOPE_B, encoding="utf-8")
    harm_b = tmp_path / "harm_b.csv"
    harm_b.write_text(HARM_B, encoding="utf-8")
    Force.objects.create(code="AAA", name="Force A", crs="EPSG:32616")  # the export is a US city's
    Force.objects.create(code="BBB", name="Force B", crs="EPSG:32616")
    assert main(["scope", "load", str(scope_a), "--force", "aaa"]) == 0
    assert main(["import", "records", str(export), "--mapping", str(mapping), "--force", "AAA"]) == 0
    out_a = capsys.readouterr().out
    assert main(["import", "records", str(export), "--mapping", str(mapping), "--force", "BBB"]) == 0
    out_b_import = capsys.readouterr().out
    assert main(["scope", "load", str(scope_b), "--force", "BBB"]) == 0
    out_b_scope = capsys.readouterr().out
    assert main(["harm", "load", str(harm_b), "--force", "BBB"]) == 0
    out_b_harm = capsys.readouterr().out
    rows = pd.read_csv(export, dtype=str)
    return {
        "rows": rows,
        "scope_a": scope_a,
        "scope_b": scope_b,
        "harm_b": harm_b,
        "out": {"a": out_a, "b_import": out_b_import, "b_scope": out_b_scope, "b_harm": out_b_harm},
    }


def test_two_forces_tables_give_different_counts_and_harm_for_the_same_records(two: dict[str, Any]) -> None:
    rows = two["rows"]
    code = rows["IUCR"]
    # counted from the file: AAA's scope takes 0110, 041A and 031A always (0486 only with a weapon,
    # and the export records none); BBB's takes 031A only
    want_sv_a = int(code.isin(["0110", "041A", "031A"]).sum())
    want_sv_b = int((code == "031A").sum())
    # BBB's harm: 30 days for each 031A, 50 for each 041A; serious-violence harm is the 031A rows'
    want_harm_b_all = 30.0 * int((code == "031A").sum()) + 50.0 * int((code == "041A").sum())
    want_harm_b_sv = 30.0 * want_sv_b
    assert (want_sv_a, want_sv_b) == (310, 80)  # what the export was built to hold
    a, b = records_summary(force="AAA"), records_summary(force="BBB")
    assert a["records"] == b["records"] == len(rows)
    assert (a["serious_violence"], b["serious_violence"]) == (want_sv_a, want_sv_b)
    assert b["harm_days"] == pytest.approx(want_harm_b_sv)
    assert b["harm_days_all_records"] == pytest.approx(want_harm_b_all)
    assert a["harm_days_all_records"] != b["harm_days_all_records"]  # AAA keeps the built-in table
    assert not a["harm_weights_official"] and b["harm_weights_official"]
    # the labels count each force's own data against its own table (041A, 031A and 0820 in the data)
    assert a["harm_weights"].startswith("harm weights: Rasure's built-in APPROXIMATION")
    assert "official for 2 of 3 offence codes in the data" in b["harm_weights"]
    # each force's stored rows
    aaa, bbb = Force.objects.get(code="AAA"), Force.objects.get(code="BBB")
    assert CrimeRecord.objects.filter(tenant=aaa, serious_violence=True).count() == want_sv_a
    assert CrimeRecord.objects.filter(tenant=bbb, serious_violence=True).count() == want_sv_b
    assert not HarmWeight.objects.filter(tenant=aaa).exists()  # AAA loaded none: the built-in table
    # BBB's file, filled in with the built-in values for the codes it does not give (rasure.harm)
    stored_b = dict(
        HarmWeight.objects.filter(tenant=bbb, key_type="offence_code").values_list("key", "cchi_days")
    )
    assert (stored_b["041A"], stored_b["031A"]) == (50.0, 30.0)
    assert not HarmTableInfo.objects.filter(tenant=aaa).exists()
    assert ScopeTableInfo.objects.get(tenant=aaa).codes_csv == IUCR_SCOPE
    assert ScopeTableInfo.objects.get(tenant=bbb).codes_csv == SCOPE_B
    assert set(scope_current(tenant=aaa.pk).codes.frame["offence_code"]) == {"0110", "041A", "031A", "0486"}
    assert set(scope_current(tenant=bbb.pk).codes.frame["offence_code"]) == {"031A"}
    assert not harm_table_current(tenant=aaa.pk).rows["key"].isin(["041A"]).any()
    weights_b = harm_table_current(tenant=bbb.pk).rows.set_index("key")["cchi_days"]
    assert (weights_b["041A"], weights_b["031A"]) == (50.0, 30.0)
    assert len(weights_b) == HarmWeight.objects.filter(tenant=bbb).count()


def test_outputs_say_which_forces_tables(two: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    out = two["out"]
    assert "Force AAA: serious-violence scope: the force's own table" in out["a"]
    assert str(two["scope_a"]) in out["a"]
    assert "Force BBB:" in out["b_import"] and "the force's own table" not in out["b_import"]
    # BBB's built-in scope took none of the IUCR codes; its own takes the 80 armed robberies
    assert "(1 offence codes) for force BBB; 80 record(s) reclassified" in out["b_scope"]
    assert "for force BBB" in out["b_harm"] and "official for 2 of 3 offence codes" in out["b_harm"]
    assert main(["scope", "show", "--force", "AAA"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("Force AAA (Force A): ") and str(two["scope_a"]) in shown and "0486" in shown
    assert main(["scope", "show", "--force", "BBB"]) == 0
    shown = capsys.readouterr().out
    assert str(two["scope_b"]) in shown and "0486" not in shown
    assert main(["harm", "show", "--force", "BBB"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("Force BBB (Force B): ") and "official for 2 of 3" in shown and "041A" in shown
    assert main(["harm", "show", "--force", "AAA"]) == 0
    assert "built-in APPROXIMATION" in capsys.readouterr().out
    assert main(["records", "summary", "--json", "--force", "BBB"]) == 0
    assert json.loads(capsys.readouterr().out)["serious_violence"] == 80


def test_hotspot_builds_use_the_forces_own_tables(two: dict[str, Any]) -> None:
    params = HotspotParams(top=2, gi_permutations=0)
    run_a = hotspots_build(params=params, force="AAA")
    run_b = hotspots_build(params=params, force="BBB")
    assert str(two["scope_a"]) in run_a.labels["scope"] and str(two["scope_b"]) in run_b.labels["scope"]
    assert "built-in APPROXIMATION" in run_a.labels["harm"] and "official for" in run_b.labels["harm"]
    assert run_a.records_in_window > run_b.records_in_window  # 310 and 80 records over the same year


def test_commands_without_force_stop_and_list_the_codes(
    two: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    before = (
        ScopeTableInfo.objects.count(),
        HarmWeight.objects.count(),
        CrimeRecord.objects.filter(serious_violence=True).count(),
    )
    capsys.readouterr()
    for argv in (
        ["scope", "show"],
        ["scope", "load", str(two["scope_b"])],
        ["harm", "show"],
        ["harm", "load", str(two["harm_b"])],
        ["hotspots", "build"],
        ["records", "summary"],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "AAA, BBB" in err and "--force CODE" in err, argv
    after = (
        ScopeTableInfo.objects.count(),
        HarmWeight.objects.count(),
        CrimeRecord.objects.filter(serious_violence=True).count(),
    )
    assert after == before  # nothing written


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_tables_to_the_existing_force() -> None:
    """Harm and scope rows written when the tables were one per installation go to its force."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("crimes", "0005_person_tenant")], [("crimes", "0006_harm_scope_tenant")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        force = old.get_model("accounts", "Force").objects.create(code="OLD", name="The force here")
        old.get_model("crimes", "HarmWeight").objects.create(
            key_type="offence_code", key="8N", cchi_days=100.0, source="test"
        )
        old.get_model("crimes", "HarmTableInfo").objects.create(official=True, origin="cchi.xlsx")
        old.get_model("crimes", "ScopeTableInfo").objects.create(
            source="scope.csv", sha256="0" * 64, codes_csv=IUCR_SCOPE
        )
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps
        for name in ("HarmWeight", "HarmTableInfo", "ScopeTableInfo"):
            assert list(new.get_model("crimes", name).objects.values_list("tenant_id", flat=True)) == [
                force.pk
            ]
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
