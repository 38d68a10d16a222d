"""Uncertainty for audits: Wilson score intervals for rates, a seeded bootstrap for disparities.

Both work on per-group confusion counts, so they cost the same at a thousand rows or a billion.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile for ``confidence`` (1.959964... for 0.95)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(successes, trials, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion ``successes / trials`` (Wilson 1927; Newcombe 1998, method 3).

    Parameters
    ----------
    successes, trials : array-like
        Counts (weighted counts are accepted; they are used as they are).
    confidence : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    (low, high) : tuple of numpy.ndarray
        Where ``trials`` is 0 the rate is undefined and the interval is the whole range, (0, 1).

    Examples
    --------
    >>> lo, hi = wilson_interval(81, 263)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.2553, 0.3662)
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = z_value(confidence)
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    empty = ~(n > 0)
    lo = np.where(empty, 0.0, np.clip(centre - half, 0.0, 1.0))
    hi = np.where(empty, 1.0, np.clip(centre + half, 0.0, 1.0))
    # At p = 0 and p = 1 the closed form is exact; remove rounding noise there.
    lo = np.where((x <= 0) & ~empty, 0.0, lo)
    hi = np.where((x >= n) & ~empty, 1.0, hi)
    return lo, hi


def bootstrap_cells(cells: np.ndarray, rows: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Resample per-group confusion cells: a stratified bootstrap, vectorised as multinomial draws.

    Drawing ``rows[g]`` rows with replacement from group ``g`` and counting its four confusion cells is a
    multinomial draw with the group's cell proportions, so the bootstrap never touches the rows themselves.
    Group sizes stay fixed (the groups are the strata). With sample weights the cell proportions are the
    weighted ones and each replicate is scaled back to the group's total weight; this treats the weights
    within a cell as equal (an approximation).

    Parameters
    ----------
    cells : numpy.ndarray, shape (G, 4)
        Weighted counts per group in the order (tn, fp, fn, tp).
    rows : numpy.ndarray, shape (G,)
        Number of rows per group.
    n_boot : int
        Number of replicates.
    seed : int
        Seed for ``numpy.random.default_rng``; the same inputs and seed give the same replicates.

    Returns
    -------
    numpy.ndarray, shape (n_boot, G, 4)
    """
    cells = np.asarray(cells, dtype=float)
    rows = np.asarray(rows, dtype=np.int64)
    totals = cells.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pvals = np.where(totals[:, None] > 0, cells / totals[:, None], 0.25)
    pvals = pvals / pvals.sum(axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(rows, pvals, size=(n_boot, len(rows))).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(rows > 0, totals / rows, 0.0)
    return draws * scale[None, :, None]


def percentile_interval(replicates: np.ndarray, confidence: float = 0.95, axis: int = 0):
    """Percentile bootstrap interval along ``axis`` (NaN replicates are ignored; all-NaN gives NaN)."""
    alpha = (1.0 - confidence) / 2.0
    reps = np.asarray(replicates, dtype=float)
    finite = np.isfinite(reps)
    if finite.all():
        lo, hi = np.quantile(reps, [alpha, 1 - alpha], axis=axis)
        return lo, hi
    out_shape = np.delete(np.array(reps.shape), axis)
    if not finite.any():
        nan = np.full(tuple(out_shape), np.nan)
        return nan, nan.copy()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN, which is what we want
        lo, hi = np.nanquantile(reps, [alpha, 1 - alpha], axis=axis)
    return lo, hi
