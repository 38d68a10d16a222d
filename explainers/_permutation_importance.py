"""Permutation importance: the model-agnostic global baseline (scikit-learn's ``permutation_importance``).

For a scikit-learn pipeline whose columns map back to the features (``TabularModel.source``), the
preprocessing runs once instead of once per shuffle. The fitted steps (one-hot encoding, scaling,
imputing) transform each row on its own, so shuffling a feature's values and then preprocessing gives the
rows of the preprocessed matrix with that feature's columns shuffled the same way. scikit-learn is
therefore handed a matrix of row numbers (column ``j`` starts as ``0 .. n-1``): its own loop shuffles them
with its own random numbers, and the predictor gathers each feature's preprocessed columns from those rows
before calling the final estimator. The scores, and so the importances, are those of the whole pipeline on
shuffled raw rows (the tests check them against ``permutation_importance`` on the pipeline itself).
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

import numpy as np
import pandas as pd

from glasswing.explainers._explanation import Explanation
from glasswing.explainers._registry import ExplainerError, ExplainerSpec, Param, registry
from glasswing.explainers._tabular_model import NO_ROWS, tabular_model
from glasswing.explainers._tabular_params import SEED

log = logging.getLogger(__name__)

LABELS_MISMATCH = ("The true labels ({labels}) are not the model's classes ({classes}); give labels the "
                   "model predicts.")
LABELS_LENGTH = "There are {n_labels:,} true labels for {n_rows:,} rows; give one label per row."


@functools.cache
def _predictor_type() -> type:
    """Return the fitted-classifier face for any ``Model`` (imports scikit-learn when first needed)."""
    from sklearn.base import BaseEstimator, ClassifierMixin

    class _Predictor(ClassifierMixin, BaseEstimator):
        """A fitted-classifier face for any ``Model``: scikit-learn's scorers call its ``predict_proba``."""

        def __init__(self, model: Any = None):
            self.model = model

        def fit(self, X, y=None):  # never refitted: the model is explained as it is
            return self

        @property
        def classes_(self) -> np.ndarray:
            return np.asarray(self.model.classes_)

        def predict(self, X):
            return self.model.predict(X)

        def predict_proba(self, X):
            return self.model.predict_proba(X)

    return _Predictor


@functools.cache
def _row_predictor_type() -> type:
    """Return the predictor that reads row numbers (module docstring) and gathers preprocessed rows."""
    from sklearn.base import BaseEstimator, ClassifierMixin

    class _RowPredictor(ClassifierMixin, BaseEstimator):
        """``predict_proba(rows)``: each preprocessed column taken from the row its feature's column names."""

        def __init__(self, tm: Any = None, Xt: Any = None):
            self.tm, self.Xt = tm, Xt

        def fit(self, X, y=None):  # never refitted
            return self

        @property
        def classes_(self) -> np.ndarray:
            return np.asarray(self.tm.model.classes_)

        def predict_proba(self, rows):
            gathered = self.Xt[np.asarray(rows)[:, self.tm.source], np.arange(self.Xt.shape[1])]
            return np.asarray(self.tm.final.predict_proba(self.tm.final_input(gathered)), dtype=float)

        def predict(self, rows):  # as ``Model.predict``: the most probable of the model's classes
            return self.classes_[np.argmax(self.predict_proba(rows), axis=1)]

    return _RowPredictor


def _predictor_and_inputs(model: Any, tm: Any, X: pd.DataFrame) -> tuple[Any, Any]:
    """Return the predictor sklearn scores and the table it shuffles (row numbers when columns map back)."""
    if tm.pre is None or tm.final is None or tm.source is None or not hasattr(tm.final, "predict_proba"):
        return _predictor_type()(model), X
    try:
        Xt = tm.transform(X)
    except Exception:  # the model's own call below fails the same way and says so in one sentence
        log.debug("preprocessing failed; permutation importance takes the whole-model path", exc_info=True)
        return _predictor_type()(model), X
    if Xt.shape[1] != len(tm.source):
        return _predictor_type()(model), X
    rows = np.repeat(np.arange(len(X))[:, None], X.shape[1], axis=1)
    return _row_predictor_type()(tm, Xt), rows


def run(model: Any, inputs: pd.DataFrame, *, target: Any = None, n_repeats: int = 5,
        scoring: str = "accuracy", seed: int = 0, y_true: Any = None) -> list:
    """Return one global ``Explanation``: the mean score drop per feature (``extras["std"]`` its spread)."""
    start = time.perf_counter()
    tm = tabular_model(model)
    X = tm.select(inputs)
    if len(X) == 0:
        raise ExplainerError(NO_ROWS)
    if y_true is None:
        y, labels = model.predict(X), "the model's own predictions"
    else:
        y, labels = np.asarray(y_true), "the true labels"
        if len(y) != len(X):
            raise ExplainerError(LABELS_LENGTH.format(n_labels=len(y), n_rows=len(X)))
        unknown = set(pd.unique(y).tolist()) - set(np.asarray(model.classes_).tolist())
        if unknown:
            raise ExplainerError(LABELS_MISMATCH.format(labels=", ".join(sorted(map(str, unknown))),
                                                        classes=", ".join(map(str, model.classes_))))
    from sklearn.inspection import permutation_importance

    predictor, shuffled = _predictor_and_inputs(model, tm, X)
    result = permutation_importance(predictor, shuffled, y, scoring=scoring, n_repeats=n_repeats,
                                    random_state=seed)
    baseline = _score(predictor, shuffled, y, scoring)
    return [Explanation(
        method="permutation_importance", algorithm="sklearn.inspection.permutation_importance", target=None,
        values=np.asarray(result.importances_mean, dtype=float), feature_names=tuple(X.columns),
        params={"n_repeats": n_repeats, "scoring": scoring, "seed": seed},
        compute_time=time.perf_counter() - start,
        reason=f"Each feature's values are shuffled {n_repeats} times across {len(X):,} rows; the score is "
               f"measured against {labels}.",
        extras={"std": np.asarray(result.importances_std, dtype=float), "importances": result.importances,
                "n_rows": len(X), "labels": labels, "baseline_score": baseline},
        output=f"{scoring.removeprefix('neg_').replace('_', ' ')} drop")]


def _score(predictor: Any, X: pd.DataFrame, y: np.ndarray, scoring: str) -> float:
    from sklearn.metrics import get_scorer

    return float(get_scorer(scoring)(predictor, X, y))


registry.register(ExplainerSpec(
    name="permutation_importance", label="Permutation importance", modalities=("tabular",), order=30,
    scope="global", run=run,
    params=(Param("n_repeats", 5, minimum=1, maximum=100, help="Shuffles per feature."),
            Param("scoring", "accuracy", choices=("accuracy", "balanced_accuracy", "neg_log_loss"),
                  help="The score whose drop measures a feature's importance."),
            SEED, Param("y_true", None, widget=False,
                        help="True labels of the rows; default: the model's own predictions (then the "
                             "drop says how much the model relies on the feature).")),
    description="Model-agnostic and global: how much the score drops when one feature's values are "
                "shuffled across the rows (scikit-learn's permutation_importance)."))
