"""Error analysis: the cohorts where a model fails most, as a shallow tree of readable rules.

A decision tree (scikit-learn's ``DecisionTreeClassifier``) is fitted to the error indicator
``y_pred != y_true`` on the feature columns, as Microsoft's Responsible AI error analysis does. Every node
is a cohort with a rule a person can read (``age > 60 and region = north``), its number of rows ``n``, its
error rate with a Wilson interval, and its coverage: the share of all errors that fall in it.

Readable rules:

- numeric columns split at the roundest number that separates the same rows (``age > 60``, not
  ``age > 60.5``); missing values go where the tree sent them, and the rule says so (``(or missing)``);
- text, category and boolean columns are one-hot encoded (their 30 most frequent values; missing is a value
  of its own), so a split reads ``region = north`` or ``region != north``, and several conditions on one
  column along a path merge into one (``region not in {north, south}``, or ``region = east`` when only one
  value is left);
- the conditions of a rule are listed in the order of the feature columns.

A tree always finds splits, real or not. A split is kept only when its two sides' error rates differ beyond
chance: a two-proportion z-test whose p-value is multiplied by the number of candidate splits the tree
could choose from at that node (Bonferroni), at level ``alpha``; a split is also kept when a split below it
passes (so an interaction that shows only one level down survives). ``alpha=1`` keeps the whole tree.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from glasswing._plain import json_safe, plain
from glasswing.audits._intervals import wilson_interval
from glasswing.audits._validate import AuditError, as_scores, check_threshold, looks_like_probabilities

log = logging.getLogger(__name__)

NO_ERRORS = ("The predictions match the target on all {n:,} rows, so there is no error to analyse; check "
             "that the prediction column is not a copy of the target, or analyse rows the model was not "
             "trained on.")
NO_ROWS = "There are no rows to analyse; the data is empty."
NO_FEATURES = ("Choose at least one feature column to describe the cohorts by; the data has: {columns}.")
FEATURE_ABSENT = "Feature column {column!r} is not in the data; it has: {columns}."
FEATURE_IS_OUTCOME = ("Column {column!r} is the {role}, so it cannot describe a cohort; choose other "
                      "columns, such as: {columns}.")
NO_PREDICTIONS = ("Error analysis needs predictions: choose the column of logged predicted labels, or load "
                  "the model that made them.")
SCORE_NEEDS_THRESHOLD = ("The predictions come from the scores in {column!r}, so give a decision threshold "
                         "(score >= threshold predicts the positive label).")
NO_TARGET = "Error analysis needs the true outcome; choose the target column."
SCORES_NOT_LABELS = ("Column {column!r} holds scores between 0 and 1 (for example {example}) rather than "
                     "predicted labels; give the column of predicted labels, or the model that made them.")
LABELS_DIFFER = ("The predictions in {column!r} use {extra}, which never occur in the target {target!r} "
                 "({values}); predictions and target must use the same labels.")
NOT_TABULAR = ("The loaded model works on images, not on table rows; load a tabular model or analyse logged "
               "predictions.")
BAD_DEPTH = "The tree depth must be a whole number from 1 to {most}; got {value!r}."
BAD_MIN_ROWS = "The smallest cohort must be a whole number of rows, at least 1; got {value!r}."
BAD_ALPHA = "The significance level must be a number above 0 and at most 1; got {value!r}."
LENGTHS = "The inputs have different lengths: {detail}; give one value per row for each."

MAX_DEPTH = 10
MAX_CATEGORIES = 30
MISSING = "(missing)"
METHOD = ("A decision tree (scikit-learn, depth at most {depth}, cohorts of at least {min_rows:,} rows) "
          "fitted to the error indicator (prediction differs from the target) on {k} feature column{s}; "
          "a split is kept when its sides' error rates differ beyond chance (two-proportion z-test, "
          "Bonferroni over the candidate splits, level {alpha:g}) or a split below it does. Error rates "
          "with {conf:.0%} Wilson intervals; coverage is the share of all errors in the cohort.")


# ---------------------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class Condition:
    """One condition of a cohort's rule on one column.

    ``op`` is one of ``"<="``, ``">"`` (numeric columns; ``or_missing`` says whether missing values also
    satisfy it), ``"="``, ``"!="``, ``"in"``, ``"not in"`` (other columns; ``value`` is a value or a tuple
    of values, ``"(missing)"`` standing for a missing value).
    """

    feature: str
    op: str
    value: Any
    or_missing: bool = False

    @property
    def text(self) -> str:
        """The condition as it reads in a rule: ``age > 60``, ``region = north``."""
        if self.op in ("<=", ">"):
            return f"{self.feature} {self.op} {_number(self.value)}" + (" (or missing)" if self.or_missing
                                                                        else "")
        if self.op in ("in", "not in"):
            return f"{self.feature} {self.op} {{{', '.join(map(_word, self.value))}}}"
        if self.value == MISSING:
            return f"{self.feature} is {'not ' if self.op == '!=' else ''}missing"
        return f"{self.feature} {self.op} {_word(self.value)}"

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Which rows of ``frame`` satisfy the condition."""
        column = frame[self.feature]
        if self.op in ("<=", ">"):
            x = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
            missing = np.isnan(x)
            with np.errstate(invalid="ignore"):
                hit = x <= self.value if self.op == "<=" else x > self.value
            return np.where(missing, self.or_missing, hit)
        values = _categories(column)
        wanted = self.value if self.op in ("in", "not in") else (self.value,)
        hit = values.isin([_key(v) for v in wanted]).to_numpy()
        return ~hit if self.op in ("!=", "not in") else hit


