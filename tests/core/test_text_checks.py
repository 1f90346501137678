"""The byte checks of every reader (UTF-8, NUL bytes, gzip) name the line of the bad byte wherever it is:
past the first read of the file, after a byte-order mark, with CR-only or CRLF line endings, and with
characters cut by the reads' boundaries. (The reader checks whole blocks and counts lines only when it
has an error to report, so a count that went wrong would show here.)"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from rasure.errors import InputFileError
from rasure.ingest.policeuk import read_policeuk, read_street_files
from tests.factories import STREET_HEADER, street_row

ROWS = 3000  # about 330 KB: the bad bytes below lie past the reader's first 64 KiB read
READERS: dict[str, Callable[[Path], object]] = {
    "import": read_policeuk,
    "analysis": lambda p: read_street_files([p]),
}


def _text() -> bytes:
    rows = [
        street_row(f"c{i}", location="On or near Caf\u00e9 Row \u0174" if i % 7 else "On or near High Street")
        for i in range(ROWS)
    ]
    return (STREET_HEADER + "\n" + "\n".join(rows) + "\n").encode()


def _write(folder: Path, data: bytes, gz: bool) -> Path:
    path = folder / ("2024-03-t-street.csv.gz" if gz else "2024-03-t-street.csv")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


BAD = {  # what is done to the text, the line named and the error
    "latin-1 byte": (lambda t: t.replace(b"c2500,", b"c\xff500,"), 2502, "not UTF-8 text (byte 0xff)"),
    "NUL byte": (lambda t: t.replace(b"c2600,", b"c\x00600,"), 2602, "holds a NUL byte"),
    "NUL, CR-only lines": (
        lambda t: t.replace(b"\n", b"\r").replace(b"c2700,", b"c\x002700,"),
        2702,
        "holds a NUL byte",
    ),
    "cut character, CRLF": (
        lambda t: t.replace(b"\n", b"\r\n").replace(b"c2700,", b"c\xe2\x82700,"),
        2702,
        "not UTF-8 text (byte 0xe2)",
    ),
    "cut character at the end": (lambda t: t + "\u20ac".encode()[:2], ROWS + 2, "not UTF-8 text (byte 0xe2)"),
    "surrogate after a BOM": (
        lambda t: b"\xef\xbb\xbf" + t.replace(b"c1500,", b"c\xed\xa0\x80,"),
        1502,
        "not UTF-8 text (byte 0xed)",
    ),
}


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("case", list(BAD))
def test_bad_byte_named_by_line(tmp_path: Path, case: str, gz: bool, reader: str) -> None:
    change, line, message = BAD[case]
    path = _write(tmp_path, change(_text()), gz)
    with pytest.raises(InputFileError) as exc:
        READERS[reader](path)
    assert exc.value.line == line and message in str(exc.value), str(exc.value)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("shift", range(4))
def test_character_across_a_read_boundary_is_read(tmp_path: Path, gz: bool, shift: int) -> None:
    """A character whose bytes straddle the first 64 KiB read reads as text."""
    text, at = _text(), (1 << 16) - 2 - shift
    before = text.rfind(b" Row", 0, at)  # a Location before the boundary, moved up to it by padding the first
    first = text.find(b"Caf")
    text = text[:first] + b"x" * (at - before - 1) + text[first:]
    path = _write(tmp_path, text[:at] + "\u20ac".encode() + text[at:], gz)  # "... \u20acRow"
    recs = read_policeuk(path).records
    assert len(recs) == ROWS and len(read_street_files([path])) == ROWS
    assert recs["location_text"].str.endswith(" \u20acRow \u0174").sum() == 1


def test_truncated_gzip_refused(tmp_path: Path) -> None:
    path = tmp_path / "2024-03-t-street.csv.gz"
    path.write_bytes(gzip.compress(_text())[:-20])
    for read in READERS.values():
        with pytest.raises(InputFileError, match="not a valid gzip file"):
            read(path)
