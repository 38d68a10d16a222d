"""Global explanations of large tables: a stated stratified sample, bootstrap intervals, a background run.

At a million rows a global view explains a sample: :func:`stratified_positions` draws it in proportion to
each stratum (the predicted class, or the sensitive groups), so every stratum's share of the sample equals
its share of the table to rounding; :func:`mean_abs_intervals` bootstraps the rows of the sample (within
strata, which keeps their shares) for an interval on each feature's mean |SHAP value|; :class:`ChunkedRun`
explains a larger sample chunk by chunk on a worker thread, with progress and a stop, so a page can ask for
more rows without waiting for them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from glasswing._errors import GlasswingError

log = logging.getLogger(__name__)

#: Resamples and level of the bootstrap intervals the global views show.
N_RESAMPLES, LEVEL = 200, 0.95
RUN_FAILED = "The background run stopped on an error: {reason}"


def stratified_positions(strata: Any, n: int, seed: int) -> np.ndarray:
    """Return ``n`` row positions drawn in proportion to each stratum, seeded, in increasing order.

    Each stratum gets ``n`` times its share of the rows, rounded by largest remainder (so the counts add up
    to ``n`` and each is within one row of its exact share); its rows are drawn without replacement with
    ``seed``. A missing value is a stratum of its own. All positions when ``n`` is at least the row count.

    Parameters
    ----------
    strata : array-like
        One stratum label per row of the table.
    n : int
        How many rows to draw.
    seed : int
        Seeds the draw; the same arguments always give the same positions.

    Examples
    --------
    >>> strata = ["a"] * 80 + ["b"] * 20
    >>> picked = stratified_positions(strata, 10, seed=0)
    >>> len(picked), sum(strata[i] == "b" for i in picked)
    (10, 2)
    """
    codes, _ = pd.factorize(pd.Series(strata), use_na_sentinel=False)
    total = len(codes)
    if n >= total:
        return np.arange(total)
    counts = np.bincount(codes)
    exact = n * counts / total
    take = np.floor(exact).astype(int)
    left = int(n - take.sum())
    if left:
        take[np.argsort(-(exact - take), kind="stable")[:left]] += 1
    rng = np.random.default_rng(seed)
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    picked = [order[bounds[k]:bounds[k + 1]][rng.choice(counts[k], size=take[k], replace=False)]
              for k in range(len(counts)) if take[k]]
    return np.sort(np.concatenate(picked)) if picked else np.array([], dtype=int)


@dataclass(frozen=True)
class MeanAbsIntervals:
    """Each feature's mean |SHAP value| over the explained rows, with a bootstrap interval."""

    feature_names: tuple[str, ...]
    mean_abs: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n_rows: int
    n_resamples: int
    level: float
    stratified: bool

    def frame(self) -> pd.DataFrame:
        """Return one row per feature: ``mean_abs``, ``low``, ``high``, largest mean first."""
        table = pd.DataFrame({"mean_abs": self.mean_abs, "low": self.low, "high": self.high},
                             index=pd.Index(self.feature_names, name="feature"))
        return table.sort_values("mean_abs", ascending=False)


