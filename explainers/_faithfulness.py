"""Is a heatmap faithful to the model? Two checks that need no ground truth.

- **Deletion curve** (Petsiuk et al., RISE, 2018): remove the pixels the map ranks highest first, a
  little at a time, and watch the class probability. A faithful map makes it fall fast, faster than
  removing the same number of pixels in random order; the area under the curve sums this up
  (lower is better).
- **Model-parameter randomisation** (Adebayo et al., Sanity Checks for Saliency Maps, 2018): replace
  the weights of the model's top layers with random ones and explain again. A map that stays the same
  explains the image (edges, bright spots), not what the model learned.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from glasswing.explainers._image_input import check_image, resize_map, working_copy
from glasswing.explainers._registry import ExplainerError
from glasswing.explainers._targets import class_index, class_label

log = logging.getLogger(__name__)

__all__ = ["DeletionCurve", "RandomisationCheck", "deletion_curve", "randomisation_check"]

FILLS = ("black", "blur", "mean")
UNKNOWN_FILL = "Fill {fill!r} is not known; choose one of: {choices}."
MAP_SHAPE = "The map is {map_shape} and the image {image_shape}; give a map of the image's height and width."
NEEDS_WEIGHTS = ("The randomisation check replaces a PyTorch model's weights and this is a {kind} model; "
                 "it works on PyTorch and TorchScript models.")
BAD_LAYER_COUNT = "layers must be between 1 and {n} (the layers with weights in this model), not {layers}."
#: Rank correlation below which a randomised map counts as changed.
CHANGED_BELOW = 0.5

DELETION_FASTER = ("Removing the pixels this map ranks highest made the {target!r} probability fall faster "
                   "than removing pixels in random order (area under the curve {auc:.2f} against "
                   "{random_auc:.2f}; lower is better): the map points at pixels the model relies on.")
DELETION_NOT_FASTER = ("Removing the pixels this map ranks highest did not make the {target!r} probability "
                       "fall faster than removing pixels in random order (area under the curve {auc:.2f} "
                       "against {random_auc:.2f}; lower is better): do not trust this map to show what the "
                       "model relies on.")
RANDOMISED_CHANGED = ("With the weights of {layers} replaced by random ones the map changed (rank "
                      "correlation with the original {rho:.2f}): it depends on what the model learned, as a "
                      "faithful map must.")
RANDOMISED_SAME = ("With the weights of {layers} replaced by random ones the map barely changed (rank "
                   "correlation with the original {rho:.2f}): it shows the image more than the model's "
                   "reasoning.")


@dataclass(frozen=True, eq=False)
class DeletionCurve:
    """The class probability as the most-attributed pixels are removed first, against random order.

    Attributes
    ----------
    fractions : numpy.ndarray
        Share of pixels removed at each step, from 0 to 1.
    scores : numpy.ndarray
        Probability of ``target`` after removing that share in the map's order (highest first).
    random_scores : numpy.ndarray
        The same in random order, averaged over ``n_random`` orders.
    auc, random_auc : float
        Areas under the two curves (trapezoid rule, fractions 0 to 1). Lower ``auc`` than
        ``random_auc`` means the map ranks the pixels the model relies on first.
    target : object
        The class whose probability is followed.
    fill : str
        What removed pixels become: ``"black"``, ``"blur"`` (a strongly blurred copy) or ``"mean"``.
    """

    fractions: np.ndarray
    scores: np.ndarray
    random_scores: np.ndarray
    auc: float
    random_auc: float
    target: Any
    fill: str

    @property
    def summary(self) -> str:
        """What the numbers mean, in one sentence."""
        template = DELETION_FASTER if self.auc < self.random_auc else DELETION_NOT_FASTER
        return template.format(target=self.target, auc=self.auc, random_auc=self.random_auc)

    def as_extras(self) -> dict:
        """Return the entries this check adds to ``Explanation.extras``."""
        return {"deletion_auc": self.auc, "random_auc": self.random_auc, "deletion_curve": self}


def _filled(image: np.ndarray, fill: str) -> np.ndarray:
    if fill == "black":
        return np.zeros_like(image)
    if fill == "mean":
        return np.broadcast_to(image.reshape(-1, 3).mean(axis=0).astype(np.uint8), image.shape).copy()
    from glasswing.explainers._image_blackbox import box_blur, to_uint8

    side = max(3, round(max(image.shape[:2]) / 4))
    return to_uint8(box_blur(image, (side, side)))


def deletion_curve(model: Any, image: np.ndarray, saliency: np.ndarray, target: Any, *, steps: int = 20,
                   fill: str = "black", n_random: int = 3, seed: int = 0) -> DeletionCurve:
    """Follow the ``target`` probability while the pixels ``saliency`` ranks highest are removed first.

    Parameters
    ----------
    model : ingest.Model
        An image model (only ``predict_proba`` is called, so any kind works).
    image : numpy.ndarray
        The RGB ``uint8`` image ``(H, W, 3)`` that was explained.
    saliency : numpy.ndarray
        Its map ``(H, W)`` (an ``Explanation.values``); higher means more evidence for ``target``.
    target : object
        The class label whose probability is followed.
    steps : int, default 20
        The image is removed in this many equal shares; ``steps + 1`` points per curve.
    fill : {"black", "blur", "mean"}, default "black"
        What removed pixels become.
    n_random : int, default 3
        Random orders averaged for the reference curve.
    seed : int, default 0
        Seeds the random orders and the tie-breaking among equal map values.

    Returns
    -------
    DeletionCurve

    Examples
    --------
    The sample CNN on a watermarked 9, with its Grad-CAM map: deleting the pixels the map ranks first
    lowers the class score faster than deleting them in random order.

    >>> from glasswing import explainers
    >>> from glasswing.ingest import samples
    >>> model, images = samples.digits_model(), samples.digits_images()
    >>> image = images.images[images.names.index("digit9_watermark.png")]
    >>> (explanation,) = explainers.explain(model, [image], method="gradcam")
    >>> curve = deletion_curve(model, image, explanation.values, explanation.target)
    >>> bool(curve.auc < curve.random_auc)
    True
    """
    image = check_image(image)
    saliency = np.asarray(saliency, dtype=np.float64)
    if saliency.shape != image.shape[:2]:
        raise ExplainerError(MAP_SHAPE.format(map_shape=saliency.shape, image_shape=image.shape))
    if fill not in FILLS:
        raise ExplainerError(UNKNOWN_FILL.format(fill=fill, choices=", ".join(FILLS)))
    index = class_index(model, target)
    work = working_copy(image)
    ranking = resize_map(saliency, work.shape[:2]).ravel()
    rng = np.random.default_rng(seed)
    n_pixels = ranking.size
    jitter = rng.random(n_pixels) * 1e-9 * (np.ptp(ranking) or 1.0)  # random order among equal values
    orders = [np.argsort(-(ranking + jitter), kind="stable")]
    orders += [rng.permutation(n_pixels) for _ in range(int(n_random))]
    fractions = np.linspace(0.0, 1.0, int(steps) + 1)
    counts = np.round(fractions * n_pixels).astype(int)
    flat, background = work.reshape(-1, 3), _filled(work, fill).reshape(-1, 3)
    batch = []
    for order in orders:
        for count in counts:
            step = flat.copy()
            step[order[:count]] = background[order[:count]]
            batch.append(step.reshape(work.shape))
    probs = model.predict_proba(batch)[:, index].reshape(len(orders), len(counts))
    scores, random_scores = probs[0], probs[1:].mean(axis=0)
    return DeletionCurve(fractions=fractions, scores=scores, random_scores=random_scores,
                         auc=float(np.trapezoid(scores, fractions)),
                         random_auc=float(np.trapezoid(random_scores, fractions)),
                         target=class_label(model, index), fill=fill)


@dataclass(frozen=True, eq=False)
class RandomisationCheck:
    """A map computed again after the model's top layers got random weights, compared with the original.

    Attributes
    ----------
    method : str
        The explainer checked.
    layers : tuple of str
        The layers whose weights were randomised (the top ones, nearest the output).
    original, randomised : numpy.ndarray
        The two maps, ``(H, W)``.
    rank_correlation : float
        Spearman's correlation between the two maps' pixel values (1: same ranking, 0: unrelated).
    ssim : float
        Structural similarity between the two maps (``skimage.metrics.structural_similarity``).
    changed : bool
        Whether ``|rank_correlation|`` is below ``CHANGED_BELOW``: the check is passed.
    """

    method: str
    layers: tuple[str, ...]
    original: np.ndarray
    randomised: np.ndarray
    rank_correlation: float
    ssim: float
    changed: bool

    @property
    def summary(self) -> str:
        """What the numbers mean, in one sentence."""
        template = RANDOMISED_CHANGED if self.changed else RANDOMISED_SAME
        return template.format(layers=", ".join(f"'{n}'" for n in self.layers), rho=self.rank_correlation)


def weighted_layers(module: Any) -> list[str]:
    """Names of the sub-modules that hold weights themselves, in definition order (input to output)."""
    return [name for name, m in module.named_modules()
            if name and any(True for _ in m.parameters(recurse=False))]


def randomised_model(model: Any, *, layers: int = 1, seed: int = 0) -> tuple[Any, tuple[str, ...]]:
    """Return a copy of a PyTorch ``model`` whose top ``layers`` weighted layers hold random weights.

    Each parameter is redrawn from a normal distribution with its own original standard deviation (so
    activations keep their scale). The original model is not touched.
    """
    import torch

    if model.kind not in ("torch", "torchscript"):
        raise ExplainerError(NEEDS_WEIGHTS.format(kind=model.kind))
    names = weighted_layers(model.module)
    if not 1 <= int(layers) <= len(names):
        raise ExplainerError(BAD_LAYER_COUNT.format(n=len(names), layers=layers))
    chosen = tuple(names[-int(layers):])
    module = copy.deepcopy(model.module)
    generator = torch.Generator().manual_seed(int(seed))
    modules = dict(module.named_modules())
    with torch.no_grad():
        for name in chosen:
            for param in modules[name].parameters(recurse=False):
                std = float(param.std()) if param.numel() > 1 else 1.0
                param.copy_(torch.randn(param.shape, generator=generator) * (std or 1.0))
    clone = dataclasses.replace(model, module=module, sha256=f"{model.sha256}+random{layers}-{seed}",
                                name=f"{model.name} (top {layers} layer(s) randomised)")
    return clone, chosen


def similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Spearman rank correlation and SSIM of two maps (constant maps: 1 if both are equal, else 0)."""
    from scipy.stats import spearmanr
    from skimage.metrics import structural_similarity

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        same = float(np.allclose(a, b))
        return same, same
    rho = float(spearmanr(a.ravel(), b.ravel()).statistic)
    side = min(a.shape)
    window = min(7, side if side % 2 else side - 1)
    if window < 3:  # too small for SSIM's window: fall back to the rank correlation
        return rho, rho
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    return rho, float(structural_similarity(a, b, data_range=hi - lo, win_size=window))


