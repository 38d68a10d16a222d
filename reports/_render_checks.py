"""The report's optional sections: the fairness check, confusion matrices by group, a second model compared.

Views of the report model's plain data for the partial templates (``_fairness_check.html.j2``,
``_confusion.html.j2``, ``_comparison.html.j2``) and matplotlib SVG charts of the same numbers that the
dashboard draws with plotly (``reports.charts._checks``); WeasyPrint runs no JavaScript.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glasswing.audits._fairness_check import CHECK_METRICS
from glasswing.reports._model import Report, metric_label

#: The rates of the comparison's table and chart (the group verdict reads the first, second and last).
COMPARE_SHOWN = ("selection_rate", "true_positive_rate", "false_positive_rate", "accuracy")
_BAND = "#c7e9c0"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def fairness_check_rows(report: Report) -> dict:
    """Return the fairness check as one row per group: n, small, and per metric its ratio and interval."""
    fc = report.fairness_check
    if not fc:
        return {}
    ratios = fc.get("ratios") or []
    metrics = [m for m in CHECK_METRICS if any(r["metric"] == m for r in ratios)]
    groups: dict[str, dict] = {}
    reference: dict[str, Any] = {}
    for r in ratios:
        row = groups.setdefault(str(r["group"]), {"group": str(r["group"]), "n": r["n"], "small": r["small"],
                                                  "cells": {}})
        row["cells"][r["metric"]] = r
        reference[r["metric"]] = r.get("reference_value")
    return {"metrics": metrics, "groups": list(groups.values()), "reference_values": reference}


#: Inches per group row in the fairness check's and the comparison's panels.
_CHECK_ROW_IN, _COMPARE_ROW_IN = 0.26, 0.24


def fairness_check_charts(report: Report) -> list[str]:
    """SVGs of :func:`fairness_check_chart`, in parts of about 16 groups (two to an A4 page)."""
    from glasswing.reports._render import group_parts

    view = fairness_check_rows(report)
    labels = [g["group"] for g in (view or {}).get("groups", [])]
    parts = group_parts(labels, _CHECK_ROW_IN) if labels else []
    return [c for c in (fairness_check_chart(report, part=p) for p in parts) if c]


def fairness_check_chart(report: Report, *, part: tuple[int, int] | None = None) -> str | None:
    """SVG: small multiples, one panel per metric: each group's ratio to the reference, the band shaded.

    Bars start at 1 (the reference) on a log axis, so 0.8 and 1.25 sit at equal distances; a ratio
    outside the band is dark red and cross-hatched, a small group's bar light and hatched; lines are
    Katz intervals (clipped to the panel). The table above the chart carries the numbers. ``part``
    ``(start, stop)`` draws only those groups (see :func:`fairness_check_charts`); long names wrap.
    """
    from matplotlib.ticker import NullLocator

    from glasswing.audits._table import wrap_label
    from glasswing.reports._render import _LABEL_WIDTH, _LINE_IN, _figure, _plain, _svg, part_title

    view = fairness_check_rows(report)
    if not view or not view["groups"]:
        return None
    fc = report.fairness_check
    lo, hi = fc["band"]
    metrics, every = view["metrics"], view["groups"]
    finite = [c["ratio"] for g in every for c in g["cells"].values() if _finite(c["ratio"])]
    groups = every[slice(*part)] if part else every  # the axis spans every group, so parts compare
    left = max(min([lo * 0.85, *(v * 0.9 for v in finite)]), 1e-3)
    right = max([hi * 1.15, *(v * 1.1 for v in finite)])
    # The band and parity; over a range of decades (a rate of 0 somewhere) the decades, which stay apart.
    marks = (lo, 1, hi) if right / left < 20 else (1e-3, 1e-2, 0.1, 1, 10, 100, 1000)
    ticks = [t for t in marks if left <= t <= right]
    labels = [wrap_label(g["group"] + (" *" if g["small"] else ""), _LABEL_WIDTH) for g in groups]
    lines = max(text.count("\n") + 1 for text in labels)
    fig = _figure(7.2, 1.0 + (_CHECK_ROW_IN + _LINE_IN * (lines - 1)) * len(groups))
    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
    y = np.arange(len(groups))
    for ax, m in zip(axes, metrics, strict=True):
        ax.axvspan(lo, hi, color=_BAND, zorder=0)
        for i, g in enumerate(groups):
            c = g["cells"].get(m) or {}
            ratio = c.get("ratio")
            if not _finite(ratio):
                ax.text(1, i, " n/a", va="center", fontsize=6)
                continue
            outside = c.get("within") is False
            ax.barh(i, ratio - 1, left=1, height=0.62, edgecolor="#222222", linewidth=0.5,
                    color="#7f0000" if outside else "#c6dbef" if g["small"] else "#4292c6",
                    hatch="xx" if outside else "//" if g["small"] else "")
            if _finite(c.get("low")) and _finite(c.get("high")):
                ax.plot([max(c["low"], left), min(c["high"], right)], [i, i], color="#000000", linewidth=0.7)
        ax.axvline(1, color="#000000", linewidth=0.9)
        ax.set_xscale("log")
        ax.set_xlim(left, right)
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_title(metric_label(m), fontsize=8, fontweight="bold", family="DejaVu Sans")
        ax.tick_params(labelsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[0].set_yticks(y, [_plain(text) for text in labels])
    axes[0].set_ylim(len(groups) - 0.5, -0.5)
    title = part_title(f"Fairness check: ratios to {fc['reference']} (shaded: {lo:g} to {hi:g})", part,
                       len(every))
    fig.suptitle(_plain(title),
                 x=0.0, ha="left", fontsize=11, fontweight="bold", family="DejaVu Sans")
    fig.supxlabel("ratio to the reference (log scale); dark, cross-hatched: outside the band; lines: Katz "
                  "intervals" + ("; * small group" if any(g["small"] for g in groups) else ""), fontsize=8)
    return _svg(fig)


def comparison_rows(report: Report) -> list[dict]:
    """Return the comparison's rates shown in the report (``COMPARE_SHOWN``), one per group and metric."""
    cmp = report.comparison
    if not cmp:
        return []
    return [r for r in cmp.get("by_group") or [] if r["metric"] in COMPARE_SHOWN]


