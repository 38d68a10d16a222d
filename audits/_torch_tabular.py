"""What the PyTorch mitigations share: encoding the columns, and turning the trained network into a Model.

``TabularEncoding`` one-hot encodes the text and category columns and standardises the numbers (fitted on
the training rows); ``network_model`` writes the encoding and a trained fully connected network as one ONNX
graph (``ingest.tabular_network_onnx``), loads it back through ``ingest.load_model`` and returns the
``Model`` and the bytes: what the mitigated model predicts with is exactly what the user downloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from glasswing.ingest import Model


@dataclass(frozen=True)
class TabularEncoding:
    """One-hot categories and standardised numbers, fitted on training rows.

    Attributes
    ----------
    columns : tuple of dict
        In the encoded matrix's order, as ``ingest.tabular_network_onnx`` takes them.
    """

    columns: tuple

    @classmethod
    def fit(cls, frame: pd.DataFrame) -> TabularEncoding:
        """Fit on ``frame``: categories of every non-numeric column, mean and spread of the numeric ones."""
        cols = []
        for name in frame.columns:
            values = frame[name]
            if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
                cats = sorted({str(v) for v in values.dropna().tolist()})
                cols.append({"name": str(name), "kind": "categorical", "categories": cats})
            else:
                x = values.to_numpy(dtype=float)
                center = float(np.nanmean(x)) if np.isfinite(x).any() else 0.0
                scale = float(np.nanstd(x)) if np.isfinite(x).any() else 1.0
                cols.append({"name": str(name), "kind": "numeric", "center": center,
                             "scale": scale if scale > 0 else 1.0})
        return cls(tuple(cols))

    @property
    def width(self) -> int:
        """The number of encoded columns."""
        return sum(len(c["categories"]) if c["kind"] == "categorical" else 1 for c in self.columns)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the encoded float32 matrix of ``frame`` (an unseen category encodes as zeros)."""
        parts = []
        for col in self.columns:
            values = frame[col["name"]]
            if col["kind"] == "categorical":
                text = values.astype(str).where(values.notna(), None).to_numpy()
                parts.append(np.stack([text == c for c in col["categories"]], axis=1).astype(np.float32)
                             if col["categories"] else np.zeros((len(frame), 0), np.float32))
            else:
                x = values.to_numpy(dtype=float)
                x = np.where(np.isnan(x), col["center"], x)
                parts.append(((x - col["center"]) / col["scale"]).astype(np.float32)[:, None])
        return np.concatenate(parts, axis=1)


def group_indicators(groups: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Return a one-hot matrix of the (intersectional) group of each row, and the group names."""
    key = groups.astype(str).agg(" & ".join, axis=1) if groups.shape[1] > 1 else groups.iloc[:, 0].astype(str)
    names = sorted(key.unique().tolist())
    return np.stack([(key == n).to_numpy() for n in names], axis=1).astype(np.float32), names


def module_layers(module: Any) -> list[tuple]:
    """Return the layers of a fully connected PyTorch network for ``ingest.tabular_network_onnx``.

    Takes an ``nn.Sequential`` or a module with a ``layers_`` list (fairlearn's networks) of ``Linear``,
    ``ReLU``, ``LeakyReLU``, ``Sigmoid`` and ``Tanh`` layers.
    """
    import torch

    layers = getattr(module, "layers_", module)
    out: list[tuple] = []
    for layer in layers:
        if isinstance(layer, torch.nn.Linear):
            out.append(("linear", layer.weight.detach().cpu().numpy(), layer.bias.detach().cpu().numpy()))
        elif isinstance(layer, torch.nn.LeakyReLU):
            out.append(("leaky_relu", layer.negative_slope))
        elif isinstance(layer, torch.nn.ReLU):
            out.append(("relu",))
        elif isinstance(layer, torch.nn.Sigmoid):
            out.append(("sigmoid",))
        elif isinstance(layer, torch.nn.Tanh):
            out.append(("tanh",))
        else:
            raise ValueError(f"Cannot export a {type(layer).__name__} layer; use Linear, ReLU, LeakyReLU, "
                             "Sigmoid or Tanh layers.")
    return out


def network_model(encoding: TabularEncoding, module: Any, *, classes: list, output: str, name: str,
                  sha_key: str) -> tuple[Model, bytes]:
    """Write ``encoding`` + ``module`` as one ONNX graph and load it back: (Model, ONNX bytes)."""
    import hashlib

    from glasswing.ingest import load_model
    from glasswing.ingest._tabular_onnx import tabular_network_onnx

    data = tabular_network_onnx(encoding.columns, module_layers(module), classes=classes, output=output,
                                name=name)
    model = load_model(data, name=name)
    digest = hashlib.sha256(sha_key.encode() + data).hexdigest()
    from dataclasses import replace

    return replace(model, sha256=digest, source_format="onnx"), data
