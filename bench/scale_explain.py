"""Batch explanations at a million rows: ``glasswing explain --out .parquet`` in one process, with --jobs 2
and on Spark local[2]; and the Explain: tabular page on the same table.

Table: 1,000,000 synthetic rows, 8 numeric features; model: gradient boosting (50 trees of depth 3) fitted
on 20,000 of them and saved with skops, loaded by the safe loader in every worker. Prints one JSON line:

- TreeSHAP on all 1,000,000 rows, end to end through the command (read Parquet, explain, write Parquet):
  ``tree_rows_per_s`` for ``single`` (one process), ``jobs2`` (``--jobs 2``) and ``spark`` (``--engine spark
  --spark-master local[2]``, the session already started: JVM start-up is ``spark_start_s``);
  ``shap_rows_per_s``: shap's own ``TreeExplainer.shap_values`` on the same rows in one process, the
  reference; ``tree_ratio_*`` = each engine's rate / the single process's, ``tree_overhead`` = shap's rate /
  the single process's.
- LIME (5,000 samples per row) on a fixed subset of ``LIME_ROWS`` rows (the first ones, as their own Parquet
  file, so that every engine draws the same background): ``lime_rows_per_s`` and ``lime_ratio_*`` likewise.
- The page (AppTest, server-side script time only): ``page_first_s`` (opening Explain: tabular on the
  million rows, cold caches) and ``page_interaction_s`` (median of changing the dependence plot's feature,
  then the class explained back and forth), against ``page_budget_s`` (the Fairness page's 2 s) and
  ``all_rows_single_s`` (what a page that explained every row would wait).

Every engine's attributions must equal the single process's (else the script fails). Cores: the machine's
(``cpu_count``); on 2 shared cores the --jobs 2 and Spark figures are bounded by them.
Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/scale_explain.py [--rows 1000000] [--lime-rows 200]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FEATURES = [f"x{i}" for i in range(8)]
LIME_SAMPLES = 5000


def build(folder: Path, n: int) -> tuple[Path, Path]:
    import skops.io
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(n, len(FEATURES))), columns=FEATURES)
    X["group"] = rng.choice(["A", "B", "C"], size=n, p=[0.6, 0.3, 0.1])
    score = X["x0"] - 0.7 * X["x1"] + 0.5 * X["x2"] * X["x3"] + rng.logistic(size=n)
    X["y"] = (score > 0).astype(int)
    fit = min(n, 20_000)
    clf = GradientBoostingClassifier(n_estimators=50, max_depth=3, random_state=0)
    clf.fit(X[FEATURES].iloc[:fit], X["y"].iloc[:fit])
    skops.io.dump(clf, folder / "model.skops")
    X.to_parquet(folder / "table.parquet", index=False, row_group_size=100_000)
    return folder / "model.skops", folder / "table.parquet"


def command(model: Path, data: Path, out: Path, method: str, *extra: str) -> float:
    from glasswing.cli import main

    args = ["explain", "--model", str(model), "--data", str(data), "--method", method, "--out", str(out),
            "--features", *FEATURES, *extra]
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    took = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"glasswing {' '.join(args)} exited {code}")
    return took


def same(a: Path, b: Path) -> None:
    x = pd.read_parquet(a).sort_values("row").reset_index(drop=True)
    y = pd.read_parquet(b).sort_values("row").reset_index(drop=True)
    pd.testing.assert_frame_equal(x, y, check_exact=False, rtol=1e-9, atol=1e-12)


def page_times(model_path: Path, table: Path) -> dict:
    from streamlit.testing.v1 import AppTest

    from glasswing import ingest
    from glasswing.ingest import ColumnRoles, Dataset

    model = ingest.load_model(model_path)
    frame = pd.read_parquet(table)
    data = Dataset(frame, ColumnRoles(target="y", sensitive=("group",), features=tuple(FEATURES)), "bench",
                   "bench-million")
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=600)
    at.run()  # the start page, then the loaded model and data, as tests/conftest.py's new_apptest does
    at.session_state["gw.model"], at.session_state["gw.dataset"] = model, data
    at.switch_page("app_pages/explain_tabular.py")
    start = time.perf_counter()
    at.run()
    first = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"The page failed: {at.exception}")
    times = []
    for feature in ("x1", "x2", "x0", "x3"):
        start = time.perf_counter()
        at.selectbox(key="xt.dep.feature").set_value(feature).run()
        times.append(time.perf_counter() - start)
    for cls in (0, 1):
        start = time.perf_counter()
        at.selectbox(key="xt.class").set_value(cls).run()
        times.append(time.perf_counter() - start)
    if at.exception or at.error:
        raise SystemExit(f"The page failed: {at.exception or at.error[0].value}")
    return {"page_first_s": round(first, 2), "page_interaction_s": round(statistics.median(times), 3),
            "page_interaction_max_s": round(max(times), 3), "page_budget_s": 2.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lime-rows", type=int, default=200)
    parser.add_argument("--no-page", action="store_true", help="skip the page timings")
    args = parser.parse_args()
    from glasswing.explainers._shap_tabular import shap_module
    from glasswing.ingest._spark import spark_session

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model, table = build(folder, args.rows)
        lime_table = folder / "lime.parquet"
        pd.read_parquet(table).iloc[:args.lime_rows].to_parquet(lime_table, index=False)

        from glasswing import ingest

        X = pd.read_parquet(table, columns=FEATURES)
        clf = ingest.load_model(model).estimator
        reference = shap_module().TreeExplainer(clf)
        reference.shap_values(X.iloc[:1000], check_additivity=False)  # warm, as the command's chunks are
        start = time.perf_counter()
        reference.shap_values(X, check_additivity=False)
        shap_s = time.perf_counter() - start
        del X

        tree = {"single": command(model, table, folder / "t1.parquet", "shap", "--target", "1"),
                "jobs2": command(model, table, folder / "t2.parquet", "shap", "--target", "1", "--jobs", "2")}
        start = time.perf_counter()
        spark_session("local[2]").sparkContext.setLogLevel("ERROR")
        spark_start = time.perf_counter() - start
        tree["spark"] = command(model, table, folder / "t3.parquet", "shap", "--target", "1", "--engine",
                                "spark")
        same(folder / "t1.parquet", folder / "t2.parquet")
        same(folder / "t1.parquet", folder / "t3.parquet")

        lime_params = ["--param", f"num_samples={LIME_SAMPLES}"]
        lime = {"single": command(model, lime_table, folder / "l1.parquet", "lime", *lime_params),
                "jobs2": command(model, lime_table, folder / "l2.parquet", "lime", *lime_params, "--jobs",
                                 "2"),
                "spark": command(model, lime_table, folder / "l3.parquet", "lime", *lime_params, "--engine",
                                 "spark")}
        same(folder / "l1.parquet", folder / "l2.parquet")
        same(folder / "l1.parquet", folder / "l3.parquet")
        page = {} if args.no_page else page_times(model, table)

    def rates(seconds: dict, n: int) -> dict:
        return {k: round(n / v, 1) for k, v in seconds.items()}

    tree_rate, lime_rate = rates(tree, args.rows), rates(lime, args.lime_rows)
    print(json.dumps({
        "rows": args.rows, "lime_rows": args.lime_rows, "lime_samples": LIME_SAMPLES,
        "tree_s": {k: round(v, 2) for k, v in tree.items()}, "tree_rows_per_s": tree_rate,
        "shap_rows_per_s": round(args.rows / shap_s, 1),
        "tree_ratio_jobs2": round(tree_rate["jobs2"] / tree_rate["single"], 3),
        "tree_ratio_spark": round(tree_rate["spark"] / tree_rate["single"], 3),
        "tree_overhead": round((args.rows / shap_s) / tree_rate["single"], 3),
        "lime_s": {k: round(v, 2) for k, v in lime.items()}, "lime_rows_per_s": lime_rate,
        "lime_ratio_jobs2": round(lime_rate["jobs2"] / lime_rate["single"], 3),
        "lime_ratio_spark": round(lime_rate["spark"] / lime_rate["single"], 3),
        "spark_start_s": round(spark_start, 2), "all_rows_single_s": round(tree["single"], 2), **page,
        "cpu_count": os.cpu_count(), "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
