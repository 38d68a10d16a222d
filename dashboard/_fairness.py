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

from glasswing import audits, ingest
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

DEFAULT_METRICS = ["selection_rate", "true_positive_rate", "false_positive_rate", "precision"]
HIGHEST = "Highest selection rate"
LOGGED, SCORES, MODEL, COLUMN = "logged", "scores", "model", "column"


@dataclass(frozen=True)
class Source:
    """Where predictions come from: logged labels, or a score at a threshold (logged, a model's, a column)."""

    kind: str
    text: str
    column: str | None = None

    @property
    def thresholded(self) -> bool:
        """Whether predictions are scores at the threshold slider's value."""
        return self.kind != LOGGED


def sources(data: Dataset, model: Model | None) -> list[Source]:
    """Return the prediction sources: logged predictions, logged scores, the model's, any numeric column."""
    out = []
    r = data.roles
    if r.prediction:
        out.append(Source(LOGGED, f"Logged predictions (column '{r.prediction}')"))
    if r.score:
        out.append(Source(SCORES, f"Logged scores (column '{r.score}') at a threshold", r.score))
    if model is not None and model.modality == "tabular":
        out.append(Source(MODEL, f"Model '{model.name}' scores at a threshold"))
    for column in data.frame.columns:
        series = data.frame[column]
        if column in (r.target, r.score) or not pd.api.types.is_numeric_dtype(series) or \
                pd.api.types.is_bool_dtype(series) or series.nunique() < 3:
            continue
        out.append(Source(COLUMN, f"Column '{column}' as a score at a threshold", column))
    return out


@st.cache_data(max_entries=8, show_spinner=False)
def group_columns(sha256: str, roles_key: tuple, _data: Dataset) -> list[str]:
    """``ingest.group_columns`` of the loaded data, once per data and roles."""
    return ingest.group_columns(_data.frame, _data.roles)


def bins_editor(data: Dataset, columns: list[str], container, prefix: str = "fairness") -> dict:
    """One editable list of cut points per numeric sensitive column (quartiles to start with)."""
    bins = {}
    for column in columns:
        series = data.frame[column]
        if not ingest._bands.needs_bands(series):
            continue
        start = ", ".join(f"{c:g}" for c in ingest._bands.default_cuts(series))
        text = container.text_input(f"Bands of {column}: cut points", start, key=f"{prefix}.bins.{column}",
                                    help="A band holds lo <= value < hi; the default cuts are the quartiles.")
        bins.update(ingest.parse_bins([f"{column}={text}"]))
    return bins


def _groups(data: Dataset, columns: tuple, bins: tuple, merge: int):
    return ingest.group_frame(data.frame, list(columns), dict(bins), merge_below=merge)


@st.cache_data(max_entries=8, show_spinner=False)
def logged_views(sha256: str, roles: tuple, columns: tuple, bins: tuple = (), merge: int = 0,
                 pos_label=None, *, _data: Dataset) -> tuple[dict, tuple]:
    """Audits of the logged predictions for the intersection and each feature alone, in one pass.

    Logged scores, when present, add AUC and calibration. Returns the views and the grouping notes.
    """
    from glasswing.audits._audit import inputs_of

    y_true, y_pred, score, pos, threshold = inputs_of(_data, pos_label=pos_label)
    sf, rule = _groups(_data, columns, bins, merge)
    views = audits.group_metrics_views(y_true, y_pred, sf, y_score=score, threshold=threshold, pos_label=pos)
    return views, rule.notes


@st.cache_resource(max_entries=4, show_spinner=False)
def model_scores(data_sha: str, model_sha: str, roles: tuple, _data: Dataset, _model: Model) -> np.ndarray:
    """Return the model's positive-class score on every row (once per data and model)."""
    from glasswing.audits._audit import inputs_of

    _, _, score, _, _ = inputs_of(_data, _model, threshold=0.5)
    score = np.asarray(score, dtype=float)
    score.setflags(write=False)
    return score


@st.cache_data(max_entries=8, show_spinner=False)
def scored_views(data_sha: str, model_sha: str, roles: tuple, source: str, columns: tuple, bins: tuple = (),
                 merge: int = 0, pos_label=None, label_map: tuple = (), column: str | None = None, *,
                 _data: Dataset, _model: Model | None) -> tuple[audits.ThresholdSweep, tuple, dict | None]:
    """Confusion counts of every view at every threshold, AUC/calibration by group, and the label map used.

    A model's classes that differ from the target's values are matched by the favourable label (or the
    label map) first, as in ``audits.audit_dataset``.
    """
    data, mapping = _data, None
    if source == MODEL:
        data, mapping = ingest.map_target(_data, list(_model.classes_), positive=pos_label,
                                          label_map=dict(label_map) or None)
        pos_label = data.roles.positive_label
        score = model_scores(data_sha, model_sha, (roles, label_map, pos_label), data, _model)
    else:
        score = data.frame[column or data.roles.score].to_numpy()
    y_true = data.frame[data.roles.target].to_numpy()
    sf, rule = _groups(data, columns, bins, merge)
    sweep = audits.ThresholdSweep.from_scores(y_true, score, sf,
                                              pos_label=pos_label if pos_label is not None else
                                              data.positive_label)
    return sweep, rule.notes, mapping


