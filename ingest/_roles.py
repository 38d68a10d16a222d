"""Column roles: checking them against a table, applying them, and suggesting them from names and values."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from glasswing.ingest._errors import (
    AMBIGUOUS_COLUMN,
    POSITIVE_LABEL_UNKNOWN,
    ROLE_CLASH,
    SCORE_NOT_NUMERIC,
    SENSITIVE_ALL_MISSING,
    SENSITIVE_SINGLE_VALUE,
    TARGET_ALL_MISSING,
    TARGET_HAS_MISSING,
    TARGET_NOT_BINARY,
    TARGET_SINGLE_VALUE,
    UNKNOWN_COLUMN,
    IngestError,
    listing,
)
from glasswing.ingest._model import Model

log = logging.getLogger(__name__)

#: ``frame.attrs`` key set by ``ingest.read_table``: ``{name: renamed copies}`` for duplicated column names
#: whose copies hold different values, so a role naming the bare name is ambiguous.
AMBIGUOUS_ATTR = "glasswing.ambiguous"


@dataclass(frozen=True)
class ColumnRoles:
    """Which column plays which part in an audit or an explanation.

    ``features`` are the model's inputs; ``sensitive`` columns define the groups of an audit (they may
    also be features); ``prediction`` holds logged predicted labels and ``score`` logged scores, so an
    audit can run on predictions alone, without a model.
    """

    target: str | None = None
    prediction: str | None = None
    score: str | None = None
    sensitive: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    positive_label: object = None


#: Column names (lower case) that :func:`suggest_roles` takes for each role.
TARGET_NAMES = ("target", "y_true", "label", "y", "outcome", "class", "risk", "default")
PREDICTION_NAMES = ("y_pred", "prediction", "predicted", "pred")
SCORE_NAMES = ("score", "y_score", "proba", "probability")
SENSITIVE_NAMES = ("sex", "gender", "race", "ethnicity", "age_group", "religion", "nationality",
                   "disability", "marital_status")



def validate_roles(frame: pd.DataFrame, roles: ColumnRoles, *, name: str | None = None) -> None:
    """Check that ``roles`` can be used with ``frame``; raise one sentence for the first problem.

    Checks: every named column exists and is not a duplicated name whose copies differ (see
    ``ingest.read_table``); no column is both target and prediction/score/feature; the
    target has no missing values and two distinct values (or more with a ``positive_label`` that occurs
    in it); each sensitive column has at least two values; the score column is numeric.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    roles : ColumnRoles
        The roles to check.
    name : str, optional
        The table's name, used in messages.

    Raises
    ------
    IngestError
        Naming the bad column and, where it helps, the valid choices.
    """
    where = f"'{name}'" if name else "the data"
    named = [roles.target, roles.prediction, roles.score, *roles.sensitive, *roles.features]
    ambiguous = frame.attrs.get(AMBIGUOUS_ATTR, {})
    for column in named:
        if column is not None and column not in frame.columns:
            raise IngestError(UNKNOWN_COLUMN.format(column=column, where=where,
                                                    available=listing(frame.columns, limit=20)))
        if column in ambiguous:
            copies = ambiguous[column]
            raise IngestError(AMBIGUOUS_COLUMN.format(column=column, count=len(copies) + 1, where=where,
                                                      copies=listing(f"'{c}'" for c in copies)))
    singles = [("target", roles.target), ("prediction", roles.prediction), ("score", roles.score)]
    for i, (first, a) in enumerate(singles):
        for second, b in singles[i + 1:]:
            if a is not None and a == b:
                raise IngestError(ROLE_CLASH.format(column=a, first=first, second=f"the {second}"))
    for role, column in singles:
        if column is not None and column in roles.features:
            raise IngestError(ROLE_CLASH.format(column=column, first=role, second="a feature"))
    if roles.target is not None and roles.target in roles.sensitive:
        raise IngestError(ROLE_CLASH.format(column=roles.target, first="target", second="a sensitive column"))
    if roles.target is not None:
        _check_target(frame[roles.target], roles)
    for column in roles.sensitive:
        values = frame[column].dropna().unique()
        if len(values) == 0:
            raise IngestError(SENSITIVE_ALL_MISSING.format(column=column))
        if len(values) == 1:
            raise IngestError(SENSITIVE_SINGLE_VALUE.format(column=column, value=values[0]))
    if roles.score is not None:
        scores = frame[roles.score]
        if not (pd.api.types.is_numeric_dtype(scores) or pd.api.types.is_bool_dtype(scores)):
            example = scores.dropna().iloc[0] if scores.notna().any() else ""
            raise IngestError(SCORE_NOT_NUMERIC.format(column=roles.score, example=str(example)))


def _check_target(y: pd.Series, roles: ColumnRoles) -> None:
    missing = int(y.isna().sum())
    if missing == len(y):
        raise IngestError(TARGET_ALL_MISSING.format(column=y.name))
    if missing:
        raise IngestError(TARGET_HAS_MISSING.format(column=y.name, count=missing, total=len(y)))
    values = sorted_values(y)
    if len(values) == 1:
        raise IngestError(TARGET_SINGLE_VALUE.format(column=y.name, value=values[0]))
    if roles.positive_label is not None:
        if _match_label(values, roles.positive_label) is None:
            raise IngestError(POSITIVE_LABEL_UNKNOWN.format(label=roles.positive_label, column=y.name,
                                                            values=listing(values)))
    elif len(values) > 2:
        raise IngestError(TARGET_NOT_BINARY.format(column=y.name, count=len(values),
                                                   values=listing(values, limit=8)))


def sorted_values(y: pd.Series) -> list:
    values = pd.unique(y.dropna()).tolist()
    try:
        return sorted(values)
    except TypeError:  # mixed types
        return sorted(values, key=str)


def _match_label(values: Sequence, label: Any) -> Any:
    """Return the value in ``values`` equal to ``label``, comparing as text when types differ ("1" vs 1)."""
    for value in values:
        if value == label:
            return value
    for value in values:
        if str(value) == str(label):
            return value
    return None


def apply_roles(frame: pd.DataFrame, roles: ColumnRoles, *,
                name: str | None = None) -> tuple[pd.DataFrame, ColumnRoles]:
    """Validate ``roles`` and return the frame and roles ready to use.

    The positive label is matched to the target's own type (``"1"`` becomes ``1``). A target with more
    than two values is binarised one-vs-rest (1 for the positive label, else 0), and so is the prediction
    column; the roles' positive label is then 1. The input frame is never modified.

    Raises
    ------
    IngestError
        See :func:`validate_roles`.
    """
    validate_roles(frame, roles, name=name)
    if roles.target is None or roles.positive_label is None:
        return frame, roles
    values = sorted_values(frame[roles.target])
    positive = _match_label(values, roles.positive_label)
    if len(values) <= 2:
        return frame, replace(roles, positive_label=positive)
    log.info("binarising target %r: %r against the %d other values", roles.target, positive, len(values) - 1)
    frame = frame.copy()
    for column in (roles.target, roles.prediction):
        if column is not None:
            frame[column] = (frame[column].astype(str) == str(positive)).astype(np.int64)
    return frame, replace(roles, positive_label=1)


def suggest_roles(frame: pd.DataFrame, model: Model | None = None) -> ColumnRoles:
    """Guess column roles from column names and values (the dashboard's defaults).

    A target is suggested only when a column with a usual name (``target``, ``label``, ``y``, ...) has
    exactly two values and none missing; sensitive columns only when a usual name (``sex``, ``race``, ...)
    has at least two values. Features are the model's inputs when a model is given and the frame has
    them all, else every column that has no other role.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    model : Model, optional
        A loaded model whose ``feature_names`` become the suggested features.

    Returns
    -------
    ColumnRoles
        Roles that pass :func:`validate_roles`.
    """
    by_lower = {str(c).lower(): c for c in frame.columns}
    unclear = frame.attrs.get(AMBIGUOUS_ATTR, {})

    def first(names, ok) -> str | None:
        candidates = [by_lower[n] for n in names if n in by_lower]
        candidates += [c for c in frame.columns if any(str(c).lower().endswith("_" + n) for n in names)]
        return next((c for c in candidates if c not in unclear and ok(frame[c])), None)

    target = first(TARGET_NAMES, lambda y: y.notna().all() and y.nunique() == 2)
    prediction = first(PREDICTION_NAMES, lambda y: y.notna().any())
    prediction = prediction if prediction != target else None
    score = first(SCORE_NAMES, pd.api.types.is_numeric_dtype)
    ambiguous = frame.attrs.get(AMBIGUOUS_ATTR, {})
    sensitive = tuple(by_lower[n] for n in SENSITIVE_NAMES if n in by_lower and by_lower[n] != target
                      and by_lower[n] not in ambiguous and frame[by_lower[n]].nunique() >= 2)
    taken = (target, prediction, score)
    found, missing = model.input_columns(list(frame.columns)) if model is not None else ([], [True])
    if model is not None and model.feature_names and not missing:
        features = tuple(f for f in found if f not in taken)
    else:
        ambiguous = frame.attrs.get(AMBIGUOUS_ATTR, {})
        features = tuple(c for c in frame.columns if c not in taken and c not in ambiguous)
    return ColumnRoles(target=target, prediction=prediction, score=score, sensitive=sensitive,
                       features=features)
