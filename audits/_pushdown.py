"""Audits pushed down to the engine: one Ibis expression for the per-group counts and score histograms.

The same expression runs on DuckDB (embedded: Parquet or CSV files, folders, globs, ``.duckdb`` files),
PostgreSQL (a table or a query) and Spark; only aggregates leave the engine (a few rows per group, a few
thousand per group for the scores), and :class:`GroupMetrics` is built from them exactly as
:func:`audits.group_metrics` builds it in memory, so the numbers are the same.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from glasswing._plain import plain
from glasswing.audits._metrics import (
    DROPPED,
    EMPTY_INTERSECTIONS,
    MISSING_SENSITIVE,
    NEED_THRESHOLD,
    NO_SCORE,
    NOT_UNIT_SCORES,
)
from glasswing.audits._result import GroupMetrics
from glasswing.audits._scores import CALIBRATION_BINS, SCORE_METRICS, ScorePoints, score_metrics
from glasswing.audits._table import CELLS
from glasswing.audits._validate import (
    ALL_MISSING,
    MISSING_GROUP,
    NO_ROWS,
    NO_SENSITIVE,
    PROBABILITIES,
    SINGLE_GROUP,
    AuditError,
    check_threshold,
    resolve_pos_label,
)
from glasswing.ingest._engines import NOT_READABLE, close, first_line, open_source, quiet, source_name

log = logging.getLogger(__name__)

PARQUET_COLUMN = "Column {column!r} is not in {path}; it has: {columns}."


def _missing(t, col: str):
    c = t[col]
    expr = c.isnull()
    if t.schema()[col].is_floating():
        expr = expr | c.isnan()
    return expr


def _run(expr, name) -> pd.DataFrame:
    try:
        with quiet():
            return expr.to_pandas()
    except AuditError:
        raise
    except Exception as err:  # noqa: BLE001
        raise AuditError(NOT_READABLE.format(path=name, reason=first_line(err))) from None


def audit_expressions(t, *, y_true, pred, sensitive, pos, threshold=None, score=None, sample_weight=None,
                      score_decimals=4):
    """Return the Ibis expressions of the audit: the per-group counts and, with a score, its histogram.

    ``pred`` is the prediction column (compared with ``pos``) or, with ``threshold``, the score column
    (``>= threshold`` selects). The counts have one row per group (keys ``k0``, ``k1``...): the weighted
    cells ``tn fp fn tp``, ``n`` usable rows, ``dropped``, ``no_target``, ``no_pred``. The histogram has one
    row per (group, rounded score, calibration bin): ``pos neg s_sum sq_sum lo hi``; and ``missing``, the
    number of usable rows without a score.
    """
    import ibis

    tt = t[y_true] == pos
    pp = (t[pred] >= threshold) if threshold is not None else (t[pred] == pos)
    w = t[sample_weight].cast("float64") if sample_weight else ibis.literal(1.0)
    miss_t, miss_p = _missing(t, y_true), _missing(t, pred)
    ok = ~(miss_t | miss_p)
    keys = {f"k{i}": t[c] for i, c in enumerate(sensitive)}
    cells = {"tn": ~tt & ~pp, "fp": ~tt & pp, "fn": tt & ~pp, "tp": tt & pp}
    aggs = {name: (ok & cond).ifelse(w, 0.0).sum() for name, cond in cells.items()}
    aggs |= {"n": ok.ifelse(1, 0).sum(), "dropped": (~ok).ifelse(1, 0).sum(),
             "no_target": miss_t.ifelse(1, 0).sum(), "no_pred": miss_p.ifelse(1, 0).sum()}
    counts = t.group_by(**keys).aggregate(**aggs)
    if score is None:
        return counts, None, None
    s = t[score].cast("float64")
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)[1:-1]
    b = ibis.literal(CALIBRATION_BINS - 1)
    for i, e in reversed(list(enumerate(edges))):
        b = (s <= float(e)).ifelse(i, b)
    rs = s if score_decimals is None else s.round(int(score_decimals))
    yv = tt.ifelse(1.0, 0.0)
    scored = t.filter(ok & ~_missing(t, score))
    hist = scored.group_by(**keys, rs=rs, b=b).aggregate(
        pos=(w * yv).sum(), neg=(w * (1 - yv)).sum(), s_sum=(w * s).sum(),
        sq_sum=(w * (s - yv) * (s - yv)).sum(), lo=s.min(), hi=s.max())
    missing = t.filter(ok & _missing(t, score)).count()
    return counts, hist, missing


def group_metrics_pushdown(t, *, y_true: str, y_pred: str | None = None, sensitive,
                           y_score: str | None = None, threshold: float | None = None, pos_label=None,
                           sample_weight: str | None = None, score_decimals: int | None = 4,
                           min_group_size: int = 30, confidence: float = 0.95, n_boot: int = 1000,
                           seed: int = 0, name: str = "the table") -> GroupMetrics:
    """Audit an Ibis table on its own engine; only aggregates come back.

    Parameters
    ----------
    t : ibis.expr.types.Table
        From :func:`glasswing.ingest.open_source`.
    y_true, y_pred, y_score, sample_weight : str
        Column names. ``y_pred`` may be omitted when ``y_score`` and ``threshold`` are given.
    sensitive : str or sequence of str
        Sensitive column(s); several are audited as their intersection.
    threshold, pos_label, min_group_size, confidence, n_boot, seed
        As for :func:`audits.group_metrics`.
    score_decimals : int or None, default 4
        The AUC is computed on scores rounded to this many decimals (exact with None).
    name : str
        How sentences name the source (a path, or a URL with its password redacted).

    Returns
    -------
    GroupMetrics
    """
    sensitive = [sensitive] if isinstance(sensitive, str) else list(sensitive)
    if not sensitive:
        raise AuditError(NO_SENSITIVE)
    with quiet():
        schema = t.schema()
    for col in [y_true, y_pred, y_score, sample_weight, *sensitive]:
        if col is not None and col not in schema:
            raise AuditError(PARQUET_COLUMN.format(column=col, path=name, columns=", ".join(schema)))
    if threshold is not None:
        threshold = check_threshold(threshold)
    score_col = y_score
    if y_pred is not None and schema[y_pred].is_floating():
        c = t[y_pred]
        frac = _run(t.filter((c != c.round()) & ~c.isnan()).select(c).limit(1), name)
        if len(frac):
            if threshold is None:
                raise AuditError(PROBABILITIES.format(name=y_pred, example=round(float(frac.iloc[0, 0]), 4)))
            score_col = score_col or y_pred
            y_pred = None
    if y_pred is None and (score_col is None or threshold is None):
        raise AuditError(NEED_THRESHOLD)

    def distinct(col):
        got = _run(t.filter(~_missing(t, col)).select(col).distinct().limit(3), name)
        return np.array(got[col].tolist(), dtype=object)

    true_values = distinct(y_true)
    if len(true_values) == 0:
        raise AuditError(ALL_MISSING.format(name=y_true))
    pred_values = _typed(distinct(y_pred)) if y_pred is not None else None
    pos_label = resolve_pos_label(_typed(true_values), pred_values, pos_label, y_true, y_pred or "")
    pos = plain(pos_label)
    counts_e, hist_e, missing_e = audit_expressions(
        t, y_true=y_true, pred=y_pred if y_pred is not None else score_col, sensitive=sensitive, pos=pos,
        threshold=None if y_pred is not None else threshold, score=score_col, sample_weight=sample_weight,
        score_decimals=score_decimals)
    raw = _run(counts_e, name)
    counts, codes_of, notes = _counts_frame(raw, sensitive)
    total_rows = int(raw["n"].sum() + raw["dropped"].sum())
    if total_rows == 0 or counts["n"].sum() == 0:
        raise AuditError(NO_ROWS.format(name=name) if total_rows == 0 else ALL_MISSING.format(name=y_true))
    if raw["dropped"].sum():
        no_target, no_pred = raw["no_target"].sum() > 0, raw["no_pred"].sum() > 0
        what = "the target" if not no_pred else ("the prediction" if not no_target
                                                 else "the target or the prediction")
        notes.insert(0, DROPPED.format(k=int(raw["dropped"].sum()), n=total_rows, what=what))
    scores = {}
    if hist_e is not None:
        pts = _run(hist_e, name)
        with quiet():
            n_missing = int(missing_e.to_pyarrow().as_py())
        if n_missing:
            notes.append(NO_SCORE.format(k=n_missing))
        scores = _score_tables(pts, sensitive, codes_of, len(counts), notes)
    log.debug("group_metrics_pushdown: %s, %d groups", name, len(counts))
    gm = GroupMetrics.from_counts(counts, pos_label=pos, threshold=threshold if y_pred is None else None,
                                  min_group_size=min_group_size, confidence=confidence, n_boot=n_boot,
                                  seed=seed, notes=tuple(notes), **scores)
    return gm


def group_metrics_parquet(path, *, y_true: str, y_pred: str | None = None, sensitive,
                          y_score: str | None = None, threshold: float | None = None, pos_label=None,
                          sample_weight: str | None = None,
                          score_decimals: int | None = 4, min_group_size: int = 30, confidence: float = 0.95,
                          n_boot: int = 1000, seed: int = 0, threads: int | None = None,
                          memory_limit: str | None = "2GB", engine: str = "duckdb", table: str | None = None,
                          sql: str | None = None, spark_master: str | None = None,
                          password: str | None = None) -> GroupMetrics:
    """Audit a file, folder, glob or database table where it lives, never loading its rows into pandas.

    The counts come from the Ibis expression of :func:`audit_expressions` run on the engine (see
    :func:`glasswing.ingest.open_source` for the sources, ``engine``, ``table``, ``sql`` and
    ``spark_master``); everything else is computed from them exactly as in :func:`audits.group_metrics`.

    Parameters
    ----------
    path : str or pathlib.Path
        The source (see :func:`glasswing.ingest.open_source`).
    y_true, y_pred, y_score, sample_weight, sensitive, threshold, pos_label, score_decimals
        As for :func:`group_metrics_pushdown`.
    min_group_size, confidence, n_boot, seed
        As for :func:`audits.group_metrics`.
    threads, memory_limit : optional
        DuckDB settings. ``memory_limit`` defaults to ``"2GB"`` (DuckDB spills to disk beyond it).
    engine, table, sql, spark_master, password : optional
        As for :func:`glasswing.ingest.open_source`.

    Returns
    -------
    GroupMetrics

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> path = Path(tempfile.mkdtemp()) / "scored.parquet"
    >>> pd.DataFrame({"y": [1, 0, 1, 0, 1], "pred": [1, 1, 0, 0, 1],
    ...               "sex": ["F", "F", "M", "M", "M"]}).to_parquet(path)
    >>> gm = group_metrics_parquet(path, y_true="y", y_pred="pred", sensitive="sex")
    >>> gm.by_group["selection_rate"].round(3).to_dict()  # F: 2 of 2 selected, M: 1 of 3
    {'F': 1.0, 'M': 0.333}
    """
    t = open_source(path, engine=engine, table=table, sql=sql, spark_master=spark_master, threads=threads,
                    memory_limit=memory_limit, password=password)
    name = source_name(path, table=table, sql=sql, engine=engine)
    try:
        return group_metrics_pushdown(t, y_true=y_true, y_pred=y_pred, sensitive=sensitive, y_score=y_score,
                                      threshold=threshold, pos_label=pos_label, sample_weight=sample_weight,
                                      score_decimals=score_decimals, min_group_size=min_group_size,
                                      confidence=confidence, n_boot=n_boot, seed=seed, name=name)
    finally:
        close(t, engine)


def _typed(values: np.ndarray) -> np.ndarray:
    try:
        return np.array(values.tolist())
    except (TypeError, ValueError):
        return values


def _counts_frame(raw: pd.DataFrame, sensitive: list[str]):
    """Sorted counts per observed group (missing keys become ``"(missing)"``), and a key -> position map."""
    raw = raw[raw["n"] > 0].copy()
    notes = []
    keys = [f"k{i}" for i in range(len(sensitive))]
    for k, name in zip(keys, sensitive, strict=True):
        col = raw[k]
        present = col.dropna().unique()
        if len(present) == 0:
            raise AuditError(ALL_MISSING.format(name=f"Sensitive column {name!r}"))
        n_missing = int(raw.loc[col.isna(), "n"].sum())
        labels = len(present) + (1 if n_missing else 0)
        if labels == 1:
            raise AuditError(SINGLE_GROUP.format(name=name, value=plain(present[0])))
        if n_missing:
            notes.append(MISSING_SENSITIVE.format(k=n_missing, name=name, group=MISSING_GROUP))
    order = raw.sort_values(keys, na_position="last", kind="stable")
    order[keys] = order[keys].astype(object).where(order[keys].notna(), MISSING_GROUP)
    sizes = [order[k].nunique() for k in keys]
    if len(keys) > 1 and int(np.prod(sizes)) > len(order):
        notes.append(EMPTY_INTERSECTIONS.format(k=int(np.prod(sizes)) - len(order),
                                                names=" x ".join(sensitive)))
    if len(keys) == 1:
        index = pd.Index(order[keys[0]].map(plain).tolist(), name=sensitive[0])
    else:
        index = pd.MultiIndex.from_arrays([order[k].map(plain).tolist() for k in keys], names=sensitive)
    counts = pd.DataFrame(order[list(CELLS)].to_numpy(dtype=float), index=index, columns=list(CELLS))
    counts["n"] = order["n"].to_numpy(dtype=np.int64)
    codes_of = {tuple(_key(k)): i for i, k in enumerate(index)}
    return counts, codes_of, notes


def _score_tables(pts: pd.DataFrame, sensitive, codes_of, G, notes) -> dict:
    """Score points per (group, rounded score, calibration bin), then the same metrics as in pandas."""
    kcols = [f"k{i}" for i in range(len(sensitive))]
    key_frame = pts[kcols].astype(object).where(pts[kcols].notna(), MISSING_GROUP)
    group = np.array([codes_of[tuple(plain(v) for v in row)] for row in key_frame.itertuples(index=False)],
                     dtype=np.int64)
    points = ScorePoints(group=group, score=pts["rs"].to_numpy(float), pos=pts["pos"].to_numpy(float),
                         neg=pts["neg"].to_numpy(float), s_sum=pts["s_sum"].to_numpy(float),
                         sq_sum=pts["sq_sum"].to_numpy(float), bin=pts["b"].to_numpy(np.int64))
    in_unit = len(pts) == 0 or (pts["lo"].min() >= 0 and pts["hi"].max() <= 1)
    per_group, overall, reliability = score_metrics(points, G)
    if not in_unit:
        per_group[["brier_score", "calibration_error"]] = np.nan
        overall[["brier_score", "calibration_error"]] = np.nan
        reliability = reliability.iloc[:0]
        notes.append(NOT_UNIT_SCORES)
    return {"group_scores": per_group, "overall_scores": overall[list(SCORE_METRICS)],
            "reliability": reliability}


def _key(k):
    return k if isinstance(k, tuple) else (k,)
