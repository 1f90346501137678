"""``rasure``: the one command line.

File-in/file-out analysis (``rasure hotspots analyse``) needs no database. Everything else
works on the database configured by ``DATABASE_URL`` (or SQLite in ``$RASURE_HOME``/``./var``),
migrating it first if needed.

Exit codes: 0 success; 1 some input was rejected (nothing from that file imported);
2 wrong usage or configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from rasure.errors import RasureError


def setup_django() -> None:
    """Set Django up (settings from the environment), without touching the database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rasure_web.settings")
    import django

    django.setup()


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def open_database() -> None:
    """Set Django up and migrate the configured database: what every command that uses the database does first."""
    setup_django()
    _migrate()


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def print_problems(problems: Sequence[object], *, limit: int) -> None:
    """The first ``limit`` problems of a rejected file on stderr, and how to get the rest."""
    for p in problems[:limit]:
        print(f"  - {p}", file=sys.stderr)
    if len(problems) > limit:
        print(
            f"  ... and {len(problems) - limit} more (use --errors-out FILE to get them all)",
            file=sys.stderr,
        )


def _warm_dashboard() -> None:
    from rasure_web.dashboard.selectors import warm_cache

    warm_cache()


def add_force_option(p: Any) -> None:
    """``--force CODE`` on a command that reads or writes one force's data (default: the only force);
    ``p`` is a parser or an argument group of one (e.g. beside ``--all-forces``)."""
    p.add_argument(
        "--force",
        metavar="CODE",
        help="the force whose data this is (default: the only force; required when there are several)",
    )


def _print_force_tables(code: str | None) -> None:
    """Which force's scope and harm tables classified and weighed its records (each force has its own)."""
    from rasure_web.accounts.tenancy import resolve_force
    from rasure_web.crimes.scope import scope_label
    from rasure_web.crimes.selectors import harm_label_for_data
    from rasure_web.crimes.services import harm_table_current

    force = resolve_force(code)
    print(f"Force {force.code}: {scope_label(tenant=force.pk)}")
    print(f"  {harm_label_for_data(harm_table_current(tenant=force.pk), tenant=force.pk)}")


def cmd_import(args: argparse.Namespace) -> int:
    if getattr(args, "print_template", False):
        from rasure.ingest.mapped import template_path

        print(template_path().read_text(encoding="utf-8"))
        return 0
    if not args.paths:
        print("rasure import: give at least one file, folder or glob", file=sys.stderr)
        return 2
    open_database()
    from rasure_web.crimes import services

    user = os.environ.get("USER", "")
    if args.kind == "police-uk":
        reports = services.records_import_policeuk(
            paths=args.paths, username=user, progress=_progress, force=args.force
        )
    else:
        if not args.mapping:
            print("rasure import records: --mapping FILE is required (see --print-template)", file=sys.stderr)
            return 2
        reports = services.records_import_mapped(
            paths=args.paths, mapping=args.mapping, username=user, progress=_progress, force=args.force
        )
    rejected = [r for r in reports if not r.ok]
    _warm_dashboard()
    if args.errors_out:
        n = services.write_errors_out(reports, args.errors_out)
        print(f"{n} rejected row(s) written to {args.errors_out}", file=sys.stderr)
    ins = sum(r.inserted for r in reports)
    upd = sum(r.updated for r in reports)
    unch = sum(r.unchanged for r in reports)
    print(
        f"{len(reports) - len(rejected)} file(s) imported, {len(rejected)} rejected; "
        f"records: {ins} new, {upd} updated, {unch} unchanged"
    )
    _print_force_tables(args.force)
    for r in rejected:
        print(f"\nREJECTED (nothing from it was imported): {r.error}", file=sys.stderr)
        print_problems(r.problems, limit=20)
    return 1 if rejected else 0


