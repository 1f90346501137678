"""Small-number suppression: statistical disclosure control for tables shared with partners.

A count table with its row and column totals is published with every **small** cell (more than
zero and fewer than ``threshold``, default 5) hidden and shown as "fewer than 5" (*primary
suppression*), and enough **other** cells hidden too (*secondary*, or complementary, suppression)
that no hidden cell can be worked out from the published cells and totals by adding and
subtracting.

Method
------
The published table is the ``R × C`` interior plus its margins: ``R`` row totals, ``C`` column
totals and the grand total, an ``(R + 1) × (C + 1)`` array ``x``. The published figures satisfy
``R + C + 2`` linear equations, one per line of the augmented array (each row, total row included:
``Σ_j x[i, j] = x[i, C]``; each column likewise). Hiding a set ``S`` of cells leaves the system
``A_S · x_S = b`` for the hidden values, where ``b`` comes from the published ones. A hidden cell
``k`` is *exactly disclosed* when every solution has the same ``x_k``, that is when the ``k``-th
coordinate of every vector in the null space of ``A_S`` is zero (Hundepool et al. 2012, §4.2).
The null space depends only on *which* cells are hidden, not on their values, so the same pattern
also protects any other additive measure of the same table (harm in CCHI days beside counts).

1. Primary: every cell, total cells included, with ``0 < n < threshold``. Zeros are published:
   a zero discloses nothing about a person.
2. Secondary, the classic line rule: a line (row or column of the augmented array) with exactly one
   hidden cell gives it away by subtraction, so the smallest published non-zero cell of that line
   (ties: the first) is hidden too, until no line has exactly one hidden cell.
3. The exact check: the line rule is not enough on its own (two hidden blocks joined through one
   line can still pin a cell), so the null space of ``A_S`` is computed (SVD) and, while some hidden
   cell is determined, one more cell is hidden in a line of the first such cell; then step 2 again.
   The loop ends because each pass hides one more cell, and hiding every cell discloses nothing.
4. Zeros hidden as secondary cells (where a line has nothing else left to hide) need one more
   check, because counts cannot be negative: hidden cells whose line leaves nothing for them (a
   column of zeros with its total of 0 published) are all 0, which the equations alone do not
   show. So for each hidden zero the largest value it can take given the published figures and
   ``x ≥ 0`` is found by linear programming (SciPy's HiGHS); a zero that cannot be more than 0 is
   disclosed, and gets the same treatment as in step 3 (in the line that pins it first). Once no
   hidden zero is pinned, the equations decide the rest: the hidden cells can then all be positive
   at once (an average of solutions), and from such a solution a cell the equations leave free can
   move both ways.

This is a heuristic for two-way tables: it does not search
for the pattern that hides the least information (an optimisation problem: τ-ARGUS's Modular or
Optimal methods do that), so it may hide a little more than a specialist tool would.

Sources: Office for National Statistics and Government Statistical Service guidance on
statistical disclosure control for tables (a threshold rule with secondary suppression so that
suppressed cells cannot be calculated from the totals); NHS England (formerly NHS Digital),
*Hospital Episode Statistics analysis guide*, small-number suppression of counts from 1 to 7 (so the
threshold here is a setting: 5 is the default the partnership asked for, not a national rule);
A. Hundepool et al., *Statistical Disclosure Control*, Wiley 2012, chapter 4 (tabular data: primary
and secondary cell suppression, the linear-equations attack).

Example (a 2 × 3 table: the 3 is small, so its row and column each need one more hidden cell, and
then the row and column of those, forming a rectangle):

>>> import pandas as pd
>>> t = pd.DataFrame({"Jan": [3, 10], "Feb": [12, 9], "Mar": [20, 30]}, index=["North", "South"])
>>> s = suppress_table(t, threshold=5)
>>> s.display().loc["North"].tolist()
['fewer than 5', 'hidden', '20', '35']
>>> s.display().loc["South"].tolist()
['hidden', 'hidden', '30', '49']
>>> s.display().loc["Total"].tolist()
['13', '21', '50', '84']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from rasure.errors import RasureError

#: The label for a cell below the threshold (``{threshold}`` is filled in).
SMALL_LABEL = "fewer than {threshold}"
#: The label for a cell hidden only so that a total cannot give a small one away.
SECONDARY_LABEL = "hidden"
TOTAL = "Total"


class DisclosureError(RasureError, ValueError):
    """A table that cannot be suppressed as asked (negative or non-integer counts, a bad threshold)."""


@dataclass(frozen=True)
class SuppressedTable:
    """A count table with margins and which of its cells are hidden.

    Attributes
    ----------
    counts:
        The ``(R + 1) × (C + 1)`` table with a ``Total`` row and column, every value true. Never
        publish this: publish :meth:`display` or :meth:`published`.
    primary:
        True where a cell is small (``0 < n < threshold``).
    secondary:
        True where a cell is hidden only to protect a small one.
    threshold:
        The threshold used.
    """

    counts: pd.DataFrame
    primary: pd.DataFrame
    secondary: pd.DataFrame
    threshold: int

    @property
    def suppressed(self) -> pd.DataFrame:
        """True where a cell is hidden (primary or secondary)."""
        return self.primary | self.secondary

    def published(self) -> pd.DataFrame:
        """The counts with hidden cells as missing (``pd.NA``): what may be shared as numbers."""
        return self.counts.astype("Int64").mask(self.suppressed)

    def display(self) -> pd.DataFrame:
        """Every cell as text: the count, "fewer than 5", or "hidden"."""
        small = SMALL_LABEL.format(threshold=self.threshold)
        out = self.counts.astype(int).astype(str)
        out = out.mask(self.secondary, SECONDARY_LABEL)
        return out.mask(self.primary, small)


def suppress_table(table: pd.DataFrame, *, threshold: int = 5) -> SuppressedTable:
    """Add row and column totals to ``table`` (non-negative whole counts) and suppress it.

    See the module docstring for the method and its sources. ``threshold`` is the smallest count
    shown (default 5); 1 hides nothing.
    """
    if threshold < 1:
        raise DisclosureError(f"threshold must be 1 or more, not {threshold}")
    values = table.to_numpy(dtype=float)
    if values.size and (np.isnan(values).any() or (values < 0).any() or (values % 1 != 0).any()):
        raise DisclosureError("suppress_table needs non-negative whole counts (no blanks)")
    if TOTAL in table.index or TOTAL in table.columns:
        raise DisclosureError(f"the table already has a {TOTAL!r} row or column; pass it without totals")
    full = _with_margins(values.astype(np.int64))
    primary = (full > 0) & (full < threshold)
    hidden = _secondary(full, primary)
    index = [*table.index, TOTAL]
    columns = [*table.columns, TOTAL]

    def frame(a: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(a, index=index, columns=columns)

    return SuppressedTable(
        counts=frame(full), primary=frame(primary), secondary=frame(hidden & ~primary), threshold=threshold
    )


def suppress_series(counts: pd.Series, *, threshold: int = 5) -> SuppressedTable:
    """A single list of counts with its total (a one-column table): e.g. counts by neighbourhood."""
    name = counts.name if counts.name is not None else "count"
    return suppress_table(counts.to_frame(name=name), threshold=threshold)


def _with_margins(v: np.ndarray) -> np.ndarray:
    r, c = v.shape
    full = np.zeros((r + 1, c + 1), dtype=np.int64)
    full[:r, :c] = v
    full[:r, c] = v.sum(axis=1)
    full[r, :c] = v.sum(axis=0)
    full[r, c] = v.sum()
    return full


def constraint_matrix(shape: tuple[int, int]) -> np.ndarray:
    """The equations an augmented ``(R + 1) × (C + 1)`` table satisfies, one row per line.

    Cells are numbered row by row. Row ``i`` of the result is the equation of table row ``i``
    (``Σ_j x[i, j] − x[i, C] = 0``), then one per column."""
    rows, cols = shape
    eqs = np.zeros((rows + cols, rows * cols))
    for i in range(rows):
        for j in range(cols):
            k = i * cols + j
            eqs[i, k] = -1.0 if j == cols - 1 else 1.0
            eqs[rows + j, k] = -1.0 if i == rows - 1 else 1.0
    return eqs


def disclosed_cells(hidden: np.ndarray) -> np.ndarray:
    """True for each hidden cell of an augmented table that the published cells determine exactly.

    ``hidden`` is a boolean ``(R + 1) × (C + 1)`` array. A hidden cell is determined when its
    coordinate is zero in every vector of the null space of the equations restricted to the hidden
    cells (module docstring)."""
    flat = hidden.ravel()
    out = np.zeros_like(flat)
    idx = np.flatnonzero(flat)
    if idx.size == 0:
        return out.reshape(hidden.shape)
    a = constraint_matrix(hidden.shape)[:, idx]
    _, sv, vt = np.linalg.svd(a)
    rank = int((sv > 1e-9 * max(1.0, sv.max(initial=0.0))).sum())
    null = vt[rank:]  # rows span the null space of a
    free = np.abs(null).max(axis=0, initial=0.0) > 1e-9 if null.size else np.zeros(idx.size, bool)
    out[idx] = ~free
    return out.reshape(hidden.shape)


def zero_pinned(full: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """True for each hidden zero of the augmented table ``full`` that cannot be more than 0, given
    the published cells, the line equations and ``x ≥ 0`` (module docstring, step 4)."""
    out = np.zeros_like(hidden)
    zeros = np.argwhere(hidden & (full == 0))
    if not len(zeros):
        return out
    cols = full.shape[1]
    idx = np.flatnonzero(hidden.ravel())
    eqs = constraint_matrix(full.shape)
    known = np.where(hidden, 0, full).ravel().astype(float)
    a_eq, b_eq = eqs[:, idx], -(eqs @ known)
    keep = np.abs(a_eq).sum(axis=1) > 0  # lines with no hidden cell say nothing about them
    a_eq, b_eq = a_eq[keep], b_eq[keep]
    pos = {int(k): n for n, k in enumerate(idx)}
    for i, j in zeros:
        obj = np.zeros(idx.size)
        obj[pos[int(i * cols + j)]] = -1.0  # maximise the cell
        res = linprog(obj, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        if res.status == 0 and -res.fun <= 1e-9:  # 3 (unbounded above) leaves it free
            out[i, j] = True
    return out


def _hide_one_more(full: np.ndarray, hidden: np.ndarray, line: np.ndarray) -> bool:
    """Hide the smallest published cell of ``line`` (a boolean mask), non-zero cells first."""
    cand = line & ~hidden
    if not cand.any():
        return False
    cost = np.where(full > 0, full, np.iinfo(np.int64).max // 2).astype(float)
    cost = np.where(cand, cost, np.inf)
    hidden.flat[int(np.argmin(cost))] = True
    return True


def _line_rule(full: np.ndarray, hidden: np.ndarray) -> None:
    rows, cols = full.shape
    changed = True
    while changed:
        changed = False
        for i in range(rows):
            if hidden[i].sum() == 1:
                mask = np.zeros_like(hidden)
                mask[i] = True
                changed |= _hide_one_more(full, hidden, mask)
        for j in range(cols):
            if hidden[:, j].sum() == 1:
                mask = np.zeros_like(hidden)
                mask[:, j] = True
                changed |= _hide_one_more(full, hidden, mask)


def _secondary(full: np.ndarray, primary: np.ndarray) -> np.ndarray:
    hidden = primary.copy()
    while True:
        _line_rule(full, hidden)
        pinned = zero_pinned(full, hidden)
        if not pinned.any():
            pinned = disclosed_cells(hidden)
        if not pinned.any():
            return hidden
        i, j = np.argwhere(pinned)[0]
        row = np.zeros_like(hidden)
        row[i] = True
        col = np.zeros_like(hidden)
        col[:, j] = True
        # a zero pinned by a line whose hidden cells are all zeros is freed only through that line
        lines = (col, row) if full[hidden & col].sum() == 0 < full[hidden & row].sum() else (row, col)
        if not _hide_one_more(full, hidden, lines[0]) and not _hide_one_more(full, hidden, lines[1]):
            hidden[:] = True  # nothing left to hide in its lines: hide the table
