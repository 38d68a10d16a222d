"""How well a model does overall and per group on labelled data: accuracy and AUC from audits' own counts.

The Model & data page, the image page's group view and the decision rule of every report read these, so
that a number shown twice is the same number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from glasswing.audits._scores import ScorePoints, _sorted_auc, score_order


def auc_score(y_true_positive, score) -> float | None:
    """Area under the ROC curve of ``score`` for the positive rows (``sklearn.metrics.roc_auc_score``).

    None when only one class is present.

    Examples
    --------
    >>> auc_score([True, False, True, False], [0.9, 0.1, 0.8, 0.3])
    1.0
    """
    y = np.asarray(y_true_positive, dtype=bool)
    s = np.asarray(score, dtype=float)
    points = ScorePoints.from_rows(np.zeros(len(s), dtype=np.int64), s, y)
    order = score_order(s)
    auc = float(_sorted_auc(points.group[order], s[order], points.pos[order], points.neg[order], 1)[0])
    return auc if np.isfinite(auc) else None


#: How each AUC the performance summary can show is named on the page and in reports.
AUC_BINARY, AUC_MACRO_OVR = "AUC", "macro one-vs-rest AUC"
AUC_BINARY_NOTE = "AUC for the positive class {positive}."
AUC_MACRO_NOTE = ("Macro one-vs-rest AUC: each class's probability ranks that class against all others, and "
                  "the {k} areas are averaged with equal weight (scikit-learn's roc_auc_score with "
                  "multi_class='ovr').")
AUC_MACRO_SOME_NOTE = ("Macro one-vs-rest AUC over the {k} of the model's {n} classes that the labels "
                       "contain (each of them against all other rows, averaged with equal weight).")
AUC_ONE_CLASS = "AUC needs labels of at least two classes; these have one."
AUC_UNKNOWN_LABELS = "AUC is not computed: the labels hold values the model does not predict ({labels})."


def macro_ovr_auc(y_true, proba, classes) -> tuple[float | None, int]:
    """Macro one-vs-rest AUC over the classes present in ``y_true``, and how many classes that was.

    Each present class's probability column is scored against "this class or not" with :func:`auc_score`;
    the areas are averaged with equal weight. With every class present this is
    ``sklearn.metrics.roc_auc_score(y_true, proba, multi_class="ovr", average="macro")``.

    Examples
    --------
    >>> auc, k = macro_ovr_auc(["a", "b", "c"], np.eye(3), ["a", "b", "c"])
    >>> auc, k
    (1.0, 3)
    """
    y = np.asarray(y_true).astype(str)
    classes = [str(c) for c in classes]
    present = [i for i, c in enumerate(classes) if (y == c).any()]
    if len(present) < 2:
        return None, len(present)
    proba = np.asarray(proba, dtype=float)
    areas = [auc_score(y == classes[i], proba[:, i]) for i in present]
    return float(np.mean(areas)), len(present)


def model_performance(model: Any, data: Any) -> dict:
    """Return ``{"n", "accuracy", "auc", "auc_name", "auc_note"}`` of ``model`` on labelled data.

    The AUC is the positive class's for tabular data with a positive label and two classes
    (``auc_name`` "AUC"); otherwise (several classes, or images) the macro one-vs-rest AUC over the classes
    the labels contain (``auc_name`` "macro one-vs-rest AUC"). ``auc_note`` says which in one sentence, or
    why there is none. Labels and classes are compared as text, so a target of ``1`` matches a class ``"1"``.

    Parameters
    ----------
    model : ingest.Model
        A tabular or image model.
    data : ingest.Dataset or ingest.ImageSet
        With a target (tabular) or labels (images).
    """
    from glasswing import ingest

    if isinstance(data, ingest.Dataset):
        inputs = data.frame if model.feature_names else data.X
        y_true = data.y_true.astype(str).to_numpy()
    else:
        inputs, y_true = data.images, np.asarray(data.labels, dtype=str)
    proba = model.predict_proba(inputs)
    classes = np.asarray(model.classes_).astype(str)
    y_pred = classes[proba.argmax(axis=1)]
    result = {"n": len(y_true), "accuracy": float(np.mean(y_pred == y_true)) if len(y_true) else None,
              "auc": None, "auc_name": AUC_BINARY, "auc_note": AUC_ONE_CLASS}
    positive = str(getattr(data, "positive_label", None))
    unknown = sorted(set(y_true.tolist()) - set(classes.tolist()))
    if unknown:
        result["auc_note"] = AUC_UNKNOWN_LABELS.format(labels=", ".join(unknown[:5]))
    elif isinstance(data, ingest.Dataset) and positive in classes and len(classes) == 2:
        if len(set(y_true)) == 2:
            result["auc"] = auc_score(y_true == positive, proba[:, list(classes).index(positive)])
            result["auc_note"] = AUC_BINARY_NOTE.format(positive=positive)
    else:
        auc, k = macro_ovr_auc(y_true, proba, classes)
        if auc is not None:
            note = AUC_MACRO_NOTE if k == len(classes) else AUC_MACRO_SOME_NOTE
            result.update(auc=auc, auc_name=AUC_MACRO_OVR, auc_note=note.format(k=k, n=len(classes)))
    return result


def accuracy_by_group(y_true, y_pred, groups, *, name: str = "group") -> pd.DataFrame:
    """Rows and accuracy per group (labels compared as text), indexed by group in sorted order.

    Examples
    --------
    >>> accuracy_by_group([1, 0, 1], [1, 1, 1], ["a", "a", "b"]).to_dict("index")
    {'a': {'n': 2, 'accuracy': 0.5}, 'b': {'n': 1, 'accuracy': 1.0}}
    """
    table = pd.DataFrame({name: pd.Series(groups).astype(str).to_numpy(),
                          "correct": np.asarray(y_true).astype(str) == np.asarray(y_pred).astype(str)})
    out = table.groupby(name).agg(n=("correct", "size"), accuracy=("correct", "mean"))
    out.index.name = name
    return out
