"""Reweighing (Kamiran & Calders, 2012): per-row weights that make the label independent of the group.

Every row of group ``g`` with label ``y`` gets ``w(g, y) = P(g) P(y) / P(g, y) = n_g n_y / (n n_gy)``;
under these weights each group has the overall base rate. Several sensitive columns mean their
intersection. The counts come from one ``bincount`` over integer codes, so a million rows take
milliseconds.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from glasswing.audits._validate import AuditError, factorize, group_codes

log = logging.getLogger(__name__)


class MitigationError(AuditError):
    """Input that reweighing or a mitigation method cannot use; ``str(err)`` is one sentence."""


EMPTY = "There are no rows to reweigh."
LENGTH_MISMATCH = "y_true has {n_y} rows but the sensitive features have {n_s}; they must be the same rows."
NO_SENSITIVE = "Reweighing needs at least one sensitive feature column."
MISSING_LABEL = "y_true has {count} missing values; drop or fill those rows before reweighing."
MISSING_GROUP = ("Sensitive feature '{column}' has {count} missing values; drop or fill those rows, "
                 "or give the missing value a name of its own, before reweighing.")
SINGLE_LABEL = "y_true has a single label value ({label}); reweighing needs rows of at least two labels."
GROUP_SINGLE_LABEL = ("Group {group} has only label {present} in y_true, so its reweighing weights are "
                      "undefined; every group needs rows of each label ({labels}): merge it with another "
                      "group or drop it.")
NOT_FITTED = "This Reweighing is not fitted yet; call fit(y_true, sensitive_features=...) first."
UNSEEN = ("Row {row} has group {group} with label {label}, which was not in the data Reweighing was "
          "fitted on; fit on data that contains every group and label.")


def _as_frame(sensitive_features: Any) -> pd.DataFrame:
    """Sensitive features as a DataFrame, one column per feature (fairlearn's names for unnamed ones)."""
    if isinstance(sensitive_features, pd.DataFrame):
        return sensitive_features
    if isinstance(sensitive_features, pd.Series):
        name = sensitive_features.name if sensitive_features.name is not None else "sensitive_feature_0"
        return sensitive_features.to_frame(name=name)
    if isinstance(sensitive_features, dict):
        return pd.DataFrame(sensitive_features)
    arr = np.asarray(sensitive_features)
    if arr.ndim == 1:
        return pd.DataFrame({"sensitive_feature_0": arr})
    return pd.DataFrame(arr, columns=[f"sensitive_feature_{i}" for i in range(arr.shape[1])])


def _describe(names: list[str], values: tuple) -> str:
    return ", ".join(f"{n}={v}" for n, v in zip(names, values, strict=True))


def _encode(y_true: Any, sensitive_features: Any):
    """Label codes, group codes and their uniques (groups: one tuple per intersection, sorted).

    Groups come from ``audits``' one factorisation (``_validate.group_codes``); missing values are refused
    here, because a weight per missing group would hide rows the user meant to fix.
    """
    frame = _as_frame(sensitive_features)
    if frame.shape[1] == 0:
        raise MitigationError(NO_SENSITIVE)
    n = len(y_true)
    if n != len(frame):
        raise MitigationError(LENGTH_MISMATCH.format(n_y=n, n_s=len(frame)))
    if n == 0:
        raise MitigationError(EMPTY)
    y_codes, labels = factorize(pd.Series(np.asarray(y_true)))
    if (missing := int((y_codes < 0).sum())):
        raise MitigationError(MISSING_LABEL.format(count=missing))
    for name in frame.columns:
        if (missing := int(frame[name].isna().sum())):
            raise MitigationError(MISSING_GROUP.format(column=name, count=missing))
    groups = group_codes({str(c): frame[c] for c in frame.columns}, single_ok=True)
    keys = [k if isinstance(k, tuple) else (k,) for k in groups.index.tolist()]
    return (y_codes.astype(np.intp), labels.to_numpy(), groups.codes.astype(np.intp), keys,
            [str(c) for c in frame.columns])


class Reweighing:
    """Kamiran & Calders reweighing with scikit-learn's estimator shape.

    ``fit`` counts rows per (group, label); ``transform`` returns one weight per row,
    ``w(g, y) = n_g * n_y / (n * n_gy)``. With several sensitive columns the groups are their
    intersections. The weights are AIF360's ``Reweighing`` weights (for one binary group split) and
    generalise them to any number of groups and labels.

    Attributes
    ----------
    weights_by_group_ : pandas.DataFrame
        One row per (group, label), indexed by the sensitive columns plus ``label``, with columns
        ``n`` (rows), ``expected_n`` (``n_g * n_y / n``, the count if label and group were independent)
        and ``weight``.
    labels_ : numpy.ndarray
        The label values, sorted.
    sensitive_names_ : list of str
        The sensitive feature columns.
    n_samples_ : int
        Number of rows seen in ``fit``.

    Examples
    --------
    >>> from audits import Reweighing
    >>> rw = Reweighing().fit([1, 1, 0, 1, 0, 0], sensitive_features=["a", "a", "a", "b", "b", "b"])
    >>> rw.weights_by_group_["weight"].round(3).tolist()
    [1.5, 0.75, 0.75, 1.5]
    """

    def fit(self, y_true: Any, *, sensitive_features: Any) -> Reweighing:
        """Count rows per group and label and compute the weight of each combination.

        Parameters
        ----------
        y_true : array-like of shape (n,)
            Observed labels (any number of distinct values, at least two).
        sensitive_features : array-like, Series or DataFrame
            One column per sensitive feature; several columns mean their intersection.

        Returns
        -------
        Reweighing
            ``self``, fitted.

        Raises
        ------
        MitigationError
            When a group lacks one of the labels (its weights would be undefined; the group is named),
            when values are missing, or when the lengths differ.
        """
        self._fit_codes(*_encode(y_true, sensitive_features))
        return self

    def _fit_codes(self, y_codes, labels, group_codes, groups, names) -> np.ndarray:
        n, n_labels = len(y_codes), len(labels)
        if n_labels < 2:
            raise MitigationError(SINGLE_LABEL.format(label=labels[0]))
        joint = group_codes * n_labels + y_codes
        counts = np.bincount(joint, minlength=len(groups) * n_labels).reshape(len(groups), n_labels)
        empty = np.argwhere(counts == 0)
        if len(empty):
            g = int(empty[0, 0])
            raise MitigationError(GROUP_SINGLE_LABEL.format(
                group=_describe(names, groups[g]),
                present=", ".join(str(v) for v, c in zip(labels, counts[g], strict=True) if c),
                labels=", ".join(str(v) for v in labels)))
        counts = counts.astype(np.float64)
        n_group, n_label = counts.sum(axis=1), counts.sum(axis=0)
        # the same operations, in the same order, as AIF360: n_y * n_g / (n * n_gy)
        table = (n_label[None, :] * n_group[:, None]) / (float(n) * counts)
        self.labels_ = np.asarray(labels)
        self.sensitive_names_ = names
        self.n_samples_ = n
        index = pd.MultiIndex.from_tuples([(*g, lab) for g in groups for lab in labels],
                                          names=[*names, "label"])
        self.weights_by_group_ = pd.DataFrame({
            "n": counts.ravel().astype(np.int64),
            "expected_n": (n_label[None, :] * n_group[:, None] / n).ravel(),
            "weight": table.ravel(),
        }, index=index)
        log.debug("Reweighing fitted on %d rows, %d groups, %d labels", n, len(groups), n_labels)
        return table.ravel()[joint]

    def transform(self, y_true: Any, *, sensitive_features: Any) -> np.ndarray:
        """Return the fitted weight of each row's (group, label).

        Parameters
        ----------
        y_true : array-like of shape (n,)
            Observed labels.
        sensitive_features : array-like, Series or DataFrame
            The same columns as in ``fit``.

        Returns
        -------
        numpy.ndarray of shape (n,)
            ``float64`` weights.
        """
        if not hasattr(self, "weights_by_group_"):
            raise MitigationError(NOT_FITTED)
        frame = _as_frame(sensitive_features)
        if len(frame) != len(y_true):
            raise MitigationError(LENGTH_MISMATCH.format(n_y=len(y_true), n_s=len(frame)))
        keys = pd.MultiIndex.from_arrays([*(frame[c] for c in frame.columns), np.asarray(y_true)])
        position = self.weights_by_group_.index.get_indexer(keys)
        if (bad := np.flatnonzero(position < 0)).size:
            row = int(bad[0])
            group = _describe(list(map(str, frame.columns)), tuple(frame.iloc[row]))
            raise MitigationError(UNSEEN.format(row=row, group=group, label=np.asarray(y_true)[row]))
        return self.weights_by_group_["weight"].to_numpy()[position]

    def fit_transform(self, y_true: Any, *, sensitive_features: Any) -> np.ndarray:
        """Fit, then return the weight of every row (in one pass over the codes).

        Parameters
        ----------
        y_true : array-like of shape (n,)
            Observed labels.
        sensitive_features : array-like, Series or DataFrame
            One column per sensitive feature; several columns mean their intersection.

        Returns
        -------
        numpy.ndarray of shape (n,)
            ``float64`` weights.
        """
        return self._fit_codes(*_encode(y_true, sensitive_features))


def reweighing_weights(y_true: Any, sensitive_features: Any) -> np.ndarray:
    """Return Kamiran & Calders reweighing weights, one per row.

    Each row of group ``g`` and label ``y`` gets ``n_g * n_y / (n * n_gy)``, so that under the weights the
    label is independent of the group (every group has the overall base rate). Several sensitive
    columns mean their intersection.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Observed labels.
    sensitive_features : array-like, Series or DataFrame
        One or several sensitive feature columns.

    Returns
    -------
    numpy.ndarray of shape (n,)
        ``float64`` weights; they sum to ``n``.

    Raises
    ------
    MitigationError
        When a group has a single label value (the message names the group), when values are
        missing, or when the lengths differ.

    Examples
    --------
    >>> from audits import reweighing_weights
    >>> reweighing_weights([1, 1, 0, 1, 0, 0], ["a", "a", "a", "b", "b", "b"]).round(3).tolist()
    [0.75, 0.75, 1.5, 1.5, 0.75, 0.75]
    """
    return Reweighing().fit_transform(y_true, sensitive_features=sensitive_features)
