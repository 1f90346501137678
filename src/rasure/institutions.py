"""Hot institutions: screening places whose harm happens at one institution (docs/methods.md §1.2; requirement D5).

Street patrol cannot deter violence inside a prison, a custody suite, an A&E department or a
secure hospital. Thames Valley removed hot spots *centred on a prison* and those where *a
prison or hospital accounted for the crimes* [V]; Sacramento excluded hospitals and the
courthouse [V]. Such places belong on a "hot institutions" list (risky facilities: Clarke &
Eck 2007, POP Tool Guide 6), not on a patrol list.

The rule (docs/methods.md §1.2 and §8, a [U] proposal): a place is excluded when

- one institution holds ``inst_share = H_inst / H_place ≥ 0.5`` of the place's harm, or
- the place's centroid falls inside a prison / custody suite / hospital footprint.

Excluded places are reported separately with their own figures, and the next-ranked place
takes their slot. A single map point or location text holding a large share of a place's
harm (police.uk snaps every crime to a map point) is flagged "possible institution, review".

An institution is a point with a snap radius (default 25 m, the "25 m snap" of §1.2) or a
polygon footprint, in projected metres (British National Grid by default).
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry.base import BaseGeometry

from rasure.errors import InputFileError, InvalidRowsError, RasureError, RowProblem
from rasure.geo import BNG, BNG_BOUNDS, lonlat_to_projected, outside_area_of_use

INSTITUTION_TYPES: Final[frozenset[str]] = frozenset(
    {
        "prison",
        "custody_suite",
        "police_station",
        "courthouse",
        "hospital",
        "a_and_e",
        "mental_health_unit",
        "care_home",
        "school",
        "licensed_premises",
        "transport_hub",
        "retail",
        "other",
    }
)
#: Types whose footprint excludes a place whose centroid falls inside it (docs/methods.md §1.2).
FOOTPRINT_TYPES: Final[frozenset[str]] = frozenset(
    {
        "prison",
        "custody_suite",
        "hospital",
        "a_and_e",
        "mental_health_unit",
    }
)
DEFAULT_SNAP_RADIUS_M: Final[float] = 25.0
DEFAULT_SHARE_THRESHOLD: Final[float] = 0.5
REVIEW_FLAG: Final[str] = "possible institution, review"

_TYPE_ALIASES: Final[dict[str, str]] = {
    "a&e": "a_and_e",
    "a_&_e": "a_and_e",
    "accident_and_emergency": "a_and_e",
    "custody": "custody_suite",
    "mental_health": "mental_health_unit",
    "court": "courthouse",
}


class InstitutionInputError(RasureError):
    """Arguments to an institution function do not fit together (lengths, missing columns)."""


@dataclass(frozen=True)
class InstitutionRegister:
    """Institutions with their footprints, in projected metres.

    ``table`` columns: ``name``, ``type``, ``kind`` (``point`` / ``polygon``), ``easting``,
    ``northing`` (the point, or a point inside the polygon), ``radius_m`` (NaN for a
    polygon), ``area_m2``. ``footprints[k]`` is institution k's polygon, or its point
    buffered by the radius (for maps; tests on points use the exact distance).
    """

    table: pd.DataFrame
    footprints: tuple[BaseGeometry, ...]
    source: str

    def __len__(self) -> int:
        return len(self.table)


def _normalise_type(raw: str) -> str:
    key = "_".join(raw.strip().lower().replace("-", " ").split())
    return _TYPE_ALIASES.get(key, key)


def make_register(
    frame: pd.DataFrame,
    *,
    source: str = "(in memory)",
    default_radius_m: float = DEFAULT_SNAP_RADIUS_M,
) -> InstitutionRegister:
    """Build a register from a frame with ``name``, ``type`` and either ``easting``/``northing``
    (optional ``radius_m``, blank → ``default_radius_m``) or ``geometry`` (shapely polygons).

    >>> reg = make_register(pd.DataFrame({"name": ["HMP A"], "type": ["prison"],
    ...                                   "easting": [450000.0], "northing": [200000.0]}))
    >>> reg.table[["name", "kind", "radius_m"]].values.tolist()
    [['HMP A', 'point', 25.0]]
    """
    missing = [c for c in ("name", "type") if c not in frame.columns]
    has_geom = "geometry" in frame.columns
    if not has_geom and not {"easting", "northing"} <= set(frame.columns):
        missing.append("easting/northing or geometry")
    if missing:
        raise InstitutionInputError(f"{source}: institution frame lacks {missing}.")
    names, types, kinds, east, north, radii, areas, feet = [], [], [], [], [], [], [], []
    for k, row in enumerate(frame.to_dict("records")):
        itype = _normalise_type(str(row["type"]))
        if itype not in INSTITUTION_TYPES:
            raise InstitutionInputError(
                f"{source}: institution {k} ({row['name']!r}) has type {row['type']!r}; "
                f"use one of {sorted(INSTITUTION_TYPES)}."
            )
        geom = row.get("geometry") if has_geom else None
        if (
            isinstance(geom, BaseGeometry)
            and not geom.is_empty
            and geom.geom_type in ("Polygon", "MultiPolygon")
        ):
            if not geom.is_valid:
                raise InstitutionInputError(
                    f"{source}: polygon of {row['name']!r} is invalid ({shapely.is_valid_reason(geom)}); "
                    "repair it (e.g. QGIS 'Fix geometries') and load again."
                )
            inside = geom.representative_point()
            kinds.append("polygon")
            east.append(inside.x)
            north.append(inside.y)
            radii.append(math.nan)
            areas.append(float(geom.area))
            feet.append(geom)
        else:
            if isinstance(geom, BaseGeometry) and geom.geom_type == "Point":
                x, y = geom.x, geom.y
            else:
                x, y = float(row["easting"]), float(row["northing"])
            raw_r = row.get("radius_m", None)
            r = float(default_radius_m) if raw_r is None or pd.isna(raw_r) else float(raw_r)
            if not (math.isfinite(x) and math.isfinite(y)) or not r > 0:
                raise InstitutionInputError(
                    f"{source}: institution {k} ({row['name']!r}) needs finite coordinates and radius_m > 0."
                )
            kinds.append("point")
            east.append(x)
            north.append(y)
            radii.append(r)
            areas.append(math.pi * r * r)
            feet.append(shapely.Point(x, y).buffer(r, quad_segs=16))
        names.append(str(row["name"]).strip())
        types.append(itype)
    table = pd.DataFrame(
        {
            "name": pd.Series(names, dtype="string"),
            "type": pd.Series(types, dtype="string"),
            "kind": pd.Series(kinds, dtype="string"),
            "easting": np.asarray(east, dtype=np.float64),
            "northing": np.asarray(north, dtype=np.float64),
            "radius_m": np.asarray(radii, dtype=np.float64),
            "area_m2": np.asarray(areas, dtype=np.float64),
        }
    )
    return InstitutionRegister(table=table, footprints=tuple(feet), source=source)


# --------------------------------------------------------------------------- loaders


def _cell(row: Mapping[Hashable, Any], col: str) -> str:
    return str(row.get(col, "")).strip()


def read_institutions_csv(
    path: str | Path,
    *,
    crs: str = BNG,
    default_radius_m: float = DEFAULT_SNAP_RADIUS_M,
) -> InstitutionRegister:
    """Read a register from CSV: ``name,type,easting,northing[,radius_m]`` or ``name,type,lon,lat[,radius_m]``.

    An optional ``wkt`` column gives a polygon footprint in ``crs`` metres instead of a point.
    Every invalid row is reported (file, line, field, how to fix) in one
    :class:`~rasure.errors.InvalidRowsError`; the header is line 1.

    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    ...     _ = f.write("name,type,easting,northing,radius_m\\nHMP A,prison,450000,200000,40\\n")
    >>> read_institutions_csv(f.name).table["radius_m"].tolist()
    [40.0]
    >>> os.unlink(f.name)
    """
    p = Path(path)
    try:
        frame = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InputFileError(str(p), "file not found", hint="give the path of the institutions CSV") from exc
    except UnicodeDecodeError as exc:
        raise InputFileError(str(p), "not UTF-8 text", hint="save it as 'CSV UTF-8' and load again") from exc
    except pd.errors.EmptyDataError as exc:
        raise InputFileError(
            str(p), "the file is empty", hint="add a header row name,type,easting,northing"
        ) from exc
    frame.columns = [c.strip().lower() for c in frame.columns]
    cols = set(frame.columns)
    has_en, has_ll, has_wkt = {"easting", "northing"} <= cols, {"lon", "lat"} <= cols, "wkt" in cols
    if not {"name", "type"} <= cols or not (has_en or has_ll or has_wkt):
        raise InputFileError(
            str(p),
            f"header {list(frame.columns)} lacks name, type and a location (easting,northing or lon,lat or wkt)",
            hint="use the header name,type,easting,northing,radius_m (or lon,lat instead of easting,northing)",
            line=1,
        )
    file = str(p)
    problems: list[RowProblem] = []
    rows: list[dict[str, Any]] = []
    allowed = ", ".join(sorted(INSTITUTION_TYPES))
    for k, rec in enumerate(frame.to_dict("records")):
        line = k + 2
        before = len(problems)
        name = _cell(rec, "name")
        if not name:
            problems.append(
                RowProblem(file, line, "name", "", "name is empty", "give each institution a name")
            )
        raw_type = _cell(rec, "type")
        itype = _normalise_type(raw_type)
        if itype not in INSTITUTION_TYPES:
            problems.append(
                RowProblem(file, line, "type", raw_type, "unknown institution type", f"use one of: {allowed}")
            )
        out: dict[str, Any] = {"name": name, "type": itype}
        raw_r = _cell(rec, "radius_m")
        if raw_r:
            try:
                r = float(raw_r)
            except ValueError:
                r = math.nan
            if not (math.isfinite(r) and r > 0):
                problems.append(
                    RowProblem(
                        file,
                        line,
                        "radius_m",
                        raw_r,
                        "not a positive number of metres",
                        f"leave it blank for the default {default_radius_m:g} m",
                    )
                )
            out["radius_m"] = r
        else:
            out["radius_m"] = math.nan
        wkt = _cell(rec, "wkt") if has_wkt else ""
        if wkt:
            try:
                geom = shapely.from_wkt(wkt)
            except shapely.errors.GEOSException:
                geom = None
            if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon", "Point"):
                problems.append(
                    RowProblem(
                        file,
                        line,
                        "wkt",
                        wkt[:60],
                        "not a WKT polygon or point",
                        "write e.g. POLYGON ((x1 y1, x2 y2, x3 y3, x1 y1)) in metres",
                    )
                )
            elif not geom.is_valid:
                problems.append(
                    RowProblem(
                        file,
                        line,
                        "wkt",
                        wkt[:60],
                        f"invalid polygon ({shapely.is_valid_reason(geom)})",
                        "repair it (e.g. QGIS 'Fix geometries')",
                    )
                )
            else:
                out["geometry"] = geom
        else:
            use_en = has_en and (_cell(rec, "easting") or _cell(rec, "northing"))
            fields = ("easting", "northing") if use_en else ("lon", "lat")
            if not use_en and not has_ll:
                problems.append(
                    RowProblem(
                        file,
                        line,
                        "easting",
                        "",
                        "no location given",
                        "fill easting and northing (metres), or wkt",
                    )
                )
            else:
                vals = []
                for f in fields:
                    raw = _cell(rec, f)
                    try:
                        v = float(raw)
                    except ValueError:
                        v = math.nan
                    if not math.isfinite(v):
                        problems.append(
                            RowProblem(file, line, f, raw, "not a number", f"give {f} as a number")
                        )
                    vals.append(v)
                if len(problems) == before:
                    x, y = vals
                    if not use_en:
                        if not (-180 <= x <= 180 and -90 <= y <= 90):
                            problems.append(
                                RowProblem(
                                    file,
                                    line,
                                    "lon",
                                    f"{x},{y}",
                                    "lon/lat out of range",
                                    "lon is −180..180 and lat −90..90; are the columns swapped?",
                                )
                            )
                        elif outside_area_of_use(crs, np.array([x]), np.array([y]))[0]:
                            problems.append(
                                RowProblem(
                                    file,
                                    line,
                                    "lon",
                                    f"{x},{y}",
                                    f"lies outside the area of use of {crs}, the force's CRS",
                                    "load it for the force it belongs to (--force CODE), or fix the coordinate",
                                )
                            )
                        else:
                            ex, ny = lonlat_to_projected(np.array([x]), np.array([y]), crs=crs)
                            x, y = float(ex[0]), float(ny[0])
                    if (
                        len(problems) == before
                        and crs == BNG
                        and not (BNG_BOUNDS[0] <= x <= BNG_BOUNDS[2] and BNG_BOUNDS[1] <= y <= BNG_BOUNDS[3])
                    ):
                        problems.append(
                            RowProblem(
                                file,
                                line,
                                fields[0],
                                f"{x:.0f},{y:.0f}",
                                "outside the British National Grid",
                                "give BNG eastings/northings in metres, or lon,lat columns",
                            )
                        )
                    out["easting"], out["northing"] = x, y
        if len(problems) == before:
            rows.append(out)
    if problems:
        raise InvalidRowsError(file, problems, total_rows=len(frame))
    if not rows:
        raise InputFileError(file, "no institutions in the file", hint="add one row per institution")
    return _register_from_rows(rows, source=file, default_radius_m=default_radius_m)


def _register_from_rows(
    rows: list[dict[str, Any]], *, source: str, default_radius_m: float
) -> InstitutionRegister:
    frame = pd.DataFrame(rows)
    for col in ("easting", "northing", "radius_m"):
        if col not in frame.columns:
            frame[col] = math.nan
    if "geometry" not in frame.columns:
        frame["geometry"] = None
    return make_register(frame, source=source, default_radius_m=default_radius_m)


def read_institutions_geojson(
    path: str | Path,
    *,
    crs: str = BNG,
    source_crs: str | None = None,
    default_radius_m: float = DEFAULT_SNAP_RADIUS_M,
) -> InstitutionRegister:
    """Read a register from GeoJSON: Point / Polygon / MultiPolygon features with properties
    ``name``, ``type`` and optionally ``radius_m``.

    Coordinates are lon/lat (RFC 7946) unless the file has a legacy ``crs`` member naming
    EPSG:27700 or ``source_crs`` is given, in which case they are taken as already in
    ``crs`` metres. All invalid features are reported together, by feature number (1-based)
    and name.

    >>> import tempfile, os
    >>> doc = {"type": "FeatureCollection", "features": [{"type": "Feature",
    ...        "properties": {"name": "General Hospital", "type": "hospital"},
    ...        "geometry": {"type": "Point", "coordinates": [-1.2577, 51.7520]}}]}
    >>> with tempfile.NamedTemporaryFile("w", suffix=".geojson", delete=False) as f:
    ...     json.dump(doc, f)
    >>> reg = read_institutions_geojson(f.name)
    >>> round(float(reg.table.loc[0, "easting"]), -2), reg.table.loc[0, "type"]
    (451300.0, 'hospital')
    >>> os.unlink(f.name)
    """
    p = Path(path)
    file = str(p)
    try:
        doc = json.loads(p.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as exc:
        raise InputFileError(
            file, "file not found", hint="give the path of the institutions GeoJSON"
        ) from exc
    except UnicodeDecodeError as exc:
        raise InputFileError(file, "not UTF-8 text", hint="save it as UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise InputFileError(
            file, f"not valid JSON ({exc.msg})", line=exc.lineno, hint="check the file with a JSON validator"
        ) from exc
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    elif (
        isinstance(doc, dict)
        and doc.get("type") == "FeatureCollection"
        and isinstance(doc.get("features"), list)
    ):
        features = doc["features"]
    else:
        raise InputFileError(file, "not a GeoJSON FeatureCollection", hint="export the layer as GeoJSON")
    legacy = json.dumps(doc.get("crs", "")) if isinstance(doc, dict) else ""
    projected = source_crs is not None or "27700" in legacy
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    allowed = ", ".join(sorted(INSTITUTION_TYPES))
    for k, feat in enumerate(features, start=1):
        props = feat.get("properties") or {} if isinstance(feat, dict) else {}
        name = str(props.get("name", "") or "").strip()
        where = f"feature {k}" + (f" ({name!r})" if name else "")
        before = len(problems)
        if not name:
            problems.append(f"{where}: property 'name' is empty — give each institution a name")
        raw_type = str(props.get("type", "") or "")
        itype = _normalise_type(raw_type)
        if itype not in INSTITUTION_TYPES:
            problems.append(f"{where}: property 'type' is {raw_type!r} — use one of: {allowed}")
        raw_r = props.get("radius_m")
        r = math.nan
        if raw_r not in (None, ""):
            try:
                r = float(raw_r)
            except (TypeError, ValueError):
                r = math.nan
            if not (math.isfinite(r) and r > 0):
                problems.append(
                    f"{where}: property 'radius_m' is {raw_r!r} — give a positive number of metres"
                )
        try:
            geom = (
                shapely.geometry.shape(feat["geometry"])
                if isinstance(feat, dict) and feat.get("geometry")
                else None
            )
        except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException):
            geom = None
        if geom is None or geom.geom_type not in ("Point", "Polygon", "MultiPolygon"):
            problems.append(f"{where}: geometry is missing or not a Point, Polygon or MultiPolygon")
        elif len(problems) == before:
            if not projected:
                coords = shapely.get_coordinates(geom)
                if not ((np.abs(coords[:, 0]) <= 180).all() and (np.abs(coords[:, 1]) <= 90).all()):
                    problems.append(
                        f"{where}: coordinates are not lon/lat — GeoJSON must be WGS84, or pass source_crs"
                    )
                    continue
                geom = shapely.transform(
                    geom, lambda c: np.column_stack(lonlat_to_projected(c[:, 0], c[:, 1], crs=crs))
                )
            if not geom.is_valid:
                problems.append(
                    f"{where}: invalid polygon ({shapely.is_valid_reason(geom)}) — repair it "
                    "(e.g. QGIS 'Fix geometries')"
                )
                continue
            rows.append({"name": name, "type": itype, "radius_m": r, "geometry": geom})
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise InputFileError(
            file,
            f"{len(problems)} problem(s) in {len(features)} features: {shown}",
            hint="fix those features and load again",
        )
    if not rows:
        raise InputFileError(file, "no features in the file", hint="add one feature per institution")
    return _register_from_rows(rows, source=file, default_radius_m=default_radius_m)


def read_institutions(path: str | Path, **options: Any) -> InstitutionRegister:
    """Read a register from ``.csv`` or ``.geojson``/``.json`` (see the two readers for options)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return read_institutions_csv(path, **options)
    if suffix in (".geojson", ".json"):
        return read_institutions_geojson(path, **options)
    raise InputFileError(str(path), f"unsupported file type {suffix!r}", hint="give a .csv or .geojson file")


