"""Batch explanations: every row of a table, in chunks, in this process or in joblib worker processes.

One chunk is one registry call (``explainers.explain``) on a slice of rows, turned into the batch table at
once: ``row`` (the row's position in the data), ``target`` (the class explained), one attribution column per
original feature, ``base_value`` and ``model_output``. The same chunk function runs in a joblib (loky)
worker and in a Spark executor (``explainers._batch_spark``), so every engine gives the same numbers.

The model travels as the bytes of its file (:class:`ModelFile`) and is loaded in each worker with the same
safe loader as in the main process (skops' trusted-types check, ONNX's graph checks), never as a pickled
object. Seeding rule, which makes the values independent of how rows are split into chunks or partitions:
the background (SHAP's background sample, LIME's training statistics) is drawn once from the whole table,
exactly as a single call on every row would draw it (``sample_rows(table, size, seed)``), and sent with
every chunk; each row is then explained with a fresh generator seeded ``seed`` (LIME, permutation and
kernel SHAP reseed per row), so a row's values depend only on the row, the background and ``seed``.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from glasswing.explainers._explanation import attribution_frame
from glasswing.explainers._lime_tabular import LIME_TRAINING_ROWS
from glasswing.explainers._registry import ExplainerError, explain, registry
from glasswing.explainers._rows import sample_rows

GLOBAL_METHOD = ("Batch output explains each row, and {label} explains the model as a whole; write it with "
                 "--out FILE.csv instead.")
NOT_TABULAR = "Batch explanations explain table rows, and this is {article} {modality} model."
BAD_JOBS = "--jobs takes a number of worker processes, 1 or more; got {jobs}."
#: Columns the batch table adds around the feature columns.
ID_COLUMN, TARGET_COLUMN, BASE_COLUMN, OUTPUT_COLUMN = "row", "target", "base_value", "model_output"
#: Most rows per chunk (bounds a worker's memory: one Explanation per row lives only inside a chunk).
MAX_CHUNK_ROWS = 20_000

#: How many background rows a method draws, given its parameters (the draw the batch makes once).
_BACKGROUND_ROWS: dict[str, Callable[[dict], int]] = {
    "shap": lambda params: int(params.get("background_size", 100)),
    "lime": lambda params: LIME_TRAINING_ROWS,
}
#: The background size for a third-party method that takes a background without saying how much it uses.
OTHER_BACKGROUND_ROWS = 2000


@dataclass(frozen=True)
class ModelFile:
    """A model file's bytes, name and trust flag: what workers receive to load the model themselves."""

    data: bytes
    name: str
    trusted: bool = False

    @property
    def sha256(self) -> str:
        """The SHA-256 digest of the file's bytes."""
        return hashlib.sha256(self.data).hexdigest()

    def load(self):
        """Return the model, loaded with ``ingest.load_model`` (once per process and file)."""
        return _load(self.sha256, self)


@functools.lru_cache(maxsize=4)
def _load(sha256: str, file: ModelFile):
    from glasswing import ingest

    return ingest.load_model(file.data, name=file.name, trusted=file.trusted)


def check_batch(model: Any, method: str) -> None:
    """Raise ``ExplainerError`` unless ``method`` explains each row of a tabular ``model``."""
    spec = registry.get(method)
    if model.modality != "tabular":
        article = "an" if model.modality[:1] in "aeiou" else "a"
        raise ExplainerError(NOT_TABULAR.format(article=article, modality=model.modality))
    if spec.scope != "local":
        raise ExplainerError(GLOBAL_METHOD.format(label=spec.label))
    why = spec.applies_to(model)
    if why is not None:
        raise ExplainerError(f"{spec.label} cannot explain this model: {why}")


def background_size(method: str, params: dict) -> int | None:
    """Return how many background rows ``method`` draws with ``params`` (None if it takes no background)."""
    spec = registry.get(method)
    if not any(p.name == "background" for p in spec.params):
        return None
    return _BACKGROUND_ROWS.get(method, lambda p: OTHER_BACKGROUND_ROWS)(params)


def batch_background(table: pd.DataFrame, method: str, params: dict) -> pd.DataFrame | None:
    """Return the background rows a single call on all of ``table`` would draw (None if none is needed)."""
    size = background_size(method, params)
    if size is None:
        return None
    return sample_rows(table, size, int(params.get("seed", 0)))


def explain_chunk(model: Any, rows: pd.DataFrame, ids: np.ndarray, *, method: str, target: Any = None,
                  background: pd.DataFrame | None = None, **params) -> pd.DataFrame:
    """Explain ``rows`` with one registry call; return their batch table (``ids`` in its ``row`` column)."""
    if background is not None:
        params["background"] = background
    result = explain(model, rows, method=method, target=target, **params)
    table = attribution_frame(result).reset_index(drop=True)
    table.insert(0, ID_COLUMN, np.asarray(ids, dtype=np.int64))
    table.attrs["output"] = result[0].output if result else ""
    table.attrs["algorithm"] = result[0].algorithm if result else ""
    return table


