"""The import's file reader (rasure_web.crimes.readahead): files read ahead on a worker thread give
the same batches and the same errors as files opened when asked for (no database involved)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from rasure.errors import InputFileError
from rasure.ingest.common import StreamedFile
from rasure.ingest.policeuk import open_policeuk
from rasure_web.crimes.readahead import FileReader
from tests.factories import street_row, write_street


def _files(tmp_path: Path) -> list[Path]:
    a = write_street(tmp_path / "2024-01-a-street.csv", [street_row(f"a{i}") for i in range(3)])
    b = write_street(tmp_path / "2024-02-b-street.csv", [street_row("b1", lat="999")])  # a bad row
    c = tmp_path / "2024-03-c-street.csv.gz"
    c.write_bytes(b"not gzip")  # fails when opened or first read
    d = write_street(tmp_path / "2024-04-d-street.csv", [street_row("d1")])
    return [a, b, c, d]


def _read(reader: FileReader, i: int) -> tuple[list[list[str]], list[str]] | str:
    """File i's references per batch and its problems, or the error it raised."""
    try:
        file, batches = reader.open(i)
        refs = [b.records["reference"].tolist() for b in batches]
    except InputFileError as exc:
        return str(exc)
    return refs, [p.reason for p in file.problems]


@pytest.mark.parametrize("ahead", [False, True])
def test_read_ahead_gives_what_reading_now_gives(tmp_path: Path, ahead: bool) -> None:
    files = _files(tmp_path)
    opened: list[tuple[str, bool]] = []

    def open_file(path: Path) -> StreamedFile:
        opened.append((path.name, threading.current_thread() is threading.main_thread()))
        return open_policeuk(path)

    with FileReader(files, open_policeuk, ahead=False) as plain:
        want = [_read(plain, i) for i in range(len(files))]
    with FileReader(files, open_file, ahead=ahead) as reader:
        got = [_read(reader, i) for i in range(len(files))]
    assert got == want
    assert want[0] == ([["a0", "a1", "a2"]], []) and want[1][0] == [] and want[1][1]
    assert isinstance(want[2], str) and "gz" in want[2].lower()
    assert [name for name, _ in opened] == [f.name for f in files]  # each file opened once, in order
    # read ahead: every file after a fully read one opened on the worker (the bad file's batches
    # are exhausted too; the unreadable one raised, so the next is opened when asked for)
    on_main = [main for _, main in opened]
    assert on_main == ([True, False, False, True] if ahead else [True] * 4)


def test_a_file_not_asked_for_next_is_opened_when_asked(tmp_path: Path) -> None:
    files = _files(tmp_path)
    with FileReader(files, open_policeuk, ahead=True) as reader:
        _, batches = reader.open(0)
        list(batches)  # file 1 is now read ahead
        file, batches = reader.open(3)
        assert file.path == str(files[3]) and [b.records["reference"].tolist() for b in batches] == [["d1"]]
