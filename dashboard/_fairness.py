"""Cached calls and rendering helpers of the Fairness audit page (the page reads widgets and calls these).

Everything expensive is keyed by content digests (``Dataset.sha256``, ``Model.sha256``) passed as real
arguments. A million-row dataset is touched once per setting: the confusion counts of every group at every
threshold (``audits.threshold_sweep``) are cached, so moving the threshold slider only rebuilds a
``GroupMetrics`` from a few hundred numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import streamlit as st

from glasswing import audits
from glasswing.audits._table import label
from glasswing.dashboard._text import md
from glasswing.ingest import Dataset, Model
from glasswing.reports.charts import (
    calibration_figure,
    disparity_figure,
    fairness_bars,
    four_fifths_figure,
    threshold_figure,
)

MAX_GROUPS_PER_COLUMN = 50
DEFAULT_METRICS = ["selection_rate", "true_positive_rate", "false_positive_rate", "precision"]
HIGHEST = "Highest selection rate"
LOGGED, SCORES, MODEL = "logged", "scores", "model"


@dataclass(frozen=True)
class Source:
    """Where predictions come from: logged labels, logged scores at a threshold, or a model's scores."""

    kind: str
    text: str

    @property
    def thresholded(self) -> bool:
        """Whether predictions are scores at the threshold slider's value."""
        return self.kind != LOGGED


def sources(data: Dataset, model: Model | None) -> list[Source]:
    """Return the prediction sources this dataset (and model) offer, logged predictions first."""
    out = []
    if data.roles.prediction:
        out.append(Source(LOGGED, f"Logged predictions (column '{data.roles.prediction}')"))
    if data.roles.score:
        out.append(Source(SCORES, f"Logged scores (column '{data.roles.score}') at a threshold"))
    if model is not None and model.modality == "tabular":
        out.append(Source(MODEL, f"Model '{model.name}' scores at a threshold"))
    return out


@st.cache_data(max_entries=8, show_spinner=False)
def group_columns(sha256: str, roles_key: tuple, _data: Dataset) -> list[str]:
    """Columns that can define groups: 2 to 50 distinct values, not the target/prediction/score."""
    skip = {_data.roles.target, _data.roles.prediction, _data.roles.score}
    out = []
    for col in _data.frame.columns:
        series = _data.frame[col]
        if col in skip or (series.dtype.kind == "f" and col not in _data.roles.sensitive):
            continue
        if 2 <= series.nunique(dropna=True) <= MAX_GROUPS_PER_COLUMN:
            out.append(col)
    return out


def roles_key(data: Dataset) -> tuple:
    """Return the roles an audit depends on, as a hashable cache key."""
    r = data.roles
    return (r.target, r.prediction, r.score, r.sensitive, r.positive_label)


@st.cache_data(max_entries=8, show_spinner=False)
def logged_views(sha256: str, roles: tuple, columns: tuple, _data: Dataset) -> dict:
    """Audits of the logged predictions for the intersection and each feature alone, in one pass.

    Logged scores, when present, add AUC and calibration.
    """
    from glasswing.audits._audit import inputs_of

    y_true, y_pred, score, pos, threshold = inputs_of(_data)
    return audits.group_metrics_views(y_true, y_pred, _data.frame.loc[:, list(columns)], y_score=score,
                                      threshold=threshold, pos_label=pos)


def with_min_size(gm: audits.GroupMetrics, min_group_size: int) -> audits.GroupMetrics:
    """Return the same audit with another small-group threshold (no recount)."""
    return replace(gm, min_group_size=min_group_size)


@st.cache_resource(max_entries=4, show_spinner=False)
def model_scores(data_sha: str, model_sha: str, roles: tuple, _data: Dataset, _model: Model) -> np.ndarray:
    """Return the model's positive-class score on every row (once per data and model)."""
    from glasswing.audits._audit import inputs_of

    _, _, score, _, _ = inputs_of(_data, _model, threshold=0.5)
    score = np.asarray(score, dtype=float)
    score.setflags(write=False)
    return score


@dataclass(frozen=True)
class Scored:
    """Counts at every threshold plus the threshold-free score metrics, for one grouping."""

    sweep: pd.DataFrame
    parts: dict
    notes: tuple[str, ...]


@st.cache_data(max_entries=8, show_spinner=False)
def scored_views(data_sha: str, model_sha: str, roles: tuple, source: str, columns: tuple,
                 _data: Dataset, _model: Model | None) -> dict:
    """Confusion counts at thresholds 0.00..1.00 and AUC/calibration by group, for every view."""
    y_true = _data.frame[_data.roles.target].to_numpy()
    if source == MODEL:
        score = model_scores(data_sha, model_sha, roles, _data, _model)
    else:
        score = _data.frame[_data.roles.score].to_numpy()
    sensitive = _data.frame.loc[:, list(columns)]
    pos = _data.positive_label
    prediction = _data.roles.prediction
    if source == SCORES and prediction and _data.frame[prediction].notna().all():
        # The logged audit already measured these scores on the same rows: reuse its AUC and calibration.
        views = logged_views(data_sha, roles, columns, _data=_data)
    else:
        views = audits.group_metrics_views(y_true, None, sensitive, y_score=score, threshold=0.5,
                                           pos_label=pos, n_boot=1)
    out = {}
    every = audits.threshold_sweep(y_true, score, sensitive, pos_label=pos)  # the intersection
    for view, full in views.items():
        sweep = _marginal(every, view, full.counts.index)
        parts = {"group_scores": full.group_scores, "overall_scores": full.overall_scores,
                 "reliability": full.reliability, "pos_label": full.pos_label}
        out[view] = Scored(sweep, parts, full.notes)
    return out


