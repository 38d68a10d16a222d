"""Reweighing at 1e6 rows: Glasswing's ``reweighing_weights`` against AIF360's ``Reweighing``, same input.

Reads ``sample_data/large/synthetic_1m.parquet`` when it was built
(``python -m glasswing.sample_data.build --large``), otherwise draws the same columns with a fixed
seed. AIF360 handles one privileged/unprivileged split, so the comparison uses the binary ``sex``
column (coded 0/1, as AIF360 needs numbers). The weights must be identical; the script fails
otherwise. Prints one JSON line:

- ``ours_s``: ``reweighing_weights(df["y_true"], df["sex"])`` on the numeric frame;
- ``aif360_s``: ``Reweighing(...).fit_transform(dataset)`` on a ``BinaryLabelDataset`` built beforehand
  (its construction is not counted here: ``aif360_dataset_s`` reports it separately);
- ``ratio``: ``aif360_s / ours_s`` (higher is better for us), ``ratio_with_dataset`` counting the
  construction, ``ours_strings_intersection_s``: ours on the raw string columns, sex x race.

Best of ``REPEATS`` runs each. Run: ``.venv/bin/python bench/reweighing.py``.
"""

from __future__ import annotations

import json
import logging
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from glasswing._paths import sample_dir  # noqa: E402
from glasswing.audits import reweighing_weights  # noqa: E402

N = 1_000_000
REPEATS = 3
SEED = 0


def load() -> tuple[pd.DataFrame, str]:
    path = sample_dir() / "large" / "synthetic_1m.parquet"
    if path.exists():
        return pd.read_parquet(path, columns=["sex", "race", "y_true"]), path.name
    rng = np.random.default_rng(SEED)
    sex = rng.choice(np.array(["female", "male"]), size=N, p=[0.45, 0.55])
    race = rng.choice(np.array(["A", "B", "C", "D", "E"]), size=N, p=[0.45, 0.25, 0.15, 0.10, 0.05])
    y = (rng.random(N) < np.where(sex == "male", 0.45, 0.32)).astype(np.int64)
    return pd.DataFrame({"sex": sex, "race": race, "y_true": y}), f"generated (seed {SEED})"


def best(fn, repeats: int = REPEATS):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    logging.disable(logging.WARNING)  # aif360 logs missing optional extras (tensorflow, inFairness) at import
    from aif360.algorithms.preprocessing import Reweighing
    from aif360.datasets import BinaryLabelDataset

    raw, source = load()
    numeric = pd.DataFrame({"sex": pd.factorize(raw["sex"], sort=True)[0].astype(np.int64),
                            "y_true": raw["y_true"].astype(np.int64)})

    def build_dataset():
        return BinaryLabelDataset(df=numeric, label_names=["y_true"], protected_attribute_names=["sex"],
                                  favorable_label=1, unfavorable_label=0)

    dataset_s, dataset = best(build_dataset, 1)
    mitigator = Reweighing(unprivileged_groups=[{"sex": 0}], privileged_groups=[{"sex": 1}])
    aif_s, transformed = best(lambda: mitigator.fit_transform(dataset))
    ours_s, ours = best(lambda: reweighing_weights(numeric["y_true"], numeric["sex"]))
    theirs = transformed.instance_weights
    max_abs_diff = float(np.max(np.abs(ours - theirs)))
    if max_abs_diff > 1e-12:
        raise SystemExit(f"weights differ from AIF360's by {max_abs_diff}")
    strings_s, _ = best(lambda: reweighing_weights(raw["y_true"], raw[["sex", "race"]]))
    print(json.dumps({
        "bench": "reweighing", "rows": len(raw), "data": source,
        "ours_s": round(ours_s, 5), "aif360_s": round(aif_s, 5), "ratio": round(aif_s / ours_s, 1),
        "aif360_dataset_s": round(dataset_s, 4),
        "ratio_with_dataset": round((aif_s + dataset_s) / ours_s, 1),
        "ours_strings_intersection_s": round(strings_s, 4),
        "identical": bool(np.array_equal(ours, theirs)), "max_abs_diff": max_abs_diff,
        "repeats": REPEATS, "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
