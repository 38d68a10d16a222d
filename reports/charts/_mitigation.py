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


#: When to use which method: one line each, shown beside the trade-off chart (page and report).
WHEN_TO_USE = {
    "reweighing": "Retrain with weights: simplest pre-processing when the model takes sample weights.",
    "uniform_sampling": "Resample instead of weighting, for models that take no sample weights.",
    "preferential_sampling": "Resample the rows near the boundary: keeps more of the clear-cut rows intact.",
    "correlation_remover": "When other columns act as proxies of the group (alpha sets how much to remove).",
    "adversarial": "A new network that hides the group from its output; slower, and needs tuning.",
    "fair_loss": "A new network with the gap in its loss; sweep lambda to see the whole trade-off.",
    "threshold_optimizer": "Keep the model, change the cut-offs per group; needs the group at decision time.",
    "exponentiated_gradient": "Strong guarantees on the training data, but a randomised mixture of models.",
}
FRONT_COLOR, SWEEP_COLOR = "#d1242f", "#8250df"


def pareto_front(disparities: Sequence[float], accuracies: Sequence[float]) -> list[int]:
    """Return the positions of the points no other point beats on both axes, by increasing disparity.

    A point is on the front when no other point has a disparity at most as large and an accuracy at
    least as high, one of them strictly. Points with an undefined (NaN) value are never on it.

    Examples
    --------
    >>> pareto_front([0.2, 0.1, 0.05, 0.15], [0.80, 0.78, 0.70, 0.75])
    [2, 1, 0]
    """
    pts = [(d, a, i) for i, (d, a) in enumerate(zip(disparities, accuracies, strict=True))
           if d == d and a == a]
    front = [i for d, a, i in pts if not any(d2 <= d and a2 >= a and (d2 < d or a2 > a) for d2, a2, _ in pts)]
    return sorted(front, key=lambda i: (disparities[i], -accuracies[i]))


def _errors(points: Sequence[Mapping[str, Any]], key: str) -> dict | None:
    """Return plotly's ``error_x`` for the intervals ``key_low``/``key_high`` (undefined: no bar)."""
    lo = [p.get(f"{key}_low", float("nan")) for p in points]
    hi = [p.get(f"{key}_high", float("nan")) for p in points]
    x = [p[key] for p in points]
    if all(v != v for v in lo + hi):
        return None
    return {"type": "data", "symmetric": False, "thickness": 1.2, "width": 4,
            "array": [h - v if h == h and v == v else 0 for h, v in zip(hi, x, strict=True)],
            "arrayminus": [v - lo_ if lo_ == lo_ and v == v else 0 for lo_, v in zip(lo, x, strict=True)]}


def sweeps(points: Sequence[Mapping[str, Any]]) -> dict[str, list[int]]:
    """Return the fair-loss runs that form a lambda sweep: ``{name: positions by increasing lambda}``.

    Runs of ``fair_loss`` with the same constraint and architecture and at least two lambdas are one sweep.
    """
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(points):
        params = p.get("params") or {}
        if p.get("method") == "fair_loss" and "lam" in params:
            constraint = str(p["constraint"]).replace("_", " ")
            name = f"λ sweep ({constraint}, {params.get('architecture', 'logistic')})"
            groups.setdefault(name, []).append(i)
    return {name: sorted(idx, key=lambda i: points[i]["params"]["lam"]) for name, idx in groups.items()
            if len({points[i]["params"]["lam"] for i in idx}) > 1}


