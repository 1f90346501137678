"""What every reader shares: path expansion, safe CSV reading with line numbers, the result type."""

from __future__ import annotations

import codecs
import csv
import glob
import gzip
import hashlib
import io
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from numpy.typing import NDArray

from rasure.errors import InputFileError, InvalidRowsError, RowProblem
from rasure.geo import BNG, lonlat_to_projected, outside_area_of_use


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


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


#: Bytes pyarrow parses at a time: a chunk of about 10,000 police.uk rows (~210 bytes a row). Memory
#: use depends on this, not on the size of the file. A one-file import's peak RSS growth for 25 k /
#: 100 k / 300 k / 600 k synthetic street rows (benchmarks/bench_import.py, 2 cores), SQLite: +74 /
#: +111 / +117 / +129 MiB at 4 MiB, +65 / +69 / +68 / +76 at 2 MiB with the writer releasing Arrow's
#: freed memory after each chunk; PostgreSQL +72 / +104 / +103 / +112 and +64 / +62 / +64 / +68.
#: Gwent's monthly files (~1.2 MB) are one chunk either way.
BLOCK_BYTES = 2 << 20
_MAX_HEADER = 1 << 20
#: Blocks the CSV parser may read ahead of the batches handed out. pyarrow's streaming reader reads
#: the file on a background thread up to 32 blocks ahead (arrow's background generator queue), so a
#: large file had up to 128 MiB of its text in memory at once; a few blocks keep the reading and
#: un-gzipping running beside the parsing and the memory flat.
READ_AHEAD = 3
#: Seconds a read waits for the caller to take a batch before it goes ahead anyway (a safety valve:
#: it is not reached while the parser reads a block or so per batch; ``_Source.late`` counts them).
_READ_WAIT = 2.0


def _whole_utf8(block: bytes) -> bool:
    """Whether ``block`` is UTF-8 text whose last character is complete (pyarrow's check of a string,
    on the bytes as they are: no text is decoded)."""
    if block.isascii():
        return True
    offsets = np.array([0, len(block)], dtype=np.int64)
    text = pa.LargeStringArray.from_buffers(1, pa.py_buffer(offsets), pa.py_buffer(block))
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


