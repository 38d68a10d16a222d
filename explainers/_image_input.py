"""What every image explainer shares: checking the input images, choosing the target class, resizing maps.

Images arrive as RGB ``uint8`` arrays of shape ``(H, W, 3)`` of any size. Every map leaves as an
``Explanation`` whose ``values`` are ``(H, W)``: the original image's size, not the model's input size.
The model's preprocessing is a plain resize of the whole image (``ingest.ImagePreprocess``), so a map
computed at the model's input size covers the whole image and is simply resized back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from glasswing.explainers._explanation import Explanation
from glasswing.explainers._registry import ExplainerError
from glasswing.ingest import IngestError, check_image_size

log = logging.getLogger(__name__)

#: Black-box methods and faithfulness checks work on a copy whose longer side is at most this many pixels
#: (the model sees an even smaller resize anyway); their maps are resized back to the original size.
WORK_SIDE = 256

NO_IMAGES = "There are no images to explain: give at least one RGB image."
NOT_AN_IMAGE = ("{which} is not an image but {what}; image models take RGB pixel arrays of shape "
                "(height, width, 3).")
GRAYSCALE = ("{which} is grayscale ({height} x {width} pixels, one channel) and this model expects RGB "
             "images; convert it to RGB first.")
WRONG_CHANNELS = "{which} has {channels} channels and this model expects RGB images with 3 channels."
WRONG_DTYPE = "{which} holds {dtype} values; images must be 8-bit RGB (uint8 values 0 to 255)."


def _which(index: int, names: Sequence[str] | None) -> str:
    return f"Image '{names[index]}'" if names else f"Image {index + 1}"


def as_images(inputs: Any) -> tuple[list[np.ndarray], list[str] | None]:
    """Return the input images as a list of ``(H, W, 3)`` uint8 arrays, and their names when known.

    ``inputs`` is one image, a sequence of images, a ``(N, H, W, 3)`` array, or an ``ImageSet``
    (anything with ``.images`` and ``.names``). Raises ``ExplainerError`` with one sentence otherwise.
    """
    names = None
    if hasattr(inputs, "images") and not isinstance(inputs, np.ndarray):
        names = [str(n) for n in getattr(inputs, "names", None) or []] or None
        inputs = inputs.images
    if isinstance(inputs, np.ndarray) and inputs.ndim in (2, 3) and inputs.dtype != object:
        inputs = [inputs]  # one image (or one grayscale image, refused below with its own sentence)
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, (Sequence, np.ndarray)):
        raise ExplainerError(NOT_AN_IMAGE.format(which="The input", what=_describe(inputs)))
    images = list(inputs)
    if not images:
        raise ExplainerError(NO_IMAGES)
    if names is not None and len(names) != len(images):
        names = None
    return [check_image(img, _which(i, names)) for i, img in enumerate(images)], names


def _describe(obj: Any) -> str:
    if isinstance(obj, np.ndarray):
        return f"an array of shape {obj.shape}"
    return f"a {type(obj).__name__}"


def check_image(image: Any, which: str = "The image") -> np.ndarray:
    """Return ``image`` as a contiguous (H, W, 3) uint8 array, or raise ``ExplainerError`` saying why not."""
    if not isinstance(image, np.ndarray) or image.dtype == object:
        raise ExplainerError(NOT_AN_IMAGE.format(which=which, what=_describe(image)))
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        raise ExplainerError(GRAYSCALE.format(which=which, height=image.shape[0], width=image.shape[1]))
    if image.ndim != 3 or min(image.shape[:2]) < 1:
        raise ExplainerError(NOT_AN_IMAGE.format(which=which, what=_describe(image)))
    if image.shape[2] != 3:
        raise ExplainerError(WRONG_CHANNELS.format(which=which, channels=image.shape[2]))
    if image.dtype != np.uint8:
        raise ExplainerError(WRONG_DTYPE.format(which=which, dtype=image.dtype))
    height, width = image.shape[:2]
    try:  # the one pixel limit, shared with image files (ingest)
        check_image_size(width, height, which)
    except IngestError as err:
        raise ExplainerError(str(err)) from None
    return np.ascontiguousarray(image)


def resize_map(values: np.ndarray, size: tuple[int, int], *, nearest: bool = False) -> np.ndarray:
    """Resize a 2-D float map to ``size`` = (height, width) (bilinear, or nearest for piecewise maps)."""
    from PIL import Image

    values = np.asarray(values, dtype=np.float32)
    if values.shape == tuple(size):
        return values
    resample = Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR
    resized = Image.fromarray(values, mode="F").resize((size[1], size[0]), resample)
    return np.asarray(resized, dtype=np.float32)


def working_copy(image: np.ndarray, side: int = WORK_SIDE) -> np.ndarray:
    """Return ``image`` shrunk so that its longer side is at most ``side`` pixels (unchanged if smaller)."""
    from PIL import Image

    height, width = image.shape[:2]
    if max(height, width) <= side:
        return image
    scale = side / max(height, width)
    log.debug("working on a %d-pixel copy of a %d x %d image", side, width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))


def image_explanation(*, method: str, algorithm: str, target: Any, values: np.ndarray, image: np.ndarray,
                      prediction: float | None, params: dict, compute_time: float, reason: str = "",
                      extras: dict | None = None) -> Explanation:
    """Build an image ``Explanation``: ``values`` scaled so the largest absolute value is 1.

    So a Grad-CAM map lies in [0, 1] and a signed map (Integrated Gradients, LIME, SHAP) in [-1, 1];
    ``extras["scale"]`` holds the factor that gives back the method's raw values (``values * scale``).
    ``prediction`` is the model's probability for ``target``. ``base_value`` stays None: a resized,
    rescaled map does not add up to the prediction; SHAP's and LIME's base values are in ``extras``.
    """
    values = np.nan_to_num(np.asarray(values, dtype=np.float32))
    if values.shape != image.shape[:2]:
        values = resize_map(values, image.shape[:2])
    scale = float(np.abs(values).max())
    normalised = values / scale if scale > 0 else np.zeros_like(values)
    return Explanation(method=method, algorithm=algorithm, target=target, values=normalised, data=image,
                       prediction=prediction, params=dict(params),
                       compute_time=compute_time, reason=reason, extras={"scale": scale, **(extras or {})})
