"""A force's own crime export (the kind of CSV a records system such as NICHE produces),
read through a documented TOML column mapping (template: ``rasure/data/mapping_template.toml``;
``rasure import records --print-template`` prints it).

Rules:

- Required: ``reference``, ``committed_from`` and a location pair (``easting``/``northing`` or
  ``lon``/``lat``). A row may have an empty location: it is kept and counted, and left off maps.
- Times: with a time part the precision is ``minute``; a bare date gives ``day``.
  ``committed_to`` before ``committed_from`` is an error.
- Weapon and domestic values are translated by the ``[values.*]`` tables; an unknown value is an
  error naming the line, so a new code in the export is noticed rather than silently dropped.
- People: person-id columns may hold several ids separated by ``[people] separator``.
- A reference repeated in one file (exports often write one row per victim or offender) is one
  crime: its people are merged, the other fields are taken from its last row, and the number of
  merged rows is reported.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rasure.errors import ConfigError, InputFileError, RowProblem
from rasure.geo import BNG, projected_to_lonlat, reproject
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
    transform_located,
)
from rasure.records import TEXT_LIMITS, LinkRole, Weapon, conform, empty_links

FIELDS = (
    "reference",
    "offence_code",
    "offence_description",
    "category",
    "committed_from",
    "committed_to",
    "reported",
    "easting",
    "northing",
    "lon",
    "lat",
    "location_text",
    "lsoa_code",
    "lsoa_name",
    "weapon",
    "domestic",
    "outcome",
    "victim_ids",
    "offender_ids",
    "suspect_ids",
)
_DEFAULT_WEAPON = {
    Weapon.KNIFE.value: ["knife", "knife or sharp instrument", "sharp instrument", "bladed article", "blade"],
    Weapon.FIREARM.value: ["firearm", "gun"],
    Weapon.OTHER.value: ["other", "other weapon"],
    Weapon.NONE.value: ["none", "no weapon"],
    Weapon.UNKNOWN.value: ["", "unknown", "not known"],
}
_DEFAULT_DOMESTIC = {"true": ["y", "yes", "true", "1"], "false": ["n", "no", "false", "0", ""]}


@dataclass(frozen=True)
class Mapping:
    path: str
    source: str
    force: str
    delimiter: str
    datetime_format: str | None
    date_format: str | None
    crs: str | None  # the export's easting/northing CRS ([source] crs); None: the force's own CRS
    columns: dict[str, str]
    separator: str
    weapon_values: dict[str, str]  # lower-case export value -> Weapon
    domestic_values: dict[str, bool]


def template_path() -> Path:
    from rasure.tables import builtin_path

    return builtin_path("mapping_template.toml")


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a TOML mapping file, with errors that say which key is wrong."""
    p = Path(path)
    try:
        doc: dict[str, Any] = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{p}: mapping file not found. Start from `rasure import records --print-template`."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc}).") from exc
    src = doc.get("source", {})
    cols = {k: str(v) for k, v in doc.get("columns", {}).items()}
    unknown = sorted(set(cols) - set(FIELDS))
    if unknown:
        raise ConfigError(f"{p}: [columns] has unknown key(s) {unknown}; known keys are {list(FIELDS)}.")
    if "name" not in src:
        raise ConfigError(f'{p}: [source] needs name = "..." (the source key, e.g. "niche:my-force").')
    for req in ("reference", "committed_from"):
        if req not in cols:
            raise ConfigError(f'{p}: [columns] needs {req} = "<your export\'s header>".')
    has_en = "easting" in cols and "northing" in cols
    has_ll = "lon" in cols and "lat" in cols
    if not (has_en or has_ll):
        raise ConfigError(f"{p}: [columns] needs easting and northing, or lon and lat.")
    values = doc.get("values", {})
    weapon_map: dict[str, str] = {}
    for kind, words in (values.get("weapon") or _DEFAULT_WEAPON).items():
        if kind not in {w.value for w in Weapon}:
            raise ConfigError(
                f"{p}: [values.weapon] key {kind!r} must be one of {[w.value for w in Weapon]}."
            )
        for w in words:
            weapon_map[str(w).strip().lower()] = kind
    dom_map: dict[str, bool] = {}
    for kind, words in (values.get("domestic") or _DEFAULT_DOMESTIC).items():
        if kind not in ("true", "false"):
            raise ConfigError(f"{p}: [values.domestic] keys must be true and false, not {kind!r}.")
        for w in words:
            dom_map[str(w).strip().lower()] = kind == "true"
    return Mapping(
        path=str(p),
        source=str(src["name"]),
        force=str(src.get("force", "")),
        delimiter=str(src.get("delimiter", ",")),
        datetime_format=src.get("datetime_format"),
        date_format=src.get("date_format"),
        crs=str(src["crs"]) if src.get("crs") else None,
        columns=cols,
        separator=str(doc.get("people", {}).get("separator", ";")),
        weapon_values=weapon_map,
        domestic_values=dom_map,
    )


