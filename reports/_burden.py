"""The report's recourse-burden section: the burden by group as data, and its chart for HTML and PDF."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from glasswing._plain import json_safe


def burden_section(burden: Any) -> dict:
    """Return an ``audits.RecourseBurden`` (or its ``to_dict()``) as the report's JSON-safe section."""
    return json_safe(dict(burden) if isinstance(burden, Mapping) else burden.to_dict())


#: Inches per group row in the burden chart.
_ROW_IN = 0.3


def burden_charts(section: Mapping | None) -> list[str]:
    """SVG data URIs of :func:`burden_chart`, in parts of about a dozen groups (two to an A4 page)."""
    from glasswing.reports._render import group_parts

    rows = list((section or {}).get("by_group") or [])
    parts = group_parts([str(r["group"]) for r in rows], _ROW_IN) if rows else []
    return [c for c in (burden_chart(section, part=p) for p in parts) if c]


def burden_chart(section: Mapping | None, *, part: tuple[int, int] | None = None) -> str | None:
    """SVG data URI: each group's burden as a bar with its bootstrap interval (small groups hatched).

    ``part`` ``(start, stop)`` draws only those groups (see :func:`burden_charts`); long names wrap.
    """
    every = list((section or {}).get("by_group") or [])
    if not every:
        return None
    from glasswing.audits._table import wrap_label
    from glasswing.reports._render import (
        _LABEL_WIDTH,
        _LINE_IN,
        _SERIES,
        _figure,
        _plain,
        _style,
        _svg,
        part_title,
    )

    rows = every[slice(*part)] if part else every
    labels = [wrap_label(str(r["group"]), _LABEL_WIDTH) for r in rows]
    lines = max(text.count("\n") + 1 for text in labels)
    fig = _figure(7.2, 0.9 + (_ROW_IN + _LINE_IN * (lines - 1)) * len(rows))
    ax = fig.add_subplot()
    value = np.array([np.nan if r.get("burden") is None else r["burden"] for r in rows], dtype=float)
    low = np.array([np.nan if r.get("low") is None else r["low"] for r in rows], dtype=float)
    high = np.array([np.nan if r.get("high") is None else r["high"] for r in rows], dtype=float)
    err = np.nan_to_num(np.vstack([np.clip(value - low, 0, None), np.clip(high - value, 0, None)]))
    y = np.arange(len(rows))
    for i, r in enumerate(rows):
        colour = _SERIES[0 if r.get("small") else 1][0]
        ax.barh(y[i], np.nan_to_num(value[i]), height=0.6, color=colour, edgecolor="#222222", linewidth=0.5,
                hatch="//" if r.get("small") else "", xerr=err[:, [i]], error_kw={"elinewidth": 0.9,
                                                                              "capsize": 3})
        if np.isfinite(value[i]):
            ax.text((high[i] if np.isfinite(high[i]) else value[i]) * 1.02 + 0.01, y[i], f"{value[i]:.2f}",
                    va="center", fontsize=7)
    ax.set_yticks(y, [_plain(text) for text in labels])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    _style(ax, part_title("Recourse burden by group", part, len(every)),
           "mean distance to the cheapest counterfactual (interval whiskers)")
    return _svg(fig)
