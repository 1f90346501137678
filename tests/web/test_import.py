"""Imports into the real database (SQLite, and PostgreSQL when DATABASE_URL is set)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rasure_web.cli import main
from rasure_web.crimes import services, writer
from rasure_web.crimes.models import CrimePersonLink, CrimeRecord, ImportRun, Person
from tests.factories import street_row, write_outcomes, write_street

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def _state() -> list[tuple[object, ...]]:
    return list(
        CrimeRecord.objects.order_by("source", "reference").values_list(
            "source", "reference", "category", "last_outcome", "last_outcome_month", "easting", "harm_days"
        )
    )


def test_import_update_never_duplicate(tmp_path: Path) -> None:
    f = write_street(tmp_path / "2024-03-t-street.csv", [street_row("c1"), street_row("c2", lon="", lat="")])
    [r] = services.records_import_policeuk(paths=[str(f)])
    assert r.ok and (r.inserted, r.updated, r.unchanged, r.without_location) == (2, 0, 0, 1)
    first = _state()
    [r] = services.records_import_policeuk(paths=[str(f)])
    assert (r.inserted, r.updated, r.unchanged) == (0, 0, 2)
    assert _state() == first
    # an updated file (later month, new category) updates by (source, reference)
    g = write_street(
        tmp_path / "2024-04-t-street.csv", [street_row("c1", month="2024-04", crime_type="Public order")]
    )
    [r] = services.records_import_policeuk(paths=[str(g)])
    assert (r.inserted, r.updated) == (0, 1)
    assert CrimeRecord.objects.count() == 2
    assert CrimeRecord.objects.get(reference="c1").category == "Public order"
    # re-importing the older file does not roll the record back
    services.records_import_policeuk(paths=[str(f)])
    assert CrimeRecord.objects.get(reference="c1").category == "Public order"


def test_outcomes_update_and_never_roll_back(tmp_path: Path) -> None:
    f = write_street(tmp_path / "2024-03-t-street.csv", [street_row("c1", outcome="Under investigation")])
    o5 = write_outcomes(
        tmp_path / "2024-05-t-outcomes.csv",
        [("c1", "2024-05", "Suspect charged"), ("zz", "2024-05", "Local resolution")],
    )
    o4 = write_outcomes(tmp_path / "2024-04-t-outcomes.csv", [("c1", "2024-04", "Awaiting court outcome")])
    reports = services.records_import_policeuk(paths=[str(tmp_path)])
    assert [r.kind for r in reports] == ["street", "outcomes", "outcomes"]
    c1 = CrimeRecord.objects.get(reference="c1")
    assert (c1.last_outcome, c1.last_outcome_month) == ("Suspect charged", "2024-05")
    assert reports[2].outcomes_not_found == 1
    services.records_import_policeuk(paths=[str(o4), str(f)])  # older outcome and street file again
    c1.refresh_from_db()
    assert c1.last_outcome == "Suspect charged"
    assert o5.exists()


@pytest.mark.parametrize("case", ["truncated", "coordinates", "header", "encoding"])
def test_bad_file_leaves_database_as_it_was(tmp_path: Path, case: str) -> None:
    ok = write_street(tmp_path / "2024-03-ok-street.csv", [street_row("c1")])
    services.records_import_policeuk(paths=[str(ok)])
    before = _state()
    rows = [street_row("n1"), street_row("n2"), street_row("n3")]
    header = None
    if case == "truncated":
        rows[1] = "n2,2024-03,Test"
    elif case == "coordinates":
        rows[1] = street_row("n2", lat="999")
    elif case == "header":
        header = "Crime ID,Month,Reported by,Falls within,Lng,Lat"
    bad = tmp_path / "bad" / "2024-03-bad-street.csv"
    bad.parent.mkdir()
    write_street(bad, rows, **({"header": header} if header else {}))
    if case == "encoding":
        bad.write_bytes(bad.read_bytes().replace(b"High Street", b"H\xe9gh Street", 1))
    code = main(["import", "police-uk", str(bad), "--errors-out", str(tmp_path / "errors.csv")])
    assert code == 1
    assert _state() == before
    run = ImportRun.objects.filter(status=ImportRun.Status.REJECTED).get()
    assert "2024-03-bad-street.csv" in run.error and "line" in run.error
    errors = (tmp_path / "errors.csv").read_text()
    assert "2024-03-bad-street.csv" in errors and "how_to_fix" in errors


def test_failure_while_writing_rolls_back_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = EXAMPLES / "force-export-example.csv"
    from rasure.ingest.mapped import template_path

    def boom(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "merge_people", boom)
    with pytest.raises(RuntimeError):
        services.records_import_mapped(paths=[str(f)], mapping=str(template_path()))
    assert CrimeRecord.objects.count() == 0


def test_force_export_with_people(tmp_path: Path) -> None:
    from rasure.ingest.mapped import template_path

    code = main(
        ["import", "records", str(EXAMPLES / "force-export-example.csv"), "--mapping", str(template_path())]
    )
    assert code == 0
    assert CrimeRecord.objects.count() == 4
    assert Person.objects.count() == 7
    assert CrimePersonLink.objects.filter(record__reference="SYN/0003/24", role="victim").count() == 3
    rec = CrimeRecord.objects.get(reference="SYN/0001/24")
    assert (
        rec.serious_violence and rec.knife_enabled and rec.harm_days == 365 and rec.sv_basis == "offence_code"
    )
    code = main(
        ["import", "records", str(EXAMPLES / "force-export-example.csv"), "--mapping", str(template_path())]
    )
    assert CrimePersonLink.objects.count() == 7 and CrimeRecord.objects.count() == 4


def test_repeats_and_the_period_are_reported_in_plain_terms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A repeated Crime ID is merged and the import says so; the summary gives the period as the
    force's calendar months (July 2022 is 1 July, not 30 June 23:00 UTC)."""
    f = write_street(
        tmp_path / "2022-07-t-street.csv",
        [
            street_row("r1", month="2022-07"),
            street_row("r1", month="2022-07"),
            street_row("r2", month="2022-07"),
        ],
    )
    assert main(["import", "police-uk", str(f)]) == 0
    err = capsys.readouterr().err
    assert (
        "3 rows, 2 new" in err
        and "note: 1 repeated Crime ID row(s) in this file merged into one record each" in err
    )
    assert main(["records", "summary"]) == 0
    out = capsys.readouterr().out
    assert "Period: 2022-07-01 to 2022-07-31 (local dates)" in out and "+00:00" not in out


