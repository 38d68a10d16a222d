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


def model_performance(model: Any, data: Any) -> dict:
    """Return ``{"n", "accuracy", "auc"}`` of ``model`` on labelled data (AUC: tabular binary only).

    Labels and classes are compared as text, so a target of ``1`` matches a class ``"1"``.

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
              "auc": None}
    positive = str(getattr(data, "positive_label", None))
    if isinstance(data, ingest.Dataset) and positive in classes and len(set(y_true)) == 2:
        result["auc"] = auc_score(y_true == positive, proba[:, list(classes).index(positive)])
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
