"""Shared test fixtures.

Real public data lives outside the repository, in ``../shared/data`` beside the clone
(or wherever ``RASURE_SHARED_DATA`` points). Tests that use it skip cleanly when it is
absent, e.g. on a fresh clone; CI has it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
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


@pytest.fixture(autouse=True)
def _access_log_trigger_allows_test_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """Transactional tests end with Django flushing every table. On SQLite that is a DELETE, which
    the access log's append-only trigger refuses (on PostgreSQL flush is a TRUNCATE, which row
    triggers do not see). Drop the SQLite triggers just for the flush, and put them back."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        yield
        return
    request.getfixturevalue("transactional_db")
    from django.db import connection

    from rasure_web.accounts.migrations import _append_only

    _append_only.install(connection)
    yield
    if connection.vendor == "sqlite":
        _append_only.remove(connection)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Dashboard aggregates are cached by data version; test databases reuse primary keys, so start clean."""
    from django.core.cache import cache

    cache.clear()
    yield
