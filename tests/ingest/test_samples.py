"""The shipped samples load through the safe loaders and reproduce what the build logged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from glasswing import ingest
from glasswing._paths import sample_dir
from glasswing.ingest import samples


@pytest.mark.parametrize("which", ["gbm", "logreg"])
def test_german_models_reproduce_the_logged_predictions(which):
    model, data = samples.german_model(which), samples.german_dataset("test", predictions=which)
    ingest.check_model_fits(model, data)
    assert (model.kind, model.source_format) == ("sklearn", "skops")
    assert model.feature_names == samples.GERMAN_FEATURES
    logged = pd.read_csv(sample_dir() / "german_test_predictions.csv")  # written by the build's own pipeline
    np.testing.assert_array_equal(model.predict(data.frame), logged[f"{which}_pred"])
    np.testing.assert_allclose(model.predict_proba(data.frame)[:, 1], logged[f"{which}_score"], atol=1e-9)
    assert (data.roles.prediction, data.roles.score) == (f"{which}_pred", f"{which}_score")


@pytest.mark.parametrize("split, rows", [("test", 300), ("train", 700), ("all", 1000)])
def test_german_splits(split, rows):
    data = samples.german_dataset(split)
    assert len(data) == rows
    assert (data.roles.target, data.roles.sensitive, data.roles.features) == (
        "risk", ("sex",), samples.GERMAN_FEATURES)
    assert data.positive_label == 1 and set(data.y_true) == {0, 1}


def test_german_test_split_without_logged_predictions():
    data = samples.german_dataset("test", predictions=None)
    assert data.roles.prediction is None and data.roles.score is None


def test_digits_formats_agree():
    images = samples.digits_images()
    assert len(images) == 20 and images.groups["watermark"].value_counts().to_dict() == {"no": 10, "yes": 10}
    assert sorted(set(images.labels)) == [str(d) for d in range(10)]
    probas = {}
    for fmt in ("safetensors", "torchscript", "onnx"):
        model = samples.digits_model(fmt)
        ingest.check_model_fits(model, images)
        assert model.classes_.tolist() == [str(d) for d in range(10)]
        probas[fmt] = model.predict_proba(images.images)
    assert samples.digits_model("safetensors").hookable
    np.testing.assert_allclose(probas["torchscript"], probas["safetensors"], atol=1e-5)
    np.testing.assert_allclose(probas["onnx"], probas["safetensors"], atol=1e-4)


def test_missing_samples_say_how_to_build_them(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSWING_SAMPLE_DIR", str(tmp_path))
    with pytest.raises(ingest.IngestError) as info:
        samples.german_model()
    assert str(info.value) == (f"The sample file '{tmp_path / 'models/german_gbm.skops'}' is missing; run "
                               "`make samples` to build the samples.")


@pytest.mark.parametrize("call, message", [
    (lambda: samples.german_model("svm"),
     "There is no German Credit model 'svm'; choose one of: gbm, logreg."),
    (lambda: samples.german_dataset("val"),
     "There is no German Credit split 'val'; choose one of: test, train, all."),
    (lambda: samples.digits_model("keras"),
     "There is no digits model format 'keras'; choose one of: safetensors, torchscript, onnx."),
])
def test_unknown_sample_names(call, message):
    with pytest.raises(ingest.IngestError) as info:
        call()
    assert str(info.value) == message
