"""Image explainers: Grad-CAM, Guided Grad-CAM, Integrated Gradients, LIME, SHAP (registered on import).

Which method fits which model (``why_not``):

=====================  =========  ===========  ====
method                 PyTorch    TorchScript  ONNX
=====================  =========  ===========  ====
gradcam                yes        no (hooks)   no
guided_gradcam         yes        no (hooks)   no
integrated_gradients   yes        yes          no
lime_image             yes        yes          yes
shap_image             yes        yes          yes
=====================  =========  ===========  ====

Every map is an ``Explanation`` with ``values`` of the original image's height and width, scaled so
that the largest absolute value is 1 (``extras["scale"]`` gives the raw scale back). With the
``faithfulness`` parameter on, ``extras`` also holds the deletion curve (``deletion_auc``,
``random_auc``, ``deletion_curve``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from glasswing.explainers import _cam, _faithfulness, _image_blackbox, faithfulness
from glasswing.explainers._image_input import as_images, resize_map
from glasswing.explainers._registry import ExplainerError, ExplainerSpec, Param, registry
from glasswing.explainers._targets import target_indices

log = logging.getLogger(__name__)

__all__ = ["faithfulness", "mean_map_by_group"]

TORCHSCRIPT_NO_HOOKS = ("captum cannot hook the layers of a TorchScript model, and {label} needs a layer's "
                        "activations; Integrated Gradients, LIME and SHAP still work, or load the weights as "
                        "safetensors with their architecture.")
ONNX_BLACK_BOX = ("ONNX models run as black boxes without the gradients {label} needs; LIME and SHAP, which "
                  "only need predictions, work on them.")
NEEDS_PYTORCH = "{label} needs a PyTorch model and this is a {kind} model."
NO_PREPROCESS = ("the model has no image preprocessing (input size and normalisation); load it again with "
                 "one.")
MAP_COUNT = "{n_maps} maps were given with {n_groups} group values; give one group value per map."

FAITHFULNESS = Param("faithfulness", False, help="Also compute the deletion curve beside the map "
                     "(about 84 more predictions per image).")
LAYER = Param("layer", "auto", help="The layer whose activations are weighed: 'auto' takes the last "
              "convolutional layer; or a module name such as 'layer4' or 'conv3'.")


def _needs_preprocess(model: Any) -> str | None:
    return NO_PREPROCESS if getattr(model, "preprocess", None) is None else None


def _why_not_hooks(label: str) -> Callable[[Any], str | None]:
    def why_not(model: Any) -> str | None:
        if model.kind == "onnx":
            return ONNX_BLACK_BOX.format(label=label)
        if model.kind == "torchscript":
            return TORCHSCRIPT_NO_HOOKS.format(label=label)
        if not model.hookable:
            return NEEDS_PYTORCH.format(label=label, kind=model.kind)
        if not _cam.conv_layers(model.module):
            return _cam.NO_CONV_LAYER
        return _needs_preprocess(model)

    return why_not


def _why_not_gradients(model: Any) -> str | None:
    if model.kind == "onnx":
        return ONNX_BLACK_BOX.format(label="Integrated Gradients")
    if not model.differentiable:
        return NEEDS_PYTORCH.format(label="Integrated Gradients", kind=model.kind)
    return _needs_preprocess(model)


def _runner(method: str, compute: Callable[..., list]) -> Callable[..., list]:
    """Wrap a batch function: check inputs and targets, then add the deletion curve when asked for."""

    def run(model: Any, inputs: Any, *, target: Any = None, faithfulness: bool = False, **params) -> list:
        images, names = as_images(inputs)
        targets = target_indices(model, target, len(images))
        used = {**params, "faithfulness": faithfulness}
        explanations = compute(model, images, targets, params=used, **params)
        out = []
        for i, exp in enumerate(explanations):
            extras = dict(exp.extras)
            if names:
                extras["image_name"] = names[i]
            if faithfulness:
                curve = _faithfulness.deletion_curve(model, exp.data, exp.values, exp.target)
                extras.update(curve.as_extras())
            out.append(dataclasses.replace(exp, extras=extras))
        return out

    run.__name__ = f"run_{method}"
    return run


def _gradcam(model, images, targets, *, params, layer="auto", relu=True):
    return _cam.gradcam(model, images, targets, layer=layer, relu=relu, params=params)


def _guided(model, images, targets, *, params, layer="auto"):
    return _cam.gradcam(model, images, targets, layer=layer, guided=True, method="guided_gradcam",
                        params=params)


registry.register(ExplainerSpec(
    name="gradcam", label="Grad-CAM", modalities=("image",), order=10,
    run=_runner("gradcam", _gradcam), why_not=_why_not_hooks("Grad-CAM"),
    params=(LAYER, Param("relu", True, help="Keep only evidence for the class (the original Grad-CAM); "
                         "off also shows evidence against it, as negative values."), FAITHFULNESS),
    description="Where in the image the last convolutional layer saw evidence for the class "
                "(captum LayerGradCam, upsampled to the image)."))

registry.register(ExplainerSpec(
    name="guided_gradcam", label="Guided Grad-CAM", modalities=("image",), order=20,
    run=_runner("guided_gradcam", _guided), why_not=_why_not_hooks("Guided Grad-CAM"),
    params=(LAYER, FAITHFULNESS),
    description="Grad-CAM multiplied by guided backpropagation: the same regions at pixel resolution "
                "(captum GuidedGradCam)."))

registry.register(ExplainerSpec(
    name="integrated_gradients", label="Integrated Gradients", modalities=("image",), order=30,
    run=_runner("integrated_gradients", _cam.integrated_gradients), why_not=_why_not_gradients,
    params=(Param("n_steps", 32, help="Points on the path from the baseline to the image.", minimum=4,
                  maximum=256),
            Param("baseline", "black", help="The image the path starts from: black, or the image blurred.",
                  choices=_cam.BASELINES), FAITHFULNESS),
    description="Each pixel's share of the class probability gained from a baseline image to this one "
                "(captum IntegratedGradients); needs gradients, not layer hooks."))

registry.register(ExplainerSpec(
    name="lime_image", label="LIME (image)", modalities=("image",), order=40,
    run=_runner("lime_image", _image_blackbox.lime_image), why_not=_needs_preprocess,
    params=(Param("num_samples", 500, help="Perturbed images the local model is fitted on.", minimum=50,
                  maximum=10000),
            Param("n_segments", 50, help="About how many superpixels SLIC cuts the image into.", minimum=2,
                  maximum=1000),
            Param("compactness", 10.0, help="SLIC's balance of colour and space: higher gives squarer "
                  "superpixels.", minimum=0.01, maximum=1000.0),
            Param("seed", 0, help="Seeds which superpixels are switched off."), FAITHFULNESS),
    description="A local linear model over superpixels switched on and off; needs only predictions."))

registry.register(ExplainerSpec(
    name="shap_image", label="SHAP (image)", modalities=("image",), order=50,
    run=_runner("shap_image", _image_blackbox.shap_image), why_not=_needs_preprocess,
    params=(Param("max_evals", 500, help="Model evaluations the Partition explainer may spend.", minimum=50,
                  maximum=20000),
            Param("blur", "auto", help="How hidden regions are blurred: 'auto' (a box a quarter of the "
                  "image wide) or 'blur(width,height)' in pixels."), FAITHFULNESS),
    description="Shapley values over a hierarchy of image regions, hidden regions blurred "
                "(shap PartitionExplainer); needs only predictions."))


def mean_map_by_group(explanations: Sequence[Any], groups: Sequence[Any], *,
                      size: tuple[int, int] | None = None) -> dict[Any, np.ndarray]:
    """Average image maps per group, to see whether the model looks at different places for each.

    Parameters
    ----------
    explanations : sequence of Explanation
        Image explanations (``values`` of shape (H, W); sizes may differ).
    groups : sequence
        One group value per explanation (e.g. an image set's ``groups["watermark"]``).
    size : (int, int), optional
        (height, width) every map is resized to before averaging; default: the first map's.

    Returns
    -------
    dict
        Group value -> mean map, groups in sorted order.

    Examples
    --------
    >>> from explainers import Explanation
    >>> maps = [Explanation("m", "a", 0, np.eye(2)), Explanation("m", "a", 0, np.ones((2, 2)))]
    >>> mean_map_by_group(maps, ["x", "x"])["x"].tolist()
    [[1.0, 0.5], [0.5, 1.0]]
    """
    groups = list(groups)
    if len(groups) != len(explanations):
        raise ExplainerError(MAP_COUNT.format(n_maps=len(explanations), n_groups=len(groups)))
    if not explanations:
        return {}
    size = tuple(size or np.shape(explanations[0].values))
    sums: dict[Any, list] = {}
    for exp, group in zip(explanations, groups, strict=True):
        entry = sums.setdefault(group, [np.zeros(size, dtype=np.float64), 0])
        entry[0] += resize_map(exp.values, size)
        entry[1] += 1
    return {g: sums[g][0] / sums[g][1] for g in sorted(sums, key=str)}
