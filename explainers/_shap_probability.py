"""SHAP in probability units for tree ensembles: interventional TreeSHAP against a background sample.

Path-dependent TreeSHAP explains a gradient-boosting model in its own unit, the log-odds. Asked for
probabilities, shap's ``TreeExplainer(model, data=background, model_output="probability",
feature_perturbation="interventional")`` transforms each tree path through the sigmoid exactly, at the
price of a background sample: base value + attributions = the predicted probability of the explained
class (Lundberg et al., 2020, "From local explanations to global understanding with explainable AI for
trees", section "Interventional TreeSHAP").

One precaution makes the additivity exact: shap's tree code compares features with the split thresholds
in single precision, while scikit-learn keeps float64 thresholds (and compares float32 inputs with them).
A threshold that rounds up to a float32 input value sends that row down the other branch in shap, and on
the shipped German GBM base + attributions missed the probability by up to 0.026. Each threshold is
therefore replaced, in a copy of the model, by the largest float32 value not above it, and the inputs and
background are rounded to float32: scikit-learn predicts on float32 inputs, so every decision is
unchanged, and shap's comparisons are then exact (additivity to about 1e-8).
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from glasswing.explainers._registry import ExplainerError
from glasswing.explainers._shap_choice import ALGORITHM_NAMES
from glasswing.explainers._tabular_model import TabularModel
from glasswing.explainers._targets import target_indices

#: The units ``shap``'s ``output`` parameter accepts: the model's own, or probabilities (tree models).
OUTPUTS = ("auto", "probability")
TREES_ONLY = ("SHAP in probability units is available for tree ensembles (interventional TreeSHAP); "
              "{algorithm} explains the log-odds. Choose output 'auto' or a tree model.")
CHUNK_ROWS = 1000


def check_output(output: str, chosen: str) -> None:
    """Refuse probability units for anything but TreeSHAP, in one sentence."""
    if output == "probability" and chosen != "tree":
        raise ExplainerError(TREES_ONLY.format(algorithm=ALGORITHM_NAMES[chosen]))


def tree_probability(tm: TabularModel, X: pd.DataFrame, background: pd.DataFrame, target):
    """Interventional TreeSHAP of the predicted probability: (values, base, prediction, targets, output).

    ``prediction`` is the model's own ``predict_proba`` for the explained class, so base + sum of the
    values = prediction is a real check (shap's additivity holds in probability space here).
    """
    from glasswing.explainers._shap_tabular import shap_module

    shap = shap_module()
    explainer = shap.TreeExplainer(float32_thresholds(tm.final), data=_as_float32(tm.transform(background)),
                                   model_output="probability",
                                   feature_perturbation="interventional")
    ev = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
    parts = []
    for lo in range(0, len(X), CHUNK_ROWS):
        Xt = _as_float32(tm.transform(X.iloc[lo:lo + CHUNK_ROWS]))  # what scikit-learn's trees compare
        sv = np.asarray(explainer.shap_values(Xt, check_additivity=False), dtype=float)
        proba = tm.final.predict_proba(tm.final_input(Xt))
        targets = target_indices(tm.model, target, len(proba), proba)
        rows = np.arange(len(targets))
        if sv.ndim == 2:  # one output: the probability of classes_[1]; classes_[0]'s is one minus it
            first = targets == 0
            values = np.where(first[:, None], -sv, sv)
            base = np.where(first, 1.0 - ev[0], ev[0])
        else:
            values, base = sv[rows, :, targets], ev[targets]
        parts.append((tm.to_features(values), base, proba[rows, targets], targets))
    stacked = tuple(np.concatenate([p[k] for p in parts]) for k in range(4))
    return (*stacked, "probability")


def _as_float32(a: np.ndarray) -> np.ndarray:
    """Round to float32 (as float64): the values scikit-learn's trees compare with their thresholds."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def _floor32(t: np.ndarray) -> np.ndarray:
    """Return the largest float32 value not above each float64 ``t`` (as float64)."""
    t32 = t.astype(np.float32)
    over = t32.astype(np.float64) > t
    t32[over] = np.nextafter(t32[over], np.float32(-np.inf))
    return t32.astype(np.float64)


def _trees(model) -> list:
    if hasattr(model, "tree_"):
        return [model]
    members = np.ravel(np.asarray(getattr(model, "estimators_", []), dtype=object))
    return [e for e in members if hasattr(e, "tree_")]


def float32_thresholds(final):
    """Return a copy of a scikit-learn tree (or ensemble) whose split thresholds are exact float32 values.

    Predictions on float32 inputs (scikit-learn casts every input to float32) are unchanged; see the
    module docstring. Models without trees (``tree_`` or ``estimators_``) are returned as they are.
    """
    if not _trees(final):
        return final
    final = copy.deepcopy(final)
    for est in _trees(final):
        state = est.tree_.__getstate__()
        nodes = state["nodes"].copy()
        split = nodes["left_child"] != -1
        nodes["threshold"][split] = _floor32(nodes["threshold"][split])
        state["nodes"] = nodes
        est.tree_.__setstate__(state)
    return final
