"""Fairness charts: metrics by group with intervals, disparities, four-fifths rule, thresholds, calibration.

Pure functions ``(GroupMetrics | FourFifths | sweep, ...) -> go.Figure`` used by the dashboard
(``st.plotly_chart``) and the PDF report. They draw aggregates only (a handful of numbers per group), so they
cost the same for a thousand rows or a billion.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from glasswing.audits import METRICS, FourFifths, GroupMetrics
from glasswing.audits._table import CELLS, label, wrap_label

PALETTE = ("#1f6f8b", "#e07a5f", "#3d405b", "#81b29a", "#f2cc8f", "#6d597a", "#b56576", "#355070",
           "#8d99ae", "#2a9d8f")
FAIL_COLOR, PASS_COLOR, NEUTRAL_COLOR = "#c0392b", "#1f6f8b", "#9aa5b1"
UNKNOWN_METRIC = "Unknown metric {name!r}; choose from: {names}."


def _check(names: Sequence[str], available: Sequence[str]) -> None:
    for name in names:
        if name not in available:
            raise ValueError(UNKNOWN_METRIC.format(name=name, names=", ".join(available)))


def _layout(fig: go.Figure, title: str, **kw) -> go.Figure:
    # The legend sits right of the plot, where plotly makes room for it: below the plot it covered the
    # x-axis title (and grew over it with every group).
    fig.update_layout(title={"text": title}, template="plotly_white",
                      margin={"l": 60, "r": 20, "t": 60, "b": 60},
                      legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"},
                      **kw)
    return fig


def tick_labels(labels: Sequence[str], width: int = 18) -> list[str]:
    """Group labels for a plotly axis: wrapped onto two lines (``<br>``), shortened beyond (hover has all).

    Examples
    --------
    >>> tick_labels(["F · 25-44", "Autonomous Region of the Far South · 45-54"])
    ['F · 25-44', 'Autonomous<br>Region of… · 45-54']
    """
    return [wrap_label(str(text), width).replace("\n", "<br>") for text in labels]


def _group_axis(fig: go.Figure, labels: Sequence[str]) -> None:
    """Category ticks show the wrapped labels; the data (and the hover text) keep the full ones."""
    fig.update_xaxes(tickmode="array", tickvals=list(labels), ticktext=tick_labels(labels), automargin=True)


def fairness_bars(gm: GroupMetrics, metrics: Sequence[str] = ("selection_rate", "true_positive_rate")
                  ) -> go.Figure:
    """Bars of each metric by group with Wilson-interval error bars; small groups are hatched.

    Parameters
    ----------
    gm : audits.GroupMetrics
        The audit to draw.
    metrics : sequence of str
        Rate metrics (names of ``audits.METRICS``), one trace each; score metrics (``auc``, ...) have no
        error bars.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace per metric; x is the group labels, y the values, ``error_y`` the interval.

    Examples
    --------
    >>> from audits import group_metrics
    >>> gm = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], ["F", "F", "M", "M"])
    >>> fairness_bars(gm, ["selection_rate"]).data[0].y.tolist()
    [0.5, 0.0]
    """
    _check(metrics, gm.metrics)
    fig = go.Figure()
    small = (gm.counts["n"] < gm.min_group_size).to_numpy()
    for i, name in enumerate(metrics):
        values = gm.by_group[name].to_numpy(dtype=float)
        bar = {"x": gm.labels, "y": values, "name": label(name),
               "marker": {"color": PALETTE[i % len(PALETTE)],
                          "pattern": {"shape": ["/" if s else "" for s in small]}},
               "customdata": gm.counts["n"].to_numpy(),
               "hovertemplate": (f"{label(name)}<br>%{{x}}: %{{y:.3f}}<br>n = %{{customdata:,}}"
                                 "<extra></extra>")}
        if name in METRICS:
            lo = gm.intervals[(name, "low")].to_numpy()
            hi = gm.intervals[(name, "high")].to_numpy()
            bar["error_y"] = {"type": "data", "symmetric": False, "array": hi - values,
                              "arrayminus": values - lo, "thickness": 1.2}
        fig.add_trace(go.Bar(**bar))
    title = (" and ".join(label(m) for m in metrics) if len(metrics) <= 2 else "Metrics") + " by group"
    if any(m in METRICS for m in metrics):
        title += f", {gm.confidence:.0%} Wilson intervals"
    fig.update_yaxes(title_text="value", rangemode="tozero")
    fig.update_xaxes(title_text=" · ".join(gm.sensitive_names))
    _group_axis(fig, gm.labels)
    return _layout(fig, title, barmode="group")


def disparity_figure(gm: GroupMetrics, method: str = "between_groups") -> go.Figure:
    """Plot the summary differences with their bootstrap intervals; grey where not distinguishable from zero.

    Returns
    -------
    plotly.graph_objects.Figure
        One scatter trace: y the disparity names, x the values, ``error_x`` the bootstrap interval.
    """
    table = gm.disparities(method)
    table = table[table.index.str.endswith("_difference")]
    names = [n.replace("_", " ").capitalize() for n in table.index]
    values = table["value"].to_numpy(dtype=float)
    colors = [FAIL_COLOR if d else NEUTRAL_COLOR for d in table["distinguishable"]]
    fig = go.Figure(go.Scatter(
        x=values, y=names, mode="markers", marker={"size": 12, "color": colors}, name="difference",
        error_x={"type": "data", "symmetric": False, "array": table["high"].to_numpy() - values,
                 "arrayminus": values - table["low"].to_numpy()},
        customdata=[" vs ".join(g) for g in table["groups"]],
        hovertemplate="%{y}: %{x:.3f}<br>%{customdata}<extra></extra>"))
    fig.add_vline(x=0, line_dash="dot", line_color=NEUTRAL_COLOR)
    fig.update_xaxes(title_text="difference (0 = parity)")
    fig.update_yaxes(title_text="grey: not distinguishable from 0")
    return _layout(fig, f"Disparities, {gm.confidence:.0%} bootstrap intervals", showlegend=False)


def four_fifths_figure(ff: FourFifths) -> go.Figure:
    """Each group's selection rate as a ratio of the reference group's, against the 0.8 line.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace (red below the threshold) with bootstrap error bars, and a dashed line at the threshold.
    """
    r = ff.ratios
    values = r["ratio"].to_numpy(dtype=float)
    colors = [FAIL_COLOR if v < ff.threshold else PASS_COLOR for v in values]
    fig = go.Figure(go.Bar(
        x=list(r.index), y=values, marker={"color": colors,
                                           "pattern": {"shape": ["/" if s else "" for s in r["small"]]}},
        error_y={"type": "data", "symmetric": False, "array": r["high"].to_numpy() - values,
                 "arrayminus": values - r["low"].to_numpy()},
        name="selection-rate ratio", hovertemplate="%{x}: %{y:.2f}<extra></extra>"))
    fig.add_hline(y=ff.threshold, line_dash="dash", line_color=FAIL_COLOR)
    # The line's label goes in the right margin, level with the line: inside the plot it covered bars.
    fig.add_annotation(xref="paper", x=1, xanchor="left", yref="y", y=ff.threshold, showarrow=False,
                       text=f"four-fifths<br>line ({ff.threshold:g})", font={"color": FAIL_COLOR, "size": 11},
                       align="left")
    fig.update_yaxes(title_text=f"selection rate / rate of {ff.reference}", rangemode="tozero")
    _group_axis(fig, list(r.index))
    verdict = {True: "met", False: "not met", None: "not applicable"}[ff.passed]
    fig = _layout(fig, f"Four-fifths rule: {verdict}", showlegend=False)
    fig.update_layout(margin={"r": 90})
    return fig


def threshold_figure(sweep: pd.DataFrame, threshold: float,
                     metrics: Sequence[str] = ("selection_rate", "true_positive_rate")) -> go.Figure:
    """Each group's rates as the decision threshold moves, with the chosen threshold marked.

    Parameters
    ----------
    sweep : pandas.DataFrame
        ``audits.threshold_sweep(...)``: confusion counts indexed by (threshold, group...).
    threshold : float
        The threshold to mark.
    metrics : sequence of str
        Rate metrics, one panel each.

    Returns
    -------
    plotly.graph_objects.Figure
        One line per (metric, group), x the thresholds; a vertical line at ``threshold``.
    """
    _check(metrics, list(METRICS))
    levels = list(sweep.index.names[1:])
    cells = sweep.loc[:, list(CELLS)].to_numpy(dtype=float).T
    values = pd.DataFrame({m: METRICS[m](*cells) for m in metrics}, index=sweep.index)
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=[label(m) for m in metrics],
                        shared_yaxes=True)
    by = levels if len(levels) > 1 else levels[0]
    for i, (key, part) in enumerate(values.groupby(level=by, sort=False)):
        text = " · ".join(map(str, key if isinstance(key, tuple) else (key,)))
        x = part.index.get_level_values(0).to_numpy()
        for c, name in enumerate(metrics, start=1):
            fig.add_trace(go.Scatter(x=x, y=part[name].to_numpy(), mode="lines",
                                     name=tick_labels([text], 24)[0],
                                     legendgroup=text, showlegend=c == 1,
                                     line={"color": PALETTE[i % len(PALETTE)]},
                                     hovertemplate=(f"{text}<br>threshold %{{x:.2f}}: %{{y:.3f}}"
                                                    "<extra></extra>")),
                          row=1, col=c)
    for c in range(1, len(metrics) + 1):
        fig.add_vline(x=threshold, line_dash="dash", line_color=FAIL_COLOR, row=1, col=c)
    fig.update_xaxes(title_text="decision threshold (score ≥ t is positive)", range=[0, 1])
    return _layout(fig, f"Rates by {' · '.join(map(str, levels))} as the threshold moves "
                        f"(now {threshold:.2f})")


def calibration_figure(gm: GroupMetrics) -> go.Figure:
    """Reliability curves by group: mean score against observed positive rate per bin, and the diagonal.

    Returns
    -------
    plotly.graph_objects.Figure
        The diagonal (trace 0), then one line per group. Empty when the audit has no scores in [0, 1].
    """
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                               line={"dash": "dot", "color": NEUTRAL_COLOR}))
    table = gm.reliability if gm.reliability is not None else pd.DataFrame(columns=["group"])
    for g, part in table.groupby("group"):
        text = gm.labels[int(g)]
        fig.add_trace(go.Scatter(x=part["mean_score"], y=part["positive_rate"], mode="lines+markers",
                                 name=tick_labels([text], 24)[0],
                                 line={"color": PALETTE[int(g) % len(PALETTE)]},
                                 hovertemplate=(f"{text}<br>mean score %{{x:.2f}}: observed %{{y:.2f}}"
                                                "<extra></extra>")))
    fig.update_xaxes(title_text="mean score in bin", range=[0, 1])
    fig.update_yaxes(title_text="observed positive rate", range=[0, 1])
    return _layout(fig, "Calibration by group (10 equal-width bins)")
