"""Fuzzing the import into the real database (SQLite, and PostgreSQL when DATABASE_URL is set):
a damaged street, outcomes, gzip or mapped file either imports correctly or is refused with the
project's own error, and a refused file leaves the database exactly as it was."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from rasure_web.crimes import services
from rasure_web.crimes.models import CrimePersonLink, CrimeRecord, ImportRun, Person
from tests.core.test_ingest_fuzz import LONLAT_MAPPING, mapped_bytes, outcomes_bytes, street_bytes
from tests.fuzz import mutate

pytestmark = pytest.mark.django_db

SEEDS = range(12)  # per kind, bounded (each seed is a real import into the database)


def _state() -> tuple[list[tuple[object, ...]], int, int]:
    rows = list(
        CrimeRecord.objects.order_by("source", "reference").values_list(
            "source", "reference", "category", "last_outcome", "last_outcome_month", "easting", "lon", "as_of"
        )
    )
    return rows, Person.objects.count(), CrimePersonLink.objects.count()


def _check_database() -> None:
    for e, n, lon, lat in CrimeRecord.objects.values_list("easting", "northing", "lon", "lat"):
        values = [v for v in (e, n, lon, lat) if v is not None]
        assert all(math.isfinite(v) for v in values)
        assert len(values) in (0, 4), "a record is half located"


@pytest.mark.parametrize("kind", ["street", "street-gz", "outcomes-gz", "mapped"])
def test_mutated_files_import_whole_or_not_at_all(tmp_path: Path, kind: str) -> None:
    base = tmp_path / "2024-03-base-street.csv"
    base.write_bytes(street_bytes())
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(LONLAT_MAPPING)
    export = tmp_path / "base-export.csv"
    export.write_bytes(mapped_bytes())
    [r] = services.records_import_policeuk(paths=[str(base)])
    [m] = services.records_import_mapped(paths=[str(export)], mapping=str(mapping))
    assert r.ok and m.ok
    for seed in SEEDS:
        before = _state()
        gz = kind.endswith("gz")
        if kind == "mapped":
            f = tmp_path / f"{seed}-export.csv"
            f.write_bytes(mutate(mapped_bytes(), seed))
            [report] = services.records_import_mapped(paths=[str(f)], mapping=str(mapping))
        else:
            what = kind.split("-")[0]
            f = tmp_path / f"2024-04-{seed}-{what}.csv{'.gz' if gz else ''}"
            f.write_bytes(mutate(outcomes_bytes() if what == "outcomes" else street_bytes(), seed, gz=gz))
            [report] = services.records_import_policeuk(paths=[str(f)])
        if not report.ok:
            assert _state() == before, f"seed {seed}: a refused file changed the database"
            run = ImportRun.objects.order_by("-pk").first()
            assert run is not None and run.status == ImportRun.Status.REJECTED and str(f) in run.error
        _check_database()
