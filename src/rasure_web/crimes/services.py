"""Services (writes) for crime data: imports, harm tables, synthetic data.

Each file imports whole or not at all (one transaction; on SQLite one savepoint in the import's
transaction). Files are read in fixed-size chunks and written set-based (see :mod:`.writer`). A rejected file leaves
an ``ImportRun`` with status ``rejected`` and the reason, and every rejected row can be
written to an ``--errors-out`` CSV.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from django.db import connection, transaction

from rasure import classify as sv
from rasure import harm as harm_mod
from rasure.derived import DERIVED_FROM, derive_rows, factorize_rows
from rasure.errors import InputFileError, InvalidRowsError, RasureError, RowProblem
from rasure.ingest.common import Batch, StreamedFile, expand_paths, problems_frame
from rasure.spreadsheet import neutralise_frame
from rasure.synth import SyntheticCity
from rasure_web import clock
from rasure_web.accounts.models import Force
from rasure_web.accounts.services import demo_force
from rasure_web.accounts.tenancy import force_crs, resolve_force, tenant_id_for
from rasure_web.crimes import writer
from rasure_web.crimes.models import HarmTableInfo, HarmWeight, ImportRun
from rasure_web.crimes.readahead import FileReader
from rasure_web.crimes.scope import scope_current
from rasure_web.crimes.summary import refresh_summary

Progress = Callable[[str], None]


@dataclass
class ImportReport:
    path: str
    kind: str
    ok: bool
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    without_location: int = 0
    outcomes_not_found: int = 0
    notes: list[str] = field(default_factory=list)
    error: str = ""
    problems: list[RowProblem] = field(default_factory=list)

    def line(self) -> str:
        if not self.ok:
            return f"REJECTED {self.path}: {self.error}"
        if self.kind == "outcomes":
            s = f"{self.path}: {self.rows_read} outcomes, {self.updated} crimes updated"
            if self.outcomes_not_found:
                s += f", {self.outcomes_not_found} for crimes not imported"
            return s
        s = (
            f"{self.path}: {self.rows_read} rows, {self.inserted} new, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.without_location} without location"
        )
        # what the reader did that changes the arithmetic (merged repeats, skipped rows ...)
        return s + "".join(f"\n    note: {n}" for n in self.notes)


def harm_table_current(*, tenant: int | None = None, force: str | None = None) -> harm_mod.HarmTable:
    """A force's harm table: the one it loaded (``rasure harm load --force``), else the built-in
    approximation. The force is ``tenant`` (its pk), else ``force`` (a code), else the only one
    (:class:`~rasure_web.accounts.tenancy.ForceChoiceError` with several)."""
    if tenant is None:
        tenant = tenant_id_for(force=force)
    info = HarmTableInfo.objects.filter(tenant_id=tenant).order_by("-loaded_at").first()
    if info is None:
        return harm_mod.default_harm_table()
    rows = pd.DataFrame(
        list(
            HarmWeight.objects.filter(tenant_id=tenant).values(
                "key_type", "key", "description", "cchi_days", "source"
            )
        )
    )
    return harm_mod.harm_table_from_rows(rows, official=info.official, origin=info.origin)


def enrich(
    records: pd.DataFrame, *, scope: sv.Scope | None = None, table: harm_mod.HarmTable | None = None
) -> pd.DataFrame:
    """Canonical records plus the derived columns stored with them (classification, harm)."""
    return Enricher(scope=scope, table=table)(records)


class Enricher:
    """:func:`enrich` for the chunks of an import, one call per chunk.

    Classification and harm depend only on a record's offence code, weapon and category, so each
    distinct combination (police.uk files have about 14) is classified once per import and spread
    back to its rows: the same columns and values as classifying every row
    (:func:`rasure.derived.derive` does the same for one frame)."""

    def __init__(self, *, scope: sv.Scope | None = None, table: harm_mod.HarmTable | None = None) -> None:
        self.scope, self.table = scope, table
        self._at: dict[tuple[object, ...], int] = {}  # a combination's row in ``_derived``
        self._derived: pd.DataFrame | None = None

    def _derive(self, rows: pd.DataFrame) -> pd.DataFrame:
        return derive_rows(rows.reset_index(drop=True), scope=self.scope, table=self.table)

    def __call__(self, records: pd.DataFrame) -> pd.DataFrame:
        keys = [c for c in DERIVED_FROM if c in records.columns]
        if records.empty or "category" not in keys:
            return pd.concat([records, self._derive(records).set_axis(records.index)], axis=1)
        codes, distinct = factorize_rows(records[keys])
        combos = [
            tuple(None if pd.isna(v) else v for v in t) for t in distinct.itertuples(index=False, name=None)
        ]
        new = [i for i, k in enumerate(combos) if k not in self._at]
        if new:
            base = 0 if self._derived is None else len(self._derived)
            fresh = self._derive(distinct.iloc[new])
            self._derived = (
                fresh if self._derived is None else pd.concat([self._derived, fresh], ignore_index=True)
            )
            for j, i in enumerate(new):
                self._at[combos[i]] = base + j
        assert self._derived is not None
        where = np.array([self._at[k] for k in combos], dtype=np.int64)
        spread = self._derived.iloc[where[codes]]
        spread.index = records.index
        return pd.concat([records, spread], axis=1)


def _save_file(
    file: StreamedFile,
    *,
    username: str,
    derive: Enricher,
    tenant: Force,
    batches: Iterator[Batch],
) -> ImportReport:
    """Write one file (``batches``: its batches, see :mod:`.readahead`) in one transaction (a
    savepoint inside the import's transaction on SQLite): all of it, or — if any row is bad — none."""
    with transaction.atomic():
        run = ImportRun.objects.create(username=username, kind=file.kind, path=file.path, tenant=tenant)
        written = writer.write_file(file, run_id=run.pk, derive=derive, batches=batches)
        notes = ([file.merged_note(written.merged)] if written.merged else []) + file.notes()
        if written.outcomes_not_found:
            notes.append(f"{written.outcomes_not_found} outcome(s) for crimes not imported (skipped)")
        run.sha256 = file.sha256()
        run.rows_read = file.rows_read
        run.without_location = written.without_location
        run.inserted, run.updated, run.unchanged = written.inserted, written.updated, written.unchanged
        run.notes = "\n".join(notes)
        run.finished_at = clock.now()
        run.save()
    return ImportReport(
        path=file.path,
        kind=file.kind,
        ok=True,
        rows_read=file.rows_read,
        inserted=written.inserted,
        updated=written.updated,
        unchanged=written.unchanged,
        without_location=written.without_location,
        outcomes_not_found=written.outcomes_not_found,
        notes=notes,
    )


def _reject(path: str, kind: str, exc: RasureError, username: str, tenant: Force) -> ImportReport:
    problems = exc.problems if isinstance(exc, InvalidRowsError) else []
    if isinstance(exc, InputFileError):
        problems = [RowProblem(exc.file, exc.line or 0, "", "", exc.reason, exc.hint)]
    ImportRun.objects.create(
        tenant=tenant,
        username=username,
        kind=kind,
        path=path,
        status=ImportRun.Status.REJECTED,
        error=str(exc)[:5000],
        finished_at=clock.now(),
    )
    return ImportReport(path=path, kind=kind, ok=False, error=str(exc), problems=problems)


def records_import_policeuk(
    *, paths: list[str], username: str = "", progress: Progress | None = None, force: str | None = None
) -> list[ImportReport]:
    """Import police.uk street and outcomes files: all street files first (month order), then outcomes.
    ``force``: the code of the force the records belong to (default: the only force)."""
    from rasure.ingest.policeuk import open_policeuk

    files = expand_paths(paths)
    files.sort(key=lambda f: (1 if "outcome" in f.name.lower() else 0, f.name))
    return _run_files(
        files,
        open_file=lambda f, crs: open_policeuk(f, crs=crs),
        username=username,
        progress=progress,
        force=force,
    )


def records_import_mapped(
    *,
    paths: list[str],
    mapping: str,
    username: str = "",
    progress: Progress | None = None,
    force: str | None = None,
) -> list[ImportReport]:
    """Import a force's own export through a TOML column mapping (``force`` as for police.uk files)."""
    from rasure.ingest.mapped import load_mapping, open_mapped

    m = load_mapping(mapping)
    files = expand_paths(paths, patterns=("*.csv", "*.csv.gz"))
    return _run_files(
        files,
        open_file=lambda f, crs: open_mapped(f, mapping=m, crs=crs),
        username=username,
        progress=progress,
        force=force,
    )


def _run_files(
    files: list[Path],
    *,
    open_file: Callable[[Path, str], StreamedFile],
    username: str,
    progress: Progress | None,
    force: str | None = None,
) -> list[ImportReport]:
    """Import files one after another, each whole or not at all. On SQLite the whole import is one
    transaction (each file a savepoint in it), since every commit there is a sync to disk.
    ``open_file(path, crs)`` reads a file with its coordinates in ``crs``, the force's CRS. On
    PostgreSQL the next file is read while the server merges one (:mod:`.readahead`)."""
    tenant = resolve_force(force)
    crs = force_crs(tenant)
    table, scope = harm_table_current(tenant=tenant.pk), scope_current(tenant=tenant.pk)
    derive = Enricher(scope=scope, table=table)  # one per import: each crime type classified once
    reports: list[ImportReport] = []
    outer = transaction.atomic() if connection.vendor == "sqlite" else contextlib.nullcontext()
    reader = FileReader(files, lambda f: open_file(f, crs), ahead=connection.vendor == "postgresql")
    with writer.staging_on_disk(), outer, reader:
        for i, f in enumerate(files):
            if progress:
                progress(f"[{i + 1}/{len(files)}] {f}")
            try:
                file, batches = reader.open(i)
                reports.append(
                    _save_file(file, username=username, derive=derive, tenant=tenant, batches=batches)
                )
            except RasureError as exc:
                reports.append(_reject(str(f), "file", exc, username, tenant))
            if progress:
                progress("    " + reports[-1].line())
        if any(r.ok for r in reports):
            refresh_summary(tenant.pk)  # once per import, after the last file
    return reports


def write_errors_out(reports: list[ImportReport], path: str) -> int:
    """Write every rejected row of every file to ``path`` (CSV); returns the number written."""
    problems = [p for r in reports for p in r.problems]
    # Rejected rows hold raw text from the input file: made safe for spreadsheets (rasure.spreadsheet).
    neutralise_frame(problems_frame(problems)).to_csv(path, index=False)
    return len(problems)


def harm_load(
    *, path: str, username: str = "", official: bool = True, force: str | None = None
) -> harm_mod.HarmTable:
    """Replace a force's harm table (``force``: its code, default the only one) with a file, and
    recompute the harm of that force's records (other forces' tables and records are untouched)."""
    table = harm_mod.read_harm_file(path, official=official)
    with transaction.atomic():
        tenant = resolve_force(force)
        HarmWeight.objects.filter(tenant=tenant).delete()
        HarmWeight.objects.bulk_create(
            HarmWeight(
                tenant=tenant,
                key_type=r.key_type,
                key=r.key,
                description=str(r.description)[:300],
                cchi_days=float(r.cchi_days),
                source=str(r.source)[:300],
            )
            for r in table.rows.itertuples()
        )
        HarmTableInfo.objects.filter(tenant=tenant).delete()
        HarmTableInfo.objects.create(tenant=tenant, official=official, origin=str(path), username=username)
        harm_recompute(tenant=tenant.pk)
        refresh_summary(tenant.pk)
    return table


def harm_recompute(*, tenant: int) -> int:
    """Recompute ``harm_days``/``harm_basis`` of a force's records from its table (in SQL)."""
    from django.db import connection

    table = harm_table_current(tenant=tenant)
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS tmp_harm (key_type text, hkey text, days double precision)"
        )
        cur.execute("DELETE FROM tmp_harm")
        cur.executemany(
            "INSERT INTO tmp_harm VALUES (%s, %s, %s)",
            [(r.key_type, r.key, float(r.cchi_days)) for r in table.rows.itertuples()],
        )
        code = "(SELECT days FROM tmp_harm h WHERE h.key_type = 'offence_code' AND h.hkey = crime_record.offence_code)"
        cat = "(SELECT days FROM tmp_harm h WHERE h.key_type = 'category' AND h.hkey = crime_record.category)"
        cur.execute(
            f"UPDATE crime_record SET harm_days = COALESCE({code}, {cat}), harm_basis = CASE "
            f"WHEN {code} IS NOT NULL THEN 'offence_code' WHEN {cat} IS NOT NULL THEN 'category' ELSE 'none' END "
            "WHERE tenant_id = %s",
            [tenant],
        )
        return int(cur.rowcount)


