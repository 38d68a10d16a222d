"""The named group metrics, each a formula over additive confusion counts (one table, no copies).

Every rate is ``sum(numerator cells) / sum(denominator cells)`` over the cells (tn, fp, fn, tp) of a
group. Because the cells add up, the same table serves rows in pandas, a DuckDB ``GROUP BY`` over Parquet,
bootstrap replicates, or counts from any other engine.

Undefined rates (a zero denominator, such as the true positive rate of a group with no actual positives)
are 0.0: this is fairlearn's convention (its rate functions use ``sklearn.metrics.confusion_matrix`` with
``normalize="true"``, which maps 0/0 to 0, and ``precision_score`` returns 0.0 there too).
``GroupMetrics.undefined`` says where this happened and ``GroupMetrics.warnings`` says it in words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CELLS = ("tn", "fp", "fn", "tp")


@dataclass(frozen=True)
class Metric:
    """One named rate: which confusion cells are counted over which.

    Attributes
    ----------
    name : str
        Column name in ``GroupMetrics.by_group`` and key in ``to_dict()`` (fairlearn's name where it has one).
    label : str
        Short label for tables and charts.
    numerator, denominator : tuple of str
        Cells from ``CELLS`` summed above and below the line.
    meaning : str
        One plain-words sentence for tooltips and reports.
    """

    name: str
    label: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    meaning: str

    def __call__(self, tn, fp, fn, tp):
        """Compute the rate from cell counts (scalars or arrays); 0.0 where the denominator is 0."""
        cells = {"tn": tn, "fp": fp, "fn": fn, "tp": tp}
        num = sum(np.asarray(cells[c], dtype=float) for c in self.numerator)
        den = sum(np.asarray(cells[c], dtype=float) for c in self.denominator)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, num / den, 0.0)


_ALL = CELLS
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("selection_rate", "Selection rate", ("fp", "tp"), _ALL, "Share of rows predicted positive."),
    Metric("true_positive_rate", "TPR", ("tp",), ("fn", "tp"),
           "Share of actual positives predicted positive (recall, equal opportunity)."),
    Metric("false_positive_rate", "FPR", ("fp",), ("tn", "fp"),
           "Share of actual negatives predicted positive."),
    Metric("false_negative_rate", "FNR", ("fn",), ("fn", "tp"),
           "Share of actual positives predicted negative."),
    Metric("true_negative_rate", "TNR", ("tn",), ("tn", "fp"),
           "Share of actual negatives predicted negative."),
    Metric("precision", "Precision (PPV)", ("tp",), ("fp", "tp"),
           "Share of positive predictions that are right (predictive parity)."),
    Metric("negative_predictive_value", "NPV", ("tn",), ("tn", "fn"),
           "Share of negative predictions that are right."),
    Metric("accuracy", "Accuracy", ("tn", "tp"), _ALL, "Share of rows predicted correctly."),
    Metric("base_rate", "Base rate", ("fn", "tp"), _ALL, "Share of rows that are actually positive."),
)}
RATE_NAMES = tuple(METRICS)
SCORE_LABELS = {"auc": "AUC", "brier_score": "Brier score", "calibration_error": "Calibration error (ECE)",
                "mean_score": "Mean score"}


def _masks() -> tuple[np.ndarray, np.ndarray]:
    num = np.zeros((4, len(METRICS)))
    den = np.zeros((4, len(METRICS)))
    for j, m in enumerate(METRICS.values()):
        for c in m.numerator:
            num[CELLS.index(c), j] = 1.0
        for c in m.denominator:
            den[CELLS.index(c), j] = 1.0
    return num, den


_NUM, _DEN = _masks()


def rates(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every metric of ``METRICS`` from cell counts of shape (..., 4), in one matrix product.

    Returns
    -------
    values : numpy.ndarray, shape (..., len(METRICS))
        The rates, 0.0 where undefined (fairlearn's convention).
    denominators : numpy.ndarray, same shape
        The denominators (0 where a rate is undefined), used for intervals.
    """
    cells = np.asarray(cells, dtype=float)
    num = cells @ _NUM
    den = cells @ _DEN
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(den > 0, num / den, 0.0)
    return values, den


def numerators(cells: np.ndarray) -> np.ndarray:
    """Return the numerators of every metric of ``METRICS`` from cell counts of shape (..., 4)."""
    return np.asarray(cells, dtype=float) @ _NUM


def label(name: str) -> str:
    """Display label of a metric, score metric or disparity name: the one table every view reads.

    Examples
    --------
    >>> label("precision"), label("auc"), label("equalized_odds_ratio")
    ('Precision (PPV)', 'AUC', 'Equalized odds ratio')
    """
    if name in METRICS:
        return METRICS[name].label
    if name == "n":
        return "n"
    return SCORE_LABELS.get(name, name.replace("_", " ").capitalize())


def group_label(key) -> str:
    """Short display name of a group: ``"F"``; ``"F · 25-44"`` for an intersection.

    ``key`` is a group's index key in ``GroupMetrics.by_group`` (a value or a tuple) or its JSON form
    (``{"sex": "F", "age": "25-44"}``). Sentences name the features too (``GroupMetrics.describe``).

    Examples
    --------
    >>> group_label("F"), group_label(("F", "25-44")), group_label({"sex": "F"})
    ('F', 'F · 25-44', 'F')
    """
    if isinstance(key, dict):
        key = tuple(key.values())
    parts = key if isinstance(key, tuple) else (key,)
    return " · ".join(str(v) for v in parts)


def wrap_label(text: str, width: int = 28, lines: int = 2) -> str:
    """Break a group label into at most ``lines`` lines of about ``width`` characters, for a chart axis.

    Lines break between the parts of an intersection (``" · "``), then at spaces and hyphens. A label that
    still needs more lines has its longest parts shortened with an ellipsis, so every part keeps its start
    (the band of ``"Far South-Western Islands · 45-54"`` survives); tables print the full name.

    Examples
    --------
    >>> wrap_label("F · 25-44")
    'F · 25-44'
    >>> print(wrap_label("Autonomous Region of the Far South-Western Islands · 45-54"))
    Autonomous Region of the
    Far South-Western I… · 45-54
    """
    import textwrap

    parts = [p.strip() for p in str(text).split(" · ")]
    while True:
        out: list[str] = []
        for k, part in enumerate(parts):  # room for the " ·" that ends a line before the next part
            pieces = textwrap.wrap(part, width - 2 * (k < len(parts) - 1), break_on_hyphens=True) or [part]
            if out and len(out[-1]) + 3 + len(pieces[0]) <= width:
                out[-1] += " · " + pieces.pop(0)
            elif out:
                out[-1] += " ·"
            out.extend(pieces)
        longest = max(range(len(parts)), key=lambda k: len(parts[k]))
        if len(out) <= lines:
            return "\n".join(out)
        if len(parts[longest]) <= 4:  # many short parts: cut after the last line that fits
            return "\n".join([*out[:lines - 1], out[lines - 1][:width - 1].rstrip(" ·") + " …"])
        parts[longest] = parts[longest].removesuffix("…")[:-2].rstrip(" -·,") + "…"
