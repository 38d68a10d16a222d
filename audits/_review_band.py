"""A human-review band: decisions whose score lies close to the threshold go to a person.

Rows with ``threshold - width / 2 <= score <= threshold + width / 2`` are routed to review; the others are
decided automatically (``score >= threshold`` is positive). The result shows, per group, the share
routed to review (with Wilson intervals) and the disparities among the automated decisions only (the audit
engine's, on adequate groups), beside the disparities when every row is decided automatically.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from glasswing.audits._intervals import wilson_interval
from glasswing.audits._metrics import group_metrics
from glasswing.audits._result import GroupMetrics
from glasswing.audits._thresholds import binary_labels, row_groups
from glasswing.audits._validate import AuditError, as_scores, check_length, sensitive_columns

BAD_WIDTH = "The review band's width must be a number from 0 to 1; got {value!r}."
BAD_BAND_THRESHOLD = "The threshold must be a number; got {value!r}."
ALL_REVIEWED = ("Every row's score lies within the review band ({low:g} to {high:g}), so nothing is decided "
                "automatically; narrow the band.")
REVIEWED_NOTE = ("{k} of {n} rows went to review (scores from {low:.3g} to {high:.3g}); these are the "
                 "automated decisions on the others.")
BAND_RULE = ("Scores from {low:.3g} to {high:.3g} (threshold {threshold:.3g} ± {half:.3g}) go to a person; "
             "the others are decided automatically, a score ≥ {threshold:.3g} being {positive!r}.")


@dataclass(frozen=True)
class ReviewBand:
    """The review band applied to scored rows.

    Attributes
    ----------
    threshold, width, low, high : float
        The decision threshold and the band ``[low, high] = threshold ∓ width / 2`` routed to review.
    in_band : numpy.ndarray of bool
        Whether each row goes to review.
    shares : pandas.DataFrame
        Per group (by label): n, reviewed, share (reviewed / n), low and high (Wilson interval of the share).
    automated : GroupMetrics
        The audit of the automated decisions only (rows outside the band).
    all_automated : GroupMetrics
        The audit when every row is decided at the threshold (no band), to compare with.
    positive_label
    """

    threshold: float
    width: float
    low: float
    high: float
    in_band: np.ndarray
    shares: pd.DataFrame
    automated: GroupMetrics
    all_automated: GroupMetrics
    positive_label: object

    @property
    def rule(self) -> str:
        """The band in one sentence, for the page, the report and the command line."""
        return BAND_RULE.format(low=self.low, high=self.high, threshold=self.threshold, half=self.width / 2,
                                positive=self.positive_label)

    @property
    def share_reviewed(self) -> float:
        """The share of all rows routed to review."""
        return float(self.in_band.mean()) if len(self.in_band) else 0.0

    def queue(self, frame: pd.DataFrame, score) -> pd.DataFrame:
        """Return the rows routed to review: their columns of ``frame``, the score and the automatic decision.

        Ordered closest to the threshold first (the hardest cases); ``frame`` holds the scored rows in order.
        """
        score = np.asarray(score, dtype=float)
        rows = frame.loc[self.in_band].copy()
        rows["score"] = score[self.in_band]
        rows["decision_without_review"] = np.where(rows["score"] >= self.threshold, "positive", "negative")
        order = np.argsort(np.abs(rows["score"].to_numpy() - self.threshold), kind="stable")
        return rows.iloc[order]


def review_band(y_true, y_score, sensitive_features, *, threshold: float = 0.5, width: float = 0.1,
                pos_label=None, min_group_size: int = 30, confidence: float = 0.95) -> ReviewBand:
    """Route the rows whose score lies within ``width / 2`` of ``threshold`` to review; audit the rest.

    Parameters
    ----------
    y_true : array-like
        True labels (binary).
    y_score : array-like
        Score of the positive label for each row.
    sensitive_features : array-like, Series, DataFrame or dict
        As for :func:`group_metrics` (several columns mean their intersection).
    threshold : float, default 0.5
        Automated decisions: ``score >= threshold`` is positive.
    width : float, default 0.1
        Width of the band around the threshold, from 0 (no review) to 1.
    pos_label : optional
        The favourable label (by default as :func:`group_metrics` chooses it).
    min_group_size, confidence
        As for :func:`group_metrics`; also the level of the shares' Wilson intervals.

    Returns
    -------
    ReviewBand

    Raises
    ------
    AuditError
        For a width outside [0, 1], or a band that holds every row.

    Examples
    --------
    >>> band = review_band([1, 0, 1, 0], [0.9, 0.52, 0.45, 0.1], list("aabb"), width=0.1, min_group_size=1)
    >>> band.in_band.tolist(), band.shares["share"].tolist()
    ([False, True, True, False], [0.5, 0.5])
    """
    if isinstance(width, bool) or not isinstance(width, int | float | np.number) or not 0 <= width <= 1:
        raise AuditError(BAD_WIDTH.format(value=width))
    if isinstance(threshold, bool) or not isinstance(threshold, int | float | np.number) \
            or not np.isfinite(threshold):
        raise AuditError(BAD_BAND_THRESHOLD.format(value=threshold))
    yt, positive, negative = binary_labels(y_true, pos_label)
    score = as_scores(y_score, "y_score")
    check_length(score, "y_score", len(yt), "y_true")
    groups = row_groups(sensitive_features, len(yt))
    low, high = float(threshold) - width / 2, float(threshold) + width / 2
    in_band = (score >= low) & (score <= high)
    if in_band.all():
        raise AuditError(ALL_REVIEWED.format(low=low, high=high))
    n = np.bincount(groups.codes, minlength=len(groups.labels))
    reviewed = np.bincount(groups.codes, in_band.astype(float), minlength=len(groups.labels))
    lo, hi = wilson_interval(reviewed, n, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = reviewed / n
    shares = pd.DataFrame({"n": n, "reviewed": reviewed.astype(int), "share": share, "low": lo, "high": hi},
                          index=pd.Index(groups.labels, name=" · ".join(groups.names)))
    options = {"pos_label": positive, "min_group_size": min_group_size, "confidence": confidence}
    keep = ~in_band
    columns = {k: v[keep] if isinstance(v, pd.Series) else np.asarray(v)[keep]
               for k, v in sensitive_columns(sensitive_features, len(yt)).items()}
    automated = group_metrics(yt[keep], np.where(score[keep] >= threshold, positive, negative), columns,
                              **options)
    note = REVIEWED_NOTE.format(k=int(in_band.sum()), n=len(yt), low=low, high=high)
    automated = replace(automated, notes=(note, *automated.notes))
    every = group_metrics(yt, None, sensitive_features, y_score=score, threshold=float(threshold), **options)
    return ReviewBand(float(threshold), float(width), low, high, in_band, shares, automated, every, positive)