class _Source(io.RawIOBase):
    """A file's bytes as a stream (un-gzipped when it ends in ``.gz``), hashed and checked as UTF-8 as
    they pass, so a bad byte or a broken gzip stream is reported with its file and line."""

    def __init__(self, path: Path, *, digest: bool = True) -> None:
        super().__init__()
        self.path = path
        self.digest = digest
        try:
            raw = path.open("rb")
        except OSError as exc:
            raise InputFileError(str(path), f"cannot read ({exc.strerror})") from exc
        self._raw = raw
        self._f: io.BufferedIOBase | gzip.GzipFile = (
            gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw
        )
        self._hash = hashlib.sha256()
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._pending = b""
        self._started = False
        self._bom = 0  # bytes of the byte-order mark left out
        self._text = 0  # bytes handed on by _block, the byte-order mark left out
        self.bytes_read = 0
        # reads ahead of the batches taken (see READ_AHEAD); None: not limited
        self._turn = threading.Condition()
        self._ahead: int | None = None
        self._given = 0  # bytes handed to the parser
        self._taken = 0  # batches the caller has taken
        self.late = 0  # reads that waited _READ_WAIT and went ahead

    def readable(self) -> bool:
        return True

    def limit_ahead(self, ahead: int | None) -> None:
        """Let the parser read at most ``ahead`` bytes beyond one block a batch taken (None: no limit)."""
        with self._turn:
            self._ahead = ahead
            self._turn.notify_all()

    def took(self, block_bytes: int) -> None:
        """The caller took a batch (about ``block_bytes`` of the file): the parser may read on."""
        with self._turn:
            self._taken += block_bytes
            self._turn.notify_all()

    def _wait_turn(self, n: int) -> None:
        with self._turn:
            if not self._turn.wait_for(
                lambda: self._ahead is None or self._given < self._taken + self._ahead, timeout=_READ_WAIT
            ):
                self.late += 1
            self._given += n

    def close(self) -> None:
        self.limit_ahead(None)
        self._raw.close()
        super().close()

    def _line_at(self, block: bytes, pos: int) -> int:
        """The line of byte ``pos`` of ``block``, the block :meth:`_block` is checking (LF endings, or
        CR-only ones when there is no LF before it)."""
        lf, cr = self._ends_before()
        if lf or b"\n" in block[:pos]:
            return lf + block.count(b"\n", 0, pos) + 1
        return cr + block.count(b"\r", 0, pos) + 1

    def _ends_before(self) -> tuple[int, int]:
        """The LF and CR bytes in the text handed on before the block being checked: counted from the
        start of the file again, only when an error names a line (so no read counts them as it goes)."""
        lf = cr = 0
        with self.path.open("rb") as raw:
            f = gzip.GzipFile(fileobj=raw) if self.path.suffix == ".gz" else raw
            left = self._bom + self._text  # the byte-order mark holds neither byte
            while left > 0:
                part = f.read(min(left, 1 << 20))
                if not part:
                    break
                left -= len(part)
                lf, cr = lf + part.count(b"\n"), cr + part.count(b"\r")
        return lf, cr

    def _block(self, n: int) -> bytes:
        try:
            block = self._f.read(max(n, 1 << 16))
        except (OSError, EOFError, zlib.error) as exc:
            raise InputFileError(
                str(self.path), f"not a valid gzip file ({exc})", hint="re-download or re-compress the file"
            ) from exc
        if self.digest:
            self._hash.update(block)
        self.bytes_read += len(block)
        if not self._started:
            while len(block) < 3 and block:  # the byte-order mark may straddle two reads
                more = self._f.read(3)
                if not more:
                    break
                if self.digest:
                    self._hash.update(more)
                block += more
            if block.startswith(b"\xef\xbb\xbf"):
                block = block[3:]
                self._bom = 3
            self._started = True
        # the decoder only for a block pyarrow does not find whole UTF-8 by itself, or after a block that
        # ended inside a character: it then says what it always said, and holds what it always held
        if self._decoder.getstate()[0] or not _whole_utf8(block):
            try:
                self._decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                pos = max(exc.start, 0)
                raise InputFileError(
                    str(self.path),
                    f"not UTF-8 text (byte 0x{exc.object[pos]:02x})",
                    line=self._line_at(block, pos),
                    hint="save the file as 'CSV UTF-8' (in Excel: Save As > CSV UTF-8) and import it again",
                ) from None
        if b"\x00" in block:
            pos = block.index(b"\x00")
            raise InputFileError(
                str(self.path),
                "holds a NUL byte, so it is not a text CSV file",
                line=self._line_at(block, pos),
                hint="export the file again as CSV",
            )
        self._text += len(block)
        return block

    def read(self, size: int | None = -1) -> bytes:
        """``size`` bytes (fewer only at the end): the blocks as read, not copied through a buffer as
        :class:`io.RawIOBase` would (pyarrow reads with this). Short reads would make pyarrow parse
        many small blocks."""
        if size is None or size < 0:
            return self.readall()
        self._wait_turn(size)
        parts, n = [], 0
        while n < size:
            if not self._pending:
                self._pending = self._block(size - n)
                if not self._pending:
                    break
            k = min(size - n, len(self._pending))
            parts.append(self._pending[:k])  # the whole block itself when it fits
            self._pending = self._pending[k:]
            n += k
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readinto(self, buf: Any) -> int:
        view = memoryview(buf).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def header_line(self) -> bytes | None:
        """The first line, left in the stream (so the CSV parser sees it too); None for an empty file."""
        while True:
            cut = [i for i in (self._pending.find(b"\n"), self._pending.find(b"\r")) if i >= 0]
            if cut:
                return self._pending[: min(cut)]
            if len(self._pending) > _MAX_HEADER:
                raise InputFileError(str(self.path), "the first line is not a header row", line=1)
            block = self._block(1 << 16)
            if not block:
                return self._pending if self._pending.strip() else None
            self._pending += block

    def sha256(self) -> str:
        if not self.digest:
            raise ValueError(f"{self.path}: opened without a digest (digest=False)")
        while self._block(1 << 20):  # hash whatever the parser did not need to read
            pass
        return self._hash.hexdigest()


class CsvChunk:
    """Consecutive rows of a CSV file: all-string columns and the file line of each row.

    Built from the parsed pyarrow ``batch`` (a reader that stays columnar uses it directly) or from a
    ``frame``; :attr:`frame` is the rows as a pandas frame of ``string`` columns, made from the batch
    only when first asked for."""

    __slots__ = ("_frame", "batch", "lines")

    def __init__(
        self,
        lines: NDArray[np.int64],
        frame: pd.DataFrame | None = None,
        *,
        batch: pa.RecordBatch | None = None,
    ) -> None:
        if frame is None and batch is None:
            raise ValueError("a chunk needs its rows: a frame or a pyarrow batch")
        self.lines = lines
        self.batch = batch
        self._frame = frame

    @property
    def frame(self) -> pd.DataFrame:
        """The rows as a pandas frame of ``string`` columns."""
        if self._frame is None:
            assert self.batch is not None
            self._frame = self.batch.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
        return self._frame


