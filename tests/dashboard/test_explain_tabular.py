"""The Explain: tabular page under Streamlit's AppTest, with a model and data seeded into the session."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from glasswing import explainers
from glasswing.explainers._rows import NO_MATCH, NOT_A_NUMBER
from glasswing.ingest import ColumnRoles, Dataset
from glasswing.reports import charts
from tests.conftest import new_apptest
from tests.explainers.test_tabular import FEATURES, german_frame, german_model

PAGE = "explain_tabular.py"


def german_data(frame: pd.DataFrame | None = None, sha: str = "test-german") -> Dataset:
    frame = german_frame() if frame is None else frame
    return Dataset(frame, ColumnRoles(target="risk", sensitive=("sex",), features=tuple(FEATURES)), "german",
                   sha)


def seeded(model=None, data=None):
    return new_apptest(PAGE, 120, state={"gw.model": model or german_model("gbm"),
                                         "gw.dataset": data or german_data()})


def figures(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def trace_types(at) -> list[str]:
    return [fig["data"][0].get("type") for fig in figures(at)]


def test_page_asks_for_a_model_first():
    at = new_apptest("explain_tabular.py")
    assert not at.exception
    assert at.info[0].value == "Load a tabular model first."


def test_global_local_and_what_if_render_for_the_sample_model():
    at = seeded()
    assert not at.exception and not at.error
    assert at.caption[0].value.startswith("SHAP uses **TreeExplainer**: GradientBoostingClassifier is a tree")
    assert at.caption[1].value.startswith("Global views rest on **1,000 of 1,000 rows**, a sample stratified "
                                          "by sex (seed 0), and explain class **1** for every row. Bars show "
                                          "mean |SHAP| with 95% bootstrap intervals (200 resamples")
    assert trace_types(at) == ["bar", "bar", "scatter", "scatter", "waterfall", "bar", "waterfall"]
    assert at.info[0].value.startswith("SHAP and LIME ")
    # The waterfall of row 0 ends at the model's own log-odds for its predicted class.
    pipe = german_model("gbm").estimator
    log_odds = float(pipe.decision_function(german_frame()[FEATURES].iloc[[0]])[0])
    waterfall = next(f for f in figures(at) if f["data"][0]["type"] == "waterfall")["data"][0]
    assert sum(waterfall["x"][:-1]) == pytest.approx(log_odds, abs=1e-9)
    assert waterfall["x"][-1] == pytest.approx(log_odds, abs=1e-9)
    methods = at.markdown[0].value
    assert methods.startswith("**Methods for this model:** SHAP, LIME, Permutation importance.")
    assert "*Grad-CAM* does not apply: it works on image models and this is a tabular model." in methods


def test_a_row_out_of_range_is_one_sentence_and_nothing_is_lost():
    at = seeded()
    at.number_input(key="xt.row").set_value(5000).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Row 5000 is out of range; the data has 1,000 rows (0 to 999)."]
    assert at.session_state["gw.model"] is german_model("gbm")
    assert trace_types(at)[:4] == ["bar", "bar", "scatter", "scatter"]  # global views still there
    assert at.info[0].value == "Pick a valid row on the One row tab first."


def test_a_method_that_cannot_explain_this_model_is_one_sentence():
    at = seeded()
    at.selectbox(key="xt.algorithm").set_value("linear").run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "SHAP's LinearExplainer needs a logistic regression; this is GradientBoostingClassifier."]


def test_filter_finds_false_negatives_among_women_over_50():
    at = seeded()
    at.segmented_control(key="xt.pick").set_value("By filter").run()
    at.selectbox(key="xt.outcome").set_value("false negatives")
    at.selectbox(key="xt.cond0.column").set_value("sex")
    at.text_input(key="xt.cond0.value").input("female")
    at.selectbox(key="xt.cond1.column").set_value("age")
    at.selectbox(key="xt.cond1.op").set_value(">")
    at.text_input(key="xt.cond1.value").input("50").run()
    assert not at.exception and not at.error
    frame = german_frame()
    pred = german_model("gbm").estimator.predict(frame[FEATURES])
    expected = np.flatnonzero((frame["risk"] == 1) & (pred != 1) & (frame["sex"] == "female")
                              & (frame["age"] > 50))
    assert len(expected) > 0
    match = at.selectbox(key="xt.match")
    assert match.label == f"{len(expected):,} rows match; explain row"
    assert match.options == [str(i) for i in expected]
    assert f"Row **{expected[0]}**" in at.markdown[1].value


def test_a_filter_with_a_bad_value_or_no_match_is_one_sentence():
    at = seeded()
    at.segmented_control(key="xt.pick").set_value("By filter").run()
    at.selectbox(key="xt.cond0.column").set_value("age")
    at.text_input(key="xt.cond0.value").input("old").run()
    assert [e.value for e in at.error] == [NOT_A_NUMBER.format(value="old", column="age")]
    at.text_input(key="xt.cond0.value").input("500").run()
    assert [e.value for e in at.error] == [NO_MATCH]


def test_what_if_updates_the_prediction():
    at = seeded()
    at.number_input(key="xt.row").set_value(3).run()
    at.session_state["xt.whatif.3.housing"] = "rent"
    at.session_state["xt.whatif.3.duration"] = 60
    at.run()
    assert not at.exception and not at.error
    edited = german_frame()[FEATURES].iloc[[3]].assign(housing="rent", duration=60)
    proba = german_model("gbm").estimator.predict_proba(edited)[0]
    (metric,) = at.metric
    target = int(metric.label.removeprefix("Probability of "))
    assert metric.value == f"{proba[target]:.3f}"


def test_what_if_of_an_unchanged_row_says_no_change_without_a_green_delta():
    at = seeded()
    assert not at.exception and not at.error
    (metric,) = at.metric
    original = german_model("gbm").estimator.predict_proba(german_frame()[FEATURES].iloc[[0]])[0]
    assert metric.label == f"Probability of {original.argmax()}"
    assert metric.value == f"{original.max():.3f}"
    assert metric.delta == "no change vs the original row"
    assert metric.proto.color == metric.proto.MetricColor.GRAY  # not green
    assert metric.proto.direction == metric.proto.MetricDirection.NONE  # no arrow
    assert not at.warning


def test_what_if_keeps_the_change_visible_when_the_class_flips():
    at = seeded()
    at.session_state["xt.whatif.0.duration"] = 60  # row 0 is predicted 1; 60 months flips it to 0
    at.run()
    assert not at.exception and not at.error
    pipe = german_model("gbm").estimator
    before = pipe.predict_proba(german_frame()[FEATURES].iloc[[0]])[0]
    after = pipe.predict_proba(german_frame()[FEATURES].iloc[[0]].assign(duration=60))[0]
    assert (before.argmax(), after.argmax()) == (1, 0)  # the planted flip
    (metric,) = at.metric
    assert metric.label == "Probability of 1"  # still the original row's class: the change stays visible
    assert metric.value == f"{after[1]:.3f}"
    assert metric.delta == f"{after[1] - before[1]:+.3f} vs the original row"
    assert metric.proto.color == metric.proto.MetricColor.RED
    (warning,) = at.warning
    assert warning.value == (f"The prediction flipped: the original row is predicted 1 ({before[1]:.3f}), "
                             f"the edited row 0 ({after[0]:.3f}). The waterfall explains 0.")


def test_a_widget_change_that_needs_no_recomputation_computes_nothing(monkeypatch):
    at = seeded()
    calls = []
    real = explainers.explain
    monkeypatch.setattr(explainers, "explain", lambda *a, **k: calls.append(k.get("method")) or real(*a, **k))
    at.selectbox(key="xt.dep.feature").set_value("age")
    at.selectbox(key="xt.dep.color").set_value("sex").run()
    assert not at.exception and calls == []
    dependence = figures(at)[3]
    assert dependence["layout"]["title"]["text"] == "How age moves the output, coloured by sex"


def test_a_100k_row_dataset_is_explained_on_a_stated_sample():
    big = german_frame().sample(100_000, replace=True, random_state=0).reset_index(drop=True)
    at = seeded(data=german_data(big, sha="test-german-100k"))
    assert not at.exception and not at.error
    assert at.caption[1].value.startswith("Global views rest on **1,000 of 100,000 rows**, a sample "
                                          "stratified by sex (seed 0)")
    assert "shuffled 5 times across 1,000 rows" in at.caption[1].value


def test_black_box_models_get_a_smaller_default_sample():
    data = german_data(german_frame().iloc[:300], sha="test-german-300")
    at = seeded(model=german_model("logreg"), data=data)
    at.session_state["xt.sample.False"] = 10  # the slow algorithms' own sample-size widget
    at.session_state["xt.background"] = 10
    at.selectbox(key="xt.algorithm").set_value("permutation").run()
    assert not at.exception and not at.error
    assert at.caption[0].value.startswith("SHAP uses **PermutationExplainer**: Chosen by you.")
    assert "Global views rest on **10 of 300 rows**" in at.caption[1].value


def _dots(at) -> np.ndarray:
    """The beeswarm's x values (plotly's JSON may pack an array as base64 ``bdata``)."""
    import base64

    def array(x):
        if isinstance(x, dict):
            return np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"]).astype(float)
        return np.asarray(x, dtype=float)

    return np.concatenate([array(t["x"]) for t in figures(at)[2]["data"] if t.get("x") is not None])


def test_a_binary_beeswarm_explains_one_class_for_every_point():
    from glasswing.explainers._shap_tabular import shap_module

    shap = shap_module()
    model = german_model("gbm")
    data = german_data()
    at = seeded(model, data)
    assert not at.exception, at.exception
    assert at.selectbox(key="xt.class").value == 1  # the positive outcome
    beeswarm = figures(at)[2]
    assert beeswarm["layout"]["title"]["text"].endswith("rows for class 1")
    # every dot is the TreeExplainer value for class 1 (log-odds of "good"), whichever class the row predicts
    frame = data.frame[list(model.feature_names)]
    tm = explainers.tabular_model(model)
    reference = shap.TreeExplainer(tm.final).shap_values(tm.transform(frame))
    reference = tm.to_features(np.asarray(reference).reshape(len(frame), -1))
    predicted = model.predict(frame)
    assert len(set(predicted.tolist())) == 2  # rows of both predicted classes are in the plot
    dots = _dots(at)
    assert np.isin(np.round(dots, 6), np.round(reference.ravel(), 6)).all()
    at.selectbox(key="xt.class").set_value(0).run()
    assert not at.exception
    flipped = _dots(at)
    np.testing.assert_allclose(np.sort(flipped), np.sort(-dots), atol=1e-6)  # binary: class 0 = -class 1


def test_charts_refuse_a_mix_of_classes():
    from glasswing.reports.charts._tabular import MIXED_CLASSES

    mixed = explainers.explain(german_model("gbm"), german_frame()[FEATURES].iloc[:40], method="shap")
    assert len({e.target for e in mixed}) == 2  # each row for its own predicted class
    with pytest.raises(ValueError) as err:
        charts.beeswarm_figure(mixed)
    assert str(err.value) == MIXED_CLASSES.format(classes="0, 1") or \
        str(err.value) == MIXED_CLASSES.format(classes="1, 0")
