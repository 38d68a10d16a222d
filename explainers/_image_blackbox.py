"""Black-box image maps: LIME over superpixels and SHAP's Partition explainer with a blur masker.

Both only call ``model.predict_proba(images)``, so they explain every image model: PyTorch,
TorchScript and ONNX alike. Large images are explained on a copy whose longer side is
``WORK_SIDE`` pixels (the model sees an even smaller resize), and the map is resized back.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import numpy as np

from glasswing.explainers._image_input import image_explanation, resize_map, working_copy
from glasswing.explainers._registry import ExplainerError
from glasswing.explainers._targets import class_label

log = logging.getLogger(__name__)

#: LIME's default kernel width for images (``lime.lime_image.LimeImageExplainer``).
LIME_KERNEL_WIDTH = 0.25
#: Perturbed images per ``predict_proba`` call.
BATCH = 64
BAD_BLUR = ("Blur {blur!r} is not understood; write 'auto' (a box a quarter of the image wide) or "
            "'blur(width,height)' in pixels, e.g. 'blur(16,16)'.")
TOO_FEW_SEGMENTS = ("The image split into {n} superpixel with n_segments={n_segments}; LIME needs at least "
                    "two: raise n_segments or lower compactness.")


def _predicted(model: Any, images: list[np.ndarray], targets: list[int] | None) -> tuple[list, np.ndarray]:
    """Return the class index to explain for each image and the model's probabilities for the images."""
    proba = model.predict_proba(images)
    return (list(proba.argmax(axis=1)) if targets is None else list(targets)), proba




