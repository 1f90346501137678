"""`make bench`: run every benchmark in its own process and print the figures."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

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


def main() -> int:
    import os

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    failed = 0
    for bench in BENCHES:
        script = HERE / bench[0]
        if not script.exists():
            continue
        print(f"\n--- {' '.join(bench)}", flush=True)
        failed += subprocess.call([sys.executable, str(script), *bench[1:]]) != 0
    extra = sorted(p for p in HERE.glob("bench_*.py") if p.name not in {b[0] for b in BENCHES})
    for script in extra + sorted(HERE.glob("score_*.py")):
        print(f"\n--- {script.name}", flush=True)
        failed += subprocess.call([sys.executable, str(script)]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
