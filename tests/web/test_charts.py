"""The monthly line charts (dashboard overview, partner portal): drawn wide for desktop and narrow for
phones, with round numbers on the y axis."""

from __future__ import annotations

import re

import pandas as pd

from rasure_web.dashboard.charts import line_chart


def _chart(values: list[float]) -> str:
    df = pd.DataFrame({"month": [f"2026-{m:02d}" for m in range(1, len(values) + 1)], "n": values})
    return line_chart(df, x="month", ys=[("n", "Crimes", "#0b3d91")], title="Crimes per month")


def test_drawn_wide_and_narrow_with_fewer_month_labels_on_the_narrow_one() -> None:
    svg = _chart([float(v) for v in range(12)])
    wide, narrow = svg.split("</svg>")[:2]
    assert 'class="chart chart-wide" viewBox="0 0 520 ' in wide
    assert 'class="chart chart-narrow" viewBox="0 0 320 ' in narrow
    months = [re.findall(r">(2026-\d\d)<", part) for part in (wide, narrow)]
    assert len(months[0]) == 6 and len(months[1]) == 4  # every 2nd and every 3rd of 12 months
    assert svg.count('role="img"') == 2 and svg.count("<title>Crimes per month</title>") == 2


def test_y_axis_steps_are_round_whole_numbers() -> None:
    for peak, ticks in (
        (54_348, ["0", "15,000", "30,000", "45,000", "60,000"]),
        (304, ["0", "80", "160", "240", "320"]),
        (7, ["0", "2", "4", "6", "8"]),
        (0, ["0", "1", "2", "3", "4"]),
    ):
        wide = _chart([0.0, peak / 2, float(peak)]).split("</svg>")[0]
        assert re.findall(r'text-anchor="end">([\d,]+)</text>', wide) == ticks, peak


def test_no_data_says_so() -> None:
    assert line_chart(pd.DataFrame(), x="month", ys=[], title="Harm per month") == (
        '<p class="muted">No data for harm per month.</p>'
    )
