"""Grad-CAM, Guided Grad-CAM and Integrated Gradients on a hand-weighted CNN whose answer is known.

The network (``HandCNN``) scores class "red" as the mean of a red-detecting filter's activation inside a
known square of the image and class "green" likewise for green: nothing outside the square can change
the scores. So a correct map for "red" peaks on the red patch inside the square and ignores an identical
red patch outside it; the hand-computed Grad-CAM map is the masked red activation itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from glasswing.explainers import ExplainerError, explain, registry
from glasswing.explainers._cam import AUTO_REASON, NOT_SPATIAL, UNKNOWN_LAYER
from glasswing.explainers._image import NO_PREPROCESS, ONNX_BLACK_BOX, TORCHSCRIPT_NO_HOOKS
from glasswing.ingest import ImagePreprocess, Model

SIZE = 32  # the model's input size
REGION = (slice(4, 16), slice(4, 16))  # rows, columns of the scored square, in model space
# Test images are 64 x 48 (height x width): the model space is scaled by 2 vertically, 1.5 horizontally.
IMAGE_SHAPE = (64, 48, 3)
RED_IN = (slice(10, 18), slice(10, 16))  # inside the square: model rows 5-9, columns 6.7-10.7
GREEN_IN = (slice(20, 26), slice(14, 18))
RED_OUT = (slice(40, 50), slice(30, 40))  # bigger, but outside the square


class HandCNN(nn.Module):
    """detect (3x3 conv: red - green, green - red) -> ReLU -> mask -> mix (1x1 identity conv) -> GAP -> fc."""

    def __init__(self) -> None:
        super().__init__()
        self.detect = nn.Conv2d(3, 2, 3, padding=1, bias=False)
        weight = torch.zeros(2, 3, 3, 3)
        weight[0, 0, 1, 1], weight[0, 1, 1, 1] = 1.0, -1.0  # channel 0: red minus green
        weight[1, 1, 1, 1], weight[1, 0, 1, 1] = 1.0, -1.0  # channel 1: green minus red
        self.detect.weight.data = weight
        self.relu = nn.ReLU()
        mask = torch.zeros(1, 1, SIZE, SIZE)
        mask[..., REGION[0], REGION[1]] = 1.0
        self.register_buffer("mask", mask)
        self.mix = nn.Conv2d(2, 2, 1, bias=False)
        self.mix.weight.data = torch.eye(2)[:, :, None, None]
        self.relu2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2, 2, bias=False)
        self.fc.weight.data = torch.eye(2) * 50.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.relu(self.detect(x)) * self.mask
        return self.fc(self.pool(self.relu2(self.mix(a))).flatten(1))


PREPROCESS = ImagePreprocess(size=(SIZE, SIZE), mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


def hand_model(module: nn.Module | None = None) -> Model:
    return Model.from_torch(module if module is not None else HandCNN(), preprocess=PREPROCESS,
                            classes=["red", "green"], name="hand", sha256="hand")


def hand_image(seed: int = 0) -> np.ndarray:
    """Dark noise, a red and a green patch inside the scored square, a bigger red patch outside it."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 30, IMAGE_SHAPE).astype(np.uint8)
    image[RED_IN + (0,)] = 255
    image[GREEN_IN + (1,)] = 255
    image[RED_OUT + (0,)] = 255
    return image


def inside(mask_slices, point) -> bool:
    return all(s.start <= p < s.stop for s, p in zip(mask_slices, point, strict=True))


def peak(values: np.ndarray) -> tuple[int, int]:
    return tuple(int(v) for v in np.unravel_index(np.argmax(values), values.shape))


@pytest.fixture(scope="module")
def model():
    return hand_model()


@pytest.mark.parametrize("method", ["gradcam", "guided_gradcam", "integrated_gradients"])
def test_peak_lies_on_the_patch_the_class_score_depends_on(model, method):
    image = hand_image()
    red, green = explain(model, [image, image], method=method, target=["red", "green"])
    assert red.values.shape == green.values.shape == IMAGE_SHAPE[:2]
    assert inside(RED_IN, peak(red.values)), peak(red.values)
    assert inside(GREEN_IN, peak(green.values)), peak(green.values)
    # the red patch outside the square changes no score, so it gets (almost) nothing
    assert red.values[RED_OUT].max() < 0.05
    assert red.target == "red" and green.target == "green"
    proba = model.predict_proba([image])[0]
    assert red.prediction == pytest.approx(proba[0]) and green.prediction == pytest.approx(proba[1])


