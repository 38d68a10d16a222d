"""What the tabular explainers share: model plumbing, the codec, SHAP's algorithm choice, row parsing.

This module holds what the three share: the model seen as *preprocessing + final estimator* with a map
from the preprocessed columns back to the original features (so one-hot columns are summed back into
their source feature), the numeric coding of categorical columns for samplers that need numbers, target
resolution, the choice of SHAP algorithm, and row selection. The libraries themselves (shap, lime) are
imported only when an explanation is computed, so importing ``explainers`` stays fast.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from glasswing.explainers._registry import ExplainerError, Param

log = logging.getLogger(__name__)

# --- sentences ---------------------------------------------------------------------------------------
UNKNOWN_TARGET = "Class {target!r} is not one of the model's classes: {classes}."
MISSING_COLUMNS = "The rows lack the column(s) {missing} that the model needs; they have: {have}."
NOT_A_TABLE = "Tabular explainers take a table of rows (a pandas DataFrame); got {kind}."
NO_ROWS = "There are no rows to explain."
ROW_OUT_OF_RANGE = "Row {row} is out of range; the data has {n:,} rows (0 to {last:,})."
BAD_ROW_SPEC = "'{spec}' is not a row selection; use an index (7), a range (0:100) or a list (3,7,9)."
UNSEEN_CATEGORY = "'{value}' is not a value of {feature} seen in training; known values: {known}."
TREE_NEEDS = "SHAP's TreeExplainer needs a scikit-learn tree ensemble; this is {name}."
TREE_MULTICLASS_GB = ("SHAP's TreeExplainer handles GradientBoostingClassifier with two classes only; this "
                      "one has {n}.")
LINEAR_NEEDS = "SHAP's LinearExplainer needs a logistic regression; this is {name}."
UNMAPPABLE = ("{explainer} explains the preprocessed columns, and this pipeline's {step} step cannot be "
              "mapped back to the original features.")
UNKNOWN_ALGORITHM = "SHAP has no algorithm '{name}'; choose one of: {names}."

#: Final estimators whose trees shap's TreeExplainer reads, and the unit of their leaves.
TREE_ENSEMBLES = {
    "DecisionTreeClassifier": "probability", "RandomForestClassifier": "probability",
    "ExtraTreesClassifier": "probability", "GradientBoostingClassifier": "log-odds",
    "HistGradientBoostingClassifier": "log-odds",
}
LINEAR_MODELS = ("LogisticRegression", "LogisticRegressionCV")
SHAP_ALGORITHMS = ("auto", "tree", "linear", "permutation", "kernel")
ALGORITHM_NAMES = {"tree": "TreeExplainer", "linear": "LinearExplainer",
                   "permutation": "PermutationExplainer", "kernel": "KernelExplainer"}
FAST_ALGORITHMS = ("tree", "linear")
#: How many rows LIME learns feature statistics (quartiles, category frequencies) from.
LIME_TRAINING_ROWS = 1000


# --- the model as preprocessing + final estimator ------------------------------------------------------
class _Unmappable(Exception):
    """A preprocessing step whose output columns cannot be traced to single input columns."""


@dataclass(frozen=True, eq=False)
class TabularModel:
    """A tabular ``Model`` split into what explainers need.

    Attributes
    ----------
    model : ingest.Model
    features : tuple of str or None
        The original input columns, in order (None: take the table's columns as they come).
    pre : object or None
        The fitted preprocessing (a scikit-learn pipeline of every step but the last), or None.
    final : object or None
        The final scikit-learn estimator (None for ONNX and other black boxes).
    source : numpy.ndarray or None
        For each preprocessed column, the index of the original feature it comes from.
    unmapped : str or None
        Why ``source`` could not be built (the step's class name), when it could not.
    categories : dict
        Feature -> the categories an encoder in the pipeline learned (the categorical features).
    """

    model: Any
    features: tuple[str, ...] | None
    pre: Any = None
    final: Any = None
    source: np.ndarray | None = None
    unmapped: str | None = None
    categories: dict = field(default_factory=dict)

    @property
    def final_name(self) -> str:
        """The final estimator's class name, or a description of a black-box model."""
        if self.final is not None:
            return type(self.final).__name__
        return "an ONNX model" if self.model.kind == "onnx" else f"a {self.model.kind} model"

    def select(self, inputs: Any) -> pd.DataFrame:
        """Return the model's feature columns of ``inputs`` in order (a sentence if some are missing)."""
        if not isinstance(inputs, pd.DataFrame):
            raise ExplainerError(NOT_A_TABLE.format(kind=type(inputs).__name__))
        if self.features is None:
            return inputs
        missing = [f for f in self.features if f not in inputs.columns]
        if missing:
            raise ExplainerError(MISSING_COLUMNS.format(missing=", ".join(missing),
                                                        have=", ".join(map(str, inputs.columns))))
        return inputs.loc[:, list(self.features)]

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Return the preprocessed matrix the final estimator sees (dense float)."""
        Xt = self.pre.transform(X) if self.pre is not None else X
        if hasattr(Xt, "toarray"):
            Xt = Xt.toarray()
        return np.asarray(Xt, dtype=float)

    def final_input(self, Xt: np.ndarray) -> Any:
        """``Xt`` as the final estimator was fitted on it: a DataFrame when it saw column names."""
        names = getattr(self.final, "feature_names_in_", None)
        if names is not None and len(names) == Xt.shape[1]:
            return pd.DataFrame(Xt, columns=names)
        return Xt

    def to_features(self, values: np.ndarray) -> np.ndarray:
        """Sum attributions over preprocessed columns (last axis) into their original features."""
        n = len(self.features) if self.features is not None else int(self.source.max()) + 1
        grouping = np.zeros((len(self.source), n))
        grouping[np.arange(len(self.source)), self.source] = 1.0
        return values @ grouping


def tabular_model(model: Any) -> TabularModel:
    """Split a tabular ``Model`` into preprocessing and final estimator and map columns back to features.

    Parameters
    ----------
    model : ingest.Model
        A tabular model (scikit-learn estimator or pipeline, ONNX graph).

    Returns
    -------
    TabularModel
    """
    features = tuple(model.feature_names) if model.feature_names is not None else None
    if model.kind != "sklearn":
        return TabularModel(model, features)
    est = model.estimator
    pre, final = None, est
    if hasattr(est, "steps"):
        final = est.steps[-1][1]
        pre = est[:-1] if len(est.steps) > 1 else None
    n_in = len(features) if features is not None else getattr(est, "n_features_in_", 0)
    source, unmapped = np.arange(n_in), None
    if pre is not None:
        try:
            source = _source_columns(pre, n_in)
        except _Unmappable as err:
            source, unmapped = None, str(err)
    categories = _encoder_categories(pre, features) if pre is not None and features else {}
    return TabularModel(model, features, pre, final, source, unmapped, categories)


def _source_columns(step: Any, n_in: int) -> np.ndarray:
    """For each output column of a fitted transformer, the index of the input column it comes from."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    if step is None or step == "passthrough":
        return np.arange(n_in)
    if isinstance(step, Pipeline):
        source = np.arange(n_in)
        for _, sub in step.steps:
            source = source[_source_columns(sub, len(source))]
        return source
    if isinstance(step, ColumnTransformer):
        width = max((s.stop for s in step.output_indices_.values()), default=0)
        source = np.full(width, -1)
        for name, trans, _ in step.transformers_:
            out = step.output_indices_[name]
            if out.stop == out.start or trans == "drop":
                continue
            cols = np.asarray(step._transformer_to_input_indices[name], dtype=int)
            source[out] = cols[_source_columns(trans, len(cols))]
        if (source < 0).any():
            raise _Unmappable(type(step).__name__)
        return source
    if isinstance(step, OneHotEncoder):
        # Columns per input feature after dropped and infrequent categories (scikit-learn >= 1.1).
        counts = getattr(step, "_n_features_outs", None)
        if counts is None or len(counts) != n_in:
            raise _Unmappable(type(step).__name__)
        return np.repeat(np.arange(n_in), counts)
    try:
        n_out = len(step.get_feature_names_out())
    except Exception:  # a transformer without output names: trust its shape only if it keeps n columns
        n_out = getattr(step, "n_features_out_", None)
    if n_out == n_in:
        return np.arange(n_in)
    raise _Unmappable(type(step).__name__)


def _encoder_categories(pre: Any, features: tuple[str, ...]) -> dict[str, tuple]:
    """Feature -> categories learned by the encoders (OneHotEncoder, OrdinalEncoder) inside ``pre``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    found: dict[str, tuple] = {}

    def walk(step: Any, cols: list[int]) -> None:
        if isinstance(step, Pipeline):
            for _, sub in step.steps:  # steps before the encoder must keep the columns as they are
                walk(sub, cols)
                if hasattr(sub, "categories_") or not _keeps_columns(sub, len(cols)):
                    break
        elif isinstance(step, ColumnTransformer):
            for name, trans, _ in step.transformers_:
                if trans not in ("drop", "passthrough"):
                    walk(trans, [cols[i] for i in step._transformer_to_input_indices[name]])
        elif hasattr(step, "categories_") and len(step.categories_) == len(cols):
            for col, cats in zip(cols, step.categories_, strict=True):
                found[features[col]] = tuple(c for c in cats.tolist() if not _is_missing(c))

    walk(pre, list(range(len(features))))
    return found


def _keeps_columns(step: Any, n_in: int) -> bool:
    try:
        return len(step.get_feature_names_out()) == n_in
    except Exception:  # no output names: assume the step reshapes the columns
        return False


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


# --- categorical columns as numbers -------------------------------------------------------------------
class Codec:
    """Codes a table's categorical columns as integers (and back), for samplers that need numbers.

    A column is categorical when an encoder in the model learned categories for it or when it is not
    numeric. Categories are the encoder's, then any other value seen in ``frames``.
    """

    def __init__(self, columns: Sequence[str], frames: Sequence[pd.DataFrame], categories: dict):
        self.columns = list(columns)
        self.dtypes = {c: frames[0][c].dtype for c in self.columns}
        self.categories: dict[str, np.ndarray] = {}
        for c in self.columns:
            if c in categories or not pd.api.types.is_numeric_dtype(self.dtypes[c]):
                values = pd.concat([f[c] for f in frames], ignore_index=True)
                known = list(categories.get(c, ()))
                seen = pd.unique(values.dropna()).tolist()
                extra = sorted((v for v in seen if v not in set(known)), key=str)
                missing = [None] if values.isna().any() else []  # a missing value is a category of its own
                self.categories[c] = np.array(known + extra + missing, dtype=object)

    @property
    def categorical_indices(self) -> list[int]:
        """Positions of the categorical columns."""
        return [i for i, c in enumerate(self.columns) if c in self.categories]

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Return ``frame`` as a float matrix, categorical values replaced by their category's index."""
        out = np.empty((len(frame), len(self.columns)))
        for i, c in enumerate(self.columns):
            if c in self.categories:
                lookup = {v: k for k, v in enumerate(self.categories[c].tolist())}
                column = frame[c].astype(object).where(frame[c].notna(), None)
                out[:, i] = [lookup.get(v, np.nan) for v in column.tolist()]
            else:
                out[:, i] = frame[c].to_numpy(dtype=float)
        return out

    def decode(self, Z: np.ndarray) -> pd.DataFrame:
        """Return the table ``encode`` would turn into ``Z`` (category indices rounded to the nearest)."""
        data = {}
        for i, c in enumerate(self.columns):
            if c in self.categories:
                cats = self.categories[c]
                codes = np.clip(np.nan_to_num(Z[:, i], nan=0).round().astype(int), 0, len(cats) - 1)
                data[c] = _restore_dtype(cats[codes], self.dtypes[c])
            else:
                data[c] = Z[:, i]
        return pd.DataFrame(data, columns=self.columns)


def _restore_dtype(col: np.ndarray, dtype: Any) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(dtype) and not any(v is None for v in col):
        return col.astype(dtype)
    return col


# --- targets, outputs, backgrounds ---------------------------------------------------------------------
def class_index(model: Any, target: Any) -> int:
    """Return the position of ``target`` in ``model.classes_`` (matching ``"1"`` to ``1`` too)."""
    classes = list(np.asarray(model.classes_).tolist())
    if target in classes:
        return classes.index(target)
    as_text = [str(c) for c in classes]
    if str(target) in as_text:
        return as_text.index(str(target))
    raise ExplainerError(UNKNOWN_TARGET.format(target=target, classes=", ".join(as_text)))


def target_indices(model: Any, proba: np.ndarray, target: Any) -> np.ndarray:
    """Return the class position to explain for each row: ``target``'s, or the predicted class."""
    if target is None:
        return np.argmax(proba, axis=1)
    return np.full(len(proba), class_index(model, target))


def class_labels(model: Any) -> list:
    """Return the model's class labels as plain Python values (``numpy.int64(1)`` becomes ``1``)."""
    return np.asarray(model.classes_).tolist()


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds of probabilities, clipped away from 0 and 1 so that they stay finite."""
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def sample_rows(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Return a seeded random sample of ``n`` rows of ``frame`` (all of it when it has no more)."""
    if len(frame) <= n:
        return frame
    idx = np.sort(np.random.default_rng(seed).choice(len(frame), size=int(n), replace=False))
    return frame.iloc[idx]


# --- choosing the SHAP algorithm ------------------------------------------------------------------------
def _why_not_tree(tm: TabularModel) -> str | None:
    name = tm.final_name
    if tm.final is None or name not in TREE_ENSEMBLES:
        return TREE_NEEDS.format(name=name)
    if name == "GradientBoostingClassifier" and len(tm.model.classes_) > 2:
        return TREE_MULTICLASS_GB.format(n=len(tm.model.classes_))
    if tm.source is None:
        return UNMAPPABLE.format(explainer="TreeExplainer", step=tm.unmapped)
    return None


def _why_not_linear(tm: TabularModel) -> str | None:
    if tm.final is None or tm.final_name not in LINEAR_MODELS:
        return LINEAR_NEEDS.format(name=tm.final_name)
    if tm.source is None:
        return UNMAPPABLE.format(explainer="LinearExplainer", step=tm.unmapped)
    return None


_CHECKS = {"tree": _why_not_tree, "linear": _why_not_linear,
           "permutation": lambda tm: None, "kernel": lambda tm: None}
_WHY = {
    "tree": "{name} is a tree ensemble, so TreeExplainer computes exact SHAP values from its trees "
            "(path-dependent, in {output}).",
    "linear": "{name} is linear in the log-odds, so LinearExplainer computes exact SHAP values: each "
              "coefficient times the feature's distance from the background mean.",
    "permutation": "SHAP's Permutation explainer needs only the model's predictions; it averages feature "
                   "orderings against a background sample (in log-odds).",
    "kernel": "SHAP's Kernel explainer needs only the model's predictions; it fits a weighted linear model "
              "over feature coalitions against a background sample (in log-odds).",
}


def shap_algorithm(model: Any, algorithm: str = "auto") -> tuple[str, str]:
    """Choose the SHAP algorithm for ``model``: the first of tree, linear, permutation that applies.

    Parameters
    ----------
    model : ingest.Model
        A tabular model.
    algorithm : {"auto", "tree", "linear", "permutation", "kernel"}
        ``"auto"`` walks the list; any other value is checked and used.

    Returns
    -------
    (str, str)
        The algorithm (``"tree"``, ...) and, in words, why it was chosen.

    Raises
    ------
    ExplainerError
        When the requested algorithm cannot explain this model (the sentence says why).
    """
    return choose_algorithm(tabular_model(model), algorithm)


def choose_algorithm(tm: TabularModel, algorithm: str = "auto") -> tuple[str, str]:
    """``shap_algorithm`` for a model already split by ``tabular_model``."""
    if algorithm not in SHAP_ALGORITHMS:
        raise ExplainerError(UNKNOWN_ALGORITHM.format(name=algorithm, names=", ".join(SHAP_ALGORITHMS)))
    if algorithm != "auto":
        why = _CHECKS[algorithm](tm)
        if why is not None:
            raise ExplainerError(why)
        return algorithm, "Chosen by you. " + _why(algorithm, tm)
    for name in ("tree", "linear", "permutation"):
        if _CHECKS[name](tm) is None:
            return name, _why(name, tm)
    raise AssertionError("the permutation explainer applies to every tabular model")  # pragma: no cover


def _why(algorithm: str, tm: TabularModel) -> str:
    output = TREE_ENSEMBLES.get(tm.final_name, "")
    if output == "log-odds" and len(tm.model.classes_) > 2:
        output = "raw class scores"
    return _WHY[algorithm].format(name=tm.final_name, output=output)


# --- rows and categories --------------------------------------------------------------------------------
def rows_from_spec(spec: str | int, n_rows: int) -> list[int]:
    """Parse a row selection such as ``"7"``, ``"0:100"`` or ``"3,7,9"`` (``a:b`` excludes ``b``).

    Parameters
    ----------
    spec : str or int
        Comma-separated indices and ``start:stop`` ranges (0-based, ``stop`` excluded; ``start:`` runs to
        the last row).
    n_rows : int
        How many rows the data has.

    Returns
    -------
    list of int

    Examples
    --------
    >>> rows_from_spec("0:3,7", 10)
    [0, 1, 2, 7]
    """
    rows: list[int] = []
    text = str(spec).replace(" ", "")
    if not text:
        raise ExplainerError(BAD_ROW_SPEC.format(spec=spec))
    for part in text.split(","):
        match = re.fullmatch(r"(\d*):(\d*)|(\d+)", part)
        if match is None:
            raise ExplainerError(BAD_ROW_SPEC.format(spec=spec))
        if match.group(3) is not None:
            rows.append(int(match.group(3)))
        else:
            start = int(match.group(1) or 0)
            stop = int(match.group(2)) if match.group(2) else n_rows
            if start >= stop:
                raise ExplainerError(BAD_ROW_SPEC.format(spec=spec))
            if stop > n_rows:
                raise ExplainerError(ROW_OUT_OF_RANGE.format(row=stop - 1, n=n_rows, last=n_rows - 1))
            rows.extend(range(start, stop))
    beyond = [row for row in rows if row >= n_rows]
    if beyond:
        raise ExplainerError(ROW_OUT_OF_RANGE.format(row=max(beyond), n=n_rows, last=n_rows - 1))
    return rows


def known_categories(model: Any, reference: pd.DataFrame | None = None) -> dict[str, tuple]:
    """Feature -> the values the model knows for each categorical feature.

    From the encoders inside a scikit-learn pipeline; for other models (or features no encoder saw), the
    values of non-numeric columns in ``reference`` (e.g. the training or audit data).
    """
    tm = tabular_model(model)
    known = dict(tm.categories)
    if reference is not None:
        for c in tm.features or reference.columns:
            if c not in known and c in reference and not pd.api.types.is_numeric_dtype(reference[c]):
                known[c] = tuple(sorted(pd.unique(reference[c].dropna()).tolist(), key=str))
    return known


def check_known_values(model: Any, rows: pd.DataFrame, reference: pd.DataFrame | None = None) -> None:
    """Raise ``ExplainerError`` if a categorical value in ``rows`` was not seen in training.

    A one-hot pipeline with ``handle_unknown="ignore"`` silently predicts for an unknown category as if
    the feature were absent; an explanation of that would mislead, so it is refused with a sentence.
    """
    for feature, known in known_categories(model, reference).items():
        if feature not in rows:
            continue
        allowed = set(known) | {str(k) for k in known}
        for value in rows[feature].tolist():
            if not _is_missing(value) and value not in allowed:
                raise ExplainerError(UNSEEN_CATEGORY.format(value=value, feature=feature,
                                                            known=", ".join(map(str, known))))


# --- parameters shared by the tabular explainers' registry entries --------------------------------------
SEED = Param("seed", 0, help="Seeds every random choice (background sample, perturbations).", minimum=0)


def background_param(help_text: str) -> Param:
    """Return the ``background`` parameter: a DataFrame, so not a dashboard widget."""
    return Param("background", None, help=help_text, widget=False)
