"""LIME for tabular models: a local weighted linear model over perturbed copies of each row.

Categorical features (those an encoder in the pipeline learned, and non-numeric columns) are coded as
category indices and declared to LIME as categorical, so it samples them from their observed frequencies
and never invents in-between values; numeric features are discretised into quartiles (LIME's default).
Each row is explained with a fresh generator seeded by ``seed``, so a row's explanation does not depend on
the batch it came in. Values are weights on the explained class's probability.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from glasswing.explainers._codec import Codec
from glasswing.explainers._explanation import Explanation
from glasswing.explainers._registry import ExplainerError, ExplainerSpec, Param, registry
from glasswing.explainers._rows import sample_rows
from glasswing.explainers._tabular_model import NO_ROWS, tabular_model
from glasswing.explainers._tabular_params import SEED, background_param
from glasswing.explainers._targets import class_labels, target_indices

#: How many rows LIME learns feature statistics (quartiles, category frequencies) from.
LIME_TRAINING_ROWS = 1000

log = logging.getLogger(__name__)


def run(model: Any, inputs: pd.DataFrame, *, target: Any = None, num_samples: int = 5000,
        num_features: int | None = None, seed: int = 0, background: pd.DataFrame | None = None) -> list:
    """Explain each row of ``inputs``; see ``explainers.explain(model, rows, method="lime")``."""
    from lime.lime_tabular import LimeTabularExplainer

    start = time.perf_counter()
    tm = tabular_model(model)
    X = tm.select(inputs)
    if len(X) == 0:
        raise ExplainerError(NO_ROWS)
    training = sample_rows(tm.select(background if background is not None else X), LIME_TRAINING_ROWS, seed)
    codec = Codec(X.columns, [training, X], tm.categories)
    names = list(X.columns)
    explainer = LimeTabularExplainer(
        codec.encode(training), mode="classification", feature_names=names,
        categorical_features=codec.categorical_indices,
        categorical_names={i: [str(v) for v in codec.categories[names[i]]]
                           for i in codec.categorical_indices},
        class_names=[str(c) for c in np.asarray(model.classes_).tolist()],
        discretize_continuous=True, random_state=seed)

    def predict_fn(z: np.ndarray) -> np.ndarray:
        return model.predict_proba(codec.decode(z))

    proba = model.predict_proba(X)
    targets = target_indices(model, target, len(proba), proba)
    k = len(names) if num_features is None else int(num_features)
    params = {"num_samples": num_samples, "num_features": num_features, "seed": seed,
              "training_rows": len(training)}
    rows, data = codec.encode(X), X.to_numpy(dtype=object)
    out = []
    for i in range(len(X)):
        _reseed(explainer, seed)
        t = int(targets[i])
        exp = explainer.explain_instance(rows[i], predict_fn, labels=(t,), num_features=k,
                                         num_samples=num_samples)
        values = np.zeros(len(names))
        for j, weight in exp.as_map()[t]:
            values[j] = weight
        pairs = zip(exp.as_list(label=t), exp.as_map()[t], strict=True)
        rules = {names[j]: rule for (rule, _), (j, _) in pairs}
        out.append(Explanation(
            method="lime", algorithm="LimeTabularExplainer", target=class_labels(model)[t], values=values,
            feature_names=tuple(names), data=data[i], base_value=None, prediction=float(proba[i, t]),
            params=dict(params), reason="LIME fits a weighted linear model on perturbed copies of the row.",
            extras={"intercept": float(exp.intercept[t]),
                    "local_prediction": float(np.ravel(exp.local_pred)[0]),
                    "score": float(exp.score), "rules": rules},
            output="probability"))
    each = (time.perf_counter() - start) / len(X)
    return [replace(e, compute_time=each) for e in out]


def _reseed(explainer: Any, seed: int) -> None:
    """Give the explainer, its discretiser and its regression base one fresh generator seeded ``seed``.

    LIME shares one ``RandomState`` between the three and advances it with every row; resetting it makes
    each row's explanation reproducible on its own.
    """
    rng = np.random.RandomState(seed)
    explainer.random_state = rng
    explainer.base.random_state = rng
    if explainer.discretizer is not None:
        explainer.discretizer.random_state = rng


registry.register(ExplainerSpec(
    name="lime", label="LIME", modalities=("tabular",), order=20, run=run,
    params=(Param("num_samples", 5000, minimum=100, maximum=100_000,
                  help="Perturbed rows the local linear model is fitted on."),
            Param("num_features", None, minimum=1, help="How many features the local model may use "
                                                         "(default: all)."),
            SEED, background_param(f"Rows LIME learns feature statistics from (up to {LIME_TRAINING_ROWS:,} "
                              "sampled); default: the explained rows.")),
    description="A weighted linear model fitted on perturbed copies of the row (categories sampled as "
                "categories); its weights are probability changes."))
