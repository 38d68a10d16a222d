"""Gradient maps through captum: Grad-CAM, Guided Grad-CAM and Integrated Gradients.

Grad-CAM and Guided Grad-CAM hook a layer, so they need an eager PyTorch module (``Model.hookable``);
Integrated Gradients only needs input gradients, so TorchScript models work too
(``Model.differentiable``). All three explain a batch in one pass of the library call.

Which output is differentiated: Grad-CAM weighs the layer's channels by the gradient of the class
*score* (the logit, before the softmax, as in Selvaraju et al.; models that output probabilities give
the probability). Integrated Gradients differentiates the class *probability*, so its attributions
add up to how much the probability rose from the baseline image to this one.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
import warnings
import weakref
from collections import Counter
from typing import Any

import numpy as np

from glasswing.explainers._image_input import image_explanation, resize_map
from glasswing.explainers._registry import ExplainerError
from glasswing.explainers._targets import class_label

log = logging.getLogger(__name__)

#: Layer hooks live on the shared (cached) module; two hooked explanations must not interleave.
_HOOKS = threading.Lock()
#: Module -> the layer ``auto_layer`` found (modules are never changed after loading; entries go with them).
_AUTO_LAYERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: Images per library call: bounds memory on large batches.
CHUNK = 32

UNKNOWN_LAYER = ("There is no layer called {layer!r} in this model; its convolutional layers are: {convs} "
                 "(or 'auto' for the last one).")
NOT_SPATIAL = ("Layer {layer!r} gives a flat output with no height and width, so it has no map to show; "
               "choose a convolutional layer such as: {convs}.")
NO_CONV_LAYER = ("this model has no convolutional layer, which Grad-CAM needs; use Integrated Gradients, "
                 "LIME or SHAP.")
AUTO_REASON = ("Layer '{layer}' is the output of the last convolutional stage (the last layer with a "
               "spatial map).")
BASELINES = ("black", "blur")
UNKNOWN_BASELINE = "Baseline {baseline!r} is not known; choose one of: {choices}."


def conv_layers(module: Any) -> list[str]:
    """Return the names of the 2-D convolutional layers of a PyTorch module, in definition order."""
    import torch

    return [name for name, m in module.named_modules() if isinstance(m, torch.nn.Conv2d)]


def auto_layer(module: Any, preprocess: Any) -> str:
    """Return the name of the output of the last convolutional stage: the layer Grad-CAM should weigh.

    That is the last sub-module, in the order a forward pass runs them, whose output still has a height
    and width (more than 1 x 1) and that runs once: the activation after the last convolution
    (``relu3`` of the digits CNN, not ``conv3`` before its ReLU) or the last block of a ResNet
    (``layer4``), as pytorch-grad-cam advises. Found with one hooked forward pass of a blank image;
    remembered per module, which is never changed after loading.
    """
    import torch

    if module in _AUTO_LAYERS:
        return _AUTO_LAYERS[module]
    convs = conv_layers(module)
    if not convs:
        raise ExplainerError("Grad-CAM cannot explain this model: " + NO_CONV_LAYER)
    calls: list[tuple[str, tuple]] = []

    def record(name):
        def hook(_module, _inputs, output):
            calls.append((name, tuple(output.shape) if isinstance(output, torch.Tensor) else ()))
        return hook

    handles = [m.register_forward_hook(record(name)) for name, m in module.named_modules() if name]
    try:
        with torch.no_grad():
            module(torch.zeros(1, preprocess.channels, *preprocess.size))
    finally:
        for handle in handles:
            handle.remove()
    runs = Counter(name for name, _ in calls)
    last_conv = max((i for i, (name, _) in enumerate(calls) if name in convs), default=-1)
    chosen = convs[-1]
    for name, shape in reversed(calls[last_conv:] if last_conv >= 0 else []):
        if len(shape) == 4 and shape[2] * shape[3] > 1 and runs[name] == 1:
            chosen = name
            break
    _AUTO_LAYERS[module] = chosen
    log.debug("Grad-CAM layer for %s: %s (last convolution: %s)", type(module).__name__, chosen, convs[-1])
    return chosen


def find_layer(module: Any, layer: str = "auto", preprocess: Any = None) -> tuple[str, Any]:
    """Return ``(name, module)`` of the layer to hook: :func:`auto_layer` for ``"auto"``, else by name.

    Any named sub-module may be chosen (``"layer4"`` of a ResNet, ``"conv3"``); an unknown name raises
    ``ExplainerError`` listing the convolutional layers.
    """
    convs = conv_layers(module)
    if layer in ("auto", "", None):
        layer = auto_layer(module, preprocess)
    modules = dict(module.named_modules())
    if layer not in modules or layer == "":
        raise ExplainerError(UNKNOWN_LAYER.format(layer=layer, convs=", ".join(convs) or "none"))
    return layer, modules[layer]


@contextlib.contextmanager
def _graph_from(layer: Any):
    """Record autograd only from ``layer``'s output on, without touching any parameter's flags.

    Grad-CAM needs the gradient of the class score with respect to one layer's output, never with
    respect to the weights. The score wrapper runs the network with autograd off (a thread-local mode,
    so other sessions are unaffected); this forward hook turns it back on at the hooked layer and hands on
    its output as a leaf that requires a gradient. The layers below run as in inference (no graph, no
    activations kept), the graph and the backward pass start at the layer, and the shared module's
    ``requires_grad`` flags are never changed. The caller holds ``_HOOKS`` (hooks live on the module).
    """
    import torch

    def start_graph(_module, _inputs, output):
        torch.set_grad_enabled(True)
        return output.detach().requires_grad_()

    handle = layer.register_forward_hook(start_graph)
    try:
        yield
    finally:
        handle.remove()


@functools.cache
def _class_score_type() -> type:
    """Return ``ClassScore``, defined once, on first use (importing torch is heavy)."""
    import torch

    class ClassScore(torch.nn.Module):
        """One score per image: the target's (or the top class's) logit, so ``target=None`` costs no pass.

        The chosen indices and the target probabilities are recorded in ``chosen`` / ``probabilities``.
        With ``from_layer`` the network runs with autograd off until ``_graph_from`` turns it on.
        """

        def __init__(self, net, index, output: str, from_layer: bool):
            super().__init__()
            self.net, self.index, self.output, self.from_layer = net, index, output, from_layer
            self.chosen: list = []
            self.probabilities: list = []

        def forward(self, x):
            with torch.set_grad_enabled(torch.is_grad_enabled() and not self.from_layer):
                out = self.net(x)
            index = out.detach().argmax(dim=1) if self.index is None else self.index
            probs = out.detach().softmax(dim=1) if self.output == "logits" else out.detach()
            self.chosen.append(index)
            self.probabilities.append(probs.gather(1, index[:, None])[:, 0])
            return out.gather(1, index[:, None])[:, 0]

    return ClassScore


def gradcam(model: Any, images: list[np.ndarray], targets: list[int] | None, *, layer: str = "auto",
            relu: bool = True, guided: bool = False, method: str = "gradcam", params: dict) -> list:
    """Grad-CAM (captum ``LayerGradCam``) or Guided Grad-CAM maps for a batch.

    The layer map is upsampled with ``LayerAttribution.interpolate`` (bilinear) straight to each
    original image's size. Guided Grad-CAM is what captum's ``GuidedGradCam`` computes (``GuidedBackprop``
    times the Grad-CAM map upsampled to the input); its size, summed over colour channels (gradient
    signs differ between channels and would cancel), is resized to the image.
    """
    import torch
    from captum.attr import GuidedBackprop, LayerAttribution, LayerGradCam

    with _HOOKS:
        name, target_layer = find_layer(model.module, layer, model.preprocess)
    reason = (AUTO_REASON.format(layer=name) if layer in ("auto", "", None)
              else f"Layer '{name}' was chosen.")
    out = []
    for start in range(0, len(images), CHUNK):
        batch = images[start:start + CHUNK]
        begin = time.perf_counter()
        x = model.image_tensor(batch)
        index = None if targets is None else torch.as_tensor(targets[start:start + CHUNK])
        scorer = _class_score_type()(model.module, index, model.output, from_layer=True)
        with _HOOKS, torch.enable_grad():
            with _graph_from(target_layer):
                attr = LayerGradCam(scorer, target_layer).attribute(x, relu_attributions=relu or guided)
            attr = attr.detach()
            if attr.dim() != 4:
                raise ExplainerError(NOT_SPATIAL.format(layer=name,
                                                        convs=", ".join(conv_layers(model.module)) or "none"))
            layer_shape = tuple(attr.shape[-2:])
            if guided:  # what captum's GuidedGradCam computes, with the layer checked first
                with warnings.catch_warnings():
                    # captum announces, on every call, that it hooks the ReLUs and removes the hooks after.
                    warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU",
                                            category=UserWarning)
                    whole = _class_score_type()(model.module, scorer.chosen[0], model.output,
                                                from_layer=False)
                    pixels = GuidedBackprop(whole).attribute(x.clone().requires_grad_()).detach()
                upsampled = LayerAttribution.interpolate(attr, tuple(x.shape[-2:]), "bilinear")
                attr = (pixels * upsampled).abs().sum(dim=1, keepdim=True)
        maps = _to_original_sizes(attr, batch, LayerAttribution.interpolate)
        per_image = (time.perf_counter() - begin) / len(batch)
        algorithm = f"captum {'GuidedBackprop x LayerGradCam' if guided else 'LayerGradCam'} on '{name}'"
        for image, values, idx, prob in zip(batch, maps, scorer.chosen[0].tolist(),
                                            scorer.probabilities[0].tolist(), strict=True):
            out.append(image_explanation(
                method=method, algorithm=algorithm, target=class_label(model, idx), values=values,
                image=image, prediction=float(prob), params={**params, "layer": name},
                compute_time=per_image, reason=reason,
                extras={"layer": name, "layer_map_shape": layer_shape}))
    return out


def _to_original_sizes(attr, batch: list[np.ndarray], interpolate) -> list[np.ndarray]:
    """Upsample ``(N, 1, h, w)`` maps to each image's own (H, W), images of one size in one call."""
    maps: list[np.ndarray | None] = [None] * len(batch)
    sizes: dict[tuple[int, int], list[int]] = {}
    for i, image in enumerate(batch):
        sizes.setdefault(tuple(image.shape[:2]), []).append(i)
    for size, members in sizes.items():
        if tuple(attr.shape[-2:]) == size:
            up = attr[members]
        else:
            up = interpolate(attr[members], size, "bilinear")
        for i, values in zip(members, up[:, 0].numpy(), strict=True):
            maps[i] = values
    return maps


