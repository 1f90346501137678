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
from typing import Any

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str, bytes]:
    status, headers, body = _get_full(url)
    return status, headers.get("Content-Type", ""), body


def _get_full(url: str) -> tuple[int, Any, bytes]:
    # As from the force's TLS-terminating proxy (RASURE_BEHIND_PROXY=1 below).
    req = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status, r.headers, r.read()


def _production_env(tmp_path: Path) -> dict[str, str]:
    # Not the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE (set in tests/e2e/conftest.py when they run in
    # the same session): a deployment never has it, and the deploy check rightly refuses it.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {
        **inherited,
        "RASURE_HOME": str(tmp_path),
        "RASURE_ENV": "production",
        "RASURE_DEBUG": "0",
        "RASURE_SECRET_KEY": secrets.token_urlsafe(50),
        "RASURE_BEHIND_PROXY": "1",
    }


def test_deploy_check_is_clean_under_production_settings(tmp_path: Path) -> None:
    exe = str(Path(sys.executable).parent / "rasure")
    env = _production_env(tmp_path)
    del env["RASURE_BEHIND_PROXY"]  # the defaults alone are clean
    out = subprocess.run(
        [exe, "manage", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


def test_deploy_check_fails_when_https_is_turned_off(tmp_path: Path) -> None:
    """The check can fail: without the SSL redirect and HSTS it warns."""
    exe = str(Path(sys.executable).parent / "rasure")
    env = {**_production_env(tmp_path), "RASURE_SSL_REDIRECT": "0", "RASURE_HSTS_SECONDS": "0"}
    out = subprocess.run(
        [exe, "manage", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "security.W008" in out.stderr + out.stdout and "security.W004" in out.stderr + out.stdout


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="runs once, on its own SQLite")
def test_serve_in_production(tmp_path: Path) -> None:
    port = _free_port()
    env = _production_env(tmp_path)
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
        # Static files stay cacheable; pages say no-store and carry the CSP and HSTS.
        _, headers, _ = _get_full(f"http://127.0.0.1:{port}{css.group().decode()}")
        assert "no-store" not in headers.get("Cache-Control", "")
        assert "max-age" in headers.get("Cache-Control", "")
        _, headers, _ = _get_full(f"http://127.0.0.1:{port}/accounts/login/")
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
        # Without the proxy's header the request is plain HTTP: redirected to HTTPS.
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/accounts/login/")
        r = conn.getresponse()
        assert r.status == 301 and r.getheader("Location", "").startswith("https://")
        conn.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
