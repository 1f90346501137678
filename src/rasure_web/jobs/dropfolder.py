"""Drop folders: files that the records system (nightly export) or a person (police.uk monthly files)
puts in a folder are imported by the scheduled job, each exactly once.

One folder per force, named by its code (``Force.code``) under ``RASURE_DROP_ROOT``::

    <RASURE_DROP_ROOT>/TVP/police-uk/        police.uk street and outcomes files (.csv, .csv.gz)
    <RASURE_DROP_ROOT>/TVP/records/          the force's own export (.csv, .csv.gz), read with
    <RASURE_DROP_ROOT>/TVP/records-mapping.toml   the column mapping (``rasure import records --print-template``)
    <RASURE_DROP_ROOT>/TVP/processing/       a file being imported now (moved here first)
    <RASURE_DROP_ROOT>/TVP/done/  failed/    where each file ends, its name prefixed with the time

For each file, in order (police.uk street files before outcomes files, as ``rasure import`` does):

1. **Still being written?** A file modified less than ``RASURE_DROP_SETTLE_SECONDS`` ago (default 60)
   is left where it is for the next run.
2. **Claimed** by moving it to ``processing/`` (a rename, atomic on one file system), so two workers
   never import the same file.
3. **Already imported?** The SHA-256 of its (un-gzipped) contents is the one an import stores
   (``ImportRun.sha256``). A file whose contents were imported before (by this force's folder or by
   hand) is not imported again: it gets an ``ImportRun`` with status *skipped* and goes to ``done/``.
4. **Imported** through the same services as ``rasure import`` (whole file or nothing), as an
   ``ImportRun`` with trigger *scheduled* and the force code; it goes to ``done/``, or to ``failed/``
   when rejected, with the file, line and field of each bad row in the run's error text.

After a run that imported anything, the hot spots are rebuilt (the service behind ``rasure hotspots
build``) and the dashboard's cached figures recomputed (they are keyed by the data version, so they
are stale from the moment a run is stored).

The force code goes with every file to :func:`_import_file`, the one place that calls the importers,
and is stored on its ``ImportRun``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings

from rasure.errors import RasureError
from rasure_web import clock
from rasure_web.crimes.models import ImportRun

#: who the scheduled imports are recorded as (``ImportRun.username``)
JOB_USERNAME = "job:drop-folders"
POLICE_UK = "police-uk"
RECORDS = "records"
MAPPING_NAME = "records-mapping.toml"
_PATTERNS = ("*.csv", "*.csv.gz")


@dataclass
class DropFile:
    force_code: str
    kind: str  # police-uk | records
    name: str
    outcome: str  # imported | rejected | skipped | waiting
    run_id: int | None = None
    detail: str = ""

    def line(self) -> str:
        run = f" (import run {self.run_id})" if self.run_id else ""
        return f"{self.force_code} {self.kind}/{self.name}: {self.outcome}{run}" + (
            f": {self.detail}" if self.detail else ""
        )


@dataclass
class DropScan:
    files: list[DropFile] = field(default_factory=list)
    hotspots: str = ""  # what the rebuild after the imports did

    @property
    def imported(self) -> list[DropFile]:
        return [f for f in self.files if f.outcome == "imported"]

    @property
    def rejected(self) -> list[DropFile]:
        return [f for f in self.files if f.outcome == "rejected"]

    def text(self) -> str:
        if not self.files:
            return "drop folders: no new files"
        counts = {
            o: sum(f.outcome == o for f in self.files) for o in ("imported", "rejected", "skipped", "waiting")
        }
        head = "drop folders: " + ", ".join(f"{n} {o}" for o, n in counts.items() if n)
        lines = [head, *(f.line() for f in self.files)]
        if self.hotspots:
            lines.append(self.hotspots)
        return "\n".join(lines)


def content_sha256(path: Path) -> str | None:
    """SHA-256 of a file's bytes, un-gzipped for ``.gz`` (what an import stores); None if unreadable."""
    h = hashlib.sha256()
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
    except (OSError, EOFError):
        return None  # a broken gzip stream: the importer names the problem
    return h.hexdigest()


def _police_uk_order(path: Path) -> tuple[int, str]:
    # the order records_import_policeuk uses: street files first, then outcomes
    return (1 if "outcome" in path.name.lower() else 0, path.name)


def _candidates(folder: Path, *, kind: str) -> Iterator[Path]:
    if not folder.is_dir():
        return
    found = {p for pattern in _PATTERNS for p in folder.glob(pattern) if p.is_file()}
    yield from sorted(found, key=_police_uk_order if kind == POLICE_UK else (lambda p: (0, p.name)))


def _move(path: Path, folder: Path, *, stamp: str, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stamp}-{name}"
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{stamp}-{n}-{name}"
    path.rename(target)
    return target


def _already_imported(sha: str | None, *, force_code: str) -> ImportRun | None:
    if sha is None:
        return None
    return (
        ImportRun.objects.filter(status=ImportRun.Status.OK, sha256=sha, tenant__code=force_code)
        .order_by("pk")
        .first()
    )


