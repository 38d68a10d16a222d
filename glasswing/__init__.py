"""Glasswing: explainability and fairness audits for machine-learning models.

The short Python API for notebooks and pipelines is the one the command line calls::

    import glasswing
    model = glasswing.load_model("credit.skops")
    data = glasswing.load_data("validation.csv", y_true="risk", sensitive_features=["sex"])
    audit = glasswing.audit(data, model=model)          # a GroupMetrics; shows itself in Jupyter
    glasswing.report(data, model=model, audit=audit).to_pdf("audit.pdf")

``import glasswing`` stays light (the command line's ``--help`` imports it): the functions are loaded
from ``glasswing._api`` on first use. Bad input raises :class:`GlasswingError` with one sentence.
"""

from __future__ import annotations

import importlib
from typing import Any

from glasswing._errors import GlasswingError

__version__ = "0.1.0"

#: The public functions, each defined in ``glasswing._api`` and imported on first use.
_API = ("audit", "error_analysis", "explain", "load_data", "load_images", "load_model", "mitigate", "report")

__all__ = ["GlasswingError", "__version__", *_API]


def __getattr__(name: str) -> Any:
    """Import an API function (and the packages it needs) only when it is first used."""
    if name in _API:
        value = getattr(importlib.import_module("glasswing._api"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'glasswing' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
