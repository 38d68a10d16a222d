"""Model files: every safe format loads and predicts like the original object; bad files are sentences."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import save as safetensors_save

from glasswing import ingest
from glasswing.ingest import ImagePreprocess, load_model
from tests.ingest.conftest import FEATURES, random_images

PRE16 = ImagePreprocess(size=(16, 16), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))


def _err(fn, *args, **kwargs) -> str:
    with pytest.raises(ingest.IngestError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def _reference_proba(module, images, preprocess):
    """Softmax of the original module on the same preprocessed batch (independent of Model)."""
    with torch.no_grad():
        return torch.softmax(module(preprocess.to_tensor(images)), dim=1).double().numpy()


# ------------------------------------------------------------------ scikit-learn (skops)
def test_skops_pipeline(skops_bytes, pipeline, credit_frame):
    model = load_model(skops_bytes, name="credit.skops")
    assert (model.kind, model.modality, model.source_format) == ("sklearn", "tabular", "skops")
    assert model.feature_names == tuple(FEATURES)
    assert model.classes_.tolist() == [0, 1]
    import hashlib

    assert model.sha256 == hashlib.sha256(skops_bytes).hexdigest()
    expected = pipeline.predict_proba(credit_frame[FEATURES])
    np.testing.assert_allclose(model.predict_proba(credit_frame), expected)


def _custom_scale(x):
    return x * 2.0


def test_skops_with_a_stored_function_needs_trust(credit_frame):
    import skops.io
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    estimator = Pipeline([("scale", FunctionTransformer(_custom_scale)), ("clf", LogisticRegression())])
    estimator.fit(credit_frame[["income", "age"]], credit_frame["approved"])
    data = skops.io.dumps(estimator)
    with pytest.raises(ingest.UntrustedFileError) as info:
        load_model(data, name="custom.skops")
    assert str(info.value) == (
        "'custom.skops' stores the function tests.ingest.test_models._custom_scale (the func of a "
        "FunctionTransformer), and a function in a model file runs when the model scores data, where it can "
        "read or write files; mark it trusted (--trust, or 'I trust this file' in the dashboard) only if you "
        "know where it came from.")
    assert ingest.untrusted_parts(data, name="custom.skops") == (
        "the function tests.ingest.test_models._custom_scale",)
    model = load_model(data, name="custom.skops", trusted=True)
    np.testing.assert_allclose(model.predict_proba(credit_frame),
                               estimator.predict_proba(credit_frame[["income", "age"]]))


def test_skops_regressor_is_not_a_classifier(credit_frame):
    import skops.io
    from sklearn.linear_model import LinearRegression

    data = skops.io.dumps(LinearRegression().fit(credit_frame[["age"]], credit_frame["income"]))
    assert _err(load_model, data, name="reg.skops") == (
        "'reg.skops' holds a LinearRegression without predict_proba; Glasswing needs a classifier that "
        "returns class probabilities.")


def test_corrupt_skops(skops_bytes):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", "{not json")
    message = _err(load_model, buffer.getvalue(), name="broken.skops")
    assert message.startswith("'broken.skops' looks like a skops file but could not be loaded: ")


# ------------------------------------------------------------------ ONNX
def test_onnx_tabular_one_input_per_column(onnx_tabular_bytes, column_pipeline, credit_frame):
    model = load_model(onnx_tabular_bytes, name="lr.onnx")
    assert (model.kind, model.modality, model.feature_names) == ("onnx", "tabular", tuple(FEATURES))
    assert model.classes_.tolist() == [0, 1]
    expected = column_pipeline.predict_proba(credit_frame[FEATURES].astype({"age": np.float32}))
    np.testing.assert_allclose(model.predict_proba(credit_frame), expected, atol=1e-5)


def test_onnx_tabular_single_matrix(onnx_matrix_bytes, numeric_logreg, credit_frame):
    model = load_model(onnx_matrix_bytes, name="lr.onnx")
    assert model.feature_names is None and model.info["n_features"] == 2
    X = credit_frame[["income", "age"]].astype(np.float32)
    np.testing.assert_allclose(model.predict_proba(X), numeric_logreg.predict_proba(X), atol=1e-5)


def test_onnx_image_needs_preprocess(onnx_image_bytes):
    assert _err(load_model, onnx_image_bytes, name="cnn.onnx") == (
        "'cnn.onnx' is an image model without preprocessing information; give its input size, mean and std "
        "(--input-size 224 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 or --preprocess FILE.json on the "
        "command line, 'Set the image preprocessing' in the dashboard, preprocess={\"size\": [224, 224], "
        "...} in Python).")


def test_onnx_image(onnx_image_bytes, tiny_cnn):
    model = load_model(onnx_image_bytes, name="cnn.onnx", preprocess=PRE16)
    assert (model.kind, model.modality, model.classes_.tolist()) == ("onnx", "image", [0, 1, 2])
    images = random_images()
    expected = _reference_proba(tiny_cnn, images, PRE16)
    np.testing.assert_allclose(model.predict_proba(images), expected, atol=1e-5)


def test_onnx_image_preprocess_and_classes_from_metadata(onnx_image_bytes):
    import onnx

    proto = onnx.load_model_from_string(onnx_image_bytes)
    for key, value in {"preprocess": json.dumps({"size": [16, 16], "mean": [0.5] * 3, "std": [0.25] * 3}),
                       "class_names": json.dumps(["cat", "dog", "fox"])}.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    model = load_model(proto.SerializeToString(), name="cnn.onnx")
    assert model.preprocess == PRE16 and model.classes_.tolist() == ["cat", "dog", "fox"]


def test_onnx_by_content_without_suffix(onnx_tabular_bytes):
    assert ingest.detect_model_format(onnx_tabular_bytes, name="upload") == "onnx"


# ------------------------------------------------------------------ TorchScript
def test_torchscript(torchscript_bytes, tiny_cnn):
    model = load_model(torchscript_bytes, name="cnn.pt", preprocess=PRE16)
    assert (model.kind, model.source_format, model.hookable, model.differentiable) == (
        "torchscript", "torchscript", False, True)
    images = random_images()
    expected = _reference_proba(tiny_cnn, images, PRE16)
    np.testing.assert_allclose(model.predict_proba(images), expected, atol=1e-6)


def test_torchscript_needs_preprocess(torchscript_bytes):
    assert _err(load_model, torchscript_bytes, name="cnn.pt").startswith(
        "'cnn.pt' is an image model without preprocessing information")


def test_image_model_that_does_not_take_the_input_size(torchscript_bytes):
    message = _err(load_model, torchscript_bytes, name="cnn.pt",
                   preprocess={"size": [16, 16], "grayscale": True, "mean": [0.5], "std": [0.5]})
    assert message.startswith("'cnn.pt' could not run on a 1 x 16 x 16 image batch: ")


# ------------------------------------------------------------------ safetensors / state dicts
def test_safetensors_resnet18_reads_num_classes_from_the_weights(resnet18_3class):
    data = safetensors_save(resnet18_3class.state_dict())
    model = load_model(data, name="r18.safetensors", architecture="resnet18")
    assert (model.kind, model.architecture, model.hookable) == ("torch", "resnet18", True)
    assert model.classes_.tolist() == [0, 1, 2]
    assert model.preprocess == ImagePreprocess(size=(224, 224))  # ImageNet defaults
    images = random_images(2, size=64)
    np.testing.assert_allclose(model.predict_proba(images),
                               _reference_proba(resnet18_3class, images, model.preprocess), atol=1e-5)


def test_safetensors_metadata_names_architecture_classes_and_preprocess(resnet18_3class):
    meta = {"architecture": "resnet18", "class_names": json.dumps(["a", "b", "c"]),
            "preprocess": json.dumps({"size": [64, 64]})}
    model = load_model(safetensors_save(resnet18_3class.state_dict(), metadata=meta), name="r.safetensors")
    assert model.classes_.tolist() == ["a", "b", "c"] and model.preprocess.size == (64, 64)


def test_state_dict_pt_with_architecture(resnet18_3class):
    buffer = io.BytesIO()
    torch.save(resnet18_3class.state_dict(), buffer)
    assert ingest.detect_model_format(buffer.getvalue(), name="r.pt") == "torch"
    model = load_model(buffer.getvalue(), name="r.pt", architecture="resnet18")
    assert model.kind == "torch" and len(model.classes_) == 3


def test_weights_need_an_architecture(resnet18_3class):
    assert _err(load_model, safetensors_save(resnet18_3class.state_dict()), name="w.safetensors") == (
        "'w.safetensors' holds only weights; name the architecture they belong to (a torchvision model such "
        "as resnet18, or glasswing.digits_cnn).")


def test_unknown_architecture(resnet18_3class):
    assert _err(load_model, safetensors_save(resnet18_3class.state_dict()), name="w.safetensors",
                architecture="resnet19") == (
        "Architecture 'resnet19' is not known; use glasswing.digits_cnn or a torchvision model name such as "
        "resnet18, resnet50, mobilenet_v3_small, efficientnet_b0, vit_b_16.")


def test_weights_that_do_not_fit_the_architecture(tiny_cnn):
    message = _err(load_model, safetensors_save(tiny_cnn.state_dict()), name="w.safetensors",
                   architecture="resnet18")
    assert message.startswith("The weights in 'w.safetensors' do not fit architecture 'resnet18' (")
    assert "missing and" in message and message.endswith("').")


# ------------------------------------------------------------------ not a model
@pytest.mark.parametrize("data, name", [(b"hello, world\n", "notes.txt"), (b"PK\x03\x04garbage", "x.zip"),
                                        (bytes(range(256)) * 4, "model.bin")])
def test_unknown_format(data, name):
    assert _err(load_model, data, name=name) == (
        f"'{name}' is not a model file Glasswing can read; use .skops (scikit-learn), .onnx, TorchScript "
        ".pt, .safetensors or a PyTorch state dict (.pt/.pth).")


def test_bad_preprocess():
    assert _err(ingest.as_preprocess, {"size": [0, 4]}) == (
        "The image preprocessing {'size': [0, 4]} is not valid: size must be (height, width) in pixels.")
    assert _err(ingest.as_preprocess, {"size": [4, 4], "mean": ["x"]}).startswith(
        "The image preprocessing {'size': [4, 4], 'mean': ['x']} is not valid: ValueError")


# ------------------------------------------------------------------ input layout
class _ViewFlattener(torch.nn.Module):
    """A LeNet-style model that reshapes with ``.view()``: it cannot take a channels-last batch."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.fc = torch.nn.Linear(4 * 16 * 16, 3)

    def forward(self, x):
        a = self.conv(x)
        return self.fc(a.view(a.shape[0], -1))


def test_channels_last_only_for_models_that_give_the_same_answer_in_it(tiny_cnn):
    images = random_images(8, 16)
    viewer = _ViewFlattener().eval()
    with pytest.raises(RuntimeError):  # the reason the probe exists
        viewer(PRE16.to_tensor(images).contiguous(memory_format=torch.channels_last))
    strict = ingest.Model.from_torch(viewer, preprocess=PRE16)
    assert not strict.channels_last
    np.testing.assert_allclose(strict.predict_proba(images), _reference_proba(viewer, images, PRE16),
                               atol=1e-6)
    fast = ingest.Model.from_torch(tiny_cnn, preprocess=PRE16, classes=["a", "b", "c"])
    assert fast.channels_last
    assert fast.image_tensor(images).is_contiguous(memory_format=torch.channels_last)
    # one image goes as NCHW: channels-last is slower there (see CHANNELS_LAST_MIN_BATCH)
    assert fast.image_tensor(images[:1]).is_contiguous()
    np.testing.assert_allclose(fast.predict_proba(images), _reference_proba(tiny_cnn, images, PRE16),
                               atol=1e-5)
