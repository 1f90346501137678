"""Readers that turn crime data files into canonical records (see :mod:`rasure.records`).

- :mod:`rasure.ingest.policeuk`: police.uk street and outcomes files.
- :mod:`rasure.ingest.mapped`: a force's own export (e.g. NICHE) through a TOML column mapping.

Every reader validates the whole file and either returns all of it or raises
:class:`rasure.errors.InputFileError` / :class:`rasure.errors.InvalidRowsError` listing
every bad row with file, line, field and how to fix it. Nothing is half-read.
"""

from rasure.ingest.common import ParsedFile, expand_paths

__all__ = ["ParsedFile", "expand_paths"]