def _word(value) -> str:
    return str(plain(value))


def _number(value: float) -> str:
    return f"{value:,.10g}".replace(",", "") if not float(value).is_integer() else f"{int(value)}"


def _key(value):
    """Return a category as the encoder keys it (missing values as ``"(missing)"``)."""
    return MISSING if value is None or (isinstance(value, float) and math.isnan(value)) else plain(value)


def _categories(column: pd.Series) -> pd.Series:
    """Return the column's values as Python objects, missing ones as ``"(missing)"`` (vectorised)."""
    values = np.empty(len(column), dtype=object)
    values[:] = column.tolist()  # Python scalars, not numpy ones
    values[pd.isna(column).to_numpy()] = MISSING
    return pd.Series(values, index=column.index)


def is_numeric(column: pd.Series) -> bool:
    """Whether a column is split at thresholds (numbers that are not booleans) rather than by value."""
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def roundest_between(low: float, high: float) -> float:
    """Return the number with the fewest significant digits in ``[low, high)`` (``low < high``).

    A tree's threshold lies between two observed values; any number from the lower one (included) to the
    upper one (excluded) splits the rows the same way, so the rule shows the roundest.

    Examples
    --------
    >>> roundest_between(60, 61), roundest_between(48213.0, 48950.0), roundest_between(0.25, 0.2625)
    (60.0, 48300.0, 0.25)
    """
    if not low < high:
        return float(low)
    top = int(math.floor(math.log10(max(abs(low), abs(high), 1e-300)))) + 1
    for digits in range(-top, 16):
        scale = 10.0 ** digits
        value = math.ceil(low * scale) / scale
        value = round(value, max(digits, 0))
        if low <= value < high:
            return float(value)
    return float(low)