class CsvFile:
    """A CSV file read as a stream of :class:`CsvChunk` (memory flat in the file's size).

    Every row must have as many fields as the header; a row that does not is listed in
    :attr:`problems` (file, line, "has N fields") and left out of the chunks. Blank lines are
    skipped. CR, LF and CRLF line endings are all read. :attr:`rows_read` and :meth:`sha256`
    are complete once the chunks are exhausted.

    ``columns``: read only these columns of the header (pyarrow's ``include_columns``: the others are
    split off but never converted), e.g. the few an analysis uses; a row is blank when these are.
    ``digest=False``: do not hash the bytes (a reader that never stores the file's SHA-256 saves the
    time); :meth:`sha256` then raises.
    """

    def __init__(
        self,
        path: Path,
        *,
        delimiter: str = ",",
        block_bytes: int = BLOCK_BYTES,
        columns: list[str] | None = None,
        digest: bool = True,
    ) -> None:
        self.path = path
        self.delimiter = delimiter
        self.block_bytes = block_bytes
        self.columns = columns
        self.problems: list[RowProblem] = []
        self.rows_read = 0
        self._skipped: list[int] = []
        self._src = _Source(path, digest=digest)
        first = self._src.header_line()
        if first is None:
            self._src.close()
            raise InputFileError(str(path), "the file is empty", hint="export it again with a header row")
        try:
            header = next(csv.reader([first.decode("utf-8")], delimiter=delimiter), [])
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputFileError(str(path), f"the header row cannot be read ({exc})", line=1) from None
        self.header = [h.strip() for h in header]
        if len(set(self.header)) != len(self.header):
            dup = sorted({h for h in self.header if self.header.count(h) > 1})
            raise InputFileError(
                str(path), f"header repeats column(s) {dup}", line=1, hint="give each column a unique name"
            )

    def expect(self, expected: list[str], *, hint: str) -> None:
        """Refuse the file unless its header is exactly ``expected``."""
        if self.header != expected:
            missing = [c for c in expected if c not in self.header]
            extra = [c for c in self.header if c not in expected]
            raise InputFileError(
                str(self.path),
                f"wrong header: expected the columns {expected}; missing {missing}, unexpected {extra}",
                line=1,
                hint=hint,
            )

    def _on_invalid(self, row: Any) -> str:
        number = int(row.number)
        self._skipped.append(number)
        if row.text.strip(self.delimiter + " \t"):
            self.problems.append(
                RowProblem(
                    file=str(self.path),
                    line=number,
                    field="",
                    value=str(row.text)[:80],
                    reason=f"has {row.actual_columns} fields, the header has {row.expected_columns} "
                    "(truncated or extra commas?)",
                    hint="complete the row or quote fields that contain commas",
                )
            )
        else:
            self.rows_read -= 1  # a blank line, not a row
        self.rows_read += 1
        return "skip"

    def chunks(self) -> Iterator[CsvChunk]:
        """The rows in chunks (see :class:`CsvChunk`: the pandas frame is made when first used)."""
        for lines, batch in self.arrow_chunks():
            yield CsvChunk(lines, batch=batch)

    def arrow_chunks(self) -> Iterator[tuple[NDArray[np.int64], pa.RecordBatch]]:
        """The rows as pyarrow record batches of string columns (blank rows left out), with the file
        line of each row: what :meth:`chunks` converts to pandas, for a caller that stays columnar."""
        header = self.header
        read = header if self.columns is None else [c for c in header if c in self.columns]
        self._src.limit_ahead(READ_AHEAD * self.block_bytes)
        try:
            reader = pacsv.open_csv(
                self._src,
                read_options=pacsv.ReadOptions(
                    column_names=header, skip_rows=1, use_threads=False, block_size=self.block_bytes
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.delimiter,
                    invalid_row_handler=self._on_invalid,
                    newlines_in_values=False,
                    ignore_empty_lines=False,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(read, pa.string()),
                    include_columns=None if self.columns is None else read,
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            ordinal = 0
            for batch in reader:
                self._src.took(self.block_bytes)
                n = batch.num_rows
                lines = np.arange(ordinal, ordinal + n, dtype=np.int64) + 2
                ordinal += n
                for s in sorted(self._skipped):  # rows the parser left out still have their lines
                    lines[lines >= s] += 1
                # a row is blank when every column read is empty once trimmed (pandas' str.strip on
                # these columns is the same pyarrow function)
                blank = np.ones(n, dtype=bool)
                for c in read:
                    if not blank.any():
                        break
                    trimmed = pc.utf8_trim_whitespace(batch.column(c))
                    blank &= pc.equal(trimmed, "").to_numpy(zero_copy_only=False)
                if blank.any():
                    batch, lines = batch.filter(pa.array(~blank)), lines[~blank]
                self.rows_read += batch.num_rows
                if batch.num_rows:
                    yield lines, batch
        except pa.ArrowInvalid as exc:
            raise InputFileError(str(self.path), f"not a readable CSV file ({exc})") from exc
        finally:
            self._src.limit_ahead(None)  # whatever happens, a read never waits for batches no one takes

    def sha256(self) -> str:
        """SHA-256 of the file's (un-gzipped) bytes; closes the file."""
        try:
            return self._src.sha256()
        finally:
            self._src.close()

    def close(self) -> None:
        self._src.close()


def read_csv_strict(
    path: Path, data: bytes | None = None, *, expected: list[str] | None = None
) -> pd.DataFrame:
    """Read a whole CSV file as all-string columns; every row must have as many fields as the header.

    Row ``i`` of the result (0-based) is on line ``i + 2`` of the file unless the file has blank
    lines (no field in these exports spans lines; a file where one does is rejected by the field-count
    check). ``data`` is ignored (kept for callers that read the bytes first).
    """
    f = CsvFile(path)
    if expected is not None:
        f.expect(
            expected,
            hint="use the file exactly as downloaded from data.police.uk, or map your own export with "
            "`rasure import records --mapping`",
        )
    try:
        parts = [c.frame for c in f.chunks()]
    finally:
        f.close()
    if f.problems:
        raise InvalidRowsError(str(path), f.problems, total_rows=f.rows_read)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=pd.StringDtype()) for c in f.header})
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class Batch:
    """Canonical rows from one chunk of a file, in file order (repeats not yet merged)."""

    records: pd.DataFrame
    links: pd.DataFrame
    outcomes: pd.DataFrame


