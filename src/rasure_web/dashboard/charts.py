"""Server-side SVG charts: small, accessible (title + table fallback), no JavaScript library."""

from __future__ import annotations

import math
from html import escape

import pandas as pd

# An SVG with a viewBox is scaled to its card, text and all: a 720-wide chart drew its axis labels at
# about 5 px in a phone's 330 px card and 8-9 px in a desktop's half-width card. So each chart is drawn
# twice, each about as wide as the card it goes in (so its labels stay 12-14 px): 520 for a desktop's
# half-width card and 320 for a phone's, with fewer month labels; CSS (site.css, ``.chart-box``) shows
# one of them by the width of the box it is in. The legend sits above the plot, off the lines.
WIDE = 520
NARROW = 320


def line_chart(
    df: pd.DataFrame,
    *,
    x: str,
    ys: list[tuple[str, str, str]],
    title: str,
    width: int = WIDE,
    height: int = 220,
) -> str:
    """``ys``: (column, label, colour). Returns inline SVG: the chart at ``width`` for wider screens and
    at a phone card's width for narrow ones (CSS shows one)."""
    if df.empty:
        return f'<p class="muted">No data for {escape(title.lower())}.</p>'
    wide = _svg(df, x=x, ys=ys, title=title, width=width, height=height, labels=6, form="wide")
    narrow = _svg(df, x=x, ys=ys, title=title, width=NARROW, height=height + 20, labels=4, form="narrow")
    return f'<div class="chart-box">{wide}{narrow}</div>'


def _nice_top(peak: float) -> float:
    """The y axis's top: four equal whole-number steps, each a round number (1, 1.5, 2, 2.5, 3, 4, 5, 6
    or 8 times a power of ten), reaching ``peak``: the axis reads 0, 15,000, 30,000, ... instead of
    0, 13,587, 27,174, ..."""
    raw = peak / 4
    if raw <= 1:
        return 4.0
    power = 10 ** math.floor(math.log10(raw))
    step = next(
        m * power for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * power >= raw and (m * power) % 1 == 0
    )
    return 4 * step


def _svg(
    df: pd.DataFrame,
    *,
    x: str,
    ys: list[tuple[str, str, str]],
    title: str,
    width: int,
    height: int,
    labels: int,
    form: str,
) -> str:
    pad_l, pad_r, pad_t, pad_b = 54, 16, 16 + 18 * len(ys), 34
    n = len(df)
    top = _nice_top(max(float(df[c].max()) for c, _, _ in ys))
    sx = (width - pad_l - pad_r) / max(n - 1, 1)
    sy = (height - pad_t - pad_b) / top
    parts = [
        f'<svg class="chart chart-{form}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for k in range(5):
        v = top * k / 4
        yy = height - pad_b - v * sy
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{yy:.1f}" y2="{yy:.1f}" class="grid"/>')
        parts.append(f'<text x="{pad_l - 6}" y="{yy + 4:.1f}" class="axis" text-anchor="end">{v:,.0f}</text>')
    step = max(1, -(-n // labels))
    for i, lab in enumerate(df[x]):
        if i % step == 0:
            parts.append(
                f'<text x="{pad_l + i * sx:.1f}" y="{height - 10}" class="axis" text-anchor="middle">'
                f"{escape(str(lab))}</text>"
            )
    for k, (col, label, colour) in enumerate(ys):
        pts = " ".join(
            f"{pad_l + i * sx:.1f},{height - pad_b - float(v) * sy:.1f}" for i, v in enumerate(df[col])
        )
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        parts.append(
            f'<text x="{pad_l}" y="{18 + 18 * k}" class="legend" fill="{colour}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
