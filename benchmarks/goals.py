"""One row of `make bench`'s closing table: a figure, its floor or peer measured in the same run, the
ratio between them and the goal it is held to.

Each benchmark prints its own detailed lines and, for every goal it measures, one machine-readable
``GOAL {json}`` line through :func:`record`; ``benchmarks/run_all.py`` gathers those lines from every
benchmark's output and prints them as one table at the end (work, figure, floor, ratio, goal, met).
"""

from __future__ import annotations

import json

PREFIX = "GOAL "


def record(work: str, figure: str, floor: str, ratio: str, goal: str, met: bool | None) -> None:
    """Print one goal row. ``met`` is None where the figure has no pass/fail (a context row)."""
    row = {
        "work": work,
        "figure": figure,
        "floor": floor,
        "ratio": ratio,
        "goal": goal,
        "met": None if met is None else bool(met),
    }
    print(PREFIX + json.dumps(row, ensure_ascii=False), flush=True)


def parse(line: str) -> dict[str, object] | None:
    """The row a ``GOAL`` line carries, or None for any other line."""
    if not line.startswith(PREFIX):
        return None
    try:
        row = json.loads(line[len(PREFIX) :])
    except json.JSONDecodeError:
        return None
    return row if isinstance(row, dict) else None


def table(rows: list[dict[str, object]]) -> str:
    """The rows as a Markdown table (as pasted into a release note)."""
    head = "| work | figure | floor / peer, same run | ratio | goal | met? |\n|---|---|---|---|---|---|"
    mark = {True: "yes", False: "**no**", None: "—"}
    body = [
        f"| {r['work']} | {r['figure']} | {r['floor']} | {r['ratio']} | {r['goal']} | {mark[r.get('met')]} |"  # type: ignore[index]
        for r in rows
    ]
    return "\n".join([head, *body])
