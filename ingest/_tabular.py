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
    FILE_EMPTY,
    IMAGE_LABELS_NOT_CLASSES,
    MODEL_IS_IMAGE,
    MODEL_IS_TABULAR,
    NOTE_DUPLICATES_DIFFER,
    NOTE_DUPLICATES_IDENTICAL,
    NOTE_ENCODING,
    NOTE_NUMERIC_INPUTS,
    NOTE_RENAMED_INPUTS,
    TABLE_BAD_ENCODING,
    TABLE_BINARY,
    TABLE_NO_ROWS,
    TABLE_OUT_OF_MEMORY,
    TABLE_TOO_MANY_CELLS,
    TABLE_TOO_MANY_COLUMNS,
    TABLE_TOO_MANY_ROWS,
    TABLE_TOO_MUCH_DATA,
    TABLE_UNREADABLE,
    IngestError,
    listing,
)
from glasswing.ingest._limits import MAX_CELLS, MAX_COLUMNS, MAX_ROWS, MAX_TABLE_BYTES
from glasswing.ingest._model import Model
from glasswing.ingest._roles import AMBIGUOUS_ATTR, ColumnRoles, apply_roles, sorted_values
from glasswing.ingest._source import read_bytes, sha256_hex, source_name

log = logging.getLogger(__name__)

PARQUET_MAGIC = b"PAR1"
PARQUET_SUFFIXES = (".parquet", ".pq")
#: Delimiters the CSV sniffer may choose between (comma, semicolon, tab, pipe).
CSV_DELIMITERS = ",;\t|"
_SNIFF_CHARS = 64 * 1024

# ============================================ reading =================================================
#: ``frame.attrs`` keys: what was noticed while reading (renamed duplicates, the encoding guessed), and the
#: duplicated names whose copies differ (a role naming one of them is refused).
NOTES_ATTR = "glasswing.notes"
#: C1 control characters: a Latin-1 reading that yields one of these is not text.
_C1_CONTROLS = re.compile("[\x80-\x9f]")


def read_table(source: Any, *, name: str | None = None) -> tuple[pd.DataFrame, str]:
    r"""Read a CSV or Parquet table and return it with the SHA-256 of its bytes.

    Parquet is recognised by its ``PAR1`` magic bytes or a ``.parquet``/``.pq`` name; anything else is
    read as CSV whose delimiter (``, ; tab |``) is sniffed: UTF-8 (a byte-order mark is allowed), else
    UTF-16 with a byte-order mark, else Windows-1252 or Latin-1 (with a note saying so).

    Budgets are checked before anything is decoded: at most :data:`ingest.MAX_COLUMNS` columns, and
    :data:`ingest.MAX_CELLS` cells (CSV: lines x columns; Parquet: from its metadata, with at most
    :data:`ingest.MAX_ROWS` rows and :data:`ingest.MAX_TABLE_BYTES` uncompressed bytes).

    Columns that share a name are kept, the later copies renamed as pandas does (``decile_score.1``).
    ``frame.attrs["glasswing.notes"]`` holds one sentence per thing noticed (duplicates and whether their
    values are identical, the encoding guessed); a role naming a duplicated column whose copies differ is
    refused by :func:`validate_roles`.

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
        For a missing, empty, over-large, binary, undecodable or malformed file, a table over the
        budgets, or a header without rows.

    Examples
    --------
    >>> frame, sha = read_table(b"age;sex\n31;F\n45;M\n", name="people.csv")
    >>> frame.columns.tolist(), len(frame), sha[:12]
    (['age', 'sex'], 2, 'e289b939e0c0')
    >>> frame, _ = read_table(b"a,a\n1,1\n2,2\n", name="twice.csv")
    >>> frame.columns.tolist()
    ['a', 'a.1']
    >>> print(*frame.attrs["glasswing.notes"])
    'twice.csv' has 2 columns named 'a' holding identical values; the later copies are renamed 'a.1'.
    """
    name = source_name(source, name, "table")
    data = read_bytes(source, name)
    notes: list[str] = []
    try:
        if data[:4] == PARQUET_MAGIC or name.lower().endswith(PARQUET_SUFFIXES):
            frame, header = _read_parquet(data, name)
        else:
            frame, header = _read_csv(data, name, notes)
    except MemoryError:
        log.info("out of memory reading %s", name, exc_info=True)
        raise IngestError(TABLE_OUT_OF_MEMORY.format(name=name)) from None
    if len(frame) == 0:
        raise IngestError(TABLE_NO_ROWS.format(name=name))
    if len(frame) > MAX_ROWS:
        raise IngestError(TABLE_TOO_MANY_ROWS.format(name=name, count=len(frame), limit=MAX_ROWS))
    frame.columns = [str(c) for c in frame.columns]
    ambiguous = _note_duplicates(frame, header, name, notes)
    frame.attrs[NOTES_ATTR] = tuple(notes)
    frame.attrs[AMBIGUOUS_ATTR] = ambiguous
    log.info("read %s: %d rows x %d columns", name, len(frame), frame.shape[1])
    return frame, sha256_hex(data)


