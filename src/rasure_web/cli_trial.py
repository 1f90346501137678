"""``rasure trial ...`` sub-commands."""

from __future__ import annotations

from typing import Any


def add_trial_commands(sub: Any) -> None:
    t = sub.add_parser("trial", help="randomised trial: create, commit, schedule, verify, power, export")
    t.add_subparsers(dest="trial_cmd", required=True)
