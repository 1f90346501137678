"""Benchmark: the patrol app's "nearest hot spots" endpoint under load, as a signed-in officer.

A throwaway database (PostgreSQL, or SQLite in a temporary folder) gets the synthetic city, its hot
spots and a committed trial (so the schedule and the caps are applied on every request); gunicorn
serves the project with 2 sync workers on 127.0.0.1, DEBUG off; a small load generator on the same
machine (threads, http.client, loopback only) measures:

1. requests/s at saturation (closed loop, several connections at once, ~8 s), for "nearest" and, in the
   same run, for the sign-in page (the peer: a page with no data behind it), and their ratio;
2. latency at a fixed 200 requests/s for ~10 s (open loop: each request is due at a fixed time and its
   latency counts from then, so a slow server is not hidden by a waiting generator).

Every loop is bounded in count and time. Prints figures; asserts nothing about speed. (The number of
SQL queries per request is a test: tests/web/test_patrol_api.py.)

    python benchmarks/bench_patrol_api.py [postgres|sqlite]   # PostgreSQL at 127.0.0.1:5432 (trust auth)
"""

from __future__ import annotations

import http.client
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import goals

ROOT = Path(__file__).resolve().parents[1]
DB = "rasure_bench_patrol"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
PASSWORD = "rasure-bench-officer-1"
CITY_END = date(2026, 10, 31)  # a fixed synthetic city, so runs compare
SATURATION_S = 8.0
SATURATION_THREADS = 8
RATE = 200
RATE_S = 10.0
MAX_REQUESTS = 100_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(vendor: str) -> list[tuple[float, float]]:
    """Fresh database with the city, hot spots, a committed trial and an officer; returns sample positions."""
    if vendor == "postgres":
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB}")
            conn.execute(f"CREATE DATABASE {DB}")
        os.environ["DATABASE_URL"] = DB_URL
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "rasure_web.settings"
    os.environ["RASURE_DEBUG"] = "0"
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from rasure.hotspots.analysis import HotspotParams
    from rasure_web import clock
    from rasure_web.analysis.models import HotSpot
    from rasure_web.analysis.services import hotspots_build
    from rasure_web.crimes.services import synthetic_city_load
    from rasure_web.patrols.selectors import patrol_rules_at

    call_command("migrate", verbosity=0)
    synthetic_city_load(scale=1.0, end=CITY_END)
    hotspots_build(params=HotspotParams(top=20, gi_permutations=0))
    officer = User.objects.create_user(username="bench-officer", password=PASSWORD)
    officer.groups.add(Group.objects.get_or_create(name="officer")[0])
    analyst = User.objects.create_user(username="bench-analyst", password=PASSWORD)
    analyst.groups.add(Group.objects.get_or_create(name="analyst")[0])
    trial_note = "no trial"
    try:
        from rasure_web.accounts.tenancy import resolve_force
        from rasure_web.trials.lifecycle import trial_commit, trial_create

        day = patrol_rules_at(when=clock.now(), force_id=resolve_force(None).pk).trial_day
        trial = trial_create(
            name="Benchmark trial", start=day, end=day + timedelta(days=27), user=analyst, synthetic=True
        )
        trial_commit(trial_id=trial.pk, user=analyst, allow_past_start=True)
        trial_note = f"committed trial {trial.pk} (daily allocation, cap {patrol_rules_at(when=clock.now(), force_id=resolve_force(None).pk).cap_per_day}/day)"
    except Exception as exc:  # the trial app is optional here: measure without it rather than not at all
        trial_note = f"no trial ({type(exc).__name__}: {exc})"
    if vendor == "postgres":
        # the tables were just bulk-written: vacuum and analyse them and write the dirty pages out now,
        # as a running server's autovacuum and checkpoints would long since have done, so neither lands
        # in the middle of the latency measurement (in `make bench` this follows the dashboard's bulk loads)
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
            cur.execute("CHECKPOINT")
    spots = list(HotSpot.objects.values_list("lat", "lon"))
    print(f"data: {HotSpot.objects.count()} hot spots; {trial_note}", flush=True)
    rng = random.Random(7)
    lats = [s[0] for s in spots]
    lons = [s[1] for s in spots]
    return [
        (rng.uniform(min(lats) - 0.01, max(lats) + 0.01), rng.uniform(min(lons) - 0.01, max(lons) + 0.01))
        for _ in range(500)
    ]


def start_server(port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, RASURE_LOG_LEVEL="ERROR", RASURE_DEBUG="0")
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "rasure_web.wsgi:application",
        "--workers",
        "2",
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--backlog",
        "2048",
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/accounts/login/")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def login(port: int) -> str:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/accounts/login/")
    r = c.getresponse()
    page = r.read().decode()
    csrf_cookie = re.search(r"csrftoken=([^;]+)", r.getheader("Set-Cookie") or "").group(1)  # type: ignore[union-attr]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    body = f"csrfmiddlewaretoken={token}&username=bench-officer&password={PASSWORD}"
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(
        "POST",
        "/accounts/login/",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf_cookie}"},
    )
    r = c.getresponse()
    r.read()
    cookies = ";".join(r.headers.get_all("Set-Cookie") or [])
    session = re.search(r"sessionid=([^;]+)", cookies)
    if r.status != 302 or session is None:
        raise RuntimeError(f"login failed: {r.status}")
    return f"sessionid={session.group(1)}"


