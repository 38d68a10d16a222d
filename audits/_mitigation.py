"""Bias mitigation compared before and after: one contract for every method, from resampling to thresholds.

``mitigate(model, train, test, method=..., constraint=...)`` fits a mitigated predictor on the training
data and evaluates the original and the mitigated predictor on the held-out data with the same group
metrics. The three methods act at different stages:

- ``reweighing`` (pre-processing): Kamiran & Calders weights, then a clone of the scikit-learn model is
  retrained with them (for a pipeline the weights go to the final step).
- ``threshold_optimizer`` (post-processing, fairlearn): group-specific thresholds on the model's scores.
  It needs only ``predict_proba``, so it works for every tabular model, ONNX included.
- ``exponentiated_gradient`` (reductions, fairlearn): a randomised mixture of retrained models that
  satisfies the constraint on the training data.
- ``uniform_sampling`` and ``preferential_sampling`` (pre-processing, ``audits._resampling``): a training
  set in which label and group are independent, then a retrained clone.
- ``correlation_remover`` (pre-processing, fairlearn, ``audits._correlation``): a retrained pipeline that
  removes the linear correlation of the columns with the sensitive ones.
- ``adversarial`` (in-processing, fairlearn's PyTorch ``AdversarialFairnessClassifier``,
  ``audits._adversarial``) and ``fair_loss`` (cross-entropy plus a fairret penalty, ``audits._fair_loss``):
  new PyTorch networks, exported as ONNX graphs that take the original columns.

Every method is fitted on the training rows and measured on the same held-out rows: accuracy, AUC where the
mitigated predictor has scores, and every disparity with its interval, headlines on adequate groups.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from glasswing.audits._metrics import group_metrics
from glasswing.audits._result import GroupMetrics
from glasswing.audits._reweighing import MitigationError, Reweighing
from glasswing.ingest import Dataset, Model

log = logging.getLogger(__name__)

#: Fairness constraints by name, with the sentence shown next to them.
CONSTRAINTS: dict[str, str] = {
    "demographic_parity": "Demographic parity: equal selection rates across groups",
    "equalized_odds": "Equalized odds: equal true- and false-positive rates across groups",
    "true_positive_rate_parity": "Equal opportunity: equal true-positive rates across groups",
    "false_positive_rate_parity": "Equal false-positive rates across groups",
    "true_negative_rate_parity": "Equal true-negative rates across groups",
    "false_negative_rate_parity": "Equal false-negative rates across groups",
    "error_rate_parity": "Equal error rates across groups",
}

#: The summary disparity that measures each constraint (``GroupMetrics.summary()`` keys or a
#: ``difference()`` column).
CONSTRAINT_DISPARITY: dict[str, str] = {
    "demographic_parity": "demographic_parity_difference",
    "equalized_odds": "equalized_odds_difference",
    "true_positive_rate_parity": "true_positive_rate",
    "false_positive_rate_parity": "false_positive_rate",
    "true_negative_rate_parity": "true_negative_rate",
    "false_negative_rate_parity": "false_negative_rate",
    "error_rate_parity": "accuracy",
}

UNKNOWN_METHOD = "Unknown mitigation method '{method}'; choose one of: {valid}."
UNKNOWN_CONSTRAINT = "Unknown constraint '{constraint}'; choose one of: {valid}."
CONSTRAINT_NOT_APPLICABLE = "The constraint '{constraint}' does not apply to {label}; choose one of: {valid}."
NO_MODEL = "Mitigation needs a model; load one on the Model & data page."
IMAGE_MODEL = "Mitigation works on tabular models; the loaded model classifies images."
NOT_BINARY_MODEL = "Mitigation needs a binary classifier; the model has {n} classes ({classes})."
CANNOT_RETRAIN_KIND = ("{label} retrains the model, and a {kind} model cannot be retrained here; use the "
                       "threshold optimizer (post-processing), which needs only the model's scores.")
NO_SAMPLE_WEIGHT = ("{label} retrains the model with sample weights, but {estimator}.fit takes no "
                    "sample_weight; use the threshold optimizer (post-processing), which needs only the "
                    "model's scores.")
NO_TARGET = "The {which} data has no target column; choose one on the Model & data page."
NO_SENSITIVE = "The {which} data has no sensitive column; choose at least one on the Model & data page."
MISSING_COLUMNS = "The {which} data lacks the column(s) {missing}; it has: {available}."
NOT_BINARY_TARGET = "Mitigation needs two label values; '{target}' has {n}: {values}."
LABEL_MISMATCH = ("The model predicts {classes}, but '{target}' holds {values}; the model and the data "
                  "must use the same labels.")
TOO_SMALL = "The {which} data has {n} rows; mitigation needs at least {minimum}."
UNKNOWN_PARAM = "{label} has no parameter '{name}'; its parameters are: {valid}."
NO_PARAMS = "{label} takes no parameters; remove '{name}'."
BAD_PARAM = "Parameter '{name}' of {label} must be {kind}; got '{value}'."
NO_EXPORT = {
    "threshold_optimizer": ("The threshold optimizer keeps the original model and needs each row's group at "
                            "prediction time, so there is no stand-alone model to export."),
    "exponentiated_gradient": ("Exponentiated gradient gives a randomised mixture of retrained models, not "
                               "one model to export."),
}
MIN_ROWS = 10
BAD_MAX_ITER = "The number of iterations must be a whole number of at least 1; got {value!r}."
STOPPED = ("Stopped after {done} of at most {total} iterations ({fits} fits of the model); nothing was "
           "kept.")
EG_PROGRESS = "Iteration {done} of at most {total} done ({fits} fits of the model){estimate}"
EG_ESTIMATE = "; at most about {seconds} left"

#: Exponentiated gradient's default bound on its iterations (one to nine refits of the model each).
#: Fairlearn's own default, 50, refitted a HistGradientBoosting model for 25+ minutes on 22,792 rows on
#: 2 busy cores; 10 bounds the default run, and the user can ask for the full run (:data:`EG_FULL_MAX_ITER`).
EG_MAX_ITER = 10
EG_FULL_MAX_ITER = 50


class MitigationStopped(MitigationError):
    """The user stopped a long mitigation run (``stop()`` returned True between two fits)."""


@dataclass(frozen=True)
class MitigationMethod:
    """One mitigation method: what it is, which constraints it accepts, and when it cannot run."""

    name: str
    label: str
    stage: str
    constraints: tuple[str, ...]
    retrains: bool
    description: str
    changes: str = "the training"
    params: tuple[tuple[str, Any, str], ...] = ()
    sample_weight: bool = True
    label_param: str | None = None
    export: str | None = ".skops"

    @property
    def defaults(self) -> dict:
        """The method's parameters with their defaults (``mitigate(params=...)`` overrides them)."""
        return {name: default for name, default, _ in self.params}

    def why_not(self, model: Model | None) -> str | None:
        """Return why this method cannot run on ``model`` (one sentence), or None when it can."""
        if model is None:
            return NO_MODEL
        if model.modality != "tabular":
            return IMAGE_MODEL
        if len(model.classes_) != 2:
            return NOT_BINARY_MODEL.format(n=len(model.classes_),
                                           classes=", ".join(map(str, model.classes_)))
        if self.retrains and model.kind != "sklearn":
            return CANNOT_RETRAIN_KIND.format(label=self.label, kind=_KIND_NAMES.get(model.kind, model.kind))
        if self.retrains and self.sample_weight and not model.supports_sample_weight:
            final = type(_final_step(model.estimator)).__name__
            return NO_SAMPLE_WEIGHT.format(label=self.label, estimator=final)
        return None