def records_delete(
    *, force: str | None = None, source: str | None = None, occurred_before: datetime | None = None
) -> int:
    """Delete a force's records, or only those from ``source`` (e.g. ``synthetic``) and/or that began
    before ``occurred_before`` (e.g. past their retention); their links to people go with them. The
    force's summary is refreshed in the same transaction. Returns how many records were deleted;
    other forces' records are untouched."""
    from rasure_web.crimes.models import CrimeRecord

    with transaction.atomic():
        tenant = resolve_force(force)
        qs = CrimeRecord.objects.filter(tenant=tenant)
        if source is not None:
            qs = qs.filter(source=source)
        if occurred_before is not None:
            qs = qs.filter(occurred_from__lt=occurred_before)
        n = qs.count()
        qs.delete()
        refresh_summary(tenant.pk)
    return n


def synthetic_city_load(
    *, end: date, scale: float = 1.0, seed: int = 20260401, force: str | None = None
) -> dict[str, int]:
    """Generate the synthetic city (core) ending on ``end`` (inclusive) and store it (see
    :func:`synthetic_city_store`). ``end`` is explicit so the same call always stores the same city;
    the demo passes the newest complete month (``rasure.synth.default_end`` of today)."""
    from rasure.synth import generate_city

    return synthetic_city_store(generate_city(seed=seed, scale=scale, end=end), force=force)


