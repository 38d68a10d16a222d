"""Explainer registry and explainers; every explainer returns ``Explanation`` objects.

>>> from explainers import registry
>>> "shap" in registry
True
"""

from explainers._explanation import Explanation
from explainers._registry import ExplainerError, ExplainerSpec, Param, explain, registry

# Built-in explainers register themselves on import; third-party ones arrive through entry points.
from explainers import _tabular, _image  # noqa: E402,F401,I001

registry.freeze()

__all__ = ["ExplainerError", "ExplainerSpec", "Explanation", "Param", "explain", "registry"]
