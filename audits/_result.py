"""``GroupMetrics``: metrics by group with intervals, disparities and plain-words findings.

Built from per-group confusion counts only, so it is small (a few numbers per group), cheap to cache and
to pickle, and the same whether the counts came from pandas, DuckDB or another engine.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from glasswing._plain import json_safe
from glasswing.audits._headline import TOO_FEW
from glasswing.audits._intervals import katz_ratio, newcombe_difference, wilson_interval
from glasswing.audits._table import CELLS, RATE_NAMES, group_label, label, numerators, rates
from glasswing.audits._validate import AuditError
from glasswing.audits._verdicts import FOUR_FIFTHS, FOUR_FIFTHS_CONTEXT, disparity_rows, interval_text

log = logging.getLogger(__name__)

Method = Literal["between_groups", "to_overall"]

#: Disparities reported by ``summary()``: name -> the metrics it compares (fairlearn's definitions).
DISPARITIES: dict[str, tuple[str, ...]] = {
    "demographic_parity": ("selection_rate",),
    "equalized_odds": ("true_positive_rate", "false_positive_rate"),
    "equal_opportunity": ("true_positive_rate",),
    "predictive_parity": ("precision",),
}

BAD_METHOD = "method must be 'between_groups' or 'to_overall'; got {method!r}."
BAD_COUNTS = "The counts table needs the columns tn, fp, fn and tp (and optionally n); it has: {columns}."
UNKNOWN_GROUP = "There is no group {group!r}; the groups are: {groups}."
UNKNOWN_METRIC = "There is no metric {name!r}; the metrics are: {names}."

SMALL_GROUP = ("{group} has {n:,} rows, fewer than {minimum:,}: too few to conclude from; treat its rates "
               "and any disparity involving it as indicative only.")
NO_POSITIVES = ("{group} has no actual positives, so its true positive and false negative rates are "
                "undefined (shown as 0, fairlearn's convention).")
NO_NEGATIVES = ("{group} has no actual negatives, so its false positive and true negative rates are "
                "undefined (shown as 0, fairlearn's convention).")
NO_SELECTED = ("{group} has no positive predictions, so its precision is undefined (shown as 0, fairlearn's "
               "convention).")


_python = json_safe


@dataclass(frozen=True)
class FourFifths:
    """The four-fifths (80%) rule on selection rates, with a Katz log interval for each ratio.

    Attributes
    ----------
    passed : bool or None
        Whether every group's selection rate is at least ``threshold`` times the reference's; None when the
        reference selects nobody (the rule cannot be applied).
    reference : str
        The group compared against (by default the one with the highest selection rate).
    ratios : pandas.DataFrame
        Per group: selection_rate, ratio (to the reference), low, high (Katz interval), n, small.
    sentence : str
        The verdict in plain words.
    """

    passed: bool | None
    threshold: float
    reference: str
    reference_rate: float
    ratios: pd.DataFrame
    sentence: str


@dataclass(frozen=True, eq=False)
class GroupMetrics:
    """Metrics by group in fairlearn's shape, computed from per-group confusion counts.

    Build it with :func:`audits.group_metrics`, :func:`audits.group_metrics_parquet`,
    :func:`audits.audit_dataset` or :meth:`from_counts`.

    Attributes
    ----------
    counts : pandas.DataFrame
        One row per group (indexed by group; a MultiIndex named after the sensitive columns for an
        intersection) with the weighted confusion cells tn, fp, fn, tp and the number of rows n.
    group_scores : pandas.DataFrame or None
        Score metrics per group (auc, brier_score, calibration_error, mean_score) when scores were given.
    overall_scores : pandas.Series or None
        The same score metrics over all rows.
    reliability : pandas.DataFrame or None
        Calibration bins per group (group position, bin, weight, mean_score, positive_rate).
    pos_label : object
        The label counted as positive (the favourable outcome).
    threshold : float or None
        The decision threshold when predictions came from scores (``score >= threshold``).
    min_group_size : int
        Groups with fewer rows are flagged as too small to conclude from.
    confidence : float
        Level of every interval (Wilson for rates, Newcombe for differences, Katz for ratios).
    n_boot, seed : int
        Kept in the settings for scripts that pass them; the intervals are closed-form score intervals,
        so they no longer depend on them.
    notes : tuple of str
        Sentences about the input (rows left out, missing sensitive values, empty intersections).
    four_fifths_threshold : float
        The line of the four-fifths rule (0.8), a setting of the headline verdict.
    include_small_groups : bool
        Whether the headline (:meth:`headline`) puts the groups under ``min_group_size`` back.
    decision : dict
        The decision rule audited, in the user's words: ``source`` (where predictions came from),
        ``selected`` (what a positive prediction means, e.g. "predicted to reoffend"), ``score`` (the
        column or model score thresholded, if any). See :meth:`decision_rule`.
    """

    counts: pd.DataFrame
    group_scores: pd.DataFrame | None = None
    overall_scores: pd.Series | None = None
    reliability: pd.DataFrame | None = None
    pos_label: Any = 1
    threshold: float | None = None
    min_group_size: int = 30
    confidence: float = 0.95
    n_boot: int = 1000
    seed: int = 0
    notes: tuple[str, ...] = field(default=())
    four_fifths_threshold: float = FOUR_FIFTHS
    include_small_groups: bool = False
    decision: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_counts(cls, counts: pd.DataFrame, **options) -> GroupMetrics:
        """Build from a table of confusion counts per group (any engine's ``GROUP BY``).

        Parameters
        ----------
        counts : pandas.DataFrame
            Indexed by group (one level per sensitive feature), with columns tn, fp, fn, tp (weighted counts)
            and optionally n (rows; the sum of the four cells when absent).
        **options
            Any other field of ``GroupMetrics`` (min_group_size, confidence, n_boot, seed, ...).

        Examples
        --------
        >>> import pandas as pd
        >>> counts = pd.DataFrame({"tn": [40, 30], "fp": [10, 20], "fn": [5, 10], "tp": [45, 40]},
        ...                       index=pd.Index(["F", "M"], name="sex"))
        >>> gm = GroupMetrics.from_counts(counts)
        >>> gm.by_group["selection_rate"].tolist()
        [0.55, 0.6]
        """
        missing = [c for c in CELLS if c not in counts.columns]
        if missing:
            raise AuditError(BAD_COUNTS.format(columns=", ".join(map(str, counts.columns)) or "none"))
        table = counts.loc[:, list(CELLS)].astype(float)
        n = counts["n"] if "n" in counts.columns else table.sum(axis=1)
        table["n"] = np.asarray(n, dtype=np.int64)
        return cls(counts=table, **options)

    # ------------------------------------------------------------------ basic views
    @property
    def sensitive_names(self) -> tuple[str, ...]:
        """The sensitive feature names (the index level names)."""
        return tuple(str(n) for n in self.counts.index.names)

    @property
    def metrics(self) -> tuple[str, ...]:
        """Names of the metric columns of ``by_group`` (rates, then score metrics when present)."""
        extra = tuple(self.group_scores.columns) if self.group_scores is not None else ()
        return RATE_NAMES + extra

    @cached_property
    def _cells(self) -> np.ndarray:
        return self.counts.loc[:, list(CELLS)].to_numpy(dtype=float)

    @cached_property
    def _rows(self) -> np.ndarray:
        return self.counts["n"].to_numpy(dtype=np.int64)

    @cached_property
    def by_group(self) -> pd.DataFrame:
        """One row per group: ``n`` (rows), then one column per metric (see ``audits.METRICS``)."""
        values, _ = rates(self._cells)
        frame = pd.DataFrame(values, index=self.counts.index, columns=list(RATE_NAMES))
        frame.insert(0, "n", self._rows)
        if self.group_scores is not None:
            scores = self.group_scores.copy()
            scores.index = self.counts.index
            frame = pd.concat([frame, scores], axis=1)
        return frame

    @cached_property
    def overall(self) -> pd.Series:
        """Every metric over all rows together (``n`` is the total number of rows)."""
        values, _ = rates(self._cells.sum(axis=0))
        out = pd.Series(values, index=list(RATE_NAMES), dtype=float)
        out = pd.concat([pd.Series({"n": float(self._rows.sum())}), out])
        if self.overall_scores is not None:
            out = pd.concat([out, self.overall_scores.astype(float)])
        return out

    @cached_property
    def undefined(self) -> pd.DataFrame:
        """True where a rate has a zero denominator (its value is 0.0 by fairlearn's convention)."""
        _, den = rates(self._cells)
        return pd.DataFrame(den <= 0, index=self.counts.index, columns=list(RATE_NAMES))

    @cached_property
    def intervals(self) -> pd.DataFrame:
        """Wilson score interval of every rate in every group.

        Columns are a MultiIndex ``(metric, "low" | "high")``. With sample weights the denominators are
        rescaled so that the weights average 1 within each group. An undefined rate gets (0, 1).
        """
        num = numerators(self._cells)
        _, den = rates(self._cells)
        totals = self._cells.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(totals > 0, self._rows[:, None] / totals, 0.0)
        lo, hi = wilson_interval(num * scale, den * scale, self.confidence)
        columns = pd.MultiIndex.from_product([list(RATE_NAMES), ["low", "high"]], names=["metric", "bound"])
        data = np.stack([lo, hi], axis=2).reshape(len(self.counts), -1)
        return pd.DataFrame(data, index=self.counts.index, columns=columns)

    @cached_property
    def labels(self) -> list[str]:
        """Short display label of each group, in ``by_group`` order ("F"; "F · 25-45" for intersections)."""
        return [group_label(k) for k in self.counts.index]

    def describe(self, group) -> str:
        """Describe a group in words, naming its features: ``"sex=F"`` or ``"sex=F, age_group=25-45"``."""
        pos = self._position(group)
        key = _key(self.counts.index[pos])
        return ", ".join(f"{n}={v}" for n, v in zip(self.sensitive_names, key, strict=True))

    def _position(self, group) -> int:
        if isinstance(group, (int, np.integer)) and not isinstance(group, bool) and \
                group not in self.counts.index:
            return int(group)
        if isinstance(group, str) and group in self.labels:
            return self.labels.index(group)
        if group in self.counts.index:
            return int(self.counts.index.get_loc(group))
        described = [self.describe(i) for i in range(len(self.counts))]
        if group in described:
            return described.index(group)
        raise AuditError(UNKNOWN_GROUP.format(group=group, groups=", ".join(self.labels)))

    # ------------------------------------------------------------------ fairlearn's aggregates
    def _metric_frame(self) -> pd.DataFrame:
        return self.by_group.drop(columns="n")

    def group_min(self) -> pd.Series:
        """Smallest value of each metric over the groups (NaN ignored), like ``MetricFrame.group_min()``."""
        return self._metric_frame().min()

    def group_max(self) -> pd.Series:
        """Largest value of each metric over the groups (NaN ignored), like ``MetricFrame.group_max()``."""
        return self._metric_frame().max()

    def difference(self, method: Method = "between_groups") -> pd.Series:
        """Largest absolute difference for each metric, as ``MetricFrame.difference(method=...)``.

        ``"between_groups"`` is ``group_max() - group_min()``; ``"to_overall"`` is the largest absolute
        difference between a group and the overall value.
        """
        frame = self._metric_frame()
        if method == "between_groups":
            return (frame - self.group_min()).abs().max()
        if method == "to_overall":
            return (frame - self.overall.drop("n")).abs().max()
        raise AuditError(BAD_METHOD.format(method=method))

    def ratio(self, method: Method = "between_groups") -> pd.Series:
        """Smallest ratio (at most 1) for each metric, as ``MetricFrame.ratio(method=...)``.

        ``"between_groups"`` is ``group_min() / group_max()`` (NaN when the largest is 0);
        ``"to_overall"`` is the smallest of each group's value over the overall one, inverted when above 1.
        """
        if method == "between_groups":
            with np.errstate(divide="ignore", invalid="ignore"):
                return self.group_min() / self.group_max()
        if method == "to_overall":
            with np.errstate(divide="ignore", invalid="ignore"):
                ratios = self._metric_frame() / self.overall.drop("n")
            return ratios.apply(lambda col: col.transform(lambda x: 1 / x if x > 1 else x)).min()
        raise AuditError(BAD_METHOD.format(method=method))

    # ------------------------------------------------------------------ intervals of comparisons
    @cached_property
    def _num_den(self) -> tuple[np.ndarray, np.ndarray]:
        """Numerators and denominators of every rate per group (G, M), on the scale of rows.

        With sample weights the counts are rescaled so that the weights average 1 within each group
        (as for the Wilson intervals of ``intervals``).
        """
        num = numerators(self._cells)
        _, den = rates(self._cells)
        totals = self._cells.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(totals > 0, self._rows[:, None] / totals, 0.0)
        return num * scale, den * scale

    def compare(self, metric: str, a, b, kind: str = "difference") -> tuple[float, float, float]:
        """Compare one rate between two groups: the value and its score-based interval.

        ``kind="difference"`` gives ``rate(a) - rate(b)`` with Newcombe's hybrid score interval (method
        10); ``kind="ratio"`` gives ``rate(a) / rate(b)`` with Katz's log interval (0.5 added to every
        cell where a count is zero). Both stay valid at zero counts. ``a`` or ``b`` may be ``"overall"``
        (all rows, treated as a sample of its own: an approximation, since a group is part of it).

        Returns
        -------
        (value, low, high) : tuple of float
            NaN where a rate is undefined (no rows in its denominator).
        """
        j = RATE_NAMES.index(metric)
        num, den = self._num_den

        def counts(g):
            if isinstance(g, str) and g == "overall":
                return num[:, j].sum(), den[:, j].sum()
            pos = self._position(g)
            return num[pos, j], den[pos, j]

        (x1, n1), (x2, n2) = counts(a), counts(b)
        with np.errstate(divide="ignore", invalid="ignore"):
            p1, p2 = x1 / n1 if n1 > 0 else np.nan, x2 / n2 if n2 > 0 else np.nan
            if kind == "difference":
                lo, hi = newcombe_difference(x1, n1, x2, n2, self.confidence)
                value = p1 - p2
            else:
                lo, hi = katz_ratio(x1, n1, x2, n2, self.confidence)
                value = p1 / p2 if p2 > 0 else np.nan
        return float(value), float(lo), float(hi)

    def _disparity(self, name: str, kind: str, method: Method) -> dict:
        """Point value (fairlearn's definition), the pair of groups that defines it, and its interval."""
        parts = DISPARITIES[name]
        values = self.difference(method) if kind == "difference" else self.ratio(method)
        # fairlearn combines equalized odds with Python's max()/min() over (TPR, FPR), in that order.
        combine = max if kind == "difference" else min
        value = float(combine([values[m] for m in parts]))
        metric = next((m for m in parts if values[m] == value or (np.isnan(value) and np.isnan(values[m]))),
                      parts[0])
        col = self.by_group[metric].to_numpy()
        overall = float(self.overall[metric])
        if method == "between_groups":
            hi_g, lo_g = int(np.argmax(col)), int(np.argmin(col))
            high, low = (hi_g, lo_g)
            groups = [self.describe(hi_g), self.describe(lo_g)]
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                score = np.abs(col - overall) if kind == "difference" else _sub_one(col / overall)
            g = int(np.nanargmax(score) if kind == "difference" else
                    (np.nanargmin(score) if np.isfinite(score).any() else 0))
            above = col[g] >= overall
            high, low = (g, "overall") if above else ("overall", g)
            groups = [self.describe(g), "overall"] if above else ["overall", self.describe(g)]
        if kind == "difference":
            _, lo, hi = self.compare(metric, high, low, "difference")
        else:
            _, lo, hi = self.compare(metric, low, high, "ratio")
        if not np.isfinite(value):
            lo, hi = np.nan, np.nan
        if kind == "difference":
            distinguishable = bool(np.isfinite(lo) and lo > 0)
        else:
            distinguishable = bool(np.isfinite(hi) and hi < 1)
        return {"name": f"{name}_{kind}", "value": value, "low": float(lo), "high": float(hi),
                "metric": metric, "groups": groups, "distinguishable": distinguishable}

    def disparities(self, method: Method = "between_groups") -> pd.DataFrame:
        """Every summary disparity with its interval and whether it is distinguishable from none.

        The interval compares the two groups that define the disparity (the highest and lowest at the point
        estimate): Newcombe's hybrid score interval for a difference, Katz's log interval for a ratio
        (:meth:`compare`); both stay valid when a count is zero. A difference is *distinguishable from
        zero* when its interval lies above 0, a ratio when its interval lies below 1.

        Returns
        -------
        pandas.DataFrame
            Indexed by name (``demographic_parity_difference``, ...), with columns value, low, high, metric,
            groups and distinguishable.
        """
        if method not in ("between_groups", "to_overall"):
            raise AuditError(BAD_METHOD.format(method=method))
        rows = [self._disparity(name, kind, method)
                for name in DISPARITIES for kind in ("difference", "ratio")]
        return pd.DataFrame(rows).set_index("name")

    def disparity_table(self, method: Method = "between_groups", *, headline: bool = False) -> pd.DataFrame:
        """Return the summary disparities as the page, the report and the command line show them.

        One row per disparity: label, value, interval (in words when undefined), between (the two groups
        that define it), threshold, verdict (``"Fails the four-fifths rule"``, ``"Within 0.1"``, ...) and
        note (``"not distinguishable from zero"``). Built by :func:`audits._verdicts.disparity_rows`.
        With ``headline=True`` the rows are the headline's (adequate groups, :meth:`headline`).
        """
        rows = self.headline().to_dict(self.confidence)["disparity_table"] if headline else \
            self._verdict_rows(method)
        return pd.DataFrame({
            "disparity": [r["label"] for r in rows],
            "value": [r["value"] for r in rows],
            f"{self.confidence:.0%} interval": [interval_text(r["low"], r["high"]) for r in rows],
            "between": [" vs ".join(r["groups"]) for r in rows],
            "threshold": [r["threshold"] for r in rows],
            "verdict": [r["verdict"] for r in rows],
            "note": [r["note"] for r in rows],
        }, index=pd.Index([r["name"] for r in rows], name="name"))

    def _verdict_rows(self, method: Method = "between_groups") -> list[dict]:
        detail = {name: row.to_dict() for name, row in self.disparities(method).iterrows()}
        return disparity_rows(self.summary(method), json_safe(detail), four_fifths=self.four_fifths_threshold)

    def summary(self, method: Method = "between_groups") -> dict[str, float | bool]:
        """Return the headline disparities (fairlearn's definitions) and the four-fifths verdict.

        Keys: ``demographic_parity_difference``, ``demographic_parity_ratio``, ``equalized_odds_difference``
        (the larger of the TPR and FPR differences), ``equalized_odds_ratio`` (the smaller of their ratios),
        ``equal_opportunity_difference``/``_ratio`` (TPR), ``predictive_parity_difference``/``_ratio``
        (precision) and ``four_fifths_rule_passed``.

        Examples
        --------
        >>> import pandas as pd
        >>> from audits import group_metrics
        >>> gm = group_metrics([1, 0, 1, 1, 0, 0], [1, 0, 1, 0, 0, 1], ["a", "a", "a", "b", "b", "b"])
        >>> round(gm.summary()["demographic_parity_difference"], 4)
        0.3333
        """
        out: dict[str, float | bool] = {}
        for name, parts in DISPARITIES.items():
            diff, ratio = self.difference(method), self.ratio(method)
            out[f"{name}_difference"] = float(max(diff[m] for m in parts))
            out[f"{name}_ratio"] = float(min(ratio[m] for m in parts))
        passed = self.four_fifths().passed
        out["four_fifths_rule_passed"] = passed
        return out

    # ------------------------------------------------------------------ reference group and four-fifths
    def relative_to(self, reference, metrics: tuple[str, ...] | list[str] | None = None) -> pd.DataFrame:
        """Each group's metrics against a reference group: difference and ratio with score intervals.

        Differences carry Newcombe's hybrid score interval and ratios Katz's log interval (see
        :meth:`compare`).

        Parameters
        ----------
        reference : group key, label or description
            For example ``"F"``, ``("F", "25-45")``, ``"F · 25-45"`` or ``"sex=F, age_group=25-45"``.
        metrics : sequence of str, optional
            Rate metrics to compare (all of ``audits.METRICS`` by default).

        Returns
        -------
        pandas.DataFrame
            One row per (group, metric), with columns group, metric, value, reference_value, difference,
            difference_low, difference_high, ratio, ratio_low, ratio_high, distinguishable (the difference
            interval excludes 0).
        """
        ref = self._position(reference)
        names = list(metrics) if metrics is not None else list(RATE_NAMES)
        for name in names:
            if name not in RATE_NAMES:
                raise AuditError(UNKNOWN_METRIC.format(name=name, names=", ".join(RATE_NAMES)))
        rows = []
        for name in names:
            col = self.by_group[name].to_numpy()
            num, den = (m[:, RATE_NAMES.index(name)] for m in self._num_den)
            diff_lo, diff_hi = newcombe_difference(num, den, num[ref], den[ref], self.confidence)
            ratio_lo, ratio_hi = katz_ratio(num, den, num[ref], den[ref], self.confidence)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = col / col[ref] if col[ref] > 0 else np.full(len(col), np.nan)
            for g in range(len(col)):
                rows.append({"group": self.labels[g], "metric": name, "value": col[g],
                             "reference_value": col[ref], "difference": col[g] - col[ref],
                             "difference_low": diff_lo[g], "difference_high": diff_hi[g],
                             "ratio": ratio[g], "ratio_low": ratio_lo[g], "ratio_high": ratio_hi[g],
                             "distinguishable": bool(g != ref and (diff_lo[g] > 0 or diff_hi[g] < 0))})
        return pd.DataFrame(rows)

    def four_fifths(self, reference=None, threshold: float | None = None) -> FourFifths:
        """Apply the four-fifths rule to selection rates of every group and say the verdict in plain words.

        Each group's selection rate is divided by the reference group's (by default the highest selection
        rate, as in the US Uniform Guidelines); the rule is met when no ratio falls below ``threshold``
        (``four_fifths_threshold`` by default). The headline verdict, on adequate groups only, is
        ``headline().four_fifths``.
        """
        threshold = self.four_fifths_threshold if threshold is None else float(threshold)
        rate = self.by_group["selection_rate"].to_numpy()
        ref = int(np.argmax(rate)) if reference is None else self._position(reference)
        rel = self.relative_to(ref, ["selection_rate"])
        ratios = pd.DataFrame({"selection_rate": rate, "ratio": rel["ratio"].to_numpy(),
                               "low": rel["ratio_low"].to_numpy(), "high": rel["ratio_high"].to_numpy(),
                               "n": self._rows, "small": self._rows < self.min_group_size},
                              index=pd.Index(self.labels, name="group"))
        ref_label, ref_rate = self.describe(ref), float(rate[ref])
        if ref_rate <= 0:
            sentence = (f"The four-fifths rule cannot be applied: the reference group {ref_label} has no "
                        "positive predictions.")
            return FourFifths(None, threshold, ref_label, ref_rate, ratios, sentence)
        failing = [g for g in range(len(rate)) if g != ref and ratios["ratio"].iloc[g] < threshold]
        whom = "the highest selection rate" if reference is None else "the reference group"
        if not failing:
            others = [g for g in range(len(rate)) if g != ref]
            low = min(others, key=lambda g: ratios["ratio"].iloc[g]) if others else ref
            sentence = (f"The four-fifths rule is met: every group is selected at {threshold:.0%} or more of "
                        f"the rate of {ref_label} ({whom}, {ref_rate:.1%}); the lowest is "
                        f"{self.describe(low)} at {rate[low]:.1%}, a ratio of "
                        f"{ratios['ratio'].iloc[low]:.2f}.")
            return FourFifths(True, threshold, ref_label, ref_rate, ratios, sentence)
        worst = min(failing, key=lambda g: ratios["ratio"].iloc[g])
        r = ratios.iloc[worst]
        sentence = (f"The four-fifths rule is not met: {self.describe(worst)} is selected at "
                    f"{r['selection_rate']:.1%}, {r['ratio']:.2f} times the rate of {ref_label} ({whom}, "
                    f"{ref_rate:.1%}), below {threshold:.2f}")
        if len(failing) > 1:
            sentence += f"; {len(failing) - 1} other group{'s are' if len(failing) > 2 else ' is'} below too"
        if np.isfinite(r["high"]):
            chance = ("entirely below the line" if r["high"] < threshold
                      else f"which reaches {threshold:.2f}, so the shortfall may be chance")
            sentence += (f". Its {self.confidence:.0%} interval is {r['low']:.2f} to "
                         f"{r['high']:.2f}, {chance}")
        if r["small"] or ratios["small"].iloc[ref]:
            sentence += (f"; a group with fewer than {self.min_group_size:,} rows is involved, so treat "
                         "it as indicative")
        return FourFifths(False, threshold, ref_label, ref_rate, ratios, sentence + ".")

    # ------------------------------------------------------------------ headline and decision rule
    def headline(self, include_small_groups: bool | None = None):
        """Return the verdicts on adequate groups (``audits._headline.Headline``).

        The four-fifths verdict and the summary disparities over the groups with at least
        ``min_group_size`` rows and the counts each disparity needs; the groups left out are listed with
        their sizes and rates. ``include_small_groups`` (default: the field of the same name) puts the
        small groups back.
        """
        from glasswing.audits._headline import headline

        if include_small_groups is None or include_small_groups == self.include_small_groups:
            return self._headline
        return headline(self, include_small_groups)

    @cached_property
    def _headline(self):
        from glasswing.audits._headline import headline

        return headline(self)

    @property
    def confusion(self) -> pd.DataFrame:
        """Confusion counts per group (TP, FP, FN, TN and n), in ``by_group`` order, labelled."""
        frame = self.counts.loc[:, ["tp", "fp", "fn", "tn", "n"]].copy()
        frame.index = pd.Index(self.labels, name=" · ".join(self.sensitive_names))
        return frame.rename(columns={"tp": "TP", "fp": "FP", "fn": "FN", "tn": "TN"})

    def decision_rule(self) -> dict:
        """Return the decision rule audited, stated once for the page, the PDF, the HTML and the JSON.

        Keys: favourable and positive_label (the label counted as positive, the outcome being "selected";
        whether that is good for the person is what ``selected`` says in the user's words), threshold (or
        None), rule (in words), source, label_map (target values mapped onto a model's classes), grouping
        (bands and merges), accuracy and auc overall, and confusion (TP, FP, FN, TN per group).
        """
        d = self.decision or {}
        score = d.get("score")
        if self.threshold is not None:
            rule = f"{score or 'the score'} >= {self.threshold:g} is predicted {self.pos_label!r}"
        else:
            rule = f"the predicted label {self.pos_label!r} counts as selected"
        selected = d.get("selected") or f"predicted {self.pos_label!r}"
        auc = self.overall.get("auc") if self.overall_scores is not None else None
        return json_safe({
            "favourable": self.pos_label, "positive_label": self.pos_label, "threshold": self.threshold,
            "rule": rule,
            "source": d.get("source") or "", "selected": selected, "score": score,
            "label_map": d.get("label_map"), "grouping": d.get("grouping"),
            "accuracy": float(self.overall["accuracy"]), "auc": auc,
            "confusion": [{"group": label, **{k: int(round(v)) for k, v in row.items()}}
                          for label, row in self.confusion.iterrows()],
        })

    # ------------------------------------------------------------------ warnings and findings
    @property
    def small_groups(self) -> pd.DataFrame:
        """The groups with fewer than ``min_group_size`` rows (their rows of ``counts``)."""
        return self.counts[self.counts["n"] < self.min_group_size]

    @cached_property
    def warnings(self) -> list[str]:
        """Sentences an auditor must read: small groups (with the threshold), undefined rates, input notes."""
        out = list(self.notes)
        und = self.undefined
        for g in range(len(self.counts)):
            who = self.describe(g)
            if self._rows[g] < self.min_group_size:
                out.append(SMALL_GROUP.format(group=who, n=int(self._rows[g]), minimum=self.min_group_size))
            if und["true_positive_rate"].iloc[g]:
                out.append(NO_POSITIVES.format(group=who))
            if und["false_positive_rate"].iloc[g]:
                out.append(NO_NEGATIVES.format(group=who))
            if und["precision"].iloc[g]:
                out.append(NO_SELECTED.format(group=who))
        return out

    def findings(self, method: Method = "between_groups") -> list[str]:
        """Say the audit in plain words: the headline four-fifths verdict, then each headline disparity.

        Both on adequate groups (:meth:`headline`); the groups left out are named in the first sentence.
        """
        head = self.headline()
        out = [head.sentence]
        table = head.disparities if method == "between_groups" else self.disparities(method)
        for name in ("demographic_parity_difference", "equalized_odds_difference",
                     "equal_opportunity_difference", "predictive_parity_difference"):
            words = name.replace("_", " ").capitalize()
            if name not in table.index or not np.isfinite(table.loc[name, "value"]):
                out.append(f"{words} is undefined: {TOO_FEW} with the counts it needs.")
                continue
            row = table.loc[name]
            span = f"{self.confidence:.0%} interval {interval_text(row['low'], row['high'])}"
            between = " and ".join(row["groups"])
            if row["distinguishable"]:
                out.append(f"{words} is {row['value']:.3f} ({span}), between {between}.")
            else:
                out.append(f"{words} is {row['value']:.3f} but not distinguishable from zero ({span}).")
        return out

    # ------------------------------------------------------------------ export
    def to_dict(self) -> dict:
        """JSON-safe dictionary: ``{"overall": {...}, "by_group": [...], "summary": {...}}`` and more.

        ``by_group`` entries are ``{"group": {"sex": "F"}, "n": ..., "selection_rate": ..., ...,
        "intervals": {"selection_rate": [low, high], ...}}``. Also ``disparities`` (with intervals),
        ``four_fifths``, ``warnings`` and ``settings``. NaN becomes ``None`` (``null``).
        """
        overall = {k: _python(v) for k, v in self.overall.items()}
        overall["n"] = int(self._rows.sum())
        by_group = []
        iv = self.intervals
        for g, (key, row) in enumerate(self.by_group.iterrows()):
            entry = {"group": {n: _python(v) for n, v in zip(self.sensitive_names, _key(key), strict=True)},
                     "n": int(row["n"])}
            entry.update({m: _python(row[m]) for m in self.metrics})
            entry["intervals"] = {m: [_python(iv[(m, "low")].iloc[g]), _python(iv[(m, "high")].iloc[g])]
                                  for m in RATE_NAMES}
            entry["small"] = bool(self._rows[g] < self.min_group_size)
            entry["label"] = self.labels[g]
            entry["confusion"] = {c: _python(float(self.counts[c].iloc[g]))
                                  for c in ("tp", "fp", "fn", "tn")}
            by_group.append(entry)
        disp = self.disparities()
        ff = self.four_fifths()
        return {
            "overall": overall,
            "by_group": by_group,
            "summary": {k: _python(v) for k, v in self.summary().items()},
            "disparities": [{"name": name, **{k: _python(v) if not isinstance(v, list) else v
                                              for k, v in row.items()}} for name, row in disp.iterrows()],
            "disparity_table": self._verdict_rows(),
            "four_fifths": {"passed": ff.passed, "threshold": ff.threshold, "reference": ff.reference,
                            "sentence": ff.sentence, "context": FOUR_FIFTHS_CONTEXT},
            "headline": self.headline().to_dict(self.confidence),
            "decision_rule": self.decision_rule(),
            "warnings": list(self.warnings),
            "settings": {"sensitive": list(self.sensitive_names), "pos_label": _python(self.pos_label),
                         "threshold": self.threshold, "min_group_size": self.min_group_size,
                         "confidence": self.confidence, "n_boot": self.n_boot, "seed": self.seed,
                         "four_fifths_threshold": self.four_fifths_threshold,
                         "include_small_groups": self.include_small_groups,
                         "intervals": ("Wilson (rates), Newcombe hybrid score (differences), "
                                       "Katz log (ratios)")},
        }

    def _repr_html_(self) -> str:
        """Notebook display: decision rule, headline verdicts, groups and charts (``reports._notebook``)."""
        from glasswing.reports._notebook import audit_html

        return audit_html(self)

    def table(self, metrics: tuple[str, ...] | list[str] | None = None, digits: int = 3) -> pd.DataFrame:
        """Return a display table: a row per group, each rate with its interval ``"0.412 (0.371-0.455)"``.

        An undefined rate (no rows in its denominator) reads ``"undefined"``, never a number.
        """
        names = list(metrics) if metrics is not None else list(self.metrics)
        frame = pd.DataFrame(index=pd.Index(self.labels, name=" · ".join(self.sensitive_names)))
        frame["n"] = self._rows
        iv = self.intervals
        for name in names:
            if name not in self.by_group.columns:
                raise AuditError(UNKNOWN_METRIC.format(name=name, names=", ".join(self.metrics)))
            col = self.by_group[name].to_numpy()
            if name in RATE_NAMES:
                lo, hi = iv[(name, "low")].to_numpy(), iv[(name, "high")].to_numpy()
                und = self.undefined[name].to_numpy()
                frame[label(name)] = ["undefined" if u else f"{v:.{digits}f} ({a:.{digits}f}-{b:.{digits}f})"
                                      for v, a, b, u in zip(col, lo, hi, und, strict=True)]
            else:
                frame[label(name)] = ["n/a" if not np.isfinite(v) else f"{v:.{digits}f}" for v in col]
        frame["small"] = self._rows < self.min_group_size
        return frame


def _key(k) -> tuple:
    return k if isinstance(k, tuple) else (k,)


def _sub_one(x):
    return np.where(x > 1, 1 / x, x)