def integrated_gradients(model: Any, images: list[np.ndarray], targets: list[int] | None, *,
                         n_steps: int = 32, baseline: str = "black", params: dict) -> list:
    """Integrated Gradients maps (captum ``IntegratedGradients``), summed over colour channels.

    ``baseline`` is the image the path starts from: ``"black"`` (all pixels 0) or ``"blur"`` (the
    image under a strong Gaussian blur, which keeps its colours but not its shapes).
    """
    import torch
    from captum.attr import IntegratedGradients

    if baseline not in BASELINES:
        raise ExplainerError(UNKNOWN_BASELINE.format(baseline=baseline, choices=", ".join(BASELINES)))
    out = []
    for start in range(0, len(images), CHUNK):
        batch = images[start:start + CHUNK]
        begin = time.perf_counter()
        x = model.image_tensor(batch)
        with torch.no_grad():
            probs = model.forward_tensor(x)
        index = probs.argmax(dim=1) if targets is None else torch.as_tensor(targets[start:start + CHUNK])
        base = _baseline(model, x, baseline)
        ig = IntegratedGradients(model.forward_tensor)
        with torch.enable_grad():
            attr, delta = ig.attribute(x, baselines=base, target=index, n_steps=int(n_steps),
                                       internal_batch_size=max(int(n_steps), 64),
                                       return_convergence_delta=True)
        maps = attr.detach().sum(dim=1).numpy()
        per_image = (time.perf_counter() - begin) / len(batch)
        for i, image in enumerate(batch):
            idx = int(index[i])
            out.append(image_explanation(
                method="integrated_gradients", algorithm=f"captum IntegratedGradients, {baseline} baseline",
                target=class_label(model, idx), values=resize_map(maps[i], image.shape[:2]), image=image,
                prediction=float(probs[i, idx]), params=params, compute_time=per_image,
                reason="Input gradients along a path from the baseline image; works without layer hooks.",
                extras={"convergence_delta": float(delta[i]), "sum": float(maps[i].sum())}))
    return out


