"""``rasure areas``, ``rasure scope`` and ``rasure institutions``: a force's own reference data."""

from __future__ import annotations

import argparse
import os
from typing import Any


def _db() -> None:
    from rasure_web.cli import open_database

    open_database()


def cmd_areas(args: argparse.Namespace) -> int:
    _db()
    from rasure_web.crimes import areas

    if args.areas_cmd == "load":
        done = areas.areas_load(
            path=args.file,
            level=args.level,
            code_field=args.code_field,
            name_field=args.name_field,
            parent_field=args.parent_field,
            parent_level=args.parent_level,
            force=args.force,
        )
        print(f"{args.file}: {done.line()}")
    elif args.areas_cmd == "lookup":
        done2 = areas.areas_lookup(
            path=args.file,
            code_field=args.code_field,
            parent_field=args.parent_field,
            parent_name_field=args.parent_name_field,
            parent_level=args.parent_level,
            force=args.force,
        )
        print(
            f"{args.file}: {done2.matched} loaded area(s) put under their {args.parent_level}; "
            f"{done2.parents_created} {args.parent_level} area(s) created; {done2.ignored} row(s) for areas "
            "not loaded ignored"
        )
    else:
        for row in areas.area_summary(force=args.force):
            print(
                f"{row['level']:<14}{row['areas']:>6} areas, {row['with_boundary']:>6} with a boundary, "
                f"{row['with_parent']:>6} with a parent  {'; '.join(row['sources'])}"
            )
    from rasure_web.cli import _warm_dashboard

    _warm_dashboard()
    return 0


def cmd_scope(args: argparse.Namespace) -> int:
    _db()
    from rasure_web.accounts.tenancy import resolve_force
    from rasure_web.crimes import scope

    if args.scope_cmd == "load":
        info, changed = scope.scope_load(
            path=args.file, version=args.version, username=os.environ.get("USER", ""), force=args.force
        )
        print(
            f"Loaded the serious-violence scope {info.source}"
            + (f" version {info.version}" if info.version else "")
            + f" ({len(scope.scope_table(tenant=info.tenant_id))} offence codes) for force {info.tenant.code};"
            + f" {changed:,} record(s) reclassified (that force's only)."
        )
        from rasure_web.cli import _warm_dashboard

        _warm_dashboard()
        return 0
    force = resolve_force(args.force)
    print(f"Force {force.code} ({force.name}): " + scope.scope_label(tenant=force.pk))
    print(scope.scope_table(tenant=force.pk).to_string(index=False))
    return 0


def cmd_institutions(args: argparse.Namespace) -> int:
    _db()
    from rasure_web.analysis.services import institutions_load

    new, updated = institutions_load(path=args.file, replace=args.replace, force=args.force)
    print(
        f"{args.file}: {new} institution(s) added, {updated} updated. `rasure hotspots build` holds them apart."
    )
    return 0


def add_force_commands(sub: Any) -> None:
    from rasure_web.cli import add_force_option

    a = sub.add_parser("areas", help="the force's boundaries: LPAs, neighbourhoods, LSOAs")
    asub = a.add_subparsers(dest="areas_cmd", required=True)
    al = asub.add_parser("load", help="load areas from GeoJSON, GeoPackage or Shapefile (any CRS)")
    al.add_argument("file")
    al.add_argument("--level", required=True, choices=["lpa", "neighbourhood", "lsoa"])
    al.add_argument("--code-field", help="field with the area code (default: 'code' or an ONS ...CD field)")
    al.add_argument("--name-field", help="field with the area name (default: 'name' or an ONS ...NM field)")
    al.add_argument("--parent-field", help="field with the code of the area above (e.g. the LPA of an LSOA)")
    al.add_argument("--parent-level", choices=["lpa", "neighbourhood"], help="level of the parent codes")
    al.add_argument(
        "--force",
        metavar="CODE",
        help="the force these areas belong to (default: the only force); its LPAs go under the force's area",
    )
    al.set_defaults(func=cmd_areas)
    lk = asub.add_parser("lookup", help="put loaded areas under parents from a code -> parent CSV")
    lk.add_argument("file")
    lk.add_argument("--code-field", required=True, help="column with the loaded areas' codes (e.g. LSOA11CD)")
    lk.add_argument("--parent-field", required=True, help="column with the parent's code (e.g. LAD19CD)")
    lk.add_argument("--parent-name-field", help="column with the parent's name (e.g. LAD19NM)")
    lk.add_argument("--parent-level", choices=["lpa", "neighbourhood"], default="lpa")
    add_force_option(lk)
    lk.set_defaults(func=cmd_areas)
    sh = asub.add_parser("show", help="areas per level")
    add_force_option(sh)
    sh.set_defaults(func=cmd_areas)

    s = sub.add_parser("scope", help="the force's serious-violence scope (offence codes in scope)")
    ssub = s.add_subparsers(dest="scope_cmd", required=True)
    sl = ssub.add_parser("load", help="load a scope table (offence_code, sv_group, counts_as) and reclassify")
    sl.add_argument("file")
    sl.add_argument("--version", default="", help="the table's version (default: 'Version X' in its header)")
    add_force_option(sl)
    sl.set_defaults(func=cmd_scope)
    ss = ssub.add_parser("show", help="the force's scope and its rows")
    add_force_option(ss)
    ss.set_defaults(func=cmd_scope)

    i = sub.add_parser(
        "institutions", help="the institution register (prisons, hospitals, custody suites ...)"
    )
    isub = i.add_subparsers(dest="inst_cmd", required=True)
    il = isub.add_parser("load", help="load a register: CSV (lon/lat or easting/northing) or GeoJSON")
    il.add_argument("file")
    il.add_argument("--replace", action="store_true", help="remove institutions not in the file")
    add_force_option(il)
    il.set_defaults(func=cmd_institutions)
