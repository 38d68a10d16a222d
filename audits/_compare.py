"""Two models side by side on the same rows: every rate by group for both, and B - A with paired intervals.

The comparison is *paired*: both models are scored on the same rows, and every bootstrap replicate
resamples the same rows for both (replicate ``r`` draws ``numpy.random.default_rng(seed).integers(0, n,
n)``, the ``r``-th draw of one generator), so the interval of ``B - A`` reflects the two models' correlated
errors rather than two independent samples. Intervals are percentile intervals of the replicates; a
replicate in which a rate has no rows in its denominator leaves that rate's interval (it is NaN there).

Which groups the change **helps** or **hurts** is read from the intervals: a change is beyond chance when
the interval of ``B - A`` excludes 0. It *helps* a group when the group's selection rate (the favourable
outcome), true positive rate or accuracy rises beyond chance and none of them falls; it *hurts* when one
falls and none rises; *mixed* when both happen. The headline (sentences, ``--json``'s ``"compare"`` block)
uses the groups with at least ``min_group_size`` rows; the others are listed, never dropped. Summary
disparities are compared over the groups both audits' headlines use (adequate groups with the counts each
disparity needs).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from glasswing._plain import json_safe
from glasswing.audits._headline import eligible
from glasswing.audits._metrics import _build, _prepare
from glasswing.audits._result import DISPARITIES, GroupMetrics
from glasswing.audits._table import RATE_NAMES, label, rates
from glasswing.audits._validate import AuditError

log = logging.getLogger(__name__)

#: The rates compared group by group (the base rate is the same for both models on the same rows).
COMPARE_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate", "false_negative_rate",
                   "true_negative_rate", "precision", "negative_predictive_value", "accuracy")
#: The rates a group's verdict reads, and the direction that is better for the group (+1: higher).
VERDICT_METRICS = {"selection_rate": 1, "true_positive_rate": 1, "accuracy": 1}

DIFFERENT_ROWS = ("The two models' predictions leave out different rows ({a:,} and {b:,} rows are counted); "
                  "a paired comparison needs both models scored on the same rows.")
DIFFERENT_TARGET = ("The two models read the target differently (their classes map the target to different "
                    "labels); give a label map so that both count the same rows as positive.")
DIFFERENT_CLASSES = "The two models have different classes ({a} and {b}); compare models of the same task."

HELPS, HURTS, MIXED, NO_CHANGE = "helps", "hurts", "mixed", "no clear change"


@dataclass(frozen=True, eq=False)
class ModelComparison:
    """Model B against model A on the same rows (see the module docstring for the rules).

    Attributes
    ----------
    a, b : GroupMetrics
        The two audits (same rows, same groups).
    names : tuple of str
        Display names of A and B.
    by_group : pandas.DataFrame
        One row per (group, metric): group, metric, n, small, a, b, difference (B - A), low, high (paired
        bootstrap interval), change (``"higher"``, ``"lower"``, ``"no clear change"`` or ``"undefined"``).
    groups : pandas.DataFrame
        One row per group: group, n, small, verdict (helps / hurts / mixed / no clear change), better and
        worse (the verdict metrics that moved beyond chance, in words).
    disparities : pandas.DataFrame
        One row per summary disparity (indexed by name): a, b, difference, low, high, verdict (``"fairer"``,
        ``"less fair"``, ``"no clear change"``, ``"undefined"``) and groups (the labels compared).
    n_boot, seed : int
        The number of paired bootstrap resamples and the seed of their generator.
    confidence : float
        Level of the percentile intervals.
    """

    a: GroupMetrics
    b: GroupMetrics
    names: tuple[str, str]
    by_group: pd.DataFrame
    groups: pd.DataFrame
    disparities: pd.DataFrame
    n_boot: int
    seed: int
    confidence: float
    min_group_size: int
    notes: tuple[str, ...] = field(default=())

    @property
    def n_rows(self) -> int:
        """Rows both models were scored on."""
        return int(self.a.counts["n"].sum())

    @property
    def method(self) -> str:
        """How the intervals were computed, in one sentence."""
        return (f"Paired bootstrap: {self.n_boot:,} resamples of the {self.n_rows:,} rows (the same "
                f"resampled rows for both models, numpy default_rng seed {self.seed}), "
                f"{self.confidence:.0%} percentile intervals of B - A.")

    def headline_groups(self) -> pd.DataFrame:
        """Return the groups the headline reads (at least ``min_group_size`` rows)."""
        return self.groups[~self.groups["small"]]

    def left_out(self) -> pd.DataFrame:
        """Return the groups left out of the headline (fewer than ``min_group_size`` rows), with sizes."""
        return self.groups[self.groups["small"]][["group", "n"]]

    def sentences(self) -> list[str]:
        """Say the comparison in words: which adequate groups the change helps or hurts, then disparities."""
        a, b = self.names
        out = [f"{b} against {a} on the same {self.n_rows:,} rows. {self.method}"]
        head = self.headline_groups()
        for verdict in (HELPS, HURTS, MIXED):
            rows = head[head["verdict"] == verdict]
            if len(rows):
                detail = "; ".join(f"{r.group} ({', '.join(x for x in (r.better, r.worse) if x)})"
                                   for r in rows.itertuples())
                out.append(f"The change {verdict} {detail}." if verdict != MIXED else
                           f"The change is mixed for {detail}.")
        quiet = head[head["verdict"] == NO_CHANGE]["group"].tolist()
        if quiet:
            out.append("No change beyond chance in selection rate, TPR or accuracy for "
                       + ", ".join(map(str, quiet)) + ".")
        small = self.left_out()
        if len(small):
            out.append(f"Left out as too small to conclude from (fewer than {self.min_group_size:,} rows): "
                       + ", ".join(f"{r.group} (n = {r.n:,})" for r in small.itertuples()) + ".")
        for name in ("demographic_parity_difference", "equalized_odds_difference"):
            r = self.disparities.loc[name]
            if r["verdict"] == "undefined":
                continue
            out.append(f"{label(name)}: {r['a']:.3f} with {a}, {r['b']:.3f} with {b} "
                       f"({r['difference']:+.3f}, "
                       f"{self.confidence:.0%} interval {r['low']:+.3f} to {r['high']:+.3f}): "
                       f"{r['verdict']}.")
        return out

    def table(self, metrics=None, digits: int = 3) -> pd.DataFrame:
        """Display table: one row per group and metric, A, B and ``B - A (low to high)``, and the change."""
        rows = self.by_group if metrics is None else self.by_group[self.by_group["metric"].isin(metrics)]
        a, b = self.names
        out = pd.DataFrame({
            "group": rows["group"].astype(str), "n": rows["n"], "metric": rows["metric"].map(label),
            a: rows["a"].round(digits), b: rows["b"].round(digits),
            "B - A": [_span(d, lo, hi, digits) for d, lo, hi in zip(rows["difference"], rows["low"],
                                                                   rows["high"], strict=True)],
            "change": rows["change"], "small": rows["small"]})
        return out.reset_index(drop=True)

    def disparity_table(self, digits: int = 3) -> pd.DataFrame:
        """Display table of the summary disparities: A, B, ``B - A (low to high)`` and the verdict."""
        d = self.disparities
        a, b = self.names
        return pd.DataFrame({
            "disparity": [label(n) for n in d.index], a: d["a"].round(digits), b: d["b"].round(digits),
            "B - A": [_span(x, lo, hi, digits) for x, lo, hi in zip(d["difference"], d["low"], d["high"],
                                                                    strict=True)],
            "verdict": d["verdict"], "groups": [", ".join(map(str, g)) for g in d["groups"]]}).reset_index(
                drop=True)

    def to_dict(self) -> dict:
        """JSON-safe form (``glasswing audit --compare-model ... --json``'s ``"compare"`` block)."""
        a, b = self.names
        return json_safe({
            "model_a": a, "model_b": b, "rows": self.n_rows, "n_boot": self.n_boot, "seed": self.seed,
            "confidence": self.confidence, "min_group_size": self.min_group_size, "method": self.method,
            "paired": True,
            "by_group": self.by_group.to_dict("records"),
            "groups": self.groups.to_dict("records"),
            "disparities": [{"name": n, **row} for n, row in self.disparities.to_dict("index").items()],
            "headline": {"helps": self.headline_groups().query("verdict == @HELPS")["group"].tolist(),
                         "hurts": self.headline_groups().query("verdict == @HURTS")["group"].tolist(),
                         "mixed": self.headline_groups().query("verdict == @MIXED")["group"].tolist(),
                         "left_out": self.left_out().to_dict("records"),
                         "sentences": self.sentences()},
            "audit_a": self.a.to_dict()["by_group"], "audit_b": self.b.to_dict()["by_group"],
            "notes": list(self.notes),
        })


def _span(d, lo, hi, digits) -> str:
    if not np.isfinite(d):
        return "undefined"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{d:+.{digits}f}"
    return f"{d:+.{digits}f} ({lo:+.{digits}f} to {hi:+.{digits}f})"


def compare_predictions(y_true, y_pred_a, y_pred_b, sensitive_features, *, y_score_a=None, y_score_b=None,
                        threshold: float | None = None, pos_label=None, names=("A", "B"),
                        min_group_size: int = 30, confidence: float = 0.95, n_boot: int = 1000,
                        seed: int = 0) -> ModelComparison:
    """Compare two models' predictions on the same rows, group by group, with paired bootstrap intervals.

    Parameters
    ----------
    y_true : array-like
        True labels (the same rows for both models).
    y_pred_a, y_pred_b : array-like or None
        Each model's predicted labels (None with scores and ``threshold``).
    sensitive_features : array-like, Series, DataFrame or dict
        As for :func:`audits.group_metrics` (several columns: their intersection).
    y_score_a, y_score_b : array-like, optional
        Each model's scores (positive class), thresholded when ``threshold`` is given.
    threshold, pos_label
        As for :func:`audits.group_metrics`.
    names : (str, str)
        Display names of A and B.
    min_group_size : int, default 30
        Groups with fewer rows are left out of the headline (and listed).
    confidence : float, default 0.95
        Level of the percentile intervals.
    n_boot : int, default 1000
        Paired bootstrap resamples.
    seed : int, default 0
        Seed of ``numpy.random.default_rng``; replicate ``r`` uses its ``r``-th ``integers(0, n, n)``.

    Returns
    -------
    ModelComparison

    Examples
    --------
    >>> y = [1, 0, 1, 0, 1, 0]
    >>> cmp = compare_predictions(y, [1, 0, 0, 0, 1, 1], [1, 0, 1, 0, 1, 0], list("FFFMMM"), n_boot=50)
    >>> cmp.by_group.query("metric == 'accuracy'")["difference"].round(3).tolist()
    [0.333, 0.333]
    """
    names = tuple(str(n) for n in names)
    if names[0] == names[1]:
        names = (f"{names[0]} (A)", f"{names[1]} (B)")
    opts = (min_group_size, confidence, n_boot)
    prep_a = _prepare(y_true, y_pred_a, sensitive_features, y_score_a, threshold, pos_label, None, *opts)
    prep_b = _prepare(y_true, y_pred_b, sensitive_features, y_score_b, threshold, pos_label, None, *opts)
    if len(prep_a.true_pos) != len(prep_b.true_pos):
        raise AuditError(DIFFERENT_ROWS.format(a=len(prep_a.true_pos), b=len(prep_b.true_pos)))
    if not np.array_equal(prep_a.true_pos, prep_b.true_pos):
        raise AuditError(DIFFERENT_TARGET)
    view = tuple(prep_a.columns)
    settings = {"min_group_size": min_group_size, "confidence": confidence, "n_boot": n_boot, "seed": seed}
    gm_a, gm_b = _build(prep_a, view, **settings), _build(prep_b, view, **settings)
    from glasswing.audits._validate import group_codes

    codes = group_codes({name: prep_a.columns[name] for name in view}).codes
    cell_a = 2 * prep_a.true_pos.astype(np.int64) + prep_a.pred_pos.astype(np.int64)
    cell_b = 2 * prep_b.true_pos.astype(np.int64) + prep_b.pred_pos.astype(np.int64)
    return _compare(gm_a, gm_b, codes, cell_a, cell_b, names, n_boot=n_boot, seed=seed,
                    confidence=confidence, min_group_size=min_group_size)


def paired_replicates(codes: np.ndarray, cell_a: np.ndarray, cell_b: np.ndarray, G: int, n_boot: int,
                      seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Confusion cells per group of both models in each paired replicate: two arrays (n_boot, G, 4).

    Replicate ``r`` counts the rows ``idx = rng.integers(0, n, n)`` (the ``r``-th draw of
    ``rng = numpy.random.default_rng(seed)``) for both models.
    """
    rng = np.random.default_rng(seed)
    n = len(codes)
    out_a = np.empty((n_boot, G, 4))
    out_b = np.empty((n_boot, G, 4))
    base_a, base_b = codes * 4 + cell_a, codes * 4 + cell_b
    for r in range(n_boot):
        idx = rng.integers(0, n, n)
        out_a[r] = np.bincount(base_a[idx], minlength=4 * G).reshape(G, 4)
        out_b[r] = np.bincount(base_b[idx], minlength=4 * G).reshape(G, 4)
    return out_a, out_b


def _rates_nan(cells: np.ndarray) -> np.ndarray:
    values, den = rates(cells)
    return np.where(den > 0, values, np.nan)


def _disparity(values: np.ndarray, kind: str) -> np.ndarray:
    """Difference (max - min) or ratio (min / max) over the last-but-one axis (groups); NaN if any is."""
    hi, lo = values.max(axis=-2), values.min(axis=-2)
    if kind == "difference":
        return hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(hi > 0, lo / hi, np.nan)


def _combine(per_metric: list[np.ndarray], kind: str) -> np.ndarray:
    stacked = np.stack(per_metric)
    return stacked.max(axis=0) if kind == "difference" else stacked.min(axis=0)


def _compare(gm_a, gm_b, codes, cell_a, cell_b, names, *, n_boot, seed, confidence, min_group_size):
    G = len(gm_a.counts)
    labels = gm_a.labels
    tail = (1 - confidence) / 2
    boot_a, boot_b = paired_replicates(codes, cell_a, cell_b, G, n_boot, seed)
    ra, rb = _rates_nan(boot_a), _rates_nan(boot_b)  # (n_boot, G, M)
    point_a, point_b = _rates_nan(gm_a._cells), _rates_nan(gm_b._cells)  # (G, M)
    diff_boot = rb - ra
    with np.errstate(all="ignore"):
        lows = _nanquantile(diff_boot, tail)
        highs = _nanquantile(diff_boot, 1 - tail)
    n = gm_a.counts["n"].to_numpy()
    small = n < min_group_size
    rows = []
    for g in range(G):
        for m in COMPARE_METRICS:
            j = RATE_NAMES.index(m)
            va, vb = point_a[g, j], point_b[g, j]
            d, lo, hi = vb - va, lows[g, j], highs[g, j]
            if not np.isfinite(d):
                change = "undefined"
            elif np.isfinite(lo) and lo > 0:
                change = "higher"
            elif np.isfinite(hi) and hi < 0:
                change = "lower"
            else:
                change = NO_CHANGE
            rows.append({"group": labels[g], "metric": m, "n": int(n[g]), "small": bool(small[g]),
                         "a": float(gm_a.by_group[m].iloc[g]), "b": float(gm_b.by_group[m].iloc[g]),
                         "difference": float(d), "low": float(lo), "high": float(hi), "change": change})
    by_group = pd.DataFrame(rows)
    groups = pd.DataFrame([_group_verdict(by_group[by_group["group"] == lab], lab, int(n[g]), bool(small[g]))
                           for g, lab in enumerate(labels)])
    disparities = _disparities(gm_a, gm_b, ra, rb, point_a, point_b, tail, labels)
    notes = tuple(dict.fromkeys(gm_a.notes + gm_b.notes))
    log.debug("compare: %d rows, %d groups, %d paired resamples", len(codes), G, n_boot)
    return ModelComparison(gm_a, gm_b, names, by_group, groups, disparities, n_boot, seed, confidence,
                           min_group_size, notes)


def _nanquantile(x: np.ndarray, q: float) -> np.ndarray:
    import warnings

    with warnings.catch_warnings():  # an all-NaN column (a rate undefined in every replicate) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanquantile(x, q, axis=0)


def _group_verdict(rows: pd.DataFrame, group, n: int, small: bool) -> dict:
    better, worse = [], []
    for r in rows.itertuples():
        if r.metric not in VERDICT_METRICS or r.change not in ("higher", "lower"):
            continue
        up = (r.change == "higher") == (VERDICT_METRICS[r.metric] > 0)
        text = f"{label(r.metric)} {r.difference:+.3f}"
        (better if up else worse).append(text)
    verdict = MIXED if better and worse else HELPS if better else HURTS if worse else NO_CHANGE
    return {"group": group, "n": n, "small": small, "verdict": verdict, "better": ", ".join(better),
            "worse": ", ".join(worse)}


def _disparities(gm_a, gm_b, ra, rb, point_a, point_b, tail, labels) -> pd.DataFrame:
    rows = {}
    for name, parts in DISPARITIES.items():
        both = np.intersect1d(eligible(gm_a, name, gm_a.include_small_groups),
                              eligible(gm_b, name, gm_b.include_small_groups))
        cols = [RATE_NAMES.index(m) for m in parts]
        for kind in ("difference", "ratio"):
            key = f"{name}_{kind}"
            if len(both) < 2:
                rows[key] = {"a": np.nan, "b": np.nan, "difference": np.nan, "low": np.nan, "high": np.nan,
                             "verdict": "undefined", "groups": [labels[g] for g in both]}
                continue
            pa = float(_combine([_disparity(point_a[both][:, [j]], kind)[0] for j in cols], kind))
            pb = float(_combine([_disparity(point_b[both][:, [j]], kind)[0] for j in cols], kind))
            ba = _combine([_disparity(ra[:, both, j][..., None], kind)[:, 0] for j in cols], kind)
            bb = _combine([_disparity(rb[:, both, j][..., None], kind)[:, 0] for j in cols], kind)
            diff = bb - ba
            ok = np.isfinite(diff)
            lo, hi = ((float(np.quantile(diff[ok], tail)), float(np.quantile(diff[ok], 1 - tail)))
                      if ok.any() else (np.nan, np.nan))
            d = pb - pa
            # A difference closer to 0 is fairer; a ratio closer to 1 is fairer.
            fairer_sign = -1 if kind == "difference" else 1
            if not np.isfinite(d):
                verdict = "undefined"
            elif np.isfinite(lo) and (lo > 0 or hi < 0):
                verdict = "fairer" if np.sign(d) == fairer_sign else "less fair"
            else:
                verdict = NO_CHANGE
            rows[key] = {"a": pa, "b": pb, "difference": d, "low": lo, "high": hi, "verdict": verdict,
                         "groups": [labels[g] for g in both]}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "name"
    return frame


def compare_models(dataset, model_a, model_b, *, sensitive=None, threshold: float | None = None,
                   pos_label=None, bins=None, merge_below: int = 0, label_map=None,
                   selected: str | None = None,
                   min_group_size: int = 30, confidence: float = 0.95, n_boot: int = 1000,
                   seed: int = 0) -> ModelComparison:
    """Compare two loaded models on the same ``ingest.Dataset`` (paired; see :func:`compare_predictions`).

    Both models predict on every row of ``dataset`` (their ``predict``, or ``score >= threshold``); the
    groups are those of :func:`audits.audit_dataset` (the same bands and merges).

    Parameters
    ----------
    dataset : ingest.Dataset
        Needs a target; its sensitive role columns are used unless ``sensitive`` is given.
    model_a, model_b : ingest.Model
        Tabular models with the same classes (A is the baseline: differences are B - A).
    sensitive, threshold, pos_label, bins, merge_below, label_map, selected
        As for :func:`audits.audit_dataset`.
    min_group_size, confidence, n_boot, seed
        As for :func:`compare_predictions`.

    Returns
    -------
    ModelComparison
    """
    from glasswing import ingest
    from glasswing.audits._audit import COLUMN_ABSENT, describe_source, inputs_of

    classes = [list(m.classes_) if m.modality == "tabular" else None for m in (model_a, model_b)]
    if classes[0] is not None and classes[1] is not None and [str(c) for c in classes[0]] != \
            [str(c) for c in classes[1]]:
        raise AuditError(DIFFERENT_CLASSES.format(a=", ".join(map(str, classes[0])),
                                                  b=", ".join(map(str, classes[1]))))
    ds, mapping = dataset, None
    if classes[0] is not None and dataset.roles.target is not None:
        ds, mapping = ingest.map_target(dataset, classes[0], positive=pos_label, label_map=label_map)
        if mapping is not None:
            pos_label = ds.roles.positive_label
    outs = [inputs_of(ds, m, threshold=threshold, pos_label=pos_label) for m in (model_a, model_b)]
    (y_true, pred_a, score_a, pos, thr), (_, pred_b, score_b, _, _) = outs
    columns = list(sensitive) if sensitive is not None else list(dataset.roles.sensitive)
    missing = [c for c in columns if c not in dataset.frame.columns]
    if missing:
        raise AuditError(COLUMN_ABSENT.format(column=missing[0],
                                              columns=", ".join(map(str, dataset.frame.columns))))
    sf, rule = ingest.group_frame(dataset.frame, columns, bins, merge_below=merge_below)
    cmp = compare_predictions(y_true, pred_a, pred_b, sf, y_score_a=score_a, y_score_b=score_b,
                              threshold=thr, pos_label=pos, names=(model_a.name, model_b.name),
                              min_group_size=min_group_size, confidence=confidence, n_boot=n_boot, seed=seed)
    extra: dict[str, Any] = {"grouping": rule.to_dict()}
    if mapping is not None:
        extra["label_map"] = {str(k): v for k, v in mapping.items()}
    audits = [replace(g, notes=tuple(rule.notes) + g.notes,
                      decision={**describe_source(ds, m, threshold=threshold, selected=selected), **extra})
              for g, m in ((cmp.a, model_a), (cmp.b, model_b))]
    return replace(cmp, a=audits[0], b=audits[1], notes=tuple(rule.notes) + cmp.notes)
