"""A small audited model and dataset for the report tests, with numbers checked against fairlearn."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from glasswing.ingest import ColumnRoles, Dataset, Model


def make_case(seed: int = 0, n: int = 400):
    """A credit-like table where men are approved more often, a fitted pipeline, and their digests."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.integers(18, 70, n), "income": rng.normal(50, 10, n).round(2),
                          "sex": rng.choice(["female", "male"], n, p=[0.45, 0.55])})
    score = frame["income"] + rng.normal(0, 5, n) + 6 * (frame["sex"] == "male")
    frame["approved"] = (score > 53).astype(int)
    pipe = make_pipeline(ColumnTransformer([("sex", OneHotEncoder(drop="first"), ["sex"])],
                                           remainder="passthrough"), LogisticRegression(max_iter=1000))
    pipe.fit(frame[["age", "income", "sex"]], frame["approved"])
    model = Model.from_estimator(pipe, name="credit_logreg.skops",
                                 sha256=hashlib.sha256(b"credit model v1").hexdigest())
    roles = ColumnRoles(target="approved", sensitive=("sex",), features=("age", "income", "sex"))
    data = Dataset(frame, roles, "credit.csv", hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest())
    return model, data


@pytest.fixture(scope="session")
def case():
    return make_case()


@pytest.fixture(scope="session")
def audited(case):
    """(model, data, GroupMetrics, fairlearn MetricFrame) on the same predictions."""
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate

    from glasswing import audits

    model, data = case
    gm = audits.audit_dataset(data, model)
    y_pred = model.predict(data.X)
    mf = MetricFrame(metrics={"selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
                              "false_positive_rate": false_positive_rate},
                     y_true=data.y_true, y_pred=y_pred, sensitive_features=data.frame["sex"])
    return model, data, gm, mf
