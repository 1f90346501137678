"""A force's own export through the TOML mapping template."""

from __future__ import annotations

from pathlib import Path

import pytest

from rasure.classify import classify
from rasure.errors import ConfigError, InputFileError, InvalidRowsError
from rasure.ingest.mapped import load_mapping, read_mapped, template_path

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "force-export-example.csv"


def test_template_reads_the_example_export() -> None:
    m = load_mapping(template_path())
    parsed = read_mapped(EXAMPLE, mapping=m)
    recs = parsed.records.set_index("reference")
    assert parsed.rows_read == 5 and len(recs) == 4 and parsed.repeats_merged == 1
    a = recs.loc["SYN/0001/24"]
    assert a["source"] == "niche:my-force" and a["offence_code"] == "8N" and a["weapon"] == "knife"
    assert a["time_precision"] == "minute" and str(a["occurred_from"]) == "2024-03-02 23:10:00"
    assert not a["domestic"] and abs(a["easting"] - 460120) < 1e-6 and -2 < a["lon"] < 0
    assert recs.loc["SYN/0004/24", "time_precision"] == "day"
    assert parsed.without_location == 1  # SYN/0003/24 has no coordinates
    assert recs.loc["SYN/0002/24", "occurred_to"] == recs.loc["SYN/0002/24", "occurred_from"]
    links = parsed.links
    robbery = links[links["reference"] == "SYN/0003/24"]
    assert sorted(robbery["person_id"]) == ["SYN-P5", "SYN-P6", "SYN-P7"]  # merged across repeated rows
    assert set(links["role"]) == {"victim", "offender", "suspect"}
    sv = classify(parsed.records).set_index(parsed.records["reference"])
    assert sv.loc["SYN/0001/24", "knife_enabled"] and sv.loc["SYN/0003/24", "gun_crime"]  # robbery with a gun
    assert not sv.loc["SYN/0004/24", "serious_violence"]


def _export(tmp_path: Path, rows: list[str]) -> Path:
    header = EXAMPLE.read_text().splitlines()[0]
    f = tmp_path / "export.csv"
    f.write_text(header + "\n" + "\n".join(rows) + "\n")
    return f


def test_bad_rows_are_all_reported(tmp_path: Path) -> None:
    good = EXAMPLE.read_text().splitlines()[1]
    f = _export(
        tmp_path,
        [
            good,
            good.replace("SYN/0001/24", "SYN/9/24").replace("02/03/2024 23:10", "31/02/2024 25:00"),
            good.replace("SYN/0001/24", "SYN/10/24").replace("Knife", "Crossbow"),
            good.replace("SYN/0001/24", "SYN/11/24").replace("460120", "9999999"),
            good.replace("SYN/0001/24", "SYN/12/24").replace("02/03/2024 23:20", "01/03/2024 23:20"),
        ],
    )
    with pytest.raises(InvalidRowsError) as exc:
        read_mapped(f, mapping=load_mapping(template_path()))
    got = {(p.line, p.field) for p in exc.value.problems}
    assert got == {(3, "Committed From"), (4, "Weapon"), (5, "Easting"), (6, "Committed To")}
    assert "nothing from this file was imported" in str(exc.value)


def test_mapping_names_a_missing_column(tmp_path: Path) -> None:
    f = tmp_path / "e.csv"
    f.write_text("Ref,When\nA,2024-01-01\n")
    with pytest.raises(InputFileError, match=r"line 1: the mapping .* names column"):
        read_mapped(f, mapping=load_mapping(template_path()))


def test_mapping_errors(tmp_path: Path) -> None:
    bad = tmp_path / "m.toml"
    bad.write_text('[source]\nname = "x"\n[columns]\nreference = "R"\ncommitted_from = "F"\ncolour = "C"\n')
    with pytest.raises(ConfigError, match="unknown key"):
        load_mapping(bad)
    bad.write_text('[source]\nname = "x"\n[columns]\nreference = "R"\ncommitted_from = "F"\n')
    with pytest.raises(ConfigError, match="easting and northing, or lon and lat"):
        load_mapping(bad)
