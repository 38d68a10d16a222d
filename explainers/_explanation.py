"""``Explanation``: the one result type of every explainer. Charts and reports read only this."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


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
        The model's output for ``target`` on this input (probability).
    params : dict
        The parameters used, including seeds.
    compute_time : float
        Seconds spent on this explanation (a batch's time divided over its inputs).
    reason : str
        Why this algorithm was chosen (for ``algorithm="auto"``).
    extras : dict
        Method-specific results (e.g. LIME's local model R², faithfulness scores).
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
