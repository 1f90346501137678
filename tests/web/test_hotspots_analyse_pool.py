"""`rasure hotspots analyse` runs with pyarrow's jemalloc allocator (when built in) and gives the
default back afterwards; the output is the same as with the default allocator."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from rasure_web.cli import build_parser, main
from rasure_web.cli_hotspots import _analyse
from tests.web.test_hotspots_cli import _policeuk_file


def test_analyse_gives_the_default_pool_back_and_the_same_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _policeuk_file(tmp_path)
    before = pa.default_memory_pool().backend_name
    pooled, default = tmp_path / "pooled.geojson", tmp_path / "default.geojson"
    argv = ["hotspots", "analyse", str(src), "--top", "8", "--permutations", "99", "--out"]
    assert main([*argv, str(pooled)]) == 0
    assert pa.default_memory_pool().backend_name == before
    assert _analyse(build_parser().parse_args([*argv, str(default)])) == 0  # the allocator untouched
    assert pooled.read_text() == default.read_text()
    capsys.readouterr()
