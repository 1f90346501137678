"""`rasure serve` in production mode: gunicorn, hashed static files served by the app itself."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read()


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="runs once, on its own SQLite")
def test_serve_in_production(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "RASURE_HOME": str(tmp_path),
        "RASURE_ENV": "production",
        "RASURE_DEBUG": "0",
        "RASURE_SECRET_KEY": secrets.token_urlsafe(50),
    }
    exe = str(Path(sys.executable).parent / "rasure")
    proc = subprocess.Popen(
        [exe, "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, body = _get(f"http://127.0.0.1:{port}/accounts/login/")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    out = proc.stdout.read().decode() if proc.stdout and proc.poll() is not None else ""
                    pytest.fail(f"server did not start: {out[-2000:]}")
                time.sleep(0.3)
        assert status == 200 and b"Sign in" in body
        css = re.search(rb"/static/rasure/site\.[0-9a-f]{12}\.css", body)
        assert css, "static files are hashed in production"
        status, ctype, _ = _get(f"http://127.0.0.1:{port}{css.group().decode()}")
        assert status == 200 and ctype.startswith("text/css")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
