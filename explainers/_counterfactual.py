"""Counterfactuals: the smallest plausible changes to a row that flip the model's decision.

The search is Growing Spheres (Laugel, Lesot, Marsala, Renard and Detyniecki, "Comparison-based inverse
classification for interpretability in machine learning", IPMU 2018): sample points in a ball around the
row, halve its radius while the ball already holds points the model decides the desired way ("enemies"),
then grow layers of the same width until one does; keep the closest enemies and make them sparse by putting
back, one at a time, the original value of each changed feature while the decision stays flipped. Two
steps are added, each checked by the model: a line search towards the row along the remaining changes,
and integer features rounded away from the row. dice-ml was not used: it installs with the pinned stack but
pulls xgboost, lightgbm and a 350 MB NCCL wheel, and its model-agnostic methods cannot say "only increase".

The space is normalised: a numeric feature is measured in units of its median absolute deviation (MAD) in
the reference data (the standard deviation where the MAD is 0, else 1), a categorical feature moves one
unit when its value changes. The **distance** reported is Wachter et al.'s (2017) L1 distance in that
space: the sum of each numeric change divided by its feature's MAD, plus 1 for each category changed.

Constraints: immutable features never change, increase-only features never go down, every numeric value
stays inside its range (by default the range seen in the reference data), and categorical features only
take values seen in the reference data (and known to the model's encoder). Every counterfactual returned
has been scored by the model and reaches the desired class; a candidate that does not is dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from glasswing._plain import plain
from glasswing.explainers._registry import ExplainerError
from glasswing.explainers._tabular_model import known_categories, tabular_model

log = logging.getLogger(__name__)

NOT_TABULAR = ("Counterfactuals change the columns of a table, and {name} is an {modality} model; load a "
               "tabular model.")
UNKNOWN_FEATURE = "'{name}' ({what}) is not a feature of the model; its features are: {features}."
NOT_NUMERIC = "'{name}' is categorical; only numeric features can be {what}."
BAD_RANGE = "The range of '{name}' must have its low end below its high end; got {low} to {high}."
ALL_IMMUTABLE = "Every feature is immutable, so nothing can change; free at least one feature."
UNKNOWN_CLASS = "'{desired}' is not a class of the model; its classes are: {classes}."
ALREADY = ("Row {row} is already predicted {predicted!r}; counterfactuals are asked of rows the model "
           "decides otherwise.")
NOT_FOUND = ("No change within the constraints and the search radius flips row {row}'s prediction; free "
             "more features, widen the ranges or raise the search budget.")
NONE_FLIPPED = ("The candidates found for row {row} did not flip the prediction when scored again, so none "
                "is shown.")
BAD_COUNT = "The number of counterfactuals must be between 1 and {most}; got {count}."

#: What the distance means, in one sentence (pages, reports and the CLI print it).
DISTANCE = ("Distance: the sum of each numeric change divided by that feature's median absolute deviation "
            "(MAD) in the data, plus 1 for each category changed (Wachter et al. 2017's L1 distance).")
METHOD = "Growing Spheres (Laugel et al. 2018), with feature selection, a line search and re-scoring"
MAX_COUNT = 20


@dataclass(frozen=True)
class Constraints:
    """What a counterfactual may change.

    Attributes
    ----------
    immutable : tuple of str
        Features that never change (sex, race, age when they are sensitive).
    increase_only : tuple of str
        Numeric features that can only go up (age, years of education).
    ranges : dict
        Numeric feature -> ``(low, high)``: the values it may take (default: the range in the data).
    """

    immutable: tuple[str, ...] = ()
    increase_only: tuple[str, ...] = ()
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def describe(self) -> str:
        """Return the constraints in one sentence."""
        parts = [f"immutable: {', '.join(self.immutable)}" if self.immutable else "no immutable feature"]
        if self.increase_only:
            parts.append(f"only increase: {', '.join(self.increase_only)}")
        parts += [f"{f} in {lo:g} to {hi:g}" for f, (lo, hi) in self.ranges.items()]
        return "; ".join(parts) + "; numbers stay in the range seen in the data, categories take seen values."


@dataclass(frozen=True, eq=False)
class Counterfactuals:
    """The counterfactuals of one row, each verified by the model.

    Attributes
    ----------
    row : object
        The row's index label.
    original : pandas.Series
        The row's feature values.
    frame : pandas.DataFrame
        One row per counterfactual (every feature), cheapest first; empty when none was found.
    distance : numpy.ndarray
        Each counterfactual's normalised L1 distance (see :data:`DISTANCE`).
    probability : numpy.ndarray
        The model's probability of the class each counterfactual reaches.
    predicted : object
        The row's own prediction.
    reached : list
        The class each counterfactual is predicted.
    desired : object or None
        The class asked for (None: any class but the predicted one).
    scales : dict
        Numeric feature -> the MAD its changes are divided by.
    reason : str or None
        Why there is no counterfactual (already the desired class, none found), else None.
    """

    row: Any
    original: pd.Series
    frame: pd.DataFrame
    distance: np.ndarray
    probability: np.ndarray
    predicted: Any
    reached: list
    desired: Any
    scales: dict
    constraints: Constraints
    reason: str | None = None
    params: dict = field(default_factory=dict)
    compute_time: float = 0.0

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def cheapest(self) -> float:
        """The distance of the closest counterfactual (NaN when there is none)."""
        return float(self.distance.min()) if len(self.distance) else float("nan")

    def changed(self) -> list[str]:
        """Return the features that some counterfactual changes, in the model's feature order."""
        return [f for f in self.frame.columns if any(_differs(v, self.original[f]) for v in self.frame[f])]

    def changes(self) -> pd.DataFrame:
        """Return the table of changed features only: the original row, then each counterfactual.

        Cells of features a counterfactual leaves unchanged are empty (None); the last columns are the
        distance and the class reached with its probability.
        """
        features = self.changed()
        rows = [{**{f: plain(self.original[f]) for f in features}, "distance": 0.0,
                 "prediction": plain(self.predicted), "probability": None}]
        for i in range(len(self.frame)):
            cf = self.frame.iloc[i]
            rows.append({**{f: plain(cf[f]) if _differs(cf[f], self.original[f]) else None for f in features},
                         "distance": float(self.distance[i]), "prediction": plain(self.reached[i]),
                         "probability": float(self.probability[i])})
        return pd.DataFrame(rows, index=["original", *[str(i + 1) for i in range(len(self.frame))]],
                            dtype=object)


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, float | np.floating) and isinstance(b, int | float | np.number):
        return not np.isclose(float(a), float(b), rtol=0, atol=1e-9)
    return a != b


