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


def newcombe_difference(x1, n1, x2, n2, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval for a difference of proportions ``x1/n1 - x2/n2``.

    Method 10 of Newcombe (1998), "Interval estimation for the difference between independent
    proportions", Statistics in Medicine 17: each rate's Wilson interval (l, u) gives
    ``d - sqrt((p1 - l1)**2 + (u2 - p2)**2)`` to ``d + sqrt((u1 - p1)**2 + (p2 - l2)**2)``. It keeps its
    coverage at zero counts, where a percentile bootstrap collapses to a point.

    Returns
    -------
    (low, high) : tuple of numpy.ndarray
        NaN where either rate is undefined (``n == 0``).

    Examples
    --------
    >>> lo, hi = newcombe_difference(56, 70, 48, 80)  # Newcombe's example 1: 0.0524 to 0.3339
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.0524, 0.3339)
    """
    x1, n1, x2, n2 = (np.asarray(v, dtype=float) for v in (x1, n1, x2, n2))
    l1, u1 = wilson_interval(x1, n1, confidence)
    l2, u2 = wilson_interval(x2, n2, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    lo = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    undefined = ~((n1 > 0) & (n2 > 0))
    return (np.where(undefined, np.nan, np.clip(lo, -1.0, 1.0)),
            np.where(undefined, np.nan, np.clip(hi, -1.0, 1.0)))


def katz_ratio(x1, n1, x2, n2, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Katz's log interval for a ratio of proportions ``(x1/n1) / (x2/n2)``, with the usual 0.5 correction.

    ``exp(log(r) +- z * sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2))`` (Katz et al. 1978); where a count is 0 (or
    equals its total), 0.5 is added to every cell of the 2 x 2 table (``x + 0.5`` of ``n + 1``), so the
    interval stays finite and honest at zero counts instead of collapsing to a point.

    Returns
    -------
    (low, high) : tuple of numpy.ndarray
        NaN where either rate is undefined (``n == 0``).

    Examples
    --------
    >>> lo, hi = katz_ratio(0, 30, 12, 40)  # no positives in the first group: still an interval
    >>> round(float(lo), 3), round(float(hi), 3)
    (0.003, 0.86)
    """
    x1, n1, x2, n2 = (np.asarray(v, dtype=float) for v in (x1, n1, x2, n2))
    z = z_value(confidence)
    edge = (x1 <= 0) | (x2 <= 0) | (x1 >= n1) | (x2 >= n2)
    a, m = np.where(edge, x1 + 0.5, x1), np.where(edge, n1 + 1.0, n1)
    b, k = np.where(edge, x2 + 0.5, x2), np.where(edge, n2 + 1.0, n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_r = np.log((a / m) / (b / k))
        se = np.sqrt(1 / a - 1 / m + 1 / b - 1 / k)
    undefined = ~((n1 > 0) & (n2 > 0))
    low, high = np.exp(log_r - z * se), np.exp(log_r + z * se)
    return np.where(undefined, np.nan, low), np.where(undefined, np.nan, high)
