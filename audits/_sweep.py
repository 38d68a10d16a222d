"""``ThresholdSweep``: the audit of any view of the groups at any decision threshold, from counts only.

The confusion counts of every group of the intersection at every threshold are computed once (one pass
over the rows, ``threshold_cells``); a view (one sensitive feature alone) sums them into its marginals,
because counts add up. ``sweep.audit(view, threshold)`` is then the full ``GroupMetrics`` without touching
the rows again: what makes the dashboard's threshold slider instant on a million rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from glasswing.audits._metrics import group_metrics_views, threshold_sweep
from glasswing.audits._result import GroupMetrics

UNIT_GRID = np.round(np.arange(101) / 100, 2)
MAX_GRID = 201


def threshold_grid(score) -> np.ndarray:
    """Thresholds to sweep for these scores: 0.00..1.00 for scores in [0, 1], else the score's own range.

    Integer scores with few values (a decile score) sweep every value; any other range 201 evenly spaced
    points from the smallest to the largest score, rounded to 4 significant digits.

    Examples
    --------
    >>> threshold_grid([1, 5, 10, 3]).tolist()
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    >>> len(threshold_grid([0.1, 0.7]))
    101
    """
    s = np.asarray(score, dtype=float)
    s = s[np.isfinite(s)]
    if len(s) == 0 or (s.min() >= 0 and s.max() <= 1):
        return UNIT_GRID.copy()
    lo, hi = float(s.min()), float(s.max())
    if np.all(s == np.round(s)) and hi - lo + 1 <= MAX_GRID:
        return np.arange(lo, hi + 1.0)
    grid = np.linspace(lo, hi, MAX_GRID)
    return np.array([float(f"{t:.4g}") for t in grid])


@dataclass(frozen=True, eq=False)
class ThresholdSweep:
    """Counts of every group at every threshold, and the threshold-free score metrics of every view.

    Build it with :meth:`from_scores`. Attributes: ``counts`` (indexed by threshold and the sensitive
    columns, columns tn, fp, fn, tp, n), ``views`` (the groupings: the intersection, then each feature
    alone), ``thresholds`` (the grid), and per view the score metrics and group order (``_parts``).
    """

    counts: pd.DataFrame
    views: tuple[tuple[str, ...], ...]
    thresholds: np.ndarray
    _parts: dict
    notes: tuple[str, ...] = ()

    @classmethod
    def from_scores(cls, y_true, y_score, sensitive_features, *, thresholds=None, pos_label=None,
                    sample_weight=None) -> ThresholdSweep:
        """Count every group at every threshold (``score >= t`` is positive) and score every view.

        Parameters
        ----------
        y_true, y_score, sensitive_features, pos_label, sample_weight
            As for :func:`audits.group_metrics`.
        thresholds : array-like, optional
            The grid; :func:`threshold_grid` of the scores by default.

        Examples
        --------
        >>> sweep = ThresholdSweep.from_scores([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6], {"g": list("aabb")})
        >>> sweep.audit(("g",), 0.5).by_group["selection_rate"].tolist()
        [0.5, 0.5]
        """
        grid = threshold_grid(y_score) if thresholds is None else np.asarray(thresholds, dtype=float)
        views = group_metrics_views(y_true, None, sensitive_features, y_score=y_score,
                                    threshold=float(grid[0]), pos_label=pos_label,
                                    sample_weight=sample_weight, n_boot=1)
        counts = threshold_sweep(y_true, y_score, sensitive_features, grid, pos_label=pos_label,
                                 sample_weight=sample_weight)
        parts = {view: {"index": gm.counts.index, "group_scores": gm.group_scores,
                        "overall_scores": gm.overall_scores, "reliability": gm.reliability,
                        "pos_label": gm.pos_label, "notes": gm.notes} for view, gm in views.items()}
        first = next(iter(views.values()))
        return cls(counts, tuple(views), grid, parts, first.notes)

    def nearest(self, threshold: float) -> float:
        """Return the grid threshold closest to ``threshold``."""
        return float(self.thresholds[int(np.argmin(np.abs(self.thresholds - float(threshold))))])

    def view_counts(self, view: tuple[str, ...] | None = None) -> pd.DataFrame:
        """Return the counts of ``view``'s groups at every threshold (the intersection's, summed)."""
        view = self.views[0] if view is None else tuple(view)
        if view == self.views[0]:
            return self.counts
        summed = self.counts.groupby(level=["threshold", *view], sort=False).sum()
        keys = [k if isinstance(k, tuple) else (k,) for k in self._parts[view]["index"]]
        order = pd.MultiIndex.from_tuples([(t, *k) for t in self.thresholds for k in keys],
                                          names=summed.index.names)
        return summed.reindex(order)

    def audit(self, view: tuple[str, ...] | None = None, threshold: float = 0.5, **options) -> GroupMetrics:
        """Return the full audit of ``view`` at the grid threshold nearest ``threshold``.

        ``options`` are any other ``GroupMetrics`` fields (min_group_size, confidence, ...).
        """
        view = self.views[0] if view is None else tuple(view)
        t = self.nearest(threshold)
        counts = self.view_counts(view).xs(t, level="threshold")
        parts = {k: v for k, v in self._parts[view].items() if k not in ("index", "notes")}
        return GroupMetrics.from_counts(counts, threshold=t, notes=self._parts[view]["notes"],
                                        **parts, **options)
