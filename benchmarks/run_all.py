"""`make bench`: run every benchmark in its own process, print its figures as they come, and close with
one table of every goal the benchmarks measured (each benchmark's ``GOAL`` lines, see goals.py)."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import goals

HERE = Path(__file__).resolve().parent
BENCHES = [
    ["bench_import.py", "sqlite"],
    ["bench_import.py", "postgres"],
    ["bench_users_import.py", "sqlite"],
    ["bench_users_import.py", "postgres"],
    ["bench_kernels.py"],
    ["bench_dashboard.py", "sqlite"],
    ["bench_dashboard.py", "postgres"],
    ["bench_patrol_api.py", "sqlite"],
    ["bench_patrol_api.py", "postgres"],
    ["bench_scale.py"],  # a 3 M-record force: skipped (minutes) unless RASURE_BENCH_SCALE=1
]


def run(args: list[str], rows: list[dict[str, object]]) -> int:
    """Run one benchmark, echo its output line by line, keep its GOAL rows; its exit code."""
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True, bufsize=1)
    assert proc.stdout is not None
    for line in proc.stdout:
        row = goals.parse(line)
        if row is None:
            print(line, end="", flush=True)
        else:
            rows.append(row)
    return proc.wait()


def main() -> int:
    import os

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    failed = 0
    rows: list[dict[str, object]] = []
    for bench in BENCHES:
        script = HERE / bench[0]
        if not script.exists():
            continue
        print(f"\n--- {' '.join(bench)}", flush=True)
        failed += run([str(script), *bench[1:]], rows) != 0
    extra = sorted(p for p in HERE.glob("bench_*.py") if p.name not in {b[0] for b in BENCHES})
    for script in extra + sorted(HERE.glob("score_*.py")):
        print(f"\n--- {script.name}", flush=True)
        failed += run([str(script)], rows) != 0
    print(f"\n=== goals ({len(rows)} rows; machine: {os.cpu_count()} cores)")
    print(goals.table(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
