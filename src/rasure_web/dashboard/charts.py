"""Server-side SVG charts: small, accessible (title + table fallback), no JavaScript library."""

from __future__ import annotations

from html import escape

import pandas as pd


def line_chart(
    df: pd.DataFrame,
    *,
    x: str,
    ys: list[tuple[str, str, str]],
    title: str,
    width: int = 720,
    height: int = 220,
) -> str:
    """``ys``: (column, label, colour). Returns an inline SVG string."""
    if df.empty:
        return f'<p class="muted">No data for {escape(title.lower())}.</p>'
    pad_l, pad_r, pad_t, pad_b = 56, 12, 16, 34
    n = len(df)
    top = max(float(df[c].max()) for c, _, _ in ys) or 1.0
    sx = (width - pad_l - pad_r) / max(n - 1, 1)
    sy = (height - pad_t - pad_b) / top
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for k in range(5):
        v = top * k / 4
        yy = height - pad_b - v * sy
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{yy:.1f}" y2="{yy:.1f}" class="grid"/>')
        parts.append(f'<text x="{pad_l - 6}" y="{yy + 4:.1f}" class="axis" text-anchor="end">{v:,.0f}</text>')
    step = max(1, n // 8)
    for i, lab in enumerate(df[x]):
        if i % step == 0:
            parts.append(
                f'<text x="{pad_l + i * sx:.1f}" y="{height - 10}" class="axis" text-anchor="middle">'
                f"{escape(str(lab))}</text>"
            )
    for col, label, colour in ys:
        pts = " ".join(
            f"{pad_l + i * sx:.1f},{height - pad_b - float(v) * sy:.1f}" for i, v in enumerate(df[col])
        )
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        parts.append(
            f'<text x="{width - pad_r}" y="{pad_t + 12 + 16 * ys.index((col, label, colour))}" '
            f'class="legend" text-anchor="end" fill="{colour}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
