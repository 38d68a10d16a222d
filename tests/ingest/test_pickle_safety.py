"""Pickle-based files are refused unless trusted, and refusing them runs none of their code."""

from __future__ import annotations

import io
import pickle

import joblib
import numpy as np
import pytest
import torch

from glasswing import ingest
from glasswing.ingest import load_model


class Booby:
    """Unpickling this creates ``marker`` (a harmless stand-in for arbitrary code)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _refusal(name: str, fmt: str) -> str:
    return (f"'{name}' is a {fmt} file, and loading one can run any code it contains; load it only if you "
            "trust where it came from, by marking it trusted (--trust on the command line, 'I trust this "
            "file' in the dashboard), or save the model as .skops, .onnx or .safetensors.")


def _pickle(obj) -> bytes:
    return pickle.dumps(obj)


def _joblib(obj) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    return buffer.getvalue()


def _torch_save(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _torch_save_legacy(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=False)
    return buffer.getvalue()


@pytest.mark.parametrize("dump, name, fmt", [
    (_pickle, "model.pkl", "pickle"),
    (_pickle, "model.pickle", "pickle"),
    (_joblib, "model.joblib", "joblib"),
    (_torch_save, "model.pt", "whole-model torch.save"),
    (_torch_save_legacy, "model.pth", "whole-model torch.save"),
    (_pickle, "model.onnx", "pickle"),  # renamed: recognised by its bytes, not its suffix
    (_pickle, "model.safetensors", "pickle"),
    (_joblib, "upload", "pickle"),
])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path, dump, name, fmt):
    marker = tmp_path / "pwned"
    data = dump(Booby(str(marker)))
    assert not marker.exists()
    with pytest.raises(ingest.UntrustedFileError) as info:
        load_model(data, name=name)
    assert str(info.value) == _refusal(name, fmt)
    assert not marker.exists()
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ingest.UntrustedFileError):
        load_model(path)
    assert not marker.exists()


def test_refusal_is_a_glasswing_error():
    assert issubclass(ingest.UntrustedFileError, ingest.IngestError)


@pytest.mark.parametrize("dump, name, fmt", [(_pickle, "m.pkl", "pickle"), (_joblib, "m.joblib", "joblib")])
def test_trusted_sklearn_pickle_loads(pipeline, credit_frame, dump, name, fmt):
    model = load_model(dump(pipeline), name=name, trusted=True)
    assert (model.kind, model.source_format) == ("sklearn", fmt)
    np.testing.assert_allclose(model.predict_proba(credit_frame), pipeline.predict_proba(credit_frame[
        list(model.feature_names)]))


def test_trusted_whole_module_torch_save_loads(tiny_cnn):
    from tests.ingest.conftest import random_images

    data = _torch_save(tiny_cnn)
    pre = ingest.ImagePreprocess(size=(16, 16))
    with pytest.raises(ingest.UntrustedFileError):
        load_model(data, name="cnn.pt", preprocess=pre)
    model = load_model(data, name="cnn.pt", preprocess=pre, trusted=True)
    assert model.kind == "torch" and model.source_format == "torch"
    images = random_images()
    with torch.no_grad():
        expected = torch.softmax(tiny_cnn(pre.to_tensor(images)), dim=1).double().numpy()
    np.testing.assert_allclose(model.predict_proba(images), expected, atol=1e-6)


def test_a_trusted_pickle_of_something_else():
    assert str(pytest.raises(ingest.IngestError, load_model, _pickle({"a": 1}), name="d.pkl",
                             trusted=True).value) == (
        "'d.pkl' holds a dict, which is neither a scikit-learn classifier nor a PyTorch module.")
