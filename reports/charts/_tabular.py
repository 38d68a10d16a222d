"""Tabular explanation charts: mean |SHAP|, beeswarm, dependence, waterfall, LIME, permutation importance.

Pure functions ``(Explanation or list of Explanation, ...) -> go.Figure`` read only ``Explanation`` fields, so
the dashboard (``st.plotly_chart``) and the PDF report draw the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from glasswing.explainers import Explanation

POSITIVE, NEGATIVE, NEUTRAL = "#d1495b", "#1f6f8b", "#9aa5b1"
#: Low -> high feature value, as in shap's beeswarm (blue to red).
VALUE_SCALE = [[0.0, "#1f6f8b"], [0.5, "#b8a6c9"], [1.0, "#d1495b"]]
NO_EXPLANATIONS = "There are no explanations to draw."
UNKNOWN_FEATURE = "There is no feature called {name!r}; the features are: {names}."


def _layout(fig: go.Figure, title: str, **kw) -> go.Figure:
    fig.update_layout(title={"text": title}, template="plotly_white",
                      margin={"l": 20, "r": 20, "t": 60, "b": 50}, **kw)
    return fig


MIXED_CLASSES = ("A global view must explain one class, and these explanations are for classes {classes}; "
                 "explain every row for the same class (target=...).")


def _of_class(e: Explanation) -> str:
    return f" for class {e.target}" if e.target is not None else ""


def _matrix(explanations: Sequence[Explanation]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Rows x features of the attribution values; every global view explains one class, never a mix."""
    if not explanations:
        raise ValueError(NO_EXPLANATIONS)
    classes = list(dict.fromkeys(str(e.target) for e in explanations))
    if len(classes) > 1:
        raise ValueError(MIXED_CLASSES.format(classes=", ".join(classes)))
    names = explanations[0].feature_names
    return np.array([np.asarray(e.values, dtype=float) for e in explanations]), names


def _unit(e: Explanation) -> str:
    return f" ({e.output})" if e.output else ""


def _order(values: np.ndarray, max_display: int) -> np.ndarray:
    """Feature positions by mean |value|, largest first, at most ``max_display``."""
    return np.argsort(-np.abs(values).mean(axis=0), kind="stable")[:max_display]


def _value_text(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:,.4g}"
    return str(value)


def shap_importance_figure(explanations: Sequence[Explanation], *, max_display: int = 12,
                           intervals=None) -> go.Figure:
    """Horizontal bars of mean |SHAP value| per feature over the explained rows, largest on top.

    Parameters
    ----------
    explanations : sequence of Explanation
        Local tabular explanations (one per row) over the same features.
    max_display : int, default 12
        How many features to show.
    intervals : explainers MeanAbsIntervals, optional
        Bootstrap intervals of the same means (``explainers.mean_abs_intervals``), drawn as error bars.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace: ``x`` the mean absolute values, ``y`` the feature names (with ``intervals``, an
        asymmetric ``error_x`` from each interval's low to high end); the title says how many rows the
        importances rest on.

    Examples
    --------
    >>> e = [Explanation("shap", "", 1, np.array([1.0, -3.0]), ("a", "b"), output="log-odds"),
    ...      Explanation("shap", "", 1, np.array([-1.0, 1.0]), ("a", "b"), output="log-odds")]
    >>> shap_importance_figure(e).data[0].x.tolist()
    [2.0, 1.0]
    """
    values, names = _matrix(explanations)
    order = _order(values, max_display)
    means = np.abs(values).mean(axis=0)[order]
    bar = go.Bar(x=means, y=[names[i] for i in order], orientation="h", marker_color=NEGATIVE,
                 hovertemplate="%{y}: %{x:.4f}<extra></extra>")
    title = f"Mean |SHAP value| over {len(values):,} rows{_of_class(explanations[0])}"
    if intervals is not None:
        where = [list(intervals.feature_names).index(names[i]) for i in order]
        low, high = np.asarray(intervals.low)[where], np.asarray(intervals.high)[where]
        bar.error_x = {"type": "data", "symmetric": False, "array": np.maximum(high - means, 0.0),
                       "arrayminus": np.maximum(means - low, 0.0), "color": NEUTRAL}
        bar.customdata = np.column_stack([low, high])
        bar.hovertemplate = ("%{y}: %{x:.4f} (" + f"{intervals.level:.0%}" +
                             " interval %{customdata[0]:.4f} to %{customdata[1]:.4f})<extra></extra>")
        title += f", {intervals.level:.0%} bootstrap intervals"
    fig = go.Figure(bar)
    return _layout(fig, title,
                   xaxis_title=f"mean |SHAP value|{_unit(explanations[0])}",
                   yaxis={"autorange": "reversed"}, height=120 + 28 * len(order))


