"""The model a mitigation starts from when the user gives none: a logistic regression on the training rows."""

from __future__ import annotations

import hashlib

from glasswing.ingest import Dataset, Model


def baseline_model(train: Dataset, *, seed: int = 0) -> Model:
    """Return a logistic regression fitted on ``train``: categories one-hot encoded, numbers standardised.

    Parameters
    ----------
    train : ingest.Dataset
        With a target and feature columns (the sensitive columns count as features when they are listed
        among them).
    seed : int, default 0
        The regression's ``random_state``.

    Returns
    -------
    ingest.Model
        A scikit-learn ``Pipeline`` (``preprocess``, ``model``) named "logistic regression (baseline)".
    """
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    features = list(train.roles.features)
    frame = train.frame[features]
    categorical = [c for c in features if pd.api.types.is_bool_dtype(frame[c])
                   or not pd.api.types.is_numeric_dtype(frame[c])]
    numeric = [c for c in features if c not in categorical]
    pipeline = Pipeline([
        ("preprocess", ColumnTransformer([
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
            ("numeric", StandardScaler(), numeric)], verbose_feature_names_out=False)),
        ("model", LogisticRegression(max_iter=1000, random_state=seed))])
    pipeline.fit(frame, train.y_true)
    digest = hashlib.sha256(f"{train.sha256}|baseline|{seed}".encode()).hexdigest()
    return Model.from_estimator(pipeline, name="logistic regression (baseline)", sha256=digest,
                                feature_names=features, source_format="memory")
