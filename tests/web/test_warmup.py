"""A server process readied before its first request (rasure_web.warmup, run by rasure_web.wsgi)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rasure_web.warmup import served_modules


def test_served_modules_are_the_web_project_without_command_line_or_migrations() -> None:
    names = served_modules()
    assert "rasure_web.dashboard.views" in names and "rasure_web.patrols.models" in names
    assert not [n for n in names if ".migrations" in n or n.rsplit(".", 1)[-1].startswith("cli")]
    assert not {"rasure_web.wsgi", "rasure_web.asgi", "rasure_web.demo"} & set(names)
    assert "rasure_web.clock" in names  # a name starting "cl" is not taken for the command line


def test_the_wsgi_entry_point_imports_the_project_and_freezes_its_start_up_objects(tmp_path: Path) -> None:
    """In a process of its own (as each gunicorn worker): after importing the WSGI module every
    served module is loaded and start-up objects sit in the collector's permanent generation, so a
    full collection no longer walks them."""
    code = (
        "import gc, sys, time\n"
        "import rasure_web.wsgi\n"
        "from rasure_web.warmup import served_modules\n"
        "missing = [m for m in served_modules() if m not in sys.modules]\n"
        "frozen = gc.get_freeze_count()\n"
        "print(len(missing), frozen, len(gc.get_objects()))\n"
    )
    env = {**os.environ, "RASURE_HOME": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    missing, frozen, walked = (int(v) for v in out.stdout.split())
    assert missing == 0
    assert frozen > 50_000 and walked < frozen / 10  # most objects frozen; the rest is what start-up left
