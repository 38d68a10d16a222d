"""Tables: reading CSV and Parquet safely, validating column roles, and checking a model fits the data."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from glasswing.ingest._dataset import ColumnRoles, Dataset
from glasswing.ingest._errors import (
    CLASSES_DO_NOT_MATCH,
    DUPLICATE_COLUMNS,
    FILE_EMPTY,
    MODEL_FEATURE_COUNT,
    MODEL_FEATURES_MISSING,
    MODEL_IS_IMAGE,
    MODEL_IS_TABULAR,
    POSITIVE_LABEL_UNKNOWN,
    ROLE_CLASH,
    SCORE_NOT_NUMERIC,
    SENSITIVE_ALL_MISSING,
    SENSITIVE_SINGLE_VALUE,
    TABLE_BAD_ENCODING,
    TABLE_BINARY,
    TABLE_NO_ROWS,
    TABLE_UNREADABLE,
    TARGET_ALL_MISSING,
    TARGET_HAS_MISSING,
    TARGET_NOT_BINARY,
    TARGET_SINGLE_VALUE,
    UNKNOWN_COLUMN,
    IngestError,
    listing,
)
from glasswing.ingest._model import Model
from glasswing.ingest._source import read_bytes, sha256_hex, source_name

log = logging.getLogger(__name__)

PARQUET_MAGIC = b"PAR1"
PARQUET_SUFFIXES = (".parquet", ".pq")
#: Delimiters the CSV sniffer may choose between (comma, semicolon, tab, pipe).
CSV_DELIMITERS = ",;\t|"
_SNIFF_CHARS = 64 * 1024

#: Column names (lower case) that :func:`suggest_roles` takes for each role.
TARGET_NAMES = ("target", "y_true", "label", "y", "outcome", "class", "risk", "default")
PREDICTION_NAMES = ("y_pred", "prediction", "predicted", "pred")
SCORE_NAMES = ("score", "y_score", "proba", "probability")
SENSITIVE_NAMES = ("sex", "gender", "race", "ethnicity", "age_group", "religion", "nationality",
                   "disability", "marital_status")


# ============================================ reading =================================================
def read_table(source: Any, *, name: str | None = None) -> tuple[pd.DataFrame, str]:
    r"""Read a CSV or Parquet table and return it with the SHA-256 of its bytes.

    Parquet is recognised by its ``PAR1`` magic bytes or a ``.parquet``/``.pq`` name; anything else is
    read as UTF-8 CSV (a byte-order mark is allowed) whose delimiter (``, ; tab |``) is sniffed.

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file object
        The table. Uploads are passed as bytes and never written to disk.
    name : str, optional
        Name used in messages; defaults to the file's base name.

    Returns
    -------
    frame : pandas.DataFrame
    sha256 : str
        Hex digest of the raw bytes.

    Raises
    ------
    IngestError
        For a missing, empty, over-large, binary, non-UTF-8 or malformed file, duplicate column names,
        or a header without rows.

    Examples
    --------
    >>> frame, sha = read_table(b"age;sex\n31;F\n45;M\n", name="people.csv")
    >>> frame.columns.tolist(), len(frame), sha[:12]
    (['age', 'sex'], 2, 'e289b939e0c0')
    """
    name = source_name(source, name, "table")
    data = read_bytes(source, name)
    if data[:4] == PARQUET_MAGIC or name.lower().endswith(PARQUET_SUFFIXES):
        frame = _read_parquet(data, name)
    else:
        frame = _read_csv(data, name)
    if len(frame) == 0:
        raise IngestError(TABLE_NO_ROWS.format(name=name))
    frame.columns = [str(c) for c in frame.columns]
    log.info("read %s: %d rows x %d columns", name, len(frame), frame.shape[1])
    return frame, sha256_hex(data)


def _read_parquet(data: bytes, name: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        _check_duplicates(pq.read_schema(io.BytesIO(data)).names, name)
        return pd.read_parquet(io.BytesIO(data))
    except IngestError:
        raise
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ... for corrupt files
        log.info("parquet read failed for %s", name, exc_info=True)
        reason = str(err).strip().splitlines()[0].rstrip(".") if str(err).strip() else type(err).__name__
        raise IngestError(TABLE_UNREADABLE.format(name=name, fmt="Parquet", reason=reason)) from None


def _read_csv(data: bytes, name: str) -> pd.DataFrame:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 byte-order mark (Excel's "Unicode text")
        raise IngestError(TABLE_BAD_ENCODING.format(name=name, position=1))
    if b"\x00" in data[:_SNIFF_CHARS]:
        raise IngestError(TABLE_BINARY.format(name=name))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise IngestError(TABLE_BAD_ENCODING.format(name=name, position=err.start + 1)) from None
    if not text.strip():
        raise IngestError(FILE_EMPTY.format(name=name))
    delimiter = _sniff_delimiter(text[:_SNIFF_CHARS])
    _check_duplicates(next(csv.reader(io.StringIO(text), delimiter=delimiter)), name)
    try:
        return pd.read_csv(io.StringIO(text), sep=delimiter, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        reason = (f"line {match[2]} has {match[3]} fields but the header has {match[1]}" if match
                  else str(err).strip().splitlines()[0].rstrip("."))
        raise IngestError(TABLE_UNREADABLE.format(name=name, fmt="CSV", reason=reason)) from None


def _check_duplicates(columns: list, name: str) -> None:
    duplicated = sorted({str(c) for c in columns if list(columns).count(c) > 1})
    if duplicated:
        raise IngestError(DUPLICATE_COLUMNS.format(name=name, columns=listing(f"'{c}'" for c in duplicated)))


def _sniff_delimiter(sample: str) -> str:
    lines = sample.splitlines()[:50]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:  # one column, or no consistent delimiter: pandas' default
        return ","


def frame_sha256(frame: pd.DataFrame) -> str:
    """Return a SHA-256 fingerprint of a DataFrame's column names and values (for in-memory tables)."""
    digest = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode())
    try:
        digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    except TypeError:  # unhashable cells (lists, dicts)
        digest.update(frame.to_csv().encode())
    return digest.hexdigest()