class Client:
    """One GET of the endpoint; a new connection when the server closed the last (sync workers do)."""

    def __init__(self, port: int, cookie: str, positions: list[tuple[float, float]]) -> None:
        self.port, self.cookie, self.positions = port, cookie, positions
        self.local = threading.local()

    def get(self, i: int, path: str = "") -> tuple[int, float]:
        lat, lon = self.positions[i % len(self.positions)]
        path = path or f"/api/patrol/hotspots/nearest?lat={lat:.6f}&lon={lon:.6f}&limit=5"
        t0 = time.perf_counter()
        for attempt in range(2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                conn.request("GET", path, headers={"Cookie": self.cookie})
                r = conn.getresponse()
                r.read()
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    self.local.conn = None
                return r.status, time.perf_counter() - t0
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt:
                    return 0, time.perf_counter() - t0
        return 0, time.perf_counter() - t0


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))] * 1000


def saturation(client: Client, path: str = "", name: str = "nearest") -> float:
    done: list[tuple[int, float]] = []
    lock = threading.Lock()
    stop = time.monotonic() + SATURATION_S
    counter = iter(range(MAX_REQUESTS))

    def loop() -> None:
        mine = []
        while time.monotonic() < stop:
            try:
                i = next(counter)
            except StopIteration:
                break
            mine.append(client.get(i, path))
        with lock:
            done.extend(mine)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=loop) for _ in range(SATURATION_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    ok = [lat for status, lat in done if status == 200]
    errors = len(done) - len(ok)
    print(
        f"saturation, {name} ({SATURATION_THREADS} connections, {elapsed:.1f} s): {len(ok) / elapsed:,.0f} "
        f"requests/s, p50 {pct(ok, 50):.1f} ms, p99 {pct(ok, 99):.1f} ms, errors {errors}",
        flush=True,
    )
    return len(ok) / elapsed


def fixed_rate(client: Client, vendor: str) -> None:
    n = int(RATE * RATE_S)
    results: list[tuple[int, float, float]] = []
    lock = threading.Lock()

    def one(i: int, due: float) -> None:
        status, service = client.get(i)
        latency = time.perf_counter() - due  # from when it was due: queueing in the generator counts
        with lock:
            results.append((status, latency, service))

    print(
        f"load average before the fixed-rate run: {os.getloadavg()[0]:.2f} (2 would be both cores busy)",
        flush=True,
    )
    start = time.perf_counter() + 0.2
    with ThreadPoolExecutor(max_workers=64) as pool:
        for i in range(n):
            due = start + i / RATE
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            pool.submit(one, i, due)
    ok = [lat for status, lat, _ in results if status == 200]
    service = [s for status, _, s in results if status == 200]
    errors = len(results) - len(ok)
    print(
        f"fixed {RATE} requests/s for {RATE_S:.0f} s ({n} requests): p50 {pct(ok, 50):.1f} ms, "
        f"p99 {pct(ok, 99):.1f} ms, max {max(ok) * 1000:.1f} ms (service time p50 {pct(service, 50):.1f} ms, "
        f"p99 {pct(service, 99):.1f} ms), errors {errors}",
        flush=True,
    )
    goals.record(
        f"patrol API nearest, {RATE} req/s, {vendor}",
        f"p99 {pct(ok, 99):.1f} ms, errors {errors}",
        "—",
        "—",
        "p99 < 20 ms at 200 req/s",
        pct(ok, 99) < 20 and errors == 0,
    )


def main() -> int:
    vendor = sys.argv[1] if len(sys.argv) > 1 else "postgres"
    if vendor == "postgres":
        try:
            import psycopg

            psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3).close()
        except Exception as exc:
            print(f"SKIP patrol API benchmark: PostgreSQL at 127.0.0.1:5432 is not reachable ({exc})")
            return 0
    os.environ["RASURE_HOME"] = tempfile.mkdtemp(prefix="rasure-bench-")
    positions = prepare(vendor)
    port = _free_port()
    server = start_server(port)
    try:
        cookie = login(port)
        client = Client(port, cookie, positions)
        warm = [client.get(i)[0] for i in range(300)]
        if warm.count(200) != len(warm):
            print(f"warm-up answers: {sorted(set(warm))} — expected only 200", flush=True)
            return 1
        nearest = saturation(client)
        time.sleep(1)
        login_page = saturation(client, "/accounts/login/", "sign-in page (peer)")
        print(f"nearest / sign-in page throughput: {nearest / login_page:.2f} (goal ≥ 0.5)", flush=True)
        goals.record(
            f"patrol API nearest, saturation, {vendor}",
            f"{nearest:,.0f} req/s",
            f"sign-in page {login_page:,.0f} req/s",
            f"{nearest / login_page:.2f} of the sign-in page",
            "≥ 0.5 of the sign-in page",
            nearest / login_page >= 0.5,
        )
        time.sleep(1)
        fixed_rate(client, vendor)
        print(
            f"machine: {os.cpu_count()} cores; server: gunicorn 2 sync workers, {vendor}, DEBUG off; "
            "generator on the same cores"
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        from django.db import connections

        connections.close_all()
        if vendor == "postgres":
            import psycopg

            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
