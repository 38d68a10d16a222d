"""Out-of-core audits: the per-group confusion counts as a DuckDB ``GROUP BY`` over Parquet files.

Only aggregates leave DuckDB (a few rows per group, a few thousand per group for scores), so a Parquet
file or folder larger than memory is audited with the same numbers as :func:`audits.group_metrics`.
"""

from __future__ import annotations

import logging
from pathlib import Path

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

log = logging.getLogger(__name__)

NO_PARQUET = "There is no Parquet file at {path}; give a .parquet file or a folder that contains some."
NOT_PARQUET = "DuckDB could not read {path} as Parquet ({reason})."
PARQUET_COLUMN = "Column {column!r} is not in {path}; it has: {columns}."
_FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL", "DECIMAL")


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def parquet_source(path) -> str:
    """Return the ``read_parquet`` argument for a file, a folder (every ``*.parquet`` below it) or a glob."""
    text = str(path)
    if any(ch in text for ch in "*?["):
        return text
    p = Path(path)
    if p.is_dir():
        if not any(p.rglob("*.parquet")):
            raise AuditError(NO_PARQUET.format(path=path))
        return str(p / "**" / "*.parquet")
    if not p.is_file():
        raise AuditError(NO_PARQUET.format(path=path))
    return str(p)


def group_metrics_parquet(path, *, y_true: str, y_pred: str | None = None, sensitive,
                          y_score: str | None = None, threshold: float | None = None, pos_label=None,
                          sample_weight: str | None = None,
                          score_decimals: int | None = 4, min_group_size: int = 30, confidence: float = 0.95,
                          n_boot: int = 1000, seed: int = 0, threads: int | None = None,
                          memory_limit: str | None = "2GB") -> GroupMetrics:
    """Audit a Parquet file or folder through DuckDB, never loading its rows into pandas.

    The confusion counts per group come from one ``GROUP BY`` (DuckDB streams the file and spills to disk
    when needed); everything else is computed from them exactly as in :func:`audits.group_metrics`, so
    the rates, intervals and disparities are the same numbers.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.parquet`` file, a folder of them (searched recursively) or a glob.
    y_true, y_pred, y_score, sample_weight : str
        Column names. ``y_pred`` may be omitted when ``y_score`` and ``threshold`` are given.
    sensitive : str or sequence of str
        Sensitive column(s); several are audited as their intersection.
    threshold, pos_label, min_group_size, confidence, n_boot, seed
        As for :func:`audits.group_metrics`.
    score_decimals : int or None, default 4
        The AUC is computed on scores rounded to this many decimals (exact with None, at the cost of one
        aggregate row per distinct score). The Brier score, calibration error and mean score use exact scores.
    threads, memory_limit : optional
        DuckDB settings. ``memory_limit`` defaults to ``"2GB"``, the same budget as a table read into
        memory (``ingest.MAX_TABLE_BYTES``): DuckDB streams larger files and spills to disk beyond it
        (None: DuckDB's own default, 80% of the machine's memory).

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
    import duckdb

    sensitive = [sensitive] if isinstance(sensitive, str) else list(sensitive)
    if not sensitive:
        raise AuditError(NO_SENSITIVE)
    source = parquet_source(path)
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            con.execute("SET memory_limit = ?", [memory_limit])
        try:
            schema = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [source]).fetchall()
        except duckdb.Error as err:
            raise AuditError(NOT_PARQUET.format(path=path, reason=str(err).splitlines()[0])) from None
        types = {row[0]: str(row[1]).upper() for row in schema}
        for col in [y_true, y_pred, y_score, sample_weight, *sensitive]:
            if col is not None and col not in types:
                raise AuditError(PARQUET_COLUMN.format(column=col, path=path, columns=", ".join(types)))
        if threshold is not None:
            threshold = check_threshold(threshold)
        src = f"read_parquet({_quote(source)})"
        score_col = y_score
        if y_pred is not None and types[y_pred].startswith(_FLOAT_TYPES):
            frac = con.execute(f"SELECT {_ident(y_pred)} FROM {src} WHERE {_ident(y_pred)} <> round("
                               f"{_ident(y_pred)}) AND NOT isnan({_ident(y_pred)}) LIMIT 1").fetchall()
            if frac:
                if threshold is None:
                    raise AuditError(PROBABILITIES.format(name=y_pred, example=round(float(frac[0][0]), 4)))
                score_col = score_col or y_pred
                y_pred = None
        if y_pred is None and (score_col is None or threshold is None):
            raise AuditError(NEED_THRESHOLD)
        pred_col = y_pred if y_pred is not None else score_col

        def distinct(col):
            return np.array([r[0] for r in con.execute(
                f"SELECT DISTINCT {_ident(col)} FROM {src} WHERE {_missing(col, types, False)} LIMIT 3"
            ).fetchall()], dtype=object)

        true_values = distinct(y_true)
        if len(true_values) == 0:
            raise AuditError(ALL_MISSING.format(name=y_true))
        pred_values = distinct(y_pred) if y_pred is not None else None
        pred_values = _typed(pred_values) if pred_values is not None else None
        pos_label = resolve_pos_label(_typed(true_values), pred_values, pos_label, y_true, y_pred or "")
        pos = plain(pos_label)
        t = f"({_ident(y_true)} = $pos)"
        p = f"({_ident(y_pred)} = $pos)" if y_pred is not None else f"({_ident(score_col)} >= $thr)"
        w = f"CAST({_ident(sample_weight)} AS DOUBLE)" if sample_weight else "1.0"
        ok = f"NOT ({_missing(y_true, types)} OR {_missing(pred_col, types)})"
        keys = ", ".join(f"{_ident(c)} AS k{i}" for i, c in enumerate(sensitive))
        cells = {"tn": f"NOT {t} AND NOT {p}", "fp": f"NOT {t} AND {p}", "fn": f"{t} AND NOT {p}",
                 "tp": f"{t} AND {p}"}
        select = ", ".join(f"coalesce(sum({w}) FILTER (WHERE {ok} AND {cond}), 0) AS {name}"
                           for name, cond in cells.items())
        params = {"pos": pos} | ({"thr": threshold} if y_pred is None else {})
        sql = (f"SELECT {keys}, {select}, count(*) FILTER (WHERE {ok}) AS n, "
               f"count(*) FILTER (WHERE NOT {ok}) AS dropped, "
               f"count(*) FILTER (WHERE {_missing(y_true, types)}) AS no_target, "
               f"count(*) FILTER (WHERE {_missing(pred_col, types)}) AS no_pred FROM {src} GROUP BY ALL")
        raw = con.execute(sql, params).df()
        counts, codes_of, notes = _counts_frame(raw, sensitive)
        total_rows = int(raw["n"].sum() + raw["dropped"].sum())
        if total_rows == 0 or counts["n"].sum() == 0:
            raise AuditError(NO_ROWS.format(name=str(path)) if total_rows == 0
                             else ALL_MISSING.format(name=y_true))
        if raw["dropped"].sum():
            no_target, no_pred = raw["no_target"].sum() > 0, raw["no_pred"].sum() > 0
            what = "the target" if not no_pred else ("the prediction" if not no_target
                                                     else "the target or the prediction")
            notes.insert(0, DROPPED.format(k=int(raw["dropped"].sum()), n=total_rows, what=what))
        scores = {}
        if score_col is not None:
            scores = _score_tables(con, src, types, sensitive, score_col, t, ok, w, {"pos": pos},
                                   score_decimals, codes_of, len(counts), notes)
        log.debug("group_metrics_parquet: %s, %d groups", source, len(counts))
    finally:
        con.close()
    return GroupMetrics.from_counts(counts, pos_label=pos, threshold=threshold if y_pred is None else None,
                                    min_group_size=min_group_size, confidence=confidence, n_boot=n_boot,
                                    seed=seed, notes=tuple(notes), **scores)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _missing(col: str, types: dict, missing: bool = True) -> str:
    expr = f"{_ident(col)} IS NULL"
    if types[col].startswith(_FLOAT_TYPES[:3]):
        expr = f"({expr} OR isnan({_ident(col)}))"
    return expr if missing else f"NOT {expr}"


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


def _score_tables(con, src, types, sensitive, score_col, t, ok, w, params, decimals, codes_of, G,
                  notes) -> dict:
    """Score points per (group, rounded score, calibration bin), then the same metrics as in pandas."""
    s = _ident(score_col)
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)[1:-1]
    bin_expr = "CASE " + " ".join(f"WHEN {s} <= {float(e)!r} THEN {i}" for i, e in enumerate(edges)) + \
        f" ELSE {CALIBRATION_BINS - 1} END"
    rs = s if decimals is None else f"round({s}, {int(decimals)})"
    keys = ", ".join(f"{_ident(c)} AS k{i}" for i, c in enumerate(sensitive))
    yv = f"CAST({t} AS DOUBLE)"
    sql = (f"SELECT {keys}, {rs} AS rs, {bin_expr} AS b, sum({w} * {yv}) AS pos, "
           f"sum({w} * (1 - {yv})) AS neg, sum({w} * {s}) AS s_sum, "
           f"sum({w} * ({s} - {yv}) * ({s} - {yv})) AS sq_sum, "
           f"min({s}) AS lo, max({s}) AS hi "
           f"FROM {src} WHERE {ok} AND NOT {_missing(score_col, types)} GROUP BY ALL")
    pts = con.execute(sql, params).df()
    n_missing = con.execute(f"SELECT count(*) FROM {src} WHERE {ok} AND {_missing(score_col, types)}"
                            ).fetchone()[0]
    if n_missing:
        notes.append(NO_SCORE.format(k=int(n_missing)))
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