def _import_file(path: Path, *, kind: str, force_code: str, mapping: Path | None) -> int:
    """Import one claimed file with the services ``rasure import`` uses; returns its ImportRun's id.

    The importers write one ``ImportRun`` per file; it is found by its path (the file sits in this
    force's ``processing/`` folder, where only this job puts files) and marked scheduled; the records
    belong to the drop folder's force."""
    from rasure_web.crimes import services

    before = ImportRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    error = ""
    try:
        if kind == POLICE_UK:
            services.records_import_policeuk(paths=[str(path)], username=JOB_USERNAME, force=force_code)
        elif mapping is None or not mapping.is_file():
            error = (
                f"{path}: no column mapping for the force's export. How to fix: put the mapping in "
                f"{mapping} (start from `rasure import records --print-template`) and drop the file again."
            )
        else:
            services.records_import_mapped(
                paths=[str(path)], mapping=str(mapping), username=JOB_USERNAME, force=force_code
            )
    except RasureError as exc:  # e.g. a mapping file that cannot be read
        error = str(exc)
    run = ImportRun.objects.filter(pk__gt=before, path=str(path)).order_by("-pk").first()
    if run is None:
        from rasure_web.accounts.tenancy import resolve_force

        run = ImportRun.objects.create(
            tenant=resolve_force(force_code),
            username=JOB_USERNAME,
            kind=kind,
            path=str(path),
            status=ImportRun.Status.REJECTED,
            error=(error or f"{path}: the import stored no result")[:5000],
            finished_at=clock.now(),
        )
    ImportRun.objects.filter(pk=run.pk).update(trigger=ImportRun.Trigger.SCHEDULED)
    return run.pk


def storage_now(folder: Path) -> float:
    """The folder's own clock: the modification time of a file touched there now. A file's age is
    measured against this, not this server's clock, since a drop folder on a network share keeps the
    file server's time (and a clock moved for a test moves only this process's)."""
    import tempfile

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".rasure-clock-") as probe:  # removed on close
        return os.fstat(probe.fileno()).st_mtime


def _one_file(
    path: Path, *, force_dir: Path, kind: str, force_code: str, now: datetime, settle: int
) -> DropFile:
    result = DropFile(force_code=force_code, kind=kind, name=path.name, outcome="waiting")
    try:
        age = storage_now(path.parent) - path.stat().st_mtime
    except FileNotFoundError:  # taken by another worker meanwhile
        result.detail = "taken by another worker"
        return result
    if age < settle:
        result.detail = (
            f"modified {max(age, 0):.0f} s ago (may still be being written); imported on a later run"
        )
        return result
    stamp = now.strftime("%Y%m%d-%H%M%S")
    try:
        claimed = _move(path, force_dir / "processing", stamp=stamp, name=path.name)
    except FileNotFoundError:
        result.detail = "taken by another worker"
        return result
    sha = content_sha256(claimed)
    earlier = _already_imported(sha, force_code=force_code)
    if earlier is not None:
        done = _move(claimed, force_dir / "done", stamp=stamp, name=path.name)
        from rasure_web.accounts.tenancy import resolve_force

        run = ImportRun.objects.create(
            tenant=resolve_force(force_code),
            username=JOB_USERNAME,
            kind=kind,
            path=str(done),
            sha256=sha or "",
            status=ImportRun.Status.SKIPPED,
            trigger=ImportRun.Trigger.SCHEDULED,
            notes=f"same contents as import run {earlier.pk} ({earlier.path}): nothing imported again",
            finished_at=clock.now(),
        )
        result.outcome, result.run_id, result.detail = "skipped", run.pk, run.notes
        return result
    mapping = force_dir / MAPPING_NAME if kind == RECORDS else None
    run_id = _import_file(claimed, kind=kind, force_code=force_code, mapping=mapping)
    run = ImportRun.objects.get(pk=run_id)
    ok = run.status == ImportRun.Status.OK
    final = _move(claimed, force_dir / ("done" if ok else "failed"), stamp=stamp, name=path.name)
    notes = "\n".join(n for n in (run.notes, f"dropped in {kind}/ as {path.name}") if n)
    error = run.error.replace(str(claimed), str(final))  # name the file where it now is
    ImportRun.objects.filter(pk=run_id).update(path=str(final), notes=notes, error=error)
    result.outcome, result.run_id = ("imported" if ok else "rejected"), run_id
    result.detail = "" if ok else error[:500]
    return result


def drop_folders_import(
    *, now: datetime, root: Path | None = None, settle_seconds: int | None = None, rebuild: bool = True
) -> DropScan:
    """Import every new file in every force's drop folder (module docstring); then, if anything was
    imported, rebuild the hot spots and recompute the dashboard's cached figures."""
    from rasure_web.accounts.models import Force

    root = Path(settings.RASURE_DROP_ROOT if root is None else root)
    settle = int(settings.RASURE_DROP_SETTLE_SECONDS if settle_seconds is None else settle_seconds)
    scan = DropScan()
    for code in Force.objects.order_by("code").values_list("code", flat=True):
        force_dir = root / code
        for kind in (POLICE_UK, RECORDS):
            for path in _candidates(force_dir / kind, kind=kind):
                scan.files.append(
                    _one_file(path, force_dir=force_dir, kind=kind, force_code=code, now=now, settle=settle)
                )
    if scan.imported and rebuild:
        scan.hotspots = _rebuild(scan)
    return scan


def _rebuild(scan: DropScan) -> str:
    from rasure_web.analysis.services import current_run_includes_partner_data, hotspots_build
    from rasure_web.dashboard.selectors import warm_cache

    texts: dict[str, str] = {}
    for code in sorted({f.force_code for f in scan.imported}):  # each force's own hot spots
        try:
            run = hotspots_build(
                username=JOB_USERNAME,
                force=code,
                include_partner_data=current_run_includes_partner_data(code),
            )
            texts[code] = f"hot spots of {code} rebuilt after this import (analysis run {run.pk})"
        except RasureError as exc:
            texts[code] = f"hot spots of {code} NOT rebuilt after this import: {exc}"
    warm_cache()
    text = "; ".join(texts.values())
    for f in scan.imported:
        text = texts.get(f.force_code, text)
        run_notes = ImportRun.objects.filter(pk=f.run_id).values_list("notes", flat=True).first() or ""
        ImportRun.objects.filter(pk=f.run_id).update(notes="\n".join(n for n in (run_notes, text) if n))
    return text
