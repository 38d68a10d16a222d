"""Input checks for audits: turn labels, predictions and sensitive columns into clean arrays.

Every problem a person can fix is an :class:`AuditError` whose message is one of the sentences below
(kept as constants and tested by exact text).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from glasswing._errors import GlasswingError
from glasswing._plain import plain

log = logging.getLogger(__name__)

MISSING_GROUP = "(missing)"

LENGTH_MISMATCH = ("{name} has {got:,} values but {ref} has {expected:,}; every input needs exactly one "
                   "value per row.")
ALL_MISSING = "{name} has no values (every row is missing); choose a column that holds data."
NO_ROWS = "There are no rows to audit; {name} is empty."
NON_BINARY = ("{name} has {k} distinct values ({values}); an audit needs a binary outcome, so choose the "
              "positive class to audit it one-vs-rest against the others.")
POS_LABEL_ABSENT = "The positive label {label!r} is not among the values of {name}: {values}."
PROBABILITIES = ("{name} holds scores between 0 and 1 (for example {example}) rather than predicted labels; "
                 "give a decision threshold (for example 0.5) to turn them into labels.")
NOT_SCORES = ("{name} holds {example!r}, which is not a number; scores must be numeric (a probability or a "
              "decision value).")
PREDICTION_LABELS = ("{name} contains {extra}, which never occurs in {target} ({values}); predictions and "
                     "target must use the same labels.")
SINGLE_GROUP = ("Sensitive column {name!r} has a single value ({value!r}), so there are no groups to "
                "compare; choose a column with at least two groups.")
NO_SENSITIVE = "Choose at least one sensitive column to define the groups of the audit."
BAD_WEIGHTS = "sample_weight must be finite and non-negative; row {row} has {value!r}."
BAD_THRESHOLD = "The decision threshold must be a finite number; got {value!r}."
BAD_SIZE = "{name} must be {rule}; got {value!r}."


class AuditError(GlasswingError):
    """Inputs an audit cannot use, with one sentence saying what is wrong and how to fix it."""


def _values_text(values, limit: int = 6) -> str:
    shown = [repr(plain(v)) for v in list(values)[:limit]]
    more = len(values) - limit
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")


def as_array(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a 1-D numpy array (a Series, list, array, or a one-column frame)."""
    if isinstance(x, pd.DataFrame):
        if x.shape[1] != 1:
            raise AuditError(BAD_SIZE.format(name=name, rule="a single column",
                                             value=f"{x.shape[1]} columns"))
        x = x.iloc[:, 0]
    if isinstance(x, pd.Series):
        if isinstance(x.dtype, pd.CategoricalDtype):
            x = x.astype(x.cat.categories.dtype)
        arr = x.to_numpy()
    else:
        arr = np.asarray(x)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise AuditError(BAD_SIZE.format(name=name, rule="one-dimensional", value=f"shape {arr.shape}"))
    return arr


def missing_mask(arr: np.ndarray) -> np.ndarray:
    """Boolean mask of missing values (NaN, None, NaT); all False for dtypes that cannot hold them."""
    if arr.dtype.kind in "biu":
        return np.zeros(len(arr), dtype=bool)
    return pd.isna(arr)


def check_length(arr, name: str, expected: int, ref: str) -> None:
    """Raise when ``arr`` does not have ``expected`` values."""
    if len(arr) != expected:
        raise AuditError(LENGTH_MISMATCH.format(name=name, got=len(arr), ref=ref, expected=expected))


def check_threshold(threshold) -> float:
    """Return ``threshold`` as a float, or raise when it is not a finite number."""
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise AuditError(BAD_THRESHOLD.format(value=threshold)) from None
    if not np.isfinite(value):
        raise AuditError(BAD_THRESHOLD.format(value=threshold))
    return value


