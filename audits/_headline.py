"""The headline of an audit: its verdicts on the groups large enough to conclude from.

Every headline (the four-fifths verdict, the summary disparities, ``--fail-if``, the Mitigation comparison)
uses the groups with at least ``min_group_size`` rows and the counts each disparity needs: a TPR needs
actual positives, an FPR actual negatives, a precision positive predictions. The groups left out are
listed beside the headline with their sizes and rates, never silently dropped. ``include_small_groups``
puts the small groups back (the counts a metric needs still apply: an undefined rate cannot be compared).
The plain values of ``GroupMetrics.summary()`` (every group, fairlearn's definitions) are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from glasswing._plain import json_safe
from glasswing.audits._verdicts import disparity_rows

if TYPE_CHECKING:
    from glasswing.audits._result import FourFifths, GroupMetrics

#: The rates each disparity compares need these denominators to be positive (besides the group's size).
NEEDS = {
    "demographic_parity": (),
    "equalized_odds": ("true_positive_rate", "false_positive_rate"),
    "equal_opportunity": ("true_positive_rate",),
    "predictive_parity": ("precision",),
}
WHY = {"true_positive_rate": "no actual positives", "false_positive_rate": "no actual negatives",
       "precision": "no positive predictions"}
TOO_FEW = "fewer than two groups qualify"


@dataclass(frozen=True, eq=False)
class Headline:
    """The verdicts an audit leads with, on adequate groups (see the module docstring).

    Attributes
    ----------
    summary : dict
        The keys of ``GroupMetrics.summary()`` over the qualifying groups (None where fewer than two qualify).
    disparities : pandas.DataFrame
        The rows of ``GroupMetrics.disparities()`` over the qualifying groups of each disparity.
    four_fifths : FourFifths or None
        The four-fifths verdict over the groups with enough rows (None when fewer than two have).
    groups : dict
        Disparity name -> labels of the groups it compares.
    left_out : pandas.DataFrame
        One row per group left out of some headline: label, n, selection_rate, reason, left_out_of.
    min_group_size : int
    include_small_groups : bool
    """

    summary: dict
    disparities: pd.DataFrame
    four_fifths: FourFifths | None
    groups: dict
    left_out: pd.DataFrame
    min_group_size: int
    include_small_groups: bool
    four_fifths_threshold: float = 0.8

    @property
    def sentence(self) -> str:
        """The four-fifths verdict in words, with the groups left out named after it."""
        if self.four_fifths is None:
            text = (f"The four-fifths rule cannot be applied: {TOO_FEW} (at least {self.min_group_size:,} "
                    "rows each).")
        else:
            text = self.four_fifths.sentence
        small = self.left_out[self.left_out["reason"].str.startswith("only")]
        if len(small):
            shown = ", ".join(f"{r.label} (n = {r.n:,})" for r in small.head(6).itertuples())
            more = f" and {len(small) - 6:,} more" if len(small) > 6 else ""
            text += (f" Left out as too small to conclude from (fewer than {self.min_group_size:,} rows): "
                     f"{shown}{more}.")
        return text

    def to_dict(self, confidence: float = 0.95) -> dict:
        """JSON-safe form (what ``GroupMetrics.to_dict()["headline"]`` holds)."""
        detail = {name: row.to_dict() for name, row in self.disparities.iterrows()}
        ff = self.four_fifths
        return json_safe({
            "min_group_size": self.min_group_size, "include_small_groups": self.include_small_groups,
            "summary": self.summary, "groups": self.groups,
            "disparities": [{"name": n, **row} for n, row in detail.items()],
            "disparity_table": disparity_rows(self.summary, detail, four_fifths=self.four_fifths_threshold),
            "four_fifths": None if ff is None else {"passed": ff.passed, "threshold": ff.threshold,
                                                    "reference": ff.reference, "sentence": ff.sentence},
            "sentence": self.sentence,
            "left_out": self.left_out.to_dict("records"),
        })


def eligible(gm: GroupMetrics, name: str, include_small_groups: bool = False) -> np.ndarray:
    """Positions of the groups the disparity ``name`` (a key of ``NEEDS``) may compare."""
    rows = gm.counts["n"].to_numpy()
    ok = np.ones(len(rows), dtype=bool) if include_small_groups else rows >= gm.min_group_size
    undefined = gm.undefined
    for metric in NEEDS[name]:
        ok &= ~undefined[metric].to_numpy()
    return np.flatnonzero(ok)


def subset(gm: GroupMetrics, positions) -> GroupMetrics:
    """Return the same audit restricted to some groups (counts and score metrics; no calibration bins)."""
    positions = list(positions)
    scores = gm.group_scores.iloc[positions] if gm.group_scores is not None else None
    return replace(gm, counts=gm.counts.iloc[positions], group_scores=scores, reliability=None)


def headline(gm: GroupMetrics, include_small_groups: bool | None = None) -> Headline:
    """Compute the :class:`Headline` of ``gm`` (``include_small_groups`` defaults to ``gm``'s setting)."""
    include = gm.include_small_groups if include_small_groups is None else include_small_groups
    summary: dict = {}
    frames, groups, excluded = [], {}, {}
    for name in NEEDS:
        pos = eligible(gm, name, include)
        for g in set(range(len(gm.counts))) - set(pos.tolist()):
            excluded.setdefault(g, []).append(name)
        groups[name] = [gm.labels[g] for g in pos]
        if len(pos) < 2:
            summary[f"{name}_difference"], summary[f"{name}_ratio"] = None, None
            continue
        sub = subset(gm, pos)
        full = sub.summary()
        summary[f"{name}_difference"], summary[f"{name}_ratio"] = (full[f"{name}_difference"],
                                                                   full[f"{name}_ratio"])
        frames.append(sub.disparities().loc[[f"{name}_difference", f"{name}_ratio"]])
    big = eligible(gm, "demographic_parity", include)
    ff = subset(gm, big).four_fifths(threshold=gm.four_fifths_threshold) if len(big) >= 2 else None
    summary["four_fifths_rule_passed"] = ff.passed if ff is not None else None
    columns = ["value", "low", "high", "metric", "groups", "distinguishable"]
    disparities = pd.concat(frames) if frames else pd.DataFrame(columns=columns)
    rows = gm.counts["n"].to_numpy()
    undefined = gm.undefined
    left = []
    for g in sorted(excluded):
        if not include and rows[g] < gm.min_group_size:
            reason = f"only {rows[g]:,} rows"
        else:
            reason = "; ".join(WHY[m] for m in WHY if undefined[m].iloc[g])
        left.append({"label": gm.labels[g], "group": gm.describe(g), "n": int(rows[g]),
                     "selection_rate": float(gm.by_group["selection_rate"].iloc[g]), "reason": reason,
                     "left_out_of": ", ".join(n.replace("_", " ") for n in excluded[g])})
    left_out = pd.DataFrame(left, columns=["label", "group", "n", "selection_rate", "reason", "left_out_of"])
    return Headline(summary, disparities, ff, groups, left_out, gm.min_group_size, include,
                    gm.four_fifths_threshold)
