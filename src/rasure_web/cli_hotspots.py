"""``rasure hotspots ...`` sub-commands (filled in by the hot-spot engine)."""

from __future__ import annotations

import argparse
from typing import Any


def add_hotspot_commands(sub: Any) -> None:
    h = sub.add_parser("hotspots", help="hot-spot analysis")
    h.add_subparsers(dest="hotspots_cmd", required=True)
    _ = argparse
