"""``RASURE_DB_POOLER``: behind PgBouncer in transaction mode Django uses no server-side cursors
(docs/deploy.md, "Deploying at scale"). The settings are read in a fresh process each time."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SHOW = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'rasure_web.settings'; django.setup(); "
    "from django.conf import settings; print(settings.DATABASES['default']['DISABLE_SERVER_SIDE_CURSORS'])"
)


def _settings(tmp_path: object, pooler: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "RASURE_DB_POOLER"}
    env.update(DATABASE_URL="postgres://rasure@db.invalid:6432/rasure", RASURE_HOME=str(tmp_path))
    if pooler is not None:
        env["RASURE_DB_POOLER"] = pooler
    return subprocess.run([sys.executable, "-c", SHOW], env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("pooler", "off"), [(None, "False"), ("session", "False"), ("transaction", "True")])
def test_transaction_pooler_turns_server_side_cursors_off(
    tmp_path: object, pooler: str | None, off: str
) -> None:
    out = _settings(tmp_path, pooler)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == off


def test_unknown_pooler_is_refused_by_name(tmp_path: object) -> None:
    out = _settings(tmp_path, "statement")
    assert out.returncode != 0
    assert "RASURE_DB_POOLER must be empty (no pooler), session or transaction, got 'statement'" in out.stderr
