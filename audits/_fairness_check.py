"""The dalex-style *fairness check* (each group's ratios to a reference) and confusion matrices by group.

The fairness check follows dalex's ``GroupFairnessClassification.fairness_check`` (Wiśniewski & Biecek,
"fairmodels", 2022): for the main rates (TPR, accuracy, precision, FPR and the selection rate, dalex's
TPR, ACC, PPV, FPR and STP) every group's value is divided by the reference group's, and a ratio inside
``[epsilon, 1 / epsilon]`` (0.8 to 1.25 by default, the four-fifths rule's band) passes. Each ratio also
carries Katz's log interval (``GroupMetrics.relative_to``). The verdict uses the groups with at least
``min_group_size`` rows; smaller ones are drawn and listed, flagged, but left out of the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from glasswing._plain import json_safe
from glasswing.audits._result import GroupMetrics
from glasswing.audits._table import label
from glasswing.audits._validate import AuditError

#: dalex's five metrics: TPR, ACC, PPV, FPR, STP (statistical parity: the selection rate).
CHECK_METRICS = ("true_positive_rate", "accuracy", "precision", "false_positive_rate", "selection_rate")
BAD_EPSILON = "epsilon must be between 0 and 1 (the band is epsilon to 1/epsilon); got {value!r}."


@dataclass(frozen=True)
class FairnessCheck:
    """Each group's ratio to a reference group for the main rates, against the band ``[epsilon, 1/epsilon]``.

    Attributes
    ----------
    reference : str
        The reference group's label.
    epsilon : float
        The lower edge of the band (0.8); the upper is ``1 / epsilon`` (1.25).
    ratios : pandas.DataFrame
        One row per (group, metric) for the groups other than the reference: group, metric, value,
        reference_value, ratio, low, high (Katz interval), n, small, within (ratio inside the band; None
        when undefined).
    min_group_size : int
    """

    reference: str
    epsilon: float
    ratios: pd.DataFrame
    min_group_size: int

    @property
    def band(self) -> tuple[float, float]:
        """The band a ratio must lie in: ``(epsilon, 1 / epsilon)``."""
        return self.epsilon, 1 / self.epsilon

    @property
    def outside(self) -> pd.DataFrame:
        """The ratios of adequate groups outside the band (what the verdict names)."""
        r = self.ratios
        return r[(r["within"] == False) & ~r["small"]]  # noqa: E712 (None means undefined)

    @property
    def sentence(self) -> str:
        """The verdict in plain words, on the groups with at least ``min_group_size`` rows."""
        lo, hi = self.band
        head = self.ratios[~self.ratios["small"]]
        if head.empty:
            return (f"The fairness check cannot conclude: no group other than {self.reference} has at least "
                    f"{self.min_group_size:,} rows.")
        bad = self.outside
        if bad.empty:
            names = ", ".join(label(m) for m in dict.fromkeys(head["metric"]))
            return (f"Every group with at least {self.min_group_size:,} rows is within {lo:g} to {hi:g} "
                    f"times {self.reference}'s rate on {names}.")
        items = "; ".join(f"{r.group}: {label(r.metric)} {r.ratio:.2f}" for r in bad.itertuples())
        return (f"{len(bad)} ratio{'s' if len(bad) > 1 else ''} to {self.reference} fall outside {lo:g} to "
                f"{hi:g}: {items}.")

    def to_dict(self) -> dict:
        """JSON-safe form (what the report keeps)."""
        return json_safe({"reference": self.reference, "epsilon": self.epsilon, "band": list(self.band),
                          "min_group_size": self.min_group_size, "sentence": self.sentence,
                          "ratios": self.ratios.to_dict("records")})


def default_reference(gm: GroupMetrics) -> int:
    """Position of the default reference group: the group with the most rows (dalex asks for one)."""
    return int(np.argmax(gm.counts["n"].to_numpy()))


def fairness_check(gm: GroupMetrics, reference=None, *, epsilon: float = 0.8,
                   metrics=CHECK_METRICS) -> FairnessCheck:
    """Each group's ratio to ``reference`` for the main rates, against the band ``[epsilon, 1/epsilon]``.

    Parameters
    ----------
    gm : audits.GroupMetrics
        The audit.
    reference : group key, label or description, optional
        Default: the group with the most rows.
    epsilon : float, default 0.8
        dalex's epsilon; the band is 0.8 to 1.25.
    metrics : sequence of str
        Rates to check (dalex's five by default).

    Returns
    -------
    FairnessCheck

    Examples
    --------
    >>> from audits import group_metrics
    >>> gm = group_metrics([1, 0, 1, 0, 1, 0], [1, 0, 1, 1, 0, 0], list("FFFMMM"))
    >>> fc = fairness_check(gm, "F", metrics=["selection_rate"])
    >>> fc.ratios[["group", "ratio"]].to_dict("records")
    [{'group': 'M', 'ratio': 0.5}]
    """
    if not (isinstance(epsilon, int | float) and 0 < epsilon < 1):
        raise AuditError(BAD_EPSILON.format(value=epsilon))
    ref = default_reference(gm) if reference is None else gm._position(reference)
    rel = gm.relative_to(ref, list(metrics))
    ref_label = gm.labels[ref]
    rel = rel[rel["group"] != ref_label].copy()
    n = dict(zip(gm.labels, gm.counts["n"].to_numpy(), strict=True))
    rel["n"] = rel["group"].map(n).astype(int)
    rel["small"] = rel["n"] < gm.min_group_size
    und = gm.undefined.to_numpy()
    pos = {lab: i for i, lab in enumerate(gm.labels)}
    cols_m = list(gm.undefined.columns)
    bad = [bool(und[pos[g], cols_m.index(m)] or und[ref, cols_m.index(m)])
           for g, m in zip(rel["group"], rel["metric"], strict=True)]
    rel.loc[bad, ["ratio", "ratio_low", "ratio_high"]] = np.nan  # an undefined rate has no ratio
    lo, hi = epsilon, 1 / epsilon
    rel["within"] = [None if not np.isfinite(r) else bool(lo <= r <= hi) for r in rel["ratio"]]
    cols = ["group", "metric", "value", "reference_value", "ratio", "ratio_low", "ratio_high", "n", "small",
            "within"]
    ratios = rel[cols].rename(columns={"ratio_low": "low", "ratio_high": "high"}).reset_index(drop=True)
    return FairnessCheck(ref_label, float(epsilon), ratios, gm.min_group_size)


def confusion_by_group(gm: GroupMetrics) -> pd.DataFrame:
    """Return the confusion matrix of every group: counts, and rates normalised by the actual class.

    Returns
    -------
    pandas.DataFrame
        Four rows per group (in ``by_group`` order): group, n, small, actual (``"positive"`` /
        ``"negative"``), predicted, count (weighted, as counted), rate (count over the actual class's
        count: TPR, FNR, FPR, TNR; NaN when the group has no row of that class), cell (TP, FN, FP, TN).
        ``sklearn.metrics.confusion_matrix(..., normalize="true")`` gives the same numbers.

    Examples
    --------
    >>> from audits import group_metrics
    >>> gm = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], ["F", "F", "M", "M"])
    >>> confusion_by_group(gm).query("group == 'M'")["count"].tolist()
    [0.0, 1.0, 0.0, 1.0]
    """
    rows = []
    for g, lab in enumerate(gm.labels):
        c = gm.counts.iloc[g]
        pos, neg = c["tp"] + c["fn"], c["tn"] + c["fp"]
        for actual, predicted, cell, key, total in (
                ("positive", "positive", "TP", "tp", pos), ("positive", "negative", "FN", "fn", pos),
                ("negative", "positive", "FP", "fp", neg), ("negative", "negative", "TN", "tn", neg)):
            rows.append({"group": lab, "n": int(c["n"]), "small": bool(c["n"] < gm.min_group_size),
                         "actual": actual, "predicted": predicted, "cell": cell, "count": float(c[key]),
                         "rate": float(c[key] / total) if total > 0 else float("nan")})
    return pd.DataFrame(rows)


def confusion_dict(gm: GroupMetrics) -> list[dict]:
    """JSON-safe per-group confusion matrices for the report (one entry per group, counts and rates)."""
    table = confusion_by_group(gm)
    out = []
    for lab in gm.labels:
        part = table[table["group"] == lab].set_index("cell")
        out.append(json_safe({"group": lab, "n": int(part["n"].iloc[0]), "small": bool(part["small"].iloc[0]),
                              "counts": part["count"].to_dict(), "rates": part["rate"].to_dict()}))
    return out