def test_gradcam_equals_the_hand_computed_map(model):
    # d(logit_red)/d(relu2 output) is positive and spatially constant on channel 0 and zero on channel 1,
    # so Grad-CAM's map is channel 0's activation: relu(red - green) inside the square.
    image = hand_image()
    x = PREPROCESS.to_array([image])[0]
    activation = np.maximum(x[0] - x[1], 0)
    activation[~np.pad(np.ones((12, 12), bool), ((4, 16), (4, 16)))] = 0
    expected = torch.nn.functional.interpolate(torch.from_numpy(activation)[None, None], size=(64, 48),
                                               mode="bilinear", align_corners=False)[0, 0].numpy()
    got = explain(model, [image], method="gradcam", target="red")[0]
    np.testing.assert_allclose(got.values, expected / expected.max(), atol=1e-5)
    # "auto" takes the last convolutional stage's output: the ReLU after the last convolution
    assert got.params["layer"] == "relu2" and got.extras["layer"] == "relu2"
    assert got.reason == AUTO_REASON.format(layer="relu2")
    on_conv = explain(model, [image], method="gradcam", target="red", layer="mix")[0]
    np.testing.assert_allclose(on_conv.values, got.values, atol=1e-5)  # mix's output is never negative
    assert got.values.min() >= 0 and got.values.max() == pytest.approx(1.0)


def test_default_target_is_the_predicted_class_and_batches_match_single_images(model):
    rng = np.random.default_rng(1)
    images = [hand_image(0), rng.integers(0, 255, (40, 40, 3)).astype(np.uint8), hand_image(2)[:, ::-1]]
    images[1][5:15, 5:15] = (0, 255, 0)
    batch = explain(model, images, method="gradcam")
    predicted = model.predict(images)
    assert [e.target for e in batch] == list(predicted)
    for image, together in zip(images, batch, strict=True):
        alone = explain(model, [image], method="gradcam")[0]
        assert together.values.shape == image.shape[:2]
        np.testing.assert_allclose(together.values, alone.values, atol=1e-6)


def test_chosen_layer_is_used(model):
    # the detector layer sits before the mask: its map also lights up the red patch outside the square
    got = explain(model, [hand_image()], method="gradcam", target="red", layer="detect")[0]
    assert got.params["layer"] == "detect"
    assert got.values[RED_OUT].max() > 0.5
    assert got.reason == "Layer 'detect' was chosen."


def test_unknown_and_non_spatial_layers_are_one_sentence(model):
    with pytest.raises(ExplainerError) as err:
        explain(model, [hand_image()], method="gradcam", layer="conv9")
    assert str(err.value) == UNKNOWN_LAYER.format(layer="conv9", convs="detect, mix")
    with pytest.raises(ExplainerError) as err:
        explain(model, [hand_image()], method="gradcam", layer="fc")
    assert str(err.value) == NOT_SPATIAL.format(layer="fc", convs="detect, mix")


def test_relu_off_keeps_negative_evidence(model):
    # without the final ReLU Grad-CAM also shows evidence against the class: for "green", the green
    # channel's weight times a red activation is 0, so use a model whose fc mixes the channels
    module = HandCNN()
    module.fc.weight.data = torch.tensor([[50.0, -50.0], [-50.0, 50.0]])
    mixed = hand_model(module)
    signed = explain(mixed, [hand_image()], method="gradcam", target="red", relu=False)[0]
    assert signed.values.min() < -0.1 and signed.values.max() == pytest.approx(1.0)
    assert inside(GREEN_IN, tuple(np.unravel_index(np.argmin(signed.values), signed.values.shape)))
    clipped = explain(mixed, [hand_image()], method="gradcam", target="red")[0]
    assert clipped.values.min() >= 0


def test_integrated_gradients_add_up_to_the_probability_gained_from_the_baseline(model):
    image = hand_image()
    got = explain(model, [image], method="integrated_gradients", target="red", n_steps=64)[0]
    black = model.predict_proba([np.zeros_like(image)])[0, 0]
    # completeness (Sundararajan et al.): the raw attributions sum to f(image) - f(baseline)
    assert got.extras["sum"] == pytest.approx(got.prediction - black, abs=2e-3)
    blurred = explain(model, [image], method="integrated_gradients", target="red", baseline="blur")[0]
    assert blurred.values.shape == image.shape[:2] and blurred.algorithm.endswith("blur baseline")