# ---------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Cohort:
    """One node of the error tree: a rule, its rows, its errors and where it sits in the tree.

    ``coverage`` is the share of all errors that fall in the cohort; ``error_low``/``error_high`` bound
    the error rate (Wilson). ``p_value`` is the adjusted p-value of the split below the node (None for a
    leaf).
    """

    id: int
    parent: int | None
    conditions: tuple[Condition, ...]
    n: int
    errors: int
    error_rate: float
    error_low: float
    error_high: float
    coverage: float
    depth: int
    leaf: bool
    p_value: float | None = None

    @property
    def rule(self) -> str:
        """The cohort in words: ``age > 60 and region = north`` (``all rows`` for the root)."""
        return " and ".join(c.text for c in self.conditions) or "all rows"

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Which rows of ``frame`` belong to the cohort."""
        out = np.ones(len(frame), dtype=bool)
        for condition in self.conditions:
            out &= condition.mask(frame)
        return out

    def to_dict(self) -> dict:
        """JSON-safe form: the rule, its conditions and the counts."""
        return json_safe({
            "id": self.id, "parent": self.parent, "rule": self.rule, "n": self.n, "errors": self.errors,
            "error_rate": self.error_rate, "error_rate_low": self.error_low,
            "error_rate_high": self.error_high,
            "coverage": self.coverage, "depth": self.depth, "leaf": self.leaf, "p_value": self.p_value,
            "conditions": [{"feature": c.feature, "op": c.op,
                            "value": list(c.value) if isinstance(c.value, tuple) else c.value,
                            "or_missing": c.or_missing} for c in self.conditions]})


@dataclass(frozen=True)
class ErrorAnalysis:
    """Where a model fails: the error tree's cohorts (node 0 is every row), worst leaves first in ``top``.

    Attributes
    ----------
    nodes : tuple of Cohort
        Every node kept, in depth-first order; ``nodes[0]`` is all rows.
    features : tuple of str
        The columns the rules are written in.
    n, errors : int
        Rows analysed and errors among them.
    max_depth, min_rows, alpha, confidence
        The settings.
    source : str
        Where the predictions came from, in words.
    notes : tuple of str
        What was left out or merged, in sentences.
    """

    nodes: tuple[Cohort, ...]
    features: tuple[str, ...]
    n: int
    errors: int
    max_depth: int
    min_rows: int
    alpha: float
    confidence: float = 0.95
    source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def error_rate(self) -> float:
        """The overall error rate."""
        return self.errors / self.n

    @property
    def cohorts(self) -> list[Cohort]:
        """The leaves (the cohorts that partition the rows), highest error rate first (then larger first)."""
        return sorted((c for c in self.nodes if c.leaf), key=lambda c: (-c.error_rate, -c.n, c.id))

    @property
    def top(self) -> Cohort:
        """The cohort with the highest error rate."""
        return self.cohorts[0]

    def cohort(self, id: int) -> Cohort:  # noqa: A002 - the node's id, as in the tree
        """Return the node with this id."""
        return next(c for c in self.nodes if c.id == id)

    @property
    def method(self) -> str:
        """How the cohorts were found, in one paragraph (the decision rule of the analysis)."""
        k = len(self.features)
        return METHOD.format(depth=self.max_depth, min_rows=self.min_rows, k=k, s="" if k == 1 else "s",
                             alpha=self.alpha, conf=self.confidence)

    def table(self, leaves_only: bool = True) -> pd.DataFrame:
        """One row per cohort: rule, n, errors, error rate with its interval, coverage (worst first)."""
        rows = self.cohorts if leaves_only else list(self.nodes)
        return pd.DataFrame({
            "cohort": [c.rule for c in rows], "n": [c.n for c in rows], "errors": [c.errors for c in rows],
            "error_rate": [c.error_rate for c in rows], "error_rate_low": [c.error_low for c in rows],
            "error_rate_high": [c.error_high for c in rows], "coverage": [c.coverage for c in rows],
        }, index=pd.Index([c.id for c in rows], name="id"))

    def to_dict(self) -> dict:
        """JSON-safe form: settings, overall counts, the cohorts (worst first) and the whole tree."""
        return json_safe({
            "n": self.n, "errors": self.errors, "error_rate": self.error_rate, "source": self.source,
            "features": list(self.features), "max_depth": self.max_depth, "min_rows": self.min_rows,
            "alpha": self.alpha, "confidence": self.confidence, "method": self.method,
            "notes": list(self.notes),
            "cohorts": [c.to_dict() for c in self.cohorts], "tree": [c.to_dict() for c in self.nodes]})


# ---------------------------------------------------------------------------------------- the analysis
def error_analysis(X: pd.DataFrame, y_true, y_pred, *, max_depth: int = 4, min_rows: int = 30,
                   alpha: float = 0.05, confidence: float = 0.95, seed: int = 0, source: str = "",
                   notes: Sequence[str] = ()) -> ErrorAnalysis:
    """Find the cohorts where predictions are wrong most often.

    Parameters
    ----------
    X : pandas.DataFrame
        The columns the cohorts are described by (numbers, text, categories, booleans; missing allowed).
    y_true, y_pred : array-like
        True and predicted labels, one per row of ``X`` (any number of classes).
    max_depth : int, default 4
        Depth of the tree: the most conditions in a rule.
    min_rows : int, default 30
        The smallest cohort (``min_samples_leaf``).
    alpha : float, default 0.05
        Level of the test that keeps a split (Bonferroni over the candidate splits); 1 keeps every split.
    confidence : float, default 0.95
        Level of the Wilson intervals.
    seed : int, default 0
        ``random_state`` of the tree (ties between equally good splits).
    source, notes
        Where the predictions came from, and sentences about the input (kept in the result).

    Returns
    -------
    ErrorAnalysis

    Raises
    ------
    AuditError
        For bad settings, mismatched lengths, no feature column, or no error at all.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"age": [age for age in range(20, 80) for _ in range(10)]})
    >>> y = [0] * 600
    >>> pred = [int(age > 60 and i % 2 == 0) for i, age in enumerate(X["age"])]  # half of them wrong
    >>> result = error_analysis(X, y, pred, min_rows=20)
    >>> result.top.rule, result.top.error_rate, result.top.coverage
    ('age > 60', 0.5, 1.0)
    """
    _check_settings(max_depth, min_rows, alpha)
    if not len(X.columns):
        raise AuditError(NO_FEATURES.format(columns="no columns"))
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if not len(X) == len(y_true) == len(y_pred):
        raise AuditError(LENGTHS.format(detail=f"{len(X):,} rows of features, {len(y_true):,} true labels "
                                               f"and {len(y_pred):,} predictions"))
    if not len(X):
        raise AuditError(NO_ROWS)
    wrong = _differs(y_true, y_pred)
    if not wrong.any():
        raise AuditError(NO_ERRORS.format(n=len(wrong)))
    X = X.reset_index(drop=True)
    design, columns, design_notes = _design(X)
    tree = _fit(design, wrong, max_depth=max_depth, min_rows=min_rows, seed=seed)
    nodes = _nodes(tree, design, columns, X, wrong, min_rows=min_rows, alpha=alpha, confidence=confidence)
    return ErrorAnalysis(nodes=tuple(nodes), features=tuple(map(str, X.columns)), n=len(wrong),
                         errors=int(wrong.sum()), max_depth=int(max_depth), min_rows=int(min_rows),
                         alpha=float(alpha), confidence=float(confidence), source=source,
                         notes=tuple(notes) + tuple(design_notes))


def error_analysis_dataset(dataset, model=None, *, features: Sequence[str] | None = None, max_depth: int = 4,
                           min_rows: int = 30, alpha: float = 0.05, confidence: float = 0.95,
                           seed: int = 0, threshold: float | None = None) -> ErrorAnalysis:
    """Error analysis of a loaded ``ingest.Dataset``: its logged predictions, or a model's on its features.

    The one function the dashboard, the command line and the reports call.

    Parameters
    ----------
    dataset : ingest.Dataset
        Needs a target, and a prediction column unless ``model`` is given.
    model : ingest.Model, optional
        Predict with this tabular model (a target whose values are not its classes is mapped onto them,
        as in ``audit_dataset``).
    features : sequence of str, optional
        Columns the cohorts are described by; default the feature and sensitive columns of the roles, or,
        when the roles name no feature, every column but the target, prediction and score.
    max_depth, min_rows, alpha, confidence, seed
        As for :func:`error_analysis`.
    threshold : float, optional
        Predict from the score column at this threshold (``score >= threshold`` is the positive label)
        instead of the prediction column; needed when the data has scores and no predictions.

    Returns
    -------
    ErrorAnalysis
    """
    y_true, y_pred, source, notes = predictions_of(dataset, model, threshold)
    columns = feature_columns(dataset, features)
    keep = ~pd.isna(pd.Series(y_pred)).to_numpy()
    if not keep.all():
        notes = (*notes, f"{int((~keep).sum()):,} rows without a prediction are left out.")
    frame = dataset.frame.loc[keep, columns]
    return error_analysis(frame, y_true[keep], y_pred[keep], max_depth=max_depth, min_rows=min_rows,
                          alpha=alpha, confidence=confidence, seed=seed, source=source, notes=notes)


def predictions_of(dataset, model=None, threshold: float | None = None
                   ) -> tuple[np.ndarray, np.ndarray, str, tuple[str, ...]]:
    """Return (y_true, y_pred, source in words, notes) of a dataset's logged predictions or a model's.

    With ``threshold`` and a score column (and no model), the predictions are the scores at the threshold:
    ``score >= threshold`` predicts the positive label, anything else the target's other value.
    """
    from glasswing import ingest

    roles = dataset.roles
    if roles.target is None:
        raise AuditError(NO_TARGET)
    if model is not None:
        if model.modality != "tabular":
            raise AuditError(NOT_TABULAR)
        mapped, mapping = ingest.map_target(dataset, list(model.classes_))
        ingest.check_model_fits(model, mapped)
        pred = model.predict(mapped.frame if model.feature_names else mapped.X)
        notes = () if mapping is None else (
            "Target values mapped to the model's classes: "
            + ", ".join(f"{k} -> {v}" for k, v in mapping.items()) + ".",)
        return mapped.frame[roles.target].to_numpy(), np.asarray(pred), f"model {model.name}", notes
    y_true = dataset.frame[roles.target].to_numpy()
    if roles.score is not None and (threshold is not None or roles.prediction is None):
        if threshold is None:
            raise AuditError(SCORE_NEEDS_THRESHOLD.format(column=roles.score))
        return y_true, _at_threshold(dataset, check_threshold(threshold)), (
            f"logged scores (column {roles.score}) at threshold {threshold:g}"), ()
    if roles.prediction is None:
        raise AuditError(NO_PREDICTIONS)
    y_pred = dataset.frame[roles.prediction].to_numpy()
    example = looks_like_probabilities(y_pred) if y_pred.dtype.kind == "f" else None
    if example is not None:
        raise AuditError(SCORES_NOT_LABELS.format(column=roles.prediction, example=round(example, 4)))
    known = {plain(v) for v in pd.unique(y_true)}
    extra = [plain(v) for v in pd.unique(y_pred[~pd.isna(y_pred)]) if plain(v) not in known]
    if extra and len(extra) == len(pd.unique(y_pred[~pd.isna(y_pred)])):  # no label in common at all
        raise AuditError(LABELS_DIFFER.format(column=roles.prediction, extra=", ".join(map(repr, extra[:4])),
                                              target=roles.target,
                                              values=", ".join(map(repr, sorted(known, key=str)[:6]))))
    return y_true, y_pred, f"logged predictions (column {roles.prediction})", ()


def _at_threshold(dataset, threshold: float) -> np.ndarray:
    """Return the positive label where the score is at least ``threshold``, else the target's other value."""
    roles = dataset.roles
    positive = dataset.positive_label
    others = [v for v in pd.unique(dataset.frame[roles.target]) if plain(v) != plain(positive)]
    negative = others[0] if others else (0 if positive != 0 else 1)
    score = as_scores(dataset.frame[roles.score], f"Column {roles.score!r}")
    with np.errstate(invalid="ignore"):
        chosen = score >= threshold
    out = np.where(chosen, positive, negative).astype(object)
    out[np.isnan(score)] = None  # no score, no prediction: left out
    return out


