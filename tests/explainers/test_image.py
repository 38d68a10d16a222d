"""Image explainers as a whole: shared invariants, bad input, and LIME / SHAP against the libraries."""

from __future__ import annotations

import numpy as np
import pytest

from glasswing.explainers import ExplainerError, Explanation, explain, mean_map_by_group, registry
from glasswing.explainers import _image_blackbox as blackbox
from glasswing.explainers._image import MAP_COUNT
from glasswing.explainers._image_input import (
    GRAYSCALE,
    NO_IMAGES,
    NOT_AN_IMAGE,
    WRONG_CHANNELS,
    WRONG_DTYPE,
)
from glasswing.explainers._targets import TARGET_COUNT, UNKNOWN_CLASS
from glasswing.ingest import MAX_IMAGE_MEGAPIXELS
from glasswing.ingest._errors import IMAGE_TOO_LARGE
from tests.explainers.test_gradcam import GREEN_IN, RED_IN, RED_OUT, hand_image, hand_model

IMAGE_METHODS = ["gradcam", "guided_gradcam", "integrated_gradients", "lime_image", "shap_image"]
FAST = {"lime_image": {"num_samples": 120, "n_segments": 30}, "shap_image": {"max_evals": 120}}


@pytest.fixture(scope="module")
def model():
    return hand_model()


def test_registry_lists_the_image_methods_in_order():
    assert [s.name for s in registry.list("image")] == IMAGE_METHODS
    for spec in registry.list("image"):
        assert spec.modalities == ("image",) and spec.description
        assert "faithfulness" in spec.defaults() and spec.defaults()["faithfulness"] is False


@pytest.mark.slow  # the first SHAP call compiles shap's numba code (~10 s)
@pytest.mark.parametrize("method", IMAGE_METHODS)
def test_every_method_gives_one_map_per_image_of_its_size(model, method):
    images = [hand_image(0), hand_image(1)[:40, :30]]
    got = explain(model, images, method=method, target="red", **FAST.get(method, {}))
    assert len(got) == 2
    for exp, image in zip(got, images, strict=True):
        assert isinstance(exp, Explanation) and exp.is_image and exp.method == method
        assert exp.values.shape == image.shape[:2] and exp.values.dtype == np.float32
        assert np.abs(exp.values).max() == pytest.approx(1.0)  # scaled; the raw scale is kept
        assert exp.extras["scale"] > 0 and np.array_equal(exp.data, image)
        assert exp.target == "red" and 0 <= exp.prediction <= 1 and exp.compute_time > 0
        assert exp.params["faithfulness"] is False


def test_image_names_travel_with_an_image_set(model):
    class Set:
        images = [hand_image(0), hand_image(1)]
        names = ["a.png", "b.png"]

    got = explain(model, Set(), method="gradcam")
    assert [e.extras["image_name"] for e in got] == ["a.png", "b.png"]


@pytest.mark.parametrize(("inputs", "message"), [
    ([np.zeros((8, 9), np.uint8)], GRAYSCALE.format(which="Image 1", height=8, width=9)),
    ([np.zeros((8, 9, 1), np.uint8)], GRAYSCALE.format(which="Image 1", height=8, width=9)),
    ([np.zeros((8, 9, 4), np.uint8)], WRONG_CHANNELS.format(which="Image 1", channels=4)),
    ([np.zeros((8, 9, 3), np.float32)], WRONG_DTYPE.format(which="Image 1", dtype="float32")),
    ("cat.png", NOT_AN_IMAGE.format(which="The input", what="a str")),
    ([np.zeros((4, 4, 3), np.uint8), "cat.png"], NOT_AN_IMAGE.format(which="Image 2", what="a str")),
    ([], NO_IMAGES),
])
def test_bad_images_are_one_sentence(model, inputs, message):
    with pytest.raises(ExplainerError) as err:
        explain(model, inputs, method="gradcam")
    assert str(err.value) == message


def test_an_image_over_the_pixel_limit_is_refused_before_any_work(model):
    huge = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (7000, 6000, 3))  # 42 MP, no memory used
    with pytest.raises(ExplainerError) as err:
        explain(model, [huge], method="lime_image")
    assert str(err.value) == IMAGE_TOO_LARGE.format(which="Image 1", megapixels=42.0,
                                                    limit=MAX_IMAGE_MEGAPIXELS)
    assert str(err.value) == "Image 1 has 42.0 megapixels, more than the 40 megapixel limit; resize it first."


def test_unknown_targets_are_one_sentence(model):
    with pytest.raises(ExplainerError) as err:
        explain(model, [hand_image()], method="gradcam", target="blue")
    assert str(err.value) == UNKNOWN_CLASS.format(target="blue", classes="red, green")
    with pytest.raises(ExplainerError) as err:
        explain(model, [hand_image()], method="gradcam", target=["red", "green"])
    assert str(err.value) == TARGET_COUNT.format(n_targets=2, n_images=1)