_KIND_NAMES = {"onnx": "ONNX", "torch": "PyTorch", "torchscript": "TorchScript"}

#: The methods, in the order the dashboard offers them.
METHODS: dict[str, MitigationMethod] = {m.name: m for m in (
    MitigationMethod(
        "reweighing", "Reweighing", "pre-processing", ("demographic_parity",), True,
        "Weights each (group, label) so that label and group are independent in the training data, "
        "then retrains the model with those weights (Kamiran & Calders)."),
    MitigationMethod(
        "threshold_optimizer", "Threshold optimizer", "post-processing",
        ("demographic_parity", "equalized_odds", "true_positive_rate_parity", "false_positive_rate_parity",
         "true_negative_rate_parity", "false_negative_rate_parity"), False,
        "Keeps the model and picks a (randomised) threshold on its scores for each group (fairlearn; "
        "Hardt et al.). Needs only the model's scores, and the group of each row at prediction time."),
    MitigationMethod(
        "exponentiated_gradient", "Exponentiated gradient", "in-processing (reductions)",
        ("demographic_parity", "equalized_odds", "true_positive_rate_parity", "false_positive_rate_parity",
         "error_rate_parity"), True,
        "Retrains the model many times with reweighted, relabelled data and mixes the results into a "
        "randomised classifier that meets the constraint (fairlearn; Agarwal et al.)."),
)}
#: What each of the first three changes (the later entries state it themselves).
METHODS.update({name: replace(METHODS[name], changes=changes) for name, changes in (
    ("reweighing", "the data (row weights)"), ("threshold_optimizer", "the decisions"),
    ("exponentiated_gradient", "the training"))})
for _name in ("threshold_optimizer", "exponentiated_gradient"):  # no stand-alone model to export
    METHODS[_name] = replace(METHODS[_name], export=None)
_ADVERSARIAL_PARAMS = (
    ("epochs", 10, "passes over the training rows"),
    ("adversary_weight", 1.0, "fairlearn's alpha: how strongly the adversary's gradient is projected away"),
    ("hidden", 32, "leaky-ReLU units of the predictor's hidden layer"),
    ("batch_size", 128, "rows per gradient step"),
    ("learning_rate", 0.01, "Adam's learning rate"))
_FAIR_LOSS_PARAMS = (
    ("lam", 1.0, "weight of the fairness penalty (0: plain cross-entropy)"),
    ("architecture", "logistic", "logistic (regression) or mlp (one hidden layer of 32 ReLU units)"),
    ("epochs", 30, "passes over the training rows"),
    ("batch_size", 1024, "rows per gradient step"),
    ("learning_rate", 0.01, "Adam's learning rate"))