def feature_columns(dataset, features: Sequence[str] | None = None) -> list[str]:
    """Return the columns the cohorts are described by (checked; see :func:`error_analysis_dataset`)."""
    roles = dataset.roles
    outcome = {roles.target: "target", roles.prediction: "prediction column", roles.score: "score column"}
    outcome.pop(None, None)
    columns = [str(c) for c in dataset.frame.columns]
    others = [c for c in columns if c not in outcome]
    if features is None:
        chosen = list(dict.fromkeys([*roles.features, *roles.sensitive])) if roles.features else others
        chosen = [c for c in chosen if c not in outcome]
    else:
        chosen = list(dict.fromkeys(map(str, features)))
        for column in chosen:
            if column not in columns:
                raise AuditError(FEATURE_ABSENT.format(column=column, columns=_listing(columns)))
            if column in outcome:
                raise AuditError(FEATURE_IS_OUTCOME.format(column=column, role=outcome[column],
                                                           columns=_listing(others)))
    if not chosen:
        raise AuditError(NO_FEATURES.format(columns=_listing(columns)))
    return chosen


def _listing(columns: Sequence[str], limit: int = 8) -> str:
    more = len(columns) - limit
    return ", ".join(columns[:limit]) + (f" and {more:,} more" if more > 0 else "") if columns else "none"


