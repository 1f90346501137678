"""Spreadsheet-safe text for CSV files people open in Excel or LibreOffice (CSV formula injection).

A cell whose text begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return may be run as a
formula by a spreadsheet (``=HYPERLINK("http://x","y")`` sends a click to any address). Following OWASP
("CSV Injection"), such text gets a leading single quote, which the spreadsheet shows as text. Only text
is changed: numbers stay numbers (a harm of -1.5 is a number, not a formula).

Applied to every human-facing CSV export (docs/deploy.md lists them). Never applied to the trial
schedule CSV or the trial panel, whose exact bytes are part of a published commitment and of outside
verification (docs/trial-verification.md).

>>> neutralise_cell('=HYPERLINK("http://x","y")')
'\\'=HYPERLINK("http://x","y")'
>>> neutralise_cell("High Street"), neutralise_cell(-1.5)
('High Street', -1.5)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

T = TypeVar("T")


def neutralise_cell(value: T) -> T | str:
    """``value`` with a leading ``'`` when it is text a spreadsheet could read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows for ``csv.DictWriter`` with every text cell made safe."""
    return [{k: neutralise_cell(v) for k, v in row.items()} for row in rows]


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell made safe (numeric columns untouched); headers too."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise_cell)
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out