# TorchScript is deprecated upstream but still a format users upload; building one here is the point.
@pytest.mark.filterwarnings("ignore:`torch.jit.trace(_method)?` is deprecated:FutureWarning")
def test_torchscript_gets_input_gradients_but_not_grad_cam(model):
    scripted = hand_model(torch.jit.trace(HandCNN().eval(), torch.zeros(1, 3, SIZE, SIZE)))
    assert scripted.kind == "torchscript"
    ok, why = registry.applicable(scripted)
    names = [s.name for s in ok]
    assert "integrated_gradients" in names and "lime_image" in names and "shap_image" in names
    assert why["gradcam"] == TORCHSCRIPT_NO_HOOKS.format(label="Grad-CAM")
    assert why["guided_gradcam"] == TORCHSCRIPT_NO_HOOKS.format(label="Guided Grad-CAM")
    with pytest.raises(ExplainerError) as err:
        explain(scripted, [hand_image()], method="gradcam")
    why = TORCHSCRIPT_NO_HOOKS.format(label="Grad-CAM")
    assert str(err.value) == f"Grad-CAM cannot explain this model: {why}"
    image = hand_image()
    eager = explain(model, [image], method="integrated_gradients", target="red")[0]
    traced = explain(scripted, [image], method="integrated_gradients", target="red")[0]
    np.testing.assert_allclose(traced.values, eager.values, atol=1e-5)


def test_onnx_and_unprepared_models_say_why_not(model):
    onnx_like = Model(name="m.onnx", kind="onnx", modality="image", classes_=np.array(["a", "b"]),
                      preprocess=PREPROCESS)
    ok, why = registry.applicable(onnx_like)
    assert {s.name for s in ok} == {"lime_image", "shap_image"}
    assert why["gradcam"] == ONNX_BLACK_BOX.format(label="Grad-CAM")
    assert why["integrated_gradients"] == ONNX_BLACK_BOX.format(label="Integrated Gradients")
    bare = Model(name="m", kind="torch", modality="image", classes_=np.array([0, 1]), module=HandCNN())
    assert registry.get("lime_image").applies_to(bare) == NO_PREPROCESS


def test_a_model_without_convolutions_cannot_have_grad_cam():
    flat = Model.from_torch(nn.Sequential(nn.Flatten(), nn.Linear(3 * SIZE * SIZE, 2)), preprocess=PREPROCESS)
    with pytest.raises(ExplainerError) as err:
        explain(flat, [hand_image()], method="gradcam")
    assert str(err.value) == ("Grad-CAM cannot explain this model: this model has no convolutional layer, "
                              "which Grad-CAM needs; use Integrated Gradients, LIME or SHAP.")
    assert explain(flat, [hand_image()], method="integrated_gradients")[0].values.shape == IMAGE_SHAPE[:2]


def test_gradcam_records_no_graph_below_the_layer_and_never_touches_the_weights_flags():
    module = HandCNN()
    module.fc.weight.requires_grad_(False)  # a caller's own choice, kept as it was
    before = {name: p.requires_grad for name, p in module.named_parameters()}
    seen = {}
    module.detect.register_forward_hook(lambda _m, _i, out: seen.__setitem__("detect", out.requires_grad))
    # during the pass the shared module's flags are what they were (another session may be using it)
    module.fc.register_forward_hook(lambda m, _i, _o: seen.__setitem__(
        "flags", {name: p.requires_grad for name, p in module.named_parameters()}))
    model = hand_model(module)
    got = explain(model, [hand_image()] * 5, method="gradcam", target="red")  # 5: the channels-last path
    # the detector runs before the hooked layer: it ran as in inference, with nothing recorded
    assert seen["detect"] is False
    assert seen["flags"] == before
    assert {name: p.requires_grad for name, p in module.named_parameters()} == before
    assert inside(RED_IN, peak(got[0].values))
    np.testing.assert_allclose(got[4].values, got[0].values, atol=1e-6)


@pytest.mark.parametrize(("shape", "kernel", "sigma"), [((2, 3, 32, 32), 5, 2.0), ((1, 3, 20, 28), 9, 1.5),
                                                        ((1, 1, 7, 9), 7, 3.0)])
def test_blur_baseline_equals_torchvisions_gaussian_blur(shape, kernel, sigma):
    from torchvision.transforms.functional import gaussian_blur as reference

    from glasswing.explainers._cam import gaussian_blur

    x = torch.from_numpy(np.random.default_rng(3).standard_normal(shape, dtype=np.float32))
    expected = reference(x, [kernel, kernel], [sigma, sigma])
    torch.testing.assert_close(gaussian_blur(x, kernel, sigma), expected, rtol=0, atol=1e-6)


def test_integrated_gradients_does_not_import_torchvision():
    """torchvision loads torch._dynamo (seconds); Integrated Gradients needs neither, for either baseline."""
    import subprocess
    import sys

    code = ("import sys, numpy as np; from glasswing import explainers; "
            "from glasswing.ingest import samples; m = samples.digits_model(); "
            "img = np.zeros((40, 50, 3), np.uint8); "
            "[explainers.explain(m, [img], method='integrated_gradients', baseline=b) "
            "for b in ('black', 'blur')]; print('torchvision' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