def _swarm_offsets(x: np.ndarray, width: float = 0.38, bins: int = 60) -> np.ndarray:
    """Vertical offsets that spread points sharing an x bin (0, +1, -1, +2, ...), scaled to ``width``.

    Points take their places in a bin in row order, so the spread shows no pattern of its own.
    """
    if len(x) == 0:
        return x
    span = np.ptp(x) or 1.0
    which = np.floor((x - x.min()) / span * (bins - 1)).astype(int)
    order = np.argsort(which, kind="stable")
    ranked = which[order]
    place = np.empty(len(x), dtype=int)
    place[order] = np.arange(len(x)) - np.searchsorted(ranked, ranked, side="left")
    offsets = (place + 1) // 2 * np.where(place % 2 == 1, 1, -1)
    return offsets * (width / max(1, np.bincount(which).max() // 2))


def _numeric(column: Sequence) -> np.ndarray | None:
    """Return the column as floats, or None when it holds categories (strings)."""
    try:
        return np.asarray(column, dtype=float)
    except (TypeError, ValueError):
        return None


def beeswarm_figure(explanations: Sequence[Explanation], *, max_display: int = 12) -> go.Figure:
    """One row of dots per feature: each dot a row's SHAP value, coloured by the feature's value.

    Numeric features are coloured by the value's rank among the explained rows (blue low, red high);
    categorical features are grey (their category is in the hover text).

    Returns
    -------
    plotly.graph_objects.Figure
        Trace 0 holds the numeric features' dots (``marker.color`` in [0, 1]), trace 1 the categorical
        ones; ``y`` is the feature's row (0 = most important) plus a swarm offset, ``x`` the SHAP value.
    """
    values, names = _matrix(explanations)
    data = np.array([np.asarray(e.data, dtype=object) for e in explanations])
    order = _order(values, max_display)
    num = {"x": [], "y": [], "c": [], "t": []}
    cat = {"x": [], "y": [], "t": []}
    for row, j in enumerate(order):
        x = values[:, j]
        y = row + _swarm_offsets(x)
        text = [f"{names[j]} = {_value_text(v)}" for v in data[:, j]]
        feature_values = _numeric(data[:, j])
        target = cat if feature_values is None else num
        target["x"].extend(x.tolist())
        target["y"].extend(y.tolist())
        target["t"].extend(text)
        if feature_values is not None:
            num["c"].extend(pd.Series(feature_values).rank(pct=True).fillna(0.5).tolist())
    num, cat = ({k: np.asarray(v) for k, v in part.items()} for part in (num, cat))  # fast for plotly
    fig = go.Figure([
        go.Scatter(x=num["x"], y=num["y"], mode="markers", name="numeric", text=num["t"],
                   marker={"color": num["c"], "colorscale": VALUE_SCALE, "cmin": 0, "cmax": 1, "size": 5,
                           "colorbar": {"title": "Feature value", "tickvals": [0, 1],
                                        "ticktext": ["low", "high"]}},
                   hovertemplate="%{text}<br>SHAP %{x:.4f}<extra></extra>"),
        go.Scatter(x=cat["x"], y=cat["y"], mode="markers", name="categorical", text=cat["t"],
                   marker={"color": NEUTRAL, "size": 5},
                   hovertemplate="%{text}<br>SHAP %{x:.4f}<extra></extra>"),
    ])
    fig.add_vline(x=0, line_color="#cccccc")
    return _layout(fig, f"SHAP values of {len(values):,} rows{_of_class(explanations[0])}", showlegend=False,
                   xaxis_title=f"SHAP value{_unit(explanations[0])}",
                   yaxis={"tickvals": list(range(len(order))), "ticktext": [names[j] for j in order],
                          "autorange": "reversed", "zeroline": False},
                   height=140 + 40 * len(order))


def dependence_figure(explanations: Sequence[Explanation], feature: str, *, color_by: str | None = None
                      ) -> go.Figure:
    """Plot a feature's value (x) against its SHAP value (y), coloured by another feature.

    Returns
    -------
    plotly.graph_objects.Figure
        Numeric ``color_by`` (or none): one trace, ``marker.color`` the other feature's values. Categorical
        ``color_by``: one trace per category, named after it.
    """
    values, names = _matrix(explanations)
    for name in (feature, color_by):
        if name is not None and name not in names:
            raise ValueError(UNKNOWN_FEATURE.format(name=name, names=", ".join(names)))
    data = np.array([np.asarray(e.data, dtype=object) for e in explanations])
    j = names.index(feature)
    x_num = _numeric(data[:, j])
    x = x_num if x_num is not None else data[:, j].astype(str).astype(object)
    y = values[:, j]
    traces = []
    if color_by is None:
        traces.append(go.Scatter(x=x, y=y, mode="markers", marker={"color": NEGATIVE, "size": 6},
                                 name=feature))
    else:
        k = names.index(color_by)
        c_num = _numeric(data[:, k])
        if c_num is not None:
            traces.append(go.Scatter(
                x=x, y=y, mode="markers", name=color_by,
                text=[f"{color_by} = {_value_text(v)}" for v in c_num],
                marker={"color": c_num, "colorscale": VALUE_SCALE, "size": 6,
                        "colorbar": {"title": color_by}}))
        else:
            groups = data[:, k].astype(str)
            for g in sorted(set(groups)):
                mask = groups == g
                traces.append(go.Scatter(x=x[mask], y=y[mask], mode="markers", name=g, marker={"size": 6}))
    fig = go.Figure(traces)
    fig.add_hline(y=0, line_color="#cccccc")
    title = f"How {feature} moves the output" + (f", coloured by {color_by}" if color_by else "")
    return _layout(fig, title, xaxis_title=feature,
                   yaxis_title=f"SHAP value of {feature}{_of_class(explanations[0])}{_unit(explanations[0])}",
                   legend={"title": color_by} if color_by else None, height=420)


def _labels(e: Explanation, idx: Sequence[int]) -> list[str]:
    data = None if e.data is None else np.asarray(e.data, dtype=object)
    names = e.feature_names
    return [names[i] if data is None else f"{names[i]} = {_value_text(data[i])}" for i in idx]


def waterfall_figure(e: Explanation, *, max_display: int = 10) -> go.Figure:
    """From the base value, each feature's push up or down, to the model's output for the row.

    Features beyond ``max_display`` are summed into one "other features" step, so the last bar ends
    exactly at ``base_value + values.sum()`` (= ``prediction`` where additivity holds).

    Returns
    -------
    plotly.graph_objects.Figure
        One ``Waterfall`` trace: ``measure`` is ``["absolute", "relative", ..., "total"]``, ``x`` the base
        value, the contributions (largest first) and the total.
    """
    if e.base_value is None:
        raise ValueError("A waterfall needs a base value (SHAP); this explanation has none.")
    values = np.asarray(e.values, dtype=float)
    order = np.argsort(-np.abs(values), kind="stable")
    shown, rest = order[:max_display], order[max_display:]
    labels = ["base value", *_labels(e, shown)]
    steps = [float(e.base_value), *values[shown].tolist()]
    if len(rest):
        labels.append(f"{len(rest)} other features")
        steps.append(float(values[rest].sum()))
    total = float(e.base_value) + float(values.sum())
    fig = go.Figure(go.Waterfall(
        orientation="h", y=[*labels, "model output"], x=[*steps, total],
        measure=["absolute"] + ["relative"] * (len(steps) - 1) + ["total"],
        increasing={"marker": {"color": POSITIVE}}, decreasing={"marker": {"color": NEGATIVE}},
        totals={"marker": {"color": NEUTRAL}}, connector={"line": {"color": "#bbbbbb"}},
        hovertemplate="%{y}: %{x:+.4f}<extra></extra>"))
    return _layout(fig, f"SHAP: why {total:.3f}{_unit(e)} for class {e.target}",
                   yaxis={"autorange": "reversed"}, xaxis_title=f"model output{_unit(e)}",
                   height=160 + 30 * len(labels))


def lime_figure(e: Explanation, *, max_display: int = 10) -> go.Figure:
    """LIME's local weights as bars, labelled with its rules ("age > 42.00"), largest on top.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace: ``x`` the weights (probability change), ``y`` the rules, red up and blue down.
    """
    values = np.asarray(e.values, dtype=float)
    order = [i for i in np.argsort(-np.abs(values), kind="stable")[:max_display] if values[i] != 0]
    rules = e.extras.get("rules", {})
    labels = [rules.get(e.feature_names[i], e.feature_names[i]) for i in order]
    fig = go.Figure(go.Bar(x=values[order], y=labels, orientation="h",
                           marker_color=[POSITIVE if values[i] > 0 else NEGATIVE for i in order],
                           hovertemplate="%{y}: %{x:+.4f}<extra></extra>"))
    fit = e.extras.get("score")
    title = f"LIME: local weights for class {e.target}"
    if fit is not None:
        title += f" (local fit R² {fit:.2f})"
    return _layout(fig, title, yaxis={"autorange": "reversed"}, xaxis_title=f"weight{_unit(e)}",
                   height=160 + 30 * len(order))


def permutation_importance_figure(e: Explanation, *, max_display: int = 12) -> go.Figure:
    """Mean score drop per shuffled feature with its standard deviation as error bars.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace: ``x`` the mean drops, ``error_x.array`` the standard deviations.
    """
    values = np.asarray(e.values, dtype=float)
    order = np.argsort(-values, kind="stable")[:max_display]
    std = np.asarray(e.extras.get("std", np.zeros_like(values)), dtype=float)
    fig = go.Figure(go.Bar(x=values[order], y=[e.feature_names[i] for i in order], orientation="h",
                           error_x={"type": "data", "array": std[order]}, marker_color=NEUTRAL,
                           hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
    n = e.extras.get("n_rows")
    rows = f" over {n:,} rows" if n else ""
    return _layout(fig, f"Permutation importance{rows}", yaxis={"autorange": "reversed"},
                   xaxis_title=e.output or "score drop", height=120 + 28 * len(order))
