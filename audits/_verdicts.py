"""The verdicts on an audit's disparities, stated once: thresholds, labels, pass/fail words and notes.

``GroupMetrics.disparity_table()`` and ``GroupMetrics.to_dict()["disparity_table"]`` are built here, and a
report rebuilt from the JSON of an older audit calls :func:`disparity_rows` on its summary, so the
dashboard, the report and the command line say the same words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from glasswing.audits._table import label

#: Ratios at or above this pass the four-fifths rule (US Uniform Guidelines on Employee Selection).
FOUR_FIFTHS = 0.8
#: Differences above this are flagged for review (a common screening threshold, stated in the report).
DIFFERENCE_THRESHOLD = 0.1
#: Where the four-fifths rule comes from and what passing it does not show (said once, in every report).
FOUR_FIFTHS_CONTEXT = ("The four-fifths rule comes from US employment selection (the 1978 Uniform Guidelines "
                       "on Employee Selection Procedures), where a selection rate below four fifths of the "
                       "highest group's is evidence of adverse impact; passing it is not evidence of "
                       "fairness elsewhere (fairlearn's documentation warns against this misuse).")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def disparity_rows(summary: Mapping, detail: Mapping | None = None, *, four_fifths: float = FOUR_FIFTHS,
                   difference: float = DIFFERENCE_THRESHOLD) -> list[dict]:
    """Each summary disparity with its threshold, verdict and note, as plain JSON-safe rows.

    Parameters
    ----------
    summary : mapping
        ``GroupMetrics.summary()`` (or the ``"summary"`` of its JSON): name -> value.
    detail : mapping, optional
        Name -> the row of ``GroupMetrics.disparities()`` (low, high, groups, distinguishable).
    four_fifths, difference : float
        Ratios pass at or above ``four_fifths``; differences pass at or below ``difference``.

    Returns
    -------
    list of dict
        Keys: name, label, value (None when undefined), threshold, passes (None when undefined), verdict,
        low, high, groups, note.

    Examples
    --------
    >>> [r["verdict"] for r in disparity_rows({"demographic_parity_ratio": 0.7,
    ...                                        "demographic_parity_difference": 0.05})]
    ['Fails the four-fifths rule', 'Within 0.1']
    """
    detail = detail or {}
    rows = []
    for name, raw in summary.items():
        if not (name.endswith("_difference") or name.endswith("_ratio")):
            continue
        ratio = name.endswith("_ratio")
        threshold = four_fifths if ratio else difference
        value = _number(raw)
        d = detail.get(name) or {}
        low, high = _number(d.get("low")), _number(d.get("high"))
        row = {"name": name, "label": label(name), "value": value, "threshold": threshold, "passes": None,
               "verdict": "Not defined for these groups", "low": low, "high": high,
               "groups": list(d.get("groups") or []), "note": ""}
        if value is not None:
            passes = value >= threshold if ratio else abs(value) <= threshold
            if name == "demographic_parity_ratio":
                verdict = "Meets the four-fifths rule" if passes else "Fails the four-fifths rule"
            elif ratio:
                verdict = f"At or above {threshold:g}" if passes else f"Below {threshold:g}"
            else:
                verdict = f"Within {threshold:g}" if passes else f"Exceeds {threshold:g}"
            note = ""
            if d.get("distinguishable") is False:
                note = "not distinguishable from parity" if ratio else "not distinguishable from zero"
            row.update(passes=passes, verdict=verdict, note=note)
        rows.append(row)
    return rows


def interval_text(low: float | None, high: float | None, digits: int = 3) -> str:
    """``"0.412 to 0.455"``, or words when the interval is undefined (never ``nan``)."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "undefined"
    return f"{low:.{digits}f} to {high:.{digits}f}"
