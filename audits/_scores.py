"""Score-based metrics per group (AUC, Brier score, calibration) and confusion counts across thresholds.

Everything is computed from *points*: one entry per row (or, out of core, per distinct rounded score)
carrying a group code, a score and the weight of positives and negatives there. Sorting once by
(group, score) gives every group's ROC curve at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CALIBRATION_BINS = 10
SCORE_METRICS = ("auc", "brier_score", "calibration_error", "mean_score")


@dataclass(frozen=True)
class ScorePoints:
    """Scores with labels and weights, aggregated or not (see the module docstring).

    ``s_sum`` is the weighted sum of scores at the point and ``sq_sum`` the weighted sum of squared errors
    ``(score - y)**2``; ``bin`` is the calibration bin of the exact score (0 to ``CALIBRATION_BINS - 1``).
    """

    group: np.ndarray
    score: np.ndarray
    pos: np.ndarray
    neg: np.ndarray
    s_sum: np.ndarray
    sq_sum: np.ndarray
    bin: np.ndarray

    @classmethod
    def from_rows(cls, group, score, y, weight=None) -> ScorePoints:
        """Points for individual rows: ``y`` is a boolean array (positive or not)."""
        score = np.asarray(score, dtype=float)
        w = np.ones(len(score)) if weight is None else np.asarray(weight, dtype=float)
        yf = np.asarray(y, dtype=float)
        return cls(group=np.asarray(group, dtype=np.int64), score=score, pos=w * yf, neg=w * (1 - yf),
                   s_sum=w * score, sq_sum=w * (score - yf) ** 2, bin=calibration_bin(score))


def calibration_bin(score: np.ndarray) -> np.ndarray:
    """Equal-width bin of each score in [0, 1] (sklearn's ``calibration_curve(strategy="uniform")`` bins)."""
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    return np.searchsorted(edges[1:-1], score).astype(np.int64)


def score_order(score: np.ndarray) -> np.ndarray:
    """Row order by descending score (NaN last): sort once, share it between several groupings."""
    return np.argsort(-np.asarray(score, dtype=float))


def score_metrics(points: ScorePoints, n_groups: int, *, by_score: np.ndarray | None = None,
                  overall_auc: float | None = None) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """AUC, Brier score, expected calibration error and mean score per group and overall.

    The AUC equals ``sklearn.metrics.roc_auc_score`` on each group's rows (ties handled the same way);
    it is NaN for a group with only one class. The Brier score and calibration error need scores in [0, 1]
    and are NaN otherwise. The calibration error is the expected calibration error over 10 equal-width
    bins: ``sum_b (n_b / n) * |mean score_b - positive rate_b|``.

    Returns
    -------
    per_group : DataFrame indexed 0..n_groups-1 with the columns of ``SCORE_METRICS``.
    overall : Series with the same metrics over all points.
    reliability : DataFrame with columns group, bin, weight, mean_score, positive_rate (non-empty bins).

    ``by_score`` is ``score_order(points.score)`` and ``overall_auc`` the AUC of all points, when the caller
    already has them (several groupings of the same rows share both).
    """
    g = points.group
    in_unit = bool(len(points.score) == 0 or (points.score.min() >= 0 and points.score.max() <= 1))
    # One sort by descending score (overall ROC), then a stable radix sort by group (every group's ROC).
    by_score = score_order(points.score) if by_score is None else by_score
    if overall_auc is None:
        overall_auc = _sorted_auc(np.zeros(len(g), dtype=np.int64), points.score[by_score],
                                  points.pos[by_score], points.neg[by_score], 1)[0]
    gs = g[by_score]
    by_group = by_score[np.argsort(gs.astype(np.int16 if n_groups < 2**15 else np.int64), kind="stable")]
    auc = _sorted_auc(g[by_group], points.score[by_group], points.pos[by_group], points.neg[by_group],
                      n_groups)

    # Calibration bins per group (additive), from which everything else follows; overall = sum over groups.
    key = g * CALIBRATION_BINS + points.bin
    size = n_groups * CALIBRATION_BINS
    b_w = np.bincount(key, points.pos + points.neg, minlength=size).reshape(n_groups, CALIBRATION_BINS)
    b_s = np.bincount(key, points.s_sum, minlength=size).reshape(n_groups, CALIBRATION_BINS)
    b_y = np.bincount(key, points.pos, minlength=size).reshape(n_groups, CALIBRATION_BINS)
    sq = np.bincount(g, points.sq_sum, minlength=n_groups)

    def table(w, s, y, sq_sum, auc_values):
        weight = w.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            frame = pd.DataFrame({"auc": auc_values, "brier_score": sq_sum / weight,
                                  "calibration_error": np.abs(s - y).sum(axis=1) / weight,
                                  "mean_score": s.sum(axis=1) / weight})
        if not in_unit:
            frame[["brier_score", "calibration_error"]] = np.nan
        return frame

    per_group = table(b_w, b_s, b_y, sq, auc)
    overall = table(b_w.sum(axis=0, keepdims=True), b_s.sum(axis=0, keepdims=True),
                    b_y.sum(axis=0, keepdims=True), sq.sum(keepdims=True), [overall_auc]).iloc[0]
    gi, bi = np.nonzero(b_w > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        reliability = pd.DataFrame({"group": gi, "bin": bi, "weight": b_w[gi, bi],
                                    "mean_score": b_s[gi, bi] / b_w[gi, bi],
                                    "positive_rate": b_y[gi, bi] / b_w[gi, bi]})
    return per_group, overall, reliability if in_unit else reliability.iloc[:0]


def _sorted_auc(g, s, pos, neg, n_groups: int) -> np.ndarray:
    """Trapezoidal area under every group's ROC curve; rows sorted by group, then by descending score.

    The same computation as sklearn's ``_binary_clf_curve`` + ``auc``, for all groups at once.
    """
    pos_total = np.bincount(g, pos, minlength=n_groups)
    neg_total = np.bincount(g, neg, minlength=n_groups)
    tp, fp = np.cumsum(pos), np.cumsum(neg)
    # One ROC point at the end of each run of equal (group, score).
    last = np.ones(len(g), dtype=bool)
    if len(g) > 1:
        last[:-1] = (g[1:] != g[:-1]) | (s[1:] != s[:-1])
    starts = np.searchsorted(g, np.arange(n_groups), side="left")
    tp_before = np.where(starts > 0, tp[np.maximum(starts - 1, 0)], 0.0) if len(g) else np.zeros(n_groups)
    fp_before = np.where(starts > 0, fp[np.maximum(starts - 1, 0)], 0.0) if len(g) else np.zeros(n_groups)
    gl = g[last]
    tps = tp[last] - tp_before[gl]
    fps = fp[last] - fp_before[gl]
    first = np.ones(len(gl), dtype=bool)
    first[1:] = gl[1:] != gl[:-1]
    prev_tp = np.where(first, 0.0, np.r_[0.0, tps[:-1]])
    prev_fp = np.where(first, 0.0, np.r_[0.0, fps[:-1]])
    area = np.bincount(gl, (fps - prev_fp) * (tps + prev_tp) / 2.0, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = area / (pos_total * neg_total)
    return np.where((pos_total > 0) & (neg_total > 0), auc, np.nan)


def threshold_cells(group, score, y, n_groups: int, thresholds, weight=None) -> np.ndarray:
    """Confusion cells of every group at every threshold, predicting positive when ``score >= t``.

    No sort: each row falls in a bin between consecutive thresholds (``searchsorted``), one ``bincount``
    histograms (group, label, bin), and suffix sums give the counts at or above every threshold.

    Returns
    -------
    numpy.ndarray, shape (len(thresholds), n_groups, 4)
        Weighted counts in the order (tn, fp, fn, tp).
    """
    group = np.asarray(group, dtype=np.int64)
    score = np.asarray(score, dtype=float)
    y = np.asarray(y, dtype=bool)
    t = np.asarray(thresholds, dtype=float)
    order = np.argsort(t, kind="stable")
    k = len(t)
    # b = number of thresholds <= score; the row is predicted positive at sorted threshold j iff b > j.
    b = np.searchsorted(t[order], score, side="right")
    key = (group * 2 + y) * (k + 1) + b
    hist = np.bincount(key, weight, minlength=n_groups * 2 * (k + 1)).reshape(n_groups, 2, k + 1)
    above = np.cumsum(hist[:, :, ::-1], axis=2)[:, :, ::-1]  # above[g, c, j] = rows with b >= j
    total = above[:, :, 0]
    positive = above[:, :, 1:]  # predicted positive at sorted threshold j: b >= j + 1
    out = np.empty((k, n_groups, 4))
    out[order, :, 1] = positive[:, 0, :].T  # fp: actual negatives predicted positive
    out[order, :, 3] = positive[:, 1, :].T  # tp
    out[order, :, 0] = (total[:, 0][:, None] - positive[:, 0, :]).T  # tn
    out[order, :, 2] = (total[:, 1][:, None] - positive[:, 1, :]).T  # fn
    return out
