"""``rasure force add|list`` and ``rasure users import``.

Exit codes: 0 success; 1 the file has bad rows (nothing changed); 2 wrong usage or a refused request.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def _db() -> None:
    from rasure_web.cli import open_database

    open_database()


def _actor() -> Any:
    from rasure_web.trials.lifecycle import CliActor

    return CliActor(username=f"cli:{os.environ.get('USER', '') or 'unknown'}")


def cmd_force(args: argparse.Namespace) -> int:
    _db()
    from rasure_web.accounts.services import force_add, force_list

    if args.force_cmd == "add":
        f = force_add(code=args.code, name=args.name, time_zone=args.timezone, crs=args.crs, user=_actor())
        print(f"Force {f.code}: {f.name} (time zone {f.time_zone}, CRS {f.crs})")
        return 0
    rows = force_list()
    if not rows:
        print("No forces yet. Add one with: rasure force add CODE --name NAME")
        return 0
    print(f"{'code':<10}{'name':<44}{'time zone':<18}{'CRS':<12}{'teams':>6}{'users':>7}")
    for r in rows:
        label = r["name"] + (" [synthetic]" if r["synthetic"] and "synthetic" not in r["name"] else "")
        print(
            f"{r['code']:<10}{label:<44}{r['time_zone']:<18}{r['crs']:<12}{r['teams']:>6}{r['active_users']:>7}"
        )
    return 0


def cmd_users_import(args: argparse.Namespace) -> int:
    _db()
    from rasure.errors import InputFileError
    from rasure_web import clock
    from rasure_web.accounts.services import UsersImportError, users_import, write_problems
    from rasure_web.cli import print_problems

    try:
        report = users_import(
            path=args.file,
            user=_actor(),
            when=clock.now(),
            default_force=args.force,
            dry_run=args.dry_run,
            deactivate_missing=args.deactivate_missing,
        )
    except InputFileError as exc:
        print(f"REJECTED (nothing was changed): {exc}", file=sys.stderr)
        return 1
    except UsersImportError as exc:
        print(f"REJECTED (nothing was changed): {exc}", file=sys.stderr)
        print_problems(exc.problems, limit=50)
        if args.errors_out:
            n = write_problems(exc.problems, args.errors_out)
            print(f"{n} problem(s) written to {args.errors_out}", file=sys.stderr)
        return 1
    if report.dry_run:
        print("DRY RUN: nothing was changed. This is what the import would do:")
    for name in report.created[:200]:
        print(f"  create {name}")
    if len(report.created) > 200:
        print(f"  ... and {len(report.created) - 200} more to create")
    for name, fields in report.updated[:200]:
        print(f"  update {name}: {', '.join(fields)}")
    if len(report.updated) > 200:
        print(f"  ... and {len(report.updated) - 200} more to update")
    if report.deactivated:
        verb = "would deactivate" if report.dry_run else "deactivated"
        print(f"  {verb} (active in the force, not in the file): {', '.join(report.deactivated)}")
    print(report.summary())
    if report.created:
        print(
            "New users have no usable password: they sign in through your single sign-on, "
            "or an administrator sets a password (rasure manage changepassword USERNAME, or the admin)."
        )
    return 0


def cmd_users_grant(args: argparse.Namespace) -> int:
    _db()
    from rasure_web import clock
    from rasure_web.accounts.services import force_grant_add, force_grant_revoke

    if args.users_cmd == "revoke":
        n = force_grant_revoke(username=args.username, force=args.force, user=_actor(), when=clock.now())
        print(f"{n} grant(s) of {args.username} to {args.force.upper()} revoked (logged)")
        return 0
    g = force_grant_add(
        username=args.username,
        force=args.force,
        reason=args.reason,
        user=_actor(),
        when=clock.now(),
        until=args.until,
    )
    until = f" until {g.until}" if g.until else " until revoked"
    print(
        f"{args.username} may now see force {g.force.code}'s data{until} (logged). They switch force "
        "from the menu at the top of the dashboard."
    )
    return 0


def add_user_commands(sub: Any) -> None:
    f = sub.add_parser("force", help="police forces using this installation")
    fsub = f.add_subparsers(dest="force_cmd", required=True)
    fa = fsub.add_parser("add", help="add a force")
    fa.add_argument("code", help="short uppercase code, e.g. TVP")
    fa.add_argument("--name", required=True, help="the force's name")
    fa.add_argument("--timezone", default="Europe/London", help="IANA time zone (default Europe/London)")
    fa.add_argument(
        "--crs",
        default="EPSG:27700",
        help="the force's projected CRS in metres, which all its coordinates are stored in "
        "(default EPSG:27700, British National Grid); fixed once the force holds records",
    )
    fa.set_defaults(func=cmd_force)
    fsub.add_parser("list", help="the forces, their teams and active users").set_defaults(func=cmd_force)

    u = sub.add_parser("users", help="user accounts")
    usub = u.add_subparsers(dest="users_cmd", required=True)
    ui = usub.add_parser("import", help="create or update users from a CSV file (see docs/users.md)")
    ui.add_argument("file", help="CSV: username,full_name,email,collar_number,force,organisation,team,roles")
    ui.add_argument("--force", metavar="CODE", help="force for rows whose force is empty")
    ui.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
    ui.add_argument(
        "--deactivate-missing",
        action="store_true",
        help="deactivate active (non-superuser) users of the force who are not in the file, and list them",
    )
    ui.add_argument("--errors-out", metavar="FILE", help="write every problem to this CSV")
    ui.set_defaults(func=cmd_users_import)
    from datetime import date

    ug = usub.add_parser(
        "grant", help="let a user see another force's data too (a regional or national role; logged)"
    )
    ug.add_argument("username")
    ug.add_argument("--force", required=True, metavar="CODE", help="the force they may see")
    ug.add_argument("--reason", required=True, help="why (kept and logged)")
    ug.add_argument(
        "--until", type=date.fromisoformat, metavar="YYYY-MM-DD", help="last day (default: until revoked)"
    )
    ug.set_defaults(func=cmd_users_grant)
    ur = usub.add_parser("revoke", help="end a user's grant to another force (logged)")
    ur.add_argument("username")
    ur.add_argument("--force", required=True, metavar="CODE")
    ur.set_defaults(func=cmd_users_grant)
