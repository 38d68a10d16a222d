"""Mitigation charts: accuracy against disparity for every method tried, and group metrics before/after."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

#: Axis titles of the disparities a trade-off chart can show (``MitigationResult.summary()`` keys).
DISPARITY_TITLES = {
    "demographic_parity_difference": "Demographic parity difference (lower is fairer)",
    "equalized_odds_difference": "Equalized odds difference (lower is fairer)",
}
METRIC_TITLES = {
    "selection_rate": "Selection rate", "true_positive_rate": "True-positive rate",
    "false_positive_rate": "False-positive rate", "false_negative_rate": "False-negative rate",
    "true_negative_rate": "True-negative rate", "precision": "Precision", "accuracy": "Accuracy",
    "base_rate": "Base rate",
}
BEFORE_COLOR, AFTER_COLOR = "#9aa5b1", "#1f6feb"


def mitigation_tradeoff_figure(points: Sequence[Mapping[str, Any]], *,
                               disparity: str = "demographic_parity_difference") -> go.Figure:
    """Accuracy against disparity: the original model and every mitigation tried, one point each.

    Parameters
    ----------
    points : sequence of mapping
        ``MitigationResult.summary()`` rows, all measured on the same held-out data. The original model's
        point is taken from the first row's ``*_before`` values.
    disparity : str
        Which disparity goes on the x axis: a key of :data:`DISPARITY_TITLES`.

    Returns
    -------
    plotly.graph_objects.Figure
        Trace 0 is the original model (grey), trace 1 the mitigated predictors (blue, labelled).

    Examples
    --------
    >>> row = {"label": "Reweighing (demographic parity)", "accuracy_before": 0.75, "accuracy_after": 0.73,
    ...        "demographic_parity_difference_before": 0.12, "demographic_parity_difference_after": 0.03}
    >>> fig = mitigation_tradeoff_figure([row])
    >>> fig.data[1].x, fig.data[1].y
    ((0.03,), (0.73,))
    """
    if disparity not in DISPARITY_TITLES:
        raise ValueError(f"disparity must be one of: {', '.join(DISPARITY_TITLES)}; got '{disparity}'.")
    fig = go.Figure()
    if points:
        first = points[0]
        fig.add_trace(go.Scatter(
            x=[first[f"{disparity}_before"]], y=[first["accuracy_before"]], mode="markers+text",
            name="Original model", text=["Original model"], textposition="top center",
            marker={"size": 14, "color": BEFORE_COLOR, "symbol": "diamond"},
            hovertemplate="Original model<br>disparity %{x:.3f}<br>accuracy %{y:.3f}<extra></extra>"))
        fig.add_trace(go.Scatter(
            x=[p[f"{disparity}_after"] for p in points], y=[p["accuracy_after"] for p in points],
            mode="markers+text", name="Mitigated", text=[p["label"] for p in points],
            textposition="bottom center", marker={"size": 12, "color": AFTER_COLOR},
            hovertemplate="%{text}<br>disparity %{x:.3f}<br>accuracy %{y:.3f}<extra></extra>"))
        xs = [first[f"{disparity}_before"], *(p[f"{disparity}_after"] for p in points)]
        ys = [first["accuracy_before"], *(p["accuracy_after"] for p in points)]
        pad = max(0.01, 0.15 * (max(ys) - min(ys)))  # room for the labels above and below the points
        fig.update_yaxes(range=[min(ys) - pad, max(ys) + pad])
        fig.update_xaxes(range=[0, max(xs) * 1.15 + 0.01])
    fig.update_layout(
        title="Accuracy vs disparity for every method tried (up and left is better)",
        xaxis_title=DISPARITY_TITLES[disparity], yaxis_title="Accuracy on held-out data",
        template="plotly_white", height=420, margin={"t": 60, "l": 60, "r": 20, "b": 50},
        legend={"orientation": "h", "y": -0.2})
    return fig


def _group_labels(index: pd.Index) -> list[str]:
    if isinstance(index, pd.MultiIndex):
        return [", ".join(f"{n}={v}" for n, v in zip(index.names, key, strict=True)) for key in index]
    return [str(v) for v in index]


def mitigation_groups_figure(before: pd.DataFrame, after: pd.DataFrame, *, metric: str = "selection_rate",
                             title_suffix: str = "") -> go.Figure:
    """One metric per group, before and after mitigation, as grouped bars.

    Parameters
    ----------
    before, after : pandas.DataFrame
        ``GroupMetrics.by_group`` tables (indexed by group, one column per metric) of the original and
        the mitigated predictions on the same rows.
    metric : str
        The column to show (``selection_rate``, ``true_positive_rate``, ``false_positive_rate``, ...).
    title_suffix : str
        Appended to the title (for instance the method's label).

    Returns
    -------
    plotly.graph_objects.Figure
        Trace 0 "Before", trace 1 "After", x = groups.
    """
    name = METRIC_TITLES.get(metric, metric.replace("_", " ").capitalize())
    fig = go.Figure([
        go.Bar(x=_group_labels(before.index), y=before[metric].tolist(), name="Before",
               marker_color=BEFORE_COLOR, texttemplate="%{y:.2f}", textposition="outside"),
        go.Bar(x=_group_labels(after.index), y=after[metric].tolist(), name="After",
               marker_color=AFTER_COLOR, texttemplate="%{y:.2f}", textposition="outside"),
    ])
    title = f"{name} by group, before and after" + (f": {title_suffix}" if title_suffix else "")
    fig.update_layout(title=title, barmode="group", yaxis_title=name, template="plotly_white", height=380,
                      yaxis_range=[0, 1.1], margin={"t": 60, "l": 60, "r": 20, "b": 50})
    return fig