def test_lime_equals_lime_image_explainer_with_the_same_seed(model):
    from lime.lime_image import LimeImageExplainer

    image = hand_image(3)

    def segment(img):
        return blackbox.superpixels(img, n_segments=30, compactness=10)

    got = explain(model, [image], method="lime_image", target="red", n_segments=30, num_samples=200,
                  seed=7)[0]
    ref = LimeImageExplainer(random_state=7).explain_instance(
        image, model.predict_proba, labels=(0,), top_labels=None, num_samples=200, segmentation_fn=segment,
        random_seed=7, batch_size=64)
    weights = np.zeros(ref.segments.max() + 1)
    for feature, weight in ref.local_exp[0]:
        weights[feature] = weight
    np.testing.assert_allclose(got.values * got.extras["scale"], weights[ref.segments], atol=1e-8)
    assert got.extras["r2"] == pytest.approx(ref.score)
    assert got.extras["base_value"] == pytest.approx(ref.intercept[0])
    # the superpixel LIME ranks first holds the red patch inside the scored square
    top = np.unravel_index(np.argmax(got.values), got.values.shape)
    assert got.values[RED_IN].mean() > 0.5 and got.values[top] == pytest.approx(1.0)


def test_lime_refuses_a_one_superpixel_image(model):
    with pytest.raises(ExplainerError) as err:
        explain(model, [np.zeros((20, 20, 3), np.uint8)], method="lime_image", n_segments=2)
    assert str(err.value) == blackbox.TOO_FEW_SEGMENTS.format(n=1, n_segments=2)


def test_box_blur_is_opencv_blur():
    import cv2

    image = np.random.default_rng(0).integers(0, 256, (37, 29, 3)).astype(np.float64)
    for kernel in [(8, 8), (5, 11), (1, 3)]:
        np.testing.assert_allclose(blackbox.box_blur(image, kernel), cv2.blur(image, kernel), atol=1e-9)


@pytest.mark.slow  # shap's Partition explainer, twice
# shap 0.51 calls matplotlib's Colormap.set_bad/set_over/set_under at import (pending deprecations)
@pytest.mark.filterwarnings(r"ignore:The set_\w+ function:PendingDeprecationWarning")
def test_shap_equals_partition_explainer_with_shaps_own_blur_masker(model):
    import shap

    image = hand_image(4)
    got = explain(model, [image], method="shap_image", target="green", blur="blur(9,9)", max_evals=200)[0]
    work = image.astype(float)

    def green(batch):
        return model.predict_proba(blackbox.to_uint8(batch))[:, [1]]

    ref = shap.PartitionExplainer(green, shap.maskers.Image("blur(9,9)", work.shape))(
        work[None], max_evals=200, batch_size=64, silent=True)
    ref_map = ref.values[0].reshape(*work.shape, -1)[..., 0].sum(axis=-1)
    np.testing.assert_allclose(got.values * got.extras["scale"], ref_map, atol=1e-9)
    # Shapley values add up: base value (everything blurred) + attributions = the prediction
    assert got.extras["base_value"] + got.extras["sum"] == pytest.approx(got.prediction, abs=1e-6)
    # the green patch inside the scored square gets more than the red patch outside it (which gets ~0)
    assert got.values[GREEN_IN].mean() > np.abs(got.values[RED_OUT]).max() + 0.1


def test_bad_blur_is_one_sentence(model):
    with pytest.raises(ExplainerError) as err:
        explain(model, [hand_image()], method="shap_image", blur="gaussian")
    assert str(err.value) == blackbox.BAD_BLUR.format(blur="gaussian")


def test_large_images_are_explained_on_a_smaller_copy_and_mapped_back(model):
    big = np.kron(hand_image(), np.ones((8, 8, 1), np.uint8))  # 512 x 384
    got = explain(model, [big], method="lime_image", target="red", num_samples=100, n_segments=30)[0]
    assert got.values.shape == big.shape[:2]
    red_in = (slice(RED_IN[0].start * 8, RED_IN[0].stop * 8), slice(RED_IN[1].start * 8, RED_IN[1].stop * 8))
    assert got.values[red_in].mean() > 0.5


def test_mean_map_by_group_averages_resized_maps():
    a = Explanation("gradcam", "", "x", np.array([[1.0, 0.0], [0.0, 0.0]], np.float32))
    b = Explanation("gradcam", "", "x", np.array([[0.0, 0.0], [0.0, 1.0]], np.float32))
    c = Explanation("gradcam", "", "x", np.ones((4, 4), np.float32))  # another size: resized to 2 x 2
    got = mean_map_by_group([a, b, c], ["yes", "yes", "no"])
    assert list(got) == ["no", "yes"]
    np.testing.assert_allclose(got["yes"], [[0.5, 0.0], [0.0, 0.5]])
    np.testing.assert_allclose(got["no"], np.ones((2, 2)))
    with pytest.raises(ExplainerError) as err:
        mean_map_by_group([a], ["yes", "no"])
    assert str(err.value) == MAP_COUNT.format(n_maps=1, n_groups=2)
