"""Coordinate conversion. All distance work is done in a projected CRS in metres.

The default is the British National Grid (EPSG:27700); a force elsewhere sets its
own projected CRS. Longitude/latitude (WGS84, EPSG:4326) is converted once, at ingest.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from rasure.errors import ConfigError

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"

#: British National Grid valid extent (OS), metres. Anything outside is not in Great Britain.
BNG_BOUNDS = (0.0, 0.0, 700_000.0, 1_300_000.0)


@lru_cache(maxsize=8)
def transformer(src: str, dst: str) -> Transformer:
    """A cached lon/lat-order (``always_xy``) transformer between two CRSs."""
    return Transformer.from_crs(src, dst, always_xy=True)


def projected_crs(code: str) -> str:
    """Check that ``code`` (e.g. ``EPSG:32616`` or ``32616``) is a projected CRS in metres, so that
    cell sizes and distances mean metres; returns it as ``EPSG:n`` / the given string.

    >>> projected_crs("27700")
    'EPSG:27700'
    """
    text = f"EPSG:{code}" if str(code).strip().isdigit() else str(code).strip()
    try:
        crs = CRS.from_user_input(text)
    except CRSError as exc:
        raise ConfigError(f"--crs {code}: not a coordinate system pyproj knows ({exc}).") from exc
    unit = crs.axis_info[0].unit_name if crs.axis_info else ""
    if not crs.is_projected or unit not in ("metre", "meter"):
        raise ConfigError(
            f"--crs {code}: {crs.name} is not a projected coordinate system in metres (unit {unit!r}); "
            "give the force's projected CRS, e.g. EPSG:27700 (British National Grid) or a UTM zone."
        )
    return text


def outside_area_of_use(crs: str, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.bool_]:
    """True for each lon/lat point outside the CRS's published area of use (pyproj), where its
    distances are no longer true metres. A CRS without an area of use accepts every point."""
    area = CRS.from_user_input(crs).area_of_use
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if area is None:
        return np.zeros(lon.shape, dtype=bool)
    w, s, e, n = area.bounds
    # a box whose west edge is east of its east edge crosses the antimeridian
    in_lon = (lon >= w) & (lon <= e) if w <= e else (lon >= w) | (lon <= e)
    return ~(in_lon & (lat >= s) & (lat <= n))


def lonlat_to_projected(
    lon: NDArray[np.float64], lat: NDArray[np.float64], *, crs: str = BNG
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert WGS84 lon/lat (degrees) to a projected CRS in metres (default BNG).

    >>> e, n = lonlat_to_projected(np.array([-0.1276]), np.array([51.5072]))
    >>> round(float(e[0]), -1), round(float(n[0]), -1)
    (530040.0, 180360.0)
    """
    x, y = transformer(WGS84, crs).transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def projected_to_lonlat(
    x: NDArray[np.float64], y: NDArray[np.float64], *, crs: str = BNG
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert projected metres (default BNG) to WGS84 lon/lat degrees."""
    lon, lat = transformer(crs, WGS84).transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def reproject(
    x: NDArray[np.float64], y: NDArray[np.float64], *, src: str, dst: str = BNG
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert coordinates between two CRSs (e.g. a force's local grid to BNG)."""
    a, b = transformer(src, dst).transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
