"""Charts of the fairness check (dalex style), the confusion matrices by group, and a model comparison.

Pure functions ``(result, ...) -> go.Figure`` for the dashboard; the report draws the same numbers with
matplotlib (``reports._render_checks``).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from glasswing.audits._table import label, wrap_label
from glasswing.reports.charts._fairness import FAIL_COLOR, PALETTE, PASS_COLOR, _layout

BAND_COLOR = "rgba(129, 178, 154, 0.25)"


def fairness_check_figure(fc) -> go.Figure:
    """Each group's ratio to the reference, one row per metric, with the band ``[eps, 1/eps]`` shaded.

    Bars start at 1 (the reference) and end at the ratio, on a log axis so 0.8 and 1.25 sit at equal
    distances; outside the band they are red. Small groups are hatched; Katz intervals are whiskers.

    Parameters
    ----------
    fc : audits.FairnessCheck
        The check to draw (``audits.fairness_check``).

    Returns
    -------
    plotly.graph_objects.Figure
        One horizontal bar trace per group (``base`` 1, ``x`` ratio - 1), the band as a shape.
    """
    r = fc.ratios
    metrics = list(dict.fromkeys(r["metric"]))
    fig = go.Figure()
    lo, hi = fc.band
    for i, group in enumerate(dict.fromkeys(r["group"])):
        part = r[r["group"] == group].set_index("metric").reindex(metrics)
        ratio = part["ratio"].to_numpy(dtype=float)
        inside = [w is True for w in part["within"]]
        small = bool(part["small"].iloc[0])
        fig.add_trace(go.Bar(
            y=[label(m) for m in metrics], x=(ratio - 1).tolist(), base=1, orientation="h", name=str(group),
            marker={"color": PALETTE[i % len(PALETTE)],
                    "line": {"color": [PASS_COLOR if ok else FAIL_COLOR for ok in inside], "width": 2},
                    "pattern": {"shape": "/" if small else ""}},
            error_x={"type": "data", "symmetric": False,
                     "array": np.nan_to_num(part["high"].to_numpy(dtype=float) - ratio),
                     "arrayminus": np.nan_to_num(ratio - part["low"].to_numpy(dtype=float)), "thickness": 1},
            customdata=np.column_stack([part["value"], part["reference_value"]]),
            hovertemplate=(f"{group}<br>%{{y}}: ratio %{{x:.2f}}<br>rate %{{customdata[0]:.3f}} vs "
                           f"%{{customdata[1]:.3f}}<extra></extra>")))
    fig.add_vrect(x0=lo, x1=hi, fillcolor=BAND_COLOR, line_width=0, layer="below")
    fig.add_vline(x=1, line={"color": "#333333", "width": 1})
    finite = r["ratio"].replace([np.inf, -np.inf], np.nan).dropna()
    span = [min(lo * 0.9, float(finite.min()) * 0.9 if len(finite) else lo),
            max(hi * 1.1, float(finite.max()) * 1.1 if len(finite) else hi)]
    fig.update_xaxes(type="log", range=[np.log10(max(span[0], 1e-3)), np.log10(span[1])],
                     title=f"ratio to {fc.reference} (shaded: {lo:g} to {hi:g})")
    fig.update_layout(barmode="group")
    return _layout(fig, f"Fairness check: ratios to {fc.reference}", height=120 + 60 * len(metrics))


def confusion_figure(table, *, normalise: bool = True) -> go.Figure:
    """Small multiples: the 2 x 2 confusion matrix of every group (rates by actual class, counts shown).

    Parameters
    ----------
    table : pandas.DataFrame
        ``audits.confusion_by_group(gm)``.
    normalise : bool
        Colour by the rate within the actual class (TPR, FNR, FPR, TNR); the counts are printed either way.

    Returns
    -------
    plotly.graph_objects.Figure
        One heatmap trace per group, ``z`` the 2 x 2 rates (rows actual positive/negative, columns
        predicted positive/negative).
    """
    groups = list(dict.fromkeys(table["group"]))
    cols = min(4, len(groups))
    nrows = int(np.ceil(len(groups) / cols))
    # One line per title (a quarter of the width: long names shortened; the hover has them whole).
    sizes = [int(table[table["group"] == g]["n"].iloc[0]) for g in groups]
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=[
        f"{wrap_label(str(g), 22, 1)} (n = {n:,})" for g, n in zip(groups, sizes, strict=True)],
        horizontal_spacing=0.08, vertical_spacing=0.25 / max(nrows, 1))
    for k, g in enumerate(groups):
        part = table[table["group"] == g].set_index("cell")
        z = [[part.loc["TP", "rate"], part.loc["FN", "rate"]],
             [part.loc["FP", "rate"], part.loc["TN", "rate"]]]
        counts = [[part.loc["TP", "count"], part.loc["FN", "count"]],
                  [part.loc["FP", "count"], part.loc["TN", "count"]]]
        text = [[f"{c:,.0f}<br>({'—' if not np.isfinite(v) else f'{v:.0%}'})"
                 for c, v in zip(cr, zr, strict=True)] for cr, zr in zip(counts, z, strict=True)]
        fig.add_trace(go.Heatmap(
            z=z if normalise else counts, x=["predicted +", "predicted −"], y=["actual +", "actual −"],
            text=text, texttemplate="%{text}", zmin=0, zmax=1 if normalise else None, colorscale="Blues",
            showscale=k == 0, name=str(g), hovertemplate=f"{g}<br>%{{y}}, %{{x}}: %{{text}}<extra></extra>"),
            row=k // cols + 1, col=k % cols + 1)
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Confusion matrix by group (rate within the actual class)",
                   height=140 + 230 * nrows)


def comparison_figure(cmp, metrics=("selection_rate", "true_positive_rate", "false_positive_rate",
                                    "accuracy")) -> go.Figure:
    """B - A for each group and metric with its paired bootstrap interval (a forest plot), 0 marked.

    Parameters
    ----------
    cmp : audits.ModelComparison
        The comparison to draw (``audits.compare_models``).
    metrics : sequence of str
        Rates to draw, one trace each.

    Returns
    -------
    plotly.graph_objects.Figure
        One scatter trace per metric: x the difference, y the group, ``error_x`` the interval.
    """
    fig = go.Figure()
    rows = cmp.by_group
    for i, m in enumerate(metrics):
        part = rows[rows["metric"] == m]
        d = part["difference"].to_numpy(dtype=float)
        fig.add_trace(go.Scatter(
            x=d.tolist(),
            y=[f"{g}{' *' if s else ''}" for g, s in zip(part["group"], part["small"], strict=True)],
            mode="markers", name=label(m), marker={"color": PALETTE[i % len(PALETTE)], "size": 9},
            error_x={"type": "data", "symmetric": False,
                     "array": np.nan_to_num(part["high"].to_numpy(dtype=float) - d),
                     "arrayminus": np.nan_to_num(d - part["low"].to_numpy(dtype=float))},
            customdata=np.column_stack([part["a"], part["b"]]),
            hovertemplate=(f"{label(m)}, %{{y}}<br>B - A = %{{x:+.3f}}<br>A %{{customdata[0]:.3f}}, "
                           f"B %{{customdata[1]:.3f}}<extra></extra>")))
    fig.add_vline(x=0, line={"color": "#333333", "width": 1})
    a, b = cmp.names
    fig.update_xaxes(title=f"{b} − {a} ({cmp.confidence:.0%} paired bootstrap, {cmp.n_boot:,} resamples)")
    fig.update_layout(scattermode="group")
    return _layout(fig, "Change by group (B − A); * fewer rows than the headline needs",
                   height=160 + 50 * len(cmp.groups))
