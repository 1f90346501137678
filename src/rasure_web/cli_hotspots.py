"""``rasure hotspots analyse`` (file in, file out, no database) and ``rasure hotspots build``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any


def _params(args: argparse.Namespace, crs: str | None = None) -> Any:
    from rasure.geo import BNG
    from rasure.hotspots.analysis import HotspotParams

    return HotspotParams(
        crs=crs or BNG,
        cell_size_m=args.cell_size_m,
        shape=args.shape,
        top=args.top,
        window_months=args.window_months,
        end=args.end,
        gi_permutations=args.permutations,
        seed=args.seed,
        periods={"auto": "auto", "day-night": "day-night", "all": "all"}[args.periods],
        min_spacing_m=args.min_spacing_m,
        min_count=args.min_count,
    )


def _print_summary(result: Any, labels: dict[str, str]) -> None:
    err = sys.stderr
    print(
        f"Window {result.window_start} to {result.window_end}: {result.n_records:,} serious-violence records "
        f"with a location.",
        file=err,
    )
    for v in labels.values():
        print(f"  {v}", file=err)
    for n in result.notes:
        print(f"  note: {n}", file=err)
    for period, c in result.concentration.items():
        print(
            f"  [{period}] {c.places_for_shares[0.5]:.2%} of cells ({round(c.places_for_shares[0.5] * c.n_places):,} "
            f"of {c.n_places:,}) hold half of the serious violence; top 1% hold {c.top_shares[0.01]:.1%}, "
            f"top 5% {c.top_shares[0.05]:.1%}.",
            file=err,
        )
    if not result.stability.empty:
        for row in result.stability.itertuples():
            print(
                f"  stability {row.previous_window} -> {row.window}: Spearman {row.spearman_rho:.2f}, "
                f"top-K overlap (Jaccard) {row.jaccard:.2f}",
                file=err,
            )
    hs = result.hotspots
    if not hs.empty:
        print(f"  {len(hs)} hot spots; {len(result.held_out)} institutional places held apart.", file=err)
        for h in hs.head(10).itertuples():
            print(
                f"   {h.hotspot_id} {h.name[:40]:<40} count {h.count:6.0f}  harm {h.harm:9,.0f}  "
                f"z {h.gi_z:5.1f}  {h.persistence}",
                file=err,
            )


@contextmanager
def _batch_memory_pool() -> Iterator[None]:
    """pyarrow allocates from jemalloc inside the block, when the build has it; then as before.

    ``rasure hotspots analyse`` makes and frees arrays of hundreds of MiB one after another; with
    pyarrow's default allocator (mimalloc) each one comes as fresh pages from the system, and on a
    2-core VM the page faults cost as much CPU as the allocations' work (1 M police.uk rows: about
    2.5 s system time, against about 1.4 s with jemalloc, at a lower peak RSS). The values computed do
    not depend on the allocator; each buffer goes back to the pool it came from, so restoring the
    previous default afterwards is safe."""
    import pyarrow as pa

    before = pa.default_memory_pool()
    with suppress(NotImplementedError):  # a pyarrow built without jemalloc (e.g. Windows): the default
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)


def cmd_analyse(args: argparse.Namespace) -> int:
    """``rasure hotspots analyse``: hot spots from files, written to a file (see :func:`_analyse`)."""
    with _batch_memory_pool():
        return _analyse(args)


def _analyse(args: argparse.Namespace) -> int:
    """Read the files, classify and weigh the records, analyse them, print the summary, write the output."""
    import pandas as pd

    from rasure import classify as sv
    from rasure import harm as harm_mod
    from rasure.derived import derive
    from rasure.geo import BNG, projected_crs
    from rasure.hotspots.analysis import analyse, to_csv_frame, to_geojson
    from rasure.ingest.common import expand_paths

    files = expand_paths(args.paths)
    crs = projected_crs(args.crs) if args.crs else BNG
    # the readers store easting/northing in ``crs`` and refuse, by line, points outside its area of use
    if args.mapping:
        from rasure.ingest.mapped import load_mapping, read_mapped

        m = load_mapping(args.mapping)
        parsed = [read_mapped(f, mapping=m, crs=crs) for f in files]
        records = pd.concat([p.records for p in parsed], ignore_index=True)
        del parsed  # the files' own frames, copied into `records`: free them before the next copies
        # a later file's row wins for a repeated reference (files are in name order)
        records = records.drop_duplicates(subset=["source", "reference"], keep="last").reset_index(drop=True)
    else:
        from rasure.ingest.policeuk import read_street_files

        # only the columns the analysis uses, all files checked and converted together; a later file's
        # row wins for a repeated reference (files are in name order: police.uk months)
        records = read_street_files(files, crs=crs)
    table = harm_mod.read_harm_file(args.harm) if args.harm else harm_mod.default_harm_table()
    scope = sv.load_scope(args.scope) if args.scope else sv.load_scope()
    records = pd.concat([records, derive(records, scope=scope, table=table)], axis=1)
    register = None
    if args.institutions:
        from rasure.institutions import read_institutions

        register = read_institutions(args.institutions, crs=crs)
    study_area = None
    if args.boundaries:
        from rasure.areas import dissolve, read_areas

        study_area = dissolve(list(read_areas(args.boundaries, crs=crs).frame["geometry"]))
    result = analyse(records, params=_params(args, crs), register=register, study_area=study_area)
    # the serious-violence rows' columns the labels read, taken once (not every column of them, twice)
    sv_rows = records.loc[
        records["serious_violence"].to_numpy(dtype=bool), ["sv_basis", "offence_code", "category"]
    ]
    labels = {
        "serious_violence": sv.basis_label(sv_rows["sv_basis"]),
        "scope": scope.label,
        "harm": harm_mod.coverage_label(table, sv_rows),
        "crs": f"distances in metres of {crs}",
    }
    _print_summary(result, labels)
    if args.format == "csv":
        from rasure.spreadsheet import neutralise_frame

        out = neutralise_frame(to_csv_frame(result))  # CSV formula injection: text cells made safe
        if args.out:
            out.to_csv(args.out, index=False)
        else:
            out.to_csv(sys.stdout, index=False)
    else:
        text = json.dumps(to_geojson(result, labels=labels), indent=1)
        if args.out:
            with open(args.out, "w", encoding="utf-8") as fh:
                fh.write(text)
        else:
            print(text)
    if args.out:
        print(f"Wrote {len(result.hotspots)} hot spots to {args.out}", file=sys.stderr)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from rasure_web.cli import open_database

    open_database()
    import os

    from rasure import classify as sv
    from rasure_web.accounts.tenancy import force_crs, resolve_force
    from rasure_web.analysis.services import hotspots_build

    crs = force_crs(resolve_force(args.force))
    register = None
    if args.institutions:
        from rasure.institutions import read_institutions

        register = read_institutions(args.institutions, crs=crs)
    run = hotspots_build(
        username=os.environ.get("USER", ""),
        params=_params(args, crs),
        scope=sv.load_scope(args.scope) if args.scope else None,
        register=register,
        include_partner_data=args.include_partner_data,
        partner_harm_code=args.partner_harm_code,
        force=args.force,
    )
    from rasure_web.cli import _warm_dashboard

    _warm_dashboard()
    if run.labels.get("partner_data"):
        print(f"This run {run.labels['partner_data']}.")
    print(
        f"Analysis run {run.pk} for force {run.tenant.code}: {run.hotspots.count()} hot spots, window {run.window_start} to {run.window_end}, "
        f"{run.records_in_window:,} records, input {run.input_sha256[:12]}, version {run.version}"
    )
    for n in run.notes:
        print(f"  note: {n}")
    for label in run.labels.values():
        print(f"  {label}")
    for h in run.hotspots.all()[:10]:
        print(f"   {h.code} {h.name[:40]:<40} count {h.count:6.0f}  harm {h.harm:9,.0f}  {h.persistence}")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cell-size-m", type=float, default=150.0)
    p.add_argument("--shape", choices=["square", "hex"], default="square")
    p.add_argument("--top", type=int, default=40, help="hot spots per period")
    p.add_argument("--window-months", type=int, default=12)
    p.add_argument("--end", help="last day of the window (YYYY-MM-DD); default: the last date in the data")
    p.add_argument("--periods", choices=["auto", "day-night", "all"], default="auto")
    p.add_argument("--min-spacing-m", type=float, default=500.0)
    p.add_argument("--min-count", type=float, default=5.0, help="crimes a place needs in the window")
    p.add_argument("--permutations", type=int, default=999, help="Gi* permutations (0 = analytic only)")
    p.add_argument("--seed", type=int, default=20260401)


def add_hotspot_commands(sub: Any) -> None:
    from rasure_web.cli import add_force_option

    h = sub.add_parser("hotspots", help="hot-spot analysis")
    hs = h.add_subparsers(dest="hotspots_cmd", required=True)
    a = hs.add_parser(
        "analyse", help="file in, file out: hot spots from police.uk files or an export (no database)"
    )
    a.add_argument("paths", nargs="+")
    a.add_argument("--mapping", help="TOML column mapping, for a force's own export")
    a.add_argument("--harm", help="harm table (official CCHI .xlsx or .csv); default: built-in approximation")
    a.add_argument("--institutions", help="institution register (.csv or .geojson) to hold apart")
    a.add_argument("--scope", metavar="FILE", help="the force's serious-violence scope table (CSV)")
    a.add_argument(
        "--crs",
        metavar="EPSG",
        help="the force's projected CRS in metres (default 27700, British National Grid)",
    )
    a.add_argument(
        "--boundaries", metavar="FILE", help="the force's boundary file: concentration counts its cells only"
    )
    a.add_argument("--out", help="output file (default: standard output)")
    a.add_argument("--format", choices=["geojson", "csv"], default="geojson")
    _common(a)
    a.set_defaults(func=cmd_analyse)
    b = hs.add_parser("build", help="analyse the database and store the hot spots for the app and dashboard")
    b.add_argument(
        "--scope", metavar="FILE", help="classify with this scope table instead of the one in force"
    )
    b.add_argument(
        "--institutions", metavar="FILE", help="this institution register instead of the stored one"
    )
    _common(b)
    b.add_argument(
        "--include-partner-data",
        action="store_true",
        help="count partners' emergency-department assaults too; the run is labelled 'includes partner data'",
    )
    b.add_argument(
        "--partner-harm-code",
        default="8N",
        metavar="CODE",
        help="offence code whose harm weight each partner assault gets (default 8N, assault with injury)",
    )
    add_force_option(b)
    b.set_defaults(func=cmd_build)
    r = hs.add_parser(
        "review", help="places held apart (recording addresses, institutions) and decisions on them"
    )
    r.add_argument("--decide", type=int, metavar="N", help="number of the place in the list to decide on")
    r.add_argument("--as", dest="decision", choices=["keep_out", "hot_spot"], help="the decision")
    r.add_argument("--note", default="", help="why (kept with the decision)")
    add_force_option(r)
    r.set_defaults(func=cmd_review)


def cmd_review(args: argparse.Namespace) -> int:
    from rasure_web.cli import open_database

    open_database()
    import os

    from rasure_web.accounts.tenancy import resolve_force
    from rasure_web.analysis.selectors import held_apart
    from rasure_web.analysis.services import place_decide

    tenant = resolve_force(args.force).pk
    places = held_apart(tenant=tenant)
    if args.decide is not None:
        if not args.decision or not 1 <= args.decide <= len(places):
            print(
                f"rasure hotspots review: give --decide 1..{len(places)} and --as keep_out|hot_spot",
                file=sys.stderr,
            )
            return 2
        pl = places[args.decide - 1]
        place_decide(
            location=pl["location"],
            easting=pl["easting"],
            northing=pl["northing"],
            decision=args.decision,
            note=args.note,
            username=os.environ.get("USER", ""),
            tenant=tenant,
        )
        print(f"Decided: {pl['location']} -> {args.decision}. The next `rasure hotspots build` uses it.")
        return 0
    if not places:
        print("No places held apart in the current run.")
        return 0
    print(
        f"{len(places)} place(s) held apart in the current run (decide with --decide N --as keep_out|hot_spot):"
    )
    for i, pl in enumerate(places, start=1):
        print(
            f"{i:3d}. [{pl['period']}] {pl['location']} at {pl['easting']:.0f}, {pl['northing']:.0f}  "
            f"count {pl['count']:.0f}  harm {pl['harm']:,.0f}  "
            f"decision: {pl['decision'] or 'not reviewed'}\n      {pl['reason']}"
        )
    return 0
