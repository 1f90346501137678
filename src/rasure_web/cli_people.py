"""``rasure people list``: a hot-people list for analysts' own tools, logged like any view;
``rasure people delete``: erase a person's entry (administrators); ``rasure people monitor``: the
lists' monitoring figures (counts only, no one named).

Runs as a named account (``--user``), which needs the same roles and permission as the pages, and a
reason (``--reason``), recorded with the export in the access log. Each acts for one force
(``--force CODE``: the account's own or one it holds a grant for; default the only force) and sees or
erases only that force's people. Exit codes: 0 success; 2 wrong usage or refused.
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
    from rasure_web.accounts.tenancy import act_for
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
        force = act_for(user, args.force)
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
        detail=(
            f"reason={args.reason} ({reason}); command line; force {force.code}; shown: {', '.join(shown)}"
        ),
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
        doc = {"force": force.code, "list": result.kind.value, "as_of": today.isoformat(), "people": rows}
        print(json.dumps(doc, indent=1))
    else:
        print(f"{result.title} on {today}, force {force.code} ({len(rows)} people)")
        for row in rows:
            tag = " [synthetic]" if row["synthetic"] else ""
            print(f"{row['person_id']}{tag}  score {row['score']:.0f}  review by {row['review_due']}")
            for text in row["reasons"]:
                print(f"    {text}")
    return 0


def _account(name: str) -> Any:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=name, is_active=True).first()
    if user is None:
        print(f"rasure: no active account {name!r} (give your own sign-in name with --user)", file=sys.stderr)
    return user


def cmd_people_delete(args: argparse.Namespace) -> int:
    from rasure_web.cli import open_database

    open_database()
    from django.core.exceptions import PermissionDenied

    from rasure_web.accounts.tenancy import act_for
    from rasure_web.people.erasure import ErasureError, person_erase

    user = _account(args.user)
    if user is None:
        return 2
    try:
        force = act_for(user, args.force)
        done = person_erase(
            user=user, person_ref=args.person_ref, reason=args.reason, via=f"command line, force {force.code}"
        )
    except PermissionDenied as exc:
        print(f"rasure: refused: {exc}", file=sys.stderr)
        return 2
    except ErasureError as exc:
        print(f"rasure: people delete: {exc}", file=sys.stderr)
        return 2
    print(
        f"erased {done.person_ref} of force {force.code}: the person, {done.links} link(s) to crimes, {done.reviews} review(s)"
        f"{' and the problem-solving plan' if done.plan else ''}; access log entry {done.log_seq}"
    )
    return 0


def cmd_people_monitor(args: argparse.Namespace) -> int:
    from rasure_web.cli import open_database

    open_database()
    from django.core.exceptions import PermissionDenied

    from rasure_web import clock
    from rasure_web.accounts.access import access_log_record
    from rasure_web.accounts.tenancy import act_for
    from rasure_web.people.monitoring import list_monitor, monitor_json

    user = _account(args.user)
    if user is None:
        return 2
    try:
        force = act_for(user, args.force)
        report = list_monitor(user=user, as_of=clock.local_today(), months=args.months)
    except PermissionDenied as exc:
        print(f"rasure: refused: {exc}", file=sys.stderr)
        return 2
    access_log_record(
        user=user,
        action="export",
        resource="people_monitor",
        detail=f"list monitoring: counts only, no one named; command line; force {force.code}",
    )
    doc = {"force": force.code, **monitor_json(report)}
    if args.json:
        print(json.dumps(doc, indent=1))
        return 0
    print(f"Hot-people lists of force {force.code} on {doc['as_of']}: people listed per list, month by month")
    for point in doc["series"]:
        counts = ", ".join(f"{k} {n}" for k, n in point["by_list"].items())
        print(f"  {point['date']}: {point['total']} people ({counts})")
    for kind, share in doc["share_reviewed"].items():
        text = "no entry reached its review date" if share is None else f"{share:.0%} reviewed in time"
        print(f"  {kind}: {text}")
    print(doc["protected_characteristics"])
    return 0


def add_people_commands(sub: Any) -> None:
    from rasure.people import ListKind
    from rasure_web.cli import add_force_option

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
    add_force_option(pl)
    pl.set_defaults(func=cmd_people_list)
    pd = psub.add_parser(
        "delete",
        help="erase a person: the person, their links to crimes, reviews and plan (administrators; logged)",
    )
    pd.add_argument("person_ref", metavar="PERSON_REF", help="the force's person id, as in the export")
    pd.add_argument("--reason", required=True, help="why, in words: the DPO's decision and its reference")
    pd.add_argument("--user", required=True, help="your own sign-in name (an administrator)")
    add_force_option(pd)
    pd.set_defaults(func=cmd_people_delete)
    pm = psub.add_parser(
        "monitor", help="who is listed by area and rule over time, and how many entries were reviewed"
    )
    pm.add_argument("--user", required=True, help="your own sign-in name (needs the intelligence permission)")
    pm.add_argument("--months", type=int, default=12, help="how many months back (default 12)")
    pm.add_argument("--json", action="store_true", help="machine-readable output")
    add_force_option(pm)
    pm.set_defaults(func=cmd_people_monitor)
