"""Harm weights: the Cambridge Crime Harm Index (CCHI), requirement D6.

CCHI weight = days of imprisonment at the sentencing-guideline starting point for a
first offender (Sherman, Neyroud & Neyroud 2016, *Policing* 10(3):171-183). A record's
harm is the weight of its Home Office offence code; a record without a code (police.uk)
takes its broad category's weight. Place harm is the plain sum, ``H_c = Σ_{i∈c} w_i``
(docs/methods.md §1.3). Counts are always reported beside harm.

The official table is a spreadsheet a force downloads (cambridge-ebp.co.uk/chi). Until it
is loaded with ``rasure harm load FILE`` the built-in table is used, and every output
says it is an approximation. No weight is invented: each row of a table names its source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rasure.errors import ConfigError, InputFileError
from rasure.tables import load_table, lookup

APPROXIMATE_LABEL = (
    "harm weights: Rasure's built-in APPROXIMATION of the Cambridge Crime Harm Index (secondary sources; "
    "load the official CCHI spreadsheet with `rasure harm load`)"
)

# Header spellings accepted in a force's or Cambridge's spreadsheet (compared case-insensitively,
# ignoring spaces and punctuation).
_CODE_HEADERS = ("offencecode", "hocode", "homeofficeoffencecode", "hooffencecode", "code", "offence_code")
_DAYS_HEADERS = ("cchidays", "cchi", "chi", "harmindex", "harmdays", "days", "crimeharmindex", "cchi_days")
_CATEGORY_HEADERS = ("crimetype", "category", "crimecategory", "policeukcategory")
_DESC_HEADERS = ("offencedescription", "description", "offence", "offencename", "offence_description")


@dataclass(frozen=True)
class HarmTable:
    """Harm weights by offence code and by police.uk category.

    ``official`` is True only for a table loaded from a file the user says is the official CCHI.
    """

    by_code: pd.Series  # offence_code -> days
    by_category: pd.Series  # police.uk category -> days
    rows: pd.DataFrame  # key_type, key, description, cchi_days, source
    official: bool
    origin: str

    @property
    def label(self) -> str:
        if self.official:
            return f"harm weights: official Cambridge Crime Harm Index table loaded from {self.origin}"
        return APPROXIMATE_LABEL


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def default_harm_table() -> HarmTable:
    """The built-in approximation (``rasure/data/harm_default.csv``), every row with its source."""
    t = load_table(None, builtin="harm_default.csv", required=["key_type", "key", "cchi_days", "source"])
    return harm_table_from_rows(t.frame, official=False, origin=t.path)


def harm_table_from_rows(rows: pd.DataFrame, *, official: bool, origin: str) -> HarmTable:
    rows = rows.copy()
    rows["cchi_days"] = pd.to_numeric(rows["cchi_days"], errors="raise").astype(float)
    code_rows = rows[rows["key_type"] == "offence_code"]
    cat_rows = rows[rows["key_type"] == "category"]
    return HarmTable(
        by_code=pd.Series(code_rows["cchi_days"].to_numpy(), index=code_rows["key"].str.strip()),
        by_category=pd.Series(cat_rows["cchi_days"].to_numpy(), index=cat_rows["key"].str.strip()),
        rows=rows.reset_index(drop=True),
        official=official,
        origin=origin,
    )


def read_harm_file(path: str | Path, *, source: str | None = None, official: bool = True) -> HarmTable:
    """Read a harm table from a force's download: ``.xlsx`` (first sheet with the headers) or ``.csv``.

    Needs a column with the Home Office offence code and one with the CCHI days (several
    header spellings accepted). Rows with no code are ignored; a code with a non-numeric or
    negative number of days is an error naming the sheet/file and row. Category-level rows
    from the built-in table are kept for records without a code (police.uk), and say so.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(
            str(p), "file not found", hint="give the path of the CCHI .xlsx or .csv you downloaded"
        )
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        frame, header_row, sheet = _read_xlsx(p)
        where = f"{p} (sheet {sheet!r})"
    elif p.suffix.lower() == ".csv":
        try:
            frame = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputFileError(
                str(p), "not UTF-8 text", hint="save it as 'CSV UTF-8' and load again"
            ) from exc
        header_row, where = 1, str(p)
    else:
        raise InputFileError(str(p), f"unsupported file type {p.suffix!r}", hint="give an .xlsx or .csv file")
    cols = {_norm(c): c for c in frame.columns}
    code_col = next((cols[h] for h in map(_norm, _CODE_HEADERS) if h in cols), None)
    days_col = next((cols[h] for h in map(_norm, _DAYS_HEADERS) if h in cols), None)
    desc_col = next((cols[h] for h in map(_norm, _DESC_HEADERS) if h in cols), None)
    key_type = "offence_code"
    if code_col is None:  # a category-level table (e.g. weights per police.uk crime type)
        code_col = next((cols[h] for h in map(_norm, _CATEGORY_HEADERS) if h in cols), None)
        key_type = "category"
    if code_col is None or days_col is None:
        raise InputFileError(
            where,
            f"no offence-code (or crime-type) column and CCHI-days column found among headers {list(frame.columns)}",
            hint="name the columns e.g. 'Offence code' (or 'Crime type') and 'CCHI days'",
            line=header_row,
        )
    rows = []
    for i, rec in enumerate(frame.to_dict("records")):
        code = str(rec[code_col]).strip()
        if not code or code.lower() == "nan":
            continue
        raw = str(rec[days_col]).strip().replace(",", "")
        try:
            days = float(raw)
        except ValueError:
            raise InputFileError(
                where,
                f"field {days_col!r} is {raw!r}, not a number of days",
                line=header_row + 1 + i,
                hint="put the CCHI days as a number",
            ) from None
        if days < 0:
            raise InputFileError(where, f"field {days_col!r} is negative ({days})", line=header_row + 1 + i)
        desc = str(rec[desc_col]).strip() if desc_col else ""
        rows.append((key_type, code, desc, days, source or f"loaded from {p.name}"))
    if not rows:
        raise ConfigError(f"{where}: no rows with an offence code and CCHI days.")
    seen: dict[str, float] = {}
    for _, code, _, days, _ in rows:
        if code in seen and seen[code] != days:
            raise ConfigError(f"{where}: key {code!r} appears twice with different days.")
        seen[code] = days
    loaded = pd.DataFrame(rows, columns=["key_type", "key", "description", "cchi_days", "source"])
    # the other level comes from the built-in table, and its rows keep their own (built-in) sources
    builtin = default_harm_table().rows
    other = builtin[builtin["key_type"] != key_type]
    return harm_table_from_rows(
        pd.concat([loaded, other], ignore_index=True), official=official, origin=str(p)
    )


