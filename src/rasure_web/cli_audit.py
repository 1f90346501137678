"""``rasure audit verify|checkpoint`` (the access log's hash chain) and ``rasure db roles`` (least privilege).

Exit codes: 0 intact / done; 1 the chain is broken (the first problem is named); 2 wrong usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _db() -> None:
    from rasure_web.cli import open_database

    open_database()


def cmd_verify(args: argparse.Namespace) -> int:
    _db()
    from rasure_web.accounts.chain import read_checkpoints, verify_chain
    from rasure_web.accounts.refusals import pending_flush

    n = pending_flush()  # refusals the database could not log at once (SQLite, inside a transaction)
    if n:
        print(f"{n} refusal(s) recorded while the database was busy written into the log first")
    checkpoints = []
    for name in args.checkpoints or []:
        checkpoints += read_checkpoints(Path(name))
    source = ", ".join(args.checkpoints or [])
    report = verify_chain(checkpoints, source=source)
    print(report.text(max_problems=args.max_problems))
    return 0 if report.ok else 1


def cmd_checkpoint(args: argparse.Namespace) -> int:
    _db()
    from rasure_web import clock
    from rasure_web.accounts.chain import checkpoint_append, head_checkpoint

    if args.out:
        line = checkpoint_append(Path(args.out), written_at=clock.now())
        print(f"Checkpoint appended to {args.out}", file=sys.stderr)
    else:
        line = head_checkpoint(written_at=clock.now()).to_line()
    if args.print or not args.out:
        print(line)  # e.g. `rasure audit checkpoint --print | logger -t rasure-audit`
    return 0


def cmd_roles(args: argparse.Namespace) -> int:
    from rasure_web.cli import setup_django

    setup_django()
    from django.db import connection

    from rasure_web.accounts.db_roles import roles_sql

    database = args.database or str(connection.settings_dict.get("NAME") or "")
    statements = roles_sql(database=database, owner=args.owner, app=args.app)
    if not args.apply:
        print("\n".join(statements))
        return 0
    if connection.vendor != "postgresql":
        print(
            "rasure: db roles --apply needs PostgreSQL (DATABASE_URL); SQLite has no roles.", file=sys.stderr
        )
        return 2
    from django.db import transaction

    with transaction.atomic(), connection.cursor() as cur:
        for sql in statements:
            cur.execute(sql)
    print(f"Roles ready on {database}: {args.owner} owns the tables (migrations), {args.app} runs the app.")
    return 0


def add_audit_commands(sub: Any) -> None:
    a = sub.add_parser("audit", help="the access log's hash chain: verify it, write checkpoints")
    asub = a.add_subparsers(dest="audit_cmd", required=True)
    v = asub.add_parser("verify", help="walk the chain and the checkpoints; name the first broken entry")
    v.add_argument("--checkpoints", action="append", metavar="FILE", help="checkpoint file (repeatable)")
    v.add_argument("--max-problems", type=int, default=20)
    v.set_defaults(func=cmd_verify)
    c = asub.add_parser("checkpoint", help="append the signed chain head to a file kept outside the database")
    c.add_argument("--out", metavar="FILE", help="append to this file (e.g. on another host's mount)")
    c.add_argument("--print", action="store_true", help="also print it (for syslog or a SIEM)")
    c.set_defaults(func=cmd_checkpoint)

    d = sub.add_parser("db", help="database administration")
    dsub = d.add_subparsers(dest="db_cmd", required=True)
    r = dsub.add_parser(
        "roles", help="PostgreSQL: an owner role for migrations and an app role that owns nothing (print SQL)"
    )
    r.add_argument("--owner", default="rasure_owner")
    r.add_argument("--app", default="rasure_app")
    r.add_argument("--database", help="database name (default: the one in DATABASE_URL)")
    r.add_argument("--apply", action="store_true", help="run the SQL now (as a superuser)")
    r.set_defaults(func=cmd_roles)
