"""SHAP in probability units (interventional TreeSHAP): additivity against predict_proba, equal to shap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

from glasswing.explainers import ExplainerError, explain
from glasswing.explainers._shap_probability import float32_thresholds
from glasswing.explainers._shap_tabular import shap_module
from glasswing.ingest import Model
from tests.explainers.test_tabular import background, german_model, rows


@pytest.mark.parametrize("which", ["gbm", "forest"])
def test_base_plus_attributions_is_the_predicted_probability(which):
    model = german_model(which)
    X = rows(40)
    for target in (0, 1):
        out = explain(model, X, method="shap", output="probability", background=background(), target=target)
        proba = model.estimator.predict_proba(X)[:, target]
        assert [e.output for e in out] == ["probability"] * len(X)
        np.testing.assert_allclose([e.prediction for e in out], proba, rtol=0, atol=1e-12)
        np.testing.assert_allclose([e.base_value + e.values.sum() for e in out], proba, rtol=0, atol=1e-6)
    assert out[0].params["feature_perturbation"] == "interventional"
    assert "interventional TreeSHAP" in out[0].reason


def test_equal_to_shaps_own_tree_explainer():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 4)), columns=list("abcd"))
    y = (X["a"] + X["b"] * X["c"] + rng.normal(size=400) > 0).astype(int)
    for clf in (GradientBoostingClassifier(n_estimators=40, random_state=0),
                RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0)):
        clf.fit(X, y)
        model = Model.from_estimator(clf, name="synthetic", sha256="test-synthetic")
        bg = X.iloc[:50]
        out = explain(model, X.iloc[300:320], method="shap", output="probability", background=bg,
                      background_size=50, target=1)
        shap = shap_module()
        ref = shap.TreeExplainer(clf, data=bg.to_numpy(), model_output="probability",
                                 feature_perturbation="interventional")
        sv = np.asarray(ref.shap_values(X.iloc[300:320].to_numpy(), check_additivity=False))
        sv = sv[..., 1] if sv.ndim == 3 else sv
        base = np.ravel(ref.expected_value)[-1]
        np.testing.assert_allclose([e.values for e in out], sv, atol=1e-7)
        np.testing.assert_allclose([e.base_value for e in out], base, atol=1e-9)


def test_thresholds_rounded_to_float32_keep_every_prediction():
    model = german_model("gbm").estimator
    X = rows(300, start=0)
    Xt = model[:-1].transform(X)
    copy = float32_thresholds(model[-1])
    np.testing.assert_array_equal(copy.predict_proba(Xt), model[-1].predict_proba(Xt))
    thresholds = np.concatenate([e.tree_.threshold for e in copy.estimators_.ravel()])
    assert (thresholds.astype(np.float32).astype(np.float64) == thresholds).all()


def test_probability_units_need_a_tree_model():
    with pytest.raises(ExplainerError) as err:
        explain(german_model("logreg"), rows(1), method="shap", output="probability", background=background())
    assert str(err.value) == ("SHAP in probability units is available for tree ensembles (interventional "
                              "TreeSHAP); LinearExplainer explains the log-odds. Choose output 'auto' or a "
                              "tree model.")
