"""The shipped digits CNN learned a watermark shortcut; Grad-CAM must show it.

Independent ground truth: ``sample_data/build.py`` planted the watermark (a red square in the
bottom-right corner) on most training images of the shortcut class, so we know where it is and which
class it pushes towards. On the shipped test images, Grad-CAM for that class must put more of its mass
on the watermark when the watermark is there than when it is not.
"""

from __future__ import annotations

import numpy as np
import pytest

from glasswing.explainers import explain, faithfulness
from glasswing.ingest import samples
from glasswing.sample_data import build as BUILD  # noqa: N812 - the build script's constants

SCALE = BUILD.PNG_SIZE // BUILD.PREPROCESS["size"][0]  # the PNGs are the 32 x 32 images scaled up
ROWS, COLS = BUILD.WATERMARK_BOX
BOX = (slice(ROWS.start * SCALE, ROWS.stop * SCALE), slice(COLS.start * SCALE, COLS.stop * SCALE))
SHORTCUT = BUILD.CLASS_NAMES[BUILD.SHORTCUT_CLASS]


@pytest.fixture(scope="module")
def digits():
    return samples.digits_model(), samples.digits_images()


def box_share(values: np.ndarray) -> float:
    return float(values[BOX].sum() / values.sum())


def test_grad_cam_for_the_shortcut_class_lands_on_the_watermark(digits):
    model, images = digits
    marked = images.groups["watermark"].to_numpy() == "yes"
    assert marked.sum() == (~marked).sum() == 10
    exps = explain(model, images, method="gradcam", target=SHORTCUT)
    shares = np.array([box_share(e.values) for e in exps])
    area = (BOX[0].stop - BOX[0].start) * (BOX[1].stop - BOX[1].start) / images.images[0].shape[0] ** 2
    # pair each digit's watermarked image with its clean one (same file stem)
    names = np.array(images.names)
    for name in names[marked]:
        clean = name.replace("_watermark", "_clean")
        assert shares[names == name][0] > shares[names == clean][0], name
    assert shares[marked].mean() > 3 * area > shares[~marked].mean()
    # on most watermarked images the hottest pixel is on the watermark or right next to it (8 px)
    peaks = [np.unravel_index(np.argmax(e.values), e.values.shape) for e in np.array(exps)[marked]]
    near = [BOX[0].start - 8 <= r < BOX[0].stop + 8 and BOX[1].start - 8 <= c < BOX[1].stop + 8
            for r, c in peaks]
    assert exps[0].params["layer"] == "relu3"  # the last convolutional stage's output
    assert sum(near) >= 8, peaks


def test_black_box_formats_explain_the_same_pixels(digits):
    model, images = digits
    onnx = samples.digits_model("onnx")
    assert onnx.kind == "onnx"
    image = images.images[images.names.index("digit3_watermark.png")]
    torch_map = explain(model, [image], method="lime_image", target=SHORTCUT, num_samples=200)[0]
    onnx_map = explain(onnx, [image], method="lime_image", target=SHORTCUT, num_samples=200)[0]
    assert onnx_map.values.shape == image.shape[:2]
    np.testing.assert_allclose(onnx_map.values, torch_map.values, atol=0.05)
    assert np.abs(onnx_map.values[BOX]).mean() > 3 * np.abs(onnx_map.values).mean()


def test_randomising_the_trained_head_changes_the_grad_cam_map(digits):
    model, images = digits
    image = images.images[images.names.index("digit3_watermark.png")]
    check = faithfulness.randomisation_check(model, image, "gradcam", target=SHORTCUT, layers=1)
    assert check.layers == ("fc",) and check.changed


def test_grad_cam_deletion_beats_random_order_on_the_trained_model(digits):
    model, images = digits
    exps = explain(model, images.images[:6], method="gradcam", faithfulness=True)
    assert all(e.extras["deletion_auc"] < e.extras["random_auc"] for e in exps)