# ---------------------------------------------------------------------------------------- the space
@dataclass(frozen=True, eq=False)
class _Space:
    """The normalised search space over the model's features."""

    features: tuple[str, ...]
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    scale: np.ndarray  # per numeric feature
    low: np.ndarray
    high: np.ndarray
    integer: np.ndarray  # per numeric feature, bool
    values: dict  # categorical feature -> numpy object array of allowed values
    dtypes: dict

    def frame(self, num: np.ndarray, cat: list[np.ndarray]) -> pd.DataFrame:
        """Rows from numeric values (n x d) and, per categorical feature, values (object arrays)."""
        columns = {}
        for j, f in enumerate(self.numeric):
            col = num[:, j]
            columns[f] = col.astype(self.dtypes[f]) if self.integer[j] else col
        for k, f in enumerate(self.categorical):
            columns[f] = cat[k]
        return pd.DataFrame(columns).loc[:, list(self.features)]


def _space(model: Any, reference: pd.DataFrame, constraints: Constraints) -> _Space:
    tm = tabular_model(model)
    features = tuple(tm.features) if tm.features is not None else tuple(reference.columns)
    known = known_categories(model, reference)
    numeric = tuple(f for f in features if f not in known and pd.api.types.is_numeric_dtype(reference[f])
                    and not pd.api.types.is_bool_dtype(reference[f]))
    categorical = tuple(f for f in features if f not in numeric)
    _check(constraints, features, numeric)
    scale, low, high, integer = [], [], [], []
    for f in numeric:
        col = reference[f].dropna().astype(float).to_numpy()
        s = float(np.median(np.abs(col - np.median(col)))) if len(col) else 0.0
        if s <= 0:
            s = float(col.std()) if len(col) > 1 else 0.0
        scale.append(s if s > 0 else 1.0)
        lo, hi = (float(col.min()), float(col.max())) if len(col) else (-np.inf, np.inf)
        if f in constraints.ranges:
            lo, hi = (float(v) for v in constraints.ranges[f])
        low.append(lo)
        high.append(hi)
        integer.append(pd.api.types.is_integer_dtype(reference[f]))
    values = {}
    for f in categorical:
        seen = pd.unique(reference[f].dropna())
        if f in known:
            allowed = set(known[f]) | {str(k) for k in known[f]}
            kept = [v for v in seen.tolist() if v in allowed]
            seen = np.asarray(kept, dtype=object) if kept else seen
        values[f] = np.asarray(sorted(seen.tolist(), key=str), dtype=object)
    return _Space(features, numeric, categorical, np.asarray(scale), np.asarray(low), np.asarray(high),
                  np.asarray(integer, dtype=bool), values, {f: reference[f].dtype for f in features})