def comparison_charts(report: Report) -> list[str]:
    """SVGs of :func:`comparison_chart`, in parts of about 16 groups (two to an A4 page)."""
    from glasswing.reports._render import group_parts

    groups = list(dict.fromkeys(str(r["group"]) for r in comparison_rows(report)))
    parts = group_parts(groups, _COMPARE_ROW_IN) if groups else []
    return [c for c in (comparison_chart(report, part=p) for p in parts) if c]


def comparison_chart(report: Report, *, part: tuple[int, int] | None = None) -> str | None:
    """SVG: B - A per group, one panel per rate, with the paired bootstrap interval (forest plots), 0 marked.

    One row per group, so the height grows with the groups; ``part`` ``(start, stop)`` draws only those
    (see :func:`comparison_charts`), on the x range of all of them; long names wrap.
    """
    from glasswing.audits._table import wrap_label
    from glasswing.reports._render import _LABEL_WIDTH, _LINE_IN, _SERIES, _figure, _plain, _svg, part_title

    rows = comparison_rows(report)
    if not rows:
        return None
    cmp = report.comparison
    every = list(dict.fromkeys(str(r["group"]) for r in rows))
    groups = every[slice(*part)] if part else every
    metrics = [m for m in COMPARE_SHOWN if any(r["metric"] == m for r in rows)]
    small = {str(r["group"]) for r in rows if r["small"]}
    labels = [wrap_label(g + (" *" if g in small else ""), _LABEL_WIDTH) for g in groups]
    lines = max(text.count("\n") + 1 for text in labels)
    ends = [v for r in rows for v in (r["low"], r["high"], r["difference"]) if _finite(v)]
    reach = max([abs(v) for v in ends] + [0.05]) * 1.1
    fig = _figure(7.2, 1.0 + (_COMPARE_ROW_IN + _LINE_IN * (lines - 1)) * len(groups))
    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
    markers = ["o", "s", "^", "D"]
    for k, (ax, m) in enumerate(zip(axes, metrics, strict=True)):
        of_metric = {str(r["group"]): r for r in rows if r["metric"] == m}
        for i, g in enumerate(groups):
            r = of_metric.get(g)
            if r is None or not _finite(r["difference"]):
                ax.text(0, i, " n/a", va="center", fontsize=6)
                continue
            if _finite(r["low"]) and _finite(r["high"]):
                ax.plot([r["low"], r["high"]], [i, i], color="#333333", linewidth=0.9)
            ax.plot(r["difference"], i, marker=markers[k % len(markers)], linestyle="none", markersize=4,
                    color=_SERIES[(k + 1) % len(_SERIES)][0], markeredgecolor="#000000")
        ax.axvline(0, color="#000000", linewidth=0.9)
        ax.set_xlim(-reach, reach)
        ax.set_title(metric_label(m), fontsize=8, fontweight="bold", family="DejaVu Sans")
        ax.tick_params(labelsize=7)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[0].set_yticks(np.arange(len(groups)), [_plain(text) for text in labels])
    axes[0].set_ylim(len(groups) - 0.5, -0.5)
    title = part_title(f"Change by group: {cmp['model_b']} − {cmp['model_a']}", part, len(every))
    fig.suptitle(_plain(title), x=0.0, ha="left", fontsize=11, fontweight="bold", family="DejaVu Sans")
    fig.supxlabel(f"B − A ({cmp['confidence']:.0%} paired bootstrap interval, {cmp['n_boot']:,} resamples)"
                  + ("; * fewer rows than the headline needs" if small else ""), fontsize=8)
    return _svg(fig)


def check_context(report: Report, *, charts: bool = True) -> dict:
    """Return what the three partial templates read (empty parts when a report has no such section)."""
    return {
        "check": fairness_check_rows(report), "compare_rows": comparison_rows(report),
        "check_charts": {"fairness_check": fairness_check_charts(report) if charts else [],
                         "comparison": comparison_charts(report) if charts else []},
    }