def _worker_chunk(file: ModelFile, rows: pd.DataFrame, ids: np.ndarray, method: str, target: Any,
                  background: pd.DataFrame | None, params: dict) -> pd.DataFrame:
    return explain_chunk(file.load(), rows, ids, method=method, target=target, background=background,
                         **params)


def chunk_bounds(n_rows: int, jobs: int) -> list[tuple[int, int]]:
    """Split ``n_rows`` into chunks: about four per worker, at most :data:`MAX_CHUNK_ROWS` rows each.

    Examples
    --------
    >>> chunk_bounds(10, 1)
    [(0, 3), (3, 6), (6, 9), (9, 10)]
    """
    size = max(1, min(MAX_CHUNK_ROWS, math.ceil(n_rows / (4 * jobs))))
    return [(lo, min(lo + size, n_rows)) for lo in range(0, n_rows, size)]


def explain_batch(file: ModelFile, table: pd.DataFrame, *, method: str, target: Any = None, jobs: int = 1,
                  ids: Any = None, background: pd.DataFrame | None = None,
                  progress: Callable[[float, str], None] | None = None, **params) -> pd.DataFrame:
    """Explain every row of ``table``; return the batch table (one row per input row, in order).

    Parameters
    ----------
    file : ModelFile
        The model file's bytes; each worker loads it with ``ingest.load_model`` (the safe loader).
    table : pandas.DataFrame
        The model's input columns (``Model.input_frame`` of the data), one row per row to explain.
    method : str
        A per-row registry method (``"shap"``, ``"lime"``).
    target : optional
        The class to explain; default each row's predicted class.
    jobs : int, default 1
        Worker processes (joblib's loky backend); 1 explains the chunks in this process.
    ids : sequence of int, optional
        The rows' ids for the ``row`` column; default their positions 0, 1, ...
    background : pandas.DataFrame, optional
        The background rows; default the draw a single call on all of ``table`` makes
        (:func:`batch_background`), so the values equal a single ``explainers.explain`` call on ``table``.
    progress : callable, optional
        Called with (fraction done, message) after each chunk.
    **params
        The method's parameters.

    Returns
    -------
    pandas.DataFrame
        Columns ``row``, ``target``, the features, ``base_value`` and ``model_output``; ``attrs`` holds
        ``output`` (the unit of SHAP's additivity) and ``algorithm``.

    Raises
    ------
    ExplainerError
        For ``jobs`` below 1, a global or image method, or a method that cannot explain the model.

    Examples
    --------
    >>> import skops.io
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    >>> file = ModelFile(skops.io.dumps(LogisticRegression().fit(X, [0, 0, 1, 1])), "m.skops")
    >>> out = explain_batch(file, X, method="shap", target=1)
    >>> out.columns.tolist()
    ['row', 'target', 'a', 'b', 'base_value', 'model_output']
    >>> bool(np.allclose(out["base_value"] + out[["a", "b"]].sum(axis=1), out["model_output"]))
    True
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ExplainerError(BAD_JOBS.format(jobs=jobs))
    model = file.load()
    check_batch(model, method)
    registry.get(method)  # unknown parameters are refused by the first chunk, in this process
    ids = np.arange(len(table)) if ids is None else np.asarray(ids, dtype=np.int64)
    if background is None:
        background = batch_background(table, method, params)
    bounds = chunk_bounds(len(table), jobs)
    if not bounds:
        return explain_chunk(model, table, ids, method=method, target=target, background=background,
                             **params)
    parts: list[pd.DataFrame] = []

    def report() -> None:
        if progress is not None:
            done = sum(len(p) for p in parts)
            progress(done / len(table), f"Explained {done:,} of {len(table):,} rows")

    if jobs == 1:
        for lo, hi in bounds:
            parts.append(explain_chunk(model, table.iloc[lo:hi], ids[lo:hi], method=method, target=target,
                                       background=background, **params))
            report()
    else:
        from joblib import Parallel, delayed

        # The first chunk runs here: a bad parameter is one sentence before any worker starts.
        lo, hi = bounds[0]
        parts.append(explain_chunk(model, table.iloc[lo:hi], ids[lo:hi], method=method, target=target,
                                   background=background, **params))
        report()
        calls = (delayed(_worker_chunk)(file, table.iloc[lo:hi], ids[lo:hi], method, target, background,
                                        params) for lo, hi in bounds[1:])
        for part in Parallel(n_jobs=jobs, backend="loky", return_as="generator")(calls):
            parts.append(part)
            report()
    out = pd.concat(parts, ignore_index=True)
    out.attrs = dict(parts[0].attrs)
    return out

