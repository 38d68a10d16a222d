"""``glasswing explain --image``: Grad-CAM maps as .npy, checked against captum run by hand, and bad input."""

from __future__ import annotations

import importlib.util
import json
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from glasswing._paths import sample_dir
from glasswing.cli import main
from glasswing.explainers._cam import UNKNOWN_LAYER
from glasswing.explainers._image import TORCHSCRIPT_NO_HOOKS
from tests.explainers.test_gradcam import SIZE, HandCNN, hand_image


def digits_module():
    spec = importlib.util.spec_from_file_location("gw_digits_cnn", sample_dir() / "digits_cnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gradcam_map_equals_captum_on_the_sample_cnn(tmp_path, capsys):
    from captum.attr import LayerAttribution, LayerGradCam
    from safetensors.torch import load_file

    image_path = sample_dir() / "images" / "digit9_watermark.png"
    out = tmp_path / "map.npy"
    code = main(["explain", "--model", str(sample_dir() / "models" / "digits_cnn.safetensors"),
                 "--image", str(image_path), "--method", "gradcam", "--target", "3", "--out", str(out)])
    assert code == 0
    said = capsys.readouterr().out
    assert said == f"Grad-CAM for class '3': wrote a 128 x 128 map scaled to [0, 1] to {out}\n"
    saved = np.load(out)
    assert saved.shape == (128, 128) and saved.dtype == np.float32
    assert saved.min() == 0.0 and saved.max() == 1.0

    # the same map by hand: the sample's own architecture, weights and preprocessing, captum on relu3
    digits = digits_module()
    net = digits.DigitsCNN()
    net.load_state_dict(load_file(sample_dir() / "models" / "digits_cnn.safetensors"))
    net.eval()
    x = digits.preprocess(np.array(Image.open(image_path).convert("RGB")))
    attr = LayerGradCam(net, net.relu3).attribute(x, target=3, relu_attributions=True)
    ref = LayerAttribution.interpolate(attr, (128, 128), "bilinear")[0, 0].detach().numpy()
    ref = (ref - ref.min()) / (ref.max() - ref.min())
    # preprocessing resizes with PIL here and with torch there: equal up to resampling differences
    assert np.corrcoef(saved.ravel(), ref.ravel())[0, 1] > 0.99
    row, col = np.unravel_index(np.argmax(saved), saved.shape)
    assert row >= 96 and col >= 96  # the watermark's corner: the shortcut shows


@pytest.fixture(scope="module")
def torchscript_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ts")
    meta = {"preprocess": {"size": [SIZE, SIZE], "mean": [0, 0, 0], "std": [1, 1, 1]},
            "class_names": json.dumps(["red", "green"])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch 2.14 deprecates torch.jit; it still works
        torch.jit.trace(HandCNN().eval(), torch.zeros(1, 3, SIZE, SIZE)).save(
            str(folder / "hand.pt"), _extra_files={"glasswing.json": json.dumps(meta)})
    Image.fromarray(hand_image()).save(folder / "img.png")
    return folder


def test_gradcam_on_torchscript_is_one_line_and_exit_code_2(torchscript_files, capsys):
    code = main(["explain", "--model", str(torchscript_files / "hand.pt"), "--image",
                 str(torchscript_files / "img.png"), "--method", "gradcam", "--out",
                 str(torchscript_files / "map.npy")])
    assert code == 2
    why = TORCHSCRIPT_NO_HOOKS.format(label="Grad-CAM")
    assert capsys.readouterr().err == f"glasswing: error: Grad-CAM cannot explain this model: {why}\n"
    assert not (torchscript_files / "map.npy").exists()


def test_unknown_layer_is_one_line_and_exit_code_2(tmp_path, capsys):
    code = main(["explain", "--model", str(sample_dir() / "models" / "digits_cnn.safetensors"), "--image",
                 str(sample_dir() / "images" / "digit3_clean.png"), "--method", "gradcam",
                 "--param", "layer=conv9", "--out", str(tmp_path / "map.npy")])
    assert code == 2
    message = UNKNOWN_LAYER.format(layer="conv9", convs="conv1, conv2, conv3")
    assert capsys.readouterr().err == f"glasswing: error: {message}\n"


def test_class_names_let_target_be_a_name(tmp_path, capsys):
    from glasswing.ingest._labels import CLASS_NAMES_COUNT

    model = str(sample_dir() / "models" / "digits_cnn.safetensors")
    image = str(sample_dir() / "images" / "digit9_watermark.png")
    by_index, by_name = tmp_path / "a.npy", tmp_path / "b.npy"
    assert main(["explain", "--model", model, "--image", image, "--method", "gradcam", "--target", "3",
                 "--out", str(by_index)]) == 0
    names = ",".join(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    assert main(["explain", "--model", model, "--image", image, "--method", "gradcam", "--target", "three",
                 "--class-names", names, "--out", str(by_name)]) == 0
    assert "class 'three'" in capsys.readouterr().out
    np.testing.assert_array_equal(np.load(by_name), np.load(by_index))
    assert main(["explain", "--model", model, "--image", image, "--method", "gradcam", "--class-names",
                 "a,b", "--out", str(by_name)]) == 2
    expected = CLASS_NAMES_COUNT.format(n=10, k=2, names="a, b")
    assert capsys.readouterr().err == f"glasswing: error: {expected}\n"
