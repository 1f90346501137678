"""The canonical crime record: one schema for every source.

Every reader (police.uk files, a force's own export) returns a pandas DataFrame with
exactly the columns in :data:`RECORD_COLUMNS`, so classification, harm, hot spots and
the database loader never need to know where a record came from.

People linked to a crime (victim, suspect, offender) are a separate frame with the
columns in :data:`LINK_COLUMNS`, joined by ``(source, reference)`` and a person id.

Identity: a record is identified by ``(source, reference)``. Re-importing the same or
an updated file updates the record with that key; it never adds a duplicate.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import pandas as pd


class TimePrecision(StrEnum):
    """How precisely the offence time is known.

    police.uk gives only the month; a records-system export usually gives minutes.
    Hot-times analysis must not pretend a month-only record happened at midnight.
    """

    MONTH = "month"
    DAY = "day"
    MINUTE = "minute"


class Weapon(StrEnum):
    """Weapon present in the offence (Home Office flags, simplified)."""

    KNIFE = "knife"  # knife or sharp instrument
    FIREARM = "firearm"
    OTHER = "other"
    NONE = "none"
    UNKNOWN = "unknown"


class LinkRole(StrEnum):
    VICTIM = "victim"
    SUSPECT = "suspect"
    OFFENDER = "offender"


#: Column name -> pandas dtype of the canonical record frame.
RECORD_COLUMNS: Final[dict[str, str]] = {
    "source": "string",  # e.g. "police.uk:gwent", "niche:tvp"
    "reference": "string",  # crime reference within the source
    "offence_code": "string",  # Home Office offence code, where known
    "offence_description": "string",
    "category": "string",  # police.uk crime type (broad category)
    "occurred_from": "datetime64[s]",
    "occurred_to": "datetime64[s]",
    "time_precision": "string",  # TimePrecision
    "reported_date": "datetime64[s]",
    "lon": "float64",
    "lat": "float64",
    "easting": "float64",  # British National Grid metres (or the force's projected CRS)
    "northing": "float64",
    "location_text": "string",
    "lsoa_code": "string",
    "lsoa_name": "string",
    "weapon": "string",  # Weapon
    "domestic": "boolean",
    "last_outcome": "string",
    "last_outcome_month": "string",  # YYYY-MM the outcome is dated to, for "latest wins"
    "force": "string",
    # The date of the version of the record held (police.uk: the file's month). A row older than the
    # stored version never overwrites it, so re-importing an old file cannot roll a record back.
    "as_of": "string",
}

#: The longest text each stored column holds (the database's column sizes). A reader refuses a longer
#: value, naming its line and field, rather than cutting it short or failing half-way through a write.
TEXT_LIMITS: Final[dict[str, int]] = {
    "source": 64,
    "reference": 128,
    "offence_code": 16,
    "offence_description": 300,
    "category": 100,
    "location_text": 300,
    "lsoa_code": 16,
    "lsoa_name": 100,
    "last_outcome": 200,
    "force": 100,
}

LINK_COLUMNS: Final[dict[str, str]] = {
    "source": "string",
    "reference": "string",
    "person_id": "string",
    "role": "string",  # LinkRole
}


def empty_records() -> pd.DataFrame:
    """An empty frame with the canonical columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in RECORD_COLUMNS.items()})


def empty_links() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in LINK_COLUMNS.items()})


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with exactly the canonical columns, in order, with canonical dtypes.

    Missing columns are added as all-missing; extra columns are dropped.

    >>> df = conform(pd.DataFrame({"source": ["x"], "reference": ["1"], "lon": [-1.0]}))
    >>> list(df.columns) == list(RECORD_COLUMNS)
    True
    >>> str(df["lat"].dtype)
    'float64'
    """
    if list(frame.columns) == list(RECORD_COLUMNS) and all(
        frame[c].dtype == d for c, d in RECORD_COLUMNS.items()
    ):  # already canonical (e.g. batches that were conformed, then joined): nothing to convert
        return frame.reset_index(drop=True)
    # one frame from all the columns at once (adding them one by one costs more than the data)
    cols = {
        col: frame[col].astype(dtype)  # type: ignore[call-overload]
        if col in frame.columns
        else pd.Series(index=frame.index, dtype=dtype)  # all missing: NaN, NaT or NA by dtype
        for col, dtype in RECORD_COLUMNS.items()
    }
    return pd.DataFrame(cols, index=frame.index).reset_index(drop=True)


def has_location(frame: pd.DataFrame) -> pd.Series:
    """True where the record has usable projected coordinates (kept off maps otherwise)."""
    return frame["easting"].notna() & frame["northing"].notna()
