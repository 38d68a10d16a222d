"""Plain Python values from numpy ones: the one conversion every JSON writer and every label uses.

Part of the ground: imports nothing of Glasswing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """Return a numpy scalar as the Python value it holds (``np.int64(1)`` prints as ``1``).

    Examples
    --------
    >>> plain(np.int64(1)), plain("a")
    (1, 'a')
    """
    return value.item() if isinstance(value, np.generic) else value


def json_safe(value: Any) -> Any:
    """Return ``value`` with numpy scalars and arrays as Python values and NaN/infinity as None.

    Mappings keep their order (keys become text), tuples become lists.

    Examples
    --------
    >>> json_safe({"a": np.float64("nan"), "b": (np.int64(2), 0.5)})
    {'a': None, 'b': [2, 0.5]}
    """
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    value = plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
