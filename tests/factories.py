"""Tiny builders for test input files."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

STREET_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)
OUTCOME_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Outcome type"
)


def street_row(
    crime_id: str = "abc1",
    month: str = "2024-03",
    lon: str = "-3.0",
    lat: str = "51.6",
    crime_type: str = "Violence and sexual offences",
    outcome: str = "Under investigation",
    location: str = "On or near High Street",
) -> str:
    return (
        f"{crime_id},{month},Test Police,Test Police,{lon},{lat},{location},W01000001,Test 001A,"
        f"{crime_type},{outcome},"
    )


def write_street(path: Path, rows: list[str], *, header: str = STREET_HEADER, gz: bool = False) -> Path:
    text = header + "\n" + "\n".join(rows) + "\n"
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_outcomes(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = [
        f"{cid},{month},Test Police,Test Police,-3.0,51.6,On or near High Street,W01000001,Test 001A,{out}"
        for cid, month, out in rows
    ]
    path.write_text(OUTCOME_HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_ed_assaults(path: Path, records: Any) -> Path:
    """A synthetic emergency-department file (Cardiff Model columns): one knife assault at each of
    ``records``' positions (objects with ``lat`` and ``lon``), on days of September 2026 in turn."""
    rows = "".join(
        f"2026-09-{k % 28 + 1:02d},22:00,{r.lat},{r.lon},knife,stranger\n" for k, r in enumerate(records)
    )
    path.write_text("date,time,latitude,longitude,weapon,assault\n" + rows, encoding="utf-8")
    return path
