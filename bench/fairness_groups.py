"""Benchmark: group metrics on 1,000,000 rows with 2 sensitive features (10 intersectional groups).

Times ``audits.group_metrics`` (counts, Wilson intervals, score-interval disparities, summary) against
fairlearn's ``MetricFrame`` computing the same nine rates on the same input, in the same run, and checks the
numbers are identical. Then audits a 10,000,000-row Parquet folder out of core through DuckDB and reports its
peak memory next to the in-memory route (pandas reads the folder, then ``group_metrics``), each in a fresh
process.

Prints one JSON line. Usage: ``python bench/fairness_groups.py [--rows N] [--parquet-rows N]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._reference import metric_frame, status_mb, synthetic  # noqa: E402
from glasswing import audits  # noqa: E402

DUCKDB_MEMORY_LIMIT = "256MB"


def in_memory(rows: int) -> dict:
    frame = synthetic(rows, seed=0)
    start = time.perf_counter()
    gm = audits.group_metrics(frame["y_true"], frame["y_pred"], frame[["sex", "race"]])
    summary, _ = gm.summary(), gm.intervals
    ours = time.perf_counter() - start
    start = time.perf_counter()
    mf = metric_frame(frame)
    theirs = time.perf_counter() - start
    names = list(mf.by_group.columns)
    diff = np.abs(gm.by_group[names].to_numpy() - mf.by_group.to_numpy(dtype=float)).max()
    return {"rows": rows, "groups": len(gm.counts), "glasswing_s": round(ours, 3),
            "metricframe_s": round(theirs, 3), "speedup": round(theirs / ours, 1),
            "max_abs_difference": float(diff), "identical": bool(diff == 0.0),
            "demographic_parity_ratio": summary["demographic_parity_ratio"]}


def write_parts(folder: Path, rows: int, part_rows: int = 1_000_000) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, start in enumerate(range(0, rows, part_rows)):
        frame = synthetic(min(part_rows, rows - start), seed=100 + i)
        frame.astype({"sex": "category", "race": "category"}).to_parquet(folder / f"part-{i:03d}.parquet",
                                                                         index=False)


def child(route: str, folder: str) -> None:
    """Run one route in this (fresh) process; print its time, peak resident memory and the part of it
    the audit added on top of the imported libraries."""
    import duckdb  # noqa: F401 - imported before the baseline, like pandas and pyarrow
    import pyarrow.parquet  # noqa: F401

    baseline_mb = status_mb("VmRSS")
    start = time.perf_counter()
    if route == "duckdb":
        gm = audits.group_metrics_parquet(folder, y_true="y_true", y_pred="y_pred", sensitive=["sex", "race"],
                                          memory_limit=DUCKDB_MEMORY_LIMIT)
    else:
        frame = pd.read_parquet(folder, columns=["sex", "race", "y_true", "y_pred"])
        gm = audits.group_metrics(frame["y_true"], frame["y_pred"], frame[["sex", "race"]])
    gm.summary()
    seconds = time.perf_counter() - start
    peak_mb = status_mb("VmHWM")
    print(json.dumps({"s": round(seconds, 3), "peak_rss_mb": round(peak_mb, 1),
                      "audit_mb": round(peak_mb - baseline_mb, 1),
                      "dpd": gm.summary()["demographic_parity_difference"], "rows": int(gm.overall["n"])}))


def out_of_core(rows: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="glasswing-bench-") as tmp:
        folder = Path(tmp) / "scored"
        write_parts(folder, rows)
        size_mb = sum(p.stat().st_size for p in folder.glob("*.parquet")) / 2**20
        results = {}
        for route in ("duckdb", "pandas"):
            done = subprocess.run([sys.executable, __file__, "--child", route, str(folder)],
                                  capture_output=True, text=True, check=True)
            results[route] = json.loads(done.stdout.strip().splitlines()[-1])
    assert results["duckdb"]["dpd"] == results["pandas"]["dpd"], "routes disagree"
    return {"rows": results["duckdb"]["rows"], "parquet_mb": round(size_mb, 1),
            "duckdb_memory_limit": DUCKDB_MEMORY_LIMIT,
            "duckdb_s": results["duckdb"]["s"], "duckdb_peak_rss_mb": results["duckdb"]["peak_rss_mb"],
            "duckdb_audit_mb": results["duckdb"]["audit_mb"],
            "pandas_s": results["pandas"]["s"], "pandas_peak_rss_mb": results["pandas"]["peak_rss_mb"],
            "pandas_audit_mb": results["pandas"]["audit_mb"],
            "peak_memory_ratio": round(results["pandas"]["peak_rss_mb"]
                                       / results["duckdb"]["peak_rss_mb"], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--parquet-rows", type=int, default=10_000_000)
    parser.add_argument("--child", nargs=2, metavar=("ROUTE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    result = {"benchmark": "fairness_groups", **in_memory(args.rows)}
    if args.parquet_rows:
        result["out_of_core"] = out_of_core(args.parquet_rows)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
