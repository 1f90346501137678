"""Services and selectors for a force's areas: load boundaries, attach parents, find the force's area.

Levels, top down: force > LPA > neighbourhood > LSOA. An LSOA or neighbourhood may sit directly
under an LPA (the synthetic city's neighbourhoods do). A parent known only from a lookup (an LPA
made of LSOAs) gets the union of its children as its boundary, marked "drawn from its ...".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from django.db import transaction

from rasure.areas import containing, dissolve, read_areas, read_lookup
from rasure.errors import ConfigError
from rasure_web.accounts.models import Force
from rasure_web.accounts.tenancy import force_crs, force_pk, resolve_force
from rasure_web.crimes.models import Area
from rasure_web.crimes.summary import refresh_summary

_ABOVE = {
    Area.Kind.LSOA: Area.Kind.LPA,
    Area.Kind.NEIGHBOURHOOD: Area.Kind.LPA,
    Area.Kind.LPA: Area.Kind.FORCE,
}
_DRAWN = "drawn from its "


def _areas(tenant: int) -> Any:
    """The areas of one force (every function here works within one force)."""
    return Area.objects.filter(tenant_id=tenant)


@dataclass(frozen=True)
class AreasLoaded:
    level: str
    loaded: int
    parents_created: int
    source_crs: str
    crs: str = ""

    def line(self) -> str:
        s = f"{self.loaded} area(s) of level {self.level} loaded (file CRS {self.source_crs}, stored in the force's CRS {self.crs})"
        if self.parents_created:
            s += f"; {self.parents_created} parent area(s) created from the parent codes"
        return s


def _geojson(geom: Any) -> str:
    return shapely.to_geojson(shapely.set_precision(geom, 0.01)) if geom is not None else ""


def areas_load(
    *,
    path: str,
    level: str,
    code_field: str | None = None,
    name_field: str | None = None,
    parent_field: str | None = None,
    parent_level: str | None = None,
    force: str | None = None,
) -> AreasLoaded:
    """Load (insert or update) the areas of one level from a boundary file, in one transaction, for
    ``force`` (its code; default the only force). LPAs without a parent go under the force's area."""
    kind = Area.Kind(level)
    if kind == Area.Kind.FORCE:
        raise ConfigError("--level must be lpa, neighbourhood or lsoa (use --force CODE for the force)")
    above = Area.Kind(parent_level) if parent_level else _ABOVE[kind]
    tenant: Force = resolve_force(force)
    # stored in the force's CRS (metres), whatever the file's own
    f = read_areas(
        path, code_field=code_field, name_field=name_field, parent_field=parent_field, crs=force_crs(tenant)
    )
    created = 0
    with transaction.atomic():
        force_obj = None
        if force:
            force_obj, _ = Area.objects.get_or_create(
                tenant=tenant,
                kind=Area.Kind.FORCE,
                code=tenant.code,
                defaults={"name": tenant.name, "source": path},
            )
        parents: dict[str, Area] = {}
        for code in sorted(set(f.frame["parent_code"].dropna()) - {""}):
            parents[code], new = Area.objects.get_or_create(
                tenant=tenant, kind=above, code=code, defaults={"name": code, "source": _DRAWN + kind.label}
            )
            created += int(new)
        for row in f.frame.itertuples():
            parent = parents.get(row.parent_code) if isinstance(row.parent_code, str) else None
            if parent is None and kind == Area.Kind.LPA:
                parent = force_obj
            Area.objects.update_or_create(
                tenant=tenant,
                kind=kind,
                code=row.code,
                defaults={
                    "name": str(row.name)[:200],
                    "parent": parent,
                    "geometry_geojson": _geojson(row.geometry),
                    "source": str(path)[:300],
                    "synthetic": False,
                },
            )
        _under_the_force(tenant.pk)
        _draw_parents(tenant.pk)
        refresh_summary(tenant.pk)  # the LPAs' records follow their areas
    return AreasLoaded(
        level=kind.value, loaded=len(f.frame), parents_created=created, source_crs=f.source_crs, crs=f.crs
    )


@dataclass(frozen=True)
class LookupApplied:
    matched: int
    ignored: int
    parents_created: int


def areas_lookup(
    *,
    path: str,
    code_field: str,
    parent_field: str,
    parent_name_field: str | None = None,
    parent_level: str = "lpa",
    force: str | None = None,
) -> LookupApplied:
    """Put loaded areas of ``force`` under their parents from a code -> parent CSV (e.g. LSOA -> LPA).
    Rows for codes that are not loaded (a national lookup) are counted and ignored."""
    tenant = resolve_force(force)
    above = Area.Kind(parent_level)
    table = read_lookup(
        path, code_field=code_field, parent_field=parent_field, parent_name_field=parent_name_field
    )
    below = [k for k, v in _ABOVE.items() if v == above] or [Area.Kind.LSOA]
    loaded = {a.code: a for a in _areas(tenant.pk).filter(kind__in=below)}
    hits = table[table["code"].isin(list(loaded))]
    created = 0
    with transaction.atomic():
        parents: dict[str, Area] = {}
        for code, name in hits.drop_duplicates("parent_code")[["parent_code", "parent_name"]].itertuples(
            index=False
        ):
            parents[code], new = Area.objects.get_or_create(
                tenant=tenant,
                kind=above,
                code=code,
                defaults={"name": name or code, "source": _DRAWN + "children"},
            )
            if not new and parents[code].name == code and name:
                parents[code].name = name
                parents[code].save(update_fields=["name"])
            created += int(new)
        for code, parent_code in hits[["code", "parent_code"]].itertuples(index=False):
            a = loaded[code]
            a.parent = parents[parent_code]
            a.save(update_fields=["parent"])
        _under_the_force(tenant.pk)
        _draw_parents(tenant.pk)
        refresh_summary(tenant.pk)  # the LPAs' records follow their areas
    return LookupApplied(matched=len(hits), ignored=len(table) - len(hits), parents_created=created)