def _check(c: Constraints, features: tuple[str, ...], numeric: tuple[str, ...]) -> None:
    listing = ", ".join(features)
    for what, names in (("immutable", c.immutable), ("increase-only", c.increase_only),
                        ("a range", tuple(c.ranges))):
        for name in names:
            if name not in features:
                raise ExplainerError(UNKNOWN_FEATURE.format(name=name, what=what, features=listing))
    for what, names in (("increase-only", c.increase_only), ("given a range", tuple(c.ranges))):
        for name in names:
            if name not in numeric:
                raise ExplainerError(NOT_NUMERIC.format(name=name, what=what))
    for name, (low, high) in c.ranges.items():
        if not float(low) < float(high):
            raise ExplainerError(BAD_RANGE.format(name=name, low=low, high=high))
    if set(features) <= set(c.immutable):
        raise ExplainerError(ALL_IMMUTABLE)


# ---------------------------------------------------------------------------------------- the search
def counterfactuals(model: Any, rows: pd.DataFrame, *, reference: pd.DataFrame, count: int = 3,
                    desired: Any = None, immutable: Sequence[str] = (), increase_only: Sequence[str] = (),
                    ranges: Mapping[str, tuple[float, float]] | None = None, threshold: float | None = None,
                    n_samples: int = 500, max_layers: int = 60, seed: int = 0,
                    progress: Callable[[int, int], None] | None = None) -> list[Counterfactuals]:
    """Find up to ``count`` diverse counterfactuals for each row: small changes that flip the decision.

    Parameters
    ----------
    model : ingest.Model
        A tabular model.
    rows : pandas.DataFrame
        The rows to change (they keep their index labels in the result).
    reference : pandas.DataFrame
        The data that sets each feature's MAD, its range and the categories it may take.
    count : int, default 3
        How many counterfactuals per row (fewer when fewer distinct ones are found).
    desired : object, optional
        The class to reach; default any class but the row's prediction (for a binary model, the other).
    immutable, increase_only : sequence of str
        Features that never change; numeric features that never go down.
    ranges : mapping, optional
        Numeric feature -> ``(low, high)`` it must stay within (default: the range in ``reference``).
    threshold : float, optional
        Binary models: the decision is ``desired`` when its probability is at least ``threshold``
        (default: the model's own prediction, the most probable class).
    n_samples : int, default 500
        Points sampled per sphere layer.
    max_layers : int, default 60
        Layers grown before the search gives up (the width doubles every ten layers).
    seed : int, default 0
        Seed of the sampling (each row draws from ``(seed, position)``).
    progress : callable, optional
        Called with ``(rows done, rows)`` after each row.

    Returns
    -------
    list of Counterfactuals
        One per row, in order.

    Raises
    ------
    ExplainerError
        For an image model, a constraint on a feature the model lacks, a range that is empty, a class the
        model lacks or a count outside 1 to 20.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from glasswing.ingest import Model
    >>> X = pd.DataFrame({"income": [10.0, 20, 30, 40, 50, 60, 70, 80], "age": [30, 40] * 4})
    >>> model = Model.from_estimator(LogisticRegression().fit(X, [0, 0, 0, 0, 1, 1, 1, 1]))
    >>> (found,) = counterfactuals(model, X.iloc[[1]], reference=X, immutable=["age"], count=1)
    >>> found.reached, found.changed()
    ([1], ['income'])
    >>> model.predict(found.frame).tolist()
    [1]
    """
    if model.modality != "tabular":
        raise ExplainerError(NOT_TABULAR.format(name=model.name, modality=model.modality))
    if not 1 <= int(count) <= MAX_COUNT:
        raise ExplainerError(BAD_COUNT.format(most=MAX_COUNT, count=count))
    classes = list(model.classes_)
    if desired is not None:
        matches = [c for c in classes if c == desired or str(c) == str(desired)]
        if not matches:
            raise ExplainerError(UNKNOWN_CLASS.format(desired=desired, classes=", ".join(map(str, classes))))
        desired = matches[0]
    constraints = Constraints(tuple(immutable), tuple(increase_only), dict(ranges or {}))
    space = _space(model, reference, constraints)
    rows = rows.loc[:, list(space.features)]
    params = {"count": int(count), "desired": plain(desired), "threshold": threshold,
              "n_samples": int(n_samples), "max_layers": int(max_layers), "seed": int(seed)}
    proba = model.predict_proba(rows)
    out = []
    for i in range(len(rows)):
        start = time.perf_counter()
        found = _diverse_search(model, space, constraints, rows.iloc[i], proba[i], classes, desired,
                                threshold, int(count), int(n_samples), int(max_layers),
                                np.random.default_rng([int(seed), i]))
        out.append(_result(model, space, constraints, rows, i, found, params, time.perf_counter() - start,
                           classes, threshold))
        if progress is not None:
            progress(i + 1, len(rows))
    return out