class StreamedFile:
    """A data file read chunk by chunk into canonical :class:`Batch` es.

    Subclasses set :attr:`kind` (``street``, ``outcomes``, ``records``), :attr:`keep` (which row of
    a reference repeated in the file wins: ``first`` or ``last``) and implement :meth:`_convert`.
    Every chunk is validated; once any row is bad, later chunks are still validated (so every bad
    row is listed in :attr:`problems`) but no longer converted or yielded. A caller that writes
    batches as they come must therefore check :attr:`problems` at the end and undo its writes
    (one transaction) if there are any; :meth:`parsed` does that for a whole file in memory.
    """

    kind = "records"
    keep: Literal["first", "last"] = "first"

    def __init__(self, csv_file: CsvFile) -> None:
        self.csv = csv_file
        self.path = str(csv_file.path)
        self.problems: list[RowProblem] = csv_file.problems

    @property
    def rows_read(self) -> int:
        return self.csv.rows_read

    def sha256(self) -> str:
        return self.csv.sha256()

    def _convert(self, chunk: CsvChunk, problems: list[RowProblem]) -> Batch | None:
        """Validate ``chunk`` (appending to ``problems``); return its batch, or None if it has problems."""
        raise NotImplementedError

    def batches(self) -> Iterator[Batch]:
        for chunk in self.csv.chunks():
            found: list[RowProblem] = []
            batch = self._convert(chunk, found)
            if found:
                found.sort(key=lambda q: q.line)
                self.problems.extend(found)
            elif batch is not None and not self.problems:
                yield batch

    def notes(self) -> list[str]:
        """What the reader did that changes the arithmetic (besides merging repeats)."""
        return []

    def merged_note(self, merged: int) -> str:
        return f"{merged} repeated reference row(s) in this file merged into one record each"

    def raise_problems(self) -> None:
        if self.problems:
            self.problems.sort(key=lambda q: q.line)
            raise InvalidRowsError(self.path, self.problems, total_rows=self.rows_read)

    def parsed(self) -> ParsedFile:
        """The whole file in memory, repeats merged; raises :class:`InvalidRowsError` for any bad row."""
        parts = list(self.batches())
        digest = self.sha256()
        self.raise_problems()
        records = pd.concat([b.records for b in parts], ignore_index=True) if parts else None
        links = pd.concat([b.links for b in parts], ignore_index=True) if parts else None
        outcomes = pd.concat([b.outcomes for b in parts], ignore_index=True) if parts else None
        return self._whole(records, links, outcomes, digest)

    def _whole(
        self,
        records: pd.DataFrame | None,
        links: pd.DataFrame | None,
        outcomes: pd.DataFrame | None,
        digest: str,
    ) -> ParsedFile:
        from rasure.records import conform, empty_links, empty_records

        records = empty_records() if records is None else records
        before = len(records)
        records = conform(records.drop_duplicates(subset=["source", "reference"], keep=self.keep))
        merged = before - len(records)
        if outcomes is not None and not outcomes.empty:
            before = len(outcomes)
            outcomes = outcomes.drop_duplicates(subset=["source", "reference"], keep=self.keep)
            outcomes = outcomes.reset_index(drop=True)
            merged = before - len(outcomes)
        links = (
            empty_links() if links is None or links.empty else links.drop_duplicates().reset_index(drop=True)
        )
        notes = ([self.merged_note(merged)] if merged else []) + self.notes()
        return ParsedFile(
            path=self.path,
            kind=self.kind,
            records=records,
            links=links,
            outcomes=outcomes if outcomes is not None else pd.DataFrame(),
            rows_read=self.rows_read,
            sha256=digest,
            without_location=int(records["easting"].isna().sum()),
            repeats_merged=merged,
            notes=tuple(notes),
        )


