"""The former DuckDB-only module: its names now live in :mod:`audits._pushdown` (one Ibis expression)."""

from glasswing.audits._pushdown import (  # noqa: F401 - the names callers and tests import from here
    NO_PARQUET,
    NOT_PARQUET,
    PARQUET_COLUMN,
    group_metrics_parquet,
    open_source,
    parquet_source,
)