def mean_abs_intervals(values: Any, feature_names: Sequence[str], *, strata: Any = None,
                       n_resamples: int = N_RESAMPLES, level: float = LEVEL,
                       seed: int = 0) -> MeanAbsIntervals:
    """Bootstrap each feature's mean |SHAP value| over rows; return the means and percentile intervals.

    Each resample draws the rows with replacement, within each stratum when ``strata`` is given (a
    stratified sample's strata keep their sizes), and takes the mean |value| of every feature.

    Parameters
    ----------
    values : array-like of shape (n_rows, n_features)
        Attributions, one row per explained row.
    feature_names : sequence of str
        The features, in column order.
    strata : array-like, optional
        The stratum of each row (as the sample was drawn).
    n_resamples : int, default 200
        Bootstrap resamples.
    level : float, default 0.95
        Coverage of the percentile intervals.
    seed : int, default 0
        Seeds the resamples.

    Examples
    --------
    >>> out = mean_abs_intervals(np.array([[1.0], [-3.0], [2.0], [-2.0]]), ["a"], seed=0)
    >>> float(out.mean_abs[0]), bool(out.low[0] <= 2.0 <= out.high[0])
    (2.0, True)
    """
    A = np.abs(np.asarray(values, dtype=float))
    n, k = A.shape
    if strata is None:
        groups = [np.arange(n)]
    else:
        codes, _ = pd.factorize(pd.Series(strata), use_na_sentinel=False)
        groups = [np.flatnonzero(codes == c) for c in range(codes.max() + 1)] if n else []
    rng = np.random.default_rng(seed)
    means = np.empty((n_resamples, k))
    block = max(1, min(n_resamples, 4_000_000 // max(n, 1)))  # bounds the weight matrix's memory
    for lo in range(0, n_resamples, block):
        size = min(block, n_resamples - lo)
        weights = np.zeros((size, n))
        for g in groups:
            weights[:, g] = rng.multinomial(len(g), np.full(len(g), 1.0 / len(g)), size=size)
        means[lo:lo + size] = weights @ A / max(n, 1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail], axis=0) if n else (np.zeros(k), np.zeros(k))
    return MeanAbsIntervals(tuple(feature_names), A.mean(axis=0) if n else np.zeros(k), low, high, n,
                            n_resamples, level, strata is not None)


class ChunkedRun:
    """Run ``work(chunk)`` for each chunk on a worker thread; report progress; stop between chunks.

    The results of the chunks are concatenated (``work`` returns a list). Nothing here touches a page:
    a page reads :attr:`fraction`, :attr:`message`, :attr:`done`, :attr:`result` and :attr:`error`.

    Examples
    --------
    >>> run = ChunkedRun(lambda chunk: [x * 2 for x in chunk], [[1, 2], [3]], label="doubling").start()
    >>> run.wait(5)
    True
    >>> run.result, run.fraction, run.state
    ([2, 4, 6], 1.0, 'done')
    """

    def __init__(self, work: Callable[[Sequence], list], chunks: Sequence[Sequence], *, label: str = "rows"):
        self._work, self._chunks, self.label = work, [list(c) for c in chunks], label
        self._total = sum(len(c) for c in self._chunks)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._parts: list = []
        self._done_rows = 0
        self.state = "waiting"  # waiting, running, done, stopped, failed
        self.error: str | None = None
        self.started: float | None = None
        self.seconds: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"glasswing-{label}", daemon=True)

    def start(self) -> ChunkedRun:
        """Start the worker thread; return self."""
        self.state, self.started = "running", time.perf_counter()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the run to stop after its current chunk."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the run to end; return whether it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def done(self) -> bool:
        """Whether every chunk has been explained."""
        return self.state == "done"

    @property
    def running(self) -> bool:
        """Whether the worker thread is still at work."""
        return self.state == "running"

    @property
    def fraction(self) -> float:
        """The share of rows done, 0 to 1."""
        return self._done_rows / self._total if self._total else 1.0

    @property
    def message(self) -> str:
        """Where the run stands, in words."""
        return f"Explained {self._done_rows:,} of {self._total:,} {self.label}"

    @property
    def result(self) -> list | None:
        """Every chunk's results, in order, once the run is done (None before)."""
        with self._lock:
            return [x for part in self._parts for x in part] if self.state == "done" else None

    def _run(self) -> None:
        try:
            for chunk in self._chunks:
                if self._stop.is_set():
                    self.state = "stopped"
                    break
                part = self._work(chunk)
                with self._lock:
                    self._parts.append(part)
                    self._done_rows += len(chunk)
            else:
                self.state = "done"
        except GlasswingError as err:
            self.error, self.state = RUN_FAILED.format(reason=err), "failed"
        except Exception as err:  # noqa: BLE001 - a worker thread has no caller to raise to; logged and said
            log.exception("Background run %r failed", self.label)
            self.error, self.state = RUN_FAILED.format(reason=f"{type(err).__name__}: {err}."), "failed"
        finally:
            self.seconds = time.perf_counter() - (self.started or time.perf_counter())
