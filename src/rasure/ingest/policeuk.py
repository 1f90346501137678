"""police.uk street and outcomes files (data.police.uk archive schema).

Quirks of real files, and what we do with each:

- **Anti-social behaviour rows have no Crime ID.** They are kept (category "Anti-social
  behaviour", never serious violence) under a stable synthetic reference
  ``asb-<sha1 of month, place, type and its repeat number in the file>``, so re-importing
  the same file updates them instead of adding duplicates.
- **"No Location" rows have no coordinates.** They are kept and counted
  (``without_location``) and left off maps and hot-spot analysis.
- **Repeated Crime IDs.** The same ID twice in one file is one crime listed twice (in the
  Gwent files the repeats are identical rows); it is stored once and the number of merged
  repeats is reported. The same ID in a later month is the same crime re-published: the
  record is updated (later file wins, since folders import in month order) — never a
  second record. A real file is never rejected for repeats.
- **LSOA codes** are stored as given (2011 codes in older files, 2021 codes from 2022).
- Times are known only to the month: ``occurred_from`` is the first second of the month,
  ``occurred_to`` the last, ``time_precision = "month"``.
- **Outcomes files** update each crime's last outcome. An outcome is applied only if it is
  dated no earlier than the outcome already held (``last_outcome_month``), so importing
  files out of order does not roll an outcome back. Outcomes for crimes not (yet) imported
  are counted and reported.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from rasure.derived import first_appearances
from rasure.errors import InputFileError, RowProblem
from rasure.geo import BNG, outside_area_of_use
from rasure.ingest.common import (
    BLOCK_BYTES,
    Batch,
    CsvChunk,
    CsvFile,
    ParsedFile,
    StreamedFile,
    blank_to_na,
    project_located,
    refuse_outside_area,
    too_long,
)
from rasure.records import RECORD_COLUMNS, TEXT_LIMITS, conform, empty_links, empty_records

STREET_COLUMNS = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]
OUTCOME_COLUMNS = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Outcome type",
]
#: Generous box around the UK (police.uk covers England, Wales and Northern Ireland).
UK_LON = (-9.0, 2.5)
UK_LAT = (49.0, 61.5)
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def source_for(force: str) -> str:
    """The record source key for a police.uk force name.

    >>> source_for("Thames Valley Police")
    'police.uk:thames-valley-police'
    """
    return "police.uk:" + re.sub(r"[^a-z0-9]+", "-", force.strip().lower()).strip("-")


def detect_kind(path: Path, header: list[str]) -> str:
    if header == STREET_COLUMNS:
        return "street"
    if header == OUTCOME_COLUMNS:
        return "outcomes"
    name = path.name.lower()
    expected = OUTCOME_COLUMNS if "outcome" in name else STREET_COLUMNS
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    raise InputFileError(
        str(path),
        f"wrong header for a police.uk {'outcomes' if 'outcome' in name else 'street'} file: "
        f"missing {missing}, unexpected {extra}",
        line=1,
        hint="use the file exactly as downloaded from data.police.uk (street or outcomes), or import your "
        "own export with `rasure import records --mapping`",
    )


def open_policeuk(path: str | Path, *, crs: str = BNG, block_bytes: int = BLOCK_BYTES) -> PoliceUkFile:
    """Open one police.uk ``-street`` or ``-outcomes`` file (``.csv`` or ``.csv.gz``) for streaming;
    easting/northing are in ``crs`` (the force's projected CRS, default BNG), and a point outside its
    area of use is an error naming the line."""
    return PoliceUkFile(Path(path), crs=crs, block_bytes=block_bytes)


def read_policeuk(path: str | Path, *, crs: str = BNG) -> ParsedFile:
    """Read and validate one police.uk ``-street`` or ``-outcomes`` file (``.csv`` or ``.csv.gz``)."""
    return open_policeuk(path, crs=crs).parsed()


#: The street-file columns hot-spot analysis uses (:func:`read_street_files`): not "Reported by",
#: "LSOA name", "Last outcome category" or "Context".
ANALYSIS_COLUMNS = [
    "Crime ID",
    "Month",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "Crime type",
]


def read_street_files(paths: list[str] | list[Path], *, crs: str = BNG) -> pd.DataFrame:
    """The street records of several police.uk files as one frame, for analysis (outcomes files skipped).

    The same rows and values as :func:`read_policeuk` on each file in turn, joined, with a later file's
    row winning for a repeated reference; but only :data:`ANALYSIS_COLUMNS` are read, so ``lsoa_name``,
    ``last_outcome`` and ``last_outcome_month`` are missing. The files' rows stay pyarrow columns from
    the parse to the frame: each check and conversion runs once for all files, on whole columns, and
    the slow ones (month and coordinate parsing, projection) once per distinct value; no value becomes
    a Python object except the anti-social-behaviour keys, hashed one by one (there is no vectorised
    SHA-1). A bad row makes the file it is in fail with :func:`read_policeuk`'s own error (file, line,
    field and how to fix it), as does a point outside the area of use of ``crs`` (the projected CRS of
    easting/northing).
    """
    parts: dict[str, list[pa.Array]] = {c: [] for c in [*ANALYSIS_COLUMNS, _ASB_KEY]}
    sizes: list[int] = []
    street: list[Path] = []
    for raw in paths:
        path = Path(raw)
        csv_file = CsvFile(path, columns=ANALYSIS_COLUMNS, digest=False)
        try:
            if detect_kind(path, csv_file.header) != "street":
                continue
            rows = 0
            for _, batch in csv_file.arrow_chunks():  # trimmed as it comes, so the raw text is freed
                for c, values in _trimmed(batch).items():
                    parts[c].append(values)
                rows += batch.num_rows
        finally:
            csv_file.close()
        if csv_file.problems:
            read_policeuk(path, crs=crs)  # raises the file's own error, every bad row listed
        street.append(path)
        sizes.append(rows)
    if not sizes or not sum(sizes):
        return empty_records()
    # one array per column (pyarrow's take copies a chunked column into one first anyway); each
    # column's chunks are let go of as soon as it is joined, so the two copies never all coexist
    columns = {c: pa.chunked_array(parts.pop(c), pa.string()).combine_chunks() for c in list(parts)}
    pa.default_memory_pool().release_unused()  # the allocator keeps freed pages unless told
    file_of = np.repeat(np.arange(len(street), dtype=np.int64), sizes)
    recs = _street_columns(columns, file_of, crs=crs)
    del columns
    pa.default_memory_pool().release_unused()
    if recs is None:  # a bad row: read the files one by one, so the first bad one raises its own error
        parsed = [read_policeuk(path, crs=crs).records for path in street]
        # not reached while the checks above equal the reader's; if they ever differ, its answer stands
        joined = pd.concat(parsed, ignore_index=True)  # pragma: no cover
        joined = joined.drop_duplicates(subset=["source", "reference"], keep="last")  # pragma: no cover
        unread = ["lsoa_name", "last_outcome", "last_outcome_month"]  # pragma: no cover
        return conform(joined.drop(columns=unread))  # pragma: no cover
    return recs


def _distinct(values: pa.ChunkedArray | pa.Array) -> tuple[NDArray[np.intp], pd.Series]:
    """The distinct values of a string column (a pandas ``string`` series) and each row's index into them."""
    enc = pc.dictionary_encode(values)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.intp, copy=False)
    uniques = enc.dictionary.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    return codes, uniques


