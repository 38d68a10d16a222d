"""Bias mitigation compared before and after: reweighing, threshold optimisation, exponentiated gradient.

``mitigate(model, train, test, method=..., constraint=...)`` fits a mitigated predictor on the training
data and evaluates the original and the mitigated predictor on the held-out data with the same group
metrics. The three methods act at different stages:

- ``reweighing`` (pre-processing): Kamiran & Calders weights, then a clone of the scikit-learn model is
  retrained with them (for a pipeline the weights go to the final step).
- ``threshold_optimizer`` (post-processing, fairlearn): group-specific thresholds on the model's scores.
  It needs only ``predict_proba``, so it works for every tabular model, ONNX included.
- ``exponentiated_gradient`` (reductions, fairlearn): a randomised mixture of retrained models that
  satisfies the constraint on the training data.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
MIN_ROWS = 10


@dataclass(frozen=True)
class MitigationMethod:
    """One mitigation method: what it is, which constraints it accepts, and when it cannot run."""

    name: str
    label: str
    stage: str
    constraints: tuple[str, ...]
    retrains: bool
    description: str

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
        if self.retrains and not model.supports_sample_weight:
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
        The settings used (seed, sensitive columns, positive label, ...).
    compute_time : float
        Seconds spent fitting and evaluating.
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

    @property
    def label(self) -> str:
        """A short display name: method and constraint."""
        return f"{METHODS[self.method].label} ({self.constraint.replace('_', ' ')})"

    def disparity(self, name: str | None = None) -> tuple[float, float]:
        """Return a disparity (before, after): a ``summary()`` key or a metric's between-group difference.

        The default is the disparity that the run's constraint targets.
        """
        name = name or CONSTRAINT_DISPARITY[self.constraint]
        return _disparity(self.before, name), _disparity(self.after, name)

    def summary(self) -> dict:
        """One flat row for tables and the accuracy-vs-disparity chart (plain Python values)."""
        row = {"label": self.label, "method": self.method, "constraint": self.constraint,
               "accuracy_before": self.accuracy_before, "accuracy_after": self.accuracy_after,
               "compute_time": self.compute_time}
        for key in ("demographic_parity_difference", "equalized_odds_difference"):
            row[f"{key}_before"], row[f"{key}_after"] = self.disparity(key)
        return row


def _disparity(metrics: GroupMetrics, name: str) -> float:
    summary = metrics.summary()
    if name in summary:
        return float(summary[name])
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
             progress: Callable[[float, str], None] | None = None) -> MitigationResult:
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

    Returns
    -------
    MitigationResult

    Raises
    ------
    MitigationError
        For a method, constraint, model or dataset that cannot be used, in one sentence.

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
    sensitive = list(test.roles.sensitive) or list(train.roles.sensitive)
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
    s_train, s_test = train.frame[sensitive], test.frame[sensitive]
    start = time.perf_counter()

    report(0.05, "Predicting with the original model")
    y_pred_before = np.asarray(model.predict(X_test))
    estimator, mitigated_model, weights, weights_by_group = None, None, None, None
    if method == "reweighing":
        report(0.2, "Computing the reweighing weights")
        reweighing = Reweighing().fit(y_train, sensitive_features=s_train)
        weights = reweighing.transform(y_train, sensitive_features=s_train)
        weights_by_group = reweighing.weights_by_group_
        report(0.35, "Retraining the model with the weights")
        estimator = _seeded_clone(model.estimator, seed)
        estimator.fit(X_train, y_train, **{_weight_param(estimator): weights})
        digest = hashlib.sha256(f"{model.sha256}|{train.sha256}|reweighing|{seed}".encode()).hexdigest()
        mitigated_model = Model.from_estimator(estimator, name=f"{model.name} (reweighed)", sha256=digest,
                                               feature_names=features, source_format="memory")
        report(0.85, "Evaluating on the held-out data")
        y_pred_after = np.asarray(mitigated_model.predict(X_test))
    else:
        y01 = (y_train == positive).astype(int).to_numpy()
        if method == "threshold_optimizer":
            from fairlearn.postprocessing import ThresholdOptimizer

            report(0.2, "Scoring the training data and choosing thresholds per group")
            scorer = _scores_only_class()(model, positive_index=classes.index(positive))
            estimator = ThresholdOptimizer(estimator=scorer, constraints=constraint,
                                           objective="accuracy_score", prefit=True,
                                           predict_method="predict_proba")
            estimator.fit(X_train, y01, sensitive_features=s_train)
            report(0.85, "Evaluating on the held-out data")
            pred01 = estimator.predict(X_test, sensitive_features=s_test, random_state=seed)
        else:
            from fairlearn import reductions

            moment = {"demographic_parity": reductions.DemographicParity,
                      "equalized_odds": reductions.EqualizedOdds,
                      "true_positive_rate_parity": reductions.TruePositiveRateParity,
                      "false_positive_rate_parity": reductions.FalsePositiveRateParity,
                      "error_rate_parity": reductions.ErrorRateParity}[constraint]()
            report(0.2, "Retraining the model under the constraint (several fits)")
            base = _seeded_clone(model.estimator, seed)
            estimator = reductions.ExponentiatedGradient(base, constraints=moment,
                                                         sample_weight_name=_weight_param(base))
            estimator.fit(X_train, y01, sensitive_features=s_train)
            report(0.85, "Evaluating on the held-out data")
            pred01 = estimator.predict(X_test, random_state=seed)
        y_pred_after = np.where(np.asarray(pred01) == 1, positive, negative)

    y_true = y_test.to_numpy()
    result = MitigationResult(
        method=method, constraint=constraint,
        before=group_metrics(y_true, y_pred_before, s_test, pos_label=positive),
        after=group_metrics(y_true, y_pred_after, s_test, pos_label=positive),
        accuracy_before=float(np.mean(y_pred_before == y_true)),
        accuracy_after=float(np.mean(y_pred_after == y_true)),
        y_pred_before=y_pred_before, y_pred_after=y_pred_after, estimator=estimator, model=mitigated_model,
        weights=weights, weights_by_group=weights_by_group,
        params={"seed": seed, "sensitive": sensitive, "features": features, "positive_label": positive,
                "stage": spec.stage, "n_train": len(train), "n_test": len(test)},
        compute_time=time.perf_counter() - start,
    )
    report(1.0, "Done")
    log.info("%s: accuracy %.3f -> %.3f in %.2fs", result.label, result.accuracy_before,
             result.accuracy_after, result.compute_time)
    return result

