"""Shared test fixtures.

Real public data lives outside the repository, in ``../shared/data`` beside the clone
(or wherever ``RASURE_SHARED_DATA`` points). Tests that use it skip cleanly when it is
absent, e.g. on a fresh clone; CI has it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    env = os.environ.get("RASURE_SHARED_DATA")
    path = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ``shared/data``; skips the test when it is not there."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("../shared/data is absent (fresh clone): real-data test skipped")
    return path
