"""``rasure patrol prune-pings``: delete GPS pings older than the retention period (logged).

Exit codes: 0 done; 2 wrong usage.
"""

from __future__ import annotations

import argparse
from typing import Any


def cmd_prune_pings(args: argparse.Namespace) -> int:
    from rasure_web.cli_trial import _actor, _db

    _db()
    from rasure_web import clock
    from rasure_web.patrols.retention import pings_prune

    result = pings_prune(now=clock.now(), user=_actor(), days=args.days, dry_run=args.dry_run)
    print(result.text())
    return 0


def add_patrol_commands(sub: Any) -> None:
    p = sub.add_parser("patrol", help="patrol records: retention")
    psub = p.add_subparsers(dest="patrol_cmd", required=True)
    r = psub.add_parser(
        "prune-pings", help="delete GPS pings older than RASURE_PING_RETENTION_DAYS (run daily)"
    )
    r.add_argument("--days", type=int, help="retention period in days (default: RASURE_PING_RETENTION_DAYS)")
    r.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")
    r.set_defaults(func=cmd_prune_pings)
