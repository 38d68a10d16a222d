"""A tabular model seen as *preprocessing + final estimator*, with its columns mapped back to the features.

One-hot columns are summed back into their source feature through ``TabularModel.to_features``; the
categories the pipeline's encoders learned tell which features are categorical and which values the model
knows. The libraries themselves (shap, lime) are imported only when an explanation is computed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from glasswing.explainers._registry import ExplainerError

log = logging.getLogger(__name__)

NOT_A_TABLE = "Tabular explainers take a table of rows (a pandas DataFrame); got {kind}."
NO_ROWS = "There are no rows to explain."
UNSEEN_CATEGORY = "'{value}' is not a value of {feature} seen in training; known values: {known}."


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
        """Return the columns of ``inputs`` that feed the model, in its order, as ``inputs`` names them.

        Matched by ``Model.input_frame``: by name, then with ``-``, spaces and dots read as ``_`` (skl2onnx's
        renaming); a nameless ONNX model takes the numeric columns. A sentence names what is missing.
        """
        if not isinstance(inputs, pd.DataFrame):
            raise ExplainerError(NOT_A_TABLE.format(kind=type(inputs).__name__))
        return self.model.input_frame(inputs, data="the table")

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


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds of probabilities, clipped away from 0 and 1 so that they stay finite."""
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def known_categories(model: Any, reference: pd.DataFrame | None = None) -> dict[str, tuple]:
    """Feature -> the values the model knows for each categorical feature.

    From the encoders inside a scikit-learn pipeline; for other models (or features no encoder saw), the
    values of non-numeric columns in ``reference`` (e.g. the training or audit data).
    """
    tm = tabular_model(model)
    known = dict(tm.categories)
    if reference is not None:  # the reference's own names (an ONNX input may be spelt with '_')
        columns = model.input_columns(list(reference.columns))[0] if tm.features else reference.columns
        for c in columns:
            if c not in known and not pd.api.types.is_numeric_dtype(reference[c]):
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
