"""The Python examples in docs/*.md run as written, and the docs the code cites exist in the repository."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Reads no clock: the examples call the pure core on the dates they spell out (the core never reads the
# clock), and the other tests read files; so they are left out of CI's moved-clock runs.
pytestmark = pytest.mark.clock_free


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


# --------------------------------------------------------------------------- the repository stands alone

_SCANNED = ("src", "tests", "docs", "benchmarks", "README.md")
#: A methods or reliability citation must name the file as ``docs/…``; a Markdown link target inside
#: docs/ (``](methods.md)``) is a relative path and fine.
_BARE_CITATION = re.compile(r"(?<!docs/)(?<!\]\()\b(methods|reliability)\.md")
_SECTION_CITATION = re.compile(
    r"docs/(methods|reliability)\.md`?\]?\s*§(\d+(?:\.\d+)*)((?:\s*(?:,|;|and|&)\s*§\d+(?:\.\d+)*)*)"
)
_HEADING = re.compile(r"^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s", flags=re.M)


def _scanned_files() -> list[Path]:
    """Tracked files under src/, tests/, docs/, benchmarks/ and README.md, plus new (untracked) ones."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *_SCANNED],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the list of tracked files is unknown")
    this = Path(__file__).resolve()
    files = []
    for name in sorted(set(out.splitlines())):
        path = ROOT / name
        if path.resolve() == this or not path.is_file():
            continue
        files.append(path)
    return files


def _texts() -> list[tuple[str, str]]:
    texts = []
    for path in _scanned_files():
        data = path.read_bytes()
        if b"\0" in data:  # images and other binary files
            continue
        texts.append((path.relative_to(ROOT).as_posix(), data.decode("utf-8", errors="replace")))
    return texts


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def test_no_file_points_outside_the_repository_for_its_methods() -> None:
    """The methods, reliability notes and requirement codes are documented inside the repository."""
    bad = []
    for name, text in _texts():
        for m in re.finditer(r"\.\./shared/docs|shared/docs/", text):
            bad.append(f"{name}:{_line(text, m.start())}: mentions {m.group(0)!r}")
        for m in _BARE_CITATION.finditer(text):
            bad.append(f"{name}:{_line(text, m.start())}: cites {m.group(0)!r} without the docs/ prefix")
        for m in re.finditer(r"\b(design|mission)\.md\b", text):
            bad.append(
                f"{name}:{_line(text, m.start())}: cites {m.group(0)!r}, which is not in the repository"
            )
    assert not bad, "\n".join(bad)


def test_cited_sections_exist() -> None:
    """Every ``docs/methods.md §N`` (and ``docs/reliability.md §N``) names a heading of that file."""
    headings = {
        doc: set(_HEADING.findall((ROOT / "docs" / f"{doc}.md").read_text(encoding="utf-8")))
        for doc in ("methods", "reliability")
    }
    assert {"1.3", "1.5", "6.3", "8"} <= headings["methods"]
    cited: set[tuple[str, str]] = set()
    bad = []
    for name, text in _texts():
        for m in _SECTION_CITATION.finditer(text):
            doc = m.group(1)
            for section in [m.group(2), *re.findall(r"§(\d+(?:\.\d+)*)", m.group(3))]:
                cited.add((doc, section))
                if section not in headings[doc]:
                    bad.append(f"{name}:{_line(text, m.start())}: docs/{doc}.md has no section §{section}")
    assert not bad, "\n".join(bad)
    assert ("methods", "1.3") in cited  # the scan did find the citations