def _check_settings(max_depth, min_rows, alpha) -> None:
    if isinstance(max_depth, bool) or not isinstance(max_depth, int | np.integer) or \
            not 1 <= max_depth <= MAX_DEPTH:
        raise AuditError(BAD_DEPTH.format(most=MAX_DEPTH, value=max_depth))
    if isinstance(min_rows, bool) or not isinstance(min_rows, int | np.integer) or min_rows < 1:
        raise AuditError(BAD_MIN_ROWS.format(value=min_rows))
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha <= 1:
        raise AuditError(BAD_ALPHA.format(value=alpha))


def _differs(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Which predictions are wrong (labels compared as values; "1" from a file is not 1)."""
    if y_true.dtype == y_pred.dtype:
        return np.asarray(y_true != y_pred, dtype=bool)
    pairs = zip(y_true.tolist(), y_pred.tolist(), strict=True)
    return np.asarray([plain(a) != plain(b) for a, b in pairs], dtype=bool)


# ---------------------------------------------------------------------------------------- the tree
@dataclass(frozen=True)
class _Column:
    """One column of the tree's input: a numeric feature, or one value of a categorical one."""

    feature: str
    value: Any = None  # None: numeric; else the category this indicator marks
    observed: np.ndarray | None = None  # numeric: sorted distinct values (to round thresholds)
    has_missing: bool = False  # numeric: whether some values are missing


def _design(X: pd.DataFrame) -> tuple[np.ndarray, list[_Column], list[str]]:
    parts, columns, notes = [], [], []
    for name in X.columns:
        column = X[name]
        if is_numeric(column):
            x = column.to_numpy(dtype=float)
            parts.append(x[:, None])
            missing = np.isnan(x)
            columns.append(_Column(str(name), observed=np.unique(x[~missing]),
                                   has_missing=bool(missing.any())))
            continue
        codes, uniques = pd.factorize(_categories(column), sort=False)
        counts = np.bincount(codes, minlength=len(uniques))
        order = np.argsort(-counts, kind="stable")[:MAX_CATEGORIES]  # the most frequent values
        if len(uniques) > MAX_CATEGORIES:
            notes.append(f"Column {name!r} has {len(uniques):,} values; rules use its {MAX_CATEGORIES} most "
                         "frequent ones.")
        kept = sorted(order.tolist(), key=lambda i: str(uniques[i]))
        parts.append(np.column_stack([(codes == i).astype(float) for i in kept]))
        columns += [_Column(str(name), value=uniques[i]) for i in kept]
    return np.hstack(parts), columns, notes


def _fit(design: np.ndarray, wrong: np.ndarray, *, max_depth: int, min_rows: int, seed: int):
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=min_rows, random_state=seed)
    return tree.fit(design, wrong.astype(int)).tree_


