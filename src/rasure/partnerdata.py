"""Partner data in: anonymised emergency-department assault records (Cardiff Model style).

In the Cardiff Model (Information Sharing to Tackle Violence, ISTV; NHS standard ISB 1594) a hospital's
emergency department asks each patient injured in an assault *when* and *where* it happened and *with
what*, and shares those answers, without any identity, with the community safety partnership and the
police, who find violence the police never hear of (Florence et al. 2011, *BMJ* 342:d3313).

The file is a UTF-8 CSV with a header line and only these columns (any order):

========== ======== ==================================================================================
column     required meaning
========== ======== ==================================================================================
date       yes      the day of the assault: ``YYYY-MM-DD`` or ``DD/MM/YYYY``
time       no       ``HH:MM`` (24-hour), when known
location   yes*     where: free text or a named place (a street, a venue, a park), or ``lat, lon``
latitude   no*      WGS84 degrees, with ``longitude``; *one of ``location`` or both coordinates
longitude  no*      WGS84 degrees
weapon     no       one of :data:`WEAPONS` (empty: ``unknown``)
assault    no       one of :data:`ASSAULT_TYPES` (empty: ``unknown``)
========== ======== ==================================================================================

Any other column is refused, so nothing identifying (a name, an NHS number, a date of birth, a home
postcode) can arrive by mistake. The weapon and assault lists are Rasure's own short lists, not the
ISB 1594 code lists: map a department's codes onto them before the upload.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from rasure.errors import InputFileError, InvalidRowsError, RowProblem

COLUMNS = ("date", "time", "location", "latitude", "longitude", "weapon", "assault")
WEAPONS = ("none", "knife", "other sharp", "blunt", "glass or bottle", "firearm", "other", "unknown")
ASSAULT_TYPES = ("stranger", "acquaintance", "domestic", "other", "unknown")
_COORDS = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class AssaultRow:
    """One valid row: what Rasure keeps (no identities exist in the file to keep)."""

    line: int
    occurred_on: dt.date
    occurred_time: dt.time | None
    location_text: str
    lat: float | None
    lon: float | None
    weapon: str
    assault: str


def _date(value: str) -> dt.date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def read_ed_assaults(path: str | Path, *, today: dt.date, name: str | None = None) -> list[AssaultRow]:
    """Read and check a whole file. Raises :class:`InputFileError` (the file cannot be read) or
    :class:`InvalidRowsError` listing every bad row with its line and field; returns nothing partial.

    ``today`` (the caller's date) refuses assaults dated in the future. ``name`` is the file name to
    show in errors (default: the path)."""
    label = name or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(label, "the file is not UTF-8 text", hint="save it as CSV UTF-8") from None
    except OSError as exc:
        raise InputFileError(label, f"the file cannot be read ({exc.strerror})") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if not header:
        raise InputFileError(label, "the file is empty", hint=f"the header line is: {','.join(COLUMNS)}")
    extra = [h for h in header if h not in COLUMNS]
    if extra:
        raise InputFileError(
            label,
            f"unexpected column(s) {', '.join(repr(e) for e in extra)}: Rasure takes only "
            f"{', '.join(COLUMNS)}, and nothing that could identify a patient",
            hint="delete the other columns (names, NHS numbers, dates of birth, home postcodes) and upload again",
            line=1,
        )
    if "date" not in header:
        raise InputFileError(label, "there is no 'date' column", hint="add it: YYYY-MM-DD", line=1)
    if "location" not in header and not {"latitude", "longitude"} <= set(header):
        raise InputFileError(
            label, "there is no 'location' column (nor latitude and longitude)", hint="add one", line=1
        )
    reader.fieldnames = header
    rows: list[AssaultRow] = []
    problems: list[RowProblem] = []
    n = 0
    for raw in reader:
        n += 1
        line = reader.line_num
        rec = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        bad = len(problems)

        def problem(field: str, reason: str, hint: str, line: int = line, rec: dict[str, str] = rec) -> None:
            problems.append(RowProblem(label, line, field, rec.get(field, ""), reason, hint))

        day = _date(rec.get("date", ""))
        if day is None:
            problem("date", "not a date", "write the day as YYYY-MM-DD, e.g. 2026-03-14")
        elif day > today:
            problem("date", "the date is in the future", "check the day and month")
        when = None
        if rec.get("time"):
            try:
                when = dt.datetime.strptime(rec["time"], "%H:%M").time()
            except ValueError:
                problem("time", "not a time", "write it as HH:MM (24-hour), e.g. 23:15, or leave it empty")
        lat = lon = None
        if rec.get("latitude") or rec.get("longitude"):
            try:
                lat, lon = float(rec.get("latitude", "")), float(rec.get("longitude", ""))
            except ValueError:
                field = "latitude" if not _is_float(rec.get("latitude", "")) else "longitude"
                problem(field, "not a number", "give both latitude and longitude in degrees, or neither")
        else:
            m = _COORDS.match(rec.get("location", ""))
            if m:
                lat, lon = float(m.group(1)), float(m.group(2))
        if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
            problem("latitude", "the coordinates are outside the world", "latitude first, then longitude")
        location = rec.get("location", "")
        if not location and not (rec.get("latitude") or rec.get("longitude")) and lat is None:
            problem(
                "location", "no location", "say where the assault happened (a street, a venue, or lat, lon)"
            )
        weapon = (rec.get("weapon") or "unknown").lower()
        if weapon not in WEAPONS:
            problem("weapon", "not a known weapon", f"use one of: {', '.join(WEAPONS)}")
        assault = (rec.get("assault") or "unknown").lower()
        if assault not in ASSAULT_TYPES:
            problem("assault", "not a known assault type", f"use one of: {', '.join(ASSAULT_TYPES)}")
        if len(problems) == bad and day is not None:
            rows.append(AssaultRow(line, day, when, location[:300], lat, lon, weapon, assault))
    if problems:
        raise InvalidRowsError(label, problems, n)
    if not rows:
        raise InputFileError(label, "the file has a header but no rows", hint="add the assaults, one a line")
    return rows


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
