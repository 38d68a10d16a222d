"""Chart of the recourse burden by group: the mean distance to the cheapest counterfactual, with intervals.

A pure function ``(burden) -> go.Figure``; it reads ``audits.RecourseBurden`` or its ``to_dict()`` (the
report's JSON), so the dashboard and a saved report draw the same numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from glasswing.reports.charts._fairness import NEUTRAL_COLOR, PALETTE, _layout


def burden_rows(burden: Any) -> list[dict]:
    """Return one dict per group (group, burden, low, high, n_found, n_unfavourable, small)."""
    if isinstance(burden, dict):
        return list(burden.get("by_group") or [])
    return burden.to_dict()["by_group"]


def burden_figure(burden: Any) -> go.Figure:
    """Horizontal bars of each group's burden with its bootstrap interval; small groups hatched and grey.

    Parameters
    ----------
    burden : audits.RecourseBurden or dict
        The result of ``audits.recourse_burden_of`` (or its ``to_dict()``).

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace: ``y`` the groups, ``x`` the mean distances, ``error_x`` the intervals.
    """
    rows = burden_rows(burden)
    value = np.array([np.nan if r["burden"] is None else r["burden"] for r in rows], dtype=float)
    low = np.array([np.nan if r["low"] is None else r["low"] for r in rows], dtype=float)
    high = np.array([np.nan if r["high"] is None else r["high"] for r in rows], dtype=float)
    small = [bool(r["small"]) for r in rows]
    fig = go.Figure(go.Bar(
        y=[str(r["group"]) for r in rows], x=np.nan_to_num(value).tolist(), orientation="h", name="burden",
        marker={"color": [NEUTRAL_COLOR if s else PALETTE[0] for s in small],
                "pattern": {"shape": ["/" if s else "" for s in small]}},
        error_x={"type": "data", "symmetric": False, "array": np.nan_to_num(high - value).tolist(),
                 "arrayminus": np.nan_to_num(value - low).tolist(), "thickness": 1.2},
        customdata=np.column_stack([[r["n_found"] for r in rows], [r["n_unfavourable"] for r in rows]]),
        hovertemplate="%{y}: mean distance %{x:.3f}<br>%{customdata[0]} of %{customdata[1]} refused rows "
                      "with a counterfactual<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title={"text": "mean distance to the cheapest counterfactual (MAD units)"},
                     rangemode="tozero")
    return _layout(fig, "Recourse burden by group (bootstrap intervals; hatched: small groups)",
                   height=max(260, 90 + 40 * len(rows)), showlegend=False)
