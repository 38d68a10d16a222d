"""Audits run where the predictions live: DuckDB on 1e8 Parquet rows, Spark local[2], PostgreSQL.

The audit is ``audits.group_metrics_parquet`` (one Ibis expression of per-group confusion counts, pushed down
to the engine; 2 sensitive columns, 10 intersectional groups), the same as ``bench/fairness_groups.py``. Every
route runs in a fresh child process of this script, which reports its time and its peak resident memory
(``VmHWM``), so no route inherits another's memory or caches:

- ``duckdb_vs_pandas``: ``--rows`` (1e8) synthetic rows in Parquet through DuckDB (memory limit
  ``DUCKDB_MEMORY_LIMIT``, 2 threads) against pandas reading the same files and auditing in memory
  (``audits.group_metrics``), pandas under an address-space limit (``RLIMIT_AS``, ``--pandas-limit-gb``) so
  the machine never swaps. When pandas runs out of memory there, that is recorded, and both routes run again
  on the largest of ``--pandas-fallback-rows`` (2e7, the first parts of the same rows), then halves of it,
  that pandas fits: the ratios are measured there.
- ``spark_vs_duckdb``: ``--spark-rows`` (1e7) through Spark ``local[2]`` against DuckDB on the same files.
  Spark's start-up (the JVM and the session) is timed on its own (``spark_start_s``) and excluded from its
  audit times: ``spark_first_s`` is the first audit in the new session (query planning and code generation
  warm up in it), ``spark_s`` the same audit run again in that session, which is what a long-lived cluster
  sees; ``spark_rows_per_core_s`` = rows / (``spark_s`` x 2 executor cores).
- ``postgres``: ``--postgres-rows`` (1e6) loaded by ``COPY`` into a throwaway server that the script starts
  (``tests/_postgres.py``) and stops; the pushed-down audit against pulling the rows into pandas first
  (``COPY ... TO STDOUT``, the fastest way out of PostgreSQL, then ``audits.group_metrics``), with the rows
  and bytes each route moves out of the server.

``identical`` is true when every pair of routes gives the same confusion counts in every group and the same
demographic parity and equalized odds differences. The Parquet rows are generated once, in parts of 1e6 rows
(``synthetic_scored`` with seeds 100, 101, ..., at most one part in memory), and cached under ``--workdir``
(``/tmp/glasswing-scale-audit`` by default; about 5.3 MB per 1e6 rows, so 0.55 GB for 1e8: delete the folder
when done). Prints one JSON line. Try it small first::

    python bench/scale_audit.py --rows 2000000 --spark-rows 1000000 --postgres-rows 100000
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DUCKDB_MEMORY_LIMIT = "2GB"
SPARK_MASTER = "local[2]"
SPARK_CORES = 2
PART_ROWS = 1_000_000
COLUMNS = ["sex", "race", "y_true", "y_pred", "score"]
AUDITED = ["sex", "race", "y_true", "y_pred"]
BYTES_PER_ROW = 5.6  # the Parquet parts' size on disk, measured
CHILD_TIMEOUT_S = 3600
OOM_MARKS = ("MemoryError", "bad_alloc", "Cannot allocate memory", "out of memory", "OutOfMemory")


# --- the rows -----------------------------------------------------------------------------------------------

def part_sizes(rows: int) -> list[int]:
    """Return the sizes of the parts that hold ``rows`` rows (``PART_ROWS`` each, the last one shorter)."""
    return [min(PART_ROWS, rows - start) for start in range(0, rows, PART_ROWS)]


def dataset(workdir: Path, rows: int) -> tuple[Path, bool]:
    """Return a folder of Parquet parts holding ``rows`` rows, and whether it had to generate any part.

    Part ``i`` of ``PART_ROWS`` rows is the same in every folder (seed ``100 + i``): it is written once
    under ``store/`` and hard-linked into each folder, so the first 2e7 rows of the 1e8-row folder are the
    2e7-row folder.
    """
    folder = workdir / f"rows-{rows}"
    if (folder / ".complete").is_file():
        return folder, False
    from bench._reference import synthetic

    store = workdir / "store"
    store.mkdir(parents=True, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    generated = False
    for i, size in enumerate(part_sizes(rows)):
        name = f"part-{i:05d}-{size}.parquet"
        stored = store / name
        if not stored.is_file():
            frame = synthetic(size, seed=100 + i)[COLUMNS].astype({"sex": "category", "race": "category"})
            partial = stored.with_suffix(".tmp")
            frame.to_parquet(partial, index=False)
            partial.rename(stored)
            generated = True
        linked = folder / name
        if not linked.exists():
            os.link(stored, linked)
    (folder / ".complete").write_text(str(rows))
    return folder, generated


def folder_mb(folder: Path) -> float:
    """Return the size of the Parquet parts in ``folder``, in MiB."""
    return round(sum(p.stat().st_size for p in folder.glob("*.parquet")) / 2**20, 1)


def check_disk(workdir: Path, rows: int) -> None:
    """Stop with a sentence when the disk under ``workdir`` cannot hold the rows with room to spare."""
    workdir.mkdir(parents=True, exist_ok=True)
    existing = sum(p.stat().st_size for p in (workdir / "store").glob("*.parquet")) \
        if (workdir / "store").is_dir() else 0
    need = rows * BYTES_PER_ROW - existing + 2 * 2**30  # and 2 GiB for DuckDB's and Spark's spill files
    free = shutil.disk_usage(workdir).free
    if free < need:
        sys.exit(f"{workdir} has {free / 2**30:.1f} GiB free; {rows:,} rows need about "
                 f"{need / 2**30:.1f} GiB: give another --workdir or fewer --rows.")


# --- one route in a fresh process ---------------------------------------------------------------------------

def _figures(gm) -> dict:
    """The numbers two routes must agree on: counts per group, and two headline disparities."""
    counts = gm.counts
    rows = [[*(k if isinstance(k, tuple) else (k,)), *(float(v) for v in r)]
            for k, r in zip(counts.index, counts[["tn", "fp", "fn", "tp", "n"]].to_numpy(), strict=True)]
    summary = gm.summary()
    return {"rows": int(counts["n"].sum()), "groups": len(counts), "counts": rows,
            "dpd": summary["demographic_parity_difference"], "eod": summary["equalized_odds_difference"]}


def child(route: str, source: str, limit_gb: float) -> None:
    """Run one route in this (fresh) process and print one JSON line of its figures."""
    if route == "pandas":
        limit = int(limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import pyarrow.parquet  # noqa: F401 - imported before the baseline in every route

    from bench._reference import status_mb
    from glasswing import audits

    extra: dict = {}
    if route == "spark":
        import pyspark  # noqa: F401
    elif route in ("duckdb", "pgpush"):
        import duckdb  # noqa: F401
        import ibis  # noqa: F401
    baseline_mb = status_mb("VmRSS")
    sensitive = ["sex", "race"]
    start = time.perf_counter()
    try:
        if route == "duckdb":
            gm = audits.group_metrics_parquet(source, y_true="y_true", y_pred="y_pred", sensitive=sensitive,
                                              memory_limit=DUCKDB_MEMORY_LIMIT)
        elif route == "pandas":
            import pandas as pd

            frame = pd.read_parquet(source, columns=AUDITED)
            gm = audits.group_metrics(frame["y_true"], frame["y_pred"], frame[sensitive])
        elif route == "spark":
            from glasswing.ingest._spark import spark_session

            session = spark_session(SPARK_MASTER)
            session.sparkContext.setLogLevel("ERROR")
            extra["spark_start_s"] = round(time.perf_counter() - start, 3)
            start = time.perf_counter()
            gm = audits.group_metrics_parquet(source, y_true="y_true", y_pred="y_pred", sensitive=sensitive,
                                              engine="spark", spark_master=SPARK_MASTER)
            extra["s_cold"] = round(time.perf_counter() - start, 3)
            warm = _figures(gm)
            start = time.perf_counter()  # the same audit again in the warm session: what a cluster sees
            gm = audits.group_metrics_parquet(source, y_true="y_true", y_pred="y_pred", sensitive=sensitive,
                                              engine="spark", spark_master=SPARK_MASTER)
            extra["runs_agree"] = same(warm, _figures(gm))
            proc = getattr(session.sparkContext._gateway, "proc", None)
            jvm = status_mb("VmHWM", str(proc.pid)) if proc is not None else None
            extra["jvm_peak_rss_mb"] = round(jvm, 1) if jvm is not None else None
        elif route == "pgpush":
            gm = audits.group_metrics_parquet(source, table="predictions", y_true="y_true", y_pred="y_pred",
                                              sensitive=sensitive)
        elif route == "pgpull":
            import pandas as pd
            import psycopg

            buffer = io.BytesIO()
            query = f"COPY (SELECT {', '.join(AUDITED)} FROM predictions) TO STDOUT (FORMAT csv)"
            with psycopg.connect(source) as con, con.cursor() as cur, cur.copy(query) as copy:
                for block in copy:
                    buffer.write(block)
            extra["bytes_moved"] = buffer.tell()
            buffer.seek(0)
            frame = pd.read_csv(buffer, names=AUDITED, dtype={"sex": "category", "race": "category",
                                                              "y_true": "int8", "y_pred": "int8"})
            del buffer
            gm = audits.group_metrics(frame["y_true"], frame["y_pred"], frame[sensitive])
        else:
            raise SystemExit(f"unknown route {route!r}")
        figures = _figures(gm)
    except MemoryError as err:
        print(json.dumps({"out_of_memory": True,
                          "error": f"{type(err).__name__} after {time.perf_counter() - start:.1f} s"}))
        return
    seconds = time.perf_counter() - start
    peak_mb = status_mb("VmHWM")
    print(json.dumps({"s": round(seconds, 3), "peak_rss_mb": round(peak_mb, 1),
                      "audit_mb": round(peak_mb - baseline_mb, 1), **extra, **figures}))
    if route == "spark":
        session.stop()


def run_route(route: str, source, limit_gb: float = 0.0, timeout_s: float = CHILD_TIMEOUT_S) -> dict:
    """Run ``route`` on ``source`` in a fresh process; return its figures (or ``out_of_memory``).

    A pandas process that gives no answer within ``timeout_s`` is stopped and counted as out of memory:
    pyarrow's scanner can wait forever when one of its threads fails to allocate under ``RLIMIT_AS``.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    cmd = [sys.executable, __file__, "--child", route, str(source), str(limit_gb)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env, check=False)
    except subprocess.TimeoutExpired:
        if route != "pandas":
            raise
        return {"out_of_memory": True, "error": f"no answer within {timeout_s:g} s, stopped"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode == 0 and lines:
        return json.loads(lines[-1])
    if route == "pandas" and (done.returncode < 0 or any(m in done.stderr for m in OOM_MARKS)):
        return {"out_of_memory": True, "error": f"exit {done.returncode} {_last_line(done.stderr)}".strip()}
    raise RuntimeError(f"route {route} failed on {source} (exit {done.returncode}):\n{done.stderr[-4000:]}")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def same(a: dict, b: dict) -> bool:
    """Return whether two routes gave the same counts per group and the same disparities."""
    return a["counts"] == b["counts"] and a["dpd"] == b["dpd"] and a["eod"] == b["eod"]


# --- the three comparisons ----------------------------------------------------------------------------------

def duckdb_vs_pandas(workdir: Path, rows: int, limit_gb: float, fallback_rows: int, timeout_s: float) -> dict:
    folder, generated = dataset(workdir, rows)
    duck = run_route("duckdb", folder)
    pandas = run_route("pandas", folder, limit_gb, timeout_s)
    out = {"rows": duck["rows"], "parquet_mb": folder_mb(folder), "parts": len(part_sizes(rows)),
           "generated_now": generated, "duckdb_memory_limit": DUCKDB_MEMORY_LIMIT,
           "pandas_address_space_limit_gib": limit_gb,
           "duckdb_s": duck["s"], "duckdb_peak_rss_mb": duck["peak_rss_mb"],
           "duckdb_audit_mb": duck["audit_mb"],
           "duckdb_rows_per_s": round(duck["rows"] / duck["s"])}
    at, duck_at = rows, duck
    if pandas.get("out_of_memory"):
        out["pandas_full"] = f"out of memory at {rows:,} rows under a {limit_gb:g} GiB address-space limit " \
                             f"({pandas.get('error', '')})"
        at = min(fallback_rows, rows // 2) // PART_ROWS * PART_ROWS or min(fallback_rows, rows // 2)
        while at >= 1:
            sub, _ = dataset(workdir, at)
            pandas = run_route("pandas", sub, limit_gb, timeout_s)
            if not pandas.get("out_of_memory"):
                duck_at = run_route("duckdb", sub)
                break
            out.setdefault("pandas_also_out_of_memory_at", []).append(at)
            at //= 2
        else:
            out.update(identical=False, pandas="out of memory at every size tried")
            return out
    else:
        out["pandas_full"] = "fits"
    out.update({"compared_at_rows": at, "pandas_s": pandas["s"], "pandas_peak_rss_mb": pandas["peak_rss_mb"],
                "pandas_audit_mb": pandas["audit_mb"], "duckdb_s_at_rows": duck_at["s"],
                "duckdb_peak_rss_mb_at_rows": duck_at["peak_rss_mb"],
                "time_ratio_pandas_over_duckdb": round(pandas["s"] / duck_at["s"], 2),
                "peak_memory_ratio_pandas_over_duckdb":
                    round(pandas["peak_rss_mb"] / duck_at["peak_rss_mb"], 2),
                "dpd": duck["dpd"], "identical": same(pandas, duck_at)})
    return out


def spark_vs_duckdb(workdir: Path, rows: int) -> dict:
    folder, _ = dataset(workdir, rows)
    spark = run_route("spark", folder)  # the folder itself, as `glasswing audit --data FOLDER` gives it
    duck = run_route("duckdb", folder)
    return {"rows": spark["rows"], "spark_master": SPARK_MASTER, "spark_start_s": spark["spark_start_s"],
            "spark_first_s": spark["s_cold"], "spark_s": spark["s"],
            "spark_jvm_peak_rss_mb": spark["jvm_peak_rss_mb"],
            "spark_driver_python_peak_rss_mb": spark["peak_rss_mb"],
            "spark_rows_per_core_s": round(spark["rows"] / (spark["s"] * SPARK_CORES)),
            "duckdb_s": duck["s"], "duckdb_peak_rss_mb": duck["peak_rss_mb"],
            "duckdb_rows_per_core_s": round(duck["rows"] / (duck["s"] * (os.cpu_count() or 1))),
            "time_ratio_spark_over_duckdb": round(spark["s"] / duck["s"], 2),
            "dpd": duck["dpd"], "identical": same(spark, duck) and spark["runs_agree"]}


def load_postgres(url: str, folder: Path) -> float:
    """Create ``predictions`` on the server and COPY the Parquet parts in; return the seconds it took."""
    import psycopg
    import pyarrow.parquet as pq

    start = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("CREATE TABLE predictions (sex text, race text, y_true smallint, y_pred smallint, "
                    "score real)")
        with con.cursor() as cur, cur.copy("COPY predictions FROM STDIN (FORMAT csv)") as copy:
            for part in sorted(folder.glob("*.parquet")):
                frame = pq.read_table(part, columns=COLUMNS).to_pandas()
                copy.write(frame.to_csv(index=False, header=False))
        con.execute("ANALYZE predictions")
    return time.perf_counter() - start


def postgres(workdir: Path, rows: int) -> dict:
    from tests._postgres import server_bindir, start_cluster, stop_cluster

    bindir = server_bindir()
    if bindir is None:
        sys.exit("PostgreSQL's server (initdb, pg_ctl) is not installed; `make test` installs it, or pass "
                 "--skip-postgres.")
    folder, _ = dataset(workdir, rows)
    root = Path(tempfile.mkdtemp(prefix="glasswing-pg-bench-"))
    try:
        start = time.perf_counter()
        url = start_cluster(root, bindir)
        server_s = time.perf_counter() - start
        load_s = load_postgres(url, folder)
        push = run_route("pgpush", url)
        pull = run_route("pgpull", url)
    finally:
        with contextlib.suppress(RuntimeError, OSError):
            stop_cluster(root, bindir)
        shutil.rmtree(root, ignore_errors=True)
    return {"rows": push["rows"], "server_start_s": round(server_s, 2), "copy_in_s": round(load_s, 2),
            "pushdown_s": push["s"], "pushdown_peak_rss_mb": push["peak_rss_mb"],
            "pushdown_rows_moved": push["groups"],
            "pull_into_pandas_then_audit_s": pull["s"], "pull_peak_rss_mb": pull["peak_rss_mb"],
            "pull_rows_moved": pull["rows"], "pull_bytes_moved": pull["bytes_moved"],
            "time_ratio_pull_over_pushdown": round(pull["s"] / push["s"], 2),
            "peak_memory_ratio_pull_over_pushdown": round(pull["peak_rss_mb"] / push["peak_rss_mb"], 2),
            "dpd": push["dpd"], "identical": same(push, pull)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=1e8, help="Parquet rows for DuckDB against pandas")
    parser.add_argument("--spark-rows", type=float, default=1e7, help="rows for Spark against DuckDB")
    parser.add_argument("--postgres-rows", type=float, default=1e6, help="rows loaded into PostgreSQL")
    parser.add_argument("--pandas-limit-gb", type=float, default=8.0,
                        help="address-space limit of the pandas process, GiB")
    parser.add_argument("--pandas-fallback-rows", type=float, default=2e7,
                        help="rows pandas tries when it runs out of memory on --rows (then halves)")
    parser.add_argument("--pandas-timeout", type=float, default=600.0,
                        help="seconds after which a pandas process with no answer is stopped")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "glasswing-scale-audit",
                        help="where the generated Parquet parts are cached")
    parser.add_argument("--skip-pandas", action="store_true", help="skip DuckDB against pandas")
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("ROUTE", "SOURCE", "LIMIT_GB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], float(args.child[2]))
        return
    rows, spark_rows, pg_rows = int(args.rows), int(args.spark_rows), int(args.postgres_rows)
    check_disk(args.workdir, max(rows, spark_rows, pg_rows))
    start = time.perf_counter()
    result: dict = {"benchmark": "scale_audit", "cores": os.cpu_count(), "workdir": str(args.workdir)}
    checks = []
    if not args.skip_pandas:
        result["duckdb_vs_pandas"] = duckdb_vs_pandas(args.workdir, rows, args.pandas_limit_gb,
                                                      int(args.pandas_fallback_rows), args.pandas_timeout)
        checks.append(result["duckdb_vs_pandas"]["identical"])
    if not args.skip_spark:
        result["spark_vs_duckdb"] = spark_vs_duckdb(args.workdir, spark_rows)
        checks.append(result["spark_vs_duckdb"]["identical"])
    if not args.skip_postgres:
        result["postgres"] = postgres(args.workdir, pg_rows)
        checks.append(result["postgres"]["identical"])
    result["identical"] = all(checks)
    result["wall_s"] = round(time.perf_counter() - start, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
