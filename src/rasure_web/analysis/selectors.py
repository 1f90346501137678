"""Selectors (reads) for hot-spot runs: the places held apart for an analyst to review (D5)."""

from __future__ import annotations

import math
from typing import Any

from rasure_web.analysis.models import AnalysisRun, PlaceDecision


def held_apart(*, tenant: int | None) -> list[dict[str, Any]]:
    """Places the force's current run held apart (``tenant``: the force's pk; None: no force, so
    none), each with its reason and the analyst's decision (if any). One entry per place and period,
    in the run's order."""
    if tenant is None:
        return []
    run = AnalysisRun.objects.filter(is_current=True, tenant_id=tenant).first()
    if run is None:
        return []
    decisions = list(PlaceDecision.objects.filter(tenant_id=tenant))
    out = []
    for h in run.held_out:
        loc = h.get("dominant_location") or h.get("institution") or f"cell {h.get('cell')}"
        e, n = float(h.get("easting") or 0.0), float(h.get("northing") or 0.0)
        cell = float(run.params.get("cell_size_m", 150.0))
        d = next(
            (x for x in decisions if x.location == loc and math.hypot(x.easting - e, x.northing - n) <= cell),
            None,
        )
        out.append(
            {
                "period": h.get("period", ""),
                "location": str(loc),
                "easting": e,
                "northing": n,
                "count": float(h.get("count") or 0.0),
                "harm": float(h.get("harm") or 0.0),
                "reason": h.get("exclusion_reason") or "",
                "decision": d.decision if d else "",
            }
        )
    return out