def _codes(values: pa.Array) -> NDArray[np.intp]:
    """Each row's index into the distinct values of a string array: the codes :func:`_distinct`
    gives (both number the values in order of first appearance), for a column of nearly all
    distinct values such as the references, whose hash table of texts is slow to build
    (``dictionary_encode``: 0.28-0.36 s for the 1,011,870 references of Gwent x5, against 0.14 s
    this way, on a shared 2-core machine).

    Each text's length and three of its 8-byte words (:func:`_fingerprints`) are mixed into a 64-bit
    fingerprint and the fingerprints factorised as integers; then every row whose code is not new is
    compared with the first row of that code. Equal texts have equal fingerprints, so once every such
    row equals its first row the codes are those of the texts; if two distinct texts ever share a
    fingerprint the comparison finds it and the codes come from :func:`_distinct`."""
    if values.null_count or len(values) < 2:
        return _distinct(values)[0]
    codes = pd.factorize(_fingerprints(values))[0].astype(np.intp, copy=False)
    new = first_appearances(codes)
    again = np.flatnonzero(~new)
    if len(again):
        first = np.flatnonzero(new)  # first[c]: the row where code c first appears
        same = pc.equal(values.take(pa.array(again)), values.take(pa.array(first[codes[again]])))
        if not pc.all(same).as_py():
            return _distinct(values)[0]
    return codes


_MIX = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio (Fibonacci hashing, Knuth 6.4)


