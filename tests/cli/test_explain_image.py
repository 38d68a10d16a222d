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
from glasswing.commands import explain as cmd
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


# --- a TorchScript file with no preprocessing in it: the command line's flags give it ----------------------
class SmallCNN(torch.nn.Module):
    """A torchvision-like classifier: convolutional features, global pooling, a linear head."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1))
        self.fc = torch.nn.Linear(16, 3)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


@pytest.fixture(scope="module")
def scripted_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scripted")
    torch.manual_seed(0)
    net = SmallCNN().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch 2.14 deprecates torch.jit; it still works
        torch.jit.script(net).save(str(folder / "model.pt"))  # no glasswing.json: nothing says the input
    image = (np.random.default_rng(0).random((32, 28, 3)) * 255).astype(np.uint8)  # already 32 x 28
    Image.fromarray(image).save(folder / "x.png")
    return folder, net, image


def _scripted_args(folder, out, *extra):
    return ["explain", "--model", str(folder / "model.pt"), "--image", str(folder / "x.png"), "--out",
            str(out), *extra]


def test_a_torchscript_file_without_preprocessing_names_the_flags(scripted_files, capsys):
    from glasswing.ingest._errors import NEEDS_PREPROCESS

    folder, _, _ = scripted_files
    assert main(_scripted_args(folder, folder / "m.npy", "--method", "gradcam")) == 2
    err = capsys.readouterr().err
    assert err == f"glasswing: error: {NEEDS_PREPROCESS.format(name='model.pt')}\n"
    assert "--input-size" in err and "--preprocess" in err


def test_input_size_mean_std_and_class_names_flags_equal_captum_by_hand(scripted_files, capsys):
    from captum.attr import IntegratedGradients

    folder, net, image = scripted_files
    out = folder / "ig.npy"
    flags = ["--input-size", "32,28", "--mean", "0.5,0.4,0.3", "--std", "0.2,0.25,0.3",
             "--class-names", "cat,dog,bird", "--target", "dog", "--method", "integrated_gradients"]
    assert main(_scripted_args(folder, out, *flags)) == 0
    assert capsys.readouterr().out == (f"Integrated Gradients for class 'dog': wrote a 32 x 28 map scaled to "
                                       f"[0, 1] to {out}\n")
    # by hand: (x / 255 - mean) / std per channel, a black image as baseline, captum on the eager module
    mean, std = torch.tensor([0.5, 0.4, 0.3])[:, None, None], torch.tensor([0.2, 0.25, 0.3])[:, None, None]
    x = ((torch.from_numpy(image).permute(2, 0, 1).float() / 255 - mean) / std)[None]
    black = ((torch.zeros(3, 32, 28) - mean) / std)[None]
    attr = IntegratedGradients(lambda t: net(t).softmax(dim=1)).attribute(x, baselines=black, target=1,
                                                                           n_steps=32)
    ref = attr.detach().sum(dim=1)[0].double().numpy()
    ref = (ref - ref.min()) / (ref.max() - ref.min())
    np.testing.assert_allclose(np.load(out), ref, atol=1e-4)

    # the same in one --preprocess file; a flag given beside it wins
    spec = {"size": [32, 28], "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3],
            "class_names": ["cat", "dog", "bird"]}
    (folder / "pre.json").write_text(json.dumps(spec))
    assert main(_scripted_args(folder, folder / "file.npy", "--preprocess", str(folder / "pre.json"),
                               "--target", "dog", "--method", "integrated_gradients")) == 0
    np.testing.assert_array_equal(np.load(folder / "file.npy"), np.load(out))
    assert main(_scripted_args(folder, folder / "std.npy", "--preprocess", str(folder / "pre.json"),
                               "--std", "1,1,1", "--target", "dog", "--method", "integrated_gradients")) == 0
    assert not np.allclose(np.load(folder / "std.npy"), np.load(out), atol=1e-3)


@pytest.mark.parametrize(("extra", "message"), [
    (["--mean", "0.5,0.5,0.5"], cmd.NEEDS_SIZE),
    (["--input-size", "0"], cmd.BAD_SIZE.format(text="0")),
    (["--input-size", "big"], cmd.BAD_SIZE.format(text="big")),
    (["--input-size", "32", "--std", "a,b,c"],
     cmd.BAD_CHANNELS.format(flag="std", example="0.229,0.224,0.225", text="a,b,c")),
])
def test_bad_preprocessing_flags_are_one_line_and_exit_code_2(scripted_files, capsys, extra, message):
    folder, _, _ = scripted_files
    assert main(_scripted_args(folder, folder / "m.npy", "--method", "integrated_gradients", *extra)) == 2
    assert capsys.readouterr().err == f"glasswing: error: {message}\n"


def test_bad_preprocess_files_are_one_line_and_exit_code_2(scripted_files, capsys):
    folder, _, _ = scripted_files
    cases = {"missing.json": None, "list.json": "[224, 224]", "typo.json": '{"sise": 224, "mean": [0.5]}',
             "broken.json": '{"size": 224,'}
    said = {}
    for name, text in cases.items():
        if text is not None:
            (folder / name).write_text(text)
        args = _scripted_args(folder, folder / "m.npy", "--method", "integrated_gradients", "--preprocess",
                              str(folder / name))
        assert main(args) == 2
        said[name] = capsys.readouterr().err
    expected = {"missing.json": cmd.PREPROCESS_UNREADABLE.format(path=folder / "missing.json",
                                                                 reason="No such file or directory"),
                "list.json": cmd.PREPROCESS_NOT_JSON.format(path=folder / "list.json", reason="a list"),
                "typo.json": cmd.PREPROCESS_KEYS.format(path=folder / "typo.json", keys="'sise'")}
    for name, message in expected.items():
        assert said[name] == f"glasswing: error: {message}\n"
    assert said["broken.json"].startswith(f"glasswing: error: --preprocess {folder / 'broken.json'} is not a "
                                          "JSON object (Expecting")
