"""Counterfactual search against the exact answer: Growing Spheres on a logistic regression.

For a logistic regression on numeric features the cheapest change (L1 in MAD units, no constraints) is known
in closed form: spend it all on the feature with the largest ``|w_j| * MAD_j``: ``margin / max_j(...)``.
The script fits one on synthetic data, searches the cheapest counterfactual of ``N_ROWS`` refused rows whose
exact answer stays inside the data's ranges, and prints one JSON line:

- ``ours_s_per_row``: the search time per row (``explainers.counterfactuals``, ``count=1``);
- ``ratio_median``, ``ratio_max``: the distance found divided by the exact minimum (1 is optimal; it cannot
  be below 1, which the script checks);
- ``flipped``: the share of rows whose counterfactual the model predicts as approved (must be 1).

Run: ``.venv/bin/python bench/counterfactuals.py``.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from glasswing.explainers import counterfactuals  # noqa: E402
from glasswing.ingest import Model  # noqa: E402

N, N_FEATURES, N_ROWS, SEED = 2000, 6, 40, 0


def main() -> None:
    from scipy.stats import median_abs_deviation
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(SEED)
    X = pd.DataFrame(rng.normal(0, rng.uniform(0.5, 3, N_FEATURES), (N, N_FEATURES)),
                     columns=[f"x{j}" for j in range(N_FEATURES)])
    w = rng.normal(0, 1, N_FEATURES)
    y = (X.to_numpy() @ w + rng.normal(0, 1, N) > 0).astype(int)
    est = LogisticRegression().fit(X, y)
    mad = median_abs_deviation(X.to_numpy(), axis=0, scale=1.0)
    per_unit = np.abs(est.coef_[0]) * mad
    best = int(per_unit.argmax())
    margin = -est.decision_function(X)
    step = margin / np.abs(est.coef_[0][best]) * np.sign(est.coef_[0][best])
    reach = X.iloc[:, best] + step
    fits = (margin > 0) & (reach >= X.iloc[:, best].min()) & (reach <= X.iloc[:, best].max())
    rows = X[fits].iloc[:N_ROWS]
    exact = margin[fits][:N_ROWS] / per_unit.max()
    start = time.perf_counter()
    found = counterfactuals(Model.from_estimator(est), rows, reference=X, count=1, seed=SEED)
    seconds = time.perf_counter() - start
    distance = np.array([f.cheapest for f in found])
    ratio = distance / exact
    assert (ratio >= 1 - 1e-9).all(), ratio.min()
    flipped = np.mean([est.predict(f.frame)[0] == 1 for f in found if len(f)])
    print(json.dumps({"bench": "counterfactuals", "rows": len(rows), "features": N_FEATURES,
                      "ours_s_per_row": round(seconds / len(rows), 4),
                      "reference": "closed-form L1 optimum of a logistic regression",
                      "ratio_median": round(float(np.median(ratio)), 4),
                      "ratio_max": round(float(ratio.max()), 4),
                      "flipped": float(flipped), "python": platform.python_version()}))


if __name__ == "__main__":
    main()
