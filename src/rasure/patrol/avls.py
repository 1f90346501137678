"""Untasked presence: radio and vehicle location pings (AVLS / Airwave ARLS style CSV) in every hot spot.

Requirement P8 and docs/methods.md §6.1 (background presence matters, so dose is measured in control
hot spots too). :func:`read_avls` reads and validates one export, all-or-nothing; :func:`presence_in_hotspots`
runs the dose method of :mod:`rasure.patrol.dose` (unchanged) for every officer or call sign against
every hot spot, treated or control, at once.

**The file.** One row per ping; a header row naming, in any of the spellings in :data:`ALIASES`
(case, spaces and punctuation ignored): who (``officer`` and/or ``call_sign``; the officer is used
when both are given), when (``time``, or a ``date`` plus a time-of-day ``time``), and where
(``lon``/``lat`` in WGS84 degrees, **or** ``easting``/``northing`` in the target CRS); optional
``accuracy_m`` and a speed with its unit in the name (``speed_kmh``, ``speed_mph``, ``speed_mps``; a
bare ``speed`` column is ignored because its unit is unknown). Times are ISO 8601 (with ``Z`` or an
offset such as ``+01:00``, or without one) or UK day-first (``31/05/2024 14:03:07``); times without an
offset are read in ``naive_tz`` (default ``Europe/London``, as UK exports usually are). A local time
that does not exist or happens twice at a clock change is rejected, since which one was meant cannot
be known — export in UTC or with offsets. Every bad field of every row is reported (file, line,
field, value, how to fix) and nothing is imported from a file with any bad row.

**Sparse pings and what they do to dose and mode** (docs/methods.md §6.2: radios report every 30 s to
5 min, force-configurable):

- A car crossing a 150 m cell at 30 mph is inside for ~11 s, so with 30–60 s pings most
  drive-throughs are never seen inside and are missed altogether; when one fix does land inside, the
  visit is credited about one ping interval and comes out ``drive_through`` because vehicle speed is
  seen on the approach. Counts of drive-throughs from AVLS are therefore lower bounds.
- Speeds are chords between neighbouring pings 60–120 s apart: stop-and-go traffic averages out
  (good), but walking in circles looks stationary, so a radio carried on foot patrol that loiters
  reads ``foot`` only because no vehicle speed was seen nearby. :data:`AVLS_PARAMS` accepts a single
  vehicle-speed fix (``vehicle_min_fixes=1``) as vehicle context, because with 60 s pings the 2-minute
  approach window holds only two.
- Vehicle-mounted AVLS shows the car, not the officers: a car parked while its crew walk the hot spot
  is ``stopped``. Person-worn radios show people.
- With 5-minute pings (Merseyside's Airwave rate) a 15-minute visit is 3–4 points (§6.2: too coarse
  for Koper-style thresholds). The default ``carry_gap`` (2 min) then credits only 2 of every 5
  minutes; pass ``DoseParams(carry_gap=timedelta(minutes=5, seconds=30),
  max_gap=timedelta(minutes=5, seconds=30))`` to let each ping stand for its interval, and read the
  mode as indicative only.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from rasure.errors import ConfigError, InputFileError, InvalidRowsError, RasureError, RowProblem
from rasure.geo import BNG, BNG_BOUNDS, lonlat_to_projected, reproject
from rasure.ingest.common import read_bytes, read_csv_strict, sha256_of, transform_located
from rasure.patrol.dose import (
    VISIT_COLUMNS,
    DoseParams,
    Track,
    depth_in,
    prepare_track,
    visit_rows,
    visits_frame,
)

#: Dose parameters for radio / vehicle pings (see the module docstring for why they differ).
AVLS_PARAMS = DoseParams(vehicle_min_fixes=1)

#: Canonical column → accepted header spellings (after lower-casing and turning every run of
#: non-alphanumerics into ``_``).
ALIASES: dict[str, tuple[str, ...]] = {
    canonical: tuple(spellings.split())
    for canonical, spellings in {
        "officer": "officer officer_id officer_number officer_no collar collar_number collar_no shoulder_number "
        "warrant_number payroll_number employee_id user_id",
        "call_sign": "call_sign callsign call_sign_id resource resource_id unit unit_id vehicle vehicle_id vrm "
        "fleet_number radio_id issi tei device device_id",
        "time": "time timestamp datetime date_time fix_time gps_time gps_timestamp event_time time_utc datetime_utc "
        "timestamp_utc utc_time recorded_at reported_at position_time location_time",
        "date": "date gps_date event_date",
        "lon": "lon long longitude lng gps_longitude wgs84_longitude longitude_wgs84",
        "lat": "lat latitude gps_latitude wgs84_latitude latitude_wgs84",
        "easting": "easting eastings east x os_x bng_x grid_x os_easting x_coordinate",
        "northing": "northing northings north y os_y bng_y grid_y os_northing y_coordinate",
        "accuracy_m": "accuracy_m accuracy horizontal_accuracy accuracy_metres accuracy_meters",
        "speed_kmh": "speed_kmh speed_kph speed_km_h",
        "speed_mph": "speed_mph",
        "speed_mps": "speed_mps speed_m_s speed_ms",
    }.items()
}
_LOOKUP = {alias: canonical for canonical, aliases in ALIASES.items() for alias in aliases}
_AWARE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_HAS_CLOCK = re.compile(r"\d{1,2}:\d{2}")
_TIME_OF_DAY = re.compile(r"^\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
_NAIVE_FORMATS = (
    "ISO8601",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S.%f",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
)


class HotspotsError(RasureError):
    """The hot-spot geometries given for presence are unusable (not polygons, empty, duplicate ids)."""


@dataclass(frozen=True)
class AvlsFile:
    """One validated AVLS export.

    ``pings``: ``officer`` (the identity used: officer, else call sign), ``fix_time`` (UTC), ``x``,
    ``y`` (metres in ``crs``), ``line`` (line in the file), and when given ``call_sign``,
    ``accuracy_m`` and ``speed_mps``. ``columns`` records which header was read as which field.
    """

    path: str
    pings: pd.DataFrame
    rows_read: int
    sha256: str
    columns: tuple[tuple[str, str], ...]
    coordinates: str
    crs: str


def normalise_header(name: str) -> str:
    """Header spelling → lookup key.

    >>> normalise_header(" Call Sign "), normalise_header("Date/Time"), normalise_header("Speed (km/h)")
    ('call_sign', 'date_time', 'speed_km_h')
    """
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


@dataclass(frozen=True)
class AvlsMapping:
    """An AVLS export's own column names and conventions, from a TOML file::

    [columns]            # field = "the export's header"; any field left out is found by its aliases
    call_sign = "Resource"
    time = "Fix Time"
    easting = "X"
    northing = "Y"
    [source]
    crs = "EPSG:27700"   # of easting/northing (default British National Grid)
    timezone = "Europe/London"   # for times written without an offset
    """

    path: str
    columns: dict[str, str]
    crs: str
    naive_tz: str


def load_avls_mapping(path: str | Path) -> AvlsMapping:
    """Read and check an AVLS mapping file (see :class:`AvlsMapping`), naming the wrong key."""
    p = Path(path)
    try:
        doc: dict[str, Any] = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: AVLS mapping file not found.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc}).") from exc
    cols = doc.get("columns", {})
    if not isinstance(cols, dict) or not all(isinstance(v, str) for v in cols.values()):
        raise ConfigError(f'{p}: [columns] must map fields to header names, e.g. time = "Fix Time".')
    unknown = sorted(set(cols) - set(ALIASES))
    if unknown:
        raise ConfigError(f"{p}: [columns] has unknown key(s) {unknown}; known keys are {sorted(ALIASES)}.")
    src = doc.get("source", {})
    return AvlsMapping(
        path=str(p),
        columns={str(k): str(v) for k, v in cols.items()},
        crs=str(src.get("crs", BNG)),
        naive_tz=str(src.get("timezone", "Europe/London")),
    )


def _map_columns(file: str, header: list[str], explicit: Mapping[str, str] | None = None) -> dict[str, str]:
    found: dict[str, str] = {}
    for field, name in (explicit or {}).items():
        if name not in header:
            raise InputFileError(
                file,
                f"the mapping names column {name!r} for {field!r}, but the header has {header}",
                line=1,
                hint="fix the right-hand side in the mapping, or the export",
            )
        found[field] = name
    for raw in header:
        if raw in found.values():
            continue
        canonical = _LOOKUP.get(normalise_header(raw))
        if canonical is None or (explicit and canonical in explicit):
            continue
        if canonical in found:
            raise InputFileError(
                file,
                f"columns {found[canonical]!r} and {raw!r} both mean {canonical!r}",
                line=1,
                hint="delete or rename one of them",
            )
        found[canonical] = raw
    need: list[str] = []
    if "officer" not in found and "call_sign" not in found:
        need.append("officer or call sign (e.g. 'officer', 'collar_number', 'call_sign', 'resource_id')")
    if "time" not in found:
        need.append("time (e.g. 'time', 'timestamp', 'datetime', 'gps_time')")
    has_lonlat = "lon" in found and "lat" in found
    has_grid = "easting" in found and "northing" in found
    if not has_lonlat and not has_grid:
        need.append("lon and lat, or easting and northing")
    if need:
        raise InputFileError(
            file,
            f"missing column(s): {'; '.join(need)}; the header has {header}",
            line=1,
            hint="rename the columns to one of the accepted spellings (rasure.patrol.avls.ALIASES)",
        )
    return found


def _parse_times(values: pd.Series, naive_tz: str) -> tuple[pd.Series, pd.Series]:
    """UTC times and, per row, a reason it failed ("" when fine)."""
    text = values.astype("string").str.strip().fillna("")
    reason = pd.Series("", index=values.index, dtype="object")
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    empty = text == ""
    reason[empty] = "is empty"
    no_clock = ~empty & ~text.str.contains(_HAS_CLOCK)
    reason[no_clock] = "has no time of day"
    usable = ~empty & ~no_clock
    aware = usable & text.str.contains(_AWARE)
    if aware.any():
        parsed = pd.to_datetime(text[aware], format="ISO8601", utc=True, errors="coerce")
        out[aware] = parsed.dt.as_unit("ns")
    naive = usable & ~aware
    if naive.any():
        local = pd.Series(pd.NaT, index=text.index[naive], dtype="datetime64[ns]")
        for fmt in _NAIVE_FORMATS:
            todo = local.isna()
            if not todo.any():
                break
            local[todo] = pd.to_datetime(text[naive][todo], format=fmt, errors="coerce").dt.as_unit("ns")
        read = local.notna()
        zoned = local[read].dt.tz_localize(naive_tz, ambiguous="NaT", nonexistent="NaT")
        clock_change = zoned.isna()
        reason[zoned.index[clock_change.to_numpy()]] = (
            f"does not exist or happens twice in {naive_tz} (a clock change)"
        )
        out[zoned.index] = zoned.dt.tz_convert("UTC").dt.as_unit("ns")
    unread = usable & out.isna() & (reason == "")
    reason[unread] = "is not a date-time this reader knows"
    return out, reason


def _numbers(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    text = values.astype("string").str.strip().fillna("")
    number = pd.to_numeric(text.where(text != "", None), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    reason = pd.Series("", index=values.index, dtype="object")
    reason[(text == "").to_numpy()] = "is empty"
    reason[((text != "") & ~np.isfinite(number)).to_numpy()] = "is not a number"
    return number, reason


def read_avls(
    path: str | Path,
    *,
    crs: str = BNG,
    naive_tz: str = "Europe/London",
    columns: Mapping[str, str] | None = None,
    to_crs: str | None = None,
) -> AvlsFile:
    """Read and validate one AVLS / radio location CSV (see the module docstring); all-or-nothing.

    ``crs``: the CRS of the file's easting/northing; ``to_crs``: the CRS the pings' ``x``/``y`` are
    given in (the force's; default ``crs``). Lon/lat is projected straight to ``to_crs``.

    ``columns`` (field → header, e.g. from :func:`load_avls_mapping`) names columns whose headers
    are not among the accepted spellings; the other fields are still found by their aliases.

    Raises :class:`~rasure.errors.InputFileError` for a file that cannot be read or lacks a column,
    and :class:`~rasure.errors.InvalidRowsError` listing every bad field of every row.
    """
    target = to_crs or crs
    p = Path(path)
    file = str(p)
    data = read_bytes(p)
    raw = read_csv_strict(p, data)
    header = list(raw.columns)
    found = _map_columns(file, header, columns)
    n = len(raw)
    problems: list[RowProblem] = []

    def report(mask: np.ndarray | pd.Series, column: str, reasons: pd.Series | str, hint: str) -> None:
        rows = np.flatnonzero(np.asarray(mask, dtype=bool))
        for i in rows.tolist():
            why = reasons if isinstance(reasons, str) else str(reasons.iloc[i])
            problems.append(RowProblem(file, i + 2, column, str(raw[column].iloc[i]), why, hint))

    who_column = found.get("officer", found.get("call_sign", ""))
    who = raw[who_column].astype("string").str.strip().fillna("")
    report(who == "", who_column, "is empty", "every ping needs the officer or call sign it came from")

    time_hint = (
        "write times as ISO 8601 (2024-05-31T14:03:07Z or with an offset like +01:00) "
        "or day-first (31/05/2024 14:03:07)"
    )
    time_text = raw[found["time"]].astype("string").str.strip().fillna("")
    if "date" in found and bool(time_text[time_text != ""].str.fullmatch(_TIME_OF_DAY).all()):
        time_text = raw[found["date"]].astype("string").str.strip().fillna("") + " " + time_text
    times, why_time = _parse_times(time_text, naive_tz)
    report(why_time != "", found["time"], why_time, time_hint)

    if "lon" in found and "lat" in found:
        coordinates = "lonlat"
        lon, why_lon = _numbers(raw[found["lon"]])
        lat, why_lat = _numbers(raw[found["lat"]])
        report(why_lon != "", found["lon"], why_lon, "give longitude in decimal degrees (WGS84)")
        report(why_lat != "", found["lat"], why_lat, "give latitude in decimal degrees (WGS84)")
        with np.errstate(invalid="ignore"):
            bad_lon = np.isfinite(lon) & (np.abs(lon) > 180)
            bad_lat = np.isfinite(lat) & (np.abs(lat) > 90)
        swapped = bad_lat & (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
        report(bad_lon, found["lon"], "is not a longitude (−180 to 180)", "check the column holds longitude")
        report(
            bad_lat & ~swapped,
            found["lat"],
            "is not a latitude (−90 to 90)",
            "check the column holds latitude",
        )
        report(swapped, found["lat"], "is not a latitude (−90 to 90)", "longitude and latitude look swapped")
        null_island = (lon == 0) & (lat == 0)
        report(
            null_island,
            found["lat"],
            "is 0, 0: the device had no fix",
            "remove rows without a position fix before importing",
        )
        ok = np.isfinite(lon) & np.isfinite(lat) & ~bad_lon & ~bad_lat & ~null_island
        x = np.full(n, np.nan)
        y = np.full(n, np.nan)
        if ok.any():
            x[ok], y[ok] = lonlat_to_projected(lon[ok], lat[ok], crs=target)
        if target == BNG:
            outside = ok & ~_in_bng(x, y)
            report(
                outside,
                found["lon"],
                "is outside Great Britain once projected to British National Grid",
                "check longitude and latitude are not swapped, or pass the CRS of your force's area",
            )
    else:
        coordinates = "grid"
        x, why_x = _numbers(raw[found["easting"]])
        y, why_y = _numbers(raw[found["northing"]])
        report(why_x != "", found["easting"], why_x, f"give eastings in metres ({crs})")
        report(why_y != "", found["northing"], why_y, f"give northings in metres ({crs})")
        if crs == BNG:
            finite = np.isfinite(x) & np.isfinite(y)
            outside = finite & ~_in_bng(x, y)
            report(
                outside,
                found["easting"],
                "is outside the British National Grid (0–700 000 E, 0–1 300 000 N)",
                "check the easting and northing are not swapped or in kilometres, or pass the right CRS",
            )

    extra: dict[str, np.ndarray] = {}
    if "accuracy_m" in found:
        acc, why_acc = _numbers(raw[found["accuracy_m"]])
        empty_ok = raw[found["accuracy_m"]].astype("string").str.strip().fillna("") == ""
        report(
            (why_acc != "") & ~empty_ok,
            found["accuracy_m"],
            why_acc,
            "give accuracy in metres, or leave it empty",
        )
        extra["accuracy_m"] = acc
    for unit, factor in (("speed_mps", 1.0), ("speed_kmh", 1 / 3.6), ("speed_mph", 0.44704)):
        if unit in found:
            speed, why_speed = _numbers(raw[found[unit]])
            empty_ok = raw[found[unit]].astype("string").str.strip().fillna("") == ""
            report((why_speed != "") & ~empty_ok, found[unit], why_speed, "give a speed, or leave it empty")
            extra["speed_mps"] = speed * factor

    if problems:
        problems.sort(key=lambda q: (q.line, q.field))
        raise InvalidRowsError(file, problems, total_rows=n)
    if coordinates == "grid" and target != crs:
        x, y = transform_located(reproject, x, y, src=crs, dst=target)

    pings = pd.DataFrame(
        {"officer": who.astype("object"), "fix_time": times, "x": x, "y": y, "line": np.arange(2, n + 2)}
    )
    if "officer" in found and "call_sign" in found:
        pings["call_sign"] = raw[found["call_sign"]].astype("string").str.strip().astype("object")
    for column, values in extra.items():
        pings[column] = values
    return AvlsFile(
        path=file,
        pings=pings,
        rows_read=n,
        sha256=sha256_of(data),
        columns=tuple(sorted(found.items())),
        coordinates=coordinates,
        crs=target,
    )


def _in_bng(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = BNG_BOUNDS
    return np.asarray((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1), dtype=bool)


def _hotspot_list(
    hotspots: pd.DataFrame | Mapping[Any, BaseGeometry],
) -> tuple[list[Hashable], list[BaseGeometry]]:
    if isinstance(hotspots, pd.DataFrame):
        if "hotspot_id" not in hotspots.columns or "geometry" not in hotspots.columns:
            raise HotspotsError(
                f"the hot-spot frame needs columns 'hotspot_id' and 'geometry' (it has {list(hotspots.columns)})"
            )
        ids = hotspots["hotspot_id"].tolist()
        geoms = hotspots["geometry"].tolist()
    else:
        ids, geoms = list(hotspots.keys()), list(hotspots.values())
    if len(set(ids)) != len(ids):
        dup = sorted({str(i) for i in ids if ids.count(i) > 1})
        raise HotspotsError(f"hot-spot ids repeat: {dup}; give each hot spot one row")
    for hid, geom in zip(ids, geoms, strict=True):
        if (
            not isinstance(geom, BaseGeometry)
            or geom.is_empty
            or geom.geom_type not in ("Polygon", "MultiPolygon")
        ):
            raise HotspotsError(
                f"hot spot {hid!r} has no usable polygon ({getattr(geom, 'geom_type', type(geom).__name__)}); "
                "give a shapely Polygon or MultiPolygon in the pings' CRS"
            )
    return ids, geoms


PRESENCE_COLUMNS: tuple[str, ...] = ("hotspot_id", "officer", *VISIT_COLUMNS)


def presence_in_hotspots(
    pings: pd.DataFrame,
    hotspots: pd.DataFrame | Mapping[Any, BaseGeometry],
    *,
    params: DoseParams = AVLS_PARAMS,
    officer_column: str = "officer",
) -> pd.DataFrame:
    """Visits of every officer to every hot spot, with the dose code of :mod:`rasure.patrol.dose`.

    ``pings`` has ``officer_column``, ``fix_time``, ``x``, ``y`` (and optionally ``accuracy_m``,
    ``speed_mps``), e.g. :attr:`AvlsFile.pings`. ``hotspots`` is a frame with ``hotspot_id`` and
    ``geometry`` (shapely polygons, same CRS) or a mapping id → polygon. Each officer's pings are
    cleaned and given speeds once; an STRtree finds the fixes within the outer hysteresis band of each
    hot spot, and only those (with their neighbours) go through the visit rules. Returns one row per
    visit: ``hotspot_id``, ``officer``, then the columns of :func:`~rasure.patrol.dose.find_visits`
    (``start``, ``end``, ``minutes``, ``mode``, …), sorted by hot spot, officer and start.
    """
    ids, geoms = _hotspot_list(hotspots)
    if officer_column not in pings.columns:
        raise InputFileError(
            "pings",
            f"no {officer_column!r} column",
            hint="pass the pings from read_avls, or set officer_column",
        )
    if pings.empty or not ids:
        return visits_frame([], leading=("hotspot_id", "officer"))
    tree = shapely.STRtree(geoms)
    wanted = [c for c in ("fix_time", "x", "y", "accuracy_m", "speed_mps") if c in pings.columns]
    rows: list[dict[str, object]] = []
    for officer, group in pings.groupby(officer_column, sort=True):
        track: Track = prepare_track(group[wanted], params=params)
        if track.pings.empty:
            continue
        x = track.pings["x"].to_numpy(dtype=np.float64)
        y = track.pings["y"].to_numpy(dtype=np.float64)
        fix_idx, geom_idx = tree.query(
            shapely.points(x, y), predicate="dwithin", distance=params.outer_hysteresis_m
        )
        order = np.argsort(geom_idx, kind="stable")
        fix_idx, geom_idx = fix_idx[order], geom_idx[order]
        for g in np.unique(geom_idx).tolist():
            near = fix_idx[geom_idx == g]
            depth = np.full(len(x), -np.inf)
            depth[near] = depth_in(geoms[g], x[near], y[near])
            rows += [{"hotspot_id": ids[g], "officer": officer, **row} for row in visit_rows(track, depth)]
    out = visits_frame(rows, leading=("hotspot_id", "officer"))
    if out.empty:
        return out
    return out.sort_values(["hotspot_id", "officer", "start"], kind="stable").reset_index(drop=True)
