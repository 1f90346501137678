"""Tiny builders for test input files."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rasure.geo import lonlat_to_projected, transformer

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


UTM16N = "EPSG:32616"  # Chicago's UTM zone: metres
IUCR_SCOPE = (
    "# Test city scope (IUCR codes). Version 2026.1.\n"
    "offence_code,sv_group,counts_as\n"
    "0110,homicide,always\n"
    "041A,aggravated battery: handgun,always\n"
    "031A,armed robbery: handgun,always\n"
    "0486,domestic battery,with_weapon\n"
)


def us_city_export(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A city export in the style of a US open-data portal: IUCR codes, lon/lat, minute times. A day
    cluster (shops, 11:00-16:00) and a night cluster (bars, 22:00-02:00), 2 km apart, plus noise."""
    rng = np.random.default_rng(11)
    e0, n0 = lonlat_to_projected(np.array([-87.65]), np.array([41.85]), crs=UTM16N)
    rows = []

    def add(
        n: int, dx: float, dy: float, hours: tuple[int, int], code: str, where: str, spread: float
    ) -> None:
        x = e0[0] + dx + rng.normal(0, spread, n)
        y = n0[0] + dy + rng.normal(0, spread, n)
        lon, lat = transformer(UTM16N, "EPSG:4326").transform(x, y)
        day = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
        h = (hours[0] + rng.integers(0, (hours[1] - hours[0]) % 24 or 24, n)) % 24
        t = day + pd.to_timedelta(h, unit="h") + pd.to_timedelta(rng.integers(0, 60, n), unit="min")
        for i in range(n):
            rows.append((f"JC{len(rows):06d}", t[i].strftime("%Y-%m-%d %H:%M"), code, where, lat[i], lon[i]))

    add(80, 0, 0, (11, 16), "031A", "0000X S STATE ST", 40)
    add(80, 2000, 0, (22, 2), "041A", "0000X W DIVISION ST", 40)
    add(150, 0, 1000, (0, 24), "041A", "STREET", 3000)
    add(150, 0, 0, (0, 24), "0820", "STREET", 3000)  # theft: not serious violence
    export = tmp_path / "city-crimes.csv"
    pd.DataFrame(rows, columns=["Case Number", "Date", "IUCR", "Block", "Latitude", "Longitude"]).to_csv(
        export, index=False
    )
    mapping = tmp_path / "city.toml"
    mapping.write_text(
        '[source]\nname = "city:test"\nforce = "Test City PD"\ndatetime_format = "%Y-%m-%d %H:%M"\n'
        '[columns]\nreference = "Case Number"\noffence_code = "IUCR"\ncommitted_from = "Date"\n'
        'lon = "Longitude"\nlat = "Latitude"\nlocation_text = "Block"\n',
        encoding="utf-8",
    )
    scope = tmp_path / "iucr_scope.csv"
    scope.write_text(IUCR_SCOPE, encoding="utf-8")
    return export, mapping, scope