def _mixed(h: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """A 64-bit mixing step (multiply by :data:`_MIX`, fold the high bits down), in place."""
    h *= _MIX
    h ^= h >> np.uint64(29)
    return h


def _fingerprints(values: pa.Array) -> NDArray[np.uint64]:
    """A 64-bit fingerprint of each value of a string array, from its byte length and its first,
    middle and last 8 bytes (so all of a value of up to 24 bytes), read from the data buffer for all
    values at once; equal values have equal fingerprints."""
    n = len(values)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset : values.offset + n + 1]
    starts = offsets[:-1].astype(np.int64)
    lengths = offsets[1:] - offsets[:-1]
    buf = values.buffers()[2]
    data = np.zeros(0, dtype=np.uint8) if buf is None else np.frombuffer(buf, dtype=np.uint8)
    h = _mixed(lengths.astype(np.uint64))
    wide = lengths >= 8
    if wide.any():
        # every 8 bytes of the buffer as a little-endian integer, one per byte offset (no copy)
        words = np.ndarray((len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))
        rows = slice(None) if wide.all() else np.flatnonzero(wide)
        s, tail = starts[rows], starts[rows] + lengths[rows] - 8
        hw = h[rows]
        for at in (s, (s + tail) // 2, tail):
            hw ^= words[at]
            _mixed(hw)
        h[rows] = hw
    if not wide.all():  # shorter values byte by byte
        rows = np.flatnonzero(~wide)
        s, k = starts[rows], lengths[rows]
        w = np.zeros(len(rows), dtype=np.uint64)
        for j in range(7):
            has = k > j
            w[has] |= data[s[has] + j].astype(np.uint64) << np.uint64(8 * j)
        h[rows] = _mixed(h[rows] ^ w)
    return h


def _string(values: pa.ChunkedArray | pa.Array) -> pd.arrays.ArrowStringArray:
    """A pyarrow string column as the pandas ``string`` array of the canonical frame, without a copy."""
    return cast(pd.arrays.ArrowStringArray, pd.array(values, dtype=pd.StringDtype()))


_ASB_KEY = "asb key"


def _trimmed(batch: pa.RecordBatch) -> dict[str, pa.Array]:
    """The analysis columns of a batch of street rows, trimmed (pandas' ``str.strip`` on these columns
    is the same pyarrow function), and under :data:`_ASB_KEY` the key text of each row without a
    Crime ID, as :func:`_street_records` builds it (the month trimmed, the other parts as in the file).

    A column none of whose values can start or end with whitespace (:func:`_maybe_padded`) is passed
    on as it is: trimming it would give the same values, in a copy."""
    out = {
        c: pc.utf8_trim_whitespace(batch.column(c)) if _maybe_padded(batch.column(c)) else batch.column(c)
        for c in ANALYSIS_COLUMNS
    }
    no_id = pc.equal(out["Crime ID"], "")
    out[_ASB_KEY] = pc.binary_join_element_wise(
        pc.filter(out["Month"], no_id),
        *(
            pc.filter(batch.column(c), no_id)
            for c in ("Longitude", "Latitude", "Location", "LSOA code", "Crime type")
        ),
        "|",
    )
    return out


#: The bytes a value trimmed by ``utf8_trim_whitespace`` may start or end with: every Unicode
#: whitespace character is an ASCII control or space (<= 0x20) or encoded from bytes >= 0x80 (DEL
#: counted too, to be safe).
_EDGE = np.zeros(256, dtype=bool)
_EDGE[: 0x20 + 1] = True
_EDGE[0x7F:] = True


def _maybe_padded(values: pa.Array) -> bool:
    """False when no value of a (null-free) string array starts or ends with a byte that could belong
    to whitespace (:data:`_EDGE`), so trimming would change nothing; True otherwise (or with nulls).
    Reads the first and last byte of each value from the array's buffers, for all values at once."""
    if values.null_count or not len(values):
        return bool(values.null_count)
    _, offsets_buf, data_buf = values.buffers()
    if data_buf is None:  # every value empty
        return False
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[values.offset : values.offset + len(values) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    given = ends > starts
    return bool(_EDGE[data[starts[given]]].any() or _EDGE[data[ends[given] - 1]].any())


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _each_bytes(text: pa.Array | pa.ChunkedArray) -> NDArray[np.object_]:
    """The UTF-8 bytes of each value of a (null-free) string array, as ``bytes`` objects made by
    pyarrow in one call (no Python string decoded, and no object the garbage collector tracks: a
    list of memoryview slices of the buffer, one a value, set off collections of the whole heap)."""
    return cast(NDArray[np.object_], text.cast(pa.binary()).to_numpy(zero_copy_only=False))


def _asb_references(
    ref: pa.Array, no_id: NDArray[np.bool_], key: pa.Array, nth: NDArray[np.int64]
) -> pa.Array:
    """``ref`` with each row without a Crime ID (``no_id``: its value is empty) given
    ``"asb-" + sha1(f"{key}|{nth}").hexdigest()[:24]`` of its key and repeat number (``key``, ``nth``:
    of those rows, in order), as :func:`_street_records` gives it: the texts joined by pyarrow and
    each hashed from its bytes (hashlib has no vectorised form), the hex digits written for all rows
    at once, and set in by offsets alone (the references as a column empty on the other rows, joined
    to ``ref`` value by value: about a third of the time of ``pc.replace_with_mask``)."""
    text = pc.binary_join_element_wise(key, pc.cast(pa.array(nth, pa.int64()), pa.string()), "|")
    n = len(text)
    sha1 = hashlib.sha1
    digest = np.frombuffer(b"".join([sha1(v).digest()[:12] for v in _each_bytes(text)]), dtype=np.uint8)
    digest = digest.reshape(n, 12)
    chars = np.empty((n, 28), dtype=np.uint8)
    chars[:, :4] = np.frombuffer(b"asb-", dtype=np.uint8)
    chars[:, 4::2] = _HEX[digest >> 4]
    chars[:, 5::2] = _HEX[digest & 15]
    ends = np.zeros(len(ref) + 1, dtype=np.int32)
    np.cumsum(np.where(no_id, 28, 0), out=ends[1:])
    refs = pa.StringArray.from_buffers(len(ref), pa.py_buffer(ends), pa.py_buffer(chars))
    return pc.binary_join_element_wise(ref, refs, "")


def _street_columns(
    trimmed: dict[str, pa.Array], file_of: NDArray[np.int64], *, crs: str
) -> pd.DataFrame | None:
    """Canonical records from the street rows of whole files (``trimmed``: :func:`_trimmed` of them;
    ``file_of``: each row's file, in the order the files are read), repeats merged as
    :func:`read_street_files` says; None when any row breaks a rule :func:`read_policeuk` enforces
    (the caller then lets it raise the error).

    Every check is the record path's (:func:`_checked`, :func:`refuse_outside_area`), on whole columns
    or on the distinct values; every value is the one :func:`_street_records` gives.
    """
    for name, limit in _LIMITS.items():
        # a value has no more characters than bytes: characters are counted only past the limit in bytes
        if (
            name in trimmed
            and (pc.max(pc.binary_length(trimmed[name])).as_py() or 0) > limit
            and pc.any(pc.greater(pc.utf8_length(trimmed[name]), limit)).as_py()
        ):
            return None
    checked = _value_checks(trimmed)
    if checked is None:
        return None
    del trimmed["Longitude"], trimmed["Latitude"]  # parsed: the text is let go of
    points = _projected(checked, crs=crs)
    if points is None:
        return None
    pair_code, peast, pnorth = points
    force_code, sources = checked.force_code, checked.sources
    month_code, months = checked.month_code, checked.months
    lon_code, lon_u, lat_code, lat_u = checked.lon_code, checked.lon_u, checked.lat_code, checked.lat_u

    # the reference: the Crime ID, or for a row without one (anti-social behaviour) the stable key of
    # _street_records: sha1 of month|lon|lat|location|lsoa|type (as in the file) and its repeat number
    ref = trimmed.pop("Crime ID")
    no_id = pc.equal(ref, "").to_numpy(zero_copy_only=False)
    if no_id.any():
        key = trimmed.pop(_ASB_KEY)
        key_code, _ = _distinct(key)
        group = key_code.astype(np.int64) * len(file_of) + file_of[no_id]  # repeats count within a file
        nth = _repeat_numbers(group)
        ref = _asb_references(ref, no_id, key, nth)

    # within a file the first row of a repeated Crime ID is kept; across files the later file's row.
    # A record's identity (source, reference) as one integer, so both steps compare integers.
    ref_code = _codes(ref)
    src_code = pd.factorize(np.asarray(sources, dtype=object))[0][force_code]  # two names, one source
    ident = ref_code.astype(np.int64) * len(sources) + src_code
    # only the rows of a record listed more than once can be merged: the two steps run on them alone
    again = np.flatnonzero(np.bincount(ident)[ident] > 1)
    merged = np.zeros(len(ident), dtype=bool)
    if len(again):
        n_files = int(file_of.max()) + 1
        sub = ident[again]
        first_in_file = ~pd.Series(sub * n_files + file_of[again]).duplicated(keep="first").to_numpy()
        keep = ~pd.Series(sub[first_in_file]).duplicated(keep="last").to_numpy()
        merged[again] = True
        merged[again[first_in_file][keep]] = False
    take = np.flatnonzero(~merged)

    whole = len(take) == len(file_of)  # nothing merged: the columns as they are

    def col(c: str) -> pa.Array:  # each column taken once and let go of, so two copies never pile up
        values = trimmed.pop(c)
        return values if whole else pc.take(values, take)

    month_take = month_code[take]
    start_u = pd.to_datetime(months + "-01", format="%Y-%m-%d")
    end_u = start_u + pd.offsets.MonthBegin(1) - pd.Timedelta(seconds=1)
    pt = pair_code[take]
    lon_t = lon_u[lon_code[take]]  # NaN where blank (both or neither are given: checked)
    lat_t = lat_u[lat_code[take]]
    month_t = col("Month")
    lsoa = col("LSOA code")
    n = len(take)
    given = {
        "source": _string(pa.array(sources, pa.string()).take(force_code[take])),
        "reference": _string(ref if whole else pc.take(ref, take)),
        "category": _string(col("Crime type")),
        "occurred_from": start_u.to_numpy(dtype="datetime64[s]")[month_take],
        "occurred_to": end_u.to_numpy(dtype="datetime64[s]")[month_take],
        "time_precision": _string(pa.repeat(pa.scalar("month", pa.string()), n)),
        "lon": lon_t,
        "lat": lat_t,
        "easting": peast[pt],
        "northing": pnorth[pt],
        "location_text": _string(col("Location")),
        "lsoa_code": _string(_blank_null(lsoa)),
        "weapon": _string(pa.repeat(pa.scalar("unknown", pa.string()), n)),
        "force": _string(col("Falls within")),
        "as_of": _string(month_t),
    }
    return _canonical(given, n)


def _canonical(given: dict[str, Any], n: int) -> pd.DataFrame:
    """The canonical records frame of ``n`` rows from the columns ``given`` (each already of its
    dtype, so :func:`~rasure.records.conform` passes the frame through), every other canonical
    column missing. The columns are taken as they are (``copy=False``: not copied into one block per
    dtype, which for a million rows costs more than the rest of the frame)."""
    index = pd.RangeIndex(n)
    missing = _string(pa.nulls(n, pa.string()))
    frame = pd.DataFrame(
        index=index,
        data={
            c: given[c] if c in given else missing if t == "string" else pd.Series(index=index, dtype=t)
            for c, t in RECORD_COLUMNS.items()
        },
        copy=False,
    )
    return conform(frame)


_LIMITS = {
    "Crime ID": TEXT_LIMITS["reference"],
    "Falls within": TEXT_LIMITS["force"],
    "Crime type": TEXT_LIMITS["category"],
    "Location": TEXT_LIMITS["location_text"],
    "LSOA code": TEXT_LIMITS["lsoa_code"],
    "LSOA name": TEXT_LIMITS["lsoa_name"],
    "Last outcome category": TEXT_LIMITS["last_outcome"],
    "Outcome type": TEXT_LIMITS["last_outcome"],
}


class PoliceUkFile(StreamedFile):
    """A police.uk street or outcomes file read in chunks (see the module docstring for the rules)."""

    def __init__(self, p: Path, *, crs: str = BNG, block_bytes: int = BLOCK_BYTES) -> None:
        self.crs = crs
        csv_file = CsvFile(p, block_bytes=block_bytes)
        try:
            self.kind = detect_kind(p, csv_file.header)
        except InputFileError:
            csv_file.close()
            raise
        super().__init__(csv_file)
        # street: the first row of a repeated Crime ID is kept; outcomes: the last listed
        self.keep = "first" if self.kind == "street" else "last"
        self._asb = _AsbCounts()
        self._no_id = 0

    def notes(self) -> list[str]:
        if self._no_id:
            return [f"{self._no_id} row(s) without a Crime ID (anti-social behaviour) kept with a stable key"]
        return []

    def merged_note(self, merged: int) -> str:
        if self.kind == "outcomes":
            return f"{merged} crime(s) with more than one outcome in this file: the last listed is kept"
        return f"{merged} repeated Crime ID row(s) in this file merged into one record each"

    def _convert(self, chunk: CsvChunk, problems: list[RowProblem]) -> Batch | None:
        if chunk.batch is not None:  # the usual case: a chunk without a problem, read as pyarrow columns
            if self.kind == "outcomes":
                out = _outcome_columns(chunk.batch)
                if out is not None:
                    return Batch(records=_no_records(), links=_no_links(), outcomes=out)
            else:
                found = _street_chunk(chunk.batch, self._asb, crs=self.crs)
                if found is not None:
                    recs, no_id = found
                    self._no_id += no_id
                    return Batch(records=recs, links=_no_links(), outcomes=_no_outcomes())
        # a chunk with a problem (or one the column checks could not clear): the row-by-row checks
        # below list every problem with its line
        return self._convert_rows(chunk, problems)

    def _convert_rows(self, chunk: CsvChunk, problems: list[RowProblem]) -> Batch | None:
        """:meth:`_convert` on the pandas frame of the chunk: every problem listed with its line."""
        f, line = chunk.frame, chunk.lines
        lon, lat, source = _checked(self.path, f, line, problems)
        if self.kind == "outcomes":
            return self._outcomes(f, line, problems)
        if problems:  # a coordinate already refused is not also said to lie outside the CRS's area
            return None
        refuse_outside_area(
            self.path,
            line,
            "Longitude",
            f["Longitude"].str.strip(),
            lon.to_numpy(dtype=float),
            lat.to_numpy(dtype=float),
            crs=self.crs,
            problems=problems,
        )
        if problems:
            return None
        recs, no_id = _street_records(f, lon, lat, source, asb=self._asb, crs=self.crs)
        self._no_id += no_id
        return Batch(records=recs, links=_no_links(), outcomes=_no_outcomes())

    def _outcomes(self, f: pd.DataFrame, line: NDArray[np.int64], problems: list[RowProblem]) -> Batch | None:
        ref = f["Crime ID"].str.strip()
        outcome = f["Outcome type"].str.strip()
        for i in np.flatnonzero((ref == "").to_numpy(dtype=bool)):
            problems.append(
                RowProblem(
                    self.path,
                    int(line[i]),
                    "Crime ID",
                    "",
                    "is empty in an outcomes file",
                    "every outcome must name the crime it belongs to",
                )
            )
        for i in np.flatnonzero((outcome == "").to_numpy(dtype=bool)):
            problems.append(
                RowProblem(
                    self.path,
                    int(line[i]),
                    "Outcome type",
                    "",
                    "is empty",
                    "give the outcome, or remove the row",
                )
            )
        if problems:
            return None
        out = pd.DataFrame(
            {
                "source": _sources(f["Falls within"].str.strip()),
                "reference": ref,
                "last_outcome": outcome,
                "last_outcome_month": f["Month"].str.strip(),
            }
        )
        return Batch(records=_no_records(), links=_no_links(), outcomes=out)


class _AsbCounts:
    """How many rows of each anti-social-behaviour key (:data:`_ASB_KEY`) a file has had so far, so
    that a row's repeat number counts across the whole file, chunk after chunk.

    A key is remembered by its 128-bit BLAKE2b digest (``hashlib.blake2b(key, digest_size=16)``, RFC
    7693), kept sorted with its count: 24 bytes a key instead of its text (about 60 bytes) and a
    hash set of every key seen rebuilt for each chunk, which grew with the file. Two distinct keys
    of a file share a digest with probability about k^2 / 2^129 (k keys: 1e-27 for a million), far
    below that of two references sharing their 96-bit ``asb-`` hash."""

    def __init__(self) -> None:
        self.digests: NDArray[np.bytes_] = np.zeros(0, dtype="S16")
        self.counts: NDArray[np.int64] = np.zeros(0, dtype=np.int64)

    def _where(self, digests: NDArray[np.bytes_]) -> NDArray[np.int64]:
        """Each digest's place among the digests seen so far; -1 for a new one."""
        if not len(self.digests):
            return np.full(len(digests), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.digests, digests), len(self.digests) - 1)
        return np.where(self.digests[at] == digests, at, -1).astype(np.int64)

    def take(self, distinct: pa.Array, rows: NDArray[np.int64]) -> NDArray[np.int64]:
        """The count so far of each of the ``distinct`` keys (0 for a new one), then counts ``rows``
        more of each (``rows``: how many rows of this chunk have that key)."""
        digests = np.array(
            [hashlib.blake2b(v, digest_size=16).digest() for v in _each_bytes(distinct)], dtype="S16"
        )
        at = self._where(digests)
        old = at >= 0
        before = np.zeros(len(digests), dtype=np.int64)
        before[old] = self.counts[at[old]]
        self.counts[at[old]] += rows[old]
        if not old.all():
            order = np.argsort(digests[~old])
            fresh, counts = digests[~old][order], rows[~old][order]
            place = np.searchsorted(self.digests, fresh)
            self.digests = np.insert(self.digests, place, fresh)
            self.counts = np.insert(self.counts, place, counts)
        return before


def _blank_null(values: pa.Array) -> pa.Array:
    """Empty strings to null (:func:`~rasure.ingest.common.blank_to_na` on a pyarrow column)."""
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _column_checks(batch: pa.RecordBatch, trimmed: dict[str, pa.Array]) -> _Checked | None:
    """The checks of :func:`_checked` on whole columns and distinct values (month, coordinates, text
    lengths, source): the month, force and coordinates of each row, or None when a row may break a
    rule (the caller then runs :func:`_checked` on the rows, which lists each problem with its line).

    A raw value over its length limit sends the chunk to :func:`_checked` even if trimming would
    shorten it enough (rare; :func:`_checked` then accepts it)."""
    for name, limit in _LIMITS.items():
        if name in batch.schema.names:
            longest = pc.max(pc.utf8_length(batch.column(name))).as_py()
            if longest is not None and longest > limit:
                return None
    return _value_checks(trimmed)


def _value_checks(trimmed: dict[str, pa.Array]) -> _Checked | None:
    """The value checks of :func:`_checked` on the distinct values of trimmed columns (source length,
    month, coordinates in the UK, both or neither coordinate): each row's code into the distinct
    forces, months, longitudes and latitudes, or None when a row breaks a rule."""
    force_code, forces = _distinct(trimmed["Falls within"])
    sources = [source_for(str(f)) for f in forces]
    if any(len(x) > TEXT_LIMITS["source"] for x in sources):
        return None
    month_code, months = _distinct(trimmed["Month"])
    if not months.str.match(_MONTH).fillna(False).to_numpy(dtype=bool).all():
        return None
    coords = []
    for name, (lo, hi) in (("Longitude", UK_LON), ("Latitude", UK_LAT)):
        code, raw = _distinct(trimmed[name])
        val = np.asarray(pd.to_numeric(blank_to_na(raw), errors="coerce").astype(float), dtype=np.float64)
        given = (raw != "").to_numpy(dtype=bool)
        if (given & (np.isnan(val) | (val < lo) | (val > hi))).any():
            return None
        coords.append((code, val, given[code]))
    (lon_code, lon_u, lon_given), (lat_code, lat_u, lat_given) = coords
    if (lon_given != lat_given).any():  # only one of Longitude/Latitude given
        return None
    return _Checked(force_code, sources, month_code, months, lon_code, lon_u, lat_code, lat_u)


class _Checked:
    """What :func:`_value_checks` found: each row's code into the distinct forces (and their record
    sources), months, longitudes and latitudes (parsed; NaN where blank)."""

    __slots__ = ("force_code", "lat_code", "lat_u", "lon_code", "lon_u", "month_code", "months", "sources")

    def __init__(
        self,
        force_code: NDArray[np.intp],
        sources: list[str],
        month_code: NDArray[np.intp],
        months: pd.Series,
        lon_code: NDArray[np.intp],
        lon_u: NDArray[np.float64],
        lat_code: NDArray[np.intp],
        lat_u: NDArray[np.float64],
    ) -> None:
        self.force_code, self.sources = force_code, sources
        self.month_code, self.months = month_code, months
        self.lon_code, self.lon_u, self.lat_code, self.lat_u = lon_code, lon_u, lat_code, lat_u

    def source(self) -> pa.Array:
        """Each row's record source (:func:`_sources` of its trimmed force)."""
        return pa.array(self.sources, pa.string()).take(pa.array(self.force_code))


def _projected(
    checked: _Checked, *, crs: str
) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64]] | None:
    """Each row's code into the distinct points and their easting and northing in ``crs`` (NaN where
    blank), each distinct point checked and projected once; None when a point lies outside the
    area of use of ``crs`` (:func:`~rasure.ingest.common.refuse_outside_area` then names it)."""
    lon_u, lat_u = checked.lon_u, checked.lat_u
    pair_code, pairs = pd.factorize(checked.lon_code.astype(np.int64) * len(lat_u) + checked.lat_code)
    plon, plat = lon_u[pairs // len(lat_u)], lat_u[pairs % len(lat_u)]
    has = np.isfinite(plon) & np.isfinite(plat)
    if has.any() and outside_area_of_use(crs, plon[has], plat[has]).any():
        return None
    peast, pnorth = project_located(plon, plat, crs=crs)
    return pair_code, peast, pnorth


def _repeat_numbers(group: NDArray[np.int64]) -> NDArray[np.int64]:
    """Each row's repeat number within its group, in row order (0 for a group's first row, 1 for
    its second...): a stable sort by group, then the position in the group's run."""
    order = np.argsort(group, kind="stable")
    g = group[order]
    run_start = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    nth = np.empty(len(g), dtype=np.int64)
    nth[order] = np.arange(len(g)) - np.repeat(run_start, np.diff(np.r_[run_start, len(g)]))
    return nth


def _street_chunk(batch: pa.RecordBatch, asb: _AsbCounts, *, crs: str) -> tuple[pd.DataFrame, int] | None:
    """A chunk of a street file as canonical records, from its pyarrow columns: the same rows, values
    and dtypes as :func:`_checked` then :func:`_street_records` give, and the number of rows without a
    Crime ID; None when a row may break a rule (nothing is then counted in ``asb``).

    Every check and conversion runs on whole columns, and the slow ones (months, coordinates, the
    area-of-use check and the projection) once per distinct value or point. Anti-social-behaviour
    rows get :func:`_asb_references` of their key and repeat number, which ``asb`` carries from one
    chunk of the file to the next."""
    trimmed = _trimmed(batch)
    checked = _column_checks(batch, trimmed)
    if checked is None:
        return None
    lon_u, lat_u = checked.lon_u, checked.lat_u
    points = _projected(checked, crs=crs)  # each distinct point checked and projected once
    if points is None:
        return None
    pair_code, peast, pnorth = points

    ref = trimmed["Crime ID"]
    no_id = pc.equal(ref, "")
    n_no_id = int(pc.sum(no_id).as_py() or 0)
    if n_no_id:  # the stable key of _street_records: sha1 of the key text and its repeat number
        enc = pc.dictionary_encode(trimmed[_ASB_KEY])
        codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        nth = _repeat_numbers(codes)
        before = asb.take(enc.dictionary, np.bincount(codes, minlength=len(enc.dictionary)))
        nth += before[codes]
        ref = _asb_references(ref, no_id.to_numpy(zero_copy_only=False), trimmed[_ASB_KEY], nth)

    month = trimmed["Month"]
    start_u = pd.to_datetime(checked.months + "-01", format="%Y-%m-%d")
    end_u = start_u + pd.offsets.MonthBegin(1) - pd.Timedelta(seconds=1)
    outcome = _blank_null(pc.utf8_trim_whitespace(batch.column("Last outcome category")))
    n = batch.num_rows
    given = {
        "source": _string(checked.source()),
        "reference": _string(ref),
        "category": _string(trimmed["Crime type"]),
        "occurred_from": start_u.to_numpy(dtype="datetime64[s]")[checked.month_code],
        "occurred_to": end_u.to_numpy(dtype="datetime64[s]")[checked.month_code],
        "time_precision": _string(pa.repeat(pa.scalar("month", pa.string()), n)),
        "lon": lon_u[checked.lon_code],
        "lat": lat_u[checked.lat_code],
        "easting": peast[pair_code],
        "northing": pnorth[pair_code],
        "location_text": _string(trimmed["Location"]),
        "lsoa_code": _string(_blank_null(trimmed["LSOA code"])),
        "lsoa_name": _string(_blank_null(pc.utf8_trim_whitespace(batch.column("LSOA name")))),
        "weapon": _string(pa.repeat(pa.scalar("unknown", pa.string()), n)),
        "last_outcome": _string(outcome),
        "last_outcome_month": _string(pc.if_else(pc.is_null(outcome), pa.scalar(None, pa.string()), month)),
        "force": _string(trimmed["Falls within"]),
        "as_of": _string(month),
    }
    return _canonical(given, n), n_no_id


def _outcome_columns(batch: pa.RecordBatch) -> pd.DataFrame | None:
    """A chunk of an outcomes file as (source, reference, last_outcome, last_outcome_month), from its
    pyarrow columns: what :func:`_checked` then :meth:`PoliceUkFile._outcomes` give; None when a row
    may break a rule."""
    trimmed = {
        c: pc.utf8_trim_whitespace(batch.column(c))
        for c in ("Month", "Falls within", "Longitude", "Latitude")
    }
    checked = _column_checks(batch, trimmed)
    if checked is None:
        return None
    ref = pc.utf8_trim_whitespace(batch.column("Crime ID"))
    outcome = pc.utf8_trim_whitespace(batch.column("Outcome type"))
    if pc.any(pc.equal(ref, "")).as_py() or pc.any(pc.equal(outcome, "")).as_py():
        return None
    return pd.DataFrame(
        {
            "source": _string(checked.source()),
            "reference": _string(ref),
            "last_outcome": _string(outcome),
            "last_outcome_month": _string(trimmed["Month"]),
        }
    )


def _checked(
    path: str, f: pd.DataFrame, line: NDArray[np.int64], problems: list[RowProblem]
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Validate the rows of ``f`` (every problem into ``problems``): longitude, latitude and source."""
    lon, lat = _validate_common(path, f, line, problems)
    for col, limit in _LIMITS.items():
        # stripping only shortens a value: only a column with a raw value over the limit is stripped
        if col in f.columns and bool((f[col].str.len() > limit).any()):
            too_long(path, line, col, f[col].str.strip(), limit, problems)
    source = _sources(f["Falls within"].str.strip())
    too_long(path, line, "Falls within", source, TEXT_LIMITS["source"], problems)
    return lon, lat, source


def _street_records(
    f: pd.DataFrame,
    lon: pd.Series,
    lat: pd.Series,
    source: pd.Series,
    *,
    asb: _AsbCounts | None = None,
    files: NDArray[np.int64] | None = None,
    crs: str = BNG,
) -> tuple[pd.DataFrame, int]:
    """Canonical records from validated street rows; returns them and the number of rows without a
    Crime ID.

    An anti-social behaviour row's repeat number counts across its whole file: a chunk carries on from
    the counts in ``asb`` (and adds its own); rows of several whole files at once give each row's
    file in ``files``. Columns not read (``LSOA name``, ``Last outcome category`` when absent from
    ``f``) are left missing.
    Easting/northing are in ``crs`` (the force's projected CRS).
    """
    n = len(f)
    force = f["Falls within"].str.strip()
    month = f["Month"].str.strip()
    ref = f["Crime ID"].str.strip()
    no_id = ref == ""
    n_no_id = int(no_id.sum())
    if n_no_id:
        a = f[no_id]  # the key is built for these rows only
        key = (
            month[no_id]
            + "|"
            + a["Longitude"]
            + "|"
            + a["Latitude"]
            + "|"
            + a["Location"]
            + "|"
            + a["LSOA code"]
            + "|"
            + a["Crime type"]
        )
        if files is not None:
            nth = key.groupby([files[no_id.to_numpy(dtype=bool)], key.to_numpy()]).cumcount()
        else:  # the repeat number counts across the whole file, so chunks carry it on
            codes, distinct = pd.factorize(key)  # once: the repeat numbers and the carried counts
            nth = pd.Series(codes, index=key.index).groupby(codes).cumcount()
            if asb is not None:
                before = asb.take(
                    pa.array(distinct, pa.string()), np.bincount(codes, minlength=len(distinct))
                )
                nth = nth + before[codes]
        ref = ref.copy()
        ref[no_id] = [  # type: ignore[call-overload]
            "asb-" + hashlib.sha1(f"{k}|{j}".encode()).hexdigest()[:24]
            for k, j in zip(key, nth.astype(str), strict=True)
        ]
    start = _per_value(month, lambda u: pd.to_datetime(u + "-01", format="%Y-%m-%d"))
    end = _per_value(start, lambda u: u + pd.offsets.MonthBegin(1) - pd.Timedelta(seconds=1))
    east, north = project_located(lon.to_numpy(dtype=float), lat.to_numpy(dtype=float), crs=crs)
    outcome = (
        blank_to_na(f["Last outcome category"].str.strip())
        if "Last outcome category" in f
        else pd.Series(pd.NA, index=f.index, dtype="string")
    )
    recs = pd.DataFrame(
        {
            "source": source,
            "reference": ref,
            "category": f["Crime type"].str.strip(),
            "occurred_from": start,
            "occurred_to": end,
            "time_precision": "month",
            "lon": lon,
            "lat": lat,
            "easting": east,
            "northing": north,
            "location_text": f["Location"].str.strip(),
            "lsoa_code": blank_to_na(f["LSOA code"].str.strip()),
            **({"lsoa_name": blank_to_na(f["LSOA name"].str.strip())} if "LSOA name" in f else {}),
            "weapon": "unknown",
            "last_outcome": outcome,
            "last_outcome_month": month.where(outcome.notna()),
            "force": force,
            "as_of": month,
        },
        index=pd.RangeIndex(n),
    )
    return conform(recs), n_no_id


def _per_value(s: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``fn`` of each distinct value of ``s``, spread back to its rows: police.uk repeats each month,
    map point and coordinate thousands of times, so parsing the distinct values is most of the saving."""
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    out = fn(pd.Series(uniques)).iloc[codes]
    out.index = s.index
    return out


def _sources(force: pd.Series) -> pd.Series:
    return force.map({f: source_for(str(f)) for f in force.unique()}).astype("string")


def _validate_common(
    path: str, f: pd.DataFrame, line: NDArray[np.int64], problems: list[RowProblem]
) -> tuple[pd.Series, pd.Series]:
    month = f["Month"].str.strip()
    bad_month = ~_per_value(month, lambda u: u.str.match(_MONTH).fillna(False)).to_numpy(dtype=bool)
    for i in np.flatnonzero(bad_month):
        problems.append(
            RowProblem(
                path,
                int(line[i]),
                "Month",
                str(month.iloc[i]),
                "is not a month YYYY-MM",
                "write the month as e.g. 2024-03",
            )
        )
    lon_s, lat_s = f["Longitude"].str.strip(), f["Latitude"].str.strip()
    lon = _per_value(lon_s, lambda u: pd.to_numeric(blank_to_na(u), errors="coerce").astype(float))
    lat = _per_value(lat_s, lambda u: pd.to_numeric(blank_to_na(u), errors="coerce").astype(float))
    for col, raw, val, (lo, hi) in (("Longitude", lon_s, lon, UK_LON), ("Latitude", lat_s, lat, UK_LAT)):
        bad = ((raw != "") & (val.isna() | (val < lo) | (val > hi))).to_numpy(dtype=bool)
        for i in np.flatnonzero(bad):
            problems.append(
                RowProblem(
                    path,
                    int(line[i]),
                    col,
                    str(raw.iloc[i])[:80],
                    f"is not a {col.lower()} in the UK ({lo} to {hi})",
                    "fix the coordinate, or leave both Longitude and Latitude empty for 'No Location'",
                )
            )
    half = ((lon_s == "") != (lat_s == "")).to_numpy(dtype=bool)
    for i in np.flatnonzero(half):
        problems.append(
            RowProblem(
                path,
                int(line[i]),
                "Latitude" if lat_s.iloc[i] == "" else "Longitude",
                "",
                "only one of Longitude/Latitude is given",
                "give both or neither",
            )
        )
    located = ~half
    return lon.where(located), lat.where(located)


@functools.cache
def _empty_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return empty_records(), empty_links(), _empty_outcomes()


def _no_records() -> pd.DataFrame:
    """An empty canonical records frame for a batch (a shallow copy of one made once: building the
    columns of an empty frame costs ~10 ms, once per chunk)."""
    return _empty_frames()[0].copy(deep=False)


def _no_links() -> pd.DataFrame:
    """An empty links frame for a batch (see :func:`_no_records`)."""
    return _empty_frames()[1].copy(deep=False)


def _no_outcomes() -> pd.DataFrame:
    """An empty outcomes frame for a batch (see :func:`_no_records`)."""
    return _empty_frames()[2].copy(deep=False)


def _empty_outcomes() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="string") for c in ("source", "reference", "last_outcome", "last_outcome_month")}
    )
