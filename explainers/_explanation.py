"""``Explanation``: the one result type of every explainer. Charts and reports read only this."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True, eq=False)
class Explanation:
    """Attributions for one input (a table row or an image) and one target class.

    Attributes
    ----------
    method : str
        Registry name of the explainer that produced it ("shap", "lime", "gradcam", ...).
    algorithm : str
        The concrete algorithm used ("TreeExplainer", "LayerGradCam", ...) and, in ``reason``, why.
    target : object
        The class explained (a label from ``Model.classes_``).
    values : numpy.ndarray
        Tabular: one attribution per feature, shape ``(n_features,)``. Image: an ``(H, W)`` map aligned
        to the input image.
    feature_names : tuple of str or None
        Tabular: the names of ``values``' entries (the original feature space).
    data : numpy.ndarray or None
        The explained input (the row's feature values, or the image) for plotting.
    base_value : float or None
        The expected model output the attributions start from (SHAP); None where it does not exist.
    prediction : float or None
        The model's output for ``target`` on this input, in the space named by ``output``. Where
        ``base_value`` exists, ``base_value + values.sum() == prediction`` (SHAP's additivity).
    params : dict
        The parameters used, including seeds.
    compute_time : float
        Seconds spent on this explanation (a batch's time divided over its inputs).
    reason : str
        Why this algorithm was chosen (for ``algorithm="auto"``).
    extras : dict
        Method-specific results (e.g. LIME's local model R², faithfulness scores).
    output : str
        What ``values``, ``base_value`` and ``prediction`` are measured in: ``"probability"``,
        ``"log-odds"`` (of ``target``), ``"margin"`` (the model's raw class score, a softmax logit), or
        for a global importance the score it is a drop of (``"accuracy drop"``); empty where not stated.
    """

    method: str
    algorithm: str
    target: Any
    values: np.ndarray
    feature_names: tuple[str, ...] | None = None
    data: Any = None
    base_value: float | None = None
    prediction: float | None = None
    params: dict = field(default_factory=dict)
    compute_time: float = 0.0
    reason: str = ""
    extras: dict = field(default_factory=dict)
    output: str = ""

    @classmethod
    def many(cls, rows: Iterable[dict], **shared) -> list[Explanation]:
        """Build one explanation per dict in ``rows``, each also taking the ``shared`` fields.

        Equivalent to ``[Explanation(**shared, **row) for row in rows]``, several times faster for
        thousands of rows: it fills each instance's fields in one step instead of one frozen-dataclass
        ``__setattr__`` per field. ``params`` and ``extras`` are copied per explanation.
        """
        base = {f.name: f.default for f in fields(cls) if f.default is not MISSING}
        base.update(shared)
        params, extras = dict(base.pop("params", {})), dict(base.pop("extras", {}))
        required = {f.name for f in fields(cls)} - base.keys() - {"params", "extras"}
        out = []
        for row in rows:
            if not required <= row.keys():
                raise TypeError(f"Explanation.many() is missing {', '.join(sorted(required - row.keys()))}")
            obj = object.__new__(cls)
            state = obj.__dict__
            state.update(base)
            state["params"], state["extras"] = params.copy(), extras.copy()
            state.update(row)
            out.append(obj)
        return out

    @property
    def is_image(self) -> bool:
        """Whether ``values`` is an image map (2-D) rather than per-feature attributions."""
        return np.ndim(self.values) == 2

    def __getitem__(self, feature: str | list[str]) -> float | Explanation:
        """Return one feature's attribution by name, or an Explanation restricted to several features."""
        if self.feature_names is None:
            raise KeyError("This explanation has no feature names (it is an image map).")
        names = list(self.feature_names)
        if isinstance(feature, str):
            return float(self.values[names.index(feature)])
        idx = [names.index(f) for f in feature]
        data = None if self.data is None else np.asarray(self.data, dtype=object)[idx]
        return replace(self, values=np.asarray(self.values)[idx], feature_names=tuple(feature), data=data)

    def top(self, k: int) -> list[tuple[str, float]]:
        """Return the ``k`` features with the largest absolute attribution, largest first."""
        if self.feature_names is None:
            raise KeyError("This explanation has no feature names (it is an image map).")
        order = np.argsort(-np.abs(self.values), kind="stable")[:k]
        return [(self.feature_names[i], float(self.values[i])) for i in order]

    def _repr_html_(self) -> str:
        """Notebook display: the attribution chart and table, or the heatmap (``reports._notebook``)."""
        from glasswing.reports._notebook import explanation_html

        return explanation_html(self)


class Explanations(list):
    """A batch of :class:`Explanation` (a list) that shows itself in a notebook (``glasswing.explain``).

    Examples
    --------
    >>> e = Explanation("shap", "LinearExplainer", 1, np.array([0.5, -0.25]), ("a", "b"))
    >>> batch = Explanations([e, e])
    >>> len(batch), batch.frame().columns.tolist()
    (2, ['target', 'a', 'b', 'base_value', 'model_output'])
    """

    def frame(self, index: Sequence | None = None) -> pd.DataFrame:
        """Return the attribution table of tabular explanations (:func:`attribution_frame`)."""
        return attribution_frame(self, index=index)

    def _repr_html_(self) -> str:
        """Notebook display: mean absolute attributions and a row table, or a grid of heatmaps."""
        from glasswing.reports._notebook import explanations_html

        return explanations_html(self)


NOT_TABULAR = "Only per-feature explanations (tabular rows) can be put in a table; these are image maps."
MIXED_FEATURES = "These explanations are over different features and cannot share one table."


def attribution_frame(explanations: Sequence[Explanation], index: Sequence | None = None) -> pd.DataFrame:
    """Return one row per explanation: the target, one column per feature, the base value and the output.

    Parameters
    ----------
    explanations : sequence of Explanation
        Tabular explanations over the same features.
    index : sequence, optional
        Row labels (e.g. the explained rows' positions in the data); default 0, 1, ...

    Returns
    -------
    pandas.DataFrame
        Columns ``target``, the features in order, ``base_value`` and ``model_output`` (the model's
        output in the space of ``Explanation.output``, which the frame's ``attrs["output"]`` repeats).

    Examples
    --------
    >>> e = Explanation("shap", "LinearExplainer", 1, np.array([0.5, -0.25]), ("a", "b"),
    ...                 base_value=1.0, prediction=1.25, output="log-odds")
    >>> attribution_frame([e]).to_dict("records")
    [{'target': 1, 'a': 0.5, 'b': -0.25, 'base_value': 1.0, 'model_output': 1.25}]
    """
    if any(e.feature_names is None for e in explanations):
        raise ValueError(NOT_TABULAR)
    names = explanations[0].feature_names if explanations else ()
    if any(e.feature_names != names for e in explanations):
        raise ValueError(MIXED_FEATURES)
    values = np.array([e.values for e in explanations], dtype=float).reshape(len(explanations), len(names))
    frame = pd.DataFrame(values, columns=list(names), index=index)
    frame.insert(0, "target", [e.target for e in explanations])
    frame["base_value"] = [np.nan if e.base_value is None else e.base_value for e in explanations]
    frame["model_output"] = [np.nan if e.prediction is None else e.prediction for e in explanations]
    frame.attrs["output"] = explanations[0].output if explanations else ""
    return frame


@dataclass(frozen=True)
class Agreement:
    """How far two explanations of the same input agree on its most important features.

    Attributes
    ----------
    k : int
        How many top features (by absolute attribution) were compared.
    shared : tuple of str
        The features in both top-``k`` lists, in the first explanation's order.
    rank_correlation : float
        Spearman's rank correlation of the absolute attributions over the union of both top-``k`` lists
        (1: same order of importance; nan when it is undefined, e.g. all ties).
    same_order : bool
        Whether both top-``k`` lists are the same features in the same order.
    sentence : str
        The result in plain words, for the page and the report.
    """

    k: int
    shared: tuple[str, ...]
    rank_correlation: float
    same_order: bool
    sentence: str


def agreement(a: Explanation, b: Explanation, *, k: int = 3,
              names: tuple[str, str] | None = None) -> Agreement:
    """Compare the top-``k`` features of two explanations of one input (e.g. SHAP and LIME).

    Parameters
    ----------
    a, b : Explanation
        Tabular explanations over the same features.
    k : int, default 3
        How many of the largest absolute attributions to compare.
    names : (str, str), optional
        What to call the two explanations in the sentence; default their ``method`` in capitals.

    Returns
    -------
    Agreement

    Examples
    --------
    >>> names = ("x", "y", "z", "w")
    >>> a = Explanation("shap", "", 1, np.array([3.0, -2.0, 1.0, 0.1]), names)
    >>> b = Explanation("lime", "", 1, np.array([0.3, 0.2, -0.1, 0.0]), names)
    >>> agreement(a, b, k=3).sentence
    'SHAP and LIME agree on the top 3 reasons, in the same order (rank correlation 1.00).'
    """
    from scipy.stats import spearmanr

    if a.feature_names is None or a.feature_names != b.feature_names:
        raise ValueError(MIXED_FEATURES)
    first, second = names or (a.method.upper(), b.method.upper())
    k = min(k, len(a.feature_names))
    top_a, top_b = [f for f, _ in a.top(k)], [f for f, _ in b.top(k)]
    shared = tuple(f for f in top_a if f in top_b)
    union = [a.feature_names.index(f) for f in dict.fromkeys(top_a + top_b)]
    abs_a, abs_b = np.abs(np.asarray(a.values, float)[union]), np.abs(np.asarray(b.values, float)[union])
    if len(union) < 2 or np.ptp(abs_a) == 0 or np.ptp(abs_b) == 0:
        rho = float("nan")
    else:
        rho = float(spearmanr(abs_a, abs_b).statistic)
    corr = "rank correlation undefined" if np.isnan(rho) else f"rank correlation {rho:.2f}"
    same_order = top_a == top_b
    reasons = "reason" if k == 1 else f"{k} reasons"
    if same_order:
        sentence = f"{first} and {second} agree on the top {reasons}, in the same order ({corr})."
    elif len(shared) == k:
        sentence = f"{first} and {second} agree on the top {reasons}, in a different order ({corr})."
    elif shared:
        sentence = (f"{first} and {second} share {len(shared)} of their top {reasons} "
                    f"({', '.join(shared)}); {corr}.")
    else:
        sentence = f"{first} and {second} disagree: none of their top {reasons} are the same ({corr})."
    return Agreement(k=k, shared=shared, rank_correlation=rho, same_order=same_order, sentence=sentence)