def synthetic_city_store(city: SyntheticCity, *, force: str | None = None) -> dict[str, int]:
    """Store a generated synthetic city: areas, records, people, links, officers' accounts and
    institutions, in one transaction, for ``force`` (default: the only force). The city's frames are
    read, never modified."""
    import json

    from shapely.geometry import mapping

    from rasure_web.crimes.models import Area

    with transaction.atomic():
        # a fresh installation's synthetic city belongs to the demo's invented force
        tenant = resolve_force(force) if force or Force.objects.exists() else demo_force()
        if force_crs(tenant) != city.crs:
            raise RasureError(
                f"The synthetic city is drawn in {city.crs}, but force {tenant.code} stores its coordinates "
                f"in {force_crs(tenant)}: load it into a force whose CRS is {city.crs}."
            )
        table, scope = harm_table_current(tenant=tenant.pk), scope_current(tenant=tenant.pk)
        run = ImportRun.objects.create(
            tenant=tenant,
            kind="synthetic",
            path=f"rasure.synth seed={city.seed} scale={city.scale} end={city.end}",
            rows_read=len(city.records),
        )
        by_code: dict[str, Area] = {}
        order = {"force": 0, "lpa": 1, "neighbourhood": 2}
        areas = city.areas.assign(_o=city.areas["kind"].map(order)).sort_values("_o")
        for row in areas.itertuples():
            by_code[row.code], _ = Area.objects.update_or_create(
                tenant=tenant,
                kind=row.kind,
                code=row.code,
                defaults={
                    "name": row.name,
                    "parent": by_code.get(row.parent_code) if isinstance(row.parent_code, str) else None,
                    "synthetic": True,
                    "geometry_geojson": json.dumps(mapping(row.geometry)) if row.geometry is not None else "",
                },
            )
        recs = enrich(city.records, scope=scope, table=table)
        inserted, updated = writer.upsert_records(recs, run_id=run.pk)
        writer.upsert_people(city.persons, city.links, run_id=run.pk)
        _officer_accounts(city.officers, tenant)
        from rasure_web.analysis.models import Institution

        for inst in city.institutions.itertuples():
            Institution.objects.update_or_create(
                tenant=tenant,
                name=inst.name,
                type=inst.type,
                defaults={
                    "easting": inst.easting,
                    "northing": inst.northing,
                    "radius_m": inst.radius_m,
                    "synthetic": True,
                },
            )
        run.inserted, run.updated = inserted, updated
        run.finished_at = clock.now()
        run.save()
        refresh_summary(tenant.pk)
    writer.refresh_statistics()  # the lists' and pages' plans depend on these tables' row counts
    return {
        "records": len(city.records),
        "people": len(city.persons),
        "areas": len(city.areas),
        "officers": len(city.officers),
    }


def _officer_accounts(officers: pd.DataFrame, tenant: Force) -> None:
    """One account per synthetic officer (no usable password), so crewing lists have colleagues."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    group, _ = Group.objects.get_or_create(name="officer")
    user_model = get_user_model()
    for o in officers.itertuples():
        user, created = user_model.objects.get_or_create(
            username=f"pc{o.collar_number}".lower(),
            defaults={"first_name": str(o.display_name)[:150], "last_name": "(synthetic)"},
        )
        if created:
            user.set_unusable_password()
            user.save()
            user.groups.add(group)
    from rasure_web.accounts.services import synthetic_force_store

    synthetic_force_store(officers, when=clock.now(), force=tenant)
