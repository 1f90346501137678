"""Emergency-department assault files (rasure.partnerdata): checked whole, every bad row named."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rasure.errors import InputFileError, InvalidRowsError
from rasure.partnerdata import read_ed_assaults

TODAY = dt.date(2026, 11, 18)
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "ed-assaults-example.csv"


def test_the_documented_example_reads() -> None:
    rows = read_ed_assaults(EXAMPLE, today=TODAY)
    assert [r.line for r in rows] == [2, 3, 4]
    assert rows[0].occurred_time == dt.time(23, 40) and rows[0].weapon == "glass or bottle"
    assert (rows[1].lat, rows[1].lon) == (51.455, -0.97)  # coordinates written in the location
    assert rows[2].occurred_time is None and rows[2].assault == "unknown"


def test_every_bad_row_is_named_with_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "ed.csv"
    f.write_text(
        "date,time,location,weapon,assault\n"
        "2026-09-12,25:40,High Street,glass or bottle,stranger\n"
        "2026-09-13,01:15,Park Road,knife,stranger\n"
        "13/13/2026,,,spoon,friend\n"
        "2027-01-01,,Market Square,,\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidRowsError) as e:
        read_ed_assaults(f, today=TODAY, name="ed.csv")
    got = {(p.line, p.field) for p in e.value.problems}
    assert got == {(2, "time"), (4, "date"), (4, "location"), (4, "weapon"), (4, "assault"), (5, "date")}
    assert any(str(p).startswith("ed.csv, line 4, field 'weapon'") for p in e.value.problems)
    assert e.value.total_rows == 4


@pytest.mark.parametrize("column", ["name", "nhs_number", "dob", "postcode"])
def test_identifying_columns_refuse_the_file(tmp_path: Path, column: str) -> None:
    f = tmp_path / "ed.csv"
    f.write_text(f"date,location,{column}\n2026-09-12,High Street,x\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="nothing that could identify a patient"):
        read_ed_assaults(f, today=TODAY)


def test_coordinates_must_come_in_pairs_and_on_earth(tmp_path: Path) -> None:
    f = tmp_path / "ed.csv"
    f.write_text("date,latitude,longitude\n2026-09-12,51.4,\n2026-09-12,95,-1\n", encoding="utf-8")
    with pytest.raises(InvalidRowsError) as e:
        read_ed_assaults(f, today=TODAY)
    assert [(p.line, p.field) for p in e.value.problems] == [(2, "longitude"), (3, "latitude")]


def test_not_utf8_or_empty(tmp_path: Path) -> None:
    f = tmp_path / "ed.csv"
    f.write_bytes("date,location\n2026-09-12,Caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputFileError, match="UTF-8"):
        read_ed_assaults(f, today=TODAY)
    f.write_text("date,location\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="no rows"):
        read_ed_assaults(f, today=TODAY)