def cmd_import_avls(args: argparse.Namespace) -> int:
    """Radio / vehicle location pings → presence in every hot spot (treated and control)."""
    from rasure.errors import InputFileError, InvalidRowsError
    from rasure.patrol.avls import load_avls_mapping

    mapping = load_avls_mapping(args.mapping) if args.mapping else None
    open_database()
    from rasure_web.patrols.models import AvlsImport
    from rasure_web.patrols.services import avls_import

    known = set(AvlsImport.objects.values_list("pk", flat=True))
    try:
        record = avls_import(path=args.file, mapping=mapping, force=args.force)
    except (InputFileError, InvalidRowsError) as exc:
        print(f"REJECTED (nothing from it was imported): {exc}", file=sys.stderr)
        if isinstance(exc, InvalidRowsError):
            print_problems(exc.problems, limit=20)
        return 1
    if record.pk in known:
        print(
            f"{args.file}: already imported on {record.imported_at:%Y-%m-%d %H:%M} (same contents): nothing changed"
        )
        return 0
    print(
        f"{args.file}: {record.rows_read} pings from {record.officers} officer(s) or call sign(s); "
        f"{record.visits} stretch(es) of presence in hot spots stored"
    )
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    open_database()
    from rasure_web.crimes.selectors import records_summary

    s = records_summary(force=args.force)
    if args.json:
        print(json.dumps(s, indent=2, default=str))
        return 0
    print(f"Records: {s['records']:,} ({s['without_location']:,} without location, kept off maps)")
    print(
        f"Serious violence: {s['serious_violence']:,}  harm: {s['harm_days']:,.1f} days"
        f"  knife-enabled: {s['knife_enabled']:,}  gun crime: {s['gun_crime']:,}"
    )
    print(f"  basis: {s['serious_violence_basis']}")
    print(f"  {s['harm_weights']}")
    print(f"Period: {s['first_day']} to {s['last_day']} (local dates); last import {s['last_import_local']}")
    print(f"\n{'Category':<40}{'records':>10}{'serious viol.':>15}{'harm (days)':>15}")
    for cat, v in s["by_category"].items():
        print(f"{cat:<40}{v['records']:>10,}{v['serious_violence']:>15,}{v['harm_days']:>15,.1f}")
    return 0


def cmd_harm(args: argparse.Namespace) -> int:
    open_database()
    from rasure_web.accounts.tenancy import resolve_force
    from rasure_web.crimes import services
    from rasure_web.crimes.selectors import harm_label_for_data

    if args.harm_cmd == "load":
        table = services.harm_load(
            path=args.file,
            username=os.environ.get("USER", ""),
            official=not args.unofficial,
            force=args.force,
        )
        force = resolve_force(args.force)
        print(f"Loaded the harm table {args.file} for force {force.code}; its records' harm recomputed.")
        print(harm_label_for_data(table, tenant=force.pk))
        _warm_dashboard()
        return 0
    force = resolve_force(args.force)
    table = services.harm_table_current(tenant=force.pk)
    print(f"Force {force.code} ({force.name}): " + harm_label_for_data(table, tenant=force.pk))
    print(table.rows[["key_type", "key", "description", "cchi_days", "source"]].to_string(index=False))
    print("Sources and method: docs/methods.md §1.3 (in the Rasure repository)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    open_database()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "rasure_web.wsgi:application",
        "--bind",
        f"{args.host}:{args.port}",
        "--workers",
        str(args.workers),
        "--access-logfile",
        "-",
        "--timeout",
        "120",
    ]
    print(f"Rasure serving on http://{args.host}:{args.port}/ (Ctrl-C to stop)", flush=True)
    os.execv(argv[0], argv)


