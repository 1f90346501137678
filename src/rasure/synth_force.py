"""A synthetic police.uk-shaped force of any size, for scale runs (issue 17, item 6).

**SYNTHETIC DATA.** Every row this module writes is generated from a random seed and describes no
real crime, place or person. The force is called :data:`FORCE_NAME` ("… (SYNTHETIC)"), every
``Location`` ends "(synthetic)", LSOA codes start ``SYN`` and LSOA names say "synthetic".

Where :mod:`rasure.synth` makes a small, richly planted town (people, institutions, exact times), this
makes *volume*: monthly police.uk street files (the data.police.uk archive's twelve columns, gzipped)
for a force the size of the Metropolitan Police — about 3 million records over three years in a
box the size of Greater London — generated month by month with numpy and written with pyarrow, so
3 million rows take seconds and little memory. The planted structure is simple and documented:

- **Places**: ``places`` anonymised map points ("On or near Synthetic Street N (synthetic)"), as
  police.uk snaps every crime to one. 70 % of the points sit around :data:`CENTRES` town centres
  (Gaussian, 0.6–2.5 km spread), the rest anywhere in the box.
- **Concentration**: each point's share of crime is log-normal (``sigma`` 1.3), so a small share of
  points holds a large share of crime, as street-segment studies find (Weisburd 2015, Criminology
  53(2)); the exact figure is not a target.
- **Categories**: police.uk's crime types with shares chosen to look like a large urban force
  (:data:`CATEGORY_SHARES`, illustrative, not estimates); anti-social behaviour rows have no Crime
  ID and no outcome, as in real files.
- **Months**: the same number of rows each month (the remainder spread over the first months).

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as d:
...     force = write_policeuk_force(Path(d), records=1_000, months=3, end_month="2025-12", seed=1)
...     (force.rows, len(force.files), force.files[0].name, force.months[0], force.months[-1])
(1000, 3, '2025-10-synthetic-street.csv.gz', '2025-10', '2025-12')
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from rasure.ingest.policeuk import STREET_COLUMNS

FORCE_NAME: Final = "Synthetic Metropolitan-scale Police (SYNTHETIC)"
LABEL: Final = "(synthetic)"

#: The box the points fall in: (min lon, min lat, max lon, max lat), about Greater London's extent.
BOUNDS_LONLAT: Final = (-0.50, 51.30, 0.30, 51.68)

#: How many town centres the points cluster around (invented positions in the box).
CENTRES: Final = 60

#: police.uk crime types and the share of rows each gets (illustrative shares for a large urban
#: force; they sum to 1).
CATEGORY_SHARES: Final[dict[str, float]] = {
    "Violence and sexual offences": 0.27,
    "Anti-social behaviour": 0.17,
    "Other theft": 0.11,
    "Vehicle crime": 0.09,
    "Theft from the person": 0.06,
    "Burglary": 0.06,
    "Shoplifting": 0.05,
    "Criminal damage and arson": 0.05,
    "Public order": 0.05,
    "Robbery": 0.03,
    "Drugs": 0.03,
    "Bicycle theft": 0.015,
    "Possession of weapons": 0.005,
    "Other crime": 0.01,
}

_OUTCOMES: Final = (
    "Investigation complete; no suspect identified",
    "Unable to prosecute suspect",
    "Under investigation",
    "Awaiting court outcome",
    "Offender given a caution",
)
_OUTCOME_P: Final = (0.45, 0.3, 0.15, 0.06, 0.04)


@dataclass(frozen=True)
class SyntheticForce:
    """What :func:`write_policeuk_force` wrote: the files (month order), their months, the rows in each
    and in all, and the rows per crime type (so a test can check an import against what was made)."""

    files: list[Path]
    months: list[str]
    rows_per_month: list[int]
    by_category: dict[str, int] = field(default_factory=dict)
    force: str = FORCE_NAME

    @property
    def rows(self) -> int:
        return sum(self.rows_per_month)


def _months(end_month: str, months: int) -> list[str]:
    end = pd.Period(end_month, freq="M")
    return [str(end - k) for k in range(months - 1, -1, -1)]


def _places(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Map points: lon, lat and each point's weight (log-normal, sigma 1.3)."""
    x0, y0, x1, y1 = BOUNDS_LONLAT
    km_lon = 1 / (111.32 * np.cos(np.radians((y0 + y1) / 2)))  # degrees of longitude per km
    km_lat = 1 / 110.57
    cx = rng.uniform(x0 + 0.05, x1 - 0.05, CENTRES)
    cy = rng.uniform(y0 + 0.03, y1 - 0.03, CENTRES)
    spread = rng.uniform(0.6, 2.5, CENTRES)
    near = rng.random(n) < 0.7
    which = rng.integers(0, CENTRES, n)
    lon = np.where(near, cx[which] + rng.normal(0, 1, n) * spread[which] * km_lon, rng.uniform(x0, x1, n))
    lat = np.where(near, cy[which] + rng.normal(0, 1, n) * spread[which] * km_lat, rng.uniform(y0, y1, n))
    lon = np.clip(lon, x0, x1).round(6)
    lat = np.clip(lat, y0, y1).round(6)
    weight = rng.lognormal(0.0, 1.3, n)
    return lon, lat, weight / weight.sum()