def coverage(table: HarmTable, records: pd.DataFrame) -> tuple[int, int, str]:
    """How much of the data the loaded (non-built-in) rows of ``table`` weigh:
    ``(covered, total, level)`` over the distinct offence codes in ``records`` (or their police.uk
    categories when no record has a code)."""
    builtin = default_harm_table().rows
    own = table.rows.merge(builtin[["key_type", "key", "source"]], how="left", indicator=True)
    own = own[own["_merge"] == "left_only"]
    code = (
        records["offence_code"].astype("string").str.strip()
        if "offence_code" in records
        else pd.Series(pd.NA, index=records.index, dtype="string")
    )
    codes = set(code.dropna()) - {""}
    if codes:
        keys = set(own.loc[own["key_type"] == "offence_code", "key"].str.strip())
        return len(codes & keys), len(codes), "offence codes"
    cats = set(records["category"].astype("string").dropna()) if "category" in records else set()
    keys = set(own.loc[own["key_type"] == "category", "key"].str.strip())
    return len(cats & keys), len(cats), "crime types"


def coverage_label(table: HarmTable, records: pd.DataFrame) -> str:
    """The harm label of an output computed from ``records``: what is official and what is not.

    >>> t = default_harm_table()
    >>> coverage_label(t, pd.DataFrame({"offence_code": ["8N"], "category": [None]})) == APPROXIMATE_LABEL
    True
    """
    if not table.official:
        return APPROXIMATE_LABEL
    covered, total, level = coverage(table, records)
    if total and covered == total:
        return f"{table.label}: official for all {total} {level} in the data"
    return f"{table.label}: official for {covered} of {total} {level} in the data; the rest built-in APPROXIMATION"


def _read_xlsx(p: Path) -> tuple[pd.DataFrame, int, str]:
    """Find the first sheet and row that holds a code header and a days header."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a broken file
        raise InputFileError(str(p), f"cannot open as an Excel workbook ({exc})") from exc
    codes, days = set(map(_norm, _CODE_HEADERS)), set(map(_norm, _DAYS_HEADERS))
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        for r, row in enumerate(rows[:30]):
            names = [_norm(str(v)) if v is not None else "" for v in row]
            if codes & set(names) and days & set(names):
                header = [str(v) if v is not None else f"col{j}" for j, v in enumerate(row)]
                body = [["" if v is None else v for v in rr] for rr in rows[r + 1 :]]
                return pd.DataFrame(body, columns=header).astype(str), r + 1, ws.title
    raise InputFileError(
        str(p), "no sheet has both an offence-code and a CCHI-days header in its first 30 rows"
    )


def harm_days(records: pd.DataFrame, *, table: HarmTable | None = None) -> pd.DataFrame:
    """Harm of each record: by offence code, else by category. Returns ``harm_days`` (float,
    NaN where no weight is known, never an invented value) and ``harm_basis``
    (``offence_code`` / ``category`` / ``none``).

    >>> r = pd.DataFrame({"offence_code": ["8N", None, "XX"],
    ...                   "category": ["Violence and sexual offences", "Public order", "Nowhere"]})
    >>> harm_days(r)["harm_days"].tolist()
    [365.0, 7.5, nan]
    """
    table = table or default_harm_table()
    code = (
        records["offence_code"].astype("string").str.strip()
        if "offence_code" in records
        else pd.Series(pd.NA, index=records.index, dtype="string")
    )
    # each distinct offence code and crime type looked up once, the weights spread back to the rows
    by_code = lookup(code, table.by_code).astype(float)
    by_cat = lookup(records["category"].astype("string"), table.by_category).astype(float)
    harm = by_code.fillna(by_cat)
    basis = pd.Series("none", index=records.index, dtype="string")
    basis = basis.mask(by_cat.notna(), "category").mask(by_code.notna(), "offence_code")
    return pd.DataFrame({"harm_days": harm, "harm_basis": basis}, index=records.index)
