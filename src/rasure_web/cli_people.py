"""``rasure people list``: a hot-people list for analysts' own tools, logged like any view.

Runs as a named account (``--user``), which needs the same roles and permission as the pages, and a
reason (``--reason``), recorded with the export in the access log. Exit codes: 0 success; 2 wrong
usage or refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def cmd_people_list(args: argparse.Namespace) -> int:
    from rasure_web.cli import open_database

    open_database()
    from django.contrib.auth import get_user_model
    from django.core.exceptions import PermissionDenied

    from rasure_web import clock
    from rasure_web.accounts.access import access_log_record
    from rasure_web.people import selectors as sel

    reason = sel.reason_text(args.reason)
    if reason is None:
        print(
            f"rasure: unknown --reason {args.reason!r}; use one of: {', '.join(sel.REASONS)}", file=sys.stderr
        )
        return 2
    user = get_user_model().objects.filter(username=args.user, is_active=True).first()
    if user is None:
        print(
            f"rasure: no active account {args.user!r} (give your own sign-in name with --user)",
            file=sys.stderr,
        )
        return 2
    today = clock.local_today()
    try:
        result = sel.people_list(
            user=user, kind=args.list, as_of=today, area_code=args.area, overdue=args.overdue
        )
    except PermissionDenied as exc:
        print(f"rasure: refused: {exc}", file=sys.stderr)
        return 2
    shown = [r.entry.person_id for r in result.rows]
    access_log_record(
        user=user,
        action="export",
        resource="people_export",
        object_ref=f"{args.list}{' overdue' if args.overdue else ''} {args.area}".strip(),
        detail=f"reason={args.reason} ({reason}); command line; shown: {', '.join(shown)}",
    )
    rows: list[dict[str, Any]] = [
        {
            "person_id": r.entry.person_id,
            "display_name": r.display_name,
            "synthetic": r.synthetic,
            "list": result.kind.value,
            "score": round(r.entry.score, 3),
            "reasons": list(r.entry.reasons),
            "crimes": list(r.entry.references),
            "last_event": r.entry.last_event.isoformat(),
            "review_due": r.entry.review_due.isoformat(),
        }
        for r in result.rows
    ]
    if args.json:
        print(json.dumps({"list": result.kind.value, "as_of": today.isoformat(), "people": rows}, indent=1))
    else:
        print(f"{result.title} on {today} ({len(rows)} people)")
        for row in rows:
            tag = " [synthetic]" if row["synthetic"] else ""
            print(f"{row['person_id']}{tag}  score {row['score']:.0f}  review by {row['review_due']}")
            for text in row["reasons"]:
                print(f"    {text}")
    return 0


def add_people_commands(sub: Any) -> None:
    from rasure.people import ListKind

    p = sub.add_parser("people", help="hot-people lists (restricted; every use is logged)")
    psub = p.add_subparsers(dest="people_cmd", required=True)
    pl = psub.add_parser("list", help="one list of people, with reasons and review dates")
    pl.add_argument("--user", required=True, help="your own sign-in name (needs the intelligence permission)")
    pl.add_argument(
        "--reason", required=True, help="why: plan, safeguarding, tasking, investigation, review, audit"
    )
    pl.add_argument("--list", default=ListKind.HARM.value, choices=[k.value for k in ListKind])
    pl.add_argument("--area", default="", help="code of a local policing area (default: whole force)")
    pl.add_argument(
        "--overdue", action="store_true", help="only entries past their review date (off the lists)"
    )
    pl.add_argument("--json", action="store_true", help="machine-readable output")
    pl.set_defaults(func=cmd_people_list)
