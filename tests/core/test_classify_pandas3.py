"""Classification of a force's own export where no record maps to a police.uk crime type.

Regression: under pandas 3 (default string dtype backed by pyarrow) looking up categories that
are all missing, or all absent from the police.uk table, gave a ``null[pyarrow]`` series and
``fillna(False)`` raised ``ArrowInvalid: Invalid null value``, so such an import crashed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rasure.classify import classify
from rasure.harm import harm_days
from rasure.ingest.mapped import load_mapping, read_mapped, template_path

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "force-export-example.csv"


def test_force_export_without_a_crime_type_column(tmp_path: Path) -> None:
    """The template says category is optional: an export mapped without it still classifies."""
    lines = template_path().read_text(encoding="utf-8").splitlines()
    mapping = tmp_path / "no-category.toml"
    mapping.write_text("\n".join(ln for ln in lines if not ln.startswith("category =")) + "\n")
    parsed = read_mapped(EXAMPLE, mapping=load_mapping(mapping))
    assert parsed.records["category"].isna().all()
    sv = classify(parsed.records).set_index(parsed.records["reference"])
    assert sv.loc["SYN/0001/24", "knife_enabled"] and sv.loc["SYN/0003/24", "gun_crime"]
    assert not sv.loc["SYN/0004/24", "serious_violence"]
    assert sv["serious_violence"].dtype == bool and sv["knife_enabled"].dtype == bool
    assert set(sv["sv_basis"]) == {"offence_code"}
    assert len(harm_days(parsed.records)) == len(parsed.records)


def test_force_export_with_its_own_crime_types(tmp_path: Path) -> None:
    """Crime types the police.uk table does not know (a force's own names) are not an error."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for ours, theirs in [
        ("Violence and sexual offences", "VAP"),
        ("Robbery", "ROB"),
        ("Criminal damage and arson", "CDA"),
    ]:
        text = text.replace(f",{ours},", f",{theirs},")
    f = tmp_path / "export.csv"
    f.write_text(text, encoding="utf-8")
    parsed = read_mapped(f, mapping=load_mapping(template_path()))
    sv = classify(parsed.records).set_index(parsed.records["reference"])
    assert sv.loc["SYN/0001/24", "serious_violence"] and sv.loc["SYN/0003/24", "gun_crime"]
    assert not sv.loc["SYN/0004/24", "serious_violence"]


@pytest.mark.parametrize("dtype", [object, "string", "str"])
def test_records_without_any_known_category(dtype: object) -> None:
    """No offence codes and no category the table knows: nothing is in scope, nothing crashes."""
    recs = pd.DataFrame(
        {
            "offence_code": [None, None, None],
            "weapon": [None, "knife", None],
            "category": [None, "Something else", None],
        },
        dtype=dtype,  # type: ignore[arg-type]
    )
    out = classify(recs)
    assert out["serious_violence"].tolist() == [False, False, False]
    assert out["serious_violence"].dtype == bool
    assert out["sv_basis"].tolist() == ["policeuk_approximation"] * 3
    assert out["sv_group"].isna().all()
