"""Fuzzing the readers (bounded, seeded): a damaged police.uk street, outcomes, gzip or mapped file is
either read correctly or refused with the project's own error naming the file; never a Python
traceback, never a half-sane result (``inf`` coordinates, a row counted as located without a place,
text longer than the database column)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rasure.errors import InputFileError, InvalidRowsError, RasureError
from rasure.ingest.common import ParsedFile
from rasure.ingest.mapped import load_mapping, read_mapped
from rasure.ingest.policeuk import read_policeuk
from rasure.records import TEXT_LIMITS
from tests.factories import OUTCOME_HEADER, STREET_HEADER, street_row
from tests.fuzz import mutate

SEEDS = range(60)  # per kind: bounded, so the module stays a few seconds even on a loaded machine

LONLAT_MAPPING = """
[source]
name = "fuzz:force"
force = "Fuzz Force (synthetic)"
[columns]
reference = "Ref"
committed_from = "From"
committed_to = "To"
lon = "X"
lat = "Y"
category = "Type"
location_text = "Place"
victim_ids = "Victims"
"""


def street_bytes() -> bytes:
    rows = [
        street_row("c1"),
        street_row("c2", lon="", lat=""),
        street_row("", crime_type="Anti-social behaviour", outcome=""),
        street_row("", crime_type="Anti-social behaviour", outcome=""),
        street_row("c3", lon="-2.99", lat="51.58", location="On or near Park"),
        street_row("c1"),
    ]
    return (STREET_HEADER + "\n" + "\n".join(rows) + "\n").encode()


def outcomes_bytes() -> bytes:
    rows = [
        f"{cid},2024-04,Test Police,Test Police,-3.0,51.6,On or near High Street,W01000001,Test 001A,{o}"
        for cid, o in (("c1", "Suspect charged"), ("c2", "Local resolution"), ("c1", "Awaiting court"))
    ]
    return (OUTCOME_HEADER + "\n" + "\n".join(rows) + "\n").encode()


def mapped_bytes() -> bytes:
    return (
        b"Ref,From,To,X,Y,Type,Place,Victims\n"
        b"F1,2024-03-02 23:10,2024-03-02 23:20,-1.141,51.457,Assault,Main St,P1;P2\n"
        b"F2,2024-03-05,,,,Robbery,,\n"
        b"F3,2024-03-06T10:00,,-1.140,51.458,Assault,Side St,P3\n"
        b"F1,2024-03-02 23:10,2024-03-02 23:20,-1.141,51.457,Assault,Main St,P4\n"
    )


def check_result(parsed: ParsedFile) -> None:
    """What a read file must look like, whatever the input was."""
    recs = parsed.records
    for col in ("lon", "lat", "easting", "northing"):
        values = recs[col].to_numpy(dtype=float)
        assert not np.isinf(values).any(), f"{col} holds inf"
    located = recs["easting"].notna() & recs["northing"].notna()
    assert (located == (recs["lon"].notna() & recs["lat"].notna())).all()
    assert parsed.without_location == int((~located).sum())
    for col, limit in TEXT_LIMITS.items():
        if col in recs.columns:
            lengths = recs[col].dropna().astype(str).str.len()
            assert (lengths <= limit).all(), f"{col} longer than {limit}"
    for col in ("source", "reference"):
        if not parsed.outcomes.empty:
            assert (parsed.outcomes[col].str.len() <= TEXT_LIMITS[col]).all()
    assert not recs.duplicated(["source", "reference"]).any()


def _read_or_refuse(read: object, path: Path) -> None:
    try:
        parsed = read(path)  # type: ignore[operator]
    except (InputFileError, InvalidRowsError) as exc:
        assert str(path) in str(exc)
        if isinstance(exc, InvalidRowsError):
            assert exc.problems and all(p.line >= 1 for p in exc.problems)
        return
    except RasureError:
        return
    check_result(parsed)


@pytest.mark.clock_free  # seeded byte mutations of fixed files; the readers take no "today"
@pytest.mark.parametrize("kind", ["street", "street-gz", "outcomes", "outcomes-gz"])
def test_police_uk_files_survive_mutation(tmp_path: Path, kind: str) -> None:
    base = outcomes_bytes() if kind.startswith("outcomes") else street_bytes()
    gz = kind.endswith("gz")
    name = f"2024-03-test-{kind.split('-')[0]}.csv" + (".gz" if gz else "")
    for seed in SEEDS:
        f = tmp_path / f"{seed}-{name}"
        f.write_bytes(mutate(base, seed, gz=gz))
        _read_or_refuse(read_policeuk, f)


@pytest.mark.clock_free  # seeded byte mutations of a fixed export; the reader takes no "today"
def test_mapped_files_survive_mutation(tmp_path: Path) -> None:
    mp = tmp_path / "mapping.toml"
    mp.write_text(LONLAT_MAPPING)
    m = load_mapping(mp)
    for seed in SEEDS:
        f = tmp_path / f"{seed}-export.csv"
        f.write_bytes(mutate(mapped_bytes(), seed))
        _read_or_refuse(lambda p: read_mapped(p, mapping=m), f)


def test_empty_lonlat_is_without_location_not_inf(tmp_path: Path) -> None:
    mp = tmp_path / "mapping.toml"
    mp.write_text(LONLAT_MAPPING)
    f = tmp_path / "export.csv"
    f.write_bytes(mapped_bytes())
    parsed = read_mapped(f, mapping=load_mapping(mp))
    recs = parsed.records.set_index("reference")
    assert parsed.without_location == 1
    assert pd.isna(recs.loc["F2", "easting"]) and pd.isna(recs.loc["F2", "lon"])
    check_result(parsed)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400"])
def test_non_finite_coordinates_are_refused(tmp_path: Path, value: str) -> None:
    f = tmp_path / "2024-03-t-street.csv"
    f.write_text(STREET_HEADER + "\n" + street_row("c1", lon=value) + "\n")
    with pytest.raises(InvalidRowsError) as err:
        read_policeuk(f)
    [p] = err.value.problems
    assert (p.line, p.field) == (2, "Longitude")


def test_cr_only_line_endings_read_like_lf(tmp_path: Path) -> None:
    f = tmp_path / "2024-03-t-street.csv"
    f.write_bytes(street_bytes().replace(b"\n", b"\r"))
    parsed = read_policeuk(f)
    assert parsed.rows_read == 6 and len(parsed.records) == 5
    check_result(parsed)


def test_field_over_csv_module_limit_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "2024-03-t-street.csv"
    rows = [street_row("c1"), street_row("c2", location="x" * 140_000), "c3,2024-03,Test"]
    f.write_text(STREET_HEADER + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(InvalidRowsError) as err:
        read_policeuk(f)
    assert [(p.line, p.field) for p in err.value.problems] == [(3, "Location"), (4, "")]
    assert "longer than" in err.value.problems[0].reason
