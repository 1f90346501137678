"""Places: square and hexagonal grid cells, polygon layers, and counts per place.

Every place unit of docs/methods.md §1.1 and §8 lives here: 150 m squares (Essex, West Midlands),
hexagons of about 0.04 km² (Thames Valley), and polygons such as LSOAs (Bedfordshire). All
coordinates are projected metres (British National Grid by default); nothing here works in
longitude/latitude.

Cell ids are plain ``int64`` (``row * n_cols + col``), so binning millions of points is a
couple of vectorised numpy passes and a patrol app can look a ping up by id (a cell-id lookup
of 1 M pings took 8.5 ms on a 2-core machine, a shapely spatial index 564 ms). Build the grid
once for the whole study area (``grid_for_bounds``) and reuse it, so a cell id means the same place
in every time window.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import shape as geojson_shape
from shapely.strtree import STRtree

from rasure.errors import InputFileError, RasureError
from rasure.geo import BNG, lonlat_to_projected

CellShape = Literal["square", "hex"]
HexOrientation = Literal["pointy", "flat"]

_SQRT3 = math.sqrt(3.0)
#: Sizes are compared with this relative slack, so a neighbour exactly on a distance band counts.
_REL_EPS = 1e-9


class HotspotInputError(RasureError, ValueError):
    """An argument given to a hot-spot function is unusable (wrong shape, out of range, empty).

    The message says which argument and how to fix it. Subclasses ``ValueError`` too, so code
    that already catches ``ValueError`` keeps working.
    """


@dataclass(frozen=True)
class Grid:
    """A regular lattice of square or hexagonal cells in projected metres.

    ``shape="square"``: ``(x0, y0)`` is the south-west corner of cell ``(col 0, row 0)``;
    ``cell_size_m`` is the side. Column ``col`` runs east, row ``row`` runs north.

    ``shape="hex"``: ``cell_size_m`` is the hexagon's side (= circumradius ``s``), so the area
    is ``(3·√3/2)·s²``. ``(x0, y0)`` is the centre of hexagon ``(col 0, row 0)``. Pointy-top
    hexagons are laid out in "odd-r" offset rows (Red Blob Games' hexagon guide): rows are
    ``1.5·s`` apart northwards and odd rows are shifted ``√3·s/2`` east. Flat-top hexagons are the
    same lattice mirrored in the line ``x = y``: their "rows" run east and their "columns" run
    north.

    Cell id = ``row * n_cols + col``; ``-1`` means "no cell" (missing or out-of-grid point).
    """

    x0: float
    y0: float
    cell_size_m: float
    shape: CellShape
    n_cols: int
    n_rows: int
    orientation: HexOrientation = "pointy"

    @property
    def n_cells(self) -> int:
        return self.n_cols * self.n_rows

    @property
    def cell_area_m2(self) -> float:
        """Area of one cell: ``s²`` for squares, ``(3·√3/2)·s²`` for hexagons."""
        s = self.cell_size_m
        return s * s if self.shape == "square" else 1.5 * _SQRT3 * s * s


def hex_side_for_area(area_m2: float) -> float:
    """Side (circumradius) of the regular hexagon with the given area: ``s = √(2A / (3·√3))``.

    >>> round(hex_side_for_area(40_000), 2)
    124.08
    """
    if not (area_m2 > 0 and math.isfinite(area_m2)):
        raise HotspotInputError(f"hex_area_m2 must be a positive number of square metres, got {area_m2!r}")
    return math.sqrt(2.0 * area_m2 / (3.0 * _SQRT3))


def _check_positive(name: str, value: float) -> float:
    v = float(value)
    if not (v > 0 and math.isfinite(v)):
        raise HotspotInputError(f"{name} must be a positive finite number of metres, got {value!r}")
    return v


def _as_float_array(name: str, values: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise HotspotInputError(f"{name} must be one-dimensional, got an array of shape {arr.shape}")
    return arr


def grid_for_bounds(
    bounds: tuple[float, float, float, float],
    *,
    cell_size_m: float = 150.0,
    shape: CellShape = "square",
    hex_area_m2: float | None = None,
    orientation: HexOrientation = "pointy",
) -> Grid:
    """A grid covering ``bounds = (xmin, ymin, xmax, ymax)`` in metres.

    The origin is snapped to a multiple of the lattice spacing (the cell size for squares;
    ``√3·s`` and ``3·s`` for hexagons), so two grids with the same cell size share cell
    boundaries. For hexagons give either ``hex_area_m2`` (TVP used about 40,000 m²) or
    ``cell_size_m`` as the hexagon side.

    >>> g = grid_for_bounds((1000.0, 2000.0, 1400.0, 2290.0), cell_size_m=150)
    >>> (g.x0, g.y0, g.n_cols, g.n_rows)
    (900.0, 1950.0, 4, 3)
    >>> h = grid_for_bounds((0.0, 0.0, 1000.0, 1000.0), shape="hex", hex_area_m2=40_000)
    >>> round(h.cell_area_m2)
    40000
    """
    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    if not all(math.isfinite(b) for b in (xmin, ymin, xmax, ymax)) or xmax < xmin or ymax < ymin:
        raise HotspotInputError(
            f"bounds must be finite (xmin, ymin, xmax, ymax) with xmin <= xmax and ymin <= ymax, got {bounds!r}"
        )
    if shape == "square":
        s = _check_positive("cell_size_m", cell_size_m)
        x0 = math.floor(xmin / s) * s
        y0 = math.floor(ymin / s) * s
        n_cols = math.floor((xmax - x0) / s) + 1
        n_rows = math.floor((ymax - y0) / s) + 1
        return Grid(x0, y0, s, "square", n_cols, n_rows)
    if shape != "hex":
        raise HotspotInputError(f"shape must be 'square' or 'hex', got {shape!r}")
    if orientation not in ("pointy", "flat"):
        raise HotspotInputError(f"orientation must be 'pointy' or 'flat', got {orientation!r}")
    s = (
        hex_side_for_area(hex_area_m2)
        if hex_area_m2 is not None
        else _check_positive("cell_size_m", cell_size_m)
    )
    # Work in the internal pointy-top frame (u, v); flat-top swaps the axes.
    umin, vmin, umax, vmax = (xmin, ymin, xmax, ymax) if orientation == "pointy" else (ymin, xmin, ymax, xmax)
    dx = _SQRT3 * s
    # A point's hexagon centre is within √3·s/2 across and s along the rows; the origin row is
    # kept even (a multiple of 3·s = two rows) so the odd-row shift never changes with the data.
    u0 = math.floor((umin - dx / 2) / dx) * dx
    v0 = math.floor((vmin - s) / (3 * s)) * (3 * s)
    n_cols = math.floor((umax + dx / 2 - u0) / dx) + 1
    n_rows = math.floor((vmax + s - v0) / (1.5 * s)) + 1
    x0, y0 = (u0, v0) if orientation == "pointy" else (v0, u0)
    return Grid(x0, y0, s, "hex", n_cols, n_rows, orientation)


def grid_for(
    x: ArrayLike,
    y: ArrayLike,
    *,
    cell_size_m: float = 150.0,
    shape: CellShape = "square",
    hex_area_m2: float | None = None,
    orientation: HexOrientation = "pointy",
) -> Grid:
    """A grid covering the points' bounding box (missing coordinates ignored).

    Prefer :func:`grid_for_bounds` with the study area's fixed bounds when comparing time
    windows, so that cell ids do not depend on which points happen to be in a window.

    >>> g = grid_for([0.0, 310.0], [0.0, 10.0], cell_size_m=150)
    >>> (g.n_cols, g.n_rows, g.n_cells)
    (3, 1, 3)
    """
    xa = _as_float_array("x", x)
    ya = _as_float_array("y", y)
    ok = np.isfinite(xa) & np.isfinite(ya)
    if not ok.any():
        raise HotspotInputError(
            "no point has finite coordinates, so there is nothing to build a grid over; "
            "check that easting/northing are filled in (records without a location are kept off maps)"
        )
    bounds = (float(xa[ok].min()), float(ya[ok].min()), float(xa[ok].max()), float(ya[ok].max()))
    return grid_for_bounds(
        bounds, cell_size_m=cell_size_m, shape=shape, hex_area_m2=hex_area_m2, orientation=orientation
    )


def _internal(grid: Grid, x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[Any, Any, Any, Any]:
    """(u, v, u0, v0): coordinates in the pointy-top frame (flat-top swaps x and y)."""
    if grid.shape == "hex" and grid.orientation == "flat":
        return y, x, grid.y0, grid.x0
    return x, y, grid.x0, grid.y0


def _hex_axial(
    u: NDArray[np.float64], v: NDArray[np.float64], s: float
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Nearest hexagon centre in axial (q, r) by cube rounding (exact; hexagons are the Voronoi
    cells of their centres). Pointy-top with centre(q, r) = (√3·s·(q + r/2), 1.5·s·r)."""
    qf = (_SQRT3 / 3.0 * u - v / 3.0) / s
    rf = (2.0 / 3.0 * v) / s
    sf = -qf - rf
    q = np.rint(qf)
    r = np.rint(rf)
    s_ = np.rint(sf)
    dq = np.abs(q - qf)
    dr = np.abs(r - rf)
    ds = np.abs(s_ - sf)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    q = np.where(fix_q, -r - s_, q)
    r = np.where(fix_r, -q - s_, r)
    return q.astype(np.int64), r.astype(np.int64)


def _axial_to_offset(
    q: NDArray[np.int64], r: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    return q + (r - (r & 1)) // 2, r


def _offset_to_axial(
    col: NDArray[np.int64], row: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    return col - (row - (row & 1)) // 2, row


#: Points binned per pass: the temporaries of a chunk stay in the processor's cache.
_CHUNK = 1 << 16


def _square_ids(grid: Grid, x: NDArray[np.float64], y: NDArray[np.float64], out: NDArray[np.int64]) -> None:
    """Square cell ids of one chunk into ``out``, in floating point and in place: NaN and ±inf fail
    the range tests by themselves, so no mask of finite values and no integer temporaries."""
    s = grid.cell_size_m
    col = np.subtract(x, grid.x0)
    col /= s
    np.floor(col, out=col)
    row = np.subtract(y, grid.y0)
    row /= s
    np.floor(row, out=row)
    inside = col >= 0
    inside &= col < grid.n_cols
    inside &= row >= 0
    inside &= row < grid.n_rows
    row *= grid.n_cols
    row += col  # exact: cell ids are far below 2**53
    np.copyto(out, row, casting="unsafe", where=inside)
    np.copyto(out, -1, where=~inside)


def assign_cells(grid: Grid, x: ArrayLike, y: ArrayLike) -> NDArray[np.int64]:
    """Cell id of each point; ``-1`` for missing coordinates or points outside the grid.

    Squares: ``col = ⌊(x − x0)/s⌋``, ``row = ⌊(y − y0)/s⌋`` (a point on a shared edge goes to
    the cell to its north/east). Hexagons: the hexagon whose centre is nearest, found by cube
    rounding of axial coordinates (fully vectorised, no loop per point).

    >>> g = grid_for_bounds((0.0, 0.0, 299.0, 299.0), cell_size_m=150)
    >>> assign_cells(g, [10.0, 160.0, 10.0, float("nan")], [10.0, 10.0, 160.0, 0.0]).tolist()
    [0, 1, 2, -1]
    """
    xa = _as_float_array("x", x)
    ya = _as_float_array("y", y)
    if xa.shape != ya.shape:
        raise HotspotInputError(f"x and y must have the same length, got {xa.size} and {ya.size}")
    s = grid.cell_size_m
    if grid.shape == "square":
        out = np.empty(xa.size, dtype=np.int64)
        for start in range(0, xa.size, _CHUNK):
            stop = min(start + _CHUNK, xa.size)
            _square_ids(grid, xa[start:stop], ya[start:stop], out[start:stop])
        return out
    ok = np.isfinite(xa) & np.isfinite(ya)
    u, v, u0, v0 = _internal(grid, np.where(ok, xa, 0.0), np.where(ok, ya, 0.0))
    q, r = _hex_axial(u - u0, v - v0, s)
    col, row = _axial_to_offset(q, r)
    inside = ok & (col >= 0) & (col < grid.n_cols) & (row >= 0) & (row < grid.n_rows)
    return np.where(inside, row * grid.n_cols + col, -1).astype(np.int64)


def _ids_array(grid: Grid, ids: ArrayLike) -> NDArray[np.int64]:
    arr = np.asarray(ids)
    if arr.ndim != 1 or not (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)):
        raise HotspotInputError("cell ids must be a one-dimensional array of integers (from assign_cells)")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= grid.n_cells):
        raise HotspotInputError(
            f"cell ids must be between 0 and {grid.n_cells - 1} for this grid; drop the -1 ids of "
            "unplaced points first, and use the same Grid the ids were assigned with"
        )
    return arr


def _centres_internal(grid: Grid, ids: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    col = ids % grid.n_cols
    row = ids // grid.n_cols
    s = grid.cell_size_m
    if grid.shape == "square":
        u = grid.x0 + (col + 0.5) * s
        v = grid.y0 + (row + 0.5) * s
    else:
        _, _, u0, v0 = _internal(grid, np.empty(0), np.empty(0))
        u = u0 + _SQRT3 * s * (col + 0.5 * (row & 1))
        v = v0 + 1.5 * s * row
    return np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)


def cell_centres(grid: Grid, ids: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Centre ``(x, y)`` in metres of each cell id.

    >>> g = grid_for_bounds((0.0, 0.0, 299.0, 299.0), cell_size_m=150)
    >>> [a.tolist() for a in cell_centres(g, [0, 3])]
    [[75.0, 225.0], [75.0, 225.0]]
    """
    arr = _ids_array(grid, ids)
    u, v = _centres_internal(grid, arr)
    if grid.shape == "hex" and grid.orientation == "flat":
        return v, u
    return u, v


def cell_polygons(grid: Grid, ids: ArrayLike) -> list[shapely.Polygon]:
    """The outline (geofence) of each cell as a shapely Polygon, in the grid's metres.

    >>> g = grid_for_bounds((0.0, 0.0, 10.0, 10.0), cell_size_m=150)
    >>> cell_polygons(g, [0])[0].area
    22500.0
    """
    arr = _ids_array(grid, ids)
    cx, cy = cell_centres(grid, arr)
    s = grid.cell_size_m
    if grid.shape == "square":
        half = s / 2.0
        return cast(list[shapely.Polygon], shapely.box(cx - half, cy - half, cx + half, cy + half).tolist())
    start = 30.0 if grid.orientation == "pointy" else 0.0
    angles = np.deg2rad(start + 60.0 * np.arange(7))  # 7th vertex closes the ring
    ring = np.stack([cx[:, None] + s * np.cos(angles), cy[:, None] + s * np.sin(angles)], axis=-1)
    return cast(list[shapely.Polygon], shapely.polygons(ring).tolist())


def all_cells(grid: Grid) -> NDArray[np.int64]:
    """Every cell id of the grid, ``0 … n_cells − 1``.

    >>> all_cells(grid_for_bounds((0.0, 0.0, 200.0, 100.0), cell_size_m=150)).tolist()
    [0, 1]
    """
    return np.arange(grid.n_cells, dtype=np.int64)


def cells_within(grid: Grid, region: shapely.Geometry) -> NDArray[np.int64]:
    """Ids of the cells whose centre lies inside ``region`` (e.g. the force boundary), ascending.

    Use these, zeros included, as the places for Gi* and concentration, rather than only the
    occupied cells: dropping empty cells biases both.

    >>> g = grid_for_bounds((0.0, 0.0, 449.0, 449.0), cell_size_m=150)
    >>> cells_within(g, shapely.box(0, 0, 300, 150)).tolist()
    [0, 1]
    """
    ids = all_cells(grid)
    cx, cy = cell_centres(grid, ids)
    inside = np.asarray(shapely.contains_xy(region, cx, cy), dtype=bool)
    out: NDArray[np.int64] = ids[inside]
    return out


def _neighbour_offsets(grid: Grid, contiguity: str, distance_band_m: float | None) -> NDArray[np.int64]:
    """(k, 2) integer offsets: (dcol, drow) for squares, axial (dq, dr) for hexagons."""
    s = grid.cell_size_m
    if grid.shape == "square":
        if distance_band_m is None:
            if contiguity not in ("queen", "rook"):
                raise HotspotInputError(f"contiguity must be 'queen' or 'rook', got {contiguity!r}")
            span = np.arange(-1, 2)
            dc, dr = (a.ravel() for a in np.meshgrid(span, span))
            keep = (np.maximum(abs(dc), abs(dr)) == 1) if contiguity == "queen" else (abs(dc) + abs(dr) == 1)
        else:
            band = _check_positive("distance_band_m", distance_band_m)
            m = math.ceil(band / s)
            span = np.arange(-m, m + 1)
            dc, dr = (a.ravel() for a in np.meshgrid(span, span))
            dist = s * np.hypot(dc, dr)
            keep = (dist <= band * (1 + _REL_EPS)) & ((dc != 0) | (dr != 0))
        return np.stack([dc[keep], dr[keep]], axis=1).astype(np.int64)
    # Hexagons: centre distance for an axial step (dq, dr) is √3·s·√(dq² + dq·dr + dr²).
    band = _SQRT3 * s if distance_band_m is None else _check_positive("distance_band_m", distance_band_m)
    m = math.ceil(2 * band / (_SQRT3 * s)) + 1
    span = np.arange(-m, m + 1)
    dq, dr = (a.ravel() for a in np.meshgrid(span, span))
    dist = _SQRT3 * s * np.sqrt(dq * dq + dq * dr + dr * dr)
    keep = (dist <= band * (1 + _REL_EPS)) & ((dq != 0) | (dr != 0))
    return np.stack([dq[keep], dr[keep]], axis=1).astype(np.int64)


def cell_weights(
    grid: Grid,
    ids: ArrayLike,
    *,
    contiguity: Literal["queen", "rook"] = "queen",
    distance_band_m: float | None = None,
    include_self: bool = False,
) -> sp.csr_array:
    """Binary spatial weights between the given cells, as an ``n × n`` scipy CSR array.

    Row and column ``k`` are ``ids[k]`` (give the places you will analyse: all cells in the
    study area, zeros included, or only the occupied ones). ``w_ij = 1`` when cell ``j`` is a
    neighbour of cell ``i`` and is in ``ids``:

    * squares: queen contiguity (the 8 cells sharing an edge or corner; sfhotspot's default
      ``nb_dist = cell_size·√2``) or rook (4); or, with ``distance_band_m``, every cell whose
      centre is within that distance;
    * hexagons: the 6 adjacent hexagons, or every hexagon whose centre is within
      ``distance_band_m``.

    ``include_self=True`` puts 1 on the diagonal (``w_ii = 1``), as Gi* needs.

    >>> g = grid_for_bounds((0.0, 0.0, 449.0, 449.0), cell_size_m=150)
    >>> w = cell_weights(g, all_cells(g))
    >>> w.sum(axis=1).tolist()  # corners 3, edges 5, centre 8
    [3.0, 5.0, 3.0, 5.0, 8.0, 5.0, 3.0, 5.0, 3.0]
    """
    arr = _ids_array(grid, ids)
    n = arr.size
    offsets = _neighbour_offsets(grid, contiguity, distance_band_m)
    if n == 0:
        return sp.csr_array((0, 0))
    # One sort serves both the uniqueness check and the neighbour look-ups (np.unique sorted again).
    ascending = n == 1 or bool((arr[1:] > arr[:-1]).all())
    if ascending:
        order = np.arange(n)
        sorted_ids = arr
    else:
        order = np.argsort(arr, kind="stable")
        sorted_ids = arr[order]
    if n > 1 and bool((sorted_ids[1:] == sorted_ids[:-1]).any()):
        raise HotspotInputError("cell ids for weights must be unique; pass np.unique(ids)")
    if grid.shape == "square" and grid.n_cells <= _DENSE_IDS_PER_POINT * n + _DENSE_IDS_FLOOR:
        return _square_weights_dense(grid, arr, offsets, include_self, ascending)
    col = arr % grid.n_cols
    row = arr // grid.n_cols
    k = len(offsets) + (1 if include_self else 0)
    # Position of each cell id in `ids`: a table over the grid when it is not much larger than the ids
    # (one gather per offset), else binary search in the sorted ids.
    lookup: NDArray[np.int64] | None = None
    if grid.n_cells <= _DENSE_IDS_PER_POINT * n + _DENSE_IDS_FLOOR:
        lookup = np.full(grid.n_cells, -1, dtype=np.int64)
        lookup[arr] = np.arange(n)
    # Row t of `nbr` holds each cell's neighbour through offset t (its position in `ids`), or -1.
    nbr = np.full((k, n), -1, dtype=np.int64)
    if grid.shape == "hex":
        q, r = _offset_to_axial(col, row)
    for t, (a, b) in enumerate(offsets):  # a loop over at most a few dozen offsets, never over points
        if grid.shape == "square":
            nc, nr = col + a, row + b
        else:
            nc, nr = _axial_to_offset(q + a, r + b)
        ok = (nc >= 0) & (nc < grid.n_cols) & (nr >= 0) & (nr < grid.n_rows)
        nid = nr * grid.n_cols + nc
        if lookup is not None:
            np.copyto(nbr[t], lookup[np.where(ok, nid, 0)], where=ok)  # -1 where not among the ids
            continue
        pos = np.searchsorted(sorted_ids, nid)
        pos_c = np.minimum(pos, n - 1)
        ok &= (pos < n) & (sorted_ids[pos_c] == nid)
        nbr[t, ok] = order[pos_c[ok]]
    if include_self:
        nbr[-1] = np.arange(n)
    # Distinct offsets give distinct neighbours, so there are no duplicates to sum: the columns of
    # `nbr` are the CSR rows as they stand, and only each short row's column order is left to sort.
    counts = (nbr >= 0).sum(axis=0)
    return _binary_csr(np.ascontiguousarray(nbr.T), counts, sorted_rows=False)


def _binary_csr(
    by_cell: NDArray[np.integer[Any]], counts: NDArray[np.integer[Any]], *, sorted_rows: bool
) -> sp.csr_array:
    """The n × n 0/1 weights whose row i holds the neighbours ``by_cell[i]`` (-1: none there).

    ``counts[i]`` is the number of neighbours (entries ≥ 0) in ``by_cell[i]``, counted by the caller
    as it fills the columns (a count along the short rows would cost more than the rest). A place's
    neighbours must be distinct (distinct offsets give distinct cells). ``sorted_rows``: the caller
    knows each row's neighbours already come in ascending order, so nothing is sorted. The result is
    flagged canonical (sorted, no duplicates), so neither scipy nor
    :func:`~rasure.hotspots.gistar.gi_star` scans it again; its index arrays are built in scipy's own
    index dtype (int32 below 2³¹ places), so scipy keeps them without a converting copy.
    """
    n = by_cell.shape[0]
    dtype = np.int32 if n < np.iinfo(np.int32).max else np.int64
    indptr = np.zeros(n + 1, dtype=dtype)
    np.cumsum(counts, out=indptr[1:])
    indices = by_cell[by_cell >= 0].astype(dtype, copy=False)
    w = sp.csr_array((np.ones(indices.size), indices, indptr), shape=(n, n))
    if not sorted_rows:
        w.sort_indices()
    w.has_canonical_format = True
    return w


def _square_weights_dense(
    grid: Grid, arr: NDArray[np.int64], offsets: NDArray[np.int64], include_self: bool, ascending: bool
) -> sp.csr_array:
    """:func:`cell_weights` for squares when a table over the grid is affordable (same matrix).

    The table of positions is padded by the widest offset on every side, so each offset is one
    constant shift of a flat index (no bounds tests) and one gather. With the offsets in ascending
    order of that shift (self, shift 0, among them), each row's columns come out in ascending order
    when the ids do (``ascending``), and nothing is sorted. The loop over the (at most a few dozen)
    offsets writes each gather straight into its column and counts it there: on 100 k cells this
    beats one gather through a ``k × n`` index, whose index and copies are several times the size of
    the result (each freshly touched page of memory costs about as much as the arithmetic on it).
    """
    n = arr.size
    pad = int(np.abs(offsets).max()) if len(offsets) else 0
    width = grid.n_cols + 2 * pad
    dtype = np.int32 if n < np.iinfo(np.int32).max else np.int64
    table = np.full((grid.n_rows + 2 * pad) * width, -1, dtype=dtype)
    base = (arr // grid.n_cols + pad) * width + (arr % grid.n_cols + pad)
    table[base] = np.arange(n, dtype=dtype)
    shifts = offsets[:, 1] * width + offsets[:, 0]
    if include_self:
        shifts = np.append(shifts, 0)
    by_cell = np.empty((n, shifts.size), dtype=dtype)
    counts: NDArray[np.integer[Any]] = np.zeros(n, dtype=dtype)
    for t, shift in enumerate(np.sort(shifts).tolist()):
        column = table.take(base + shift)
        by_cell[:, t] = column
        np.add(counts, column >= 0, out=counts)
    return _binary_csr(by_cell, counts, sorted_rows=ascending)


# --- polygons (LSOAs, beats, patrol areas) ----------------------------------------------------


@dataclass(frozen=True)
class PolygonLayer:
    """Polygons with string ids, in a projected CRS (metres). ``polygons[k]`` has id ``ids[k]``."""

    ids: tuple[str, ...]
    polygons: tuple[shapely.Geometry, ...]
    crs: str


_LONLAT_CRS_NAMES = ("CRS84", "EPSG::4326", "EPSG:4326", "OGC:1.3:CRS84")


def read_polygons_geojson(path: str | Path, *, id_property: str, crs: str = BNG) -> PolygonLayer:
    """Read a GeoJSON FeatureCollection of (multi)polygons and project it to ``crs`` (metres).

    GeoJSON (RFC 7946) is longitude/latitude (CRS84); coordinates are converted once with
    :func:`rasure.geo.lonlat_to_projected`. A file that declares ``crs`` equal to the target
    (e.g. ``urn:ogc:def:crs:EPSG::27700``) is read as is.
    """
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(
            str(p), f"cannot read it as GeoJSON ({exc})", hint="give a GeoJSON FeatureCollection"
        ) from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InputFileError(str(p), "is not a GeoJSON FeatureCollection", hint="export the layer as GeoJSON")
    declared = str(((doc.get("crs") or {}).get("properties") or {}).get("name", "CRS84"))
    target_code = crs.split(":")[-1]
    if any(declared.upper().endswith(name.upper()) for name in _LONLAT_CRS_NAMES):
        project = True
    elif declared.endswith((f":{target_code}", f"::{target_code}")):
        project = False
    else:
        raise InputFileError(
            str(p),
            f"declares CRS {declared!r}, which is neither lon/lat nor the target {crs}",
            hint="re-export the layer as GeoJSON in WGS84 lon/lat (CRS84)",
        )
    ids: list[str] = []
    geoms: list[shapely.Geometry] = []
    for k, feature in enumerate(doc.get("features") or []):
        props = feature.get("properties") or {}
        if id_property not in props:
            raise InputFileError(
                str(p),
                f"feature {k} has no property {id_property!r} (it has {sorted(props)})",
                hint="pass id_property= one of the feature's property names",
            )
        if not feature.get("geometry"):
            raise InputFileError(
                str(p), f"feature {k} ({props[id_property]}) has no geometry", hint="remove it"
            )
        geom = geojson_shape(feature["geometry"])
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise InputFileError(
                str(p),
                f"feature {k} ({props[id_property]}) is a {geom.geom_type}, not a polygon",
                hint="remove it",
            )
        ids.append(str(props[id_property]))
        geoms.append(geom)
    if not geoms:
        raise InputFileError(str(p), "has no features", hint="check that the right file was given")
    if project:
        lon_max = max(abs(g.bounds[0]) for g in geoms)
        if lon_max > 180:
            raise InputFileError(
                str(p),
                "says lon/lat but has coordinates beyond ±180, so it is probably already projected",
                hint="add the projected CRS to the file's 'crs' member, or re-export in CRS84",
            )

        def _to_projected(coords: NDArray[np.float64]) -> NDArray[np.float64]:
            e, n = lonlat_to_projected(coords[:, 0], coords[:, 1], crs=crs)
            return np.column_stack([e, n])

        geoms = list(shapely.transform(np.asarray(geoms, dtype=object), _to_projected))
    return PolygonLayer(tuple(ids), tuple(geoms), crs)


def assign_polygons(
    polygons: Sequence[shapely.Geometry] | PolygonLayer,
    x: ArrayLike,
    y: ArrayLike,
    *,
    predicate: Literal["intersects", "within"] = "intersects",
) -> NDArray[np.int64]:
    """Index of the polygon containing each point, or ``-1`` (missing coordinates, or in none).

    Uses a shapely STRtree with one vectorised ``query``. With ``"intersects"`` a point on a
    shared boundary matches both polygons; it goes to the lower index, so the answer is
    deterministic. ``"within"`` leaves boundary points unassigned.

    >>> import shapely
    >>> squares = [shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)]
    >>> assign_polygons(squares, [5.0, 15.0, 10.0, 50.0], [5.0, 5.0, 5.0, 5.0]).tolist()
    [0, 1, 0, -1]
    """
    geoms = polygons.polygons if isinstance(polygons, PolygonLayer) else tuple(polygons)
    if predicate not in ("intersects", "within"):
        raise HotspotInputError(f"predicate must be 'intersects' or 'within', got {predicate!r}")
    xa = _as_float_array("x", x)
    ya = _as_float_array("y", y)
    if xa.shape != ya.shape:
        raise HotspotInputError(f"x and y must have the same length, got {xa.size} and {ya.size}")
    out = np.full(xa.size, -1, dtype=np.int64)
    ok = np.nonzero(np.isfinite(xa) & np.isfinite(ya))[0]
    if not geoms or ok.size == 0:
        return out
    tree = STRtree(np.asarray(geoms, dtype=object))
    pairs = tree.query(shapely.points(xa[ok], ya[ok]), predicate=predicate)
    point_k, poly_k = pairs[0].astype(np.int64), pairs[1].astype(np.int64)
    order = np.lexsort((poly_k, point_k))
    first_pt, first = np.unique(point_k[order], return_index=True)
    out[ok[first_pt]] = poly_k[order][first]
    return out


# --- counts -------------------------------------------------------------------------------------


#: Ids up to this many times the number of points (plus a floor) are counted with one ``bincount``
#: over the id range; sparser ids are sorted instead. Both are exact; neither calls ``np.unique``.
_DENSE_IDS_PER_POINT = 4
_DENSE_IDS_FLOOR = 1 << 22


def _group_sum(
    placed: NDArray[np.int64], w: NDArray[np.float64] | None
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """(occupied ids ascending, count per id, sum of ``w`` per id or NaN) for non-negative ids."""
    if placed.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    top = int(placed.max()) + 1
    if top <= _DENSE_IDS_PER_POINT * placed.size + _DENSE_IDS_FLOOR:
        full = np.bincount(placed, minlength=top)
        uniq = np.flatnonzero(full)
        counts = full[uniq].astype(np.int64)
        harm = np.bincount(placed, weights=w, minlength=top)[uniq] if w is not None else None
    else:
        order = np.argsort(placed, kind="stable")
        srt = placed[order]
        starts = np.flatnonzero(np.concatenate(([True], srt[1:] != srt[:-1])))
        uniq = srt[starts]
        counts = np.diff(np.append(starts, srt.size)).astype(np.int64)
        harm = np.add.reduceat(w[order], starts) if w is not None else None
    sums = np.asarray(harm, dtype=np.float64) if harm is not None else np.full(uniq.size, np.nan)
    return np.asarray(uniq, dtype=np.int64), counts, sums


def count_by_cell(
    ids: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    cells: ArrayLike | None = None,
) -> pd.DataFrame:
    """Count points (and sum a weight, e.g. ``harm_days``) per place id.

    Works for any non-negative integer place ids: grid cell ids or polygon indices. Ids of
    ``-1`` (unplaced points) are dropped. Without ``cells`` the result has one row per occupied
    place, ascending; with ``cells`` it has one row per given place, in that order, zeros
    included (what concentration and Gi* need). ``harm`` is ``NaN`` when no weights are given.

    >>> count_by_cell([3, 1, 3, -1], [2.0, 5.0, 0.5, 9.0]).to_dict("list")
    {'cell_id': [1, 3], 'count': [1, 2], 'harm': [5.0, 2.5]}
    >>> count_by_cell([3, 3], cells=[0, 3])["count"].tolist()
    [0, 2]
    """
    arr = np.asarray(ids)
    if arr.ndim != 1 or not (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)):
        raise HotspotInputError("ids must be a one-dimensional integer array (cell ids or polygon indices)")
    arr = arr.astype(np.int64, copy=False)
    keep = arr >= 0
    every = bool(keep.all())
    w: NDArray[np.float64] | None = None
    if weights is not None:
        w = _as_float_array("weights", weights)
        if w.shape != arr.shape:
            raise HotspotInputError(
                f"weights must have one value per id: {w.size} weights for {arr.size} ids"
            )
        if np.isnan(w).any() and np.isnan(w[keep]).any():
            raise HotspotInputError(
                "weights contain missing values (NaN); fill missing harm_days (e.g. with the category "
                "weight, or 0) before counting, so no harm is silently dropped"
            )
    placed = arr if every else arr[keep]
    uniq, counts, harm = _group_sum(placed, None if w is None else (w if every else w[keep]))
    if cells is None:
        return pd.DataFrame({"cell_id": uniq, "count": counts, "harm": harm})
    want = np.asarray(cells).astype(np.int64)
    pos = np.searchsorted(uniq, want)
    pos_c = np.minimum(pos, max(uniq.size - 1, 0))
    hit = (pos < uniq.size) & (uniq[pos_c] == want) if uniq.size else np.zeros(want.size, dtype=bool)
    missing = np.setdiff1d(uniq, want)
    if missing.size:
        raise HotspotInputError(
            f"{missing.size} occupied place ids are not in `cells` (first: {int(missing[0])}); "
            "pass every place of the study area, or filter the points to the study area first"
        )
    out_counts = np.where(hit, counts[pos_c] if uniq.size else 0, 0).astype(np.int64)
    if w is None:
        out_harm = np.full(want.size, np.nan)
    else:
        out_harm = np.where(hit, harm[pos_c] if uniq.size else 0.0, 0.0)
    return pd.DataFrame({"cell_id": want, "count": out_counts, "harm": out_harm})
