"""A table file read by Spark (Parquet file or folder, CSV with a header), with a sentence when it cannot be.

Local paths are checked before Spark sees them; a URL Spark reads itself (``hdfs://``, ``s3a://``, ...)
goes straight to Spark, which then names the problem.
"""

from __future__ import annotations

from pathlib import Path

from glasswing.ingest._errors import IngestError

SPARK_NO_FILE = "There is no file or folder {path}; give the Parquet or CSV table to explain."
SPARK_FORMAT = ("Spark reads Parquet (a .parquet file or a folder of them) and CSV (.csv with a header); "
                "'{path}' is neither.")
SPARK_UNREADABLE = "Spark could not read {path}: {reason}."


def spark_table(spark, path: str | Path):
    """Return ``path`` as a Spark DataFrame (Parquet, or CSV with a header and inferred column types).

    Raises ``IngestError`` for a missing local path, another format, or a file Spark cannot read.
    """
    text = str(path)
    remote = "://" in text
    local = Path(text)
    if not remote and not local.exists():
        raise IngestError(SPARK_NO_FILE.format(path=text))
    suffix = Path(text.rstrip("/")).suffix.lower()
    if suffix in (".parquet", ".pq") or (not remote and local.is_dir()):
        reader = spark.read.parquet
    elif suffix == ".csv":
        def reader(p):
            return spark.read.csv(p, header=True, inferSchema=True)
    else:
        raise IngestError(SPARK_FORMAT.format(path=text))
    try:
        return reader(text)
    except Exception as exc:  # noqa: BLE001 - Spark's analysis and Py4J errors have no common type
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IngestError(SPARK_UNREADABLE.format(path=text, reason=reason.rstrip("."))) from exc
