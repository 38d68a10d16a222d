"""The report's error-analysis section: the cohorts where the model fails, as data and as an SVG chart.

``errors_section`` turns an ``audits.ErrorAnalysis`` into the plain data a ``Report`` keeps (so a saved or
exported report re-renders the same); ``errors_chart`` draws its cohorts' error rates with their Wilson
intervals for the HTML and the PDF.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from glasswing._plain import json_safe

#: How many cohorts (worst first) the report lists.
REPORT_COHORTS = 12
_KEYS = ("n", "errors", "error_rate", "source", "features", "max_depth", "min_rows", "alpha", "confidence",
         "method", "notes")


def errors_section(analysis: Any, *, top: int = REPORT_COHORTS) -> dict:
    """Return the report's data of an error analysis: overall counts, settings, the ``top`` worst cohorts.

    Parameters
    ----------
    analysis : audits.ErrorAnalysis or dict
        The analysis (or its ``to_dict()``).
    top : int
        How many cohorts to keep, highest error rate first; ``cohorts_total`` says how many there were.
    """
    data = dict(analysis) if isinstance(analysis, Mapping) else analysis.to_dict()
    cohorts = [{k: c[k] for k in ("rule", "n", "errors", "error_rate", "error_rate_low", "error_rate_high",
                                  "coverage")} for c in data["cohorts"]]
    out = {k: data.get(k) for k in _KEYS}
    out.update(cohorts=cohorts[:top], cohorts_total=len(cohorts))
    return json_safe(out)


def errors_chart(section: dict | None) -> str | None:
    """SVG: each cohort's error rate with its Wilson interval, the overall rate as a dashed line."""
    from glasswing.reports._render import _figure, _plain, _style, _svg

    if not section or not section.get("cohorts"):
        return None
    cohorts = section["cohorts"]
    fig = _figure(7.2, 0.8 + 0.34 * len(cohorts))
    ax = fig.add_subplot()
    y = np.arange(len(cohorts))
    rate = np.array([c["error_rate"] for c in cohorts], dtype=float)
    lo = np.array([c["error_rate_low"] for c in cohorts], dtype=float)
    hi = np.array([c["error_rate_high"] for c in cohorts], dtype=float)
    ax.barh(y, rate, height=0.6, color="#f2a07b", edgecolor="#222222", linewidth=0.5,
            xerr=np.vstack([rate - lo, hi - rate]), error_kw={"elinewidth": 0.9, "capsize": 2})
    for i, c in enumerate(cohorts):
        ax.text(hi[i] + 0.015, i, f"{c['error_rate']:.2f} · {c['coverage']:.0%} of errors · n={c['n']:,}",
                va="center", fontsize=7)
    ax.axvline(section["error_rate"], color="#000000", linestyle="--", linewidth=0.9)
    ax.set_yticks(y, [_plain(_short(c["rule"])) for c in cohorts])
    ax.invert_yaxis()
    ax.set_xlim(0, min(1.0, float(hi.max()) + 0.35))
    _style(ax, "Error rate by cohort", f"error rate ({section['confidence']:.0%} Wilson interval whiskers; "
                                       "dashed: overall)")
    return _svg(fig)


def _short(rule: str, limit: int = 60) -> str:
    return rule if len(rule) <= limit else rule[:limit - 1] + "…"