METHODS.update({m.name: m for m in (
    MitigationMethod(
        "uniform_sampling", "Uniform sampling", "pre-processing", ("demographic_parity",), True,
        "Draws every (group, label) cell of the training data with replacement to the size it would have "
        "if label and group were independent, then retrains the model (Kamiran & Calders).",
        changes="the data (rows resampled)", sample_weight=False),
    MitigationMethod(
        "preferential_sampling", "Preferential sampling", "pre-processing", ("demographic_parity",), True,
        "Brings every (group, label) cell to its expected size by dropping or duplicating the rows closest "
        "to the decision boundary first (ranked by the loaded model's scores), then retrains the model "
        "(Kamiran & Calders).", changes="the data (rows resampled)", sample_weight=False),
    MitigationMethod(
        "correlation_remover", "Correlation remover", "pre-processing", ("demographic_parity",), True,
        "Removes the linear correlation of the other columns with the sensitive ones inside the retrained "
        "pipeline (fairlearn's CorrelationRemover; alpha 1 removes it in full), so the mitigated model "
        "takes the original columns.", changes="the data (columns decorrelated)",
        params=(("alpha", 1.0, "share of the correlation removed, 0 to 1"),), sample_weight=False,
        label_param="alpha"),
    MitigationMethod(
        "adversarial", "Adversarial debiasing", "in-processing", ("demographic_parity", "equalized_odds"),
        False,
        "Trains a new PyTorch network while an adversary tries to recover the group from its output "
        "(fairlearn's AdversarialFairnessClassifier; Zhang, Lemoine & Mitchell).",
        params=_ADVERSARIAL_PARAMS, label_param="adversary_weight", export=".onnx"),
    MitigationMethod(
        "fair_loss", "Fairness-regularised loss", "in-processing", ("demographic_parity", "equalized_odds"),
        False,
        "Trains a new PyTorch logistic regression or small MLP on cross-entropy plus lambda times a "
        "differentiable fairness penalty (fairret's NormLoss on the positive rate, or on the true- and "
        "false-positive rates).", params=_FAIR_LOSS_PARAMS, label_param="lam", export=".onnx"),
)})


def method_params(method: str, params: dict | None = None) -> dict:
    """Return the method's parameters: its defaults overridden by ``params`` (text converted).

    Parameters
    ----------
    method : str
        A key of :data:`METHODS`.
    params : dict, optional
        ``{name: value}``; values may be text (``"0.5"``, ``"mlp"``) as the command line gives them.

    Returns
    -------
    dict

    Raises
    ------
    MitigationError
        For a name the method does not take, or a value of the wrong kind.

    Examples
    --------
    >>> method_params("fair_loss", {"lam": "0.5"})["lam"]
    0.5
    """
    spec = METHODS[method]
    out = spec.defaults
    for name, value in (params or {}).items():
        if name not in out:
            if not out:
                raise MitigationError(NO_PARAMS.format(label=spec.label, name=name))
            raise MitigationError(UNKNOWN_PARAM.format(label=spec.label, name=name, valid=", ".join(out)))
        kind = type(out[name])
        try:
            converted = kind(value)
        except (TypeError, ValueError):
            converted = None
        if converted is None or (kind is int and float(value) != converted):
            raise MitigationError(BAD_PARAM.format(name=name, label=spec.label, value=value,
                                                   kind={int: "a whole number", float: "a number"}.get(
                                                       kind, "text")))
        out[name] = converted
    return out