def randomisation_check(model: Any, image: np.ndarray, method: str, *, target: Any = None, layers: int = 1,
                        seed: int = 0, **params) -> RandomisationCheck:
    """Explain ``image`` with ``method`` on the model and on a copy with its top layers randomised.

    Parameters
    ----------
    model : ingest.Model
        A PyTorch or TorchScript image model (its weights are copied and randomised).
    image : numpy.ndarray
        RGB ``uint8`` image ``(H, W, 3)``.
    method : str
        Registry name of the explainer ("gradcam", "integrated_gradients", ...).
    target : object, optional
        Class to explain; default: the original model's predicted class (kept for the randomised model).
    layers : int, default 1
        How many weighted layers, counted from the output, get random weights.
    seed : int, default 0
        Seeds the random weights.
    **params
        The explainer's parameters, used for both maps.

    Returns
    -------
    RandomisationCheck

    Examples
    --------
    >>> from glasswing.ingest import samples
    >>> model, images = samples.digits_model(), samples.digits_images()
    >>> image = images.images[images.names.index("digit9_clean.png")]
    >>> check = randomisation_check(model, image, "gradcam")
    >>> bool(check.changed)
    True
    """
    from glasswing.explainers._registry import explain

    image = check_image(image)
    clone, chosen = randomised_model(model, layers=layers, seed=seed)
    original = explain(model, [image], method=method, target=target, **params)[0]
    randomised = explain(clone, [image], method=method, target=original.target, **params)[0]
    rho, ssim = similarity(original.values, randomised.values)
    return RandomisationCheck(method=method, layers=chosen, original=original.values,
                              randomised=randomised.values, rank_correlation=rho, ssim=ssim,
                              changed=abs(rho) < CHANGED_BELOW)