# ============================================ roles ===================================================
def load_dataset(source: Any, *, target: str | None = None, prediction: str | None = None,
                 score: str | None = None, sensitive: str | Sequence[str] = (),
                 features: Sequence[str] | None = None, positive_label: Any = None,
                 name: str | None = None) -> Dataset:
    r"""Read a table and give its columns roles, validated.

    Parameters
    ----------
    source : str, os.PathLike, bytes, binary file object or pandas.DataFrame
        The table (see :func:`read_table`). A DataFrame is fingerprinted from its contents.
    target, prediction, score : str, optional
        The true outcome, logged predicted labels and logged scores.
    sensitive : str or sequence of str
        Columns defining the groups of an audit (several mean their intersection).
    features : sequence of str, optional
        The model's inputs; default: every column except the target, prediction and score.
    positive_label : optional
        The favourable outcome. Needed when the target has more than two values: the target (and the
        prediction) are then binarised one-vs-rest to 1 (this label) and 0 (any other).
    name : str, optional
        Display name; defaults to the file's base name.

    Returns
    -------
    Dataset

    Raises
    ------
    IngestError
        For unreadable files and for every role problem listed in :func:`validate_roles`.

    Examples
    --------
    >>> data = load_dataset(b"age,sex,y\n31,F,1\n45,M,0\n52,F,0\n", target="y", sensitive="sex",
    ...                     name="people.csv")
    >>> data.roles.features, data.positive_label
    (('age', 'sex'), 1)
    """
    if isinstance(source, pd.DataFrame):
        name = name or "data"
        frame, sha = source, frame_sha256(source)
    else:
        name = source_name(source, name, "data")
        frame, sha = read_table(source, name=name)
    sensitive = (sensitive,) if isinstance(sensitive, str) else tuple(sensitive)
    if features is None:
        features = [c for c in frame.columns if c not in (target, prediction, score)]
    roles = ColumnRoles(target=target, prediction=prediction, score=score, sensitive=sensitive,
                        features=tuple(features), positive_label=positive_label)
    frame, roles = apply_roles(frame, roles, name=name)
    return Dataset(frame=frame, roles=roles, name=name, sha256=sha)


