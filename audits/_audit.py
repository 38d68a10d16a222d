"""``audit_dataset``: the audit of a loaded ``ingest.Dataset`` (logged predictions or a model's).

The dashboard, the command line and the reports all call it, so that they agree.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np

from glasswing._plain import plain
from glasswing.audits._metrics import group_metrics
from glasswing.audits._result import GroupMetrics
from glasswing.audits._validate import (
    PROBABILITIES,
    AuditError,
    looks_like_probabilities,
    missing_mask,
    resolve_pos_label,
)
from glasswing.audits._verdicts import FOUR_FIFTHS

log = logging.getLogger(__name__)

NO_TARGET = "The dataset has no target column; choose which column holds the true outcome."
NO_PREDICTIONS = ("The dataset has no prediction or score column and no model is loaded; choose the column "
                  "of logged predictions, or load the model that made them.")
COLUMN_ABSENT = "Column {column!r} is not in the dataset; it has: {columns}."
NOT_TABULAR = ("The loaded model works on images, not on table rows; load a tabular model or audit logged "
               "predictions.")
CLASS_ABSENT = "The model has no class {label!r}; its classes are: {classes}."


def audit_dataset(dataset, model=None, *, sensitive=None, threshold: float | None = None, pos_label=None,
                  use_scores: bool | None = None, min_group_size: int = 30, confidence: float = 0.95,
                  n_boot: int = 1000, seed: int = 0, bins=None, merge_below: int = 0,
                  include_small_groups: bool = False, four_fifths: float = FOUR_FIFTHS,
                  selected: str | None = None, label_map=None) -> GroupMetrics:
    """Audit a loaded ``ingest.Dataset``: its logged predictions, or a model's predictions on its features.

    The one function the dashboard, the command line and the reports call, so they agree.

    Parameters
    ----------
    dataset : ingest.Dataset
        Needs a target; its sensitive role columns are used unless ``sensitive`` is given.
    model : ingest.Model, optional
        When given, predictions and scores come from ``model.predict_proba(dataset.X)``. A target whose
        values are not the model's classes is mapped onto them (``pos_label`` to the larger class, or
        ``label_map``), and the mapping is stated in the decision rule.
    sensitive : sequence of str, optional
        Sensitive columns (several: their intersection).
    threshold : float, optional
        Predict positive where the score is at least this. With a model and no threshold, the model's own
        ``predict`` is used; with logged scores and no predictions, 0.5.
    pos_label : optional
        Positive class (one-vs-rest for a multiclass target). Defaults to the dataset's positive label.
    use_scores : bool, optional
        With both logged predictions and scores: True thresholds the scores, False (default) uses the
        logged predictions (scores still give AUC and calibration).
    min_group_size, confidence, n_boot, seed
        As for :func:`audits.group_metrics`.
    bins : mapping, optional
        Cut points of numeric sensitive columns (``ingest.parse_bins``); numeric columns with many values
        are cut at their quartiles otherwise (``ingest.group_frame``, the one rule everywhere).
    merge_below : int, default 0
        Merge categories with fewer rows than this into one "other" group (stated in the notes).
    include_small_groups : bool, default False
        Put the groups under ``min_group_size`` back into the headline.
    four_fifths : float, default 0.8
        The line of the four-fifths rule.
    selected : str, optional
        What a positive prediction means, in the user's words ("predicted to reoffend").
    label_map : mapping, optional
        Target value -> model class (``ingest.parse_label_map``).

    Returns
    -------
    GroupMetrics
    """
    from glasswing import ingest

    mapping = None
    if model is not None and model.modality == "tabular" and dataset.roles.target is not None:
        dataset, mapping = ingest.map_target(dataset, list(model.classes_), positive=pos_label,
                                             label_map=label_map)
        if mapping is not None:
            pos_label = dataset.roles.positive_label
    y_true, y_pred, score, pos_label, threshold = inputs_of(dataset, model, threshold=threshold,
                                                           pos_label=pos_label, use_scores=use_scores)
    columns = list(sensitive) if sensitive is not None else list(dataset.roles.sensitive)
    frame = dataset.frame
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AuditError(COLUMN_ABSENT.format(column=missing[0], columns=", ".join(map(str, frame.columns))))
    sf, rule = (ingest.group_frame(frame, columns, bins, merge_below=merge_below) if columns
                else (None, ingest.Grouping()))
    gm = group_metrics(y_true, y_pred, sf, y_score=score, threshold=threshold, pos_label=pos_label,
                       min_group_size=min_group_size, confidence=confidence, n_boot=n_boot, seed=seed)
    decision = describe_source(dataset, model, threshold=threshold, use_scores=use_scores, selected=selected)
    if mapping is not None:
        decision["label_map"] = {str(k): plain(v) for k, v in mapping.items()}
    decision["grouping"] = rule.to_dict()
    return replace(gm, notes=tuple(rule.notes) + gm.notes, include_small_groups=include_small_groups,
                   four_fifths_threshold=float(four_fifths), decision=decision)


def describe_source(dataset, model=None, *, threshold=None, use_scores=None, selected=None) -> dict:
    """Where the audited predictions come from, in words: the ``decision`` of ``GroupMetrics``."""
    roles = dataset.roles
    if model is not None:
        source = f"model {model.name}" + (" scores" if threshold is not None else " predictions")
        score = f"the score of model {model.name}" if threshold is not None else None
    elif roles.score and (roles.prediction is None or use_scores):
        source, score = f"logged scores (column {roles.score})", roles.score
    else:
        source, score = f"logged predictions (column {roles.prediction})", None
    return {"source": source, "score": score, "selected": selected or ""}


def inputs_of(dataset, model=None, *, threshold=None, pos_label=None, use_scores=None
              ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, Any, float | None]:
    """Return (y_true, y_pred, score, pos_label, threshold) for an audit of ``dataset`` (and ``model``)."""
    if dataset.roles.target is None:
        raise AuditError(NO_TARGET)
    y_true = dataset.frame[dataset.roles.target].to_numpy()
    if pos_label is None:
        pos_label = dataset.roles.positive_label
    if model is not None:
        if model.modality != "tabular":
            raise AuditError(NOT_TABULAR)
        proba = model.predict_proba(dataset.frame if model.feature_names else dataset.X)
        classes = list(model.classes_)
        if pos_label is None:
            pos_label = resolve_pos_label(y_true[~missing_mask(y_true)], None, None, "the target", "")
        if pos_label not in classes:
            raise AuditError(CLASS_ABSENT.format(label=pos_label, classes=", ".join(map(repr, classes))))
        score = proba[:, classes.index(pos_label)]
        y_pred = None if threshold is not None else np.asarray(model.classes_)[np.argmax(proba, axis=1)]
        return y_true, y_pred, score, pos_label, threshold
    logged_pred = dataset.frame[dataset.roles.prediction].to_numpy() if dataset.roles.prediction else None
    score = dataset.frame[dataset.roles.score].to_numpy() if dataset.roles.score else None
    if logged_pred is None and score is None:
        raise AuditError(NO_PREDICTIONS)
    if score is not None and (logged_pred is None or use_scores):
        return y_true, None, score, pos_label, 0.5 if threshold is None else threshold
    example = looks_like_probabilities(logged_pred) if logged_pred.dtype.kind == "f" else None
    if example is not None and threshold is None:
        raise AuditError(PROBABILITIES.format(name=f"Column {dataset.roles.prediction!r}",
                                              example=round(example, 4)))
    return y_true, logged_pred, score, pos_label, threshold
