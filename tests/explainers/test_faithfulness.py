"""Faithfulness checks: the deletion curve against a hand-built one, and model-parameter randomisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glasswing.explainers import ExplainerError, explain, faithfulness
from glasswing.explainers._faithfulness import (
    BAD_LAYER_COUNT,
    DELETION_FASTER,
    DELETION_NOT_FASTER,
    MAP_SHAPE,
    NEEDS_WEIGHTS,
    RANDOMISED_CHANGED,
    RANDOMISED_SAME,
    UNKNOWN_FILL,
    similarity,
)
from glasswing.ingest import Model
from tests.explainers.test_gradcam import PREPROCESS, hand_image, hand_model


@pytest.fixture(scope="module")
def model():
    return hand_model()


def test_deletion_curve_equals_one_built_by_hand(model):
    image = hand_image()[:32, :32]  # no bigger than the working size: pixels are removed as they are
    saliency = np.random.default_rng(5).permutation(32 * 32).reshape(32, 32).astype(float)  # no ties
    curve = faithfulness.deletion_curve(model, image, saliency, "red", steps=8, n_random=2, seed=1)
    order = np.argsort(-saliency.ravel())
    expected = []
    for k in range(9):
        removed = image.reshape(-1, 3).copy()
        removed[order[:round(k / 8 * 1024)]] = 0  # filled black, highest-ranked pixels first
        expected.append(model.predict_proba([removed.reshape(image.shape)])[0, 0])
    np.testing.assert_allclose(curve.fractions, np.linspace(0, 1, 9))
    np.testing.assert_allclose(curve.scores, expected, atol=1e-6)
    assert curve.auc == pytest.approx(np.trapezoid(expected, np.linspace(0, 1, 9)), abs=1e-6)
    # both orders start from the image and end at the fully filled image
    assert curve.random_scores[0] == pytest.approx(expected[0], abs=1e-6)
    assert curve.random_scores[-1] == pytest.approx(expected[-1], abs=1e-6)
    assert curve.target == "red" and curve.fill == "black"


def test_a_faithful_map_beats_random_order_and_an_inverted_one_does_not(model):
    image = hand_image()
    exp = explain(model, [image], method="gradcam", target="red", faithfulness=True)[0]
    curve = exp.extras["deletion_curve"]
    assert exp.extras["deletion_auc"] == curve.auc and exp.extras["random_auc"] == curve.random_auc
    assert curve.auc < curve.random_auc
    assert curve.summary == DELETION_FASTER.format(target="red", auc=curve.auc, random_auc=curve.random_auc)
    direct = faithfulness.deletion_curve(model, image, exp.values, "red")
    np.testing.assert_allclose(direct.scores, curve.scores)
    inverted = faithfulness.deletion_curve(model, image, -exp.values, "red")
    assert inverted.auc > inverted.random_auc
    assert inverted.summary == DELETION_NOT_FASTER.format(target="red", auc=inverted.auc,
                                                          random_auc=inverted.random_auc)


@pytest.mark.parametrize("fill", ["blur", "mean"])
def test_other_fills_start_at_the_image_and_end_at_the_filled_image(model, fill):
    image = hand_image()
    curve = faithfulness.deletion_curve(model, image, np.ones(image.shape[:2]), "green", fill=fill, steps=4)
    assert curve.scores[0] == pytest.approx(model.predict_proba([image])[0, 1], abs=1e-6)
    if fill == "mean":
        flat = np.broadcast_to(image.reshape(-1, 3).mean(axis=0).astype(np.uint8), image.shape)
        assert curve.scores[-1] == pytest.approx(model.predict_proba([flat])[0, 1], abs=1e-6)


def test_bad_deletion_input_is_one_sentence(model):
    image = hand_image()
    with pytest.raises(ExplainerError) as err:
        faithfulness.deletion_curve(model, image, np.ones((3, 3)), "red")
    assert str(err.value) == MAP_SHAPE.format(map_shape=(3, 3), image_shape=image.shape)
    with pytest.raises(ExplainerError) as err:
        faithfulness.deletion_curve(model, image, np.ones(image.shape[:2]), "red", fill="noise")
    assert str(err.value) == UNKNOWN_FILL.format(fill="noise", choices="black, blur, mean")


def test_randomising_the_top_layers_changes_the_map_and_leaves_the_model_alone(model):
    before = {k: v.clone() for k, v in model.module.state_dict().items()}
    check = faithfulness.randomisation_check(model, hand_image(), "integrated_gradients", target="red",
                                             layers=3, seed=0)
    assert check.layers == ("detect", "mix", "fc") and check.method == "integrated_gradients"
    assert check.original.shape == check.randomised.shape == hand_image().shape[:2]
    assert check.changed and abs(check.rank_correlation) < faithfulness.CHANGED_BELOW
    assert check.summary == RANDOMISED_CHANGED.format(layers="'detect', 'mix', 'fc'",
                                                      rho=check.rank_correlation)
    # the map on the untouched model is the same as before the check
    np.testing.assert_allclose(check.original, explain(model, [hand_image()], method="integrated_gradients",
                                                       target="red")[0].values)
    for key, value in model.module.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_a_map_that_survives_randomisation_is_called_out(model):
    # Grad-CAM on this network only sees which detector fired: with fc randomised (seed 0 keeps the red
    # weight positive) the map is unchanged, and the check says so instead of passing it
    check = faithfulness.randomisation_check(model, hand_image(), "gradcam", target="red", layers=1, seed=0)
    assert check.layers == ("fc",) and not check.changed
    assert check.rank_correlation == pytest.approx(1.0)
    assert check.summary == RANDOMISED_SAME.format(layers="'fc'", rho=check.rank_correlation)


def test_randomisation_needs_weights_and_a_valid_layer_count(model):
    onnx_like = Model(name="m.onnx", kind="onnx", modality="image", classes_=np.array(["red", "green"]),
                      preprocess=PREPROCESS)
    with pytest.raises(ExplainerError) as err:
        faithfulness.randomisation_check(onnx_like, hand_image(), "lime_image")
    assert str(err.value) == NEEDS_WEIGHTS.format(kind="onnx")
    with pytest.raises(ExplainerError) as err:
        faithfulness.randomisation_check(model, hand_image(), "gradcam", layers=4)
    assert str(err.value) == BAD_LAYER_COUNT.format(n=3, layers=4)


def test_similarity_of_maps():
    a = np.random.default_rng(0).random((16, 16))
    assert similarity(a, a) == pytest.approx((1.0, 1.0))
    rho, _ = similarity(a, -a)
    assert rho == pytest.approx(-1.0)
    assert similarity(np.zeros((4, 4)), np.zeros((4, 4))) == (1.0, 1.0)
    assert similarity(np.zeros((4, 4)), a[:4, :4]) == (0.0, 0.0)


# TorchScript is deprecated upstream but still a format users upload; building one here is the point.
@pytest.mark.filterwarnings("ignore:`torch.jit.trace(_method)?` is deprecated:FutureWarning")
def test_torchscript_weights_are_randomised_like_the_eager_model(model):
    from tests.explainers.test_gradcam import SIZE, HandCNN

    scripted = hand_model(torch.jit.trace(HandCNN().eval(), torch.zeros(1, 3, SIZE, SIZE)))
    eager = faithfulness.randomisation_check(model, hand_image(), "integrated_gradients", target="red",
                                             layers=3, seed=0)
    traced = faithfulness.randomisation_check(scripted, hand_image(), "integrated_gradients", target="red",
                                              layers=3, seed=0)
    assert traced.layers == eager.layers
    np.testing.assert_allclose(traced.randomised, eager.randomised, atol=1e-5)
