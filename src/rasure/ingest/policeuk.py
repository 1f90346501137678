"""police.uk street and outcomes files (data.police.uk archive schema).

Quirks of real files, and what we do with each:

- **Anti-social behaviour rows have no Crime ID.** They are kept (category "Anti-social
  behaviour", never serious violence) under a stable synthetic reference
  ``asb-<sha1 of month, place, type and its repeat number in the file>``, so re-importing
  the same file updates them instead of adding duplicates.
- **"No Location" rows have no coordinates.** They are kept and counted
  (``without_location``) and left off maps and hot-spot analysis.
- **Repeated Crime IDs.** The same ID twice in one file is one crime listed twice (in the
  Gwent files the repeats are identical rows); it is stored once and the number of merged
  repeats is reported. The same ID in a later month is the same crime re-published: the
  record is updated (later file wins, since folders import in month order) — never a
  second record. A real file is never rejected for repeats.
- **LSOA codes** are stored as given (2011 codes in older files, 2021 codes from 2022).
- Times are known only to the month: ``occurred_from`` is the first second of the month,
  ``occurred_to`` the last, ``time_precision = "month"``.
- **Outcomes files** update each crime's last outcome. An outcome is applied only if it is
  dated no earlier than the outcome already held (``last_outcome_month``), so importing
  files out of order does not roll an outcome back. Outcomes for crimes not (yet) imported
  are counted and reported.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rasure.errors import InputFileError, RowProblem
from rasure.geo import BNG
from rasure.ingest.common import (
    BLOCK_BYTES,
    Batch,
    CsvChunk,
    CsvFile,
    ParsedFile,
    StreamedFile,
    blank_to_na,
    project_located,
    refuse_outside_area,
    too_long,
)
from rasure.records import TEXT_LIMITS, conform, empty_links, empty_records

STREET_COLUMNS = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]
OUTCOME_COLUMNS = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Outcome type",
]
#: Generous box around the UK (police.uk covers England, Wales and Northern Ireland).
UK_LON = (-9.0, 2.5)
UK_LAT = (49.0, 61.5)
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def source_for(force: str) -> str:
    """The record source key for a police.uk force name.

    >>> source_for("Thames Valley Police")
    'police.uk:thames-valley-police'
    """
    return "police.uk:" + re.sub(r"[^a-z0-9]+", "-", force.strip().lower()).strip("-")


def detect_kind(path: Path, header: list[str]) -> str:
    if header == STREET_COLUMNS:
        return "street"
    if header == OUTCOME_COLUMNS:
        return "outcomes"
    name = path.name.lower()
    expected = OUTCOME_COLUMNS if "outcome" in name else STREET_COLUMNS
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    raise InputFileError(
        str(path),
        f"wrong header for a police.uk {'outcomes' if 'outcome' in name else 'street'} file: "
        f"missing {missing}, unexpected {extra}",
        line=1,
        hint="use the file exactly as downloaded from data.police.uk (street or outcomes), or import your "
        "own export with `rasure import records --mapping`",
    )


def open_policeuk(path: str | Path, *, crs: str = BNG, block_bytes: int = BLOCK_BYTES) -> PoliceUkFile:
    """Open one police.uk ``-street`` or ``-outcomes`` file (``.csv`` or ``.csv.gz``) for streaming;
    easting/northing are in ``crs`` (the force's projected CRS, default BNG), and a point outside its
    area of use is an error naming the line."""
    return PoliceUkFile(Path(path), crs=crs, block_bytes=block_bytes)


def read_policeuk(path: str | Path, *, crs: str = BNG) -> ParsedFile:
    """Read and validate one police.uk ``-street`` or ``-outcomes`` file (``.csv`` or ``.csv.gz``)."""
    return open_policeuk(path, crs=crs).parsed()


_LIMITS = {
    "Crime ID": TEXT_LIMITS["reference"],
    "Falls within": TEXT_LIMITS["force"],
    "Crime type": TEXT_LIMITS["category"],
    "Location": TEXT_LIMITS["location_text"],
    "LSOA code": TEXT_LIMITS["lsoa_code"],
    "LSOA name": TEXT_LIMITS["lsoa_name"],
    "Last outcome category": TEXT_LIMITS["last_outcome"],
    "Outcome type": TEXT_LIMITS["last_outcome"],
}


class PoliceUkFile(StreamedFile):
    """A police.uk street or outcomes file read in chunks (see the module docstring for the rules)."""

    def __init__(self, p: Path, *, crs: str = BNG, block_bytes: int = BLOCK_BYTES) -> None:
        self.crs = crs
        csv_file = CsvFile(p, block_bytes=block_bytes)
        try:
            self.kind = detect_kind(p, csv_file.header)
        except InputFileError:
            csv_file.close()
            raise
        super().__init__(csv_file)
        # street: the first row of a repeated Crime ID is kept; outcomes: the last listed
        self.keep = "first" if self.kind == "street" else "last"
        self._asb_seen = pd.Series(dtype="int64")
        self._no_id = 0

    def notes(self) -> list[str]:
        if self._no_id:
            return [f"{self._no_id} row(s) without a Crime ID (anti-social behaviour) kept with a stable key"]
        return []

    def merged_note(self, merged: int) -> str:
        if self.kind == "outcomes":
            return f"{merged} crime(s) with more than one outcome in this file: the last listed is kept"
        return f"{merged} repeated Crime ID row(s) in this file merged into one record each"

    def _convert(self, chunk: CsvChunk, problems: list[RowProblem]) -> Batch | None:
        f, line = chunk.frame, chunk.lines
        lon, lat = _validate_common(self.path, f, line, problems)
        for col, limit in _LIMITS.items():
            if col in f.columns:
                too_long(self.path, line, col, f[col].str.strip(), limit, problems)
        source = _sources(f["Falls within"].str.strip())
        too_long(self.path, line, "Falls within", source, TEXT_LIMITS["source"], problems)
        if self.kind == "outcomes":
            return self._outcomes(f, line, problems)
        if problems:  # a coordinate already refused is not also said to lie outside the CRS's area
            return None
        refuse_outside_area(
            self.path,
            line,
            "Longitude",
            f["Longitude"].str.strip(),
            lon.to_numpy(dtype=float),
            lat.to_numpy(dtype=float),
            crs=self.crs,
            problems=problems,
        )
        if problems:
            return None
        return self._street(f, lon, lat, source)

    def _street(self, f: pd.DataFrame, lon: pd.Series, lat: pd.Series, source: pd.Series) -> Batch:
        n = len(f)
        force = f["Falls within"].str.strip()
        month = f["Month"].str.strip()
        ref = f["Crime ID"].str.strip()
        no_id = ref == ""
        if no_id.any():
            key = (
                month
                + "|"
                + f["Longitude"]
                + "|"
                + f["Latitude"]
                + "|"
                + f["Location"]
                + "|"
                + f["LSOA code"]
                + "|"
                + f["Crime type"]
            )[no_id]
            # the repeat number counts across the whole file, so chunks carry it on
            nth = key.groupby(key).cumcount() + key.map(self._asb_seen).fillna(0).astype("int64")
            self._asb_seen = self._asb_seen.add(key.value_counts(), fill_value=0).astype("int64")
            self._no_id += int(no_id.sum())
            ref = ref.copy()
            ref[no_id] = [  # type: ignore[call-overload]
                "asb-" + hashlib.sha1(f"{k}|{j}".encode()).hexdigest()[:24]
                for k, j in zip(key, nth.astype(str), strict=True)
            ]
        start = pd.to_datetime(month + "-01", format="%Y-%m-%d")
        end = start + pd.offsets.MonthBegin(1) - pd.Timedelta(seconds=1)
        east, north = project_located(lon.to_numpy(dtype=float), lat.to_numpy(dtype=float), crs=self.crs)
        outcome = blank_to_na(f["Last outcome category"].str.strip())
        recs = pd.DataFrame(
            {
                "source": source,
                "reference": ref,
                "category": f["Crime type"].str.strip(),
                "occurred_from": start,
                "occurred_to": end,
                "time_precision": "month",
                "lon": lon,
                "lat": lat,
                "easting": east,
                "northing": north,
                "location_text": f["Location"].str.strip(),
                "lsoa_code": blank_to_na(f["LSOA code"].str.strip()),
                "lsoa_name": blank_to_na(f["LSOA name"].str.strip()),
                "weapon": "unknown",
                "last_outcome": outcome,
                "last_outcome_month": month.where(outcome.notna()),
                "force": force,
                "as_of": month,
            },
            index=pd.RangeIndex(n),
        )
        return Batch(records=conform(recs), links=empty_links(), outcomes=_empty_outcomes())

    def _outcomes(self, f: pd.DataFrame, line: NDArray[np.int64], problems: list[RowProblem]) -> Batch | None:
        ref = f["Crime ID"].str.strip()
        outcome = f["Outcome type"].str.strip()
        for i in np.flatnonzero((ref == "").to_numpy(dtype=bool)):
            problems.append(
                RowProblem(
                    self.path,
                    int(line[i]),
                    "Crime ID",
                    "",
                    "is empty in an outcomes file",
                    "every outcome must name the crime it belongs to",
                )
            )
        for i in np.flatnonzero((outcome == "").to_numpy(dtype=bool)):
            problems.append(
                RowProblem(
                    self.path,
                    int(line[i]),
                    "Outcome type",
                    "",
                    "is empty",
                    "give the outcome, or remove the row",
                )
            )
        if problems:
            return None
        out = pd.DataFrame(
            {
                "source": _sources(f["Falls within"].str.strip()),
                "reference": ref,
                "last_outcome": outcome,
                "last_outcome_month": f["Month"].str.strip(),
            }
        )
        return Batch(records=empty_records(), links=empty_links(), outcomes=out)


def _sources(force: pd.Series) -> pd.Series:
    return force.map({f: source_for(str(f)) for f in force.unique()}).astype("string")


def _validate_common(
    path: str, f: pd.DataFrame, line: NDArray[np.int64], problems: list[RowProblem]
) -> tuple[pd.Series, pd.Series]:
    month = f["Month"].str.strip()
    bad_month = ~month.str.match(_MONTH).fillna(False).to_numpy(dtype=bool)
    for i in np.flatnonzero(bad_month):
        problems.append(
            RowProblem(
                path,
                int(line[i]),
                "Month",
                str(month.iloc[i]),
                "is not a month YYYY-MM",
                "write the month as e.g. 2024-03",
            )
        )
    lon_s, lat_s = f["Longitude"].str.strip(), f["Latitude"].str.strip()
    lon = pd.to_numeric(blank_to_na(lon_s), errors="coerce").astype(float)
    lat = pd.to_numeric(blank_to_na(lat_s), errors="coerce").astype(float)
    for col, raw, val, (lo, hi) in (("Longitude", lon_s, lon, UK_LON), ("Latitude", lat_s, lat, UK_LAT)):
        bad = ((raw != "") & (val.isna() | (val < lo) | (val > hi))).to_numpy(dtype=bool)
        for i in np.flatnonzero(bad):
            problems.append(
                RowProblem(
                    path,
                    int(line[i]),
                    col,
                    str(raw.iloc[i])[:80],
                    f"is not a {col.lower()} in the UK ({lo} to {hi})",
                    "fix the coordinate, or leave both Longitude and Latitude empty for 'No Location'",
                )
            )
    half = ((lon_s == "") != (lat_s == "")).to_numpy(dtype=bool)
    for i in np.flatnonzero(half):
        problems.append(
            RowProblem(
                path,
                int(line[i]),
                "Latitude" if lat_s.iloc[i] == "" else "Longitude",
                "",
                "only one of Longitude/Latitude is given",
                "give both or neither",
            )
        )
    located = ~half
    return lon.where(located), lat.where(located)


def _empty_outcomes() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="string") for c in ("source", "reference", "last_outcome", "last_outcome_month")}
    )
