"""Error analysis at 2e5 rows: Glasswing's ``error_analysis`` against a bare scikit-learn tree, same input.

The reference is what the analysis is built on: ``DecisionTreeClassifier(max_depth=4, min_samples_leaf=30)``
fitted to the error indicator on the one-hot encoded columns (``pandas.get_dummies``). Ours adds the
encoding, readable rules, counts from the rules, Wilson intervals and the split tests. With ``alpha=1``
(every split kept) both trees must have the same leaves (sizes compared); the script fails otherwise.
Prints one JSON line:

- ``ours_s``: ``error_analysis(X, y_true, y_pred)`` (alpha 0.05, the default);
- ``sklearn_s``: ``get_dummies`` + ``DecisionTreeClassifier.fit`` + ``apply``;
- ``ratio``: ``sklearn_s / ours_s`` (below 1: the price of the rules and the tests).

Best of 3 runs each (``bench.reweighing.best``). Run: ``.venv/bin/python bench/error_analysis.py [rows]``.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.reweighing import best  # noqa: E402 - best of REPEATS runs, as every benchmark here times
from glasswing.audits import error_analysis  # noqa: E402

N = 200_000
SEED = 0


def synthetic(n: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    X = pd.DataFrame({"age": rng.integers(18, 91, n), "income": rng.normal(40_000, 12_000, n).round(0),
                      "tenure": rng.exponential(5, n).round(1),
                      "region": rng.choice(np.array(["north", "south", "east", "west"]), n),
                      "plan": rng.choice(np.array([f"p{i}" for i in range(12)]), n)})
    y = rng.integers(0, 2, n)
    wrong = rng.random(n) < np.where((X["age"] > 60) & (X["region"] == "north"), 0.5, 0.04)
    return X, y, np.where(wrong, 1 - y, y)


def main() -> None:
    from sklearn.tree import DecisionTreeClassifier

    n = int(sys.argv[1]) if len(sys.argv) > 1 else N
    X, y, pred = synthetic(n)
    wrong = (y != pred).astype(int)

    def reference():
        design = pd.get_dummies(X, columns=["region", "plan"], dtype=float)
        tree = DecisionTreeClassifier(max_depth=4, min_samples_leaf=30, random_state=0).fit(design, wrong)
        return tree.apply(design)

    ours_s, result = best(lambda: error_analysis(X, y, pred))
    sklearn_s, leaves = best(reference)
    full = error_analysis(X, y, pred, alpha=1.0)
    expected = sorted(np.bincount(leaves)[np.unique(leaves)].tolist())
    if sorted(c.n for c in full.cohorts) != expected:
        raise SystemExit("The rules do not partition the rows as scikit-learn's tree does.")
    print(json.dumps({"benchmark": "error_analysis", "rows": n, "ours_s": round(ours_s, 4),
                      "sklearn_s": round(sklearn_s, 4), "ratio": round(sklearn_s / ours_s, 3),
                      "top_cohort": result.top.rule, "cohorts": len(result.cohorts),
                      "python": platform.python_version()}))


if __name__ == "__main__":
    main()