def cmd_manage(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rasure_web.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["rasure manage", *args.rest])
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    setup_django()
    from rasure_web.demo import run_demo

    return run_demo(host=args.host, port=args.port, serve=not args.no_serve, scale=args.scale)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rasure", description="Rasure: hot-spot policing of serious violence.")
    sub = p.add_subparsers(dest="cmd", required=True)

    d = sub.add_parser("demo", help="synthetic city, demo users, hot spots, and the server")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8000)
    d.add_argument(
        "--scale", type=float, default=1.0, help="size of the synthetic city (1.0 = about 20k crimes)"
    )
    d.add_argument("--no-serve", action="store_true", help="load everything, then exit")
    d.set_defaults(func=cmd_demo)

    imp = sub.add_parser("import", help="import crime records")
    isub = imp.add_subparsers(dest="kind", required=True)
    pu = isub.add_parser(
        "police-uk", help="police.uk street and outcomes files (.csv, .csv.gz, folders, globs)"
    )
    pu.add_argument("paths", nargs="+")
    pu.add_argument(
        "--errors-out", metavar="FILE", help="write every rejected row, with its reason, to this CSV"
    )
    add_force_option(pu)
    pu.set_defaults(func=cmd_import)
    rec = isub.add_parser("records", help="a force's own export through a TOML column mapping")
    rec.add_argument("paths", nargs="*")
    rec.add_argument("--mapping", metavar="FILE", help="TOML column mapping (see --print-template)")
    rec.add_argument("--print-template", action="store_true", help="print a mapping template to start from")
    rec.add_argument("--errors-out", metavar="FILE")
    add_force_option(rec)
    rec.set_defaults(func=cmd_import)
    av = isub.add_parser(
        "avls", help="radio / vehicle location pings (AVLS, Airwave): presence in every hot spot"
    )
    av.add_argument("file")
    av.add_argument(
        "--mapping", metavar="FILE", help="TOML naming the export's columns, CRS and time zone (see docs)"
    )
    add_force_option(av)
    av.set_defaults(func=cmd_import_avls)

    r = sub.add_parser("records", help="what is loaded")
    rsub = r.add_subparsers(dest="records_cmd", required=True)
    s = rsub.add_parser("summary", help="counts by category, serious violence, harm, rows without location")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    add_force_option(s)
    s.set_defaults(func=cmd_summary)

    h = sub.add_parser("harm", help="harm weights (Cambridge Crime Harm Index)")
    hsub = h.add_subparsers(dest="harm_cmd", required=True)
    hl = hsub.add_parser("load", help="load the official CCHI spreadsheet (xlsx or csv) and recompute harm")
    hl.add_argument("file")
    hl.add_argument("--unofficial", action="store_true", help="a local table that is not the official CCHI")
    add_force_option(hl)
    hl.set_defaults(func=cmd_harm)
    hs = hsub.add_parser("show", help="the force's table and where each value comes from")
    add_force_option(hs)
    hs.set_defaults(func=cmd_harm)

    from rasure_web.cli_hotspots import add_hotspot_commands

    add_hotspot_commands(sub)
    from rasure_web.cli_trial import add_trial_commands

    add_trial_commands(sub)
    from rasure_web.cli_force import add_force_commands

    add_force_commands(sub)
    from rasure_web.cli_users import add_user_commands

    add_user_commands(sub)
    from rasure_web.cli_audit import add_audit_commands

    add_audit_commands(sub)
    from rasure_web.cli_patrol import add_patrol_commands

    add_patrol_commands(sub)
    from rasure_web.cli_backup import add_backup_commands

    add_backup_commands(sub)
    from rasure_web.cli_programme import add_programme_commands

    add_programme_commands(sub)
    from rasure_web.cli_people import add_people_commands

    add_people_commands(sub)
    from rasure_web.cli_partners import add_partner_commands

    add_partner_commands(sub)
    from rasure_web.cli_jobs import add_jobs_commands

    add_jobs_commands(sub)

    sv = sub.add_parser("serve", help="production WSGI server (gunicorn) with static files")
    sv.add_argument("--host", default=os.environ.get("RASURE_HOST", "127.0.0.1"))
    sv.add_argument("--port", type=int, default=int(os.environ.get("RASURE_PORT", "8000")))
    sv.add_argument("--workers", type=int, default=int(os.environ.get("RASURE_WORKERS", "2")))
    sv.set_defaults(func=cmd_serve)

    m = sub.add_parser("manage", help="Django's management commands (migrate, createsuperuser, ...)")
    m.add_argument("rest", nargs=argparse.REMAINDER)
    m.set_defaults(func=cmd_manage)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args: Any = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RasureError as exc:
        print(f"rasure: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
