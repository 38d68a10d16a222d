"""Batch explanations on Spark: ``mapInPandas`` runs the batch chunk function on every partition.

The model file's bytes are broadcast once and loaded on each executor's Python worker with the same safe
loader (``ingest.load_model``) as in the driver. Rows keep their position in the table as their id: each
partition's row count is counted first (a small aggregate), and a row's id is its partition's offset plus
its place in the partition (``monotonically_increasing_id``'s lower 33 bits). A table with fewer
partitions than the cluster has cores (one small Parquet file) is spread over them once its ids are set.
The background is the draw a single process makes (:func:`explainers._batch.batch_background`): those row
ids are selected and collected once, so every engine gives the same values for the same rows (the seeding
rule of ``explainers._batch``). Row ids are positions in Spark's reading order, which for one Parquet file
is the file's order (a folder of several files is read largest file first).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np
import pandas as pd

from glasswing.explainers._batch import (
    ID_COLUMN,
    TARGET_COLUMN,
    ModelFile,
    _load,
    background_size,
    check_batch,
    explain_chunk,
)
from glasswing.explainers._registry import ExplainerError
from glasswing.ingest._sampling import sample_positions
from glasswing.ingest._spark import java_found

SPARK_MISSING = ("Spark is not installed: --engine spark needs pyspark (pip install pyspark); or explain on "
                 "this machine with --jobs N.")
JAVA_MISSING = ("Spark needs a Java runtime (17 or newer), and none was found on PATH or in JAVA_HOME; "
                "install one (apt install openjdk-17-jre-headless) or explain on this machine with --jobs N.")
_MID, _ROW = "__glasswing_mid", "__glasswing_row"
#: monotonically_increasing_id: the partition id in the upper 31 bits, the record number in the lower 33.
_LOW_BITS = 33


def check_spark() -> None:
    """Raise ``ExplainerError`` with one sentence when pyspark or a Java runtime is missing."""
    try:
        import pyspark.sql  # noqa: F401
    except ImportError:
        raise ExplainerError(SPARK_MISSING) from None
    if not java_found():
        raise ExplainerError(JAVA_MISSING)


def _target_type(labels: list):
    from pyspark.sql import types as T

    if all(isinstance(v, bool | np.bool_) for v in labels):
        return T.BooleanType(), bool
    if all(isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in labels):
        return T.LongType(), int
    if all(isinstance(v, float | np.floating | int | np.integer) for v in labels):
        return T.DoubleType(), float
    return T.StringType(), str


def with_row_ids(frame):
    """Return ``(frame with a row-id column, row count)``: ids are positions 0 .. n-1 in the table's order."""
    from pyspark.sql import functions as F

    marked = frame.withColumn(_MID, F.monotonically_increasing_id())
    part = F.shiftright(F.col(_MID), _LOW_BITS)
    counts = sorted((int(r["p"]), int(r["count"])) for r in marked.groupBy(part.alias("p")).count().collect())
    offsets, total = [], 0
    for p, count in counts:
        offsets += [F.lit(p), F.lit(total)]
        total += count
    if not counts:
        return marked.withColumn(_ROW, F.col(_MID)).drop(_MID), 0
    offset = F.create_map(*offsets)[part]
    row = offset + (F.col(_MID) - F.shiftleft(part, _LOW_BITS))
    return marked.withColumn(_ROW, row.cast("long")).drop(_MID), total


def explain_spark(file: ModelFile, frame, *, method: str, target: Any = None, **params):
    """Explain every row of a Spark DataFrame; return the batch table as a Spark DataFrame.

    Parameters
    ----------
    file : ModelFile
        The model file's bytes (broadcast once; each executor loads them with ``ingest.load_model``).
    frame : pyspark.sql.DataFrame
        The table; the model's input columns are taken from it as ``Model.input_frame`` takes them.
    method, target, **params
        As for ``explainers.explain``; ``method`` must explain each row (``"shap"``, ``"lime"``).

    Returns
    -------
    pyspark.sql.DataFrame
        Columns ``row`` (the row's position in ``frame``), ``target``, one per feature, ``base_value`` and
        ``model_output``: the columns of ``explainers._batch.explain_batch``, with the same values.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    model = file.load()
    check_batch(model, method)
    spark = frame.sparkSession
    sc = spark.sparkContext
    if "PYSPARK_PYTHON" not in os.environ and sc.master.startswith("local"):
        sc.pythonExec = sys.executable  # local executors are Python workers of this interpreter
    columns = list(model.input_frame(frame.limit(0).toPandas(), data="the table").columns)
    table, total = with_row_ids(frame.select(*[F.col(f"`{c}`") for c in columns]))
    size = background_size(method, params)
    background = None
    if size is not None:
        positions = sample_positions(total, size, int(params.get("seed", 0))).tolist()
        chosen = table.filter(F.col(_ROW).isin(positions)) if size < total else table
        background = chosen.toPandas().sort_values(_ROW).drop(columns=_ROW).reset_index(drop=True)
    first = background.head(1) if background is not None else table.limit(1).toPandas().drop(columns=_ROW)
    probe = explain_chunk(model, first, np.zeros(len(first)), method=method, target=target,
                          background=background, **dict(params))  # a bad parameter: a sentence, here
    target_type, cast = _target_type(list(model.classes_))
    schema = T.StructType([T.StructField(ID_COLUMN, T.LongType(), False),
                           T.StructField(TARGET_COLUMN, target_type, True),
                           *[T.StructField(c, T.DoubleType(), True) for c in probe.columns[2:]]])
    if table.rdd.getNumPartitions() < sc.defaultParallelism:  # e.g. one Parquet file: use every core
        table = table.repartition(sc.defaultParallelism)  # the ids are already fixed; order no longer matters
    data_b = sc.broadcast(file.data)
    name, trusted = file.name, file.trusted
    background_b = sc.broadcast(background)

    def explain_partition(batches):
        worker_file = ModelFile(data_b.value, name, trusted)
        model_here = _load(worker_file.sha256, worker_file)
        for batch in batches:
            if len(batch) == 0:
                continue
            ids = batch.pop(_ROW).to_numpy()
            out = explain_chunk(model_here, batch, ids, method=method, target=target,
                                background=background_b.value, **dict(params))
            out[TARGET_COLUMN] = out[TARGET_COLUMN].map(cast)
            yield pd.DataFrame(out)

    return table.mapInPandas(explain_partition, schema=schema)
