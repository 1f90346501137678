"""Tasked and untasked presence: which radio / vehicle (AVLS) minutes in a hot spot were part of a tasked visit.

Requirement P8 and issue 15 (S2): patrol monitoring shows the minutes officers were *sent* to a hot spot
(tasked visits, started and ended in the patrol app) beside the minutes radios and vehicles were seen
there otherwise (untasked presence: response, passing through, local knowledge).

**The overlap rule.** An AVLS presence row is one visit found in radio pings by
:func:`rasure.patrol.avls.presence_in_hotspots`: hot spot ``h``, person ``p``, interval
``[start, end]`` and ``minutes`` credited. A tasked window is the interval of an app visit by ``p`` (or an
officer crewed with them) to the same hot spot ``h``. Then, with ``U`` the union of those windows::

    tasked_minutes   = minutes × |[start, end] ∩ U| / (end − start)      when end > start
    tasked_minutes   = minutes if start ∈ U else 0                        when end = start (one fix)
    untasked_minutes = minutes − tasked_minutes

So the radio's minutes are split in proportion to the time the presence overlaps a tasked visit of the
same person at the same hot spot; a tasked visit at another hot spot never makes presence tasked, and
windows of one person that overlap each other are counted once (the union). Presence of a person who
had no tasked visit (a call sign that matches no app user, for instance) is wholly untasked.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import pandas as pd

from rasure.errors import InputFileError

PRESENCE_NEEDS = ("hotspot_id", "person", "start", "end", "minutes")
WINDOW_NEEDS = ("hotspot_id", "person", "start", "end")


def _check(frame: pd.DataFrame, needs: Sequence[str], name: str) -> None:
    missing = [c for c in needs if c not in frame.columns]
    if missing:
        raise InputFileError(name, f"missing column(s) {missing}", hint=f"give columns {list(needs)}")


def _union(intervals: list[tuple[pd.Timestamp, pd.Timestamp]]) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Sorted, non-overlapping union of closed intervals."""
    merged: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def _tasked_share(
    s: pd.Timestamp, e: pd.Timestamp, windows: list[tuple[pd.Timestamp, pd.Timestamp]]
) -> float:
    if e <= s:
        return 1.0 if any(ws <= s <= we for ws, we in windows) else 0.0
    covered = 0.0
    for ws, we in windows:
        lo, hi = max(s, ws), min(e, we)
        if hi > lo:
            covered += (hi - lo).total_seconds()
    return min(1.0, covered / (e - s).total_seconds())


def split_tasked(presence: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """``presence`` with ``tasked_minutes`` and ``untasked_minutes`` added, by the overlap rule above.

    ``presence`` has ``hotspot_id``, ``person``, ``start``, ``end`` (timezone-aware), ``minutes``;
    ``windows`` has ``hotspot_id``, ``person``, ``start``, ``end`` (one row per person per tasked visit:
    repeat the visit for each crew member). Windows with ``end`` before ``start`` are refused.
    """
    _check(presence, PRESENCE_NEEDS, "presence")
    _check(windows, WINDOW_NEEDS, "tasked windows")
    out = presence.copy()
    if out.empty:
        out["tasked_minutes"] = pd.Series(dtype="float64")
        out["untasked_minutes"] = pd.Series(dtype="float64")
        return out
    bad = windows[pd.to_datetime(windows["end"], utc=True) < pd.to_datetime(windows["start"], utc=True)]
    if not bad.empty:
        first = bad.iloc[0]
        raise InputFileError(
            "tasked windows",
            f"window of {first['person']!r} at hot spot {first['hotspot_id']!r} ends before it starts",
            hint="give each tasked visit an end at or after its start",
        )
    by_key: dict[tuple[Hashable, Hashable], list[tuple[pd.Timestamp, pd.Timestamp]]] = {}
    for h, p, s, e in zip(
        windows["hotspot_id"],
        windows["person"],
        pd.to_datetime(windows["start"], utc=True),
        pd.to_datetime(windows["end"], utc=True),
        strict=True,
    ):
        by_key.setdefault((h, p), []).append((s, e))
    unions = {key: _union(v) for key, v in by_key.items()}
    starts = pd.to_datetime(out["start"], utc=True)
    ends = pd.to_datetime(out["end"], utc=True)
    shares = [
        _tasked_share(s, e, unions.get((h, p), []))
        for h, p, s, e in zip(out["hotspot_id"], out["person"], starts, ends, strict=True)
    ]
    minutes = out["minutes"].astype("float64")
    out["tasked_minutes"] = minutes * pd.Series(shares, index=out.index, dtype="float64")
    out["untasked_minutes"] = minutes - out["tasked_minutes"]
    return out
