"""The error tree as a plotly treemap: every cohort a box sized by its rows and coloured by its error rate."""

from __future__ import annotations

import plotly.graph_objects as go

from glasswing.reports.charts._fairness import _layout

ERROR_SCALE = [[0.0, "#f7f7f7"], [0.5, "#f2a07b"], [1.0, "#b2182b"]]


def edge_label(analysis, cohort) -> str:
    """Return the conditions a cohort adds to its parent's rule (``all rows`` for the root)."""
    if cohort.parent is None:
        return "all rows"
    inherited = {c.text for c in analysis.cohort(cohort.parent).conditions}
    return " and ".join(c.text for c in cohort.conditions if c.text not in inherited) or cohort.rule


def error_tree_figure(analysis, *, highlight: int | None = None) -> go.Figure:
    """Draw ``audits.ErrorAnalysis`` as a treemap: nested boxes, area = rows, colour = error rate.

    Parameters
    ----------
    analysis : audits.ErrorAnalysis
        The analysis to draw (every node kept, the root being all rows).
    highlight : int, optional
        The id of a cohort to outline (the one chosen on the page).

    Returns
    -------
    plotly.graph_objects.Figure
        One ``go.Treemap`` trace whose ``ids`` are the cohorts' ids, ``values`` their rows (children sum to
        their parent: ``branchvalues="total"``) and ``marker.colors`` their error rates.
    """
    nodes = analysis.nodes
    top = max(c.error_rate for c in nodes)
    fig = go.Figure(go.Treemap(
        ids=[str(c.id) for c in nodes], parents=["" if c.parent is None else str(c.parent) for c in nodes],
        labels=[edge_label(analysis, c) for c in nodes], values=[c.n for c in nodes], branchvalues="total",
        marker={"colors": [c.error_rate for c in nodes], "colorscale": ERROR_SCALE, "cmin": 0.0,
                "cmax": max(top, 1e-9), "colorbar": {"title": {"text": "error rate"}},
                "line": {"color": ["#1f2933" if c.id == highlight else "#ffffff" for c in nodes],
                         "width": [4 if c.id == highlight else 1 for c in nodes]}},
        customdata=[[c.rule, c.error_rate, c.error_low, c.error_high, c.coverage, c.errors] for c in nodes],
        texttemplate="%{label}<br>error rate %{customdata[1]:.3f}<br>%{customdata[4]:.0%} of errors · "
                     "n = %{value:,}",
        hovertemplate="<b>%{customdata[0]}</b><br>error rate %{customdata[1]:.3f} (%{customdata[2]:.3f} to "
                      "%{customdata[3]:.3f})<br>%{customdata[5]:,} errors, %{customdata[4]:.1%} of all<br>"
                      "n = %{value:,}<extra></extra>",
        sort=False, root={"color": "#ffffff"}))
    title = (f"Where the model fails: {analysis.errors:,} errors in {analysis.n:,} rows "
             f"(error rate {analysis.error_rate:.3f}); box area = rows, colour = error rate")
    return _layout(fig, title, height=520)