def _under_the_force(tenant: int) -> None:
    """With the force's own area loaded, every LPA of the force without a parent belongs to it."""
    forces = list(_areas(tenant).filter(kind=Area.Kind.FORCE)[:2])
    if len(forces) == 1:
        _areas(tenant).filter(kind=Area.Kind.LPA, parent__isnull=True).update(parent=forces[0])


def _draw_parents(tenant: int) -> None:
    """Give each parent without its own boundary the union of its children's boundaries."""
    for kind in (Area.Kind.NEIGHBOURHOOD, Area.Kind.LPA, Area.Kind.FORCE):
        for parent in _areas(tenant).filter(kind=kind):
            if parent.geometry_geojson and not parent.source.startswith(_DRAWN):
                continue
            geoms = [
                shapely.from_geojson(g)
                for g in parent.children.exclude(geometry_geojson="").values_list(
                    "geometry_geojson", flat=True
                )
            ]
            if geoms:
                parent.geometry_geojson = _geojson(dissolve(geoms))
                if not parent.source.startswith(_DRAWN):
                    parent.source = _DRAWN + "children"
                parent.save(update_fields=["geometry_geojson", "source"])


def force_area(*, tenant: int | None = None) -> Any:
    """The force's area in metres (shapely), or None when no boundaries are loaded: the force's own
    boundary, else the union of its LPAs, else of its neighbourhoods or LSOAs. ``tenant``: the force's
    pk (default the only force)."""
    t = force_pk(tenant)
    for kind in (Area.Kind.FORCE, Area.Kind.LPA, Area.Kind.NEIGHBOURHOOD, Area.Kind.LSOA):
        geoms = [
            shapely.from_geojson(g)
            for g in _areas(t)
            .filter(kind=kind)
            .exclude(geometry_geojson="")
            .values_list("geometry_geojson", flat=True)
        ]
        if geoms:
            return dissolve(geoms)
    return None


def area_geometry(area_code: str = "", *, tenant: int | None = None) -> Any:
    """The geometry (metres, shapely) of one of the force's local policing areas by its code, or of the
    whole force (:func:`force_area`) for ``""``; None when that area has no boundary loaded."""
    t = force_pk(tenant)
    if not area_code:
        return force_area(tenant=t)
    geoms = [
        shapely.from_geojson(g)
        for g in _areas(t)
        .filter(kind=Area.Kind.LPA, code=area_code)
        .exclude(geometry_geojson="")
        .values_list("geometry_geojson", flat=True)
    ]
    return dissolve(geoms) if geoms else None


def lsoa_codes_in(area_code: str, *, tenant: int | None = None) -> list[str]:
    """Codes of the neighbourhoods and LSOAs inside an LPA of the force (children and grandchildren),
    matched against a record's LSOA code."""
    t = force_pk(tenant)
    kinds = [Area.Kind.NEIGHBOURHOOD, Area.Kind.LSOA]
    direct = _areas(t).filter(kind__in=kinds, parent__code=area_code, parent__kind=Area.Kind.LPA)
    deeper = _areas(t).filter(
        kind=Area.Kind.LSOA, parent__parent__code=area_code, parent__parent__kind=Area.Kind.LPA
    )
    return sorted(set(direct.values_list("code", flat=True)) | set(deeper.values_list("code", flat=True)))


def areas_at(x: np.ndarray, y: np.ndarray, *, tenant: int | None = None) -> tuple[list[str], list[str]]:
    """The LPA and neighbourhood code of each point (metres): from the smallest of the force's areas
    containing it, up its parents; ``""`` where no loaded area contains it."""
    by_pk = {a.pk: a for a in _areas(force_pk(tenant))}
    lpa, nbh = [""] * len(x), [""] * len(x)
    for kind in (Area.Kind.LSOA, Area.Kind.NEIGHBOURHOOD, Area.Kind.LPA):
        areas = [a for a in by_pk.values() if a.kind == kind and a.geometry_geojson]
        found = containing([(str(a.pk), shapely.from_geojson(a.geometry_geojson)) for a in areas], x, y)
        for i, pk in enumerate(found):
            a = by_pk.get(int(pk)) if pk else None
            while a is not None:
                if a.kind == Area.Kind.LPA and not lpa[i]:
                    lpa[i] = a.code
                if a.kind == Area.Kind.NEIGHBOURHOOD and not nbh[i]:
                    nbh[i] = a.code
                a = by_pk.get(a.parent_id) if a.parent_id else None
    return lpa, nbh


def area_summary(*, force: str | None = None) -> list[dict[str, Any]]:
    """Areas per level of a force: how many, how many with a boundary and with a parent
    (``rasure areas show``)."""
    t = resolve_force(force).pk
    out = []
    for kind in Area.Kind:
        qs = _areas(t).filter(kind=kind)
        out.append(
            {
                "level": kind.value,
                "areas": qs.count(),
                "with_boundary": qs.exclude(geometry_geojson="").count(),
                "with_parent": qs.filter(parent__isnull=False).count(),
                "sources": sorted(set(qs.values_list("source", flat=True)) - {""}),
            }
        )
    return out
