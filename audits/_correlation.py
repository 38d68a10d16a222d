"""Correlation removal: fairlearn's ``CorrelationRemover`` as a step inside the retrained pipeline.

The mitigated model is one scikit-learn ``Pipeline`` that takes the original columns (the model's features
plus the sensitive ones): text and category columns one-hot encoded, then ``CorrelationRemover`` projects
the other columns onto the complement of the sensitive ones (``alpha`` = 1 removes the linear correlation
in full, 0 keeps the data) and drops the sensitive columns, then the numbers are standardised and a seeded
clone of the model's final estimator is refitted. The training changes the data the model sees, not the
labels; the same step transforms every row the exported model scores.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def correlation_pipeline(columns: list[str], frame: pd.DataFrame, sensitive: list[str], final: Any, *,
                         alpha: float = 1.0) -> Any:
    """Return the unfitted pipeline: one-hot encoding, ``CorrelationRemover(alpha)``, scaling, ``final``.

    Parameters
    ----------
    columns : list of str
        The columns the pipeline takes, in order (features and sensitive columns).
    frame : pandas.DataFrame
        Training rows, to tell text from numbers and to list the categories of the sensitive columns.
    sensitive : list of str
        The sensitive columns (their one-hot columns, or the column itself when numeric, are removed).
    final : estimator
        The unfitted final estimator.
    alpha : float, default 1.0
        ``CorrelationRemover``'s ``alpha``: how much of the correlation is removed.
    """
    from fairlearn.preprocessing import CorrelationRemover
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = [c for c in columns if pd.api.types.is_bool_dtype(frame[c])
                   or not pd.api.types.is_numeric_dtype(frame[c])]
    numeric = [c for c in columns if c not in categorical]
    encode = ColumnTransformer([("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                                 categorical), ("numeric", "passthrough", numeric)],
                               verbose_feature_names_out=False)
    encode.fit(frame[columns])
    widths = [len(c) for c in encode.named_transformers_["categorical"].categories_] if categorical else []
    ids = []  # the encoded positions of the sensitive columns: categories first, then the numbers
    for s in sensitive:
        if s in categorical:
            start = sum(widths[:categorical.index(s)])
            ids += list(range(start, start + widths[categorical.index(s)]))
        else:
            ids.append(sum(widths) + numeric.index(s))
    return Pipeline([("encode", encode),
                     ("correlation_remover", CorrelationRemover(sensitive_feature_ids=ids, alpha=alpha)),
                     ("scale", StandardScaler()), ("model", final)])


def fit_correlation_remover(task) -> Any:
    """Fit ``correlation_remover`` (see ``audits._mitigation``)."""
    from glasswing.audits._mitigation import _final_step, _retrained, _seeded_clone

    sensitive = list(task.s_train.columns)
    columns = list(dict.fromkeys([*task.features, *sensitive]))
    task.report(0.2, "Removing the correlation with the sensitive columns and retraining")
    final = _seeded_clone(_final_step(task.model.estimator), task.seed)
    pipeline = correlation_pipeline(columns, task.train.frame, sensitive, final, alpha=task.params["alpha"])
    pipeline.fit(task.train.frame[columns], task.y_train)
    return _retrained(task, pipeline, columns, "decorrelated")