def write_policeuk_force(
    folder: Path,
    *,
    records: int,
    end_month: str,
    months: int = 36,
    seed: int = 20260401,
    places: int | None = None,
) -> SyntheticForce:
    """Write ``months`` monthly police.uk street files (``YYYY-MM-synthetic-street.csv.gz``) holding
    ``records`` rows in all, ending with ``end_month`` (``YYYY-MM``; required: the core reads no
    clock), into ``folder``. SYNTHETIC DATA. ``places``: map points (default one per 25 rows,
    at least 200). The same arguments always write the same rows."""
    if records < months or months < 1:
        raise ValueError(f"need at least one row a month: records={records}, months={months}")
    rng = np.random.default_rng(seed)
    n_places = places or max(200, records // 25)
    lon, lat, weight = _places(rng, n_places)
    x0, y0, x1, y1 = BOUNDS_LONLAT
    # LSOAs: a 70 x 70 grid over the box (about 4,900, as many as London has), named after the cell.
    gi = np.minimum(((lon - x0) / (x1 - x0) * 70).astype(np.int64), 69)
    gj = np.minimum(((lat - y0) / (y1 - y0) * 70).astype(np.int64), 69)
    cell = gi * 70 + gj
    lsoa_code = np.char.add("SYN", np.char.zfill(cell.astype(str), 5)).astype(object)
    lsoa_name = np.char.add(np.char.add("Synthetic LSOA ", np.char.zfill(cell.astype(str), 5)), " " + LABEL)
    location = np.char.add(
        np.char.add("On or near Synthetic Street ", np.arange(n_places).astype(str)), " " + LABEL
    )
    lon_s = pa.array(lon).cast(pa.string()).to_numpy(zero_copy_only=False)
    lat_s = pa.array(lat).cast(pa.string()).to_numpy(zero_copy_only=False)
    cats = np.array(list(CATEGORY_SHARES), dtype=object)
    shares = np.array(list(CATEGORY_SHARES.values()))
    shares = shares / shares.sum()
    asb = int(np.flatnonzero(cats == "Anti-social behaviour")[0])
    outcomes = np.array(_OUTCOMES, dtype=object)

    month_list = _months(end_month, months)
    base, extra = divmod(records, months)
    per_month = [base + (1 if k < extra else 0) for k in range(months)]
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    by_cat = np.zeros(cats.size, dtype=np.int64)
    for month, n in zip(month_list, per_month, strict=True):
        where = rng.choice(n_places, n, p=weight)
        cat = rng.choice(cats.size, n, p=shares)
        by_cat += np.bincount(cat, minlength=cats.size)
        is_asb = cat == asb
        ids = np.frombuffer(rng.bytes(32 * n).hex().encode(), dtype="S64").astype(str).astype(object)
        ids[is_asb] = ""
        outcome = outcomes[rng.choice(outcomes.size, n, p=_OUTCOME_P)]
        outcome[is_asb] = ""
        table = pa.table(
            {
                "Crime ID": pa.array(ids, pa.string()),
                "Month": pa.array(np.full(n, month, dtype=object), pa.string()),
                "Reported by": pa.array(np.full(n, FORCE_NAME, dtype=object), pa.string()),
                "Falls within": pa.array(np.full(n, FORCE_NAME, dtype=object), pa.string()),
                "Longitude": pa.array(lon_s[where], pa.string()),
                "Latitude": pa.array(lat_s[where], pa.string()),
                "Location": pa.array(location[where], pa.string()),
                "LSOA code": pa.array(lsoa_code[where], pa.string()),
                "LSOA name": pa.array(lsoa_name[where], pa.string()),
                "Crime type": pa.array(cats[cat], pa.string()),
                "Last outcome category": pa.array(outcome, pa.string()),
                "Context": pa.array(np.full(n, "", dtype=object), pa.string()),
            }
        )
        path = folder / f"{month}-synthetic-street.csv.gz"
        with gzip.open(path, "wb", compresslevel=1) as out:  # unquoted, as data.police.uk writes them
            out.write((",".join(STREET_COLUMNS) + "\n").encode())
            pacsv.write_csv(table, out, pacsv.WriteOptions(include_header=False, quoting_style="none"))
        files.append(path)
    return SyntheticForce(
        files=files,
        months=month_list,
        rows_per_month=per_month,
        by_category={str(c): int(k) for c, k in zip(cats, by_cat, strict=True)},
    )