def _marginal(sweep: pd.DataFrame, view: tuple, groups: pd.Index) -> pd.DataFrame:
    """Sum the intersection's counts into a sub-grouping (counts add up), in ``groups`` order."""
    if list(sweep.index.names[1:]) == list(view):
        return sweep
    summed = sweep.groupby(level=["threshold", *view], sort=False).sum()
    keys = [k if isinstance(k, tuple) else (k,) for k in groups]
    grid = summed.index.get_level_values(0).unique()
    order = pd.MultiIndex.from_tuples([(t, *k) for t in grid for k in keys], names=summed.index.names)
    return summed.reindex(order)


def at_threshold(result: Scored, threshold: float, min_group_size: int) -> audits.GroupMetrics:
    """Return the full audit at ``threshold`` (a multiple of 0.01), built from the cached counts."""
    t = round(threshold, 2)
    counts = result.sweep.xs(t, level="threshold")
    return audits.GroupMetrics.from_counts(counts, threshold=t, min_group_size=min_group_size,
                                           notes=result.notes, **result.parts)


# ---------------------------------------------------------------------------------------- rendering
def verdict(gm: audits.GroupMetrics, reference: str) -> audits.FourFifths:
    """Show the four-fifths verdict in plain words (green when met, red when not); return it."""
    ff = gm.four_fifths(None if reference == HIGHEST else reference)
    show = {True: st.success, False: st.error, None: st.warning}[ff.passed]
    show(md(ff.sentence), icon=":material/balance:")
    return ff


def warnings(gm: audits.GroupMetrics) -> None:
    """List the audit's warnings (small groups with the threshold, undefined rates, input notes)."""
    if not gm.warnings:
        return
    small = len(gm.small_groups)
    title = f"{len(gm.warnings)} warning{'s' if len(gm.warnings) > 1 else ''}"
    if small:
        title += f" ({small} group{'s' if small > 1 else ''} under {gm.min_group_size:,} rows)"
    with st.expander(title, expanded=small > 0, icon=":material/warning:"):
        st.markdown("\n".join(f"- {md(w)}" for w in gm.warnings))


def disparity_table(gm: audits.GroupMetrics) -> pd.DataFrame:
    """Return the summary disparities for display: value, interval, which groups, and the plain-words note."""
    table = gm.disparities()
    conf = f"{gm.confidence:.0%}"
    return pd.DataFrame({
        "disparity": [n.replace("_", " ") for n in table.index],
        "value": table["value"].round(3),
        f"{conf} bootstrap interval": [f"{lo:.3f} to {hi:.3f}" for lo, hi in zip(table["low"], table["high"],
                                                                               strict=True)],
        "between": [" vs ".join(g) for g in table["groups"]],
        "note": ["" if d else ("not distinguishable from " + ("zero" if n.endswith("difference") else "one"))
                 for n, d in zip(table.index, table["distinguishable"], strict=True)],
    })


def reference_table(gm: audits.GroupMetrics, reference: str, metrics: list[str]) -> pd.DataFrame:
    """Each group's difference from the reference group (with bootstrap intervals), one column per metric."""
    ref = int(np.argmax(gm.by_group["selection_rate"].to_numpy())) if reference == HIGHEST else reference
    rel = gm.relative_to(ref, [m for m in metrics if m in audits.METRICS])
    rel["cell"] = [f"{d:+.3f} ({lo:+.3f} to {hi:+.3f})" for d, lo, hi in
                   zip(rel["difference"], rel["difference_low"], rel["difference_high"], strict=True)]
    table = rel.pivot(index="group", columns="metric", values="cell")
    table = table.reindex(index=gm.labels, columns=list(dict.fromkeys(rel["metric"])))
    return table.rename(columns=label)


def charts(gm: audits.GroupMetrics, ff: audits.FourFifths, metrics: list[str], key: str) -> None:
    """Draw the charts: metrics by group with intervals, four-fifths ratios, disparities, calibration."""
    left, right = st.columns(2)
    left.plotly_chart(fairness_bars(gm, metrics), key=f"{key}.bars", width="stretch")
    right.plotly_chart(four_fifths_figure(ff), key=f"{key}.fourfifths", width="stretch")
    left, right = st.columns(2)
    left.plotly_chart(disparity_figure(gm), key=f"{key}.disparities", width="stretch")
    if gm.reliability is not None and len(gm.reliability):
        right.plotly_chart(calibration_figure(gm), key=f"{key}.calibration", width="stretch")


def threshold_chart(result: Scored, threshold: float, key: str) -> None:
    """Draw every group's selection rate and TPR across thresholds, the current one marked."""
    st.plotly_chart(threshold_figure(result.sweep, round(threshold, 2)), key=f"{key}.threshold",
                    width="stretch")