def as_scores(x: Any, name: str) -> np.ndarray:
    """Return scores as a float array; raise with one sentence when they are not numeric."""
    arr = as_array(x, name)
    if arr.dtype.kind in "biuf":
        return arr.astype(float, copy=False)
    try:
        return pd.to_numeric(pd.Series(arr), errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        bad = next(v for v in arr if not _is_number(v))
        raise AuditError(NOT_SCORES.format(name=name, example=bad)) from None


def _is_number(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def looks_like_probabilities(arr: np.ndarray) -> float | None:
    """Return an example value when a float array holds non-integer values (scores, not labels)."""
    if arr.dtype.kind != "f":
        return None
    finite = arr[np.isfinite(arr)]
    frac = finite != np.round(finite)
    if frac.any():
        return float(finite[np.argmax(frac)])
    return None


def resolve_pos_label(y_true: np.ndarray, y_pred: np.ndarray | None, pos_label, name: str, pred_name: str):
    """Return the positive label, checking that the outcome is binary (or one-vs-rest for ``pos_label``).

    Without ``pos_label``: labels within {0, 1}, {-1, 1} or {False, True} use 1 (fairlearn's default);
    any other pair of labels uses the larger one. More than two labels need an explicit ``pos_label``.
    """
    true_values = pd.unique(y_true)
    pred_values = pd.unique(y_pred) if y_pred is not None else true_values[:0]
    if pos_label is not None:
        present = list(dict.fromkeys(true_values.tolist() + pred_values.tolist()))
        if pos_label in present:
            return pos_label
        as_text = [v for v in present if str(v) == str(pos_label)]  # "1" from a command line matches 1
        if as_text:
            return as_text[0]
        raise AuditError(POS_LABEL_ABSENT.format(label=pos_label, name=name,
                                                 values=_values_text(_sorted(true_values))))
    if len(true_values) > 2:
        raise AuditError(NON_BINARY.format(name=name, k=len(true_values),
                                           values=_values_text(_sorted(true_values))))
    if y_pred is not None and len(true_values) == 2:
        extra = [v for v in pred_values.tolist() if v not in set(true_values.tolist())]
        if extra:
            raise AuditError(PREDICTION_LABELS.format(name=pred_name, extra=_values_text(extra), target=name,
                                                      values=_values_text(_sorted(true_values))))
    union = list(dict.fromkeys(true_values.tolist() + pred_values.tolist()))
    if len(union) > 2:
        raise AuditError(NON_BINARY.format(name=f"{name} together with {pred_name}", k=len(union),
                                           values=_values_text(_sorted(union))))
    if set(union) <= {0, 1} or set(union) <= {-1, 1}:
        return True if any(isinstance(v, (bool, np.bool_)) for v in union) else 1
    return _sorted(union)[-1]


def _sorted(values) -> list:
    values = list(values.tolist() if hasattr(values, "tolist") else values)
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def positives(arr: np.ndarray, pos_label) -> np.ndarray:
    """Boolean array: which values equal the positive label."""
    if arr.dtype.kind == "b" and pos_label in (1, True):
        return arr
    return arr == pos_label


@dataclass(frozen=True)
class GroupCodes:
    """Rows mapped to groups: ``codes[i]`` is the group of row ``i`` in ``index`` (-1 never occurs)."""

    codes: np.ndarray
    index: pd.Index
    names: tuple[str, ...]
    empty_intersections: int
    missing: dict


def sensitive_columns(sensitive_features: Any, n: int) -> dict[str, np.ndarray | pd.Series]:
    """Return the sensitive features as ``{name: column}``, named like fairlearn names them."""
    sf = sensitive_features
    if sf is None:
        raise AuditError(NO_SENSITIVE)
    if isinstance(sf, pd.DataFrame):
        cols = {str(c): sf[c] for c in sf.columns}
    elif isinstance(sf, pd.Series):
        cols = {str(sf.name) if sf.name is not None else "sensitive_feature_0": sf}
    elif isinstance(sf, Mapping):
        cols = {str(k): v for k, v in sf.items()}
    else:
        arr = np.asarray(sf, dtype=object) if isinstance(sf, list) else np.asarray(sf)
        if arr.ndim == 1:
            cols = {"sensitive_feature_0": arr}
        elif arr.ndim == 2:
            cols = {f"sensitive_feature_{j}": arr[:, j] for j in range(arr.shape[1])}
        else:
            raise AuditError(BAD_SIZE.format(name="sensitive_features", rule="one or two dimensional",
                                             value=f"shape {arr.shape}"))
    if not cols:
        raise AuditError(NO_SENSITIVE)
    for name, col in cols.items():
        check_length(col, f"Sensitive column {name!r}", n, "y_true")
    return cols


def group_codes(columns: dict[str, Any], *, single_ok: bool = False) -> GroupCodes:
    """Factorise the sensitive columns (sorted, fast for categoricals) and combine them into group codes.

    The one group factorisation of Glasswing (audits, DuckDB counts, reweighing). Missing values form their
    own group named ``"(missing)"``, placed last. For several columns the groups are the observed
    combinations (their intersection), in sorted order. A column with a single value is refused (there is
    nothing to compare) unless ``single_ok``.
    """
    names = tuple(columns)
    digits, uniques, missing = [], [], {}
    for name, col in columns.items():
        codes, labels = factorize(col if isinstance(col, pd.Series) else pd.Series(col))
        if len(labels) == 0:
            raise AuditError(ALL_MISSING.format(name=f"Sensitive column {name!r}"))
        n_missing = int(np.count_nonzero(codes < 0)) if codes.size else 0
        if n_missing:
            codes = np.where(codes < 0, len(labels), codes)
            labels = labels.astype(object).append(pd.Index([MISSING_GROUP], dtype=object))
            missing[name] = n_missing
        if len(labels) == 1 and not single_ok:
            raise AuditError(SINGLE_GROUP.format(name=name, value=_py(labels[0])))
        digits.append(codes)
        uniques.append(labels)
    sizes = [len(u) for u in uniques]
    combined = digits[0]
    for d, k in zip(digits[1:], sizes[1:], strict=True):
        combined = combined * k + d
    total = int(np.prod(sizes, dtype=np.float64))
    if total <= max(4 * len(combined), 1 << 20):
        present = np.flatnonzero(np.bincount(combined, minlength=total))
        lookup = np.full(total, -1, dtype=np.int64)
        lookup[present] = np.arange(len(present))
        codes = lookup[combined]
    else:
        present, codes = np.unique(combined, return_inverse=True)
    parts, rest = [], present
    for k in reversed(sizes):
        parts.append(rest % k)
        rest = rest // k
    parts.reverse()
    if len(names) == 1:
        index = pd.Index(uniques[0][parts[0]], name=names[0])
    else:
        index = pd.MultiIndex.from_arrays([u[p] for u, p in zip(uniques, parts, strict=True)],
                                          names=list(names))
    return GroupCodes(codes=codes, index=index, names=names, empty_intersections=total - len(present),
                      missing=missing)


def factorize(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Sorted codes (-1 for missing) and the observed labels; categoricals reuse their codes (no hashing)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        cat = series.cat
        codes = cat.codes.to_numpy().astype(np.int64)
        cats = cat.categories
        used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(cats)))
        labels = cats[used]
        order = np.argsort(labels.to_numpy(), kind="stable") if not cat.ordered else np.arange(len(used))
        lookup = np.full(len(cats) + 1, -1, dtype=np.int64)
        lookup[used[order]] = np.arange(len(used))
        return lookup[codes], pd.Index(labels[order].astype(cats.dtype))
    codes, labels = pd.factorize(series, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), pd.Index(labels)


_py = plain


def check_weights(sample_weight, n: int) -> np.ndarray | None:
    """Return sample weights as floats, or None; raise for wrong length, NaN or negative weights."""
    if sample_weight is None:
        return None
    w = as_array(sample_weight, "sample_weight").astype(float)
    check_length(w, "sample_weight", n, "y_true")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        row = int(np.argmax(bad))
        raise AuditError(BAD_WEIGHTS.format(row=row, value=float(w[row])))
    return w
