"""The Explain: images page under Streamlit's AppTest, with a model and images seeded into the session."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from glasswing import explainers
from glasswing.explainers._image import TORCHSCRIPT_NO_HOOKS
from glasswing.ingest import ImageSet, samples
from glasswing.ingest._errors import IMAGE_UNREADABLE
from tests.conftest import new_apptest
from tests.explainers.test_gradcam import RED_IN, hand_image, hand_model

PAGE = "explain_images.py"


def hand_images() -> ImageSet:
    images = [hand_image(i) for i in range(4)]
    images[3][RED_IN + (0,)] = 0  # no red inside the square: predicted "green"
    groups = pd.DataFrame({"patch": ["red", "red", "red", "none"]},
                          index=pd.Index([f"img{i}.png" for i in range(4)], name="image"))
    return ImageSet(images=images, names=[f"img{i}.png" for i in range(4)],
                    labels=["red", "red", "green", "green"], groups=groups, name="hand", sha256="hand-images")


def seeded(model=None, images=None, timeout: float = 120):
    images = None if images is False else images or hand_images()
    return new_apptest(PAGE, timeout, state={"gw.model": model or hand_model(), "gw.images": images})


def figures(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def array(value) -> np.ndarray:
    """A figure's array as sent to the browser (plotly encodes numpy arrays as base64 typed arrays)."""
    if isinstance(value, dict) and "bdata" in value:
        shape = [int(s) for s in str(value.get("shape", "-1")).split(",")]
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape)
    return np.asarray(value)


def test_page_asks_for_an_image_model_first():
    at = new_apptest("explain_images.py")
    assert not at.exception
    assert at.info[0].value == "Load an image model first."


def test_grad_cam_map_and_its_faithfulness_render():
    at = seeded()
    assert not at.exception and not at.error
    # starts on the first misclassified image: img2 (label green, predicted red)
    assert at.selectbox(key="explain_images.image").value == 2
    assert at.selectbox(key="explain_images.target.2").value == "red"
    kinds = [[t["type"] for t in f["data"]] for f in figures(at)]
    assert kinds[:3] == [["bar"], ["image", "heatmap"], ["scatter", "scatter"]]
    heatmap = figures(at)[1]["data"][1]
    expected = explainers.explain(hand_model(), [hand_images().images[2]], method="gradcam", target="red")[0]
    np.testing.assert_allclose(array(heatmap["z"]), expected.values, atol=1e-6)
    assert heatmap["opacity"] == 0.5
    curve = explainers.faithfulness.deletion_curve(hand_model(), expected.data, expected.values, "red")
    assert [m.value for m in at.metric][:2] == [f"{curve.auc:.2f}", f"{curve.random_auc:.2f}"]
    assert curve.summary in [c.value for c in at.caption]
    downloads = at.get("download_button")
    assert len(downloads) == 2


def test_groups_show_accuracy_and_mean_maps():
    at = seeded()
    groups = next(f for f in figures(at) if f["layout"]["title"]["text"].startswith("Mean map"))
    titles = [a["text"] for a in groups["layout"]["annotations"]]
    assert titles == ["patch = none (n = 1, accuracy 1.00)", "patch = red (n = 3, accuracy 0.67)"]
    exps = explainers.explain(hand_model(), hand_images(), method="gradcam", target="red")
    expected = explainers.mean_map_by_group(exps, ["red", "red", "red", "none"])
    np.testing.assert_allclose(array(groups["data"][1]["z"]), expected["red"], atol=1e-6)


def test_methods_opacity_and_randomisation():
    at = seeded()
    at.multiselect(key="explain_images.methods").set_value(["gradcam", "integrated_gradients"])
    at.slider(key="explain_images.opacity").set_value(0.8)
    at.checkbox(key="explain_images.randomise").check()
    at.run(timeout=120)
    assert not at.exception and not at.error
    maps = [f for f in figures(at) if [t["type"] for t in f["data"]] == ["image", "heatmap"]]
    assert [m["layout"]["title"]["text"] for m in maps] == ["Grad-CAM", "Integrated Gradients"]
    assert all(m["data"][1]["opacity"] == 0.8 for m in maps)
    check = explainers.faithfulness.randomisation_check(hand_model(), hand_images().images[2],
                                                        "integrated_gradients", target="red")
    assert check.summary in [c.value for c in at.caption]


def test_torchscript_model_says_why_grad_cam_is_unavailable():
    import torch

    from tests.explainers.test_gradcam import SIZE, HandCNN

    with pytest.warns(FutureWarning):  # torch 2.14 deprecates torch.jit.trace; users still upload such files
        traced = torch.jit.trace(HandCNN().eval(), torch.zeros(1, 3, SIZE, SIZE))
    at = seeded(hand_model(traced))
    assert not at.exception
    assert at.multiselect(key="explain_images.methods").value == ["integrated_gradients"]
    assert f"*Grad-CAM* is not available: {TORCHSCRIPT_NO_HOOKS.format(label='Grad-CAM')}" in [
        c.value for c in at.caption]


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def test_uploaded_images_are_explained_and_bad_uploads_are_one_sentence():
    at = seeded(images=False)
    assert at.info[0].value == "Upload one or more images to explain."
    uploader = at.get("file_uploader")[0]
    uploader.set_value([("a.png", png_bytes(hand_image(0)), "image/png"),
                        ("b.png", png_bytes(hand_image(1)), "image/png")])
    at.run(timeout=120)
    assert not at.exception and not at.error
    assert len(at.selectbox(key="explain_images.image").options) == 2
    assert any([t["type"] for t in f["data"]] == ["image", "heatmap"] for f in figures(at))
    at.get("file_uploader")[0].set_value([("c.png", b"not an image at all", "image/png")])
    at.run(timeout=120)
    assert not at.exception
    assert [e.value for e in at.error] == [IMAGE_UNREADABLE.format(name="c.png")]
    assert at.session_state["gw.model"] is not None  # nothing loaded was lost


@pytest.mark.slow  # the shipped digits CNN: predicting 20 images and the group view
def test_shortcut_sample_opens_on_the_watermarked_nine_explained_as_three():
    at = seeded(samples.digits_model(), samples.digits_images())
    assert not at.exception and not at.error
    image = at.selectbox(key="explain_images.image")
    assert image.options[image.index] == "digit9_watermark.png (label 9, predicted 3)"
    heatmap = next(f for f in figures(at) if [t["type"] for t in f["data"]] == ["image", "heatmap"])
    z = array(heatmap["data"][1]["z"])
    row, col = np.unravel_index(np.argmax(z), z.shape)
    assert row >= 96 and col >= 96  # the watermark's corner (rows and columns 104-123)
