"""police.uk reader: real quirks accepted, bad input rejected with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rasure.errors import InputFileError, InvalidRowsError
from rasure.ingest.common import expand_paths
from rasure.ingest.policeuk import read_policeuk, read_street_files
from tests.factories import OUTCOME_HEADER, street_row, write_outcomes, write_street


def test_reads_street_file_with_asb_no_location_and_repeats(tmp_path: Path) -> None:
    f = write_street(
        tmp_path / "2024-03-test-street.csv",
        [
            street_row("c1"),
            street_row("c1"),  # same crime listed twice: merged
            street_row("", crime_type="Anti-social behaviour", outcome=""),
            street_row(
                "", crime_type="Anti-social behaviour", outcome=""
            ),  # identical ASB row: a second incident
            street_row("c2", lon="", lat="", location="No Location"),
        ],
    )
    parsed = read_policeuk(f)
    recs = parsed.records
    assert parsed.rows_read == 5
    assert len(recs) == 4 and parsed.repeats_merged == 1
    assert parsed.without_location == 1
    asb = recs[recs["category"] == "Anti-social behaviour"]["reference"].tolist()
    assert len(set(asb)) == 2 and all(r.startswith("asb-") for r in asb)
    assert read_policeuk(f).records["reference"].tolist() == recs["reference"].tolist()  # stable keys
    c1 = recs[recs["reference"] == "c1"].iloc[0]
    assert c1["source"] == "police.uk:test-police" and c1["time_precision"] == "month"
    assert (
        str(c1["occurred_from"]) == "2024-03-01 00:00:00" and str(c1["occurred_to"]) == "2024-03-31 23:59:59"
    )
    assert 300_000 < c1["easting"] < 340_000  # -3.0, 51.6 is in south Wales


def test_gzip_and_folder_expansion(tmp_path: Path) -> None:
    write_street(tmp_path / "2024-03-x-street.csv.gz", [street_row("c1")], gz=True)
    write_street(tmp_path / "2024-04-x-street.csv", [street_row("c2", month="2024-04")])
    files = expand_paths([str(tmp_path)])
    assert [f.name for f in files] == ["2024-03-x-street.csv.gz", "2024-04-x-street.csv"]
    assert read_policeuk(files[0]).records["reference"].tolist() == ["c1"]


def test_truncated_row_names_line(tmp_path: Path) -> None:
    f = write_street(tmp_path / "s.csv", [street_row("c1"), "c2,2024-03,Test Police", street_row("c3")])
    with pytest.raises(InvalidRowsError) as exc:
        read_policeuk(f)
    assert exc.value.problems[0].line == 3
    assert "s.csv, line 3" in str(exc.value) and "3 fields" in str(exc.value)


def test_bad_coordinates_name_line_and_field(tmp_path: Path) -> None:
    f = write_street(
        tmp_path / "s.csv", [street_row("c1"), street_row("c2", lon="abc"), street_row("c3", lat="95.1")]
    )
    with pytest.raises(InvalidRowsError) as exc:
        read_policeuk(f)
    got = {(p.line, p.field) for p in exc.value.problems}
    assert got == {(3, "Longitude"), (4, "Latitude")}
    assert "How to fix" in str(exc.value)


def test_rows_of_blank_fields_are_dropped_and_later_lines_still_named(tmp_path: Path) -> None:
    """A row whose every field is blank is no record (nor a problem); a row blank in its first fields
    only is a record; the lines after either are still named right."""
    f = write_street(
        tmp_path / "s.csv",
        [
            street_row("c1"),
            " ,  ,,,,,,,,,, ",  # every field blank (line 3)
            street_row("", crime_type="Anti-social behaviour", outcome=""),  # blank Crime ID only
            street_row("c3", lat="95.1"),  # line 5
        ],
    )
    with pytest.raises(InvalidRowsError) as exc:
        read_policeuk(f)
    assert {(p.line, p.field) for p in exc.value.problems} == {(5, "Latitude")}
    f = write_street(
        tmp_path / "s.csv",
        [street_row("c1"), " ,  ,,,,,,,,,, ", street_row("", crime_type="Anti-social behaviour", outcome="")],
    )
    parsed = read_policeuk(f)
    assert parsed.rows_read == 2 and len(parsed.records) == 2


def test_bad_month(tmp_path: Path) -> None:
    f = write_street(tmp_path / "s.csv", [street_row("c1", month="March 2024")])
    with pytest.raises(InvalidRowsError, match="line 2, field 'Month'"):
        read_policeuk(f)


def test_wrong_header(tmp_path: Path) -> None:
    f = write_street(tmp_path / "s.csv", [street_row("c1")], header="Crime ID,Month,Something else")
    with pytest.raises(InputFileError, match=r"s.csv, line 1: wrong header"):
        read_policeuk(f)


def test_non_utf8_names_line(tmp_path: Path) -> None:
    f = tmp_path / "s.csv"
    write_street(f, [street_row("c1"), street_row("c2", location="On or near Caf\u00e9 Row")])
    f.write_bytes(f.read_bytes().replace("Caf\u00e9".encode(), "Caf\u00e9".encode("latin-1")))
    with pytest.raises(InputFileError, match=r"line 3: not UTF-8") as exc:
        read_policeuk(f)
    assert "CSV UTF-8" in str(exc.value)


def test_empty_file(tmp_path: Path) -> None:
    f = tmp_path / "s.csv"
    f.write_text("")
    with pytest.raises(InputFileError):
        read_policeuk(f)


def test_outcomes_file(tmp_path: Path) -> None:
    f = write_outcomes(
        tmp_path / "2024-05-x-outcomes.csv",
        [("c1", "2024-05", "Suspect charged"), ("c1", "2024-05", "Local resolution")],
    )
    parsed = read_policeuk(f)
    assert parsed.kind == "outcomes"
    assert parsed.outcomes.to_dict("records") == [
        {
            "source": "police.uk:test-police",
            "reference": "c1",
            "last_outcome": "Local resolution",
            "last_outcome_month": "2024-05",
        }
    ]
    assert OUTCOME_HEADER.startswith("Crime ID")


def test_missing_path_is_an_error() -> None:
    with pytest.raises(InputFileError, match="no such file"):
        expand_paths(["/nonexistent/*.csv"])


@pytest.mark.realdata
@pytest.mark.clock_free  # reads every real file; parsing takes no "today" (dates come from the file)
def test_every_real_file_reads(shared_data: Path) -> None:
    """No real police.uk file here is rejected (repeats, ASB, No Location, 2021 LSOAs all accepted)."""
    files = expand_paths([str(shared_data / "policeuk")])
    assert len(files) >= 77
    rows = street = 0
    for f in files:
        parsed = read_policeuk(f)
        rows += parsed.rows_read
        street += parsed.rows_read if parsed.kind == "street" else 0
    assert street == 75_169 + 202_374
    assert rows == 75_169 + 202_374 + 142_755


def _joined(files: list[Path]) -> pd.DataFrame:
    """What `hotspots analyse` did before read_street_files: each file read whole, joined, later wins."""
    parsed = [p for p in (read_policeuk(f) for f in files) if p.kind == "street"]
    recs = pd.concat([p.records for p in parsed], ignore_index=True)
    return recs.drop_duplicates(subset=["source", "reference"], keep="last").reset_index(drop=True)


_UNREAD = ["lsoa_name", "last_outcome", "last_outcome_month"]


def test_street_files_read_together_equal_each_file_read_whole(tmp_path: Path) -> None:
    """The analysis reader gives the same rows and values as the file-by-file reader (bar the columns
    it does not read): repeats within a file (first kept), across files (later kept), ASB keys
    numbered per file, No Location, outcomes files skipped."""
    asb = street_row("", crime_type="Anti-social behaviour", outcome="")
    files = [
        write_street(tmp_path / "2024-03-t-street.csv", [street_row("c1"), street_row("c1"), asb, asb]),
        write_street(
            tmp_path / "2024-04-t-street.csv.gz",
            [
                street_row("c1", month="2024-04", location="On or near Mill Lane"),
                asb,
                street_row("c2", lon="", lat="", location="No Location"),
            ],
            gz=True,
        ),
        write_outcomes(tmp_path / "2024-04-t-outcomes.csv", [("c1", "2024-04", "Court result unavailable")]),
    ]
    got = read_street_files(files)
    want = _joined(files)
    pd.testing.assert_frame_equal(got.drop(columns=_UNREAD), want.drop(columns=_UNREAD))
    assert got[_UNREAD].isna().all().all()
    assert list(got.columns) == list(want.columns)


def test_street_files_bad_row_raises_that_files_own_error(tmp_path: Path) -> None:
    good = write_street(tmp_path / "2024-03-a-street.csv", [street_row("c1")])
    bad = write_street(tmp_path / "2024-04-a-street.csv", [street_row("c2"), street_row("c3", lat="91.0")])
    short = write_street(tmp_path / "2024-05-a-street.csv", [street_row("c4"), "c5,2024-05,Test Police"])
    with pytest.raises(InvalidRowsError) as exc:
        read_street_files([good, bad])
    assert exc.value.file == str(bad) and exc.value.problems[0].line == 3
    assert exc.value.problems[0].field == "Latitude"
    with pytest.raises(InvalidRowsError) as exc:
        read_street_files([good, short])
    assert exc.value.file == str(short) and "3 fields" in str(exc.value)


@pytest.mark.realdata
def test_street_files_equal_on_real_files(shared_data: Path) -> None:
    files = expand_paths([str(shared_data / "policeuk" / "gwent")])[:12]
    got, want = read_street_files(files), _joined(files)
    pd.testing.assert_frame_equal(got.drop(columns=_UNREAD), want.drop(columns=_UNREAD))
