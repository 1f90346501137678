"""Coordinate conversion. All distance work is done in a projected CRS in metres.

The default is the British National Grid (EPSG:27700); a force elsewhere sets its
own projected CRS. Longitude/latitude (WGS84, EPSG:4326) is converted once, at ingest.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from pyproj import Transformer

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"

#: British National Grid valid extent (OS), metres. Anything outside is not in Great Britain.
BNG_BOUNDS = (0.0, 0.0, 700_000.0, 1_300_000.0)


@lru_cache(maxsize=8)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def lonlat_to_projected(
    lon: NDArray[np.float64], lat: NDArray[np.float64], *, crs: str = BNG
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert WGS84 lon/lat (degrees) to a projected CRS in metres (default BNG).

    >>> e, n = lonlat_to_projected(np.array([-0.1276]), np.array([51.5072]))
    >>> round(float(e[0]), -1), round(float(n[0]), -1)
    (530040.0, 180360.0)
    """
    x, y = _transformer(WGS84, crs).transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def projected_to_lonlat(
    x: NDArray[np.float64], y: NDArray[np.float64], *, crs: str = BNG
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert projected metres (default BNG) to WGS84 lon/lat degrees."""
    lon, lat = _transformer(crs, WGS84).transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def reproject(
    x: NDArray[np.float64], y: NDArray[np.float64], *, src: str, dst: str = BNG
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert coordinates between two CRSs (e.g. a force's local grid to BNG)."""
    a, b = _transformer(src, dst).transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