def _candidates(design: np.ndarray, columns: list[_Column], rows: np.ndarray) -> int:
    """How many splits the tree could choose from at a node with these rows (distinct values - 1)."""
    sub = design[rows]
    k = 0
    for j, column in enumerate(columns):
        x = sub[:, j]
        if column.value is not None:  # an indicator: one split when both values occur
            k += int(x.min() != x.max()) if len(x) else 0
            continue
        present = x[~np.isnan(x)]
        k += max(len(np.unique(present)) - 1, 0) + (1 if len(present) < len(x) else 0)
    return max(k, 1)


def _split_p(e1: int, n1: int, e2: int, n2: int) -> float:
    """Two-sided p-value of the two-proportion z-test (pooled) that two error rates are equal."""
    pooled = (e1 + e2) / (n1 + n2)
    if n1 == 0 or n2 == 0 or pooled in (0.0, 1.0):
        return 1.0
    z = (e1 / n1 - e2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 2 * (1 - NormalDist().cdf(abs(z)))


def _threshold(column: _Column, t: float) -> float:
    observed = column.observed
    i = int(np.searchsorted(observed, t, side="right"))  # observed[:i] <= t < observed[i:]
    if i == 0 or i == len(observed):
        return float(t)
    return roundest_between(float(observed[i - 1]), float(observed[i]))


def _nodes(tree, design, columns, X, wrong, *, min_rows, alpha, confidence) -> list[Cohort]:
    left, right = tree.children_left, tree.children_right
    missing_left = getattr(tree, "missing_go_to_left", np.zeros(tree.node_count, dtype=bool))
    order = [str(c) for c in X.columns]
    numbers = {str(n): pd.to_numeric(X[n], errors="coerce").to_numpy(dtype=float) for n in X.columns
               if is_numeric(X[n])}
    codes, levels = {}, {}
    for name in X.columns:
        if not is_numeric(X[name]):
            values, uniques = pd.factorize(_categories(X[name]), sort=False)
            codes[str(name)], levels[str(name)] = values, {v: i for i, v in enumerate(uniques.tolist())}

    def hit(cond: Condition) -> np.ndarray:  # Condition.mask on columns prepared once
        if cond.feature in numbers:
            x = numbers[cond.feature]
            with np.errstate(invalid="ignore"):
                inside = x <= cond.value if cond.op == "<=" else x > cond.value
            return np.where(np.isnan(x), cond.or_missing, inside)
        same = codes[cond.feature] == levels[cond.feature].get(_key(cond.value), -2)
        return same if cond.op == "=" else ~same

    raw: dict[int, tuple] = {}  # sklearn node -> (parent node, conditions in path order, mask)

    def visit(node: int, parent: int | None, path: tuple, mask: np.ndarray) -> None:
        raw[node] = (parent, path, mask)
        if left[node] < 0:
            return
        column = columns[tree.feature[node]]
        for child, side in ((left[node], "left"), (right[node], "right")):
            if column.value is None:
                op = "<=" if side == "left" else ">"
                goes_here = bool(missing_left[node]) == (side == "left")
                cond = Condition(column.feature, op, _threshold(column, tree.threshold[node]),
                                 or_missing=column.has_missing and goes_here)
            else:
                cond = Condition(column.feature, "!=" if side == "left" else "=", column.value)
            visit(child, node, (*path, cond), mask & hit(cond))

    visit(0, None, (), np.ones(len(X), dtype=bool))
    total_errors = int(wrong.sum())
    stats = {node: (int(m.sum()), int(wrong[m].sum())) for node, (_, _, m) in raw.items()}

    # Which splits pass the test, and which subtrees hold a passing split.
    adjusted: dict[int, float] = {}
    for node, (_, _, mask) in raw.items():
        if left[node] >= 0:
            (n1, e1), (n2, e2) = stats[left[node]], stats[right[node]]
            adjusted[node] = min(1.0, _split_p(e1, n1, e2, n2) * _candidates(design, columns, mask))

    def keeps(node: int) -> bool:
        if left[node] < 0:
            return False
        below = keeps(left[node]) | keeps(right[node])  # evaluate both: no short-circuit
        return adjusted[node] <= alpha or below

    kept_split = {node: keeps(node) for node in raw}
    out: list[Cohort] = []

    def emit(node: int, parent_id: int | None, depth: int) -> None:
        _, path, _ = raw[node]
        n, e = stats[node]
        lo, hi = wilson_interval(e, n, confidence)
        leaf = not kept_split[node]
        rule = _simplify(path, order, levels)
        cohort = Cohort(id=len(out), parent=parent_id, conditions=rule, n=n, errors=e,
                        error_rate=e / n if n else float("nan"), error_low=float(lo), error_high=float(hi),
                        coverage=e / total_errors, depth=depth, leaf=leaf,
                        p_value=None if leaf else adjusted[node])
        out.append(cohort)
        if not leaf:
            me = cohort.id
            emit(left[node], me, depth + 1)
            emit(right[node], me, depth + 1)

    emit(0, None, 0)
    return out


def _simplify(path: tuple[Condition, ...], order: list[str], levels: dict) -> tuple[Condition, ...]:
    """Merge the conditions on each column into one or two, listed in the order of the columns.

    ``levels`` holds each categorical column's values (those not excluded decide ``=`` versus ``not in``).
    """
    out = []
    for feature in order:
        mine = [c for c in path if c.feature == feature]
        if not mine:
            continue
        if mine[0].op in ("<=", ">"):
            uppers = [c for c in mine if c.op == "<="]
            lowers = [c for c in mine if c.op == ">"]
            if lowers:
                low = max(lowers, key=lambda c: c.value)
                out.append(replace(low, or_missing=all(c.or_missing for c in mine)))
            if uppers:
                high = min(uppers, key=lambda c: c.value)
                out.append(replace(high, or_missing=all(c.or_missing for c in mine)))
            continue
        equal = [c for c in mine if c.op == "="]
        if equal:
            out.append(equal[0])
            continue
        excluded = tuple(sorted({c.value for c in mine}, key=str))
        left_over = [v for v in sorted(levels[feature], key=str) if v not in excluded]
        if len(left_over) == 1:
            out.append(Condition(feature, "=", left_over[0]))
        elif len(excluded) == 1:
            out.append(Condition(feature, "!=", excluded[0]))
        else:
            out.append(Condition(feature, "not in", excluded))
    return tuple(out)


# ---------------------------------------------------------------------------------------- cohorts as data
def cohort_dataset(dataset, cohort: Cohort):
    """Return the dataset restricted to a cohort's rows (renumbered from 0), with a digest of its own.

    The digest is the SHA-256 of the parent's digest and the rule, so results cached for the whole data and
    for the cohort never mix.
    """
    mask = cohort.mask(dataset.frame)
    digest = hashlib.sha256(f"{dataset.sha256}\ncohort\n{cohort.rule}".encode()).hexdigest()
    return replace(dataset, frame=dataset.frame.loc[mask].reset_index(drop=True), sha256=digest,
                   name=f"{dataset.name} [{cohort.rule}]")


FAIRNESS_COLUMNS = ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference")


def fairness_by_cohort(dataset, analysis: ErrorAnalysis, model=None, *, sensitive: Sequence[str],
                       cohorts: Sequence[Cohort] | None = None,
                       progress: Callable[[int, int], None] | None = None, **options) -> pd.DataFrame:
    """Repeat the fairness audit (``audit_dataset``) inside each cohort; one row per cohort.

    Parameters
    ----------
    dataset, model
        As given to :func:`error_analysis_dataset`.
    analysis : ErrorAnalysis
        Its cohorts (the leaves, worst first) are audited.
    cohorts : sequence of Cohort, optional
        Audit these cohorts instead.
    sensitive : sequence of str
        The sensitive columns of the audit (several: their intersection).
    progress : callable, optional
        Called as ``progress(done, total)`` after each cohort (the dashboard's progress bar).
    **options
        Passed to ``audit_dataset`` (``min_group_size``, ``bins``, ``pos_label``, ...).

    Returns
    -------
    pandas.DataFrame
        ``cohort``, ``n``, ``error_rate``, ``groups``, the headline disparities of ``FAIRNESS_COLUMNS``
        (groups with at least ``min_group_size`` rows; None where fewer than two qualify), the
        four-fifths verdict in words and a ``note`` (the audit's sentence where a cohort cannot be audited,
        for instance when it holds a single group).
    """
    from glasswing.audits._audit import audit_dataset

    chosen = list(cohorts) if cohorts is not None else analysis.cohorts
    rows = []
    for i, cohort in enumerate(chosen):
        row: dict[str, Any] = {"cohort": cohort.rule, "n": cohort.n, "error_rate": cohort.error_rate}
        try:
            gm = audit_dataset(cohort_dataset(dataset, cohort), model, sensitive=list(sensitive), **options)
        except AuditError as err:
            row.update({"groups": None, **dict.fromkeys(FAIRNESS_COLUMNS), "four_fifths": None,
                        "note": str(err)})
        else:
            head = gm.headline()
            row.update({"groups": len(gm.counts), **{k: head.summary.get(k) for k in FAIRNESS_COLUMNS},
                        "four_fifths": head.sentence, "note": ""})
        rows.append(row)
        if progress is not None:
            progress(i + 1, len(chosen))
    return pd.DataFrame(rows)
