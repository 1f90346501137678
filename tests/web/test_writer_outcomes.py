"""Outcomes merged into the records (crimes.writer): what a file changes and what it reports, on
SQLite and PostgreSQL. The counts come from the same join as the update itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from rasure_web.crimes import services
from rasure_web.crimes.models import CrimeRecord
from tests.factories import street_row, write_outcomes, write_street

pytestmark = pytest.mark.django_db


def test_outcomes_counts_repeats_missing_and_unchanged(tmp_path: Path) -> None:
    street = write_street(
        tmp_path / "2024-03-t-street.csv",
        [street_row("c1", outcome="Under investigation"), street_row("c2", outcome="Under investigation")],
    )
    [r] = services.records_import_policeuk(paths=[str(street)])
    assert r.ok and r.inserted == 2
    c2_before = CrimeRecord.objects.values_list("last_outcome", "last_outcome_month").get(reference="c2")
    outcomes = write_outcomes(
        tmp_path / "2024-04-t-outcomes.csv",
        [
            ("c1", "2024-04", "Suspect charged"),
            ("c1", "2024-04", "Suspect charged"),  # repeated in the file: one outcome
            ("c2", c2_before[1], c2_before[0]),  # what the record holds already: unchanged
            ("zz", "2024-04", "Local resolution"),  # no such crime
            ("yy", "2024-04", "Local resolution"),  # nor this one
        ],
    )
    [r] = services.records_import_policeuk(paths=[str(outcomes)])
    assert r.ok and (r.updated, r.outcomes_not_found) == (1, 2)
    c1 = CrimeRecord.objects.get(reference="c1")
    assert (c1.last_outcome, c1.last_outcome_month) == ("Suspect charged", "2024-04")
    assert c1.import_run_id != CrimeRecord.objects.get(reference="c2").import_run_id
    # the same file again changes nothing and reports the same crimes missing
    [r] = services.records_import_policeuk(paths=[str(outcomes)])
    assert r.ok and (r.updated, r.outcomes_not_found) == (0, 2)
    assert CrimeRecord.objects.count() == 2


def test_repeat_import_mostly_stored_counts_and_never_rolls_back(tmp_path: Path) -> None:
    """A file most of whose records are stored already (the upsert then leaves the unchanged ones out
    before ON CONFLICT): new, changed and unchanged rows counted as ever, older rows ignored."""
    rows = [street_row(f"c{i}") for i in range(1, 6)]
    f = write_street(tmp_path / "2024-03-t-street.csv", rows)
    [r] = services.records_import_policeuk(paths=[str(f)])
    assert (r.inserted, r.updated, r.unchanged) == (5, 0, 0)
    again = [*rows[:4], street_row("c5", crime_type="Public order"), street_row("c6")]
    g = write_street(tmp_path / "2024-03-u-street.csv", again)
    [r] = services.records_import_policeuk(paths=[str(g)])
    assert (r.inserted, r.updated, r.unchanged) == (1, 1, 4)
    assert CrimeRecord.objects.get(reference="c5").category == "Public order"
    older = [street_row(f"c{i}", month="2024-02", crime_type="Shoplifting") for i in range(1, 7)]
    h = write_street(tmp_path / "2024-02-t-street.csv", older)
    [r] = services.records_import_policeuk(paths=[str(h)])
    assert (r.inserted, r.updated, r.unchanged) == (0, 0, 6)
    assert not CrimeRecord.objects.filter(category="Shoplifting").exists()
    assert CrimeRecord.objects.count() == 6