@dataclass(frozen=True, eq=False)
class MitigationResult:
    """A mitigation run: the original and the mitigated predictor measured on the same held-out rows.

    Attributes
    ----------
    method, constraint : str
    before, after : GroupMetrics
        Group metrics of the original and of the mitigated predictions on the test data.
    accuracy_before, accuracy_after : float
    y_pred_before, y_pred_after : numpy.ndarray
        Predicted labels on the test data.
    estimator : object
        The mitigated predictor: a retrained scikit-learn estimator (reweighing), a fairlearn
        ``ThresholdOptimizer`` or ``ExponentiatedGradient``.
    model : ingest.Model or None
        For reweighing, the retrained estimator as a ``Model`` (it predicts without sensitive features).
    weights : numpy.ndarray or None
        The training weights (reweighing).
    weights_by_group : pandas.DataFrame or None
        The weight of each (group, label) (reweighing).
    params : dict
        The settings used (seed, sensitive columns, positive label, ...; for exponentiated gradient the
        iteration bound, the iterations run and the refits made).
    compute_time : float
        Seconds spent fitting and evaluating.
    n_train : pandas.Series or None
        Training rows in each group, indexed like ``before.by_group`` (0 where a group has none).
    """

    method: str
    constraint: str
    before: GroupMetrics
    after: GroupMetrics
    accuracy_before: float
    accuracy_after: float
    y_pred_before: np.ndarray
    y_pred_after: np.ndarray
    estimator: Any
    model: Model | None = None
    weights: np.ndarray | None = None
    weights_by_group: pd.DataFrame | None = None
    params: dict = field(default_factory=dict)
    compute_time: float = 0.0
    n_train: pd.Series | None = None
    score_before: np.ndarray | None = None
    score_after: np.ndarray | None = None
    artifact: bytes | None = None
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """A short display name: method, constraint and the method's main setting (the sweep's lambda)."""
        spec = METHODS[self.method]
        setting = ""
        if spec.label_param and spec.label_param in self.params:
            value = self.params[spec.label_param]
            name = "λ" if spec.label_param == "lam" else spec.label_param.replace("_", " ")
            setting = f", {name} = {value:g}" if isinstance(value, float) else f", {name} = {value}"
            if self.method == "fair_loss" and self.params.get("architecture") != "logistic":
                setting += f", {self.params.get('architecture')}"
        return f"{spec.label} ({self.constraint.replace('_', ' ')}{setting})"

    @property
    def changes(self) -> str:
        """What the method changes: the data, the training or the decisions."""
        return METHODS[self.method].changes

    def export(self) -> tuple[bytes, str]:
        """Return the mitigated model as safe bytes and their file suffix: ``.skops`` or ``.onnx``.

        scikit-learn models (reweighing, resampling, correlation remover) are skops files; the PyTorch
        networks are ONNX graphs that take the original columns. Both load with ``ingest.load_model``.

        Raises
        ------
        MitigationError
            For the threshold optimizer and exponentiated gradient, which give no stand-alone model.
        """
        if self.artifact is not None:
            return self.artifact, ".onnx"
        if self.model is None or self.model.kind != "sklearn":
            raise MitigationError(NO_EXPORT.get(self.method, NO_EXPORT["exponentiated_gradient"]))
        import skops.io

        return skops.io.dumps(self.model.estimator), ".skops"

    def disparity(self, name: str | None = None) -> tuple[float, float]:
        """Return a disparity (before, after): a ``summary()`` key or a metric's between-group difference.

        The default is the disparity that the run's constraint targets.
        """
        name = name or CONSTRAINT_DISPARITY[self.constraint]
        return _disparity(self.before, name), _disparity(self.after, name)

    def _repr_html_(self) -> str:
        """Notebook display: before and after on the same held-out rows (``reports._notebook``)."""
        from glasswing.reports._notebook import mitigation_html

        return mitigation_html(self)

    def summary(self) -> dict:
        """One flat row for tables and the accuracy-vs-disparity chart (plain Python values)."""
        row = {"label": self.label, "method": self.method, "constraint": self.constraint,
               "accuracy_before": self.accuracy_before, "accuracy_after": self.accuracy_after,
               "compute_time": self.compute_time, "changes": self.changes,
               "params": {k: self.params[k] for k in METHODS[self.method].defaults if k in self.params}}
        for which, metrics in (("before", self.before), ("after", self.after)):
            auc = metrics.overall.get("auc")
            row[f"auc_{which}"] = None if auc is None or auc != auc else float(auc)
        for key in ("demographic_parity_difference", "equalized_odds_difference"):
            row[f"{key}_before"], row[f"{key}_after"] = self.disparity(key)
            for which, metrics in (("before", self.before), ("after", self.after)):
                row[f"{key}_{which}_low"], row[f"{key}_{which}_high"] = _interval(metrics, key)
        return row


def _interval(metrics: GroupMetrics, name: str) -> tuple[float, float]:
    """Return the headline interval (low, high) of a summary disparity; NaN when undefined."""
    table = metrics.headline().disparities
    if name not in table.index:
        return float("nan"), float("nan")
    low, high = table.loc[name, "low"], table.loc[name, "high"]
    return (float("nan") if low is None else float(low)), (float("nan") if high is None else float(high))


def _disparity(metrics: GroupMetrics, name: str) -> float:
    """Return a headline disparity (adequate groups; NaN when fewer than two qualify) or a difference."""
    summary = metrics.headline().summary
    if name in summary:
        return float("nan") if summary[name] is None else float(summary[name])
    return float(metrics.difference()[name])


@functools.cache
def _scores_only_class() -> type:
    """Return ``ScoresOnly``, defined on first use so that importing ``audits`` does not import sklearn."""
    from sklearn.base import BaseEstimator, ClassifierMixin

    class ScoresOnly(ClassifierMixin, BaseEstimator):
        """A prefit scikit-learn view of any tabular ``ingest.Model``: fairlearn reads its scores only."""

        def __init__(self, model: Model | None = None, positive_index: int = 1):
            self.model = model
            self.positive_index = positive_index

        def __sklearn_is_fitted__(self) -> bool:
            return True

        @property
        def classes_(self) -> np.ndarray:
            return np.array([0, 1])

        def fit(self, X, y, **kwargs):  # noqa: D102 - prefit: never refitted
            return self

        def predict_proba(self, X) -> np.ndarray:  # noqa: D102
            p = self.model.predict_proba(X)[:, self.positive_index]
            return np.column_stack([1.0 - p, p])

        def predict(self, X) -> np.ndarray:  # noqa: D102
            return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    return ScoresOnly


def _final_step(estimator: Any) -> Any:
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def _weight_param(estimator: Any) -> str:
    """Return the ``fit`` keyword that reaches the final estimator's ``sample_weight``."""
    return f"{estimator.steps[-1][0]}__sample_weight" if hasattr(estimator, "steps") else "sample_weight"


def _seeded_clone(estimator: Any, seed: int) -> Any:
    """Return a clone with every unset ``random_state`` set to ``seed`` (the model's own seeds stay)."""
    from sklearn.base import clone

    est = clone(estimator)
    unset = {k: seed for k, v in est.get_params().items() if k.endswith("random_state") and v is None}
    return est.set_params(**unset) if unset else est