def validate_roles(frame: pd.DataFrame, roles: ColumnRoles, *, name: str | None = None) -> None:
    """Check that ``roles`` can be used with ``frame``; raise one sentence for the first problem.

    Checks: every named column exists; no column is both target and prediction/score/feature; the
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
    for column in named:
        if column is not None and column not in frame.columns:
            raise IngestError(UNKNOWN_COLUMN.format(column=column, where=where,
                                                    available=listing(frame.columns, limit=20)))
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
    values = _sorted_values(y)
    if len(values) == 1:
        raise IngestError(TARGET_SINGLE_VALUE.format(column=y.name, value=values[0]))
    if roles.positive_label is not None:
        if _match_label(values, roles.positive_label) is None:
            raise IngestError(POSITIVE_LABEL_UNKNOWN.format(label=roles.positive_label, column=y.name,
                                                            values=listing(values)))
    elif len(values) > 2:
        raise IngestError(TARGET_NOT_BINARY.format(column=y.name, count=len(values),
                                                   values=listing(values, limit=8)))


def _sorted_values(y: pd.Series) -> list:
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
    values = _sorted_values(frame[roles.target])
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

    def first(names, ok) -> str | None:
        candidates = [by_lower[n] for n in names if n in by_lower]
        candidates += [c for c in frame.columns if any(str(c).lower().endswith("_" + n) for n in names)]
        return next((c for c in candidates if ok(frame[c])), None)

    target = first(TARGET_NAMES, lambda y: y.notna().all() and y.nunique() == 2)
    prediction = first(PREDICTION_NAMES, lambda y: y.notna().any())
    prediction = prediction if prediction != target else None
    score = first(SCORE_NAMES, pd.api.types.is_numeric_dtype)
    sensitive = tuple(by_lower[n] for n in SENSITIVE_NAMES
                      if n in by_lower and by_lower[n] != target and frame[by_lower[n]].nunique() >= 2)
    if model is not None and model.feature_names and all(f in frame.columns for f in model.feature_names):
        features = tuple(f for f in model.feature_names if f not in (target, prediction, score))
    else:
        features = tuple(c for c in frame.columns if c not in (target, prediction, score))
    return ColumnRoles(target=target, prediction=prediction, score=score, sensitive=sensitive,
                       features=features)


# ========================================= model <-> data =============================================
def check_model_fits(model: Model, data: Any) -> None:
    """Check that ``model`` can score ``data``; raise one sentence saying why not.

    Parameters
    ----------
    model : Model
        The loaded model.
    data : Dataset or ImageSet
        The table (with roles) or images it should score.

    Raises
    ------
    IngestError
        When the modalities differ, the table lacks columns the model expects (named), the number of
        feature columns differs from a nameless model's input width, or the target's (or image labels')
        values are not among the model's classes.

    Examples
    --------
    >>> from ingest import samples
    >>> check_model_fits(samples.german_model(), samples.german_dataset())  # doctest: +SKIP
    """
    classes = [str(c) for c in model.classes_]
    if not isinstance(data, Dataset):  # an ImageSet
        if model.modality != "image":
            raise IngestError(MODEL_IS_TABULAR.format(model=model.name))
        labels = sorted({str(v) for v in data.labels or ()})
        if labels and not set(labels) <= set(classes):
            raise IngestError(CLASSES_DO_NOT_MATCH.format(classes=listing(classes, limit=10),
                                                          column="image labels", values=listing(labels)))
        return
    if model.modality != "tabular":
        raise IngestError(MODEL_IS_IMAGE.format(model=model.name, data=data.name))
    if model.feature_names:
        missing = [f for f in model.feature_names if f not in data.frame.columns]
        if missing:
            raise IngestError(MODEL_FEATURES_MISSING.format(data=data.name, missing=listing(missing),
                                                            available=listing(data.frame.columns, 20)))
    elif model.info.get("n_features") and model.info["n_features"] != len(data.roles.features):
        raise IngestError(MODEL_FEATURE_COUNT.format(expected=model.info["n_features"], data=data.name,
                                                     actual=len(data.roles.features)))
    if data.roles.target is not None:
        values = [str(v) for v in _sorted_values(data.frame[data.roles.target])]
        if not set(values) <= set(classes):
            raise IngestError(CLASSES_DO_NOT_MATCH.format(
                classes=listing(classes, limit=10), column=f"target column '{data.roles.target}'",
                values=listing(values, limit=10)))
