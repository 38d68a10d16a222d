"""Resampling (Kamiran & Calders, 2012): a training set in which label and group are independent.

Each (group, label) cell is brought to its expected size ``|group| x |label| / n``, rounded half up, the
count it would have if label and group were independent (the same count reweighing's weights aim at):

- **uniform sampling** draws every cell's rows with replacement, uniformly, to that size;
- **preferential sampling** keeps the rows far from the decision boundary and changes the ones closest to
  it first, by a ranker's score of the positive label: a cell that must shrink drops the rows closest to
  the boundary (the lowest-scored positives, the highest-scored negatives), a cell that must grow
  duplicates them (all of the cell again when it must more than double).

Both return the positions of the rows of the resampled set; the model is then retrained on those rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from glasswing.audits._reweighing import _encode


def expected_cell_sizes(y_true: Any, sensitive_features: Any) -> pd.DataFrame:
    """Return the rows of each (group, label) now and the expected count if they were independent.

    Parameters
    ----------
    y_true : array-like
        Labels of the training rows.
    sensitive_features : array-like, Series, DataFrame or dict
        One or several columns (several mean their intersection).

    Returns
    -------
    pandas.DataFrame
        Indexed by the sensitive columns and ``label``; columns ``n``, ``expected`` (``n_g n_y / n``) and
        ``target`` (``expected`` rounded half up: the size a resampled cell gets).

    Examples
    --------
    >>> cells = expected_cell_sizes([1, 1, 1, 0, 1, 0, 0, 0], ["a", "a", "a", "a", "b", "b", "b", "b"])
    >>> cells["target"].tolist()
    [2, 2, 2, 2]
    """
    y_codes, labels, g_codes, keys, names = _encode(y_true, sensitive_features)
    n = len(y_codes)
    counts = np.zeros((len(keys), len(labels)), dtype=np.int64)
    np.add.at(counts, (g_codes, y_codes), 1)
    expected = counts.sum(axis=1)[:, None] * counts.sum(axis=0)[None, :] / n
    index = pd.MultiIndex.from_tuples([(*k, lab) for k in keys for lab in labels], names=[*names, "label"])
    return pd.DataFrame({"n": counts.ravel(), "expected": expected.ravel(),
                         "target": np.floor(expected.ravel() + 0.5).astype(np.int64)}, index=index)


def _cells(y_true: Any, sensitive_features: Any):
    y_codes, labels, g_codes, keys, _ = _encode(y_true, sensitive_features)
    cells = expected_cell_sizes(y_true, sensitive_features)
    targets = cells["target"].to_numpy().reshape(len(keys), len(labels))
    for g in range(len(keys)):
        for j in range(len(labels)):
            yield labels[j], np.flatnonzero((g_codes == g) & (y_codes == j)), int(targets[g, j])


def uniform_sample(y_true: Any, sensitive_features: Any, *, seed: int = 0) -> np.ndarray:
    """Return row positions: every (group, label) cell drawn with replacement to its expected size.

    Parameters
    ----------
    y_true, sensitive_features
        As for :func:`expected_cell_sizes`.
    seed : int, default 0
        Seed of NumPy's generator.

    Returns
    -------
    numpy.ndarray
        Positions into the rows, cell after cell (sorted within the result).
    """
    rng = np.random.default_rng(seed)
    picks = [rng.choice(rows, size=target, replace=True) for _, rows, target in
             _cells(y_true, sensitive_features) if len(rows) and target]
    return np.sort(np.concatenate(picks)) if picks else np.zeros(0, dtype=np.intp)


def preferential_sample(y_true: Any, sensitive_features: Any, scores: Any, *, positive: Any) -> np.ndarray:
    """Return row positions: the rows closest to the decision boundary are dropped or duplicated first.

    Parameters
    ----------
    y_true, sensitive_features
        As for :func:`expected_cell_sizes`.
    scores : array-like
        A ranker's score of the positive label for each row (higher: more likely positive).
    positive
        The positive label. For a positive row, closer to the boundary means a lower score; for any
        other row, a higher score. Ties keep the rows' order (stable sort).

    Returns
    -------
    numpy.ndarray
        Positions into the rows, sorted (duplicates repeated).
    """
    scores = np.asarray(scores, dtype=float)
    picks = []
    for label, rows, target in _cells(y_true, sensitive_features):
        order = np.argsort(scores[rows] if label == positive else -scores[rows], kind="stable")
        closest_first = rows[order]
        if target <= len(rows):  # drop the rows closest to the boundary
            picks.append(closest_first[len(rows) - target:])
        elif len(rows):  # duplicate them, the whole cell again as often as needed
            extra = target - len(rows)
            picks += [rows, *([closest_first] * (extra // len(rows))), closest_first[:extra % len(rows)]]
    return np.sort(np.concatenate(picks)) if picks else np.zeros(0, dtype=np.intp)


def _refit_on(task, rows: np.ndarray, suffix: str):
    """Retrain a seeded clone of the model on the training rows at ``rows`` (duplicates repeated)."""
    from glasswing.audits._mitigation import _retrained, _seeded_clone

    task.report(0.35, f"Retraining the model on {len(rows):,} resampled rows")
    estimator = _seeded_clone(task.model.estimator, task.seed)
    estimator.fit(task.X_train.iloc[rows], task.y_train.iloc[rows])
    cells = expected_cell_sizes(task.y_train, task.s_train)
    return _retrained(task, estimator, task.features, suffix, extra={"cells": cells, "rows": rows})


def fit_uniform_sampling(task):
    """Fit ``uniform_sampling`` (see ``audits._mitigation``)."""
    task.report(0.2, "Drawing each (group, label) cell to its expected size")
    return _refit_on(task, uniform_sample(task.y_train, task.s_train, seed=task.seed), "uniform sampling")


def fit_preferential_sampling(task):
    """Fit ``preferential_sampling``: the loaded model's scores rank the training rows."""
    task.report(0.2, "Ranking the training rows by the model's scores")
    scores = task.model.predict_proba(task.X_train)[:, task.classes.index(task.positive)]
    rows = preferential_sample(task.y_train, task.s_train, scores, positive=task.positive)
    return _refit_on(task, rows, "preferential sampling")
