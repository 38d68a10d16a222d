"""Tabular explainers: Glasswing's ``explain`` against the raw shap and lime calls, same model, same rows.

Model: the sample gradient-boosting pipeline (``models/german_gbm.skops``: one-hot + scaling, then 100 trees);
when the samples are not built yet, the same pipeline is trained here with ``sample_data/build.py``'s code.
Rows: all 1,000 rows of ``german.csv``. Prints one JSON line:

- ``ours_tree_s``: ``explainers.explain(model, rows, method="shap")`` (TreeExplainer chosen automatically),
  including the preprocessing, summing one-hot columns back into features, the model's own output for
  every row and 1,000 ``Explanation`` objects;
- ``shap_tree_s``: ``shap.TreeExplainer(final).shap_values(preprocess.transform(rows))`` with shap's
  defaults (its additivity check on), ``shap_tree_no_check_s`` with ``check_additivity=False``;
  ``tree_ratio`` = ours / shap (1.10 = 10% overhead), ``tree_ratio_no_check`` likewise;
- ``ours_lime_s_per_row`` and ``lime_s_per_row``: LIME with 5,000 samples per row, ours through
  ``explain`` and raw ``LimeTabularExplainer`` with categorical codes decoded in its predict function;
  ``predict_5000_s``: the model's own ``predict_proba`` on 5,000 rows (LIME's floor per row).

The attributions must equal shap's (else the script fails). Best of ``REPEATS`` runs (``LIME_REPEATS``
for LIME), ours and the reference alternating, so that both see the same machine load.
Run: ``.venv/bin/python bench/tabular_explainers.py``.
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

from glasswing import explainers  # noqa: E402
from glasswing._paths import sample_dir  # noqa: E402
from glasswing.explainers._shap_tabular import shap_module  # noqa: E402
from glasswing.ingest import Model, samples  # noqa: E402

REPEATS = 15
LIME_ROWS = 10
LIME_REPEATS = 3
LIME_SAMPLES = 5000


def load_model() -> tuple[Model, str]:
    try:
        return samples.german_model("gbm"), "sample_data/models/german_gbm.skops"
    except Exception:  # samples not built: train the same pipeline on the same split
        from sklearn.ensemble import GradientBoostingClassifier
        from sklearn.model_selection import train_test_split

        from glasswing.sample_data.build import FEATURES, SEED, TARGET, TEST_SIZE, german_pipeline

        data = pd.read_csv(sample_dir() / "german.csv")
        train, _ = train_test_split(data, test_size=TEST_SIZE, stratify=data[TARGET], random_state=SEED)
        pipe = german_pipeline(GradientBoostingClassifier(n_estimators=100, random_state=0))
        pipe.fit(train[FEATURES], train[TARGET])
        return Model.from_estimator(pipe, name="german_gbm"), "trained by build.py's german_pipeline"


def best(fn, times: list[float]):
    start = time.perf_counter()
    out = fn()
    times.append(time.perf_counter() - start)
    return out


def raw_lime(model: Model, X: pd.DataFrame, n_rows: int) -> float:
    """What a user writes with lime alone: categorical codes in, decoded inside the predict function."""
    from lime.lime_tabular import LimeTabularExplainer

    categorical = [i for i, c in enumerate(X.columns)
                   if not pd.api.types.is_numeric_dtype(X[c]) or c == "job"]  # job: one-hot encoded codes
    cats = {i: pd.Categorical(X.iloc[:, i]).categories for i in categorical}
    codes = X.copy()
    for i in categorical:
        codes.iloc[:, i] = pd.Categorical(X.iloc[:, i], categories=cats[i]).codes
    codes = codes.to_numpy(dtype=float)

    def predict_fn(z):
        columns = {c: np.asarray(cats[i])[z[:, i].round().astype(int)] if i in cats else z[:, i]
                   for i, c in enumerate(X.columns)}
        return model.predict_proba(pd.DataFrame(columns))

    explainer = LimeTabularExplainer(codes, mode="classification", feature_names=list(X.columns),
                                     categorical_features=categorical,
                                     categorical_names={i: [str(v) for v in cats[i]] for i in categorical},
                                     discretize_continuous=True, random_state=0)
    start = time.perf_counter()
    for r in range(n_rows):
        explainer.explain_instance(codes[r], predict_fn, labels=(1,), num_features=X.shape[1],
                                   num_samples=LIME_SAMPLES)
    return (time.perf_counter() - start) / n_rows


def main() -> None:
    shap = shap_module()
    model, source = load_model()
    X = pd.read_csv(sample_dir() / "german.csv")[list(model.feature_names)]
    pipe = model.estimator
    pre, final = pipe[:-1], pipe[-1]
    explainers.explain(model, X.iloc[:10], method="shap")  # warm up imports and caches for both sides
    shap.TreeExplainer(final).shap_values(pre.transform(X.iloc[:10]))

    ours_t, raw_t, nocheck_t = [], [], []
    for _ in range(REPEATS):
        ours = best(lambda: explainers.explain(model, X, method="shap", target=1), ours_t)
        raw = best(lambda: shap.TreeExplainer(final).shap_values(pre.transform(X)), raw_t)
        best(lambda: shap.TreeExplainer(final).shap_values(pre.transform(X), check_additivity=False),
             nocheck_t)
    tm = explainers.tabular_model(model)
    max_abs_diff = float(np.max(np.abs(np.array([e.values for e in ours]) - tm.to_features(raw))))
    if max_abs_diff > 1e-9:
        raise SystemExit(f"attributions differ from shap's by {max_abs_diff}")

    explainers.explain(model, X.iloc[:1], method="lime", background=X, num_samples=500)  # warm up
    ours_lime_t, raw_lime_t = [], []
    for _ in range(LIME_REPEATS):
        best(lambda: explainers.explain(model, X.iloc[:LIME_ROWS], method="lime", background=X,
                                        num_samples=LIME_SAMPLES), ours_lime_t)
        raw_lime_t.append(raw_lime(model, X, LIME_ROWS))
    ours_lime, lime_raw = min(ours_lime_t) / LIME_ROWS, min(raw_lime_t)
    big = X.sample(LIME_SAMPLES, replace=True, random_state=0)
    predict_t: list[float] = []
    for _ in range(REPEATS):
        best(lambda: model.predict_proba(big), predict_t)

    print(json.dumps({
        "bench": "tabular_explainers", "model": source, "rows": len(X),
        "ours_tree_s": round(min(ours_t), 4), "shap_tree_s": round(min(raw_t), 4),
        "shap_tree_no_check_s": round(min(nocheck_t), 4),
        "tree_ratio": round(min(ours_t) / min(raw_t), 3),
        "tree_ratio_no_check": round(min(ours_t) / min(nocheck_t), 3),
        "max_abs_diff": max_abs_diff,
        "lime_samples": LIME_SAMPLES, "lime_rows": LIME_ROWS, "ours_lime_s_per_row": round(ours_lime, 4),
        "lime_s_per_row": round(lime_raw, 4), "lime_ratio": round(ours_lime / lime_raw, 3),
        "predict_5000_s": round(min(predict_t), 4), "repeats": REPEATS,
        "python": platform.python_version(), "machine": platform.machine(),
    }))


if __name__ == "__main__":
    main()