def _parse_times(raw: pd.Series, m: Mapping) -> tuple[pd.Series, pd.Series]:
    """Parse date-times; returns (timestamps, has_time). Unparseable non-empty values become NaT."""
    s = raw.str.strip()
    has_time = s.str.contains(":", regex=False).fillna(False)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[s]")
    if m.datetime_format:
        out[has_time] = pd.to_datetime(s[has_time], format=m.datetime_format, errors="coerce")
    else:
        out[has_time] = pd.to_datetime(s[has_time], format="ISO8601", errors="coerce")
    date_only = ~has_time & (s != "")
    if m.date_format:
        out[date_only] = pd.to_datetime(s[date_only], format=m.date_format, errors="coerce")
    else:
        out[date_only] = pd.to_datetime(s[date_only], format="ISO8601", errors="coerce")
    return out, has_time


_LIMITS = {
    "reference": TEXT_LIMITS["reference"],
    "offence_code": TEXT_LIMITS["offence_code"],
    "offence_description": TEXT_LIMITS["offence_description"],
    "category": TEXT_LIMITS["category"],
    "location_text": TEXT_LIMITS["location_text"],
    "lsoa_code": TEXT_LIMITS["lsoa_code"],
    "lsoa_name": TEXT_LIMITS["lsoa_name"],
    "outcome": TEXT_LIMITS["last_outcome"],
    "victim_ids": 10_000,
    "offender_ids": 10_000,
    "suspect_ids": 10_000,
}


def open_mapped(
    path: str | Path, *, mapping: Mapping, crs: str = BNG, block_bytes: int = BLOCK_BYTES
) -> MappedFile:
    """Open one export file for streaming through ``mapping`` (checks the header now). The records'
    easting/northing are in ``crs`` (the force's projected CRS, default BNG), whatever the export's own
    coordinates (``[source] crs`` for easting/northing, or lon/lat); a point outside the area of use of
    ``crs`` is an error naming the line."""
    return MappedFile(Path(path), mapping, crs=crs, block_bytes=block_bytes)


def read_mapped(path: str | Path, *, mapping: Mapping, crs: str = BNG) -> ParsedFile:
    """Read and validate one export file through ``mapping``; all rows or none."""
    return open_mapped(path, mapping=mapping, crs=crs).parsed()


