"""What every reader shares: path expansion, safe CSV reading with line numbers, the result type."""

from __future__ import annotations

import csv
import glob
import gzip
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from rasure.errors import InputFileError, InvalidRowsError, RowProblem


@dataclass(frozen=True)
class ParsedFile:
    """One file, fully validated, in canonical form.

    ``kind`` is ``street`` / ``outcomes`` (police.uk) or ``records`` (a force export).
    For ``outcomes`` files ``outcomes`` holds (source, reference, last_outcome,
    last_outcome_month) and ``records`` is empty.
    """

    path: str
    kind: str
    records: pd.DataFrame
    links: pd.DataFrame
    outcomes: pd.DataFrame
    rows_read: int
    sha256: str
    without_location: int = 0
    repeats_merged: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)


def expand_paths(
    paths: list[str] | tuple[str, ...], *, patterns: tuple[str, ...] = ("*.csv", "*.csv.gz")
) -> list[Path]:
    """Expand files, folders (recursively, matching ``patterns``) and globs into a sorted file list.

    Raises :class:`InputFileError` for a path that matches nothing, so a typo is not a silent no-op.
    """
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted({f for pat in patterns for f in p.rglob(pat)})
            if not found:
                raise InputFileError(str(p), f"folder holds no {' or '.join(patterns)} files")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            matches = sorted(Path(m) for m in glob.glob(raw, recursive=True) if Path(m).is_file())
            if not matches:
                raise InputFileError(raw, "no such file, folder or matching glob", hint="check the path")
            out.extend(matches)
    seen: set[Path] = set()
    unique = []
    for f in out:
        if f.resolve() not in seen:
            seen.add(f.resolve())
            unique.append(f)
    return unique


def read_bytes(path: Path) -> bytes:
    """The file's bytes, un-gzipped when it ends in ``.gz``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(str(path), f"cannot read ({exc.strerror})") from exc
    if path.suffix == ".gz":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputFileError(
                str(path), f"not a valid gzip file ({exc})", hint="re-download the file"
            ) from exc
    return raw


def check_utf8(path: Path, data: bytes) -> None:
    """Raise naming the line of the first byte that is not UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputFileError(
            str(path),
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at byte {exc.start})",
            line=line,
            hint="save the file as 'CSV UTF-8' (in Excel: Save As > CSV UTF-8) and import it again",
        ) from None


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_csv_strict(path: Path, data: bytes, *, expected: list[str] | None = None) -> pd.DataFrame:
    """Read CSV bytes as all-string columns; every row must have as many fields as the header.

    Row ``i`` of the result (0-based) is on line ``i + 2`` of the file (no field in these
    exports spans lines; a file where one does is rejected by the field-count check).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    check_utf8(path, data)
    if not data.strip():
        raise InputFileError(str(path), "the file is empty", hint="export it again with a header row")
    header_line = data.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    header = next(csv.reader([header_line]))
    header = [h.strip() for h in header]
    if expected is not None and header != expected:
        missing = [c for c in expected if c not in header]
        extra = [c for c in header if c not in expected]
        raise InputFileError(
            str(path),
            f"wrong header: expected the columns {expected}; missing {missing}, unexpected {extra}",
            line=1,
            hint="use the file exactly as downloaded from data.police.uk, or map your own export with "
            "`rasure import records --mapping`",
        )
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise InputFileError(
            str(path), f"header repeats column(s) {dup}", line=1, hint="give each column a unique name"
        )
    bad_rows = 0

    def on_invalid(_row: object) -> str:
        nonlocal bad_rows
        bad_rows += 1
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, use_threads=True),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise InputFileError(str(path), f"not a readable CSV file ({exc})") from exc
    if bad_rows:
        raise InvalidRowsError(
            str(path), _field_count_problems(path, data, len(header)), total_rows=data.count(b"\n")
        )
    frame: pd.DataFrame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    return frame


def _field_count_problems(path: Path, data: bytes, n_fields: int) -> list[RowProblem]:
    problems = []
    reader = csv.reader(io.StringIO(data.decode("utf-8")))
    next(reader, None)
    for i, row in enumerate(reader, start=2):
        if len(row) != n_fields and row:
            problems.append(
                RowProblem(
                    file=str(path),
                    line=i,
                    field="",
                    value=",".join(row)[:80],
                    reason=f"has {len(row)} fields, the header has {n_fields} (truncated or extra commas?)",
                    hint="complete the row or quote fields that contain commas",
                )
            )
    return problems


def blank_to_na(s: pd.Series) -> pd.Series:
    """Empty strings to missing (NA), other values unchanged."""
    return s.where(s != "")


def problems_frame(problems: list[RowProblem]) -> pd.DataFrame:
    """Rejected rows as a table, for ``--errors-out``."""
    return pd.DataFrame(
        [(p.file, p.line, p.field, p.value, p.reason, p.hint) for p in problems],
        columns=["file", "line", "field", "value", "reason", "how_to_fix"],
    )
