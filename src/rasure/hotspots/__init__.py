"""Hot spots: places, Getis-Ord Gi*, concentration, kernel density and endurance (docs/methods.md §1).

Typical use, all in projected metres::

    grid = grid_for_bounds(study_area.bounds, cell_size_m=150)        # or shape="hex", hex_area_m2=40_000
    places = cells_within(grid, study_area)                            # every place, zeros included
    ids = assign_cells(grid, records["easting"], records["northing"])
    counts = count_by_cell(ids, records["harm_days"], cells=places)
    gi = gi_star(counts["harm"], cell_weights(grid, places), permutations=999, seed=20240401)
"""

from rasure.hotspots.concentration import Concentration, PaiPei, concentration, gini, lorenz_curve, pai_pei
from rasure.hotspots.density import DensitySurface, bandwidth_nrd, kernel_density, kernel_value
from rasure.hotspots.endurance import (
    PLACE_CLASSES,
    classify_places,
    hot_in_m_of_n,
    hot_places,
    place_window_counts,
    stability,
)
from rasure.hotspots.gistar import GiStarResult, benjamini_hochberg, gi_star
from rasure.hotspots.places import (
    Grid,
    HotspotInputError,
    PolygonLayer,
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

__all__ = [
    "PLACE_CLASSES",
    "Concentration",
    "DensitySurface",
    "GiStarResult",
    "Grid",
    "HotspotInputError",
    "PaiPei",
    "PolygonLayer",
    "all_cells",
    "assign_cells",
    "assign_polygons",
    "bandwidth_nrd",
    "benjamini_hochberg",
    "cell_centres",
    "cell_polygons",
    "cell_weights",
    "cells_within",
    "classify_places",
    "concentration",
    "count_by_cell",
    "gi_star",
    "gini",
    "grid_for",
    "grid_for_bounds",
    "hex_side_for_area",
    "hot_in_m_of_n",
    "hot_places",
    "kernel_density",
    "kernel_value",
    "lorenz_curve",
    "pai_pei",
    "place_window_counts",
    "read_polygons_geojson",
    "stability",
]