def label_map_key(text: str) -> tuple:
    """Return the label map typed on the page (``ingest.parse_label_map``) as a hashable cache key."""
    return tuple(sorted(ingest.parse_label_map(text).items()))


def threshold_range(sweep: audits.ThresholdSweep) -> tuple[float, float, float]:
    """``(low, high, step)`` of the threshold slider for this sweep's grid."""
    grid = sweep.thresholds
    step = float(np.min(np.diff(grid))) if len(grid) > 1 else 1.0
    return float(grid[0]), float(grid[-1]), round(step, 6)


def decorate(gm: audits.GroupMetrics, *, min_group_size: int, include_small: bool, four_fifths: float,
             notes: tuple, decision: dict) -> audits.GroupMetrics:
    """Return the same audit with the page's settings (no recount): headline, four-fifths line, words."""
    return replace(gm, min_group_size=min_group_size, include_small_groups=include_small,
                   four_fifths_threshold=four_fifths, notes=tuple(notes) + tuple(n for n in gm.notes
                                                                                  if n not in notes),
                   decision=decision)


def describe(source: Source, data: Dataset, model: Model | None, selected: str,
             mapping: dict | None = None) -> dict:
    """Return the ``decision`` of ``GroupMetrics`` for this source: where predictions come from, in words."""
    if source.kind == MODEL:
        out = {"source": f"model {model.name} scores", "score": f"the score of model {model.name}"}
    elif source.kind == LOGGED:
        out = {"source": f"logged predictions (column {data.roles.prediction})", "score": None}
    else:
        out = {"source": f"{'logged scores' if source.kind == SCORES else 'the numeric column'} "
                         f"(column {source.column})", "score": source.column}
    out["selected"] = selected
    if mapping:
        out["label_map"] = {str(k): v for k, v in mapping.items()}
    return out


# ---------------------------------------------------------------------------------------- rendering
def verdict(gm: audits.GroupMetrics, reference: str):
    """Show the headline four-fifths verdict (adequate groups; green when met, red when not); return it.

    With a reference group chosen, every group is compared with it (the user's explicit choice).
    """
    if reference == HIGHEST:
        head = gm.headline()
        ff, sentence = head.four_fifths, head.sentence
        passed = ff.passed if ff is not None else None
    else:
        ff = gm.four_fifths(reference)
        sentence, passed = ff.sentence, ff.passed
    show = {True: st.success, False: st.error, None: st.warning}[passed]
    show(md(sentence), icon=":material/balance:")
    st.caption(md(gm.to_dict()["four_fifths"]["context"]))
    return ff if ff is not None else gm.four_fifths()


def left_out(gm: audits.GroupMetrics) -> None:
    """List the groups the headline leaves out, with their sizes and rates (never silently dropped)."""
    table = gm.headline().left_out
    if len(table):
        st.markdown(f"**Left out of the headline** ({len(table)} group{'s' if len(table) > 1 else ''}; "
                    "tick *Include small groups* to put small ones back)")
        shown = table.drop(columns="group").rename(columns={
            "label": "group", "selection_rate": "selection rate", "left_out_of": "left out of"})
        st.dataframe(shown.set_index("group").round({"selection rate": 3}))  # grid cells are text


def decision_box(gm: audits.GroupMetrics) -> None:
    """State the decision rule audited, with the confusion counts per group."""
    rule = gm.decision_rule()
    perf = f"accuracy {rule['accuracy']:.3f}" + (f", AUC {rule['auc']:.3f}" if rule.get("auc") is not None
                                                 else "")
    lines = [f"**Positive outcome:** {md(repr(rule['favourable']))} · **Rule:** {md(rule['rule'])}",
             f"**Predictions from:** {md(rule['source'] or '—')} · **\"Selected\" means:** "
             f"{md(rule['selected'])}",
             f"**Overall:** {perf}"]
    if rule.get("label_map"):
        lines.append("**Target mapped to the model's classes:** "
                     + ", ".join(f"{md(k)} → {md(v)}" for k, v in rule["label_map"].items()))
    with st.container(border=True, key="fairness.decision"):
        st.markdown("#### Decision rule audited")
        st.markdown("  \n".join(lines))
        st.dataframe(gm.confusion.round(0).astype(int))  # grid cells are text, not Markdown


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


def disparity_table(gm: audits.GroupMetrics, headline: bool = True) -> pd.DataFrame:
    """Return ``GroupMetrics.disparity_table()`` for display (the report and the CLI show the same rows)."""
    table = gm.disparity_table(headline=headline).reset_index(drop=True)
    table["value"] = [None if v is None else round(v, 3) for v in table["value"]]
    return table


def reference_table(gm: audits.GroupMetrics, reference: str, metrics: list[str]) -> pd.DataFrame:
    """Each group's difference from the reference group (with Newcombe intervals), one column per metric."""
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


def threshold_chart(sweep: audits.ThresholdSweep, view: tuple, threshold: float, key: str) -> None:
    """Draw every group's selection rate and TPR across thresholds, the current one marked."""
    st.plotly_chart(threshold_figure(sweep.view_counts(view), sweep.nearest(threshold)),
                    key=f"{key}.threshold", width="stretch")
