"""Rule tables as data: one loader for every CSV table shipped in ``rasure/data``.

Tables (serious-violence scope, harm weights, ...) are versioned CSV files whose
leading ``#`` lines state the source and date. A force overrides any of them with a
file of its own with the same columns; :func:`load_table` reads either and checks
the columns, naming the file and what is missing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from rasure.errors import ConfigError


@dataclass(frozen=True)
class Table:
    """A loaded rule table with its provenance header."""

    frame: pd.DataFrame
    path: str
    header: str  # the leading comment lines, without "# "
    builtin: bool


def builtin_path(name: str) -> Path:
    """Path of a table shipped with the package, e.g. ``builtin_path("harm_default.csv")``."""
    return Path(str(resources.files("rasure") / "data" / name))


def load_table(path: str | Path | None, *, builtin: str, required: list[str]) -> Table:
    """Load ``path`` (or the built-in table ``builtin`` when ``path`` is None).

    >>> t = load_table(None, builtin="serious_violence.csv", required=["offence_code", "counts_as"])
    >>> t.builtin, "D2" in t.header
    (True, True)
    """
    is_builtin = path is None
    p = builtin_path(builtin) if path is None else Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ConfigError(f"{p}: file not found. Give the path of a CSV with columns {required}.") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text. Save it as CSV UTF-8 and try again.") from exc
    return table_from_text(text, path=str(p), required=required, builtin=is_builtin)


def table_from_text(text: str, *, path: str, required: list[str], builtin: bool = False) -> Table:
    """A rule table from its CSV text (as stored in the database); ``path`` names it in errors.

    >>> table_from_text("# v1\\ncode,x\\nA,1\\n", path="t.csv", required=["code"]).frame["code"].tolist()
    ['A']
    """
    header_lines = []
    for line in text.splitlines():
        if line.startswith("#"):
            header_lines.append(line.lstrip("#").strip())
        else:
            break
    try:
        frame = pd.read_csv(
            io.StringIO(text), comment=None, skiprows=len(header_lines), dtype=str, keep_default_na=False
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ConfigError(f"{path}: not a readable CSV table ({exc}).") from exc
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"{path}: missing column(s) {missing}; found {list(frame.columns)}. "
            f"The first non-comment line must be a header with {required}."
        )
    return Table(frame=frame, path=path, header="\n".join(header_lines), builtin=builtin)


def lookup(values: pd.Series, table: pd.Series) -> pd.Series:
    """``values.map(table)``, looking each distinct value up once: a rule table is applied to records
    whose few distinct values (crime types, offence codes) repeat across a million rows, and mapping
    every row of a pyarrow-backed string column is slow. Missing values and values not in ``table``
    give missing, as ``map`` does.

    >>> lookup(pd.Series(["a", None, "b", "a"], dtype="string"), pd.Series({"a": 1.0})).astype(float).tolist()
    [1.0, nan, nan, 1.0]
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    found = pd.Series(uniques, dtype=values.dtype).map(table)
    out = found.iloc[codes]
    out.index = values.index
    return out
