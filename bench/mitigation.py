"""Every mitigation method on 25,000 training rows: ``audits.mitigate`` against the library call underneath.

Synthetic rows with a planted bias (seed 0): two groups, a proxy column, a text column, 25,000 to train and
5,000 held out; the original model is ``audits.baseline_model`` (a logistic regression). For each method,
with its default settings, the same fit is made directly through the library it uses:

- reweighing, uniform and preferential sampling: scikit-learn refitting the pipeline on the weighted or
  resampled rows (Glasswing's weights and rows, computed outside the timer);
- correlation_remover: fairlearn's ``CorrelationRemover`` in a scikit-learn pipeline;
- adversarial: fairlearn's ``AdversarialFairnessClassifier`` (PyTorch) on the encoded rows;
- fair_loss: a plain PyTorch loop with fairret's ``NormLoss``;
- threshold_optimizer, exponentiated_gradient: fairlearn's ``ThresholdOptimizer``, ``ExponentiatedGradient``
  (with Glasswing's default bound, ``max_iter=audits.EG_MAX_ITER``).

``ours_s`` includes what the contract adds: predicting and auditing before and after (intervals, adequate
groups) and, for the PyTorch methods, writing and loading the ONNX graph. ``ratio`` = ``ours_s /
reference_s`` (the overhead; lower is better); ``*_cpu_s`` are this process's CPU seconds, steadier than
wall time on a shared machine. PyTorch is held to two threads. One run each.
Prints one JSON line. Run: ``.venv/bin/python bench/mitigation.py`` (``--methods a,b`` for a subset).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
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
from glasswing.audits import _mitigation  # noqa: E402
from glasswing.ingest import ColumnRoles, Dataset  # noqa: E402

N_TRAIN, N_TEST, SEED = 25_000, 5_000, 0


def planted(n: int, seed: int) -> pd.DataFrame:
    """Rows with a planted bias: group "b" is less often positive, ``proxy`` carries the group."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], size=n, p=[0.6, 0.4])
    skill = rng.normal(size=n)
    proxy = (group == "b") + rng.normal(scale=0.5, size=n)
    label = (skill + 1.2 * (group == "a") - 0.6 + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return pd.DataFrame({"group": group, "skill": skill, "proxy": proxy, "tenure": rng.exponential(3, n),
                         "color": rng.choice(["r", "g", "b"], n), "y": label})


def dataset(frame: pd.DataFrame, name: str) -> Dataset:
    roles = ColumnRoles(target="y", sensitive=("group",), features=("skill", "proxy", "tenure", "color"),
                        positive_label=1)
    return Dataset(frame, roles=roles, name=name, sha256=hashlib.sha256(frame.to_csv().encode()).hexdigest())


def timed(fn) -> tuple[float, float]:
    """Return (wall seconds, CPU seconds of this process) of ``fn()``."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def references(model, train: Dataset, test: Dataset) -> dict:
    """Return ``{method: (what, zero-argument callable)}``: the library call underneath each method."""
    from fairlearn.adversarial import AdversarialFairnessClassifier
    from fairlearn.postprocessing import ThresholdOptimizer
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient
    from sklearn.base import clone

    from glasswing.audits import _correlation, _fair_loss
    from glasswing.audits._torch_tabular import TabularEncoding, group_indicators

    X, y, s = train.X, train.y_true, train.frame[["group"]]  # noqa: N806
    X_test = test.X  # noqa: N806
    weights = audits.reweighing_weights(y, s)
    uniform = audits.uniform_sample(y, s, seed=SEED)
    scores = model.predict_proba(X)[:, 1]
    preferential = audits.preferential_sample(y, s, scores, positive=1)
    encoding = TabularEncoding.fit(X)
    encoded = encoding.transform(X)
    onehot, _ = group_indicators(s)
    d = audits.METHODS
    adv, fl = d["adversarial"].defaults, d["fair_loss"].defaults

    def refit(rows=None, **fit):
        est = clone(model.estimator)
        est.fit(X if rows is None else X.iloc[rows], y if rows is None else y.iloc[rows], **fit)
        est.predict(X_test)

    def correlation():
        columns = [*X.columns, "group"]
        pipe = _correlation.correlation_pipeline(columns, train.frame, ["group"], clone(model.estimator[-1]))
        pipe.fit(train.frame[columns], y).predict(test.frame[columns])

    def adversarial():
        AdversarialFairnessClassifier(
            backend="torch", predictor_model=[adv["hidden"], "leaky_relu"], adversary_model=[3, "leaky_relu"],
            constraints="demographic_parity", learning_rate=adv["learning_rate"],
            alpha=adv["adversary_weight"], epochs=adv["epochs"], batch_size=adv["batch_size"], shuffle=True,
            random_state=SEED).fit(encoded, y.to_numpy(), sensitive_features=s["group"].to_numpy())

    def fair_loss():
        _fair_loss.train_fair_loss(encoded, y.to_numpy(), onehot, lam=fl["lam"],
                                   constraint="demographic_parity", epochs=fl["epochs"],
                                   batch_size=fl["batch_size"],
                                   learning_rate=fl["learning_rate"], seed=SEED)

    def threshold():
        scorer = _mitigation._scores_only_class()(model)
        to = ThresholdOptimizer(estimator=scorer, constraints="demographic_parity", prefit=True,
                                predict_method="predict_proba").fit(X, y, sensitive_features=s)
        to.predict(X_test, sensitive_features=test.frame[["group"]], random_state=SEED)

    def expgrad():
        eg = ExponentiatedGradient(clone(model.estimator), constraints=DemographicParity(),
                                   sample_weight_name="model__sample_weight", max_iter=audits.EG_MAX_ITER)
        eg.fit(X, y, sensitive_features=s)
        eg.predict(X_test, random_state=SEED)

    return {
        "reweighing": ("scikit-learn refit with the weights", lambda: refit(model__sample_weight=weights)),
        "uniform_sampling": ("scikit-learn refit on the resampled rows", lambda: refit(uniform)),
        "preferential_sampling": ("scikit-learn refit on the resampled rows", lambda: refit(preferential)),
        "correlation_remover": ("fairlearn CorrelationRemover pipeline", correlation),
        "adversarial": ("fairlearn AdversarialFairnessClassifier (torch)", adversarial),
        "fair_loss": ("plain PyTorch loop with fairret NormLoss", fair_loss),
        "threshold_optimizer": ("fairlearn ThresholdOptimizer", threshold),
        "exponentiated_gradient": ("fairlearn ExponentiatedGradient", expgrad),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(audits.METHODS), help="comma-separated method names")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))  # the two cores the contract is stated for
    train, test = dataset(planted(N_TRAIN, SEED), "train"), dataset(planted(N_TEST, SEED + 1), "test")
    model = audits.baseline_model(train)
    refs = references(model, train, test)
    out = {}
    for method in args.methods.split(","):
        what, reference = refs[method]
        ref_s, ref_cpu = timed(reference)
        start, cpu = time.perf_counter(), time.process_time()
        result = audits.mitigate(model, train, test, method=method)
        ours_s, ours_cpu = time.perf_counter() - start, time.process_time() - cpu
        before, after = result.disparity("demographic_parity_difference")
        out[method] = {"ours_s": round(ours_s, 3), "reference_s": round(ref_s, 3),
                       "ratio": round(ours_s / ref_s, 3), "ours_cpu_s": round(ours_cpu, 3),
                       "reference_cpu_s": round(ref_cpu, 3), "cpu_ratio": round(ours_cpu / ref_cpu, 3),
                       "reference": what,
                       "defaults": audits.METHODS[method].defaults,
                       "dp_difference_before": round(before, 4), "dp_difference_after": round(after, 4),
                       "accuracy_before": round(result.accuracy_before, 4),
                       "accuracy_after": round(result.accuracy_after, 4), "under_a_minute": ours_s < 60}
        print(f"{method}: {ours_s:.1f} s (reference {ref_s:.1f} s)", file=sys.stderr, flush=True)
    print(json.dumps({"bench": "mitigation", "n_train": N_TRAIN, "n_test": N_TEST, "methods": out,
                      "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                      "load_average_1min": round(os.getloadavg()[0], 2),
                      "python": platform.python_version()}))


if __name__ == "__main__":
    main()
