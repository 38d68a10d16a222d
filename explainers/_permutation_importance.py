"""Permutation importance: the model-agnostic global baseline (scikit-learn's ``permutation_importance``)."""

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

    predictor = _predictor_type()(model)
    result = permutation_importance(predictor, X, y, scoring=scoring, n_repeats=n_repeats, random_state=seed)
    baseline = _score(predictor, X, y, scoring)
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
