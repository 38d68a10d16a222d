"""Tables: reading CSV and Parquet safely, validating column roles, and checking a model fits the data."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from glasswing.ingest._dataset import Dataset
from glasswing.ingest._errors import (
    CLASSES_DO_NOT_MATCH,
    DUPLICATE_COLUMNS,
    FILE_EMPTY,
    MODEL_FEATURE_COUNT,
    MODEL_FEATURES_MISSING,
    MODEL_IS_IMAGE,
    MODEL_IS_TABULAR,
    TABLE_BAD_ENCODING,
    TABLE_BINARY,
    TABLE_NO_ROWS,
    TABLE_UNREADABLE,
    IngestError,
    listing,
)
from glasswing.ingest._model import Model
from glasswing.ingest._roles import ColumnRoles, apply_roles, sorted_values
from glasswing.ingest._source import read_bytes, sha256_hex, source_name

log = logging.getLogger(__name__)

PARQUET_MAGIC = b"PAR1"
PARQUET_SUFFIXES = (".parquet", ".pq")
#: Delimiters the CSV sniffer may choose between (comma, semicolon, tab, pipe).
CSV_DELIMITERS = ",;\t|"
_SNIFF_CHARS = 64 * 1024

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
        values = [str(v) for v in sorted_values(data.frame[data.roles.target])]
        if not set(values) <= set(classes):
            raise IngestError(CLASSES_DO_NOT_MATCH.format(
                classes=listing(classes, limit=10), column=f"target column '{data.roles.target}'",
                values=listing(values, limit=10)))