def table_notes(frame: pd.DataFrame) -> tuple[str, ...]:
    """Return the notes :func:`read_table` left on ``frame`` (empty for other frames)."""
    return tuple(frame.attrs.get(NOTES_ATTR, ()))


def ambiguous_columns(frame: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Return ``{name: renamed copies}`` for duplicated column names whose copies hold different values."""
    return dict(frame.attrs.get(AMBIGUOUS_ATTR, {}))


def _check_columns(count: int, name: str) -> None:
    if count > MAX_COLUMNS:
        raise IngestError(TABLE_TOO_MANY_COLUMNS.format(name=name, count=count, limit=MAX_COLUMNS))


def _read_parquet(data: bytes, name: str) -> tuple[pd.DataFrame, list[str]]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        meta = parquet.metadata
        header = [str(n) for n in parquet.schema_arrow.names]
        _check_columns(len(header), name)
        rows = meta.num_rows
        if rows > MAX_ROWS:
            raise IngestError(TABLE_TOO_MANY_ROWS.format(name=name, count=rows, limit=MAX_ROWS))
        if rows * len(header) > MAX_CELLS:
            raise IngestError(TABLE_TOO_MANY_CELLS.format(name=name, cells=rows * len(header), rows=rows,
                                                          columns=len(header), limit=MAX_CELLS))
        groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
        size = max(sum(g.total_byte_size for g in groups),
                   sum(g.column(j).total_uncompressed_size for g in groups for j in range(g.num_columns)))
        if size > MAX_TABLE_BYTES:
            raise IngestError(TABLE_TOO_MUCH_DATA.format(name=name, size_mb=size / 2**20,
                                                         limit_mb=MAX_TABLE_BYTES // 2**20))
        table = _read_parquet_bounded(data, parquet.schema_arrow, name)
        if table.num_rows != rows:  # the metadata lied about its size
            raise ValueError(f"the file holds {table.num_rows} rows but its metadata says {rows}")
        return table.rename_columns(dedup_names(header)).to_pandas(), header
    except (IngestError, MemoryError):
        raise
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ... for corrupt files
        log.info("parquet read failed for %s", name, exc_info=True)
        reason = str(err).strip().splitlines()[0].rstrip(".") if str(err).strip() else type(err).__name__
        raise IngestError(TABLE_UNREADABLE.format(name=name, fmt="Parquet", reason=reason)) from None


def _read_parquet_bounded(data: bytes, schema: Any, name: str) -> Any:
    """Read a Parquet file's columns, text kept dictionary-encoded until its decoded size is known.

    A string column stored once in a dictionary page and repeated by index (a few kB in the file) would
    decode to gigabytes; its decoded size is summed from the dictionary's value lengths first.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    text = [f.name for f in schema
            if pa.types.is_string(f.type) or pa.types.is_large_string(f.type) or pa.types.is_binary(f.type)]
    table = pq.ParquetFile(io.BytesIO(data), read_dictionary=text or None).read()
    size = 0
    for column in table.columns:
        for chunk in column.chunks:
            if pa.types.is_dictionary(chunk.type):
                lengths = pc.binary_length(chunk.dictionary)
                size += int(pc.sum(pc.take(lengths, chunk.indices)).as_py() or 0) + 8 * len(chunk)
            else:
                size += chunk.nbytes
    if size > MAX_TABLE_BYTES:
        raise IngestError(TABLE_TOO_MUCH_DATA.format(name=name, size_mb=size / 2**20,
                                                     limit_mb=MAX_TABLE_BYTES // 2**20))
    columns = [pa.chunked_array([c.dictionary_decode() for c in col.chunks], type=col.type.value_type)
               if pa.types.is_dictionary(col.type) else col for col in table.columns]
    return pa.Table.from_arrays(columns, names=table.column_names)


def _decode_text(data: bytes, name: str, notes: list[str]) -> str:
    """Return the file as text: UTF-8, UTF-16 with a byte-order mark, then Windows-1252 or Latin-1."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 byte-order mark (Excel's "Unicode text")
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise IngestError(TABLE_BAD_ENCODING.format(name=name, byte=data[err.start],
                                                        position=err.start + 1)) from None
        notes.append(NOTE_ENCODING.format(name=name, encoding="UTF-16"))
        return text
    if b"\x00" in data[:_SNIFF_CHARS]:
        raise IngestError(TABLE_BINARY.format(name=name))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        first_bad = err
    for encoding, label in (("cp1252", "Windows-1252"), ("latin-1", "Latin-1")):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "latin-1" and _C1_CONTROLS.search(text):
            break  # every byte decodes as Latin-1, but control characters mean it is not Latin-1 text
        notes.append(NOTE_ENCODING.format(name=name, encoding=label))
        return text
    raise IngestError(TABLE_BAD_ENCODING.format(name=name, byte=data[first_bad.start],
                                                position=first_bad.start + 1))


def _read_csv(data: bytes, name: str, notes: list[str]) -> tuple[pd.DataFrame, list[str]]:
    text = _decode_text(data, name, notes)
    if not text.strip():
        raise IngestError(FILE_EMPTY.format(name=name))
    delimiter = _sniff_delimiter(text[:_SNIFF_CHARS])
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as err:
        raise IngestError(TABLE_UNREADABLE.format(name=name, fmt="CSV", reason=str(err))) from None
    _check_columns(len(header), name)
    lines = text.count("\n") + 1  # an upper bound on the rows (quoted line breaks count too)
    if lines * len(header) > MAX_CELLS:
        raise IngestError(TABLE_TOO_MANY_CELLS.format(name=name, cells=lines * len(header), rows=lines,
                                                      columns=len(header), limit=MAX_CELLS))
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        reason = (f"line {match[2]} has {match[3]} fields but the header has {match[1]}" if match
                  else str(err).strip().splitlines()[0].rstrip("."))
        raise IngestError(TABLE_UNREADABLE.format(name=name, fmt="CSV", reason=reason)) from None
    return frame, header


def dedup_names(names: Sequence[str]) -> list[str]:
    """Return ``names`` with later duplicates renamed ``name.1``, ``name.2``, ... as pandas' readers do.

    Linear time (a dictionary of counts), so a header of many thousand columns is checked at once.

    Examples
    --------
    >>> dedup_names(["a", "b", "a", "a"])
    ['a', 'b', 'a.1', 'a.2']
    """
    counts: dict[str, int] = {}
    out = []
    for col in names:
        count = counts.get(col, 0)
        while count > 0:
            counts[col] = count + 1
            col = f"{col}.{count}"
            count = counts.get(col, 0)
        out.append(col)
        counts[col] = count + 1
    return out


def _note_duplicates(frame: pd.DataFrame, header: Sequence[str], name: str,
                     notes: list[str]) -> dict[str, tuple[str, ...]]:
    """Note each duplicated header name; return those whose copies differ, with their renamed copies."""
    if len(header) != frame.shape[1]:
        return {}
    positions: dict[str, list[int]] = {}
    for i, col in enumerate(header):
        positions.setdefault(str(col), []).append(i)
    ambiguous = {}
    for col, where in positions.items():
        if len(where) < 2:
            continue
        first, copies = frame.columns[where[0]], [frame.columns[i] for i in where[1:]]
        shown = listing(f"'{c}'" for c in copies)
        same = all(frame.iloc[:, where[0]].equals(frame.iloc[:, i]) for i in where[1:])
        note = NOTE_DUPLICATES_IDENTICAL if same else NOTE_DUPLICATES_DIFFER
        notes.append(note.format(name=name, count=len(where), column=col, copies=shown))
        if not same:
            ambiguous[str(first)] = tuple(copies)
    return ambiguous


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
    if features is None:  # every other column, but never a duplicated name whose copies differ
        ambiguous = ambiguous_columns(frame)
        features = [c for c in frame.columns if c not in (target, prediction, score) and c not in ambiguous]
    roles = ColumnRoles(target=target, prediction=prediction, score=score, sensitive=sensitive,
                        features=tuple(features), positive_label=positive_label)
    frame, roles = apply_roles(frame, roles, name=name)
    return Dataset(frame=frame, roles=roles, name=name, sha256=sha, notes=table_notes(frame))


# ========================================= model <-> data =============================================
def check_model_fits(model: Model, data: Any) -> tuple[str, ...]:
    """Check that ``model`` can score ``data``; raise one sentence saying why not.

    Parameters
    ----------
    model : Model
        The loaded model.
    data : Dataset or ImageSet
        The table (with roles) or images it should score.

    Returns
    -------
    tuple of str
        Notes on how the data feeds the model (e.g. which numeric columns a one-matrix ONNX model is
        given); empty when there is nothing to say.

    Raises
    ------
    IngestError
        When the modalities differ, the table lacks columns the model expects (named; matched as given,
        then with ``-``, spaces and dots read as ``_``), the number of feature columns differs from a
        nameless model's input width, or the target's (or image labels') values are not among the
        model's classes.

    Examples
    --------
    >>> from glasswing.ingest import samples
    >>> check_model_fits(samples.german_model(), samples.german_dataset())
    ()
    """
    classes = [str(c) for c in model.classes_]
    if not isinstance(data, Dataset):  # an ImageSet
        if model.modality != "image":
            raise IngestError(MODEL_IS_TABULAR.format(model=model.name))
        labels = sorted({str(v) for v in data.labels or ()})
        if labels and not set(labels) <= set(classes):
            raise IngestError(IMAGE_LABELS_NOT_CLASSES.format(classes=listing(classes, limit=10),
                                                              values=listing(labels, limit=10)))
        return ()
    if model.modality != "tabular":
        raise IngestError(MODEL_IS_IMAGE.format(model=model.name, data=data.name))
    notes = input_notes(model, data)
    if data.roles.target is not None:
        values = [str(v) for v in sorted_values(data.frame[data.roles.target])]
        if not set(values) <= set(classes):
            raise IngestError(CLASSES_DO_NOT_MATCH.format(
                classes=listing(classes, limit=10), column=f"target column '{data.roles.target}'",
                values=listing(values, limit=10)))
    return notes


def input_notes(model: Model, data: Dataset) -> tuple[str, ...]:
    """Say how a table feeds a tabular model; raise one sentence when it cannot.

    Parameters
    ----------
    model : Model
        A tabular model.
    data : Dataset
        The table with roles; a nameless ONNX model is given the numeric columns among its features.

    Returns
    -------
    tuple of str
        A note naming the inputs read from columns spelt differently (``education-num`` for the input
        ``education_num``), or the numeric columns a one-matrix model is given and the text columns left
        out; empty when the columns feed the model as they are.

    Raises
    ------
    IngestError
        Naming the inputs the table lacks, or the numeric columns that do not make the model's width.

    Examples
    --------
    >>> from glasswing.ingest import samples
    >>> input_notes(samples.german_model(), samples.german_dataset())
    ()
    """
    used = model.input_frame(data.X if model.feature_names is None else data.frame, data=f"'{data.name}'")
    if model.feature_names is not None:
        renamed = [(f, c) for f, c in zip(model.feature_names, used.columns, strict=True) if f != c]
        if not renamed:
            return ()
        return (NOTE_RENAMED_INPUTS.format(model=model.name, inputs=listing(f for f, _ in renamed),
                                           columns=listing(c for _, c in renamed)),)
    skipped = [c for c in data.X.columns if c not in used.columns]
    if not skipped:
        return ()
    return (NOTE_NUMERIC_INPUTS.format(model=model.name, count=used.shape[1], columns=listing(used.columns),
                                       skipped=listing(skipped)),)
