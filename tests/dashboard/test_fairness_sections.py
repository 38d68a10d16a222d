"""AppTest of the Fairness page's fairness check, confusion matrices by group and two-model comparison."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, true_positive_rate
from sklearn.metrics import confusion_matrix

from glasswing._paths import sample_dir
from glasswing.audits import group_metrics
from glasswing.ingest import samples
from tests.conftest import new_apptest


def open_german():
    state = {"gw.model": samples.german_model("gbm"),
             "gw.dataset": samples.german_dataset("test", predictions="gbm")}
    at = new_apptest("fairness.py", 120, state=state)
    assert not at.exception, at.exception
    return at


def figures(at) -> dict:
    out = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        out[spec["layout"]["title"]["text"]] = spec
    return out


def test_fairness_check_and_confusion_matrices_by_group():
    at = open_german()
    frame = pd.read_csv(sample_dir() / "german_test_predictions.csv")
    figs = figures(at)
    check = figs["Fairness check: ratios to male"]  # the largest group is the default reference
    mf = MetricFrame(metrics=true_positive_rate, y_true=frame["risk"], y_pred=frame["gbm_pred"],
                     sensitive_features=frame["sex"])
    female = next(t for t in check["data"] if t["name"] == "female")
    tpr = female["y"].index("TPR")
    assert female["x"][tpr] + 1 == pytest.approx(mf.by_group["female"] / mf.by_group["male"], rel=1e-12)
    assert any(m.value.startswith("**Fairness check:** ") for m in at.markdown)
    heat = figs["Confusion matrix by group (rate within the actual class)"]
    for trace in heat["data"]:
        k = frame["sex"] == trace["name"]
        rates = confusion_matrix(frame["risk"][k], frame["gbm_pred"][k], labels=[1, 0], normalize="true")
        np.testing.assert_allclose(trace["z"], rates, rtol=1e-12)


def test_second_model_gives_the_paired_comparison():
    at = open_german()
    key = next(s.key for s in at.selectbox if s.key and s.key.endswith(".compare.choice"))
    assert at.selectbox(key=key).options == ["No second model", "German credit, logistic regression (sample)",
                                             "Upload a model file"]
    at.selectbox(key=key).set_value("German credit, logistic regression (sample)").run()
    assert not at.exception and not at.error
    assert any("Which groups the change helps or hurts" in m.value for m in at.markdown)
    assert any("1,000 resamples" in c.value for c in at.caption)
    frame = pd.read_csv(sample_dir() / "german_test_predictions.csv")
    gm_a = group_metrics(frame["risk"], frame["gbm_pred"], frame["sex"])
    gm_b = group_metrics(frame["risk"], frame["logreg_pred"], frame["sex"])
    change = figures(at)["Change by group (B − A); * fewer rows than the headline needs"]
    sel = next(t for t in change["data"] if t["name"] == "Selection rate")
    expected = (gm_b.by_group["selection_rate"] - gm_a.by_group["selection_rate"]).loc[["female", "male"]]
    np.testing.assert_allclose(sel["x"], expected.to_numpy(), rtol=1e-12)
    table = at.dataframe[-1].value
    assert {"german_gbm.skops", "german_logreg.skops", "B - A", "change"} <= set(table.columns)
