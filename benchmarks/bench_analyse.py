"""Benchmark: the hot-spot analysis (``rasure.hotspots.analysis.analyse``) on about 1 M records.

SYNTHETIC records (Rasure Demo Town at ``scale=40``: about a million over three years), classified and
harm-weighted as ``rasure hotspots analyse`` does, then analysed with the default parameters (999 Gi*
permutations, for the rankable cells only). Floor, same run: parsing the same records' columns from a
CSV file with pandas' pyarrow engine (what reading the input costs at the least). Prints time, peak
memory (traced Python allocations) and the ratio; asserts nothing.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

import pandas as pd

from rasure import classify as sv
from rasure import harm as harm_mod
from rasure.hotspots.analysis import HotspotParams, analyse
from rasure.synth import generate_city

SCALE = 40.0


def main() -> int:
    city = generate_city(end=date(2026, 10, 31), scale=SCALE)
    records = city.records
    records = pd.concat(
        [records, sv.classify(records), harm_mod.harm_days(records, table=harm_mod.default_harm_table())],
        axis=1,
    )
    n = len(records)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.csv"
        city.records.to_csv(path, index=False)
        t0 = time.perf_counter()
        pd.read_csv(path, engine="pyarrow")
        floor = time.perf_counter() - t0
    tracemalloc.start()
    t0 = time.perf_counter()
    result = analyse(records, params=HotspotParams())
    took = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"analyse: {n:,} SYNTHETIC records ({result.n_records:,} in the window), default parameters")
    print(
        f"  ours {took:.1f} s, peak traced memory {peak / 2**20:,.0f} MiB; floor (CSV parse, pyarrow) {floor:.2f} s; "
        f"ratio {took / floor:.0f}× (goal < 5 s and < 1 GB at 1 M)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