def to_uint8(batch: np.ndarray) -> np.ndarray:
    """Round float pixel values (0 to 255) to ``uint8`` images."""
    return np.clip(np.rint(batch), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------------------------- LIME
def superpixels(image: np.ndarray, *, n_segments: int = 50, compactness: float = 10.0) -> np.ndarray:
    """Return SLIC superpixel labels ``0 .. k-1`` for an RGB image (``skimage.segmentation.slic``)."""
    from skimage.segmentation import slic

    labels = slic(image, n_segments=int(n_segments), compactness=float(compactness), sigma=1, start_label=0)
    return np.unique(labels, return_inverse=True)[1].reshape(labels.shape)


def lime_image(model: Any, images: list[np.ndarray], targets: list[int] | None, *, num_samples: int = 500,
               n_segments: int = 50, compactness: float = 10.0, seed: int = 0, params: dict) -> list:
    """LIME maps: each superpixel's weight in a local linear model of the target class's probability.

    Follows ``lime.lime_image.LimeImageExplainer.explain_instance`` step for step (superpixels switched
    off are filled with their mean colour; cosine distance; LIME's kernel; ``lime_base.LimeBase`` fits
    the weighted ridge model) with the same random draws for a given ``seed``, but builds the perturbed
    images in vectorised batches and never prints a progress bar.
    """
    indices, proba = _predicted(model, images, targets)
    out = []
    for image, idx, p in zip(images, indices, proba, strict=True):
        begin = time.perf_counter()
        work = working_copy(image)
        segments = superpixels(work, n_segments=n_segments, compactness=compactness)
        weights, intercept, r2, local_pred = lime_segment_weights(
            model, work, segments, idx, num_samples=num_samples, seed=seed, n_segments=n_segments)
        values = resize_map(weights[segments], image.shape[:2], nearest=True)
        out.append(image_explanation(
            method="lime_image", algorithm="LIME (lime_base.LimeBase) over SLIC superpixels",
            target=class_label(model, idx), values=values, image=image, prediction=float(p[idx]),
            params=params, compute_time=time.perf_counter() - begin,
            reason="A weighted linear model of the class probability over superpixels switched on and off.",
            extras={"base_value": intercept, "r2": r2, "local_prediction": local_pred,
                    "n_superpixels": int(segments.max()) + 1}))
    return out


def lime_segment_weights(model: Any, image: np.ndarray, segments: np.ndarray, index: int, *, num_samples: int,
                         seed: int, n_segments: int = 0) -> tuple[np.ndarray, float, float, float]:
    """Return LIME's weight for each superpixel, the intercept, the local model's R² and its prediction."""
    import sklearn.metrics
    from lime import lime_base
    from sklearn.utils import check_random_state

    n_features = int(segments.max()) + 1
    if n_features < 2:
        raise ExplainerError(TOO_FEW_SEGMENTS.format(n=n_features, n_segments=n_segments))
    random_state = check_random_state(int(seed))

    def kernel(d):
        return np.sqrt(np.exp(-(d ** 2) / LIME_KERNEL_WIDTH ** 2))

    base = lime_base.LimeBase(kernel, verbose=False, random_state=random_state)
    fudged = image.copy()  # each superpixel's mean colour, truncated to uint8 as LIME does
    for s in range(n_features):
        fudged[segments == s] = image[segments == s].mean(axis=0)
    data = random_state.randint(0, 2, int(num_samples) * n_features).reshape((int(num_samples), n_features))
    data[0, :] = 1
    labels = np.empty((len(data), len(model.classes_)))
    for start in range(0, len(data), BATCH):
        keep = data[start:start + BATCH][:, segments]  # (b, H, W): 1 where the superpixel stays on
        batch = np.where(keep[..., None] == 1, image[None], fudged[None])
        labels[start:start + BATCH] = model.predict_proba(batch)
    distances = sklearn.metrics.pairwise_distances(data, data[0].reshape(1, -1), metric="cosine").ravel()
    intercept, local_exp, r2, local_pred = base.explain_instance_with_data(
        data, labels, distances, index, n_features, feature_selection="highest_weights")
    weights = np.zeros(n_features)
    for feature, weight in local_exp:
        weights[feature] = weight
    return weights, float(intercept), float(r2), float(np.ravel(local_pred)[0])


# ----------------------------------------------------------------------------------------------- SHAP
def blur_kernel(blur: str, shape: tuple[int, ...]) -> tuple[int, int]:
    """Parse ``"auto"`` or ``"blur(width,height)"`` into a box kernel ``(width, height)`` in pixels."""
    if blur == "auto":
        side = max(3, round(max(shape[:2]) / 4))
        return side, side
    match = re.fullmatch(r"\s*blur\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*", str(blur))
    if not match or min(int(match[1]), int(match[2])) < 1:
        raise ExplainerError(BAD_BLUR.format(blur=blur))
    return int(match[1]), int(match[2])


def box_blur(image: np.ndarray, kernel: tuple[int, int]) -> np.ndarray:
    """Mean filter over a ``(width, height)`` box, mirrored borders: OpenCV's ``cv2.blur`` without OpenCV."""
    from scipy.ndimage import uniform_filter

    width, height = kernel
    return uniform_filter(np.asarray(image, dtype=np.float64), size=(height, width, 1), mode="mirror")


def shap_image(model: Any, images: list[np.ndarray], targets: list[int] | None, *, max_evals: int = 500,
               blur: str = "auto", params: dict) -> list:
    """SHAP maps from ``shap.PartitionExplainer`` with an image masker that blurs the hidden regions.

    The masker's background is the image under a box blur (what shap's ``"blur(w,h)"`` masker computes
    with OpenCV, computed here with SciPy so OpenCV is not needed). Values are summed over colour
    channels; before resizing they add up to the target probability minus ``extras["base_value"]`` (the
    fully blurred image's) and ``extras["sum"]`` holds that total.
    """
    from glasswing.explainers._shap_tabular import shap_module

    shap = shap_module()  # imported with its import-time warnings silenced

    indices, proba = _predicted(model, images, targets)
    out = []
    for image, idx, p in zip(images, indices, proba, strict=True):
        begin = time.perf_counter()
        work = working_copy(image).astype(np.float64)
        kernel = blur_kernel(blur, work.shape)
        masker = shap.maskers.Image(box_blur(work, kernel), shape=work.shape)

        def score(batch, idx=idx):
            return model.predict_proba(to_uint8(batch))[:, [idx]]

        explainer = shap.PartitionExplainer(score, masker)
        result = explainer(work[None], max_evals=int(max_evals), batch_size=BATCH, silent=True)
        values = np.asarray(result.values)[0].reshape(*work.shape, -1)[..., 0].sum(axis=-1)
        base = float(np.ravel(result.base_values)[0])
        out.append(image_explanation(
            method="shap_image", algorithm=f"shap PartitionExplainer, blur({kernel[0]},{kernel[1]}) masker",
            target=class_label(model, idx), values=resize_map(values, image.shape[:2]), image=image,
            prediction=float(p[idx]), params=params, compute_time=time.perf_counter() - begin,
            reason="Shapley values over a hierarchy of image regions, hidden regions blurred.",
            extras={"base_value": base, "blur": kernel, "sum": float(values.sum())}))
    return out
