"""Exponentiated gradient's bounded default on 25,000 rows: Glasswing's run against fairlearn called directly.

Draws 25,000 training and 5,000 held-out rows with a planted bias (seed 0), fits the base model, then times:

- ``ours_s``: ``audits.mitigate(..., method="exponentiated_gradient")`` with its defaults (at most
  ``EG_MAX_ITER`` = 10 iterations; each refit counted, reported and checked for Stop), evaluation included;
- ``fairlearn_s``: ``ExponentiatedGradient(clone(model), DemographicParity(), max_iter=10)`` fitted and
  predicted directly on the same rows (the same bound: what the counting and progress cost);
- ``ratio``: ``fairlearn_s / ours_s`` (1.0 means no overhead); ``iterations`` and ``fits`` of our run;
- with ``--full``, ``fairlearn_default_s``: fairlearn's own default (50 iterations), the run issue 14 saw.

Run: ``.venv/bin/python bench/expgrad_bounded.py [--estimator hgb|logreg] [--full]``; on a 2-core budget,
``taskset -c 0,1`` with ``OMP_NUM_THREADS=2``. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from glasswing import audits  # noqa: E402
from glasswing.ingest import ColumnRoles, Dataset, Model  # noqa: E402

N_TRAIN, N_TEST, SEED = 25_000, 5_000, 0
FEATURES = [f"x{i}" for i in range(8)]


def planted(n: int, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], size=n, p=[0.6, 0.4])
    x = rng.normal(size=(n, len(FEATURES)))
    logit = x[:, 0] + 0.5 * x[:, 1] - 0.3 * x[:, 2] - 1.0 * (group == "b")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(x, columns=FEATURES).assign(g=group, y=y)
    frame["x1"] += 0.8 * (group == "b")  # a proxy of the group
    roles = ColumnRoles(target="y", sensitive=("g",), features=tuple(FEATURES))
    return Dataset(frame, roles, f"planted{seed}", f"{seed:064d}")


def base(name: str):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    return HistGradientBoostingClassifier(random_state=SEED) if name == "hgb" else LogisticRegression()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--estimator", choices=["hgb", "logreg"], default="hgb")
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient
    from sklearn.base import clone

    train, test = planted(N_TRAIN, 1), planted(N_TEST, 2)
    estimator = base(args.estimator).fit(train.frame[FEATURES], train.frame["y"])
    model = Model.from_estimator(estimator, name=args.estimator, sha256="b" * 64)

    start = time.perf_counter()
    result = audits.mitigate(model, train, test, method="exponentiated_gradient")
    ours = time.perf_counter() - start

    start = time.perf_counter()
    direct = ExponentiatedGradient(clone(estimator), DemographicParity(), max_iter=audits.EG_MAX_ITER)
    direct.fit(train.frame[FEATURES], train.frame["y"], sensitive_features=train.frame["g"])
    direct.predict(test.frame[FEATURES], random_state=0)
    theirs = time.perf_counter() - start

    out = {"bench": "expgrad_bounded", "estimator": type(estimator).__name__, "n_train": N_TRAIN,
           "max_iter": audits.EG_MAX_ITER, "iterations": result.params["iterations"],
           "fits": result.params["fits"], "ours_s": round(ours, 3), "fairlearn_s": round(theirs, 3),
           "ratio": round(theirs / ours, 3), "cpus": len(os.sched_getaffinity(0)),
           "load_1min": round(os.getloadavg()[0], 2), "python": platform.python_version()}
    if args.full:
        start = time.perf_counter()
        full = ExponentiatedGradient(clone(estimator), DemographicParity()).fit(
            train.frame[FEATURES], train.frame["y"], sensitive_features=train.frame["g"])
        out["fairlearn_default_s"] = round(time.perf_counter() - start, 3)
        out["fairlearn_default_fits"] = int(full.n_oracle_calls_)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
