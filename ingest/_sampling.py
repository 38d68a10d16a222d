"""Seeded row sampling: the one way Glasswing picks a random subset of rows (explainers, pages, datasets)."""

from __future__ import annotations

import numpy as np


def sample_positions(n_rows: int, n: int, seed: int) -> np.ndarray:
    """Return ``n`` row positions drawn without replacement with ``seed``, in increasing order.

    All positions when ``n >= n_rows``. The same arguments always give the same positions.

    Examples
    --------
    >>> sample_positions(5, 10, seed=0).tolist()
    [0, 1, 2, 3, 4]
    >>> len(sample_positions(1000, 3, seed=0))
    3
    """
    if n >= n_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=int(n), replace=False))
