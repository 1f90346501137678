"""A force's own boundaries: local policing areas, neighbourhoods and LSOAs from a file.

:func:`read_areas` reads GeoJSON, GeoPackage or Shapefile (through ``pyogrio``, the maintained
GDAL reader) in whatever CRS the file declares and returns the areas in the force's projected
CRS (metres). :func:`read_lookup` reads a code -> parent table (e.g. ONS LSOA -> local authority)
so areas loaded without a parent field can be put under their LPA.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from rasure.errors import InputFileError
from rasure.geo import BNG, WGS84, outside_area_of_use, transformer

#: Field names tried, in order, when ``code_field`` / ``name_field`` are not given (ONS style first).
_CODE_GUESS = ("code", "area_code", "id")
_NAME_GUESS = ("name", "area_name")


@dataclass(frozen=True)
class AreaFile:
    """Areas read from a file: ``frame`` has ``code``, ``name``, ``parent_code`` (or NA) and
    ``geometry`` (shapely, in ``crs`` metres)."""

    frame: pd.DataFrame
    path: str
    source_crs: str
    crs: str


def _guess(fields: list[str], explicit: str | None, guesses: tuple[str, ...], suffix: str) -> str | None:
    if explicit:
        return explicit
    lower = {f.lower(): f for f in fields}
    for g in guesses:
        if g in lower:
            return lower[g]
    ons = [f for f in fields if f.upper().endswith(suffix)]  # ONS: LSOA11CD, LSOA11NM, LAD19CD ...
    return ons[0] if ons else None


def read_areas(
    path: str | Path,
    *,
    code_field: str | None = None,
    name_field: str | None = None,
    parent_field: str | None = None,
    crs: str = BNG,
) -> AreaFile:
    """Read polygons from a GeoJSON, GeoPackage or Shapefile and project them to ``crs``.

    A file with no CRS is refused (its coordinates cannot be placed), as is one with a polygon that
    reaches outside the published area of use of ``crs`` (there its metres are no longer true
    metres; the same rule as for a crime's point). Codes must be unique and non-empty; every problem
    names the file, the feature and the field.
    """
    import pyogrio
    from pyogrio.errors import DataSourceError

    p = Path(path)
    if not p.exists():
        raise InputFileError(str(p), "file not found", hint="give the path of a .geojson, .gpkg or .shp file")
    try:
        info = pyogrio.read_info(p)
        _meta, _fids, wkb, field_data = pyogrio.raw.read(p)
    except DataSourceError as exc:
        raise InputFileError(
            str(p),
            f"cannot be read as a boundary file ({exc})",
            hint="give a GeoJSON, GeoPackage or Shapefile",
        ) from exc
    fields = [str(f) for f in info["fields"]]
    code_col = _guess(fields, code_field, _CODE_GUESS, "CD")
    name_col = _guess(fields, name_field, _NAME_GUESS, "NM")
    for what, col in (("code", code_col), ("name", name_col), ("parent", parent_field)):
        if col is not None and col not in fields:
            raise InputFileError(
                str(p),
                f"no field {col!r} for the area {what}; fields are {fields}",
                hint=f"pass --{what}-field",
            )
    if code_col is None:
        raise InputFileError(
            str(p), f"no area-code field found among {fields}", hint="pass --code-field NAME"
        )
    src_crs = info.get("crs")
    if not src_crs:
        raise InputFileError(
            str(p), "the file does not say which coordinate system it is in", hint="save it with a CRS (.prj)"
        )
    values = dict(zip(fields, field_data, strict=True))
    codes = pd.Series(values[code_col], dtype="string").str.strip()
    names = pd.Series(values[name_col], dtype="string").str.strip() if name_col else codes
    parents = (
        pd.Series(values[parent_field], dtype="string").str.strip()
        if parent_field
        else pd.Series(pd.NA, index=codes.index, dtype="string")
    )
    geoms = shapely.from_wkb(wkb)
    bad = codes.isna() | (codes == "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputFileError(
            str(p), f"feature {i + 1} has an empty {code_col!r}", hint="every area needs a code"
        )
    dup = codes[codes.duplicated()]
    if len(dup):
        raise InputFileError(
            str(p),
            f"area code {dup.iloc[0]!r} appears more than once in field {code_col!r}",
            hint="codes must be unique",
        )
    kinds = shapely.get_type_id(geoms)
    not_poly = ~np.isin(kinds, (3, 6))  # Polygon, MultiPolygon
    if not_poly.any():
        i = int(np.flatnonzero(not_poly)[0])
        raise InputFileError(
            str(p), f"feature {i + 1} ({codes.iloc[i]}) is not a polygon", hint="areas must be polygons"
        )
    _refuse_outside_area_of_use(p, geoms, codes, code_col, str(src_crs), crs)
    t = transformer(str(src_crs), crs)
    projected = shapely.make_valid(
        shapely.transform(geoms, lambda x, y: t.transform(x, y), interleaved=False)
    )
    frame = pd.DataFrame(
        {"code": codes, "name": names.fillna(codes), "parent_code": parents, "geometry": projected}
    )
    return AreaFile(frame=frame, path=str(p), source_crs=str(src_crs), crs=crs)


def _refuse_outside_area_of_use(
    path: Path, geoms: NDArray[np.object_], codes: pd.Series, code_col: str, src_crs: str, crs: str
) -> None:
    """InputFileError naming the first feature with a vertex outside the area of use of ``crs``."""
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    if not len(coords):
        return
    lon, lat = transformer(src_crs, WGS84).transform(coords[:, 0], coords[:, 1])
    outside = outside_area_of_use(crs, np.asarray(lon, float), np.asarray(lat, float))
    if not outside.any():
        return
    k = int(np.flatnonzero(outside)[0])
    i = int(index[k])
    raise InputFileError(
        str(path),
        f"feature {i + 1} ({code_col} {codes.iloc[i]}): its polygon (field geometry) reaches outside the "
        f"area of use of {crs}, the force's CRS (a corner at lon {float(lon[k]):.5f}, lat "
        f"{float(lat[k]):.5f}); nothing was loaded",
        hint="load the boundaries of this force's own area, or set the force's CRS to one that covers it "
        "(rasure force add CODE --crs)",
    )


def read_lookup(
    path: str | Path, *, code_field: str, parent_field: str, parent_name_field: str | None = None
) -> pd.DataFrame:
    """A code -> parent table from CSV (``code``, ``parent_code``, ``parent_name``), one row per code.

    A code given two different parents is an error naming the line.
    """
    p = Path(path)
    try:
        frame = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InputFileError(str(p), "file not found") from exc
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputFileError(
            str(p), f"not a readable UTF-8 CSV ({exc})", hint="save it as 'CSV UTF-8'"
        ) from exc
    frame.columns = [c.strip() for c in frame.columns]
    for col in (code_field, parent_field, parent_name_field):
        if col and col not in frame.columns:
            raise InputFileError(
                str(p),
                f"no column {col!r}; columns are {list(frame.columns)}",
                line=1,
                hint="check --code-field / --parent-field",
            )
    out = pd.DataFrame(
        {
            "code": frame[code_field].str.strip(),
            "parent_code": frame[parent_field].str.strip(),
            "parent_name": frame[parent_name_field].str.strip()
            if parent_name_field
            else frame[parent_field].str.strip(),
        }
    )
    out = out[(out["code"] != "") & (out["parent_code"] != "")]
    twice = out.drop_duplicates(["code", "parent_code"])
    clash = twice[twice["code"].duplicated(keep=False)]
    if len(clash):
        line = int(clash.index[1]) + 2
        raise InputFileError(
            str(p), f"code {clash['code'].iloc[0]!r} has two parents", line=line, hint="one parent per code"
        )
    return twice.reset_index(drop=True)


def dissolve(geoms: list[shapely.Geometry]) -> shapely.Geometry:
    """The union of child areas (an LPA drawn from its LSOAs), made valid."""
    return shapely.make_valid(shapely.union_all(np.array(geoms, dtype=object)))


def containing(
    areas: list[tuple[str, shapely.Geometry]], x: NDArray[np.float64], y: NDArray[np.float64]
) -> list[str]:
    """For each point, the code of the first area containing it, or ``""``."""
    out = [""] * len(x)
    if not areas or not len(x):
        return out
    tree = shapely.STRtree([g for _, g in areas])
    pts, hit = tree.query(shapely.points(np.asarray(x, float), np.asarray(y, float)), predicate="within")
    for pt, a in zip(pts, hit, strict=True):
        if not out[int(pt)]:
            out[int(pt)] = areas[int(a)][0]
    return out
