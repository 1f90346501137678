"""Selectors (reads) for hot-spot runs: the places held apart for an analyst to review (D5)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
from django.db.models import Count

from rasure.institutions import location_text_keys
from rasure_web.analysis.models import AnalysisRun, PlaceDecision
from rasure_web.crimes.models import CrimeRecord


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


def name_places(
    *, tenant: int | None, places: list[dict[str, Any]], decisions: Sequence[PlaceDecision] = ()
) -> None:
    """Give each place of :func:`held_apart` (``name``, and its reason) and each decision
    (``shown_location``) the spelling its records use: the run keeps a case-folded key
    (:func:`rasure.institutions.location_text_keys`), so the most common spelling with the same key
    among the force's records around them (the box one cell beyond them all) is shown, in title case when the source is all capitals
    (:func:`display_case`), else the location as the run holds it. One query."""
    where = [(p["location"], p["easting"], p["northing"]) for p in places]
    where += [(d.location, d.easting, d.northing) for d in decisions]
    spelling: dict[str, str] = {}
    if where:
        run = AnalysisRun.objects.filter(is_current=True, tenant_id=tenant).first()
        cell = float((run.params if run is not None else {}).get("cell_size_m", 150.0))
        xs, ys = [w[1] for w in where], [w[2] for w in where]
        texts = (
            CrimeRecord.objects.filter(
                tenant_id=tenant,
                easting__gte=min(xs) - cell,
                easting__lte=max(xs) + cell,
                northing__gte=min(ys) - cell,
                northing__lte=max(ys) + cell,
                location_text__isnull=False,
            )
            .values_list("location_text")
            .annotate(n=Count("id"))
            .order_by("-n", "location_text")
        )
        rows = list(texts)
        keys = location_text_keys(pd.Series([t for t, _ in rows], dtype="string"))
        for (text, _), key in zip(rows, keys, strict=True):
            if isinstance(key, str):
                spelling.setdefault(key, display_case(str(text).strip()))

    def shown(location: str) -> str:
        key = location_text_keys(pd.Series([location], dtype="string")).iloc[0]
        return spelling.get(key, location) if isinstance(key, str) else location

    for p in places:
        p["name"] = shown(p["location"])
        if p["name"] != p["location"]:
            p["reason"] = str(p["reason"]).replace(f"'{p['location']}'", f"'{p['name']}'")
    for d in decisions:
        d.shown_location = shown(d.location)  # type: ignore[attr-defined]


#: Words a title-cased place name keeps in lower case (after its first word).
_SMALL_WORDS = frozenset({"a", "an", "and", "at", "by", "in", "near", "of", "on", "or", "the", "to"})


def display_case(text: str) -> str:
    """A place name as stored, except one written all in capitals, which is shown in title case
    (small words lower case after the first; words with other signs, such as A&E, kept).

    >>> display_case("ON OR NEAR ST JOHN'S ROAD"), display_case("On or near Prison"), display_case("A&E")
    ("On or near St John's Road", 'On or near Prison', 'A&E')
    """
    if not any(c.isalpha() for c in text) or text != text.upper():
        return text
    words = []
    for i, word in enumerate(text.split(" ")):
        low = word.lower()
        if i and low in _SMALL_WORDS:
            words.append(low)
        elif word.replace("'", "").isalpha():
            words.append(word[:1] + low[1:])
        else:
            words.append(word)
    return " ".join(words)
