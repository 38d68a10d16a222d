"""The small CNN behind the image sample (``models/digits_cnn.*``) and its input contract.

The weights in ``models/digits_cnn.safetensors`` (metadata ``architecture = "glasswing.digits_cnn"``)
load into :class:`DigitsCNN`; ``models/digits_cnn.pt`` (TorchScript) and ``models/digits_cnn.onnx`` hold
the same network. Every format takes a float batch ``(N, 3, 32, 32)`` prepared as :data:`PREPROCESS`
says (:func:`preprocess` does it) and returns logits ``(N, 10)`` over :data:`CLASS_NAMES`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["ARCHITECTURE", "CLASS_NAMES", "PREPROCESS", "TARGET_LAYER", "DigitsCNN", "preprocess"]

#: The name stored in the safetensors metadata under ``"architecture"``.
ARCHITECTURE = "glasswing.digits_cnn"

#: Class index -> class name; the model's outputs follow this order.
CLASS_NAMES = tuple(str(d) for d in range(10))

#: How an RGB image becomes the model's input: resize to ``size`` (height, width), scale to [0, 1],
#: then ``(x - mean) / std`` per channel. ``grayscale=False``: the model reads three colour channels.
PREPROCESS = dict(size=(32, 32), mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), grayscale=False)

#: The last convolutional layer (an 8 x 8 map): the layer Grad-CAM should hook.
TARGET_LAYER = "conv3"


class DigitsCNN(nn.Module):
    """Three 3x3 convolutions, two max-pools, global average pooling and a linear head.

    Parameters
    ----------
    num_classes : int, default 10
        Number of output logits.

    Examples
    --------
    >>> import torch
    >>> DigitsCNN()(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1)  # 32 x 32
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)  # -> 16 x 16
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)  # -> 8 x 8
        self.conv3 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
        self.relu3 = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits ``(N, num_classes)`` for a preprocessed batch ``(N, 3, 32, 32)``."""
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.relu3(self.conv3(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def preprocess(images: np.ndarray) -> torch.Tensor:
    """Turn RGB images as stored (uint8, ``(N, H, W, 3)``) into the model's input batch.

    Images whose size differs from ``PREPROCESS["size"]`` are resized with bilinear interpolation
    (antialiased when shrinking).

    Parameters
    ----------
    images : numpy.ndarray
        uint8 array of shape ``(N, H, W, 3)`` (or one image ``(H, W, 3)``).

    Returns
    -------
    torch.Tensor
        float32 tensor ``(N, 3, 32, 32)``, normalised with ``PREPROCESS["mean"]`` and ``["std"]``.

    Examples
    --------
    >>> import numpy as np
    >>> preprocess(np.zeros((128, 128, 3), dtype=np.uint8)).shape
    torch.Size([1, 3, 32, 32])
    """
    batch = np.asarray(images)
    if batch.ndim == 3:
        batch = batch[None]
    x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float() / 255.0
    size = tuple(PREPROCESS["size"])
    if tuple(x.shape[-2:]) != size:
        x = nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    mean = torch.tensor(PREPROCESS["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(PREPROCESS["std"]).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()  # NHWC-strided input makes CPU convolutions much slower
