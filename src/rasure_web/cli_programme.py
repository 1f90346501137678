"""``rasure programme outputs``: the logic model's outputs (S3), counted from the database for one
force (``--force CODE``, default the only one) or across every force when asked (``--all-forces``).

Exit codes: 0 success; 2 wrong usage (also: no --force on an installation of several forces).
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def cmd_programme_outputs(args: argparse.Namespace) -> int:
    from rasure_web.cli import open_database

    open_database()
    from rasure_web import clock
    from rasure_web.accounts.models import Force
    from rasure_web.accounts.tenancy import resolve_force
    from rasure_web.programme.services import OUTPUT_KEYS, programme_outputs

    today = clock.local_today(args.timezone)
    if args.all_forces:
        out = programme_outputs(today=today, weeks=args.weeks, all_forces=True)
        who = (
            "across all forces ("
            + ", ".join(Force.objects.order_by("code").values_list("code", flat=True))
            + ")"
        )
    else:
        force = resolve_force(args.force)
        out = programme_outputs(today=today, weeks=args.weeks, force_id=force.pk)
        who = f"of force {force.code}"
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    w = out["window"]
    print(
        f"Programme outputs {who} ({w['weeks']} full weeks {w['first_day']} to {w['last_day']} for patrols):"
    )
    labels = {
        "officers_trained": "officers trained",
        "patrols_per_week": "patrols in hot spots a week",
        "high_risk_areas": "hot spots identified (current analysis)",
        "operations_funded": "operations funded",
        "partners_engaged": "partner organisations engaged",
        "forces_using": "forces using the app",
    }
    for key in OUTPUT_KEYS:
        print(f"  {labels[key]:<42}{out[key]:>8}")
    return 0


def _weeks(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("--weeks must be 1 or more")
    return n


def add_programme_commands(sub: Any) -> None:
    from rasure_web.cli import add_force_option

    p = sub.add_parser("programme", help="the programme around the patrols: outputs, operations, training")
    psub = p.add_subparsers(dest="programme_cmd", required=True)
    o = psub.add_parser("outputs", help="the logic model's outputs, counted from the database")
    o.add_argument("--json", action="store_true", help="print JSON with the six output keys and the window")
    o.add_argument("--weeks", type=_weeks, default=12, help="full weeks counted for patrols (default 12)")
    o.add_argument("--timezone", default=None, help="time zone for 'today' (default: the installation's)")
    which = o.add_mutually_exclusive_group()
    add_force_option(which)
    which.add_argument(
        "--all-forces",
        action="store_true",
        help="count across every force on this installation (said in the output)",
    )
    o.set_defaults(func=cmd_programme_outputs)
