"""SHAP for tabular models: TreeExplainer, LinearExplainer, or Permutation/Kernel on predictions.

Output spaces (stated in ``Explanation.output``; additivity holds in that space):

- tree: the trees' own unit, ``"log-odds"`` for gradient boosting (``"margin"`` with more than two
  classes), ``"probability"`` for random forests and single trees;
- linear: ``"log-odds"`` (``"margin"``, the softmax logit, with more than two classes);
- permutation and kernel: ``"log-odds"`` of the explained class, ``log(p / (1 - p))``;
- ``output="probability"`` (tree models): ``"probability"``, interventional TreeSHAP against a background
  sample (``explainers._shap_probability``).

``prediction`` is computed from the model itself in that space (``decision_function`` or
``predict_proba``), not from the attributions, so base value + attributions = prediction is a real check.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from glasswing.explainers._codec import Codec
from glasswing.explainers._explanation import Explanation
from glasswing.explainers._registry import ExplainerError, ExplainerSpec, Param, registry
from glasswing.explainers._rows import sample_rows
from glasswing.explainers._shap_choice import (
    ALGORITHM_NAMES,
    SHAP_ALGORITHMS,
    TREE_ENSEMBLES,
    choose_algorithm,
)
from glasswing.explainers._shap_probability import OUTPUTS, check_output, tree_probability
from glasswing.explainers._tabular_model import NO_ROWS, TabularModel, logit, tabular_model
from glasswing.explainers._tabular_params import SEED, background_param
from glasswing.explainers._targets import class_labels, target_indices

log = logging.getLogger(__name__)


def shap_module():
    """Import shap (a heavy import, done when an explanation is first computed) with its warnings silenced."""
    with warnings.catch_warnings():
        # shap 0.51 calls Colormap.set_bad/_over/_under at import; matplotlib marks them pending deprecation.
        warnings.filterwarnings("ignore", message=r"The set_(bad|over|under) function",
                                category=PendingDeprecationWarning)
        # In a notebook without ipywidgets, shap's `tqdm.auto` import warns on every first explanation.
        warnings.filterwarnings("ignore", message=r"IProgress not found", category=Warning)  # TqdmWarning
        import shap
    return shap

PROBABILITY_REASON = (" In probability units: interventional TreeSHAP against the background sample, so "
                      "base value + attributions = the predicted probability.")
#: Rows per TreeExplainer / LinearExplainer call (bounds memory on large batches).
CHUNK_ROWS = 2000


def run(model: Any, inputs: pd.DataFrame, *, target: Any = None, algorithm: str = "auto",
        background_size: int = 100, seed: int = 0, background: pd.DataFrame | None = None,
        output: str = "auto") -> list:
    """Explain each row of ``inputs``; see ``explainers.explain(model, rows, method="shap")``."""
    start = time.perf_counter()
    tm = tabular_model(model)
    X = tm.select(inputs)
    if len(X) == 0:
        raise ExplainerError(NO_ROWS)
    chosen, reason = choose_algorithm(tm, algorithm)
    params = {"algorithm": algorithm, "background_size": background_size, "seed": seed, "output": output}
    check_output(output, chosen)
    # Path-dependent tree SHAP takes its background from the trees' training cover; the rest sample one.
    if chosen != "tree" or output == "probability":
        bg = sample_rows(tm.select(background if background is not None else X), background_size, seed)
        params["background_rows"] = len(bg)
    if chosen == "tree" and output == "probability":
        values, base, pred, targets, output = tree_probability(tm, X, bg, target)
        params["feature_perturbation"] = "interventional"
        reason += PROBABILITY_REASON
    elif chosen == "tree":
        values, base, pred, targets, output = _tree(tm, X, target)
        params["feature_perturbation"] = "tree_path_dependent"
    elif chosen == "linear":
        values, base, pred, targets, output = _linear(tm, X, bg, target)
        params["feature_perturbation"] = "interventional"
    else:
        values, base, pred, targets, output = _black_box(tm, X, bg, target, chosen, seed)
    each = (time.perf_counter() - start) / len(X)
    algo, labels, names = ALGORITHM_NAMES[chosen], class_labels(model), tuple(X.columns)
    rows = zip(targets.tolist(), values, X.to_numpy(dtype=object), base.tolist(), pred.tolist(), strict=True)
    return Explanation.many(({"target": labels[t], "values": v, "data": d, "base_value": b, "prediction": p}
                             for t, v, d, b, p in rows),
                            method="shap", algorithm=algo, feature_names=names, params=params,
                            compute_time=each, reason=reason, output=output)


def _per_class(sv: np.ndarray, ev: Any, decision: np.ndarray | None, targets: np.ndarray,
               proba: np.ndarray | None):
    """Pick each row's target output from shap's values (one output, or one per class).

    One output (binary models): shap explains the second class; the first class's log-odds are the
    negative. ``decision`` is the model's own score in the same space.
    """
    ev = np.atleast_1d(np.asarray(ev, dtype=float))
    rows = np.arange(len(targets))
    if sv.ndim == 2:  # a single output: the log-odds of classes_[1]
        sign = np.where(targets == 1, 1.0, -1.0)
        values = sv * sign[:, None]
        base = ev[0] * sign
        score = decision if decision.ndim == 1 else decision[:, -1]
        return values, base, score * sign
    values = sv[rows, :, targets]
    base = ev[targets]
    own = proba if proba is not None else decision
    return values, base, own[rows, targets]


def _tree(tm: TabularModel, X: pd.DataFrame, target: Any):
    shap = shap_module()
    explainer = shap.TreeExplainer(tm.final)
    unit = TREE_ENSEMBLES[tm.final_name]
    n_classes = len(tm.model.classes_)
    parts = []
    for lo in range(0, len(X), CHUNK_ROWS):
        Xt = tm.transform(X.iloc[lo:lo + CHUNK_ROWS])
        # Additivity is checked by Glasswing's tests against the model's own output, not on every call.
        sv = np.asarray(explainer.shap_values(Xt, check_additivity=False), dtype=float)
        if unit == "probability":
            proba = tm.final.predict_proba(tm.final_input(Xt))
            decision = None
        else:
            decision = np.asarray(tm.final.decision_function(tm.final_input(Xt)), dtype=float)
            proba = _proba_from_decision(decision)
        targets = target_indices(tm.model, target, len(proba), proba)
        values, base, pred = _per_class(sv, explainer.expected_value, decision, targets,
                                        proba if unit == "probability" else None)
        parts.append((tm.to_features(values), base, pred, targets))
    output = unit if unit == "probability" or n_classes == 2 else "margin"
    return (*_stack(parts), output)


def _proba_from_decision(decision: np.ndarray) -> np.ndarray:
    """Class probabilities of a log-odds (binary) or softmax-logit (multiclass) score, for argmax only."""
    if decision.ndim == 1:
        p = 1.0 / (1.0 + np.exp(-decision))
        return np.column_stack([1.0 - p, p])
    return decision  # argmax of logits = argmax of the softmax


def _linear(tm: TabularModel, X: pd.DataFrame, bg: pd.DataFrame, target: Any):
    shap = shap_module()
    bg_t = tm.transform(bg)
    masker = shap.maskers.Independent(bg_t, max_samples=len(bg_t))
    explainer = shap.LinearExplainer(tm.final, masker)
    parts = []
    for lo in range(0, len(X), CHUNK_ROWS):
        Xt = tm.transform(X.iloc[lo:lo + CHUNK_ROWS])
        sv = np.asarray(explainer.shap_values(Xt), dtype=float)
        decision = np.asarray(tm.final.decision_function(tm.final_input(Xt)), dtype=float)
        scores = _proba_from_decision(decision)
        targets = target_indices(tm.model, target, len(scores), scores)
        values, base, pred = _per_class(sv, explainer.expected_value, decision, targets, None)
        parts.append((tm.to_features(values), base, pred, targets))
    output = "log-odds" if len(tm.model.classes_) == 2 else "margin"
    return (*_stack(parts), output)


def _stack(parts):
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(4))


def _black_box(tm: TabularModel, X: pd.DataFrame, bg: pd.DataFrame, target: Any, algorithm: str, seed: int):
    shap = shap_module()
    """Permutation or Kernel SHAP on the log-odds of ``predict_proba``, categories coded as numbers."""
    codec = Codec(X.columns, [bg, X], tm.categories)
    Z, Zbg = codec.encode(X), codec.encode(bg)
    proba = tm.model.predict_proba(X)
    targets = target_indices(tm.model, target, len(proba), proba)
    pred = logit(proba[np.arange(len(X)), targets])
    values = np.zeros(Z.shape)
    base = np.zeros(len(X))
    state = np.random.get_state()  # shap seeds numpy's global generator; leave it as we found it
    try:
        for t in np.unique(targets):
            def f(z, t=t):
                return logit(tm.model.predict_proba(codec.decode(z))[:, t])

            rows = np.flatnonzero(targets == t)
            if algorithm == "permutation":
                explainer = shap.PermutationExplainer(f, shap.maskers.Independent(Zbg, max_samples=len(Zbg)))
                for i in rows:  # seeded per row: a row's values do not depend on the batch it came in
                    np.random.seed(seed)
                    out = explainer(Z[i:i + 1], silent=True)
                    values[i], base[i] = out.values[0], np.ravel(out.base_values)[0]
            else:
                explainer = shap.KernelExplainer(f, Zbg)
                for i in rows:
                    np.random.seed(seed)
                    sv = explainer.shap_values(Z[i:i + 1], silent=True, l1_reg=False)
                    values[i] = np.asarray(sv).reshape(-1)
                    base[i] = float(np.ravel(explainer.expected_value)[0])
    finally:
        np.random.set_state(state)
    return values, base, pred, targets, "log-odds"


registry.register(ExplainerSpec(
    name="shap", label="SHAP", modalities=("tabular",), order=10, run=run,
    params=(Param("algorithm", "auto", choices=SHAP_ALGORITHMS,
                  help="auto: TreeExplainer for tree ensembles, LinearExplainer for logistic regression, "
                       "else the Permutation explainer; or force one."),
            Param("background_size", 100, minimum=10, maximum=2000,
                  help="Rows sampled (seeded) from the background for linear, permutation and kernel SHAP."),
            Param("output", "auto", choices=OUTPUTS,
                  help="auto: the model's own unit (log-odds for boosting); probability: interventional "
                       "TreeSHAP against the background sample, in probability units (tree models)."),
            SEED, background_param("Rows the background is sampled from (a DataFrame); default: the "
                                   "explained rows.")),
    description="Shapley values: each feature's share of the gap between the average output and this row's. "
                "Base value + attributions = the model's output for the row."))