class MappedFile(StreamedFile):
    """A force's export read in chunks through a :class:`Mapping` (rules in the module docstring)."""

    kind = "records"
    keep: Literal["first", "last"] = (
        "last"  # a repeated reference: the last row's values (people from every row)
    )

    def __init__(self, p: Path, m: Mapping, *, crs: str = BNG, block_bytes: int = BLOCK_BYTES) -> None:
        self.crs = crs
        # the export's own easting/northing are in the mapping's [source] crs, else the force's CRS
        self.source_crs = m.crs or crs
        if len(m.delimiter) != 1:
            raise ConfigError(f"{m.path}: [source] delimiter must be one character, not {m.delimiter!r}.")
        csv_file = CsvFile(p, delimiter=m.delimiter, block_bytes=block_bytes)
        missing = [f"{k} = {v!r}" for k, v in m.columns.items() if v not in csv_file.header]
        if missing:
            csv_file.close()
            raise InputFileError(
                str(p),
                f"the mapping {m.path} names column(s) this file does not have: {missing}; the file's header "
                f"is {csv_file.header}",
                line=1,
                hint="fix the right-hand side in the mapping, or the export",
            )
        super().__init__(csv_file)
        self.mapping = m

    def merged_note(self, merged: int) -> str:
        return f"{merged} repeated reference row(s) merged (people combined, last row's values kept)"

    def _convert(self, chunk: CsvChunk, problems: list[RowProblem]) -> Batch | None:
        m, frame, line = self.mapping, chunk.frame, chunk.lines
        col = {k: frame[v].str.strip() for k, v in m.columns.items()}
        path = self.path

        def bad(mask: pd.Series | NDArray[np.bool_], key: str, reason: str, hint: str) -> None:
            for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
                problems.append(
                    RowProblem(path, int(line[i]), m.columns[key], str(col[key].iloc[i])[:80], reason, hint)
                )

        for key, limit in _LIMITS.items():
            if key in col:
                too_long(path, line, m.columns[key], col[key], limit, problems)
        bad(col["reference"] == "", "reference", "is empty", "every row needs its crime reference")
        t_from, from_has_time = _parse_times(col["committed_from"], m)
        fmt = m.datetime_format or "ISO 8601, e.g. 2024-03-31 22:15"
        bad(t_from.isna(), "committed_from", "is not a date-time", f"write it as {fmt}")
        if "committed_to" in col:
            t_to, _ = _parse_times(col["committed_to"], m)
            bad(
                t_to.isna() & (col["committed_to"] != ""),
                "committed_to",
                "is not a date-time",
                f"write it as {fmt}",
            )
            bad(
                (t_to.notna() & t_from.notna() & (t_to < t_from)).fillna(False),
                "committed_to",
                "is before committed_from",
                "swap the two, or correct the date",
            )
        else:
            t_to = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[s]")
        reported = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[s]")
        if "reported" in col:
            reported, _ = _parse_times(col["reported"], m)
            bad(reported.isna() & (col["reported"] != ""), "reported", "is not a date", f"write it as {fmt}")
        if "easting" in col:
            xk, yk, rng = "easting", "northing", _projected_range(self.source_crs)
        else:
            xk, yk, rng = "lon", "lat", ((-180.0, 180.0), (-90.0, 90.0))
        xs = pd.to_numeric(blank_to_na(col[xk]), errors="coerce").astype(float)
        ys = pd.to_numeric(blank_to_na(col[yk]), errors="coerce").astype(float)
        for key, raw, val, (lo, hi) in ((xk, col[xk], xs, rng[0]), (yk, col[yk], ys, rng[1])):
            bad(
                (raw != "") & (val.isna() | (val < lo) | (val > hi)),
                key,
                f"is not a valid {key} ({lo} to {hi})",
                "fix the coordinate, or leave both coordinates empty if the location is unknown",
            )
        half = ((col[xk] == "") != (col[yk] == "")).to_numpy(dtype=bool)
        bad(half, xk, "only one coordinate of the pair is given", "give both or neither")
        weapon = pd.Series(Weapon.UNKNOWN.value, index=frame.index, dtype="string")
        if "weapon" in col:
            weapon = col["weapon"].str.lower().map(m.weapon_values).astype("string")
            bad(
                weapon.isna(),
                "weapon",
                "is not a known weapon value",
                f"add it under [values.weapon] in {m.path} (knife, firearm, other, none or unknown)",
            )
        domestic = pd.Series(pd.NA, index=frame.index, dtype="boolean")
        if "domestic" in col:
            domestic = col["domestic"].str.lower().map(m.domestic_values).astype("boolean")
            bad(
                domestic.isna(),
                "domestic",
                "is not a known domestic flag",
                f"add it under [values.domestic] in {m.path}",
            )
        if problems:
            return None
        x: NDArray[np.float64] = np.asarray(xs, dtype=np.float64)
        y: NDArray[np.float64] = np.asarray(ys, dtype=np.float64)
        if xk == "easting":
            src = self.source_crs
            lon, lat = transform_located(projected_to_lonlat, x, y, crs=src)
            east, north = (
                (x, y) if src == self.crs else transform_located(reproject, x, y, src=src, dst=self.crs)
            )
        else:
            lon, lat = x, y
            east, north = project_located(lon, lat, crs=self.crs)
        unprojectable = (np.isfinite(x) & np.isfinite(y)) & ~(np.isfinite(east) & np.isfinite(lon))
        bad(
            unprojectable,
            xk,
            f"cannot be converted to the force's CRS {self.crs} from "
            + (self.source_crs if xk == "easting" else "longitude/latitude"),
            "check the coordinates and the mapping's [source] crs",
        )
        if problems:
            return None
        refuse_outside_area(path, line, m.columns[xk], col[xk], lon, lat, crs=self.crs, problems=problems)
        if problems:
            return None
        precision = np.where(from_has_time.to_numpy(dtype=bool), "minute", "day")
        opt = {
            k: (blank_to_na(col[k]) if k in col else pd.Series(pd.NA, index=frame.index, dtype="string"))
            for k in (
                "offence_code",
                "offence_description",
                "category",
                "location_text",
                "lsoa_code",
                "lsoa_name",
                "outcome",
            )
        }
        outcome_month = reported.dt.strftime("%Y-%m").astype("string").where(opt["outcome"].notna())
        recs = pd.DataFrame(
            {
                "source": m.source,
                "reference": col["reference"],
                "offence_code": opt["offence_code"],
                "offence_description": opt["offence_description"],
                "category": opt["category"],
                "occurred_from": t_from,
                "occurred_to": t_to.fillna(t_from),
                "time_precision": precision,
                "reported_date": reported,
                "lon": lon,
                "lat": lat,
                "easting": east,
                "northing": north,
                "location_text": opt["location_text"],
                "lsoa_code": opt["lsoa_code"],
                "lsoa_name": opt["lsoa_name"],
                "weapon": weapon,
                "domestic": domestic,
                "last_outcome": opt["outcome"],
                "last_outcome_month": outcome_month,
                "force": m.force or pd.NA,
            }
        )
        return Batch(records=conform(recs), links=_links(col, m), outcomes=pd.DataFrame())


def _projected_range(crs: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """Plausible easting/northing ranges: BNG's extent for BNG, otherwise only finite numbers."""
    if crs == BNG:
        return (0.0, 700_000.0), (0.0, 1_300_000.0)
    return (-1e8, 1e8), (-1e8, 1e8)


def _links(col: dict[str, pd.Series], m: Mapping) -> pd.DataFrame:
    parts = []
    for key, role in (
        ("victim_ids", LinkRole.VICTIM),
        ("offender_ids", LinkRole.OFFENDER),
        ("suspect_ids", LinkRole.SUSPECT),
    ):
        if key not in col:
            continue
        ids = col[key].str.split(m.separator).explode().str.strip()
        ids = ids[ids.notna() & (ids != "")]
        parts.append(
            pd.DataFrame(
                {
                    "source": m.source,
                    "reference": col["reference"].loc[ids.index].to_numpy(),
                    "person_id": ids.to_numpy(),
                    "role": role.value,
                }
            )
        )
    if not parts:
        return empty_links()
    return pd.concat(parts, ignore_index=True).drop_duplicates().astype("string").reset_index(drop=True)
