"""``group_metrics``: the audit of arrays, and ``threshold_sweep``: confusion counts across thresholds.

Everything derives from additive confusion counts per group (``np.bincount`` over factorised groups); the
named metrics are the formulas of ``audits._table.METRICS`` and the result is a ``GroupMetrics``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from glasswing._plain import plain
from glasswing.audits._result import GroupMetrics
from glasswing.audits._scores import SCORE_METRICS, ScorePoints, score_metrics, score_order, threshold_cells
from glasswing.audits._table import CELLS
from glasswing.audits._validate import (
    ALL_MISSING,
    NO_ROWS,
    PROBABILITIES,
    AuditError,
    as_array,
    as_scores,
    check_length,
    check_threshold,
    check_weights,
    group_codes,
    looks_like_probabilities,
    missing_mask,
    positives,
    resolve_pos_label,
    sensitive_columns,
)

log = logging.getLogger(__name__)

NEED_THRESHOLD = ("Predictions come from scores only with a decision threshold; give one (for example 0.5), "
                  "or give predicted labels.")
DROPPED = "{k:,} of {n:,} rows were left out because {what} is missing there."
MISSING_SENSITIVE = "{k:,} rows have no value for {name!r}; they form their own group, {group!r}."
EMPTY_INTERSECTIONS = ("{k:,} combinations of {names} have no rows at all; they are not listed as groups.")
NO_SCORE = "{k:,} rows have no score; AUC and calibration leave them out."
NOT_UNIT_SCORES = ("The scores are not all between 0 and 1, so the Brier score and calibration error are not "
                   "computed (AUC still is).")


def group_metrics(y_true, y_pred=None, sensitive_features=None, *, y_score=None,
                  threshold: float | None = None, pos_label=None, sample_weight=None,
                  min_group_size: int = 30, confidence: float = 0.95, n_boot: int = 1000,
                  seed: int = 0) -> GroupMetrics:
    """Audit predictions by group: rates, intervals and disparities from per-group confusion counts.

    The numbers equal fairlearn's ``MetricFrame`` with the same metrics on the same inputs (undefined
    rates are 0.0, fairlearn's convention); the work is one factorisation and one ``np.bincount``.

    Parameters
    ----------
    y_true : array-like
        True labels, binary (or any labels with ``pos_label`` chosen: one-vs-rest).
    y_pred : array-like, optional
        Predicted labels. Scores here need ``threshold``. May be omitted when ``y_score`` and
        ``threshold`` are given.
    sensitive_features : array-like, Series, DataFrame or dict
        One or several columns; several columns are audited as their intersection (every observed
        combination is a group). Missing values form a group named ``"(missing)"``.
    y_score : array-like, optional
        Scores (probability of the positive class): adds AUC, Brier score, calibration error and mean score
        per group.
    threshold : float, optional
        Predict positive where ``score >= threshold`` (the score is ``y_score``, or ``y_pred`` when it holds
        scores).
    pos_label : optional
        The favourable/positive label. By default 1 for labels within {0, 1} or {-1, 1}, otherwise the larger
        of the two labels.
    sample_weight : array-like, optional
        Weight of each row (rates become weighted rates; ``n`` still counts rows).
    min_group_size : int, default 30
        Groups with fewer rows are flagged as too small to conclude from.
    confidence : float, default 0.95
        Level of the Wilson intervals of rates and the bootstrap intervals of disparities.
    n_boot, seed : int
        Bootstrap replicates for disparity intervals, and their seed.

    Returns
    -------
    GroupMetrics

    Raises
    ------
    AuditError
        Mismatched lengths, an all-missing column, a non-binary target without ``pos_label``, scores where
        labels were expected, a sensitive column with a single value.

    Examples
    --------
    >>> gm = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], ["F", "F", "M", "M"])
    >>> gm.by_group["true_positive_rate"].tolist()
    [1.0, 0.0]
    >>> gm.difference()["selection_rate"]
    np.float64(0.5)
    """
    prepared = _prepare(y_true, y_pred, sensitive_features, y_score, threshold, pos_label, sample_weight,
                        min_group_size, confidence, n_boot)
    return _build(prepared, tuple(prepared.columns), min_group_size=min_group_size, confidence=confidence,
                  n_boot=n_boot, seed=seed)


def group_metrics_views(y_true, y_pred=None, sensitive_features=None, *, y_score=None,
                        threshold: float | None = None, pos_label=None, sample_weight=None,
                        min_group_size: int = 30, confidence: float = 0.95, n_boot: int = 1000,
                        seed: int = 0) -> dict[tuple[str, ...], GroupMetrics]:
    """Audit several sensitive features as their intersection and each alone, in one pass.

    Equal to calling :func:`group_metrics` once per view, but the inputs are checked once and the
    scores are sorted once for every view's AUC: what the dashboard uses to switch views instantly.

    Parameters
    ----------
    y_true, y_pred, sensitive_features, y_score, threshold, pos_label, sample_weight
        As for :func:`group_metrics`.
    min_group_size, confidence, n_boot, seed
        As for :func:`group_metrics`.

    Returns
    -------
    dict
        ``{("sex", "race"): intersection, ("sex",): sex alone, ("race",): race alone}`` (one entry
        when there is a single sensitive feature).

    Examples
    --------
    >>> views = group_metrics_views([1, 0, 1, 0], [1, 0, 0, 0], {"sex": list("FFMM"), "age": list("yoyo")})
    >>> list(views)
    [('sex', 'age'), ('sex',), ('age',)]
    """
    prepared = _prepare(y_true, y_pred, sensitive_features, y_score, threshold, pos_label, sample_weight,
                        min_group_size, confidence, n_boot)
    names = tuple(prepared.columns)
    views = [names] + ([(c,) for c in names] if len(names) > 1 else [])
    by_score = score_order(prepared.score) if prepared.score is not None else None
    out: dict[tuple[str, ...], GroupMetrics] = {}
    for v in views:
        first = next(iter(out.values()), None)
        auc = float(first.overall_scores["auc"]) if first is not None and prepared.score is not None else None
        out[v] = _build(prepared, v, min_group_size=min_group_size, confidence=confidence, n_boot=n_boot,
                        seed=seed, by_score=by_score, overall_auc=auc)
    return out


@dataclass(frozen=True)
class _Prepared:
    """Checked inputs: rows without target or prediction removed, labels turned into booleans."""

    true_pos: np.ndarray
    pred_pos: np.ndarray
    score: np.ndarray | None
    weights: np.ndarray | None
    columns: dict
    pos_label: Any
    threshold: float | None
    notes: tuple[str, ...]
    score_notes: tuple[str, ...]


def _prepare(y_true, y_pred, sensitive_features, y_score, threshold, pos_label, sample_weight,
             min_group_size, confidence, n_boot) -> _Prepared:
    _check_options(min_group_size, confidence, n_boot)
    yt = as_array(y_true, "y_true")
    n = len(yt)
    if n == 0:
        raise AuditError(NO_ROWS.format(name="y_true"))
    score = None
    if y_score is not None:
        score = as_scores(y_score, "y_score")
        check_length(score, "y_score", n, "y_true")
    if threshold is not None:
        threshold = check_threshold(threshold)
    yp = None
    if y_pred is not None:
        yp = as_array(y_pred, "y_pred")
        check_length(yp, "y_pred", n, "y_true")
        example = looks_like_probabilities(yp) if yp.dtype.kind == "f" else None
        if example is not None:
            if threshold is None:
                raise AuditError(PROBABILITIES.format(name="y_pred", example=round(example, 4)))
            score = yp.astype(float) if score is None else score
            yp = None
    if yp is None:
        if score is None or threshold is None:
            raise AuditError(NEED_THRESHOLD)
    weights = check_weights(sample_weight, n)
    columns = sensitive_columns(sensitive_features, n)

    # Rows without a target or a prediction cannot be counted.
    drop = missing_mask(yt)
    if drop.all():
        raise AuditError(ALL_MISSING.format(name="y_true"))
    notes = []
    pred_missing = missing_mask(yp) if yp is not None else np.isnan(score)
    if pred_missing.all():
        raise AuditError(ALL_MISSING.format(name="y_pred" if yp is not None else "y_score"))
    if drop.any() or pred_missing.any():
        what = "the target" if not pred_missing.any() else (
            "the prediction" if not drop.any() else "the target or the prediction")
        notes.append(DROPPED.format(k=int((drop | pred_missing).sum()), n=n, what=what))
        drop = drop | pred_missing
    if drop.any():
        keep = ~drop
        yt = yt[keep]
        yp = yp[keep] if yp is not None else None
        score = score[keep] if score is not None else None
        weights = weights[keep] if weights is not None else None
        columns = {k: (v[keep] if isinstance(v, np.ndarray) else pd.Series(v).iloc[np.flatnonzero(keep)])
                   for k, v in columns.items()}

    if yp is not None:
        pos_label = resolve_pos_label(yt, yp, pos_label, "y_true", "y_pred")
        pred_pos = positives(yp, pos_label)
    else:
        pos_label = resolve_pos_label(yt, None, pos_label, "y_true", "y_pred")
        pred_pos = score >= threshold
    score_notes = []
    if score is not None:
        ok = np.isfinite(score)
        if not ok.all():
            score_notes.append(NO_SCORE.format(k=int((~ok).sum())))
        if ok.any() and (np.nanmin(score) < 0 or np.nanmax(score) > 1):
            score_notes.append(NOT_UNIT_SCORES)
    return _Prepared(positives(yt, pos_label), pred_pos, score, weights, columns, plain(pos_label),
                     threshold, tuple(notes), tuple(score_notes))


def _build(prep: _Prepared, view: tuple[str, ...], *, min_group_size, confidence, n_boot, seed,
           by_score=None, overall_auc=None) -> GroupMetrics:
    """Count one view (a subset of the sensitive columns) and wrap the counts in a ``GroupMetrics``."""
    groups = group_codes({name: prep.columns[name] for name in view})
    notes = [*prep.notes, *_group_notes(groups), *prep.score_notes]
    true_pos, pred_pos, weights = prep.true_pos, prep.pred_pos, prep.weights
    G = len(groups.index)
    cell = 2 * true_pos.astype(np.int64) + pred_pos.astype(np.int64)  # 0 tn, 1 fp, 2 fn, 3 tp
    cells = np.bincount(groups.codes * 4 + cell, weights=weights, minlength=4 * G).reshape(G, 4)
    rows = np.bincount(groups.codes, minlength=G)
    counts = pd.DataFrame(cells, index=groups.index, columns=list(CELLS))
    counts["n"] = rows

    scores = {}
    if prep.score is not None:
        scores = _score_tables(groups.codes, G, prep.score, true_pos, weights, by_score, overall_auc)
    log.debug("group_metrics: %d rows, %d groups", len(true_pos), G)
    return GroupMetrics.from_counts(counts, pos_label=prep.pos_label, threshold=prep.threshold,
                                    min_group_size=min_group_size, confidence=confidence, n_boot=n_boot,
                                    seed=seed, notes=tuple(notes), **scores)


def _score_tables(codes, G, score, true_pos, weights, by_score=None, overall_auc=None) -> dict:
    """Score metrics of one view; ``by_score`` (descending score order of all rows) may be shared by views."""
    ok = np.isfinite(score)
    if by_score is None:
        by_score = score_order(score)
    if not ok.all():  # NaN scores sort last: drop them from the order and renumber the rows kept
        position = np.cumsum(ok) - 1
        by_score = position[by_score[ok[by_score]]]
        codes, score, true_pos = codes[ok], score[ok], true_pos[ok]
        weights = weights[ok] if weights is not None else None
    points = ScorePoints.from_rows(codes, score, true_pos, weights)
    per_group, overall, reliability = score_metrics(points, G, by_score=by_score, overall_auc=overall_auc)
    return {"group_scores": per_group, "overall_scores": overall[list(SCORE_METRICS)],
            "reliability": reliability}


def _group_notes(groups) -> list[str]:
    from glasswing.audits._validate import MISSING_GROUP

    notes = [MISSING_SENSITIVE.format(k=k, name=name, group=MISSING_GROUP)
             for name, k in groups.missing.items()]
    if groups.empty_intersections:
        notes.append(EMPTY_INTERSECTIONS.format(k=groups.empty_intersections, names=" x ".join(groups.names)))
    return notes


def _check_options(min_group_size, confidence, n_boot) -> None:
    from glasswing.audits._validate import BAD_SIZE

    if not (isinstance(min_group_size, (int, np.integer)) and min_group_size >= 0):
        raise AuditError(BAD_SIZE.format(name="min_group_size", rule="a whole number, 0 or more",
                                         value=min_group_size))
    if not (isinstance(confidence, (int, float)) and 0 < confidence < 1):
        raise AuditError(BAD_SIZE.format(name="confidence", rule="between 0 and 1", value=confidence))
    if not (isinstance(n_boot, (int, np.integer)) and n_boot >= 1):
        raise AuditError(BAD_SIZE.format(name="n_boot", rule="a whole number, 1 or more", value=n_boot))


def threshold_sweep(y_true, y_score, sensitive_features, thresholds=None, *, pos_label=None,
                    sample_weight=None) -> pd.DataFrame:
    """Confusion counts of every group at every decision threshold (positive when ``score >= t``).

    ``GroupMetrics.from_counts(sweep.xs(t, level="threshold"))`` is then the full audit at threshold
    ``t``, equal to ``group_metrics(y_true, y_score >= t, ...)``, without touching the rows again: this
    is what makes the dashboard's threshold slider instant on a million rows.

    Parameters
    ----------
    y_true, y_score, sensitive_features, pos_label, sample_weight
        As for :func:`group_metrics`.
    thresholds : array-like, optional
        Defaults to 0.00, 0.01, ..., 1.00.

    Returns
    -------
    pandas.DataFrame
        Indexed by (threshold, *sensitive features), with columns tn, fp, fn, tp and n.
    """
    grid = np.arange(101) / 100 if thresholds is None else np.asarray(thresholds, dtype=float)
    yt = as_array(y_true, "y_true")
    n = len(yt)
    if n == 0:
        raise AuditError(NO_ROWS.format(name="y_true"))
    score = as_scores(y_score, "y_score")
    check_length(score, "y_score", n, "y_true")
    weights = check_weights(sample_weight, n)
    columns = sensitive_columns(sensitive_features, n)
    keep = ~missing_mask(yt) & np.isfinite(score)
    if not keep.any():
        raise AuditError(ALL_MISSING.format(name="y_true" if missing_mask(yt).all() else "y_score"))
    if not keep.all():
        yt, score = yt[keep], score[keep]
        weights = weights[keep] if weights is not None else None
        columns = {k: pd.Series(v).iloc[np.flatnonzero(keep)] for k, v in columns.items()}
    pos_label = resolve_pos_label(yt, None, pos_label, "y_true", "y_score")
    groups = group_codes(columns)
    G = len(groups.index)
    cells = threshold_cells(groups.codes, score, positives(yt, pos_label), G, grid, weights)
    rows = np.bincount(groups.codes, minlength=G)
    index = pd.MultiIndex.from_arrays(
        [np.repeat(grid, G)] + [np.tile(groups.index.get_level_values(i), len(grid))
                                for i in range(groups.index.nlevels)],
        names=["threshold", *groups.names])
    frame = pd.DataFrame(cells.reshape(-1, 4), index=index, columns=list(CELLS))
    frame["n"] = np.tile(rows, len(grid))
    return frame


