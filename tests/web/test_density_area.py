"""Density over the force's area (issue 11 part 1): with boundaries loaded, the dashboard's density grid
covers the loaded area and no cell outside it gets density."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from shapely.geometry import Point, box, shape

from rasure_web.crimes.models import Area, CrimeRecord
from rasure_web.dashboard.selectors import density_surface
from tests.city import store_city

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def analyst() -> User:
    store_city()
    u = User.objects.create_user("ana")
    u.groups.add(Group.objects.get_or_create(name="analyst")[0])
    return u


def _records_box() -> tuple[float, float, float, float]:
    xy = np.array(
        list(
            CrimeRecord.objects.filter(serious_violence=True, easting__isnull=False).values_list(
                "easting", "northing"
            )
        )
    )
    return float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max())


def _area(kind: str, code: str, geom: Any) -> Area:
    return Area.objects.create(
        kind=kind, code=code, name=f"{code} (synthetic)", geometry_geojson=json.dumps(geom.__geo_interface__)
    )


def test_cells_outside_the_force_area_get_no_density(analyst: User) -> None:
    x0, y0, x1, y1 = _records_box()
    before = density_surface(user=analyst)  # over the synthetic city's whole force area
    assert before is not None
    bx, _ = before.cell_centres()
    assert (before.density[bx > (x0 + x1) / 2 + 500] > 0).any()  # density east of the half cut away below
    # a force area over the western half of the city only, with a notch cut out of it
    mid = (x0 + x1) / 2
    force = box(x0, y0, mid, y1).difference(box(x0 + 500, y0 + 500, x0 + 1500, y0 + 1500))
    # the synthetic city's own force boundary becomes this one (its LPAs point to it)
    if not Area.objects.filter(kind="force").update(geometry_geojson=json.dumps(force.__geo_interface__)):
        _area("force", "SYN", force)
    surf = density_surface(user=analyst)
    assert surf is not None
    gx, gy = surf.cell_centres()
    # inside, by plain comparisons: in the half and not strictly inside the notch
    in_half = (gx >= x0) & (gx <= mid) & (gy >= y0) & (gy <= y1)
    in_notch = (gx > x0 + 500) & (gx < x0 + 1500) & (gy > y0 + 500) & (gy < y0 + 1500)
    inside = in_half & ~in_notch
    assert (surf.density[~inside] == 0).all() and (surf.density[inside] > 0).any()
    # the grid is the area's extent, not the points' (one cell of snapping at most)
    assert x0 - surf.cell_size_m <= surf.x0 <= x0
    assert surf.x0 + surf.density.shape[1] * surf.cell_size_m <= mid + 2 * surf.cell_size_m
    c = Client()
    c.force_login(analyst)
    png = c.get("/dashboard/map/density.json")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_lpa_area_restricts_its_own_density(analyst: User) -> None:
    lpa = Area.objects.filter(kind="lpa").exclude(geometry_geojson="").order_by("code").first()
    assert lpa is not None, "the synthetic city loads its LPAs with boundaries"
    geom = shape(json.loads(lpa.geometry_geojson))
    surf = density_surface(user=analyst, area_code=lpa.code)
    assert surf is not None
    gx, gy = surf.cell_centres()
    inside = np.array([geom.covers(Point(px, py)) for px, py in zip(gx.ravel(), gy.ravel(), strict=True)])
    inside = inside.reshape(gx.shape)
    assert (surf.density[~inside] == 0).all() and (surf.density[inside] > 0).any()
    x_lo = geom.bounds[0]
    assert x_lo - surf.cell_size_m <= surf.x0 <= x_lo