def _check_data(data: Dataset, which: str, features: list[str], sensitive: list[str]) -> None:
    if data.roles.target is None:
        raise MitigationError(NO_TARGET.format(which=which))
    needed = [*features, *sensitive, data.roles.target]
    missing = [c for c in dict.fromkeys(needed) if c not in data.frame.columns]
    if missing:
        raise MitigationError(MISSING_COLUMNS.format(which=which, missing=", ".join(map(repr, missing)),
                                                     available=", ".join(map(str, data.frame.columns))))
    if len(data) < MIN_ROWS:
        raise MitigationError(TOO_SMALL.format(which=which, n=len(data), minimum=MIN_ROWS))


@dataclass(frozen=True)
class _Task:
    """What every fitter needs: the model, the training and test rows, the labels and the settings."""

    model: Model
    train: Dataset
    features: list
    X_train: pd.DataFrame
    y_train: pd.Series
    s_train: pd.DataFrame
    X_test: pd.DataFrame
    s_test: pd.DataFrame
    positive: Any
    negative: Any
    classes: list
    constraint: str
    seed: int
    report: Callable[[float, str], None]
    max_iter: int = EG_MAX_ITER
    stop: Callable[[], bool] | None = None
    params: dict = field(default_factory=dict)
    test_frame: pd.DataFrame | None = None

    def as_labels(self, pred01) -> np.ndarray:
        """Return fairlearn's 0/1 predictions as the model's labels."""
        return np.where(np.asarray(pred01) == 1, self.positive, self.negative)

    @property
    def y01(self) -> np.ndarray:
        """The training labels as 0/1 (1 for the positive label), as fairlearn takes them."""
        return (self.y_train == self.positive).astype(int).to_numpy()


@dataclass(frozen=True)
class _Fitted:
    """What a fitter returns: the mitigated predictor and its predictions on the test rows."""

    estimator: Any
    y_pred: np.ndarray
    model: Model | None = None
    weights: np.ndarray | None = None
    weights_by_group: pd.DataFrame | None = None
    params: dict = field(default_factory=dict)
    score: np.ndarray | None = None
    artifact: bytes | None = None
    extra: dict = field(default_factory=dict)


def _retrained(task: _Task, estimator: Any, columns: list, suffix: str, **more) -> _Fitted:
    """Wrap a retrained scikit-learn estimator as a ``Model`` and predict the held-out rows with it."""
    key = f"{task.model.sha256}|{task.train.sha256}|{suffix}|{task.seed}|{task.params}"
    mitigated = Model.from_estimator(estimator, name=f"{task.model.name} ({suffix})",
                                     sha256=hashlib.sha256(key.encode()).hexdigest(), feature_names=columns,
                                     source_format="memory")
    task.report(0.85, "Evaluating on the held-out data")
    test = task.X_test if list(columns) == list(task.features) else task.test_frame[columns]
    proba = mitigated.predict_proba(test)
    positive = list(mitigated.classes_).index(task.positive)
    return _Fitted(estimator, mitigated.classes_[np.argmax(proba, axis=1)], mitigated,
                   score=proba[:, positive], **more)


def _fit_reweighing(task: _Task) -> _Fitted:
    """Kamiran & Calders weights, then a seeded clone of the model retrained with them."""
    task.report(0.2, "Computing the reweighing weights")
    reweighing = Reweighing().fit(task.y_train, sensitive_features=task.s_train)
    weights = reweighing.transform(task.y_train, sensitive_features=task.s_train)
    task.report(0.35, "Retraining the model with the weights")
    estimator = _seeded_clone(task.model.estimator, task.seed)
    estimator.fit(task.X_train, task.y_train, **{_weight_param(estimator): weights})
    return _retrained(task, estimator, task.features, "reweighed", weights=weights,
                      weights_by_group=reweighing.weights_by_group_)


def _fit_threshold_optimizer(task: _Task) -> _Fitted:
    """Fairlearn's ThresholdOptimizer on the model's scores (prefit: the model is not retrained)."""
    from fairlearn.postprocessing import ThresholdOptimizer

    task.report(0.2, "Scoring the training data and choosing thresholds per group")
    scorer = _scores_only_class()(task.model, positive_index=task.classes.index(task.positive))
    estimator = ThresholdOptimizer(estimator=scorer, constraints=task.constraint, objective="accuracy_score",
                                   prefit=True, predict_method="predict_proba")
    estimator.fit(task.X_train, task.y01, sensitive_features=task.s_train)
    task.report(0.85, "Evaluating on the held-out data")
    pred01 = estimator.predict(task.X_test, sensitive_features=task.s_test, random_state=task.seed)
    return _Fitted(estimator, task.as_labels(pred01))  # no score: its decisions are randomised thresholds