def mitigation_tradeoff_figure(points: Sequence[Mapping[str, Any]], *,
                               disparity: str = "demographic_parity_difference") -> go.Figure:
    """Accuracy against disparity: the original model and every mitigation tried, one point each.

    Points carry their disparity's interval as horizontal bars (headline groups, Newcombe intervals);
    the Pareto front (no other point is both fairer and more accurate) is a red dashed line, and each
    lambda sweep of the fair loss is a purple line of its own.

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
        Trace 0 is the original model (grey), trace 1 the mitigated predictors (blue, labelled), then
        the Pareto front ("Pareto front") and one trace per lambda sweep.

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
            error_x=_errors([first], f"{disparity}_before"),
            hovertemplate="Original model<br>disparity %{x:.3f}<br>accuracy %{y:.3f}<extra></extra>"))
        fig.add_trace(go.Scatter(
            x=[p[f"{disparity}_after"] for p in points], y=[p["accuracy_after"] for p in points],
            mode="markers+text", name="Mitigated", text=[p["label"] for p in points],
            textposition="bottom center", marker={"size": 12, "color": AFTER_COLOR},
            error_x=_errors(points, f"{disparity}_after"),
            hovertemplate="%{text}<br>disparity %{x:.3f}<br>accuracy %{y:.3f}<extra></extra>"))
        xs = [first[f"{disparity}_before"], *(p[f"{disparity}_after"] for p in points)]
        ys = [first["accuracy_before"], *(p["accuracy_after"] for p in points)]
        labels = ["Original model", *(p["label"] for p in points)]
        front = pareto_front(xs, ys)
        if front:
            fig.add_trace(go.Scatter(
                x=[xs[i] for i in front], y=[ys[i] for i in front], mode="lines+markers",
                name="Pareto front",
                text=[labels[i] for i in front], line={"color": FRONT_COLOR, "dash": "dash", "shape": "hv"},
                marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"color": FRONT_COLOR, "width": 2}},
                hovertemplate="On the Pareto front: %{text}<extra></extra>"))
        for name, idx in sweeps(points).items():
            fig.add_trace(go.Scatter(
                x=[points[i][f"{disparity}_after"] for i in idx],
                y=[points[i]["accuracy_after"] for i in idx], mode="lines", name=name,
                line={"color": SWEEP_COLOR, "width": 1.5},
                text=[f"λ = {points[i]['params']['lam']:g}" for i in idx],
                hovertemplate="%{text}<br>disparity %{x:.3f}<br>accuracy %{y:.3f}<extra></extra>"))
        finite = [v for v in xs if v == v]
        pad = max(0.01, 0.15 * (max(ys) - min(ys)))  # room for the labels above and below the points
        fig.update_yaxes(range=[min(ys) - pad, max(ys) + pad])
        top = max(finite) if finite else 0
        fig.update_xaxes(range=[min(0, *finite) if finite else 0, top * 1.15 + 0.01])
    fig.update_layout(
        title="Accuracy vs disparity for every method tried (up and left is better)",
        xaxis_title=DISPARITY_TITLES[disparity], yaxis_title="Accuracy on held-out data",
        template="plotly_white", height=420, margin={"t": 60, "l": 60, "r": 20, "b": 50},
        legend={"orientation": "h", "y": -0.2})
    return fig


def mitigation_tradeoff_svg(points: Sequence[Mapping[str, Any]], *,
                            disparity: str = "demographic_parity_difference") -> str:
    """Draw the chart of :func:`mitigation_tradeoff_figure` with matplotlib, as SVG text (reports).

    Returns
    -------
    str
        An ``<svg>`` document: points with interval bars, the Pareto front dashed, lambda sweeps as lines.
    """
    import io

    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    if disparity not in DISPARITY_TITLES:
        raise ValueError(f"disparity must be one of: {', '.join(DISPARITY_TITLES)}; got '{disparity}'.")
    fig = Figure(figsize=(7.5, 4.2))
    ax = fig.subplots()
    if points:
        first = points[0]
        rows = [("Original model", first[f"{disparity}_before"], first["accuracy_before"],
                 first.get(f"{disparity}_before_low"), first.get(f"{disparity}_before_high"), BEFORE_COLOR)]
        rows += [(p["label"], p[f"{disparity}_after"], p["accuracy_after"], p.get(f"{disparity}_after_low"),
                  p.get(f"{disparity}_after_high"), AFTER_COLOR) for p in points]
        for label, x, y, lo, hi, colour in rows:
            if lo is not None and hi is not None and lo == lo and hi == hi and x == x:
                ax.errorbar([x], [y], xerr=[[x - lo], [hi - x]], fmt="none", ecolor=colour, elinewidth=1,
                            capsize=3)
            ax.plot([x], [y], "D" if label == "Original model" else "o", color=colour, markersize=7)
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 5), fontsize=7)
        front = pareto_front([r[1] for r in rows], [r[2] for r in rows])
        ax.step([rows[i][1] for i in front], [rows[i][2] for i in front], where="post", color=FRONT_COLOR,
                linestyle="--", linewidth=1.2, label="Pareto front")
        for name, idx in sweeps(points).items():
            ax.plot([points[i][f"{disparity}_after"] for i in idx],
                    [points[i]["accuracy_after"] for i in idx], color=SWEEP_COLOR, linewidth=1.2, label=name)
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xlabel(DISPARITY_TITLES[disparity], fontsize=8)
    ax.set_ylabel("Accuracy on held-out data", fontsize=8)
    ax.set_title("Accuracy vs disparity for every method tried (up and left is better)", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "glasswing"}):  # text stays text
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


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
