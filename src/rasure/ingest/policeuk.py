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

from rasure.errors import InputFileError, InvalidRowsError, RowProblem
from rasure.geo import lonlat_to_projected
from rasure.ingest.common import ParsedFile, blank_to_na, read_bytes, read_csv_strict, sha256_of
from rasure.records import conform, empty_links, empty_records

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


def read_policeuk(path: str | Path) -> ParsedFile:
    """Read and validate one police.uk ``-street`` or ``-outcomes`` file (``.csv`` or ``.csv.gz``)."""
    p = Path(path)
    data = read_bytes(p)
    first = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    header = [h.strip() for h in first.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r").split(",")]
    kind = detect_kind(p, header)
    frame = read_csv_strict(p, data, expected=STREET_COLUMNS if kind == "street" else OUTCOME_COLUMNS)
    digest = sha256_of(data)
    if kind == "street":
        return _street(p, frame, digest)
    return _outcomes(p, frame, digest)


def _validate_common(p: Path, f: pd.DataFrame) -> tuple[list[RowProblem], pd.Series, pd.Series]:
    problems: list[RowProblem] = []
    line = pd.Series(np.arange(len(f)) + 2, index=f.index)
    month = f["Month"].str.strip()
    bad_month = ~month.str.match(_MONTH).fillna(False)
    for i in f.index[bad_month]:
        problems.append(
            RowProblem(
                str(p),
                int(line[i]),
                "Month",
                str(month[i]),
                "is not a month YYYY-MM",
                "write the month as e.g. 2024-03",
            )
        )
    lon_s, lat_s = f["Longitude"].str.strip(), f["Latitude"].str.strip()
    lon = pd.to_numeric(blank_to_na(lon_s), errors="coerce").astype(float)
    lat = pd.to_numeric(blank_to_na(lat_s), errors="coerce").astype(float)
    for col, raw, val, (lo, hi) in (("Longitude", lon_s, lon, UK_LON), ("Latitude", lat_s, lat, UK_LAT)):
        bad = (raw != "") & (val.isna() | (val < lo) | (val > hi))
        for i in f.index[bad]:
            problems.append(
                RowProblem(
                    str(p),
                    int(line[i]),
                    col,
                    str(raw[i]),
                    f"is not a {col.lower()} in the UK ({lo} to {hi})",
                    "fix the coordinate, or leave both Longitude and Latitude empty for 'No Location'",
                )
            )
    half = (lon_s == "") != (lat_s == "")
    for i in f.index[half]:
        problems.append(
            RowProblem(
                str(p),
                int(line[i]),
                "Latitude" if lat_s[i] == "" else "Longitude",
                "",
                "only one of Longitude/Latitude is given",
                "give both or neither",
            )
        )
    return problems, lon, lat


def _street(p: Path, f: pd.DataFrame, digest: str) -> ParsedFile:
    problems, lon, lat = _validate_common(p, f)
    if problems:
        raise InvalidRowsError(str(p), problems, total_rows=len(f))
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
        nth = key.groupby(key).cumcount().astype(str)
        ref = ref.copy()
        ref[no_id] = [  # type: ignore[call-overload]
            "asb-" + hashlib.sha1(f"{k}|{j}".encode()).hexdigest()[:24] for k, j in zip(key, nth, strict=True)
        ]
    start = pd.to_datetime(month + "-01", format="%Y-%m-%d")
    end = start + pd.offsets.MonthBegin(1) - pd.Timedelta(seconds=1)
    has = lon.notna() & lat.notna()
    east = np.full(n, np.nan)
    north = np.full(n, np.nan)
    if has.any():
        e, nn = lonlat_to_projected(lon[has].to_numpy(), lat[has].to_numpy())
        east[has.to_numpy()] = e
        north[has.to_numpy()] = nn
    outcome = blank_to_na(f["Last outcome category"].str.strip())
    recs = pd.DataFrame(
        {
            "source": force.map({f: source_for(f) for f in force.unique()}),
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
        }
    )
    before = len(recs)
    recs = recs.drop_duplicates(subset=["source", "reference"], keep="first")
    merged = before - len(recs)
    recs = conform(recs)
    without = int(recs["easting"].isna().sum())
    notes = []
    if merged:
        notes.append(f"{merged} repeated Crime ID row(s) in this file merged into one record each")
    if int(no_id.sum()):
        notes.append(
            f"{int(no_id.sum())} row(s) without a Crime ID (anti-social behaviour) kept with a stable key"
        )
    return ParsedFile(
        path=str(p),
        kind="street",
        records=recs,
        links=empty_links(),
        outcomes=_empty_outcomes(),
        rows_read=n,
        sha256=digest,
        without_location=without,
        repeats_merged=merged,
        notes=tuple(notes),
    )


def _empty_outcomes() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="string") for c in ("source", "reference", "last_outcome", "last_outcome_month")}
    )


def _outcomes(p: Path, f: pd.DataFrame, digest: str) -> ParsedFile:
    problems, _, _ = _validate_common(p, f)
    ref = f["Crime ID"].str.strip()
    outcome = f["Outcome type"].str.strip()
    line = np.arange(len(f)) + 2
    for i in np.flatnonzero((ref == "").to_numpy()):
        problems.append(
            RowProblem(
                str(p),
                int(line[i]),
                "Crime ID",
                "",
                "is empty in an outcomes file",
                "every outcome must name the crime it belongs to",
            )
        )
    for i in np.flatnonzero((outcome == "").to_numpy()):
        problems.append(
            RowProblem(
                str(p), int(line[i]), "Outcome type", "", "is empty", "give the outcome, or remove the row"
            )
        )
    if problems:
        raise InvalidRowsError(str(p), problems, total_rows=len(f))
    out = pd.DataFrame(
        {
            "source": f["Falls within"].str.strip().map(lambda x: source_for(str(x))).astype("string"),
            "reference": ref,
            "last_outcome": outcome,
            "last_outcome_month": f["Month"].str.strip(),
        }
    )
    before = len(out)
    out = out.drop_duplicates(subset=["source", "reference"], keep="last").reset_index(drop=True)
    merged = before - len(out)
    notes = (
        (f"{merged} crime(s) with more than one outcome in this file: the last listed is kept",)
        if merged
        else ()
    )
    return ParsedFile(
        path=str(p),
        kind="outcomes",
        records=empty_records(),
        links=empty_links(),
        outcomes=out,
        rows_read=len(f),
        sha256=digest,
        repeats_merged=merged,
        notes=notes,
    )