class _FitCounter:
    """Counts fairlearn's iterations and refits, reports each iteration with an estimate, stops when asked.

    Every clone of :class:`_CountedFit` shares this one object (``copy.deepcopy`` returns it), so the
    count runs across the whole fairlearn fit. Fairlearn refits the model once at the start of each
    iteration (``best_h`` called from ``ExponentiatedGradient.fit``) and up to eight more times while it
    measures the duality gap (``best_h`` called from ``_Lagrangian.eval_gap``); :meth:`before` tells the
    two apart from the caller's frame, so the count of iterations equals the columns of fairlearn's
    ``lambda_vecs_EG_`` (tested on the pinned fairlearn).
    """

    def __init__(self, total: int, report: Callable[[float, str], None], stop: Callable[[], bool] | None,
                 start: float = 0.2, end: float = 0.85):
        self.total, self.report, self.stop = total, report, stop
        self.start, self.end = start, end
        self.iterations, self.fits, self.began = 0, 0, time.perf_counter()

    def __deepcopy__(self, memo) -> _FitCounter:
        return self

    def before(self) -> None:
        """Before a refit: raise ``MitigationStopped`` when asked to stop; count a new iteration."""
        if self.stop is not None and self.stop():
            raise MitigationStopped(STOPPED.format(done=max(0, self.iterations - 1), total=self.total,
                                                   fits=self.fits))
        if _starts_iteration():
            if self.iterations:
                self.done(self.iterations)
            self.iterations += 1

    def done(self, iterations: int) -> None:
        """Report ``iterations`` done, with an upper estimate of the time left (fairlearn may stop early)."""
        left = (self.total - iterations) * (time.perf_counter() - self.began) / max(iterations, 1)
        estimate = EG_ESTIMATE.format(seconds=_duration(left)) if iterations < self.total else ""
        self.report(self.start + (self.end - self.start) * iterations / self.total,
                    EG_PROGRESS.format(done=iterations, total=self.total, fits=self.fits, estimate=estimate))


def _starts_iteration() -> bool:
    """Whether the refit about to run is the one that starts an iteration of fairlearn's loop.

    Walks up from ``CountedFit.fit`` through ``_call_oracle`` and ``best_h`` to the frame that asked:
    ``eval_gap`` (a duality-gap check inside an iteration) or ``ExponentiatedGradient.fit``.
    """
    frame = sys._getframe(3)  # 0: here, 1: _FitCounter.before, 2: CountedFit.fit, 3: fairlearn's caller
    for _ in range(5):
        if frame is None:
            return False
        if frame.f_code.co_name == "eval_gap":
            return False
        if frame.f_code.co_name == "fit" and "fairlearn" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


def _duration(seconds: float) -> str:
    """Return a duration in words: "40 s", "3 min"."""
    return f"{max(1, round(seconds))} s" if seconds < 90 else f"{round(seconds / 60)} min"


@functools.cache
def _counted_fit_class() -> type:
    """Return ``CountedFit``, defined on first use so that importing ``audits`` does not import sklearn."""
    from sklearn.base import BaseEstimator, ClassifierMixin, clone

    class CountedFit(ClassifierMixin, BaseEstimator):
        """A scikit-learn estimator that fits a clone of ``estimator`` and tells ``counter`` about it."""

        def __init__(self, estimator: Any = None, counter: _FitCounter | None = None):
            self.estimator = estimator
            self.counter = counter

        def fit(self, X, y, sample_weight=None):  # noqa: N803 - sklearn's names
            self.counter.before()
            fitted = clone(self.estimator)
            fitted.fit(X, y, **({} if sample_weight is None else {_weight_param(fitted): sample_weight}))
            self.estimator_, self.classes_ = fitted, fitted.classes_
            self.counter.fits += 1
            return self

        def predict(self, X) -> np.ndarray:  # noqa: D102, N803
            return self.estimator_.predict(X)

        def predict_proba(self, X) -> np.ndarray:  # noqa: D102, N803
            return self.estimator_.predict_proba(X)

    return CountedFit


def _fit_exponentiated_gradient(task: _Task) -> _Fitted:
    """Fairlearn's ExponentiatedGradient: a randomised mixture of models retrained under the constraint.

    At most ``task.max_iter`` iterations (fairlearn stops earlier when the duality gap is small), each of
    one to nine refits; each iteration is reported and the run stops between two refits when
    ``task.stop()`` says so.
    """
    from fairlearn import reductions

    moment = {"demographic_parity": reductions.DemographicParity,
              "equalized_odds": reductions.EqualizedOdds,
              "true_positive_rate_parity": reductions.TruePositiveRateParity,
              "false_positive_rate_parity": reductions.FalsePositiveRateParity,
              "error_rate_parity": reductions.ErrorRateParity}[task.constraint]()
    task.report(0.2, f"Retraining the model under the constraint (at most {task.max_iter} iterations)")
    counter = _FitCounter(task.max_iter, task.report, task.stop)
    base = _counted_fit_class()(_seeded_clone(task.model.estimator, task.seed), counter)
    estimator = reductions.ExponentiatedGradient(base, constraints=moment, max_iter=task.max_iter)
    estimator.fit(task.X_train, task.y01, sensitive_features=task.s_train)
    counter.done(counter.iterations)
    task.report(0.85, "Evaluating on the held-out data")
    return _Fitted(estimator, task.as_labels(estimator.predict(task.X_test, random_state=task.seed)),
                   params={"max_iter": task.max_iter, "iterations": counter.iterations, "fits": counter.fits},
                   score=estimator._pmf_predict(task.X_test)[:, 1])  # the mixture's P(positive)