def test_summary_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write_street(
        tmp_path / "2024-03-t-street.csv",
        [street_row("c1"), street_row("c2", crime_type="Burglary"), street_row("c3", lon="", lat="")],
    )
    services.records_import_policeuk(paths=[str(f)])
    capsys.readouterr()
    assert main(["records", "summary", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["records"] == 3 and s["without_location"] == 1 and s["serious_violence"] == 2
    assert s["by_category"]["Burglary"]["records"] == 1
    assert s["harm_days"] == pytest.approx(2 * 194.21)
    assert "police.uk approximation" in s["serious_violence_basis"]
    assert "APPROXIMATION" in s["harm_weights"] and s["harm_weights_official"] is False


def test_harm_load_recomputes(tmp_path: Path) -> None:
    from rasure.ingest.mapped import template_path

    services.records_import_mapped(
        paths=[str(EXAMPLES / "force-export-example.csv")], mapping=str(template_path())
    )
    sheet = tmp_path / "cchi.csv"
    sheet.write_text("Offence code,Offence description,CCHI days\n8N,Assault with injury,120\n")
    assert main(["harm", "load", str(sheet)]) == 0
    assert CrimeRecord.objects.get(reference="SYN/0001/24").harm_days == 120
    # codes not in the loaded sheet fall back to the category weight, and say so
    rob = CrimeRecord.objects.get(reference="SYN/0003/24")
    assert rob.harm_basis == "category" and rob.harm_days == 365
    assert services.harm_table_current().official


def test_harm_load_xlsx(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Cambridge Crime Harm Index (test sheet)"])
    ws.append([])
    ws.append(["HO Code", "Offence", "CCHI"])
    ws.append(["8N", "Assault with injury", 100])
    ws.append(["105A", "Assault without injury", "abc"])
    wb.save(tmp_path / "cchi.xlsx")
    with pytest.raises(Exception, match=r"line 5.*not a number"):
        services.harm_load(path=str(tmp_path / "cchi.xlsx"))
    ws["C5"] = 5
    wb.save(tmp_path / "cchi.xlsx")
    table = services.harm_load(path=str(tmp_path / "cchi.xlsx"))
    assert table.by_code.to_dict() == {"8N": 100.0, "105A": 5.0}


@pytest.mark.realdata
def test_gwent_loads_every_row_and_second_run_changes_nothing(shared_data: Path) -> None:
    folder = shared_data / "policeuk" / "gwent"
    files = sorted(str(p) for p in folder.glob("2023-0[1-3]-*.csv.gz"))
    reports = services.records_import_policeuk(paths=files)
    assert all(r.ok for r in reports)
    street = [r for r in reports if r.kind == "street"]
    merged = sum(
        len(r.notes) and int(r.notes[0].split()[0]) if "repeated" in (r.notes[0] if r.notes else "") else 0
        for r in street
    )
    assert CrimeRecord.objects.count() == sum(r.rows_read for r in street) - merged - sum(
        r.updated for r in street
    )
    before = _state()
    again = services.records_import_policeuk(paths=files)
    assert sum(r.inserted + r.updated for r in again) == 0
    assert _state() == before


def test_a_file_read_in_many_chunks_imports_as_if_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks carry the file's rules across: a Crime ID repeated in a later chunk is merged (first
    row wins), a crime type first seen in a later chunk is classified and weighted like one seen in
    the first, and the counts are the same as for the file read whole."""
    from rasure import classify, harm
    from rasure.ingest import policeuk

    types = ["Burglary"] * 40 + ["Robbery", "Violence and sexual offences", "Public order"] * 20
    rows = [street_row(f"c{i}", crime_type=t) for i, t in enumerate(types)]
    rows.append(street_row("c3", crime_type="Shoplifting"))  # repeats c3, many chunks later
    f = write_street(tmp_path / "2024-03-t-street.csv", rows)
    whole = services.records_import_policeuk(paths=[str(f)])[0]
    expected = _state()
    CrimeRecord.objects.all().delete()
    opened = policeuk.open_policeuk
    monkeypatch.setattr(policeuk, "open_policeuk", lambda p, crs: opened(p, crs=crs, block_bytes=512))
    [r] = services.records_import_policeuk(paths=[str(f)])
    assert (r.inserted, r.unchanged, r.notes) == (len(rows) - 1, 0, whole.notes)
    assert "1 repeated Crime ID row(s)" in r.notes[0]
    assert _state() == expected
    assert CrimeRecord.objects.get(reference="c3").category == "Burglary"
    stored = CrimeRecord.objects.order_by("id").values(
        "category", "serious_violence", "sv_basis", "harm_days"
    )
    by_type = {s["category"]: s for s in stored}
    import pandas as pd

    recs = pd.DataFrame({"category": pd.array(list(by_type), dtype="string")})
    sv = classify.classify(recs)
    days = harm.harm_days(recs)
    for i, t in enumerate(by_type):
        assert by_type[t]["serious_violence"] == bool(sv["serious_violence"][i])
        assert by_type[t]["harm_days"] == pytest.approx(float(days["harm_days"][i]))


@pytest.mark.django_db(transaction=True)
def test_sqlite_import_stages_in_a_file_and_restores_the_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside a transaction (the CLI), an SQLite import stages in a temporary file, so staging memory
    does not grow with the file; afterwards the connection keeps its temporary tables in memory again."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's temp_store")

    def temp_store() -> int:
        with connection.cursor() as cur:
            cur.execute("PRAGMA temp_store")
            return int(cur.fetchone()[0])

    before = temp_store()
    seen: list[int] = []
    write = writer.write_file

    def watched(*args: object, **kwargs: object) -> writer.Written:
        seen.append(temp_store())
        return write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(writer, "write_file", watched)
    f = write_street(tmp_path / "2024-03-t-street.csv", [street_row("c1"), street_row("c2")])
    [r] = services.records_import_policeuk(paths=[str(f)])
    assert r.ok and r.inserted == 2
    assert seen == [1] and before == 2 and temp_store() == before  # 1 = FILE, 2 = MEMORY
