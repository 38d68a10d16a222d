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


def fairness_check_chart(report: Report) -> str | None:
    """SVG: small multiples, one panel per metric: each group's ratio to the reference, the band shaded.

    Bars start at 1 (the reference) on a log axis, so 0.8 and 1.25 sit at equal distances; a ratio
    outside the band is dark red and cross-hatched, a small group's bar light and hatched; lines are
    Katz intervals (clipped to the panel). The table above the chart carries the numbers.
    """
    from matplotlib.ticker import NullLocator

    from glasswing.reports._render import _figure, _plain, _svg

    view = fairness_check_rows(report)
    if not view or not view["groups"]:
        return None
    fc = report.fairness_check
    lo, hi = fc["band"]
    metrics, groups = view["metrics"], view["groups"]
    finite = [c["ratio"] for g in groups for c in g["cells"].values() if _finite(c["ratio"])]
    left = max(min([lo * 0.85, *(v * 0.9 for v in finite)]), 1e-3)
    right = max([hi * 1.15, *(v * 1.1 for v in finite)])
    ticks = [t for t in (0.25, 0.5, lo, 1, hi, 2, 4) if left <= t <= right]
    fig = _figure(7.2, 1.0 + 0.26 * len(groups))
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
    axes[0].set_yticks(y, [_plain(g["group"] + (" *" if g["small"] else "")) for g in groups])
    axes[0].invert_yaxis()
    fig.suptitle(_plain(f"Fairness check: ratios to {fc['reference']} (shaded: {lo:g} to {hi:g})"),
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


def comparison_chart(report: Report) -> str | None:
    """SVG: B - A per group and rate with its paired bootstrap interval (a forest plot), 0 marked."""
    from glasswing.reports._render import _SERIES, _figure, _plain, _style, _svg

    rows = comparison_rows(report)
    if not rows:
        return None
    cmp = report.comparison
    groups = list(dict.fromkeys(str(r["group"]) for r in rows))
    metrics = [m for m in COMPARE_SHOWN if any(r["metric"] == m for r in rows)]
    fig = _figure(7.2, 0.9 + 0.3 * len(groups) * len(metrics))
    ax = fig.add_subplot()
    step = 0.8 / len(metrics)
    markers = ["o", "s", "^", "D"]
    for k, m in enumerate(metrics):
        part = {str(r["group"]): r for r in rows if r["metric"] == m}
        for i, g in enumerate(groups):
            r = part.get(g)
            if r is None or not _finite(r["difference"]):
                continue
            y = i - 0.4 + step * (k + 0.5)
            if _finite(r["low"]) and _finite(r["high"]):
                ax.plot([r["low"], r["high"]], [y, y], color="#333333", linewidth=0.9)
            ax.plot(r["difference"], y, marker=markers[k % len(markers)], linestyle="none", markersize=5,
                    color=_SERIES[(k + 1) % len(_SERIES)][0], markeredgecolor="#000000",
                    label=metric_label(m) if i == 0 else None)
    ax.axvline(0, color="#000000", linewidth=0.9)
    small = {str(r["group"]) for r in rows if r["small"]}
    ax.set_yticks(np.arange(len(groups)), [_plain(g + (" *" if g in small else "")) for g in groups])
    ax.invert_yaxis()
    _style(ax, _plain(f"Change by group: {cmp['model_b']} − {cmp['model_a']}"),
           f"B − A ({cmp['confidence']:.0%} paired bootstrap interval, {cmp['n_boot']:,} resamples)"
           + ("; * fewer rows than the headline needs" if small else ""))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _svg(fig)


def check_context(report: Report, *, charts: bool = True) -> dict:
    """Return what the three partial templates read (empty parts when a report has no such section)."""
    return {
        "check": fairness_check_rows(report), "compare_rows": comparison_rows(report),
        "check_charts": {"fairness_check": fairness_check_chart(report) if charts else None,
                         "comparison": comparison_chart(report) if charts else None},
    }