def _decides(proba: np.ndarray, classes: list, desired: Any, predicted: Any, threshold: float | None):
    """Boolean per row: whether these probabilities are decided the desired way."""
    if desired is None:
        return np.asarray(classes, dtype=object)[proba.argmax(axis=1)] != predicted
    k = classes.index(desired)
    if threshold is not None and len(classes) == 2:
        return proba[:, k] >= threshold
    return proba.argmax(axis=1) == k


def _one(model, space: _Space, constraints: Constraints, row: pd.Series, proba: np.ndarray, classes, desired,
         threshold, count, n_samples, max_layers, rng):
    """Search one row; return (candidates frame, distances, reason) before the final check."""
    predicted = classes[int(np.argmax(proba))]
    if threshold is not None and len(classes) == 2 and desired is not None:
        k = classes.index(desired)
        predicted = desired if proba[k] >= threshold else classes[1 - k]
    if _decides(proba[None], classes, desired, predicted, threshold)[0]:
        return predicted, None, ALREADY.format(row=plain(row.name), predicted=plain(predicted))
    x_num = row[list(space.numeric)].to_numpy(dtype=float) if space.numeric else np.zeros(0)
    x_cat = [row[f] for f in space.categorical]
    free_num = np.array([f not in constraints.immutable for f in space.numeric], dtype=bool)
    up = np.array([f in constraints.increase_only for f in space.numeric], dtype=bool)
    free_cat = np.array([f not in constraints.immutable and len(space.values[f]) > 1
                         for f in space.categorical], dtype=bool)
    dims = int(free_num.sum() + free_cat.sum())
    if dims == 0:
        return predicted, None, NOT_FOUND.format(row=plain(row.name))

    def enemy(num, cat):
        p = model.predict_proba(space.frame(num, cat))
        return _decides(p, classes, desired, predicted, threshold)

    def sample(a0: float, a1: float, n: int):
        direction = rng.standard_normal((n, dims))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        radius = (a0 ** dims + rng.random(n) * (a1 ** dims - a0 ** dims)) ** (1.0 / dims)
        z = direction * radius[:, None]
        num = np.repeat(x_num[None], n, axis=0)
        zn = z[:, :int(free_num.sum())]
        zn = np.where(up[free_num], np.abs(zn), zn)
        num[:, free_num] = x_num[free_num] + zn * space.scale[free_num]
        num = _bounded(space, num, x_num, up)
        cat, zc, c = [], z[:, int(free_num.sum()):], 0
        for k, f in enumerate(space.categorical):
            column = np.full(n, x_cat[k], dtype=object)
            if free_cat[k]:
                move = np.abs(zc[:, c]) >= 0.5
                others = space.values[f][space.values[f] != x_cat[k]]
                column[move] = others[rng.integers(len(others), size=int(move.sum()))]
                c += 1
            cat.append(column)
        return num, cat

    def shells(bounds):  # one model call for several balls or layers: (a0, a1) each
        parts = [sample(a0, a1, n_samples) for a0, a1 in bounds]
        num = np.vstack([p[0] for p in parts])
        cat = [np.concatenate([p[1][k] for p in parts]) for k in range(len(x_cat))]
        return num, cat, enemy(num, cat).reshape(len(bounds), n_samples)

    eta = 1.0
    for _ in range(4):  # halve the ball while it already holds enemies (eight halvings per call)
        radii = eta * 0.5 ** np.arange(8)
        _, _, hits = shells([(0.0, r) for r in radii])
        empty = np.flatnonzero(~hits.any(axis=1))
        if len(empty):
            eta = float(radii[empty[0]])
            break
        eta = float(radii[-1] / 2)
    a0, layers = eta, 0
    while layers < max_layers:  # grow layers of width eta, four per call, doubling eta every twelve
        bounds = [(a0 + m * eta, a0 + (m + 1) * eta) for m in range(4)]
        num, cat, hits = shells(bounds)
        hit = np.flatnonzero(hits.any(axis=1))
        if len(hit):
            break
        layers += 4
        a0 += 4 * eta
        if layers % 12 == 0:
            eta *= 2
    else:
        return predicted, None, NOT_FOUND.format(row=plain(row.name))
    keep = np.zeros_like(hits)
    keep[hit[0]:hit[0] + 2] = hits[hit[0]:hit[0] + 2]  # the first layer with enemies and the next one
    keep = keep.ravel()
    num, cat = num[keep], [c[keep] for c in cat]
    order = np.argsort(_distance(space, num, cat, x_num, x_cat), kind="stable")[:max(4 * count, 12)]
    num, cat = num[order], [c[order] for c in cat]
    num, cat = _select_features(space, num, cat, x_num, x_cat, enemy)
    num, cat = _line_search(space, num, cat, x_num, x_cat, up, enemy)
    return predicted, (num, cat), None