def _baseline(model: Any, x, baseline: str):
    """Return the baseline batch in the model's input space."""
    import torch

    if baseline == "black":
        black = np.zeros((1, *model.preprocess.size, 3), dtype=np.uint8)
        return model.preprocess.to_tensor(black).expand_as(x).contiguous()
    height, width = x.shape[-2:]
    sigma = max(1.0, min(height, width) / 16)
    kernel = min(2 * int(np.ceil(2 * sigma)) + 1, (min(height, width) - 1) | 1)
    with torch.no_grad():
        return gaussian_blur(x, kernel, sigma)


def gaussian_blur(x, kernel: int, sigma: float):
    """Blur an NCHW float batch as ``torchvision.transforms.functional.gaussian_blur(x, [k, k], [s, s])``.

    The same separable kernel (``exp(-x**2 / (2 sigma**2))`` on ``kernel`` points, normalised, in float32),
    reflect padding and grouped convolution, written with torch alone: importing torchvision loads
    ``torch._dynamo`` (about 10 s on a busy two-core machine), the bulk of a first Integrated Gradients
    call otherwise. The tests compare it with torchvision's.
    """
    import torch

    half = (kernel - 1) * 0.5
    pdf = torch.exp(-0.5 * (torch.linspace(-half, half, steps=kernel) / sigma).pow(2))
    line = (pdf / pdf.sum()).to(x.dtype)
    weight = torch.mm(line[:, None], line[None, :]).expand(x.shape[-3], 1, kernel, kernel)
    pad = kernel // 2
    padded = torch.nn.functional.pad(x, [pad, pad, pad, pad], mode="reflect")
    return torch.nn.functional.conv2d(padded, weight, groups=x.shape[-3])
