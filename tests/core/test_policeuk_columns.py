"""The police.uk reader's columnar path gives exactly what its row-by-row checks and conversion give."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from rasure.errors import InvalidRowsError, RowProblem
from rasure.ingest.common import Batch, CsvChunk
from rasure.ingest.policeuk import OUTCOME_COLUMNS, STREET_COLUMNS, PoliceUkFile, open_policeuk


class RowsOnly(PoliceUkFile):
    """The reader with every chunk taken through the pandas checks and conversion (the reference)."""

    def _convert(self, chunk: CsvChunk, problems: list[RowProblem]) -> Batch | None:
        return self._convert_rows(chunk, problems)


def _street_rows(n: int) -> list[str]:
    rows = []
    for i in range(n):
        asb = i % 3 == 0
        ref = "" if asb else f"  id{i % 97:04d}{'x' * 50} "  # repeats within the file, padded
        lon, lat = ("", "") if i % 11 == 0 else (f"-3.{i % 13:03d}1", f" 51.{i % 7:04d}")
        where = "No Location" if i % 11 == 0 else f"On or near Street {i % 5}"
        lsoa = "" if i % 17 == 0 else f"W0100{i % 9:04d}"
        outcome = "" if asb else (" Under investigation " if i % 2 else "Unable to prosecute suspect")
        month = f"2024-0{1 + i % 3}" if i % 19 else " 2024-02 "
        rows.append(
            f"{ref},{month},Gwent Police, Gwent Police ,{lon},{lat},{where},{lsoa},Newport {i % 9:03d}A,"
            f"{'Anti-social behaviour' if asb else ' Burglary'},{outcome},"
        )
    return rows


def _write(path: Path, header: list[str], rows: list[str]) -> Path:
    path.write_bytes(gzip.compress(("\n".join([",".join(header), *rows]) + "\n").encode()))
    return path


def _same(a: PoliceUkFile, b: PoliceUkFile) -> None:
    pa_, pb = a.parsed(), b.parsed()
    for got, want in ((pa_.records, pb.records), (pa_.outcomes, pb.outcomes)):
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert list(got.dtypes) == list(want.dtypes)
    assert (pa_.rows_read, pa_.without_location, pa_.repeats_merged, pa_.notes) == (
        pb.rows_read,
        pb.without_location,
        pb.repeats_merged,
        pb.notes,
    )


@pytest.mark.parametrize("block", [1 << 11, 1 << 13, 1 << 22])
def test_street_columns_equal_rows(tmp_path: Path, block: int) -> None:
    """ASB repeat numbers count across chunks; trimming, blanks, 'No Location', repeats."""
    p = _write(tmp_path / "2024-01-gwent-street.csv.gz", STREET_COLUMNS, _street_rows(1500))
    _same(open_policeuk(p, block_bytes=block), RowsOnly(p, block_bytes=block))
    assert open_policeuk(p).parsed().records["reference"].str.startswith("asb-").sum() == 500


@pytest.mark.parametrize("reader", [open_policeuk, RowsOnly])
def test_asb_repeat_numbers_across_chunks_equal_one_chunk(tmp_path: Path, reader: type[PoliceUkFile]) -> None:
    """The repeat counts carried from chunk to chunk (as key digests) give the references of the file
    read as a single chunk, where nothing is carried."""
    p = _write(tmp_path / "2024-01-gwent-street.csv.gz", STREET_COLUMNS, _street_rows(3000))
    whole = reader(p, block_bytes=1 << 22)
    assert len(list(reader(p, block_bytes=1 << 22).batches())) == 1
    _same(reader(p, block_bytes=1 << 11), whole)


def test_chunk_taken_row_by_row_keeps_asb_count(tmp_path: Path) -> None:
    """A chunk with a raw value over its length limit that trimming brings within it goes through the
    row-by-row path (and is accepted); the ASB repeat numbers still count on across chunks."""
    rows = _street_rows(900)
    fields = rows[450].split(",")
    fields[6] += " " * 400  # trailing blanks, trimmed off
    rows[450] = ",".join(fields)
    p = _write(tmp_path / "2024-01-gwent-street.csv.gz", STREET_COLUMNS, rows)
    _same(open_policeuk(p, block_bytes=1 << 12), RowsOnly(p, block_bytes=1 << 12))


def test_outcomes_columns_equal_rows(tmp_path: Path) -> None:
    rows = [
        f" id{i % 300:04d} ,2024-0{1 + i % 3},Gwent Police,Gwent Police,{'' if i % 5 == 0 else '-3.01'},"
        f"{'' if i % 5 == 0 else '51.5'},On or near X,W01000001,Newport 001A, Offender given a caution "
        for i in range(1000)
    ]
    p = _write(tmp_path / "2024-01-gwent-outcomes.csv.gz", OUTCOME_COLUMNS, rows)
    _same(open_policeuk(p, block_bytes=1 << 12), RowsOnly(p, block_bytes=1 << 12))


@pytest.mark.parametrize(
    ("col", "value"),
    [(1, "2024-13"), (4, "-30.0"), (5, "x"), (4, ""), (3, "F" * 101), (6, "L" * 301), (0, "R" * 129)],
)
def test_bad_row_in_one_chunk_is_reported_as_before(tmp_path: Path, col: int, value: str) -> None:
    """A bad row makes the reader list the same problems (line, field, value) as the row-by-row path."""
    rows = _street_rows(600)
    fields = rows[333].split(",")
    fields[col] = value
    rows[333] = ",".join(fields)
    p = _write(tmp_path / "2024-01-gwent-street.csv.gz", STREET_COLUMNS, rows)
    with pytest.raises(InvalidRowsError) as got:
        open_policeuk(p, block_bytes=1 << 12).parsed()
    with pytest.raises(InvalidRowsError) as want:
        RowsOnly(p, block_bytes=1 << 12).parsed()
    assert str(got.value) == str(want.value)
    assert [(q.line, q.field, q.value, q.reason) for q in got.value.problems] == [
        (q.line, q.field, q.value, q.reason) for q in want.value.problems
    ]
    assert any(q.line == 335 for q in got.value.problems)


def test_parser_reads_only_a_few_blocks_ahead(tmp_path: Path) -> None:
    """pyarrow's reader reads the file on a thread up to 32 blocks ahead unless held back: once the
    first batch is taken, at most READ_AHEAD blocks beyond it have been read."""
    from rasure.ingest.common import READ_AHEAD, CsvFile

    p = _write(tmp_path / "2024-01-gwent-street.csv.gz", STREET_COLUMNS, _street_rows(20000))
    block = 1 << 14
    f = CsvFile(p, block_bytes=block)
    chunks = f.arrow_chunks()
    _, first = next(chunks)
    assert f._src._given <= (1 + READ_AHEAD) * block
    rows = first.num_rows + sum(b.num_rows for _, b in chunks)
    assert f._src.late == 0
    f.close()
    assert rows == f.rows_read == 20000
