"""Recourse burden by group: how much each group must change to get the favourable decision.

Sharma, Henderson and Ghosh, "CERTIFAI: A common framework to provide explanations and analyse the fairness
and robustness of black-box models" (AIES 2020) define a group's *burden* as the average distance from its
members with an unfavourable decision to their closest counterfactual. A model can pass demographic parity
and still ask far more change of one group than of another.

Here the counterfactual is the cheapest one ``explainers.counterfactuals`` finds (Growing Spheres, checked by
the model) and the distance is the normalised L1 distance it reports (``_counterfactual.DISTANCE``).
Intervals: a seeded bootstrap of the rows within each group (percentile intervals of the mean); the headline
compares the groups with the most and the least burden among groups with at least ``min_group_size`` rows
with a counterfactual, by their ratio with a bootstrap interval from the same resamples. Rows for which no
counterfactual was found within the constraints are counted and listed per group, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from glasswing._plain import json_safe, plain
from glasswing.audits._table import group_label
from glasswing.audits._validate import AuditError

NO_UNFAVOURABLE = ("No row gets an unfavourable decision ({favourable!r} is the favourable outcome), so "
                   "there is no recourse to measure.")
NO_COUNTERFACTUAL = ("No counterfactual was found for any of the {n:,} rows with an unfavourable decision; "
                     "free more features or widen the ranges.")
FAVOURABLE_NOT_A_CLASS = ("The favourable outcome {favourable!r} is not a class of the model; its classes "
                          "are: {classes}.")
NOT_TABULAR = ("The recourse burden needs counterfactuals, and {name} is an {modality} model; load a tabular "
               "model.")
LENGTHS = "There are {n_costs:,} costs but {n_groups:,} group values; give one group value per row."
TOO_FEW = ("Fewer than two groups have {minimum:,} or more rows with a counterfactual, so no group is "
           "compared in the headline; the table shows every group.")
MORE = ("{high} needs on average {ratio:.2f} times as much change as {low} to get the favourable "
        "decision ({level:.0%} bootstrap interval {lo:.2f} to {hi:.2f}).")
NO_CLEAR = ("{high} needs on average {ratio:.2f} times as much change as {low}, but the {level:.0%} "
            "bootstrap interval ({lo:.2f} to {hi:.2f}) includes 1: no clear difference in burden.")


@dataclass(frozen=True, eq=False)
class RecourseBurden:
    """The average cost of the cheapest counterfactual per group, with bootstrap intervals.

    Attributes
    ----------
    by_group : pandas.DataFrame
        Indexed by group label: ``n_unfavourable``, ``n_found``, ``n_not_found``, ``burden`` (mean distance
        over the rows with a counterfactual), ``low``, ``high`` (the bootstrap interval), ``small``.
    overall : dict
        The same over every row with an unfavourable decision.
    headline : dict
        ``high``, ``low`` (group labels), ``ratio``, ``ratio_low``, ``ratio_high``, ``difference``,
        ``difference_low``, ``difference_high``, ``clear`` (the ratio interval excludes 1), ``groups`` (those
        compared) and ``left_out`` (the small ones); empty when fewer than two groups qualify.
    """

    by_group: pd.DataFrame
    overall: dict
    headline: dict
    sensitive: tuple[str, ...]
    distance: str
    favourable: Any = None
    constraints: str = ""
    n_boot: int = 1000
    seed: int = 0
    confidence: float = 0.95
    min_group_size: int = 30
    notes: tuple[str, ...] = ()

    @property
    def sentence(self) -> str:
        """The headline in plain words (or why there is none)."""
        h = self.headline
        if not h:
            return TOO_FEW.format(minimum=self.min_group_size)
        text = MORE if h["clear"] else NO_CLEAR
        return text.format(high=h["high"], low=h["low"], ratio=h["ratio"], lo=h["ratio_low"],
                           hi=h["ratio_high"], level=self.confidence)

    @property
    def method(self) -> str:
        """How the intervals were computed, in one sentence."""
        return (f"Bootstrap: {self.n_boot:,} resamples of the rows within each group (seed {self.seed}), "
                f"{self.confidence:.0%} percentile intervals; the headline compares groups with at least "
                f"{self.min_group_size:,} rows with a counterfactual.")

    def table(self, digits: int = 3) -> pd.DataFrame:
        """Return the per-group table for display: counts, burden and its interval, small groups flagged."""
        t = self.by_group.copy()
        for column in ("burden", "low", "high"):
            t[column] = t[column].round(digits)
        t.index.name = "group"
        return t.reset_index()

    def to_dict(self) -> dict:
        """Return the burden as JSON-safe data (the report and ``--json`` carry it)."""
        groups = [{"group": str(g), **{k: plain(v) for k, v in row.items()}}
                  for g, row in self.by_group.iterrows()]
        return json_safe({"sensitive": list(self.sensitive), "favourable": plain(self.favourable),
                          "distance": self.distance, "constraints": self.constraints, "method": self.method,
                          "sentence": self.sentence, "by_group": groups, "overall": self.overall,
                          "headline": self.headline, "n_boot": self.n_boot, "seed": self.seed,
                          "confidence": self.confidence, "min_group_size": self.min_group_size,
                          "notes": list(self.notes)})


def recourse_burden(costs: Sequence[float], sensitive_features: Any, *, n_boot: int = 1000, seed: int = 0,
                    confidence: float = 0.95, min_group_size: int = 30, favourable: Any = None,
                    distance: str = "", constraints: str = "", notes: Sequence[str] = ()) -> RecourseBurden:
    """Average the cost of each row's cheapest counterfactual per group, with bootstrap intervals.

    Parameters
    ----------
    costs : sequence of float
        One per row with an unfavourable decision: the distance to its cheapest counterfactual (NaN where
        none was found).
    sensitive_features : array-like, Series or DataFrame
        The group of each row (several columns: their intersection).
    n_boot : int, default 1000
        Bootstrap resamples (of the rows within each group).
    seed : int, default 0
        Seed of the bootstrap.
    confidence : float, default 0.95
        Level of the percentile intervals.
    min_group_size : int, default 30
        Groups with fewer rows with a counterfactual are left out of the headline (and listed).
    favourable, distance, constraints, notes
        What the burden is about, stated in the result.

    Returns
    -------
    RecourseBurden

    Examples
    --------
    >>> b = recourse_burden([1.0, 1.2, 0.8, 3.0, 2.5, 3.5], ["F", "F", "F", "M", "M", "M"], min_group_size=3)
    >>> b.by_group["burden"].round(2).tolist(), b.headline["high"], round(b.headline["ratio"], 2)
    ([1.0, 3.0], 'M', 3.0)
    """
    costs = np.asarray(costs, dtype=float)
    sf = sensitive_features if isinstance(sensitive_features, pd.DataFrame) else \
        pd.DataFrame({getattr(sensitive_features, "name", None) or "group": np.asarray(sensitive_features)})
    if len(sf) != len(costs):
        raise AuditError(LENGTHS.format(n_costs=len(costs), n_groups=len(sf)))
    labels = np.array([group_label(tuple(r)) for r in sf.astype(object).itertuples(index=False, name=None)],
                      dtype=object)
    rng = np.random.default_rng(seed)
    tail = (1 - confidence) / 2
    found = ~np.isnan(costs)
    rows, replicates = [], {}
    for g in sorted(pd.unique(labels).tolist(), key=str):
        mine = costs[(labels == g) & found]
        n = len(mine)
        if n:
            means = mine[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
            replicates[g] = means
            low, high = np.quantile(means, [tail, 1 - tail])
        else:
            low = high = np.nan
        rows.append({"group": g, "n_unfavourable": int((labels == g).sum()), "n_found": n,
                     "n_not_found": int(((labels == g) & ~found).sum()),
                     "burden": float(mine.mean()) if n else np.nan, "low": float(low), "high": float(high),
                     "small": n < min_group_size})
    by_group = pd.DataFrame(rows).set_index("group")
    every = costs[found]
    overall = {"n_unfavourable": len(costs), "n_found": int(found.sum()),
               "n_not_found": int((~found).sum()), "burden": float(every.mean()) if len(every) else None}
    headline = _headline(by_group, replicates, tail)
    return RecourseBurden(by_group, overall, headline, tuple(map(str, sf.columns)), distance,
                          plain(favourable), constraints, int(n_boot), int(seed), float(confidence),
                          int(min_group_size), tuple(notes))


def _headline(by_group: pd.DataFrame, replicates: dict, tail: float) -> dict:
    """Compare the most and the least burdened adequate groups (ratio and difference, bootstrap intervals)."""
    adequate = by_group[~by_group["small"] & (by_group["n_found"] > 0)]
    if len(adequate) < 2:
        return {}
    high, low = adequate["burden"].idxmax(), adequate["burden"].idxmin()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = replicates[high] / replicates[low]
    diffs = replicates[high] - replicates[low]
    r_lo, r_hi = np.nanquantile(ratios, [tail, 1 - tail]) if np.isfinite(ratios).any() else (np.nan, np.nan)
    d_lo, d_hi = np.quantile(diffs, [tail, 1 - tail])
    point_low = by_group.at[low, "burden"]
    ratio = by_group.at[high, "burden"] / point_low if point_low > 0 else np.inf
    return {"high": str(high), "low": str(low), "ratio": float(ratio), "ratio_low": float(r_lo),
            "ratio_high": float(r_hi), "difference": float(by_group.at[high, "burden"] - point_low),
            "difference_low": float(d_lo), "difference_high": float(d_hi), "clear": bool(r_lo > 1),
            "groups": [str(g) for g in adequate.index],
            "left_out": [str(g) for g in by_group.index if g not in adequate.index]}


def recourse_burden_of(model: Any, dataset: Any, *, sensitive: Sequence[str] | None = None,
                       favourable: Any = None, rows: Sequence[int] | None = None,
                       immutable: Sequence[str] | None = None, increase_only: Sequence[str] = (),
                       ranges: Mapping[str, tuple[float, float]] | None = None,
                       threshold: float | None = None,
                       bins: Mapping | None = None, merge_below: int = 0, n_samples: int = 300,
                       n_boot: int = 1000, seed: int = 0, confidence: float = 0.95, min_group_size: int = 30,
                       costs: Sequence[float] | None = None,
                       progress: Callable[[int, int], None] | None = None) -> RecourseBurden:
    """Return the recourse burden of ``model`` on ``dataset``: every unfavourable row's counterfactual.

    Parameters
    ----------
    model : ingest.Model
        A tabular model.
    dataset : ingest.Dataset
        The rows; its feature rows are also the reference for each feature's MAD, range and categories.
    sensitive : sequence of str, optional
        The group columns (default the dataset's sensitive role); numeric ones are banded by the one rule
        (``ingest.group_frame``: ``bins``, else quartiles).
    bins, merge_below
        Cut points of numeric sensitive columns, and the size below which categories merge into "other".
    favourable : object, optional
        The favourable class (default the dataset's positive label).
    rows : sequence of int, optional
        Positions of the rows to consider (default all).
    immutable : sequence of str, optional
        Features that never change (default: the sensitive columns that are features).
    increase_only, ranges, threshold, n_samples, seed
        As for ``explainers.counterfactuals`` (one counterfactual per row: the cheapest found).
    n_boot, confidence, min_group_size
        As for :func:`recourse_burden`.
    costs : sequence of float, optional
        The distances already computed for the unfavourable rows, in order (the dashboard computes them in
        cached chunks with a progress bar); skips the search.
    progress : callable, optional
        Called with ``(rows done, rows)`` during the search.

    Returns
    -------
    RecourseBurden

    Raises
    ------
    AuditError
        When no row gets an unfavourable decision, no counterfactual is found at all, or the favourable
        outcome is not a class of the model.
    """
    chosen = recourse_rows(model, dataset, sensitive=sensitive, favourable=favourable, rows=rows,
                           immutable=immutable, threshold=threshold, bins=bins, merge_below=merge_below)
    favourable, immutable = chosen.favourable, chosen.immutable
    if costs is None:
        from glasswing import explainers

        found = explainers.counterfactuals(model, chosen.frame.loc[:, chosen.features],
                                           reference=dataset.frame, count=1, desired=favourable,
                                           immutable=immutable,
                                           increase_only=increase_only, ranges=ranges, threshold=threshold,
                                           n_samples=n_samples, seed=seed, progress=progress)
        costs = [f.cheapest for f in found]
    costs = np.asarray(costs, dtype=float)
    if np.isnan(costs).all():
        raise AuditError(NO_COUNTERFACTUAL.format(n=len(costs)))
    from glasswing.explainers._counterfactual import DISTANCE, Constraints

    said = Constraints(tuple(immutable), tuple(increase_only), dict(ranges or {})).describe()
    return recourse_burden(costs, chosen.groups, n_boot=n_boot, seed=seed, confidence=confidence,
                           min_group_size=min_group_size, favourable=favourable, distance=DISTANCE,
                           constraints=said, notes=chosen.notes)


class RecourseRows(NamedTuple):
    """The rows with an unfavourable decision, and what the burden needs to know about them."""

    frame: pd.DataFrame  # the rows (every column)
    groups: pd.DataFrame  # their groups (banded, merged), one column per sensitive feature
    features: list  # the model's features
    notes: tuple  # how the groups were formed
    favourable: Any
    immutable: list
    positions: np.ndarray  # positions of the rows in the dataset


def recourse_rows(model: Any, dataset: Any, *, sensitive: Sequence[str] | None = None, favourable: Any = None,
                  rows: Sequence[int] | None = None, immutable: Sequence[str] | None = None,
                  threshold: float | None = None, bins: Mapping | None = None,
                  merge_below: int = 0) -> RecourseRows:
    """Return the rows of ``dataset`` the model decides unfavourably, with their groups.

    Arguments as for :func:`recourse_burden_of`.
    """
    from glasswing.ingest import group_frame

    if model.modality != "tabular":
        raise AuditError(NOT_TABULAR.format(name=model.name, modality=model.modality))
    classes = list(model.classes_)
    favourable = dataset.positive_label if favourable is None else favourable
    if favourable is None:  # no target to say which: the larger label, as Dataset.positive_label does
        favourable = sorted(classes, key=str)[-1]
    matches = [c for c in classes if c == favourable or str(c) == str(favourable)]
    if not matches:
        raise AuditError(FAVOURABLE_NOT_A_CLASS.format(favourable=favourable,
                                                       classes=", ".join(repr(plain(c)) for c in classes)))
    favourable = plain(matches[0])
    sensitive = list(sensitive if sensitive is not None else dataset.roles.sensitive)
    features = list(model.feature_names) if model.feature_names else list(dataset.roles.features)
    chosen = np.arange(len(dataset.frame)) if rows is None else np.asarray(list(rows), dtype=int)
    proba = model.predict_proba(dataset.frame.iloc[chosen].loc[:, features])
    k = classes.index(favourable)
    decided = proba[:, k] >= threshold if threshold is not None and len(classes) == 2 else \
        proba.argmax(axis=1) == k
    positions = chosen[~decided]
    if not len(positions):
        raise AuditError(NO_UNFAVOURABLE.format(favourable=favourable))
    groups, rule = group_frame(dataset.frame, sensitive, bins, merge_below=merge_below)
    immutable = [c for c in sensitive if c in features] if immutable is None else list(immutable)
    return RecourseRows(dataset.frame.iloc[positions], groups.iloc[positions], features, tuple(rule.notes),
                        favourable, immutable, positions)
