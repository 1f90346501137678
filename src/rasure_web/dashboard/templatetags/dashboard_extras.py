"""Template filters for the dashboard."""

from __future__ import annotations

import math

from django import template

register = template.Library()

HEAT_STEPS = 20


@register.filter
def heat_step(t: object) -> int:
    """A heat-map cell's shade, 0..20 (CSS classes ``t0``..``t20`` in site.css): the CSP allows no
    inline style attributes, so the shade is a class, not ``style="--t: …"``."""
    try:
        v = float(t)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0
    if not math.isfinite(v):
        return 0
    return max(0, min(HEAT_STEPS, round(v * HEAT_STEPS)))