# --------------------------------------------------------------------------- tagging


def _xy(x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    xs = np.asarray(x, dtype=np.float64).ravel()
    ys = np.asarray(y, dtype=np.float64).ravel()
    if xs.shape != ys.shape:
        raise InstitutionInputError(f"x has {xs.size} values and y {ys.size}; give one of each per record.")
    return xs, ys


def _matches(
    register: InstitutionRegister,
    xs: NDArray[np.float64],
    ys: NDArray[np.float64],
    allowed: NDArray[np.bool_],
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Every (point, institution) pair with the point within the radius or inside the polygon."""
    ok = np.flatnonzero(np.isfinite(xs) & np.isfinite(ys))
    rec_parts: list[NDArray[np.intp]] = []
    inst_parts: list[NDArray[np.intp]] = []
    if ok.size == 0 or len(register) == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    pts = shapely.points(xs[ok], ys[ok])
    kind = register.table["kind"].to_numpy(dtype=str)
    point_inst = np.flatnonzero((kind == "point") & allowed)
    if point_inst.size:
        ex = register.table["easting"].to_numpy(dtype=np.float64)[point_inst]
        ny = register.table["northing"].to_numpy(dtype=np.float64)[point_inst]
        radius = register.table["radius_m"].to_numpy(dtype=np.float64)[point_inst]
        tree = shapely.STRtree(shapely.points(ex, ny))
        q_rec, q_inst = tree.query(pts, predicate="dwithin", distance=float(radius.max()))
        dist = np.hypot(xs[ok][q_rec] - ex[q_inst], ys[ok][q_rec] - ny[q_inst])
        hit = dist <= radius[q_inst]
        rec_parts.append(ok[q_rec[hit]])
        inst_parts.append(point_inst[q_inst[hit]])
    poly_inst = np.flatnonzero((kind == "polygon") & allowed)
    if poly_inst.size:
        tree = shapely.STRtree([register.footprints[k] for k in poly_inst])
        q_rec, q_inst = tree.query(pts, predicate="intersects")
        rec_parts.append(ok[q_rec])
        inst_parts.append(poly_inst[q_inst])
    if not rec_parts:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    return np.concatenate(rec_parts).astype(np.intp), np.concatenate(inst_parts).astype(np.intp)


def _best_match(
    register: InstitutionRegister, n: int, rec: NDArray[np.intp], inst: NDArray[np.intp]
) -> NDArray[np.int64]:
    out = np.full(n, -1, dtype=np.int64)
    if rec.size:
        area = register.table["area_m2"].to_numpy(dtype=np.float64)[inst]
        order = np.lexsort((inst, area, rec))  # per record: smallest footprint, then lowest index
        rec_o, inst_o = rec[order], inst[order]
        first = np.r_[True, rec_o[1:] != rec_o[:-1]]
        out[rec_o[first]] = inst_o[first]
    return out


def tag_records(register: InstitutionRegister, x: ArrayLike, y: ArrayLike) -> NDArray[np.int64]:
    """Index (row of ``register.table``) of the institution each point falls in, or −1.

    A point belongs to a point institution when within its radius (``distance ≤ radius_m``,
    exact circle) and to a polygon institution when inside or on its boundary. When several
    match, the smallest footprint wins (the most specific: an A&E inside a hospital site).
    Missing coordinates give −1.

    >>> reg = make_register(pd.DataFrame({"name": ["HMP A", "Custody"], "type": ["prison", "custody_suite"],
    ...                                   "easting": [0.0, 100.0], "northing": [0.0, 0.0]}))
    >>> tag_records(reg, [3.0, 100.0, 60.0, float("nan")], [4.0, 25.0, 0.0, 0.0]).tolist()
    [0, 1, -1, -1]
    """
    xs, ys = _xy(x, y)
    rec, inst = _matches(register, xs, ys, np.ones(len(register), dtype=bool))
    return _best_match(register, xs.size, rec, inst)


# --------------------------------------------------------------------------- shares per place


def _harm_array(harm: ArrayLike, n: int) -> NDArray[np.float64]:
    h = np.asarray(harm, dtype=np.float64).ravel()
    if h.size != n:
        raise InstitutionInputError(f"harm has {h.size} values for {n} records; give one per record.")
    return np.nan_to_num(h, nan=0.0)


def institution_shares(
    cell_ids: ArrayLike,
    inst_ids: ArrayLike,
    harm: ArrayLike,
    *,
    register: InstitutionRegister | None = None,
) -> pd.DataFrame:
    """Per cell: total harm and the institution holding most of it, with its harm and count shares.

    ``top_harm_share = H_inst / H_cell`` and ``top_count_share = N_inst / N_cell`` for the
    institution with the largest harm in the cell (ties: more records, then lower index);
    ``top_institution`` is −1 and both shares 0 when no record in the cell is at an
    institution (``inst_ids`` −1, as from :func:`tag_records`). A missing harm counts 0; a
    cell with zero harm has a NaN harm share. With ``register`` the institution's name and
    type are added.

    >>> institution_shares(["a", "a", "a", "b"], [0, 0, -1, -1], [10.0, 5.0, 5.0, 1.0])[
    ...     ["cell_id", "harm_total", "top_institution", "top_harm_share", "top_count_share"]].values.tolist()
    [['a', 20.0, 0, 0.75, 0.6666666666666666], ['b', 1.0, -1, 0.0, 0.0]]
    """
    cells = np.asarray(cell_ids).ravel()
    insts = np.asarray(inst_ids, dtype=np.int64).ravel()
    if insts.size != cells.size:
        raise InstitutionInputError(f"inst_ids has {insts.size} values for {cells.size} records.")
    h = _harm_array(harm, cells.size)
    frame = pd.DataFrame({"cell_id": cells, "inst": insts, "harm": h})
    per_cell = frame.groupby("cell_id", sort=True).agg(n_records=("harm", "size"), harm_total=("harm", "sum"))
    at_inst = frame[frame["inst"] >= 0]
    per_inst = (
        at_inst.groupby(["cell_id", "inst"], sort=True)
        .agg(top_harm=("harm", "sum"), top_count=("harm", "size"))
        .reset_index()
        .sort_values(["cell_id", "top_harm", "top_count", "inst"], ascending=[True, False, False, True])
        .drop_duplicates("cell_id")
        .set_index("cell_id")
    )
    out = per_cell.join(per_inst, how="left")
    out["top_institution"] = out["inst"].fillna(-1).astype(np.int64)
    out["top_harm"] = out["top_harm"].fillna(0.0)
    out["top_count"] = out["top_count"].fillna(0).astype(np.int64)
    total = out["harm_total"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["top_harm_share"] = np.where(
            total > 0, out["top_harm"].to_numpy(dtype=np.float64) / total, np.nan
        )
    out["top_count_share"] = out["top_count"] / out["n_records"]
    out = out.reset_index()[
        [
            "cell_id",
            "n_records",
            "harm_total",
            "top_institution",
            "top_harm",
            "top_harm_share",
            "top_count",
            "top_count_share",
        ]
    ]
    if register is not None:
        names = register.table["name"].astype(object).to_numpy()
        types = register.table["type"].astype(object).to_numpy()
        idx = out["top_institution"].to_numpy(dtype=np.int64)
        out["top_institution_name"] = pd.Series([names[k] if k >= 0 else pd.NA for k in idx], dtype="string")
        out["top_institution_type"] = pd.Series([types[k] if k >= 0 else pd.NA for k in idx], dtype="string")
    return out


def location_text_keys(text: pd.Series) -> pd.Series:
    """The key two location texts share when they name the same place: stripped, case-folded, runs
    of white space made one space; NA for an empty text. (The screening below groups by it, and
    reports a dominant location by it; a page shows the records' own spelling instead.)

    >>> location_text_keys(pd.Series(["  On or near  HIGH Street", ""])).tolist()
    ['on or near high street', <NA>]
    """
    # each distinct text once (a place's text repeats with each of its records); the white-space
    # pattern runs on Python's ``re`` (pandas: RE2's \s differs), so once per record would cost most
    codes, uniques = pd.factorize(text.astype("string"))
    norm = pd.Series(uniques, dtype="string").str.strip().str.casefold().str.replace(r"\s+", " ", regex=True)
    norm = norm.mask(norm == "", pd.NA)
    return pd.Series(norm.array.take(codes, allow_fill=True), index=text.index, name=text.name)


def _coordinate_keys(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.object_]:
    """Each point as text to the centimetre (``"easting,northing"``), None without both coordinates;
    each distinct point (the same bits) written once, as police.uk repeats a map point many times."""
    bits = np.column_stack([x, y]).astype(np.float64).view(np.int64)
    x_code, x_bits = pd.factorize(bits[:, 0])
    y_code, y_bits = pd.factorize(bits[:, 1])
    point, points = pd.factorize(x_code.astype(np.int64) * len(y_bits) + y_code)
    px = x_bits[points // len(y_bits)].view(np.float64)
    py = y_bits[points % len(y_bits)].view(np.float64)
    text = [
        f"{a:.2f},{b:.2f}" if np.isfinite(a) and np.isfinite(b) else None for a, b in zip(px, py, strict=True)
    ]
    return np.array(text, dtype=object)[point]


def _location_keys(
    x: NDArray[np.float64], y: NDArray[np.float64], location_text: ArrayLike | None
) -> list[tuple[str, NDArray[np.object_]]]:
    # police.uk snaps each crime to one of a fixed set of map points, so identical coordinates
    # mean "the same place"; rounding to the centimetre absorbs projection noise.
    keys = [("coordinates", _coordinate_keys(x, y))]
    if location_text is not None:
        norm = location_text_keys(pd.Series(np.asarray(location_text, dtype=object).ravel()))
        keys.append(("location_text", norm.astype(object).where(norm.notna(), None).to_numpy()))
    return keys


def detect_dominant_locations(
    cell_ids: ArrayLike,
    x: ArrayLike,
    y: ArrayLike,
    harm: ArrayLike,
    *,
    location_text: ArrayLike | None = None,
    threshold: float = DEFAULT_SHARE_THRESHOLD,
    min_events: int = 3,
) -> pd.DataFrame:
    """Single locations holding an outsized share of a place's harm: "possible institution, review".

    For each cell, among locations holding at least ``min_events`` records (one serious crime
    alone is not a pattern) — identical coordinates to the centimetre, and separately the same
    location text, case- and space-insensitive — the one with the most harm is found;
    ``harm_share = H_loc / H_cell``. It is flagged when ``harm_share ≥ threshold``.
    Caveat: police.uk snaps crimes to a few map points, so a small cell may be dominated by
    one point for no institutional reason — hence "review", not exclusion.

    Returns one row per flagged (cell, key type): ``cell_id``, ``key_type``
    (``coordinates`` / ``location_text``), ``location``, ``easting``, ``northing``,
    ``n_records``, ``harm``, ``harm_share``, ``count_share``, ``flag``.

    >>> out = detect_dominant_locations(["c"] * 5, [1.0, 1.0, 1.0, 9.0, 7.0], [2.0] * 5, [10, 10, 10, 5, 5])
    >>> out[["cell_id", "location", "n_records", "harm_share"]].values.tolist()
    [['c', '1.00,2.00', 3, 0.75]]
    """
    cells = np.asarray(cell_ids).ravel()
    xs, ys = _xy(x, y)
    if xs.size != cells.size:
        raise InstitutionInputError(f"x/y have {xs.size} values for {cells.size} records.")
    h = _harm_array(harm, cells.size)
    cell_frame = pd.DataFrame({"cell_id": cells, "harm": h})
    totals = cell_frame.groupby("cell_id").agg(cell_harm=("harm", "sum"), cell_n=("harm", "size"))
    parts = []
    for key_type, key in _location_keys(xs, ys, location_text):
        f = pd.DataFrame({"cell_id": cells, "location": key, "harm": h, "x": xs, "y": ys})
        f = f[f["location"].notna()]
        if f.empty:
            continue
        g = (
            f.groupby(["cell_id", "location"], sort=True)
            .agg(
                n_records=("harm", "size"),
                harm=("harm", "sum"),
                easting=("x", "mean"),
                northing=("y", "mean"),
            )
            .reset_index()
            .loc[lambda frame: frame["n_records"] >= min_events]
            .sort_values(["cell_id", "harm", "n_records", "location"], ascending=[True, False, False, True])
            .drop_duplicates("cell_id")
            .join(totals, on="cell_id")
        )
        g["key_type"] = key_type
        parts.append(g)
    columns = [
        "cell_id",
        "key_type",
        "location",
        "easting",
        "northing",
        "n_records",
        "harm",
        "harm_share",
        "count_share",
        "flag",
    ]
    if not parts:
        return pd.DataFrame(columns=columns)
    top = pd.concat(parts, ignore_index=True)
    cell_harm = top["cell_harm"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        top["harm_share"] = np.where(
            cell_harm > 0, top["harm"].to_numpy(dtype=np.float64) / cell_harm, np.nan
        )
    top["count_share"] = top["n_records"] / top["cell_n"]
    top["flag"] = REVIEW_FLAG
    flagged = top[top["harm_share"] >= threshold]
    return flagged.sort_values(["cell_id", "key_type"]).reset_index(drop=True)[columns]


# --------------------------------------------------------------------------- screening places


@dataclass(frozen=True)
class PlaceScreen:
    """Places split into those kept for patrol and those excluded as institutional.

    ``places`` is every place in the original order (rank) with its figures and an
    ``excluded`` flag and ``reason``; ``kept`` and ``excluded`` are its two parts, so the next
    ranked place moves up when one is excluded. ``review`` lists the dominant single
    locations flagged by :func:`detect_dominant_locations`.
    """

    places: pd.DataFrame
    kept: pd.DataFrame
    excluded: pd.DataFrame
    review: pd.DataFrame
    threshold: float
    dominant_location: str


def screen_places(
    places: pd.DataFrame,
    records: pd.DataFrame,
    *,
    register: InstitutionRegister | None = None,
    place_column: str = "place_id",
    harm_column: str = "harm_days",
    threshold: float = DEFAULT_SHARE_THRESHOLD,
    footprint_types: frozenset[str] = FOOTPRINT_TYPES,
    dominant_location: Literal["exclude", "review", "ignore"] = "review",
    min_events: int = 3,
) -> PlaceScreen:
    """Screen hot places for institutions (docs/methods.md §1.2).

    ``places``: ``place_column``, ``easting``, ``northing`` (the centroid), in rank order.
    ``records``: ``place_column``, ``easting``, ``northing``, ``harm_column`` and optionally
    ``location_text`` and ``institution`` (an index into ``register``; computed with
    :func:`tag_records` when absent). A place is excluded, with its reason, when

    1. one institution holds ``H_inst / H_place ≥ threshold`` of its harm;
    2. its centroid falls inside the footprint of an institution whose type is in
       ``footprint_types`` (prison, custody suite, hospital, A&E, mental-health unit);
    3. with ``dominant_location="exclude"``, one location holds ``≥ threshold`` of its harm
       (at least ``min_events`` records). The default ``"review"`` only flags such places
       (``review`` column), because police.uk's snapping makes single points common.

    >>> reg = make_register(pd.DataFrame({"name": ["HMP A"], "type": ["prison"],
    ...                                   "easting": [0.0], "northing": [0.0], "radius_m": [50.0]}))
    >>> places = pd.DataFrame({"place_id": [1, 2], "easting": [500.0, 1000.0], "northing": [0.0, 0.0]})
    >>> recs = pd.DataFrame({"place_id": [1, 1, 2], "easting": [0.0, 10.0, 1000.0],
    ...                      "northing": [0.0, 0.0, 0.0], "harm_days": [100.0, 50.0, 7.0]})
    >>> s = screen_places(places, recs, register=reg)
    >>> s.kept["place_id"].tolist(), s.excluded["reason"].tolist()
    ([2], ['HMP A (prison) holds 100% of the harm (threshold 50%)'])
    """
    if not 0 < threshold <= 1:
        raise InstitutionInputError(f"threshold is a share of harm in (0, 1], e.g. 0.5; got {threshold}.")
    if dominant_location not in ("exclude", "review", "ignore"):
        raise InstitutionInputError(
            f"dominant_location must be 'exclude', 'review' or 'ignore', got {dominant_location!r}."
        )
    need_p = [c for c in (place_column, "easting", "northing") if c not in places.columns]
    need_r = [c for c in (place_column, "easting", "northing", harm_column) if c not in records.columns]
    if need_p or need_r:
        raise InstitutionInputError(
            f"places lack {need_p} and records lack {need_r}; places need the centroid easting/northing and "
            "records need harm (rasure.harm.harm_days)."
        )
    unknown = sorted(set(footprint_types) - INSTITUTION_TYPES)
    if unknown:
        raise InstitutionInputError(
            f"footprint_types {unknown} are not institution types {sorted(INSTITUTION_TYPES)}."
        )
    if register is None:
        register = make_register(pd.DataFrame({"name": [], "type": [], "easting": [], "northing": []}))
    rx = records["easting"].to_numpy(dtype=np.float64)
    ry = records["northing"].to_numpy(dtype=np.float64)
    if "institution" in records.columns:
        inst = records["institution"].fillna(-1).to_numpy(dtype=np.int64)
    else:
        inst = tag_records(register, rx, ry)
    rec_place = records[place_column].to_numpy()
    shares = institution_shares(
        rec_place, inst, records[harm_column].to_numpy(dtype=np.float64), register=register
    )

    out = places.copy().reset_index(drop=True)
    out = out.merge(
        shares.rename(columns={"cell_id": place_column}), on=place_column, how="left", validate="one_to_one"
    )
    out["n_records"] = out["n_records"].fillna(0).astype(np.int64)
    out["harm_total"] = out["harm_total"].fillna(0.0)
    out["top_institution"] = out["top_institution"].fillna(-1).astype(np.int64)
    names = register.table["name"].astype(object).to_numpy()
    types = register.table["type"].astype(object).to_numpy()

    # rule 2: centroid inside a footprint of the listed types
    allowed = register.table["type"].isin(sorted(footprint_types)).to_numpy(dtype=bool)
    cx = out["easting"].to_numpy(dtype=np.float64)
    cy = out["northing"].to_numpy(dtype=np.float64)
    c_rec, c_inst = _matches(register, cx, cy, allowed)
    centroid_in = _best_match(register, len(out), c_rec, c_inst)
    out["centroid_in"] = pd.Series([names[k] if k >= 0 else pd.NA for k in centroid_in], dtype="string")

    # rule 3: a dominant single location
    loc_text = records["location_text"].to_numpy() if "location_text" in records.columns else None
    review = detect_dominant_locations(
        rec_place,
        rx,
        ry,
        records[harm_column].to_numpy(dtype=np.float64),
        location_text=loc_text,
        threshold=threshold,
        min_events=min_events,
    )
    if dominant_location == "ignore":
        review = review.iloc[0:0]
    best_loc = review.sort_values(["cell_id", "harm_share"], ascending=[True, False]).drop_duplicates(
        "cell_id"
    )
    loc_by_place = best_loc.set_index("cell_id")
    out["dominant_location"] = out[place_column].map(loc_by_place["location"]) if len(loc_by_place) else None
    out["location_harm_share"] = (
        out[place_column].map(loc_by_place["harm_share"]).astype(float) if len(loc_by_place) else np.nan
    )
    out["review"] = out["dominant_location"].notna()

    top_inst = out["top_institution"].to_numpy(dtype=np.int64)
    top_share = out["top_harm_share"].to_numpy(dtype=np.float64, na_value=np.nan)
    flagged = out["review"].to_numpy(dtype=bool)
    loc_name = out["dominant_location"].to_numpy(dtype=object)
    loc_share = out["location_harm_share"].to_numpy(dtype=np.float64, na_value=np.nan)
    reasons: list[str] = []
    for p in range(len(out)):
        why = []
        k = int(top_inst[p])
        if k >= 0 and top_share[p] >= threshold:
            why.append(
                f"{names[k]} ({types[k]}) holds {top_share[p]:.0%} of the harm (threshold {threshold:.0%})"
            )
        c = int(centroid_in[p])
        if c >= 0:
            why.append(f"centroid inside the footprint of {names[c]} ({types[c]})")
        if dominant_location == "exclude" and flagged[p]:
            why.append(f"one location ({loc_name[p]}) holds {loc_share[p]:.0%} of the harm: {REVIEW_FLAG}")
        reasons.append("; ".join(why))
    excluded = [bool(r) for r in reasons]
    out["excluded"] = excluded
    out["reason"] = reasons
    return PlaceScreen(
        places=out,
        kept=out[~out["excluded"]].reset_index(drop=True),
        excluded=out[out["excluded"]].reset_index(drop=True),
        review=review.reset_index(drop=True),
        threshold=threshold,
        dominant_location=dominant_location,
    )


def institution_totals(register: InstitutionRegister, inst_ids: ArrayLike, harm: ArrayLike) -> pd.DataFrame:
    """Hot-institutions panel: records and harm per institution, busiest first, with shares of the
    institutional total and the cumulative share curve (docs/methods.md §1.2 step 4).

    >>> reg = make_register(pd.DataFrame({"name": ["A", "B"], "type": ["prison", "hospital"],
    ...                                   "easting": [0.0, 500.0], "northing": [0.0, 0.0]}))
    >>> institution_totals(reg, [0, 1, 1, -1], [1.0, 5.0, 4.0, 3.0])[["name", "n_records", "harm_share"]].values.tolist()
    [['B', 2, 0.9], ['A', 1, 0.1]]
    """
    insts = np.asarray(inst_ids, dtype=np.int64).ravel()
    h = _harm_array(harm, insts.size)
    at = insts >= 0
    if (insts >= len(register)).any():
        raise InstitutionInputError(
            "inst_ids refer to institutions not in the register; tag with this register."
        )
    n = np.bincount(insts[at], minlength=len(register))
    hh = np.bincount(insts[at], weights=h[at], minlength=len(register))
    out = register.table[["name", "type"]].copy()
    out["institution"] = np.arange(len(register))
    out["n_records"] = n
    out["harm"] = hh
    total = hh.sum()
    out["harm_share"] = hh / total if total > 0 else np.nan
    out = out.sort_values(["harm", "n_records", "institution"], ascending=[False, False, True]).reset_index(
        drop=True
    )
    out["cumulative_harm_share"] = out["harm_share"].cumsum()
    return out
