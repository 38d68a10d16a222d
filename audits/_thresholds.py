"""Per-group thresholds set by hand: each group's decisions cut its scores at its own threshold.

A decision-level intervention next to fairlearn's ``ThresholdOptimizer`` (which picks randomised
thresholds for a constraint): here the analyst picks one threshold per group and sees the rates per group
and the disparities that result, with the audit engine's intervals, on adequate groups only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from glasswing.audits._metrics import group_metrics
from glasswing.audits._result import GroupMetrics
from glasswing.audits._table import group_label
from glasswing.audits._validate import (
    AuditError,
    as_array,
    as_scores,
    check_length,
    group_codes,
    missing_mask,
    resolve_pos_label,
    sensitive_columns,
)

UNKNOWN_GROUP = "There is no group {group!r}; the groups are: {valid}."
BAD_THRESHOLD = "The threshold of {group} must be a number; got {value!r}."


@dataclass(frozen=True)
class RowGroups:
    """The group of each row: a code per row and the display label of each code (``group_label``)."""

    codes: np.ndarray
    labels: list[str]
    names: tuple[str, ...]


def row_groups(sensitive_features, n: int) -> RowGroups:
    """Factorise the sensitive features as the audit does (intersections, "(missing)") into row codes."""
    groups = group_codes(sensitive_columns(sensitive_features, n))
    return RowGroups(groups.codes, [group_label(k) for k in groups.index], groups.names)


def binary_labels(y_true, pos_label) -> tuple[np.ndarray, object, object]:
    """Return (y_true, positive label, the other label) for a binary outcome (rows may be missing)."""
    yt = as_array(y_true, "y_true")
    present = yt[~missing_mask(yt)]
    positive = resolve_pos_label(present, None, pos_label, "y_true", "")
    others = [v for v in pd.unique(present).tolist() if v != positive]
    return yt, positive, others[0] if others else (0 if positive != 0 else 1)


@dataclass(frozen=True)
class GroupThresholds:
    """Decisions with one threshold per group, and the same rows decided at a single threshold.

    Attributes
    ----------
    thresholds : pandas.Series
        The threshold of each group (indexed by the group's label).
    metrics : GroupMetrics
        Rates per group (with Wilson intervals) and disparities (with score intervals) of the per-group
        decisions; its headline uses the adequate groups only.
    single : GroupMetrics
        The same at ``default_threshold`` for every group, to compare with.
    y_pred : numpy.ndarray
        The per-group decisions, as labels (``pos_label`` where the score reaches the group's threshold).
    default_threshold : float
    """

    thresholds: pd.Series
    metrics: GroupMetrics
    single: GroupMetrics
    y_pred: np.ndarray
    default_threshold: float

    def rates(self, metrics=("selection_rate", "true_positive_rate", "false_positive_rate", "accuracy")
              ) -> pd.DataFrame:
        """One row per group: n, threshold, and each rate with its Wilson interval (``rate``, low, high)."""
        by_group, bounds = self.metrics.by_group, self.metrics.intervals
        index = pd.Index(self.metrics.labels, name=" · ".join(self.metrics.sensitive_names))
        cuts = self.thresholds.reindex(self.metrics.labels).to_numpy()
        frame = pd.DataFrame({"n": by_group["n"].to_numpy(), "threshold": cuts}, index=index)
        for m in metrics:
            frame[m] = by_group[m].to_numpy()
            frame[f"{m} low"] = bounds[(m, "low")].to_numpy()
            frame[f"{m} high"] = bounds[(m, "high")].to_numpy()
        return frame


def group_thresholds(y_true, y_score, sensitive_features, thresholds: Mapping[str, float] | None = None, *,
                     default_threshold: float = 0.5, pos_label=None, min_group_size: int = 30,
                     confidence: float = 0.95) -> GroupThresholds:
    """Decide each group's rows at its own threshold (``score >= threshold`` is positive) and audit them.

    Parameters
    ----------
    y_true : array-like
        True labels (binary).
    y_score : array-like
        Score of the positive label for each row (for a model, ``predict_proba[:, positive]``).
    sensitive_features : array-like, Series, DataFrame or dict
        As for :func:`group_metrics` (several columns mean their intersection; bands already applied).
    thresholds : mapping of str to float, optional
        Threshold by group label (``"female"``; ``"female · age <27"`` for an intersection, as
        ``GroupMetrics.labels`` shows them); groups not named use ``default_threshold``.
    default_threshold : float, default 0.5
        The threshold of the groups ``thresholds`` does not name, and of every group in ``single``.
    pos_label : optional
        The favourable label (by default as :func:`group_metrics` chooses it).
    min_group_size, confidence
        As for :func:`group_metrics`: the headline uses groups with at least ``min_group_size`` rows.

    Returns
    -------
    GroupThresholds

    Examples
    --------
    >>> result = group_thresholds([1, 0, 1, 0], [0.9, 0.6, 0.4, 0.2], list("aabb"), {"b": 0.3})
    >>> result.y_pred.tolist(), result.metrics.by_group["selection_rate"].tolist()
    ([1, 1, 1, 0], [1.0, 0.5])
    """
    yt, positive, negative = binary_labels(y_true, pos_label)
    score = as_scores(y_score, "y_score")
    check_length(score, "y_score", len(yt), "y_true")
    groups = row_groups(sensitive_features, len(yt))
    chosen = dict(thresholds or {})
    unknown = [g for g in chosen if g not in groups.labels]
    if unknown:
        raise AuditError(UNKNOWN_GROUP.format(group=unknown[0], valid=", ".join(groups.labels)))
    cut = np.full(len(groups.labels), float(default_threshold))
    for g, t in chosen.items():
        if isinstance(t, bool) or not isinstance(t, int | float | np.number) or not np.isfinite(t):
            raise AuditError(BAD_THRESHOLD.format(group=g, value=t))
        cut[groups.labels.index(g)] = float(t)
    decide = score >= cut[groups.codes]
    y_pred = np.where(decide, positive, negative)
    if not np.isfinite(score).all():  # a row without a score has no decision; the audit drops it
        y_pred = np.where(np.isfinite(score), y_pred.astype(object), None)
    options = {"pos_label": positive, "min_group_size": min_group_size, "confidence": confidence}
    single = group_metrics(yt, None, sensitive_features, y_score=score, threshold=float(default_threshold),
                           **options)
    metrics = group_metrics(yt, y_pred, sensitive_features, **options)
    return GroupThresholds(pd.Series(cut, index=groups.labels, name="threshold"), metrics, single, y_pred,
                           float(default_threshold))
