"""The SHAP unit switch of Explain: tabular under AppTest: probability units end at predict_proba."""

from __future__ import annotations

import json

import pytest

from tests.dashboard.test_explain_tabular import seeded
from tests.explainers.test_tabular import FEATURES, german_frame, german_model


def test_unit_switch_explains_in_probabilities():
    at = seeded()
    assert not at.exception
    at.number_input(key="xt.sample.True").set_value(100)
    at.segmented_control(key="xt.units").set_value("Probability").run()
    assert not at.exception and not at.error
    assert "SHAP values are in probability." in at.caption[1].value
    assert "(interventional TreeSHAP against the background rows, in probability units" in at.caption[0].value
    # Row 0's waterfall starts at the base value and ends at the predicted probability of its class.
    proba = german_model("gbm").estimator.predict_proba(german_frame()[FEATURES].iloc[[0]])[0]
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    waterfall = next(f for f in figs if f["data"][0]["type"] == "waterfall")["data"][0]
    assert waterfall["x"][-1] == pytest.approx(proba.max(), abs=1e-6)
    assert sum(waterfall["x"][:-1]) == pytest.approx(proba.max(), abs=1e-6)
