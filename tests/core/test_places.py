"""Places: grids, hexagons, weights, polygons and counts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from rasure.errors import InputFileError
from rasure.geo import lonlat_to_projected
from rasure.hotspots import (
    HotspotInputError,
    all_cells,
    assign_cells,
    assign_polygons,
    cell_centres,
    cell_polygons,
    cell_weights,
    cells_within,
    count_by_cell,
    grid_for,
    grid_for_bounds,
    hex_side_for_area,
    read_polygons_geojson,
)

RNG_SEED = 20240401


# --- squares ------------------------------------------------------------------------------------


def test_square_grid_is_snapped_to_cell_multiples() -> None:
    g = grid_for([431_020.0, 432_999.0], [171_149.0, 171_151.0], cell_size_m=150)
    assert (g.x0, g.y0) == (430_950.0, 171_000.0)  # 2873·150, 1140·150
    assert g.n_cols == 14  # (432_999 − 430_950)/150 = 13.66 → 14 columns
    assert g.n_rows == 2
    assert g.cell_area_m2 == 22_500.0


def test_square_assignment_matches_polygons() -> None:
    rng = np.random.default_rng(RNG_SEED)
    x = rng.uniform(0, 3000, 5000)
    y = rng.uniform(0, 2000, 5000)
    g = grid_for(x, y, cell_size_m=150)
    ids = assign_cells(g, x, y)
    assert (ids >= 0).all()
    expected = (np.floor((y - g.y0) / 150) * g.n_cols + np.floor((x - g.x0) / 150)).astype(int)
    np.testing.assert_array_equal(ids, expected)
    polys = cell_polygons(g, ids[:200])
    assert all(p.covers(shapely.Point(a, b)) for p, a, b in zip(polys, x[:200], y[:200], strict=True))


def test_missing_and_outside_points_get_minus_one() -> None:
    g = grid_for_bounds((0.0, 0.0, 299.0, 299.0), cell_size_m=150)
    ids = assign_cells(g, [np.nan, -1.0, 10.0, 400.0, 10.0], [10.0, 10.0, np.nan, 10.0, 10.0])
    assert ids.tolist() == [-1, -1, -1, -1, 0]


def test_grid_errors_say_how_to_fix() -> None:
    with pytest.raises(HotspotInputError, match="cell_size_m"):
        grid_for_bounds((0.0, 0.0, 1.0, 1.0), cell_size_m=0)
    with pytest.raises(HotspotInputError, match="easting/northing"):
        grid_for([np.nan], [np.nan])
    with pytest.raises(HotspotInputError, match="shape"):
        grid_for_bounds((0.0, 0.0, 1.0, 1.0), shape="triangle")  # type: ignore[arg-type]
    g = grid_for_bounds((0.0, 0.0, 1.0, 1.0))
    with pytest.raises(HotspotInputError, match="-1"):
        cell_centres(g, [-1])


# --- hexagons -----------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", ["pointy", "flat"])
def test_hex_assignment_is_nearest_centre_brute_force(orientation: str) -> None:
    rng = np.random.default_rng(RNG_SEED)
    x = rng.uniform(430_000, 436_000, 20_000)
    y = rng.uniform(170_000, 174_000, 20_000)
    g = grid_for(x, y, shape="hex", hex_area_m2=40_000, orientation=orientation)  # type: ignore[arg-type]
    ids = assign_cells(g, x, y)
    assert (ids >= 0).all()
    cx, cy = cell_centres(g, all_cells(g))
    # Brute force: distance to every centre, take the smallest.
    pts = np.column_stack([x, y])
    nearest = np.empty(x.size, dtype=np.int64)
    for start in range(0, x.size, 2000):
        d2 = (pts[start : start + 2000, 0, None] - cx) ** 2 + (pts[start : start + 2000, 1, None] - cy) ** 2
        nearest[start : start + 2000] = d2.argmin(axis=1)
    np.testing.assert_array_equal(ids, nearest)
    # ... and the point lies inside the hexagon drawn for that id.
    polys = cell_polygons(g, ids[:300])
    assert all(p.covers(shapely.Point(a, b)) for p, a, b in zip(polys, x[:300], y[:300], strict=True))


@pytest.mark.parametrize("orientation", ["pointy", "flat"])
def test_hex_area_equals_requested(orientation: str) -> None:
    g = grid_for_bounds((0.0, 0.0, 2000.0, 2000.0), shape="hex", hex_area_m2=40_000, orientation=orientation)  # type: ignore[arg-type]
    # s = √(2·40,000/(3·√3)) = 124.08 m, about the TVP figure (docs/methods.md §0).
    assert g.cell_size_m == pytest.approx(math.sqrt(80_000 / (3 * math.sqrt(3))))
    assert g.cell_area_m2 == pytest.approx(40_000)
    polys = cell_polygons(g, all_cells(g))
    np.testing.assert_allclose([p.area for p in polys], 40_000, rtol=1e-9)
    # The hexagons tile the plane: no two overlap.
    union = shapely.union_all(polys)
    assert union.area == pytest.approx(40_000 * len(polys), rel=1e-9)


def test_hex_neighbours_are_the_six_adjacent() -> None:
    g = grid_for_bounds((0.0, 0.0, 3000.0, 3000.0), shape="hex", hex_area_m2=40_000)
    ids = all_cells(g)
    w = cell_weights(g, ids)
    degree = np.asarray(w.sum(axis=1)).ravel()
    assert degree.max() == 6
    cx, cy = cell_centres(g, ids)
    coo = w.tocoo()
    dist = np.hypot(cx[coo.row] - cx[coo.col], cy[coo.row] - cy[coo.col])
    np.testing.assert_allclose(dist, math.sqrt(3) * g.cell_size_m)  # centre spacing √3·s
    # Interior hexagons (away from the edge of the lattice) have all six.
    interior = (cx > 400) & (cx < 2600) & (cy > 400) & (cy < 2600)
    assert (degree[interior] == 6).all()
    assert (w != w.T).nnz == 0


@settings(max_examples=60, deadline=None)
@given(
    shape=st.sampled_from(["square", "hex"]),
    orientation=st.sampled_from(["pointy", "flat"]),
    frac=st.floats(0, 0.999),
    angle=st.floats(0, 2 * math.pi),
    radius=st.floats(0, 0.85),
)
def test_points_near_a_centre_stay_in_that_cell(
    shape: str, orientation: str, frac: float, angle: float, radius: float
) -> None:
    """Invariant: a point within the inscribed circle of a cell is assigned to that cell."""
    g = grid_for_bounds((500.0, 800.0, 4000.0, 3000.0), cell_size_m=120, shape=shape, orientation=orientation)  # type: ignore[arg-type]
    cell = int(frac * g.n_cells)
    cx, cy = cell_centres(g, [cell])
    inner = g.cell_size_m / 2 if shape == "square" else g.cell_size_m * math.sqrt(3) / 2
    r = radius * inner
    got = assign_cells(g, cx + r * math.cos(angle), cy + r * math.sin(angle))
    assert got.tolist() == [cell]


# --- weights ------------------------------------------------------------------------------------


def test_square_queen_rook_band_and_self() -> None:
    g = grid_for_bounds((0.0, 0.0, 1499.0, 1499.0), cell_size_m=150)  # 10 × 10
    ids = all_cells(g)
    centre = 5 * 10 + 5
    queen = cell_weights(g, ids)
    rook = cell_weights(g, ids, contiguity="rook")
    band = cell_weights(g, ids, distance_band_m=320.0)
    with_self = cell_weights(g, ids, include_self=True)
    assert queen[[centre], :].sum() == 8
    assert rook[[centre], :].sum() == 4
    # Within 320 m: 4 at 150 m, 4 at 212 m, 4 at 300 m; the 8 at √5·150 = 335 m are out.
    assert band[[centre], :].sum() == 12
    assert (with_self.diagonal() == 1).all()
    assert (with_self - queen).nnz == g.n_cells
    assert queen[[0], :].sum() == 3  # a corner
    assert set(queen[[centre], :].indices.tolist()) == {44, 45, 46, 54, 56, 64, 65, 66}


def test_weights_over_occupied_cells_only_and_order() -> None:
    g = grid_for_bounds((0.0, 0.0, 449.0, 449.0), cell_size_m=150)  # 3 × 3
    ids = np.array([4, 0, 8])  # centre, two opposite corners; unsorted on purpose
    w = cell_weights(g, ids).toarray()
    # Row k is ids[k]: the centre neighbours both corners; the corners are not neighbours.
    assert w.tolist() == [[0, 1, 1], [1, 0, 0], [1, 0, 0]]
    with pytest.raises(HotspotInputError, match="unique"):
        cell_weights(g, [1, 1])


@pytest.mark.parametrize("cols, rows", [(40, 25), (4000, 3000)])  # table over the grid; sorted-id look-up
@pytest.mark.parametrize("order", ["sorted", "shuffled"])
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"include_self": True}, {"contiguity": "rook"}, {"distance_band_m": 400.0, "include_self": True}],
)
def test_weights_equal_brute_force_pairs(cols: int, rows: int, order: str, kwargs: dict[str, object]) -> None:
    """Both ways of finding neighbours (a padded table over small grids, binary search over large
    sparse ones) against every pair of cells compared directly, row order and column order included."""
    g = grid_for_bounds((0.0, 0.0, cols * 150 - 1.0, rows * 150 - 1.0), cell_size_m=150)
    rng = np.random.default_rng(cols)
    block = (np.arange(12)[:, None] * cols + np.arange(15)[None, :] + cols * 3 + 5).ravel()  # a dense patch
    edges = np.array([0, cols - 1, (rows - 1) * cols, g.n_cells - 1])  # the four corners
    ids = np.unique(np.concatenate([block, edges, rng.choice(g.n_cells, 300, replace=False)]))
    if order == "shuffled":
        ids = rng.permutation(ids)
    w = cell_weights(g, ids, **kwargs)  # type: ignore[arg-type]
    dc = np.abs(ids[:, None] % cols - ids[None, :] % cols)
    dr = np.abs(ids[:, None] // cols - ids[None, :] // cols)
    if "distance_band_m" in kwargs:
        near = 150.0 * np.hypot(dc, dr) <= 400.0
    elif kwargs.get("contiguity") == "rook":
        near = dc + dr == 1
    else:
        near = np.maximum(dc, dr) == 1
    near &= (dc != 0) | (dr != 0)
    if kwargs.get("include_self"):
        near |= (dc == 0) & (dr == 0)
    np.testing.assert_array_equal(w.toarray(), near.astype(float))
    assert w.has_sorted_indices


def test_cells_within_region() -> None:
    g = grid_for_bounds((0.0, 0.0, 1499.0, 1499.0), cell_size_m=150)
    region = shapely.Point(750, 750).buffer(300)
    ids = cells_within(g, region)
    cx, cy = cell_centres(g, ids)
    assert (np.hypot(cx - 750, cy - 750) < 300).all()
    # Compare with a direct check of every cell centre.
    allx, ally = cell_centres(g, all_cells(g))
    assert ids.size == int((np.hypot(allx - 750, ally - 750) < 300).sum())


# --- polygons -----------------------------------------------------------------------------------


def test_assign_polygons_boundary_and_missing() -> None:
    polys = [shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10), shapely.box(100, 100, 110, 110)]
    x = [5.0, 15.0, 10.0, 50.0, np.nan, 105.0]
    y = [5.0, 5.0, 5.0, 5.0, 5.0, 105.0]
    assert assign_polygons(polys, x, y).tolist() == [0, 1, 0, -1, -1, 2]
    assert assign_polygons(polys, x, y, predicate="within").tolist() == [0, 1, -1, -1, -1, 2]


def _write_geojson(
    path: Path, crs_name: str | None, coords: list[list[float]], props: dict[str, str]
) -> Path:
    doc: dict[str, object] = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [coords]}}
        ],
    }
    if crs_name:
        doc["crs"] = {"type": "name", "properties": {"name": crs_name}}
    path.write_text(json.dumps(doc))
    return path


def test_read_geojson_projects_lonlat_and_reads_bng(tmp_path: Path) -> None:
    ring = [[-1.0, 51.5], [-0.99, 51.5], [-0.99, 51.51], [-1.0, 51.51], [-1.0, 51.5]]
    layer = read_polygons_geojson(
        _write_geojson(tmp_path / "a.geojson", None, ring, {"code": "A"}), id_property="code"
    )
    e, n = lonlat_to_projected(np.array([-1.0]), np.array([51.5]))
    assert layer.ids == ("A",)
    first_vertex = layer.polygons[0].exterior.coords[0]
    assert first_vertex == pytest.approx((e[0], n[0]), abs=1e-6)
    # ~0.01° × 0.01° at 51.5° N ≈ 694 m × 1112 m
    assert layer.polygons[0].area == pytest.approx(694 * 1112, rel=0.02)
    square = [[400_000.0, 200_000.0], [400_100.0, 200_000.0], [400_100.0, 200_100.0], [400_000.0, 200_000.0]]
    bng = read_polygons_geojson(
        _write_geojson(tmp_path / "b.geojson", "urn:ogc:def:crs:EPSG::27700", square, {"code": "B"}),
        id_property="code",
    )
    assert bng.polygons[0].bounds == (400_000.0, 200_000.0, 400_100.0, 200_100.0)


def test_read_geojson_errors_name_the_file(tmp_path: Path) -> None:
    ring = [[-1.0, 51.5], [-0.99, 51.5], [-0.99, 51.51], [-1.0, 51.5]]
    path = _write_geojson(tmp_path / "c.geojson", None, ring, {"name": "x"})
    with pytest.raises(InputFileError, match=r"c\.geojson.*no property 'code'.*How to fix"):
        read_polygons_geojson(path, id_property="code")
    bad = tmp_path / "d.geojson"
    bad.write_text("{not json")
    with pytest.raises(InputFileError, match="GeoJSON"):
        read_polygons_geojson(bad, id_property="code")
    projected_unlabelled = _write_geojson(
        tmp_path / "e.geojson",
        None,
        [[400000.0, 1.0], [400001.0, 1.0], [400001.0, 2.0], [400000.0, 1.0]],
        {"code": "E"},
    )
    with pytest.raises(InputFileError, match="already projected"):
        read_polygons_geojson(projected_unlabelled, id_property="code")


@pytest.mark.realdata
def test_thames_valley_lsoas_match_policeuk_lsoa_codes(shared_data: Path) -> None:
    """Real data: police.uk gives each crime's LSOA; our point-in-polygon should mostly agree.

    The boundaries are generalised and clipped (BGC), so points near an edge can fall on the
    wrong side; measured agreement 97.0% on 2018-10.
    """
    layer = read_polygons_geojson(
        shared_data / "boundaries" / "thames_valley_lsoa2011_bgc.geojson", id_property="LSOA11CD"
    )
    assert len(layer.ids) == 1415 == len(set(layer.ids))
    total_km2 = sum(p.area for p in layer.polygons) / 1e6
    assert 5000 < total_km2 < 6500  # Thames Valley is about 5,700 km² (docs/methods.md §0)
    crimes = pd.read_csv(
        shared_data / "policeuk" / "thames-valley" / "street" / "2018-10-thames-valley-street.csv",
        usecols=["Longitude", "Latitude", "LSOA code"],
    ).dropna()
    e, n = lonlat_to_projected(crimes["Longitude"].to_numpy(), crimes["Latitude"].to_numpy())
    k = assign_polygons(layer, e, n)
    assert (k == -1).mean() < 0.005
    codes = np.array([*layer.ids, ""])[k]
    assert (codes == crimes["LSOA code"].to_numpy()).mean() > 0.95


# --- counts -------------------------------------------------------------------------------------


def test_count_by_cell_hand_example() -> None:
    ids = np.array([5, 2, 5, -1, 5, 9])
    harm = np.array([365.0, 10.0, 1.0, 5475.0, 0.5, 7.5])
    out = count_by_cell(ids, harm)
    # cell 2: one record (10); cell 5: three (365 + 1 + 0.5); cell 9: one (7.5); the -1 is dropped.
    assert out["cell_id"].tolist() == [2, 5, 9]
    assert out["count"].tolist() == [1, 3, 1]
    assert out["harm"].tolist() == [10.0, 366.5, 7.5]
    full = count_by_cell(ids, harm, cells=[9, 0, 2, 5])
    assert full["count"].tolist() == [1, 0, 1, 3]
    assert full["harm"].tolist() == [7.5, 0.0, 10.0, 366.5]
    assert count_by_cell(ids)["harm"].isna().all()


def test_count_by_cell_errors() -> None:
    with pytest.raises(HotspotInputError, match="harm_days"):
        count_by_cell([1, 2], [1.0, np.nan])
    with pytest.raises(HotspotInputError, match="not in `cells`"):
        count_by_cell([1, 2], cells=[1])
    with pytest.raises(HotspotInputError, match="integer"):
        count_by_cell([1.5])


def test_hex_side_for_area() -> None:
    assert hex_side_for_area(1.5 * math.sqrt(3)) == pytest.approx(1.0)
    with pytest.raises(HotspotInputError):
        hex_side_for_area(-1)


def test_binning_is_vectorised_and_fast_enough_for_a_million_points() -> None:
    """Not a timing assertion: just that a million points go through without a per-point loop."""
    rng = np.random.default_rng(RNG_SEED)
    x = rng.uniform(400_000, 500_000, 1_000_000)
    y = rng.uniform(150_000, 250_000, 1_000_000)
    g = grid_for(x, y, shape="hex", hex_area_m2=40_000)
    ids = assign_cells(g, x, y)
    counts = count_by_cell(ids)
    assert counts["count"].sum() == 1_000_000
    tree = cKDTree(np.column_stack(cell_centres(g, counts["cell_id"].to_numpy())))
    _, k = tree.query(np.column_stack([x[:1000], y[:1000]]))
    np.testing.assert_array_equal(counts["cell_id"].to_numpy()[k], ids[:1000])


@pytest.mark.parametrize("spread", [1_000, 10**12], ids=["dense-ids-bincount", "sparse-ids-sort"])
def test_count_by_cell_both_paths_equal_pandas_groupby(spread: int) -> None:
    """count_by_cell counts dense ids with one bincount and sparse ids with one sort (never np.unique);
    both against pandas' groupby, the independent reference."""
    rng = np.random.default_rng(7)
    ids = rng.integers(-1, spread, size=20_000)
    ids[:50] = -1
    w = rng.gamma(1.0, 3.0, size=ids.size)
    ours = count_by_cell(ids, w)
    frame = pd.DataFrame({"cell_id": ids, "w": w})[ids >= 0]
    ref = frame.groupby("cell_id")["w"].agg(["size", "sum"]).reset_index()
    np.testing.assert_array_equal(ours["cell_id"].to_numpy(), ref["cell_id"].to_numpy())
    np.testing.assert_array_equal(ours["count"].to_numpy(), ref["size"].to_numpy())
    np.testing.assert_allclose(ours["harm"].to_numpy(), ref["sum"].to_numpy(), rtol=1e-12)
    assert count_by_cell(ids)["harm"].isna().all()


def test_square_assignment_in_chunks_handles_nan_inf_and_edges() -> None:
    """The chunked floating-point path: more points than one chunk, NaN and ±inf → −1, and the
    grid's own edges (a point on the east or north boundary of the grid is outside)."""
    g = grid_for_bounds((0.0, 0.0, 299.0, 299.0), cell_size_m=150)
    n = 200_000
    x = np.tile(np.array([10.0, 160.0, np.nan, np.inf, -np.inf, 300.0, -0.001, 0.0]), n // 8)
    y = np.tile(np.array([10.0, 160.0, 5.0, 5.0, 5.0, 5.0, 5.0, 299.999]), n // 8)
    ids = assign_cells(g, x, y)
    np.testing.assert_array_equal(ids[:8], [0, 3, -1, -1, -1, -1, -1, 2])
    np.testing.assert_array_equal(ids, np.tile(ids[:8], n // 8))
