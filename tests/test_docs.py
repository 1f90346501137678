"""The Python examples in docs/*.md run as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("doc", ["python-api.md"])
def test_python_blocks_run(doc: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    namespace: dict[str, object] = {}
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for block in blocks:
            exec(compile(block, f"{doc}", "exec"), namespace)
    finally:
        os.chdir(cwd)
    assert "hot cells" in capsys.readouterr().out
