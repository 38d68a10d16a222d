"""Which class an explanation is for: one rule matching a class label to ``model.classes_``.

A label matches a class of the same type and value first, then an equal value of another type (``1.0``
and ``1``), then the same text (``"1"`` typed on a command line matches the class ``1``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glasswing._plain import plain
from glasswing.explainers._registry import ExplainerError

UNKNOWN_CLASS = "Class {target!r} is not one of the model's classes: {classes}."
TARGET_COUNT = ("{n_targets} target classes were given for {n_images} images; give one class for all, or "
                "one per image.")


def class_labels(model: Any) -> list:
    """Return the model's class labels as plain Python values (``numpy.int64(1)`` becomes ``1``)."""
    return [plain(c) for c in np.asarray(model.classes_).tolist()]


def class_index(model: Any, target: Any) -> int:
    """Return the column of ``model.classes_`` for the class label ``target``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> m = SimpleNamespace(classes_=np.array([0, 1]))
    >>> class_index(m, 1), class_index(m, "1")
    (1, 1)
    """
    classes = class_labels(model)
    for rule in (lambda c: type(c) is type(target) and c == target, lambda c: c == target,
                 lambda c: str(c) == str(target)):
        for i, c in enumerate(classes):
            try:
                if rule(c):
                    return i
            except (TypeError, ValueError):  # values that do not compare
                continue
    raise ExplainerError(UNKNOWN_CLASS.format(target=target, classes=", ".join(str(c) for c in classes)))


def class_label(model: Any, index: int) -> Any:
    """Return the class label in column ``index`` as a plain Python value."""
    return plain(np.asarray(model.classes_)[index])


def target_indices(model: Any, target: Any, n: int, proba: np.ndarray | None = None) -> np.ndarray | None:
    """Return the class column to explain for each of ``n`` inputs.

    ``target`` is None (each input's predicted class: ``argmax(proba)``, or None when ``proba`` is not
    given), one class label for all inputs, or a sequence of ``n`` labels.
    """
    if target is None:
        return None if proba is None else np.argmax(proba, axis=1)
    if isinstance(target, list | tuple | np.ndarray):
        if len(target) != n:
            raise ExplainerError(TARGET_COUNT.format(n_targets=len(target), n_images=n))
        return np.array([class_index(model, t) for t in target], dtype=np.int64)
    return np.full(n, class_index(model, target), dtype=np.int64)