def too_long(
    path: str,
    lines: NDArray[np.int64],
    column: str,
    values: pd.Series,
    limit: int,
    problems: list[RowProblem],
) -> None:
    """List every value of ``values`` longer than ``limit`` characters (the stored column's size)."""
    for i in np.flatnonzero((values.str.len() > limit).fillna(False).to_numpy(dtype=bool)):
        problems.append(
            RowProblem(
                path,
                int(lines[i]),
                column,
                str(values.iloc[i])[:80] + "...",
                f"is longer than {limit} characters",
                "shorten it, or check the row: a missing quote can run fields together",
            )
        )


def transform_located(
    fn: Callable[..., tuple[NDArray[np.float64], NDArray[np.float64]]],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    **kwargs: Any,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``fn(x, y)`` (a :mod:`rasure.geo` conversion) for the rows that have both coordinates; NaN for
    the others. (pyproj turns a missing coordinate into ``inf``, which would count as located.)"""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    a, b = np.full(len(x), np.nan), np.full(len(x), np.nan)
    if ok.any():
        a[ok], b[ok] = fn(x[ok], y[ok], **kwargs)
    bad = ~(np.isfinite(a) & np.isfinite(b))
    a[bad], b[bad] = np.nan, np.nan
    return a, b


def project_located(
    lon: NDArray[np.float64], lat: NDArray[np.float64], *, crs: str = BNG
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """WGS84 lon/lat to the projected CRS ``crs`` (the force's; default BNG) for the rows that have
    both; NaN for the others."""
    return transform_located(lonlat_to_projected, lon, lat, crs=crs)


def refuse_outside_area(
    path: str,
    lines: NDArray[np.int64],
    field: str,
    values: pd.Series,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    *,
    crs: str,
    problems: list[RowProblem],
) -> None:
    """List every located row whose lon/lat lies outside the published area of use of ``crs`` (the
    force's CRS), where its metres are no longer true distances: such a point belongs to another force,
    or the coordinates are wrong. ``field``/``values``: the column reported (the file's own)."""
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    has = np.isfinite(lon) & np.isfinite(lat)
    if not has.any():
        return
    out = np.zeros(len(lon), dtype=bool)
    out[has] = outside_area_of_use(crs, lon[has], lat[has])
    for i in np.flatnonzero(out):
        problems.append(
            RowProblem(
                path,
                int(lines[i]),
                field,
                str(values.iloc[i])[:80],
                f"lies outside the area of use of {crs}, the force's CRS (point lon {lon[i]:.5f}, "
                f"lat {lat[i]:.5f}), so its distances would not be true metres",
                "import the file for the force it belongs to (--force CODE), give the force's own projected "
                "CRS (rasure force add --crs; --crs EPSG on hotspots analyse), or fix the coordinate",
            )
        )


def blank_to_na(s: pd.Series) -> pd.Series:
    """Empty strings to missing (NA), other values unchanged."""
    return s.where(s != "")


def problems_frame(problems: list[RowProblem]) -> pd.DataFrame:
    """Rejected rows as a table, for ``--errors-out``."""
    return pd.DataFrame(
        [(p.file, p.line, p.field, p.value, p.reason, p.hint) for p in problems],
        columns=["file", "line", "field", "value", "reason", "how_to_fix"],
    )
