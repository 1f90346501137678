"""``rasure backup FILE``, ``rasure restore FILE --yes`` and ``rasure restore-drill FILE`` (rasure_web.backup).

Exit codes: 0 done / drill passed; 1 the drill's checks failed; 2 wrong usage or a failed backup or restore.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any


def cmd_backup(args: argparse.Namespace) -> int:
    from rasure_web.cli_trial import _db

    _db()
    from rasure_web.backup import backup

    t0 = time.perf_counter()
    size = backup(Path(args.file))
    print(f"Backup written to {args.file}: {size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s.")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    if not args.yes:
        print(
            "rasure: restore replaces everything in the database with the backup. Stop the server, then run "
            "again with --yes.",
            file=sys.stderr,
        )
        return 2
    from rasure_web.cli import setup_django

    setup_django()
    from rasure_web.backup import restore

    t0 = time.perf_counter()
    restore(Path(args.file))
    print(f"Restored {args.file} in {time.perf_counter() - t0:.1f} s. Now run `rasure audit verify`.")
    return 0


def cmd_drill(args: argparse.Namespace) -> int:
    from rasure_web.cli_trial import _db

    _db()
    from rasure_web.backup import restore_drill
    from rasure_web.trials.models import Trial

    trials = list(Trial.objects.exclude(status=Trial.Status.DRAFT).values_list("pk", flat=True))
    report = restore_drill(Path(args.file), trial_ids=trials, checkpoints=args.checkpoints or [])
    print(report.text())
    return 0 if report.ok else 1


def add_backup_commands(sub: Any) -> None:
    b = sub.add_parser("backup", help="back up the database (SQLite online backup, or pg_dump)")
    b.add_argument("file")
    b.set_defaults(func=cmd_backup)
    r = sub.add_parser("restore", help="replace the database with a backup (stop the server first)")
    r.add_argument("file")
    r.add_argument("--yes", action="store_true", help="yes, replace everything in the database")
    r.set_defaults(func=cmd_restore)
    d = sub.add_parser("restore-drill", help="restore a backup into a scratch database and check it")
    d.add_argument("file")
    d.add_argument("--checkpoints", action="append", metavar="FILE", help="access-log checkpoint file")
    d.set_defaults(func=cmd_drill)
