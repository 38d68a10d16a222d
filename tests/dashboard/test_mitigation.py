"""AppTest of the Mitigation page: seeded samples, methods run, numbers checked against fairlearn."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import skops.io
from fairlearn.metrics import demographic_parity_difference
from sklearn.base import clone

from glasswing.audits import _mitigation as mit
from glasswing.dashboard import _mitigation as dmit
from glasswing.dashboard._state import roles_key
from glasswing.dashboard._text import md
from glasswing.ingest import Model, samples
from tests.conftest import new_apptest

PAGE = "mitigation.py"


def open_page(model=None, data=None):
    at = new_apptest(PAGE, state={"gw.model": model, "gw.dataset": data})
    assert not at.exception, at.exception
    return at


def run(at):
    at.button(key="mitigation.run").click()
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def german():
    return samples.german_model("logreg"), samples.german_dataset("test")


def test_without_a_model_it_says_what_to_load():
    at = open_page()
    expected = "Load a tabular model and a dataset with a target and a sensitive column first."
    assert at.info[0].value == expected


def test_reweighing_on_the_samples_before_and_after(german):
    model, data = german
    at = open_page(model, data)
    assert at.radio(key="mitigation.source").value == dmit.TRAIN_SAMPLE
    assert at.selectbox(key="mitigation.method").value == "reweighing"
    assert at.info[0].value.startswith("Choose a method and a constraint")
    run(at)
    assert at.subheader[0].value == "Reweighing (demographic parity)"
    # the shown numbers equal fairlearn's on the predictions of a refit made here, by hand
    train = samples.german_dataset("train")
    frame = train.frame
    n_g = frame.groupby("sex")["risk"].transform("size")
    n_y = frame.groupby("risk")["risk"].transform("size")
    n_gy = frame.groupby(["sex", "risk"])["risk"].transform("size")
    weights = (n_g * n_y / (len(frame) * n_gy)).to_numpy()
    refit = clone(model.estimator)
    refit.set_params(model__random_state=0).fit(train.X, train.y_true, model__sample_weight=weights)
    sex = data.frame["sex"]
    before = demographic_parity_difference(data.y_true, model.predict(data.X), sensitive_features=sex)
    after = demographic_parity_difference(data.y_true, refit.predict(data.X), sensitive_features=sex)
    dp = next(m for m in at.metric if m.label == "Demographic parity difference")
    assert dp.value == f"{after:.3f}" and dp.delta == f"{after - before:+.3f} (was {before:.3f})"
    assert after < before
    table = at.dataframe[0].value
    assert list(table.index) == ["female", "male"]
    assert table[("Selection rate", "before")].loc["female"] == pytest.approx(
        (model.predict(data.X)[data.frame["sex"] == "female"] == 1).mean(), abs=5e-4)  # shown to 3 places
    assert len(at.get("plotly_chart")) == 2
    # exports: the weights CSV and a skops model that predicts like the refit
    result = dmit.run(model.sha256, *_shas(train, data), roles_key(data), "reweighing",
                      "demographic_parity", 0, _model=model, _train=train, _test=data)
    csv = pd.read_csv(io.BytesIO(dmit.weights_csv(result, train)))
    assert list(csv.columns) == ["sex", "risk", "weight"]
    np.testing.assert_allclose(csv["weight"], weights, atol=1e-15)
    blob = dmit.model_skops(result.model.sha256, result)
    loaded = skops.io.loads(blob, trusted=skops.io.get_untrusted_types(data=blob))
    np.testing.assert_array_equal(loaded.predict(data.X), refit.predict(data.X))
    assert [b.proto.label for b in at.get("download_button")] == ["Weights (CSV)", "Retrained model (skops)",
                                                                  "Review queue (CSV)"]  # Review band tab


def _shas(train, test):
    return train.sha256, test.sha256


def test_every_method_tried_becomes_a_point(german):
    at = open_page(*german)
    run(at)
    at.selectbox(key="mitigation.method").set_value("threshold_optimizer").run()
    at.selectbox(key="mitigation.constraint.threshold_optimizer").set_value("equalized_odds").run()
    run(at)
    assert not at.exception
    assert at.subheader[0].value == "Threshold optimizer (equalized odds)"
    rows = at.session_state[dmit.TRIED]["rows"]
    assert [r["label"] for r in rows] == ["Reweighing (demographic parity)",
                                          "Threshold optimizer (equalized odds)"]
    tradeoff = at.get("plotly_chart")[1].proto.spec
    assert "Threshold optimizer (equalized odds)" in tradeoff and "Original model" in tradeoff
    assert dmit.NO_MODEL_EXPORT["threshold_optimizer"] in [c.value for c in at.caption]
    assert [b.proto.label for b in at.get("download_button")] == ["Review queue (CSV)"]


def test_model_that_cannot_be_retrained_offers_post_processing(german):
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    _, data = german
    cols = ["credit_amount", "duration", "age"]
    knn = make_pipeline(StandardScaler(), KNeighborsClassifier()).fit(data.frame[cols], data.y_true)
    at = open_page(Model.from_estimator(knn, name="knn", sha256="k" * 64), data)
    expected = mit.NO_SAMPLE_WEIGHT.format(label="Reweighing", estimator="KNeighborsClassifier")
    assert at.warning[0].value == md(expected)  # the sentence, escaped as Markdown
    assert at.button(key="mitigation.run").disabled
    at.selectbox(key="mitigation.method").set_value("threshold_optimizer").run()
    assert not at.warning and not at.button(key="mitigation.run").disabled
    run(at)
    assert at.subheader[0].value == "Threshold optimizer (demographic parity)"


def test_bad_training_upload_is_one_sentence_and_the_last_result_stays(german):
    model, data = german
    at = open_page(model, data)
    run(at)
    at.radio(key="mitigation.source").set_value(dmit.TRAIN_UPLOAD).run()
    assert not at.exception
    at.button(key="mitigation.run").click().run()
    assert at.info[0].value == "Upload the training rows first."
    assert dmit.SHOWN in at.session_state and at.session_state["gw.model"] is model


def test_group_with_one_label_in_the_split_is_named(german):
    model, data = german
    frame = data.frame.copy()
    frame.loc[frame["sex"] == "female", "risk"] = 1
    from dataclasses import replace

    at = open_page(model, replace(data, frame=frame, sha256="one-label", name="odd.csv"))
    assert at.radio(key="mitigation.source").value == dmit.TRAIN_SPLIT
    run(at)
    assert [e.value for e in at.error] == [md(
        "Group sex=female has only label 1 in y_true, so its reweighing weights are undefined; every group "
        "needs rows of each label (0, 1): merge it with another group or drop it.")]
    assert at.info[0].value.startswith("Choose a method and a constraint")  # nothing shown, nothing lost
    assert at.session_state["gw.dataset"].name == "odd.csv"