def _diverse_search(model, space: _Space, constraints: Constraints, row: pd.Series, proba, classes, desired,
                    threshold, count, n_samples, max_layers, rng):
    """Search; then search again with one feature of the closest counterfactual held fixed at a time.

    The extra searches run while fewer than ``count`` sets of changed features are found: the next
    counterfactual must change something else.
    """
    predicted, found, reason = _one(model, space, constraints, row, proba, classes, desired, threshold,
                                    count, n_samples, max_layers, rng)
    if found is None or count == 1:
        return predicted, found, reason
    x_num = row[list(space.numeric)].to_numpy(dtype=float) if space.numeric else np.zeros(0)
    x_cat = [row[f] for f in space.categorical]

    def change_sets(num, cat):
        moved = [~np.isclose(num[:, j], x_num[j]) for j in range(len(x_num))]
        moved += [c != v for c, v in zip(cat, x_cat, strict=True)]
        names = space.numeric + space.categorical
        return [frozenset(n for n, m in zip(names, col, strict=True) if m) for col in np.column_stack(moved)]

    num, cat = found
    cheapest = int(np.argmin(_distance(space, num, cat, x_num, x_cat)))
    for feature in sorted(change_sets(num, cat)[cheapest]):
        if len(set(change_sets(num, cat))) >= count:
            break
        held = Constraints((*constraints.immutable, feature), constraints.increase_only, constraints.ranges)
        if set(space.features) <= set(held.immutable):
            continue
        _, more, _ = _one(model, space, held, row, proba, classes, desired, threshold, count, n_samples,
                          max_layers, rng)
        if more is not None:
            num = np.vstack([num, more[0]])
            cat = [np.concatenate([a, b]) for a, b in zip(cat, more[1], strict=True)]
    return predicted, (num, cat), None


