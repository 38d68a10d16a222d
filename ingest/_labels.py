"""Matching a target's values to a model's classes: the favourable label and an explicit label map.

Adult's ``income`` holds ``<=50K``/``>50K`` while a model predicts 0/1; ``--positive-label '>50K'`` maps the
favourable value to the model's positive class (its larger class, 1) and every other value to the other
class, or ``--label-map '<=50K=0,>50K=1'`` states the mapping. The mapping is stated in the decision rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from glasswing._plain import plain
from glasswing.ingest._errors import IngestError

BAD_LABEL_MAP = ("--label-map {text!r} is not a mapping like \"<=50K=0,>50K=1\" (target value '=' model "
                 "class, separated by commas).")
UNMAPPED = ("The label map does not say which class {values} of {column!r} mean; map every value of the "
            "target.")
NO_MATCH = ("The target {column!r} holds {values} and the model predicts {classes}; say which value is "
            "favourable (--positive-label) or map them (--label-map VALUE=CLASS,...).")


def parse_label_map(text: str | None) -> dict[str, str]:
    """Parse ``"<=50K=0,>50K=1"`` into ``{"<=50K": "0", ">50K": "1"}`` (the last ``=`` of each pair splits).

    Examples
    --------
    >>> parse_label_map("<=50K=0, >50K=1")
    {'<=50K': '0', '>50K': '1'}
    """
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        m = re.fullmatch(r"\s*(.+)=\s*([^=]+?)\s*", part)
        if m is None or not m.group(1).strip():
            raise IngestError(BAD_LABEL_MAP.format(text=text))
        out[m.group(1).strip()] = m.group(2)
    return out


def _match(value: Any, options: Sequence) -> Any:
    for o in options:
        if o == value or str(o) == str(value):
            return plain(o)
    return None


def label_mapping(values: Sequence, classes: Sequence, *, positive=None,
                  label_map: Mapping | None = None, column: str = "target") -> dict | None:
    """Return target value -> model class, or None when the values already are the classes.

    With ``label_map`` every target value must be mapped (to a class, matched as text). With only a
    ``positive`` label and two classes, the positive value maps to the larger class and the others to
    the smaller one.
    """
    values = [plain(v) for v in values]
    classes = [plain(c) for c in classes]
    if label_map:
        mapping = {}
        for v in values:
            key = _match(v, list(label_map))
            if key is None:
                missing = [repr(x) for x in values if _match(x, list(label_map)) is None]
                raise IngestError(UNMAPPED.format(values=", ".join(missing), column=column))
            target_class = _match(label_map[key], classes)
            if target_class is None:
                raise IngestError(NO_MATCH.format(column=column, values=", ".join(map(repr, values)),
                                                  classes=", ".join(map(repr, classes))))
            mapping[v] = target_class
        return mapping
    if all(_match(v, classes) is not None for v in values):
        return None
    if positive is not None and len(classes) == 2 and _match(positive, values) is not None:
        pos = _match(positive, values)
        high, low = sorted(classes, key=lambda c: (str(type(c)), c))[::-1]
        return {v: (high if v == pos else low) for v in values}
    raise IngestError(NO_MATCH.format(column=column, values=", ".join(map(repr, values)),
                                      classes=", ".join(map(repr, classes))))


def map_target(dataset, classes: Sequence, *, positive=None, label_map: Mapping | None = None):
    """Return ``(dataset, mapping)``: the target mapped onto ``classes`` (unchanged when it already matches).

    The favourable label becomes the class the favourable value maps to; ``mapping`` (None when nothing
    changed) is stated in the decision rule.
    """
    target = dataset.roles.target
    if target is None:
        return dataset, None
    y = dataset.frame[target]
    values = pd.unique(y.dropna()).tolist()
    mapping = label_mapping(values, classes, positive=positive if positive is not None else
                            dataset.roles.positive_label, label_map=label_map, column=target)
    if mapping is None:
        return dataset, None
    frame = dataset.frame.copy()
    frame[target] = y.map(lambda v: mapping.get(plain(v), v))
    pos = positive if positive is not None else dataset.roles.positive_label
    new_pos = mapping.get(_match(pos, values)) if pos is not None else None
    if new_pos is None:
        new_pos = max(mapping.values(), key=lambda c: (str(type(c)), c))
    prediction = dataset.roles.prediction
    if prediction is not None and label_map:
        frame[prediction] = frame[prediction].map(lambda v: mapping.get(plain(v), v))
    return replace(dataset, frame=frame, roles=replace(dataset.roles, positive_label=new_pos)), mapping


CLASS_NAMES_COUNT = ("The model predicts {n} classes, but {k} class names were given ({names}); give one "
                     "name per class, in the order of the model's outputs.")
CLASS_NAMES_REPEATED = "Class name {name!r} is given twice; every class needs a name of its own."


def parse_class_names(text: str | None) -> list[str]:
    """Parse ``"cat, dog, bird"`` into ``["cat", "dog", "bird"]`` (empty text: no names)."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def with_class_names(model, names: Sequence[str]):
    """Return ``model`` with its classes named (an image model whose outputs are 0..k-1, say).

    The names replace ``classes_`` in output order, and the digest changes with them, so results cached
    under the old names are not reused.

    Raises
    ------
    IngestError
        When the count differs from the model's number of classes, or a name repeats.
    """
    import hashlib

    import numpy as np

    names = [str(n) for n in names]
    if not names:
        return model
    if len(names) != len(model.classes_):
        raise IngestError(CLASS_NAMES_COUNT.format(n=len(model.classes_), k=len(names),
                                                   names=", ".join(names)))
    for name in names:
        if names.count(name) > 1:
            raise IngestError(CLASS_NAMES_REPEATED.format(name=name))
    digest = hashlib.sha256(f"{model.sha256}|classes|{'|'.join(names)}".encode()).hexdigest()
    return replace(model, classes_=np.asarray(names), sha256=digest)