def _fitter(module: str, name: str) -> Callable[[_Task], _Fitted]:
    """Return the fitter ``name`` of another ``audits`` module, imported on first use (no import cycle)."""
    def fit(task: _Task) -> _Fitted:
        import importlib

        return getattr(importlib.import_module(f"glasswing.audits.{module}"), name)(task)

    return fit


#: One fitter per method of :data:`METHODS`.
_FITTERS: dict[str, Callable[[_Task], _Fitted]] = {
    "reweighing": _fit_reweighing,
    "threshold_optimizer": _fit_threshold_optimizer,
    "exponentiated_gradient": _fit_exponentiated_gradient,
    "uniform_sampling": _fitter("_resampling", "fit_uniform_sampling"),
    "preferential_sampling": _fitter("_resampling", "fit_preferential_sampling"),
    "correlation_remover": _fitter("_correlation", "fit_correlation_remover"),
    "adversarial": _fitter("_adversarial", "fit_adversarial"),
    "fair_loss": _fitter("_fair_loss", "fit_fair_loss"),
}


def holdout_split(data: Dataset, *, test_size: float = 0.3, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Split ``data`` into training and held-out rows, stratified by the target, in the rows' order.

    Each part keeps the roles and gets a name and a digest of its own (``"<sha>|train"``, ``"<sha>|test"``),
    so results computed on it are cached apart.

    Parameters
    ----------
    data : ingest.Dataset
        With a target.
    test_size : float, default 0.3
        Share of rows held out.
    seed : int, default 0
        ``random_state`` of scikit-learn's ``train_test_split``.

    Returns
    -------
    (train, test) : tuple of ingest.Dataset
    """
    from sklearn.model_selection import train_test_split

    if data.roles.target is None:
        raise MitigationError(NO_TARGET.format(which="loaded"))
    train, test = train_test_split(data.frame, test_size=test_size, random_state=seed, stratify=data.y_true)
    kept = round(100 * (1 - test_size))

    def part(frame: pd.DataFrame, which: str, share: int) -> Dataset:
        digest = hashlib.sha256(f"{data.sha256}|{which}".encode()).hexdigest()
        return replace(data, frame=frame.sort_index(), name=f"{data.name} ({share}%)", sha256=digest)

    return part(train, "train", kept), part(test, "test", 100 - kept)


def check_method(method: str, constraint: str, model: Model | None) -> MitigationMethod:
    """Return the method entry, or raise ``MitigationError`` saying why it cannot run with these choices.

    Parameters
    ----------
    method : str
        A key of :data:`METHODS`.
    constraint : str
        A key of :data:`CONSTRAINTS` that the method accepts.
    model : ingest.Model or None
        The model the method would run on.

    Returns
    -------
    MitigationMethod
    """
    if method not in METHODS:
        raise MitigationError(UNKNOWN_METHOD.format(method=method, valid=", ".join(METHODS)))
    spec = METHODS[method]
    if constraint not in CONSTRAINTS:
        raise MitigationError(UNKNOWN_CONSTRAINT.format(constraint=constraint, valid=", ".join(CONSTRAINTS)))
    if constraint not in spec.constraints:
        raise MitigationError(CONSTRAINT_NOT_APPLICABLE.format(
            constraint=constraint, label=spec.label, valid=", ".join(spec.constraints)))
    if (reason := spec.why_not(model)) is not None:
        raise MitigationError(reason)
    return spec


def mitigate(model: Model, train: Dataset, test: Dataset, *, method: str = "reweighing",
             constraint: str = "demographic_parity", seed: int = 0,
             progress: Callable[[float, str], None] | None = None, bins=None, min_group_size: int = 30,
             include_small_groups: bool = False, sensitive: list[str] | None = None,
             max_iter: int = EG_MAX_ITER, stop: Callable[[], bool] | None = None,
             params: dict | None = None) -> MitigationResult:
    """Fit a mitigated predictor on ``train`` and compare it with ``model`` on the held-out ``test`` rows.

    Parameters
    ----------
    model : ingest.Model
        A binary tabular classifier. Reweighing and exponentiated gradient retrain a clone of it, so they
        need a scikit-learn model whose final estimator takes ``sample_weight``; the threshold optimizer
        only reads its scores and works for any tabular model (ONNX included).
    train, test : ingest.Dataset
        Training and held-out data with a target and the sensitive columns of ``test`` (several columns
        mean their intersection); both must contain the model's feature columns.
    method : {"reweighing", "threshold_optimizer", "exponentiated_gradient"}
        Pre-processing, post-processing or reductions (see :data:`METHODS`).
    constraint : str
        A key of :data:`CONSTRAINTS` that the method accepts (``METHODS[method].constraints``).
        Reweighing targets demographic parity only.
    seed : int
        Seeds unset ``random_state`` parameters of the retrained model and the randomised predictions
        of the fairlearn methods, so a run is reproducible.
    progress : callable, optional
        Called as ``progress(fraction, message)`` between stages.
    bins : mapping, optional
        Cut points of numeric sensitive columns (``ingest.group_frame``: quartiles of the test rows
        otherwise); the training rows are banded by the same rule.
    min_group_size, include_small_groups
        The headline of the before/after comparison (``GroupMetrics.headline``).
    sensitive : list of str, optional
        The sensitive columns to mitigate for (several mean their intersection); the data's sensitive
        roles by default.
    max_iter : int, default :data:`EG_MAX_ITER`
        Exponentiated gradient's bound on its iterations, one refit of the model each (fairlearn's own
        default is :data:`EG_FULL_MAX_ITER`). Each refit is reported through ``progress``.
    stop : callable, optional
        Checked before each refit of exponentiated gradient; when it returns True the run ends with
        ``MitigationStopped``.
    params : dict, optional
        The method's own settings (``METHODS[method].params``: ``alpha`` of the correlation remover, the
        epochs and ``adversary_weight`` of adversarial debiasing, ``lam`` and ``architecture`` of the fair
        loss, ...); text values are converted (:func:`method_params`).

    Returns
    -------
    MitigationResult

    Raises
    ------
    MitigationError
        For a method, constraint, model or dataset that cannot be used, in one sentence.
    MitigationStopped
        When ``stop()`` returned True (a ``MitigationError``).

    Examples
    --------
    >>> import audits
    >>> from ingest import samples
    >>> result = audits.mitigate(samples.german_model("logreg"), samples.german_dataset("train"),
    ...                          samples.german_dataset("test"), method="reweighing")
    >>> [round(v, 2) for v in result.disparity("demographic_parity_difference")]  # before, after
    [0.19, 0.06]
    """
    report = progress or (lambda fraction, message: None)
    spec = check_method(method, constraint, model)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise MitigationError(BAD_MAX_ITER.format(value=max_iter))
    settings = method_params(method, params)
    sensitive = list(sensitive or test.roles.sensitive or train.roles.sensitive)
    features = list(model.feature_names) if model.feature_names else list(train.roles.features)
    for data, which in ((train, "training"), (test, "test")):
        if not sensitive:
            raise MitigationError(NO_SENSITIVE.format(which=which))
        _check_data(data, which, features, sensitive)
    y_train, y_test = train.frame[train.roles.target], test.frame[test.roles.target]
    values = pd.unique(pd.concat([y_train, y_test], ignore_index=True).dropna())
    if len(values) != 2:
        raise MitigationError(NOT_BINARY_TARGET.format(target=train.roles.target, n=len(values),
                                                       values=", ".join(map(str, sorted(values.tolist())))))
    classes = model.classes_.tolist()
    if sorted(map(str, classes)) != sorted(map(str, values.tolist())) or set(values) - set(classes):
        raise MitigationError(LABEL_MISMATCH.format(classes=", ".join(map(str, classes)),
                                                    target=train.roles.target,
                                                    values=", ".join(map(str, sorted(values.tolist())))))
    positive = test.positive_label if test.positive_label in classes else classes[-1]
    negative = next(c for c in classes if c != positive)
    X_train, X_test = train.frame[features], test.frame[features]  # noqa: N806 - sklearn's names
    from glasswing.ingest import group_frame

    s_test, rule = group_frame(test.frame, sensitive, bins)
    s_train, _ = group_frame(train.frame, sensitive, rule=rule)
    start = time.perf_counter()

    report(0.05, "Predicting with the original model")
    proba_before = np.asarray(model.predict_proba(X_test))
    y_pred_before = np.asarray(model.classes_)[np.argmax(proba_before, axis=1)]
    score_before = proba_before[:, classes.index(positive)]
    fit = _FITTERS[method](_Task(model, train, features, X_train, y_train, s_train, X_test, s_test, positive,
                                 negative, classes, constraint, seed, report, int(max_iter), stop,
                                 params=settings, test_frame=test.frame))
    y_true = y_test.to_numpy()
    result = MitigationResult(
        method=method, constraint=constraint,
        before=group_metrics(y_true, y_pred_before, s_test, y_score=score_before, pos_label=positive,
                             min_group_size=min_group_size),
        after=group_metrics(y_true, fit.y_pred, s_test, y_score=fit.score, pos_label=positive,
                            min_group_size=min_group_size),
        accuracy_before=float(np.mean(y_pred_before == y_true)),
        accuracy_after=float(np.mean(fit.y_pred == y_true)),
        y_pred_before=y_pred_before, y_pred_after=fit.y_pred, estimator=fit.estimator, model=fit.model,
        weights=fit.weights, weights_by_group=fit.weights_by_group,
        params={**settings, "seed": seed, "sensitive": sensitive, "features": features,
                "positive_label": positive, "stage": spec.stage, "changes": spec.changes,
                "n_train": len(train), "n_test": len(test), **fit.params},
        compute_time=time.perf_counter() - start, score_before=score_before, score_after=fit.score,
        artifact=fit.artifact, extra=fit.extra,
    )
    sizes = s_train.groupby(list(s_train.columns), observed=True, dropna=False).size()
    result = replace(result, n_train=sizes.reindex(result.before.by_group.index, fill_value=0))
    if include_small_groups or rule.notes:
        result = replace(result, before=replace(result.before, include_small_groups=include_small_groups,
                                                notes=rule.notes + result.before.notes),
                         after=replace(result.after, include_small_groups=include_small_groups,
                                       notes=rule.notes + result.after.notes))
    report(1.0, "Done")
    log.info("%s: accuracy %.3f -> %.3f in %.2fs", result.label, result.accuracy_before,
             result.accuracy_after, result.compute_time)
    return result