def _bounded(space: _Space, num: np.ndarray, x_num: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Clip to the ranges, round integer features away from the row, and keep increase-only ones up."""
    num = np.clip(num, space.low, space.high)
    if space.integer.any():
        delta = num[:, space.integer] - x_num[space.integer]
        num[:, space.integer] = x_num[space.integer] + np.sign(delta) * np.ceil(np.abs(delta) - 1e-9)
        num = np.where(space.integer & ((num < space.low) | (num > space.high)),
                       np.clip(np.where(num < space.low, np.ceil(space.low), np.floor(space.high)),
                               space.low, space.high), num)
    return np.where(up, np.maximum(num, x_num), num)


def _distance(space: _Space, num: np.ndarray, cat: list, x_num: np.ndarray, x_cat: list) -> np.ndarray:
    """Return the normalised L1 distance of each candidate to the row (see :data:`DISTANCE`)."""
    d = (np.abs(num - x_num) / space.scale).sum(axis=1) if len(x_num) else np.zeros(len(cat[0]))
    for column, value in zip(cat, x_cat, strict=True):
        d = d + (column != value)
    return d


def _select_features(space, num, cat, x_num, x_cat, enemy):
    """Laugel et al.'s feature selection: put original values back while the decision stays flipped.

    Each round tries, for every candidate at once, putting back each changed feature; the candidate takes
    the one that lowers its distance most and still flips. It stops when no feature can go back.
    """
    num, cat = num.copy(), [c.copy() for c in cat]
    n_num = len(x_num)
    for _ in range(n_num + len(x_cat)):
        trial_num, trial_cat, owner, which = [], [[] for _ in cat], [], []
        for i in range(len(num)):
            changed = [j for j in range(n_num) if not np.isclose(num[i, j], x_num[j])]
            changed += [n_num + k for k in range(len(cat)) if cat[k][i] != x_cat[k]]
            for j in changed:
                t_num = num[i].copy()
                t_cat = [c[i] for c in cat]
                if j < n_num:
                    t_num[j] = x_num[j]
                else:
                    t_cat[j - n_num] = x_cat[j - n_num]
                trial_num.append(t_num)
                for k, v in enumerate(t_cat):
                    trial_cat[k].append(v)
                owner.append(i)
                which.append(j)
        if not owner:
            break
        t_num = np.asarray(trial_num, dtype=float).reshape(len(owner), n_num)
        t_cat = [np.asarray(c, dtype=object) for c in trial_cat]
        ok = enemy(t_num, t_cat)
        if not ok.any():
            break
        dist = _distance(space, t_num, t_cat, x_num, x_cat) if t_cat or n_num else np.zeros(len(owner))
        owner = np.asarray(owner)
        for i in np.unique(owner[ok]):
            best = np.flatnonzero(ok & (owner == i))
            best = best[np.argmin(dist[best])]
            num[i] = t_num[best]
            for k in range(len(cat)):
                cat[k][i] = t_cat[k][best]
    return num, cat


def _line_search(space, num, cat, x_num, x_cat, up, enemy, steps: int = 16, rounds: int = 2):
    """Move each candidate's numeric changes back towards the row as far as the decision stays flipped."""
    if not len(x_num) or not len(num):
        return num, cat
    low, high = np.zeros(len(num)), np.ones(len(num))  # the fraction of the change kept: high flips
    for _ in range(rounds):
        t = np.linspace(0, 1, steps + 1)[1:-1]
        fracs = low[:, None] + (high - low)[:, None] * t[None]
        trial = x_num + fracs[..., None] * (num - x_num)[:, None, :]
        trial = _bounded(space, trial.reshape(-1, len(x_num)), x_num, up)
        t_cat = [np.repeat(c, len(t)) for c in cat]
        ok = enemy(trial, t_cat).reshape(len(num), len(t))
        for i in range(len(num)):
            hit = np.flatnonzero(ok[i])
            if len(hit):
                first = hit[0]
                high[i] = fracs[i, first]
                low[i] = fracs[i, first - 1] if first > 0 else low[i]
            else:
                low[i] = fracs[i, -1]
    final = _bounded(space, x_num + high[:, None] * (num - x_num), x_num, up)
    return final, cat


def _result(model, space: _Space, constraints: Constraints, rows: pd.DataFrame, i: int, found, params: dict,
            seconds: float, classes: list, threshold: float | None) -> Counterfactuals:
    """Score the candidates again, drop repeats and those that do not flip, and choose diverse ones."""
    predicted, candidates, reason = found
    row, predicted = rows.iloc[i], plain(predicted)
    scales = dict(zip(space.numeric, space.scale.tolist(), strict=True))
    desired = params["desired"]
    empty = Counterfactuals(row.name, row, rows.iloc[:0], np.zeros(0), np.zeros(0), predicted, [], desired,
                            scales, constraints, reason, params, seconds)
    if candidates is None:
        return empty
    num, cat = candidates
    x_num = row[list(space.numeric)].to_numpy(dtype=float) if space.numeric else np.zeros(0)
    dist = _distance(space, num, cat, x_num, [row[f] for f in space.categorical])
    frame = space.frame(num, cat).assign(_d=dist)
    frame = frame.drop_duplicates(subset=list(space.features)).sort_values("_d", kind="stable")
    dist = frame.pop("_d").to_numpy()
    frame = frame.iloc[_diverse(frame, row, len(frame))]  # every distinct candidate, diverse ones first
    dist = _distance(space, frame[list(space.numeric)].to_numpy(dtype=float) if space.numeric else
                     np.zeros((len(frame), 0)), [frame[f].to_numpy(dtype=object) for f in space.categorical],
                     x_num, [row[f] for f in space.categorical])
    proba = model.predict_proba(frame) if len(frame) else np.zeros((0, len(classes)))
    flips = _decides(proba, classes, desired, predicted, threshold) if len(frame) else np.zeros(0, bool)
    if (~flips).any():
        log.info("Dropped %d counterfactual(s) of row %s that did not flip when scored again",
                 int((~flips).sum()), row.name)
    keep = np.flatnonzero(flips)[:params["count"]]
    if not len(keep):
        return Counterfactuals(**{**empty.__dict__, "reason": NONE_FLIPPED.format(row=plain(row.name))})
    reached = [plain(classes[k]) for k in proba[keep].argmax(axis=1)]
    if threshold is not None and desired is not None and len(classes) == 2:
        reached = [desired] * len(keep)
    prob = proba[keep, [[plain(c) for c in classes].index(c) for c in reached]]
    order = np.argsort(dist[keep], kind="stable")
    keep = keep[order]
    return Counterfactuals(row.name, row, frame.iloc[keep], dist[keep], prob[order],
                           predicted, [reached[j] for j in order], desired, scales, constraints, None, params,
                           seconds)


def _diverse(frame: pd.DataFrame, row: pd.Series, count: int) -> list[int]:
    """Positions of the cheapest candidate, then the cheapest ones changing a new set of features.

    Then the other distinct candidates, cheapest first, up to ``count`` in all.
    """
    sets = [frozenset(f for f in frame.columns if _differs(frame.iloc[i][f], row[f]))
            for i in range(len(frame))]
    chosen: list[int] = []
    for i, s in enumerate(sets):
        if len(chosen) < count and s and s not in {sets[j] for j in chosen}:
            chosen.append(i)
    for i, s in enumerate(sets):
        if len(chosen) < count and s and i not in chosen:
            chosen.append(i)
    return chosen
