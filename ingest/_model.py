"""The ``Model`` adapter: one interface over sklearn, ONNX, PyTorch and TorchScript models.

Explainers and audits only talk to this type. File formats are handled by ``ingest.load_model``;
the constructors here wrap objects that are already in memory (used by tests and by the loaders).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from glasswing.ingest._errors import (
    MODEL_FAILED_ON_DATA,
    MODEL_FEATURES_MISSING,
    MODEL_NUMERIC_COUNT,
    IngestError,
    listing,
)

log = logging.getLogger(__name__)

Modality = Literal["tabular", "image"]
Kind = Literal["sklearn", "onnx", "torch", "torchscript"]
#: Batches at least this large go to torch models in channels-last layout (when the model takes it):
#: measured with bench/gradcam.py's resnet18 on CPU, channels-last convolutions are 20-27% slower than
#: NCHW at batch 1, even at 2, and 10-20% faster from 4 images up.
CHANNELS_LAST_MIN_BATCH = 4


@dataclass(frozen=True)
class ImagePreprocess:
    """How raw RGB images become the model's input tensor.

    Images arrive as ``uint8`` arrays of shape ``(H, W, 3)``; they are resized to ``size`` (H, W),
    scaled to [0, 1], converted to one channel when ``grayscale``, then normalised per channel with
    ``mean`` and ``std``. The result is ``float32`` in NCHW layout.
    """

    size: tuple[int, int]
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    grayscale: bool = False

    @property
    def channels(self) -> int:
        """Number of input channels the model expects."""
        return 1 if self.grayscale else 3

    def to_array(self, images: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """Return the preprocessed batch as a ``float32`` NCHW numpy array."""
        from PIL import Image

        out = np.empty((len(images), self.channels, *self.size), dtype=np.float32)
        for i, img in enumerate(images):
            arr = np.asarray(img)
            if arr.dtype != np.uint8:
                arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
            pil = Image.fromarray(arr).convert("L" if self.grayscale else "RGB")
            if pil.size != (self.size[1], self.size[0]):
                pil = pil.resize((self.size[1], self.size[0]), Image.BILINEAR)
            x = np.asarray(pil, dtype=np.float32) / 255.0
            x = x[None] if self.grayscale else x.transpose(2, 0, 1)
            mean = np.asarray(self.mean[: self.channels], dtype=np.float32)[:, None, None]
            std = np.asarray(self.std[: self.channels], dtype=np.float32)[:, None, None]
            out[i] = (x - mean) / std
        return out

    def to_tensor(self, images: Sequence[np.ndarray] | np.ndarray):
        """Return the preprocessed batch as a ``torch.Tensor`` (NCHW, float32)."""
        import torch

        return torch.from_numpy(self.to_array(images))


@dataclass(frozen=True, eq=False)
class Model:
    """A loaded model behind one interface (frozen: build a changed copy with ``dataclasses.replace``).

    Attributes
    ----------
    name : str
        Display name (usually the file name).
    kind : {"sklearn", "onnx", "torch", "torchscript"}
        How predictions are computed. A trusted pickle of a scikit-learn estimator is ``"sklearn"``.
    modality : {"tabular", "image"}
    classes_ : numpy.ndarray
        Class labels in the column order of :meth:`predict_proba`.
    feature_names : tuple of str or None
        The input columns a tabular model expects, in order.
    sha256 : str
        SHA-256 of the file the model was loaded from (or of its serialised form).
    estimator : object or None
        The scikit-learn estimator or pipeline (``kind == "sklearn"``).
    module : torch.nn.Module or None
        The PyTorch module, eval mode, CPU. For TorchScript this is a ``ScriptModule`` (layers cannot be
        hooked).
    onnx_session : onnxruntime.InferenceSession or None
    preprocess : ImagePreprocess or None
        For image models: how raw images become the input tensor.
    output : {"logits", "probabilities"}
        What the torch/ONNX graph returns; logits are turned into probabilities with a softmax.
    source_format : str
        The file format it came from ("skops", "onnx", "safetensors", "torchscript", "pickle", ...).
    architecture : str or None
        The torchvision (or Glasswing sample) architecture name, when built from a state dict.
    channels_last : bool
        Torch models: whether batches of ``CHANNELS_LAST_MIN_BATCH`` images or more are handed over in
        channels-last memory layout, in which CPU convolutions on such batches run faster. Set when the
        model is wrapped, by checking that the model gives the same output in both layouts (models that
        reshape with ``.view()`` cannot take it).
    """

    name: str
    kind: Kind
    modality: Modality
    classes_: np.ndarray
    feature_names: tuple[str, ...] | None = None
    sha256: str = ""
    estimator: Any = None
    module: Any = None
    onnx_session: Any = None
    preprocess: ImagePreprocess | None = None
    output: Literal["logits", "probabilities"] = "logits"
    source_format: str = ""
    architecture: str | None = None
    info: dict = field(default_factory=dict)
    channels_last: bool = False

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_estimator(cls, estimator: Any, *, name: str = "model", sha256: str = "",
                       feature_names: Sequence[str] | None = None, source_format: str = "memory") -> Model:
        """Wrap a fitted scikit-learn classifier or pipeline."""
        names = feature_names if feature_names is not None else getattr(estimator, "feature_names_in_", None)
        return cls(name=name, kind="sklearn", modality="tabular", classes_=np.asarray(estimator.classes_),
                   feature_names=tuple(str(n) for n in names) if names is not None else None,
                   sha256=sha256, estimator=estimator, output="probabilities", source_format=source_format)

    @classmethod
    def from_torch(cls, module: Any, *, preprocess: ImagePreprocess, classes: Sequence | None = None,
                   name: str = "model", sha256: str = "", source_format: str = "memory",
                   architecture: str | None = None,
                   output: Literal["logits", "probabilities"] = "logits") -> Model:
        """Wrap a PyTorch image classifier (an ``nn.Module`` or a TorchScript ``ScriptModule``).

        The module runs once on a dummy batch: its output width is the class count when ``classes`` is
        not given (or does not have one label per output), and it shows whether channels-last works.
        """
        import torch

        module = module.eval().cpu()
        scripted = isinstance(module, torch.jit.ScriptModule)
        probe = torch.from_numpy(np.random.default_rng(0).standard_normal(
            (1, preprocess.channels, *preprocess.size), dtype=np.float32))
        try:
            with torch.no_grad():
                out = module(probe)
        except Exception:
            if classes is None:  # the output width is the class count: without it there is no model
                raise
            log.debug("The layout probe of %s failed; using the default layout", name, exc_info=True)
            out = None
        if out is not None and (classes is None or len(classes) != out.shape[1]):
            classes = range(out.shape[1])
        channels_last = out is not None and _same_in_channels_last(module, probe, out)
        return cls(name=name, kind="torchscript" if scripted else "torch", modality="image",
                   classes_=np.asarray(list(classes)), sha256=sha256, module=module, preprocess=preprocess,
                   source_format=source_format, architecture=architecture, channels_last=channels_last,
                   output=output)

    # ------------------------------------------------------------------ capabilities
    @property
    def hookable(self) -> bool:
        """Whether layers can be hooked (eager PyTorch modules; not TorchScript, ONNX or sklearn)."""
        return self.kind == "torch"

    @property
    def differentiable(self) -> bool:
        """Whether input gradients are available (PyTorch eager or TorchScript)."""
        return self.kind in ("torch", "torchscript")

    @property
    def supports_sample_weight(self) -> bool:
        """Whether the model can be retrained with per-row weights (scikit-learn with ``sample_weight``)."""
        if self.kind != "sklearn":
            return False
        import inspect

        final = self.estimator.steps[-1][1] if hasattr(self.estimator, "steps") else self.estimator
        return "sample_weight" in inspect.signature(final.fit).parameters

    # ------------------------------------------------------------------ prediction
    def image_tensor(self, images: Sequence[np.ndarray] | np.ndarray):
        """Return raw RGB images as this torch model's input batch, in the layout it runs fastest in."""
        import torch

        x = self.preprocess.to_tensor(images)
        if self.channels_last and len(x) >= CHANNELS_LAST_MIN_BATCH:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def forward_tensor(self, x):
        """Return class probabilities for an already preprocessed NCHW tensor (torch models only).

        Differentiable: explainers backpropagate through it.
        """
        out = self.module(x)
        return out.softmax(dim=1) if self.output == "logits" else out

    def predict_proba(self, X: Any, *, batch_size: int = 64) -> np.ndarray:
        """Return class probabilities, shape ``(n, len(classes_))``.

        ``X`` is a DataFrame (tabular) or a sequence of ``uint8`` RGB arrays of shape (H, W, 3) (image).
        A DataFrame's columns are matched to :attr:`feature_names` by :meth:`input_columns`.

        Raises
        ------
        IngestError
            When the DataFrame lacks columns the model expects, or the model itself fails on the input
            (one sentence with the model's own reason; the traceback is logged).
        """
        try:
            if self.modality == "tabular":
                return self._predict_proba_tabular(X)
            parts = [self._predict_proba_images(X[i:i + batch_size]) for i in range(0, len(X), batch_size)]
            return np.concatenate(parts) if parts else np.empty((0, len(self.classes_)))
        except IngestError:
            raise
        except MemoryError:
            raise IngestError(MODEL_FAILED_ON_DATA.format(
                name=self.name, reason="it ran out of memory; score fewer rows at a time")) from None
        except Exception as err:
            log.info("%s failed in predict_proba", self.name, exc_info=True)
            text = str(err).strip().splitlines()[0].rstrip(".")[:200] if str(err).strip() else ""
            reason = f"{type(err).__name__}: {text}" if text else type(err).__name__
            raise IngestError(MODEL_FAILED_ON_DATA.format(name=self.name, reason=reason)) from err

    def input_columns(self, columns: Sequence[str]) -> tuple[list[str], list[str]]:
        """Return the column of ``columns`` that feeds each of :attr:`feature_names`, and the names not found.

        A feature matches the column of the same name, else the one column whose name reads the same with
        ``-``, spaces and dots as ``_`` (skl2onnx turns ``education-num`` into the input
        ``education_num``).

        Examples
        --------
        >>> m = Model(name="m", kind="onnx", modality="tabular", classes_=np.array([0, 1]),
        ...           feature_names=("age", "education_num", "hours"))
        >>> m.input_columns(["age", "education-num", "sex"])
        (['age', 'education-num'], ['hours'])
        """
        present = set(columns)
        by_sanitised: dict[str, list[str]] = {}
        for column in columns:
            by_sanitised.setdefault(sanitised_name(column), []).append(column)
        found, missing = [], []
        for feature in self.feature_names or ():
            candidates = [feature] if feature in present else by_sanitised.get(sanitised_name(feature), [])
            (found if len(candidates) == 1 else missing).append(candidates[0] if len(candidates) == 1
                                                                 else feature)
        return found, missing

    def numeric_inputs(self, frame: pd.DataFrame) -> tuple[list[str], list[str]]:
        """Return the numeric (and boolean) columns of ``frame`` (a one-matrix model's inputs) and the rest.

        Examples
        --------
        >>> m = Model(name="m.onnx", kind="onnx", modality="tabular", classes_=np.array([0, 1]))
        >>> m.numeric_inputs(pd.DataFrame({"age": [31], "sex": ["F"], "hours": [40.0]}))
        (['age', 'hours'], ['sex'])
        """
        numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
                   or pd.api.types.is_bool_dtype(frame[c])]
        return numeric, [c for c in frame.columns if c not in numeric]

    def input_frame(self, frame: pd.DataFrame, *, data: str = "the data") -> pd.DataFrame:
        """Return the columns of ``frame`` feeding this tabular model, in its order, under ``frame``'s names.

        A model with :attr:`feature_names` takes the columns :meth:`input_columns` matches (by name, then
        with ``-``, spaces and dots read as ``_``). A nameless ONNX model takes one numeric matrix: the
        numeric columns of ``frame`` (their count must be its input width, ``info["n_features"]``, where
        the graph states one). Other nameless models take ``frame`` as it is.

        Parameters
        ----------
        frame : pandas.DataFrame
            Rows holding at least the model's inputs.
        data : str, default "the data"
            What ``frame`` is, for the sentences ("'adult.csv'", "the rows").

        Raises
        ------
        IngestError
            Naming the inputs ``frame`` lacks, or the numeric columns that do not make the model's width.

        Examples
        --------
        >>> m = Model(name="m", kind="onnx", modality="tabular", classes_=np.array([0, 1]),
        ...           feature_names=("age", "education_num"))
        >>> m.input_frame(pd.DataFrame({"sex": ["F"], "education-num": [9], "age": [31]})).columns.tolist()
        ['age', 'education-num']
        """
        if self.feature_names is not None:
            found, missing = self.input_columns(list(frame.columns))
            if missing:
                raise IngestError(MODEL_FEATURES_MISSING.format(data=data, missing=listing(missing),
                                                                available=listing(frame.columns, 20)))
            return frame.loc[:, found]
        if self.kind != "onnx":
            return frame
        numeric, _ = self.numeric_inputs(frame)
        width = self.info.get("n_features")
        if width is not None and len(numeric) != width:
            raise IngestError(MODEL_NUMERIC_COUNT.format(model=self.name, expected=width, data=data,
                                                         actual=len(numeric), columns=listing(numeric)))
        return frame.loc[:, numeric]

    def predict(self, X: Any) -> np.ndarray:
        """Return predicted class labels (from ``classes_``)."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def _predict_proba_tabular(self, X: Any) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            X = self.input_frame(X)
            if self.feature_names is not None:
                X = X.set_axis(list(self.feature_names), axis=1)
        if self.kind == "sklearn":
            return np.asarray(self.estimator.predict_proba(X), dtype=float)
        if self.kind == "onnx":
            return _onnx_tabular_proba(self.onnx_session, X, len(self.classes_))
        raise TypeError(f"{self.kind} models are not tabular")

    def _predict_proba_images(self, images: Any) -> np.ndarray:
        assert self.preprocess is not None
        if self.kind == "onnx":
            sess = self.onnx_session
            out = sess.run(None, {sess.get_inputs()[0].name: self.preprocess.to_array(images)})[0]
            return _softmax(out) if self.output == "logits" else np.asarray(out, dtype=float)
        import torch

        with torch.no_grad():
            return self.forward_tensor(self.image_tensor(images)).double().numpy()


def sanitised_name(name: str) -> str:
    """Return ``name`` with ``-``, whitespace and dots as ``_``, the way skl2onnx names inputs."""
    return re.sub(r"[-.\s]", "_", str(name))


def _same_in_channels_last(module: Any, probe: Any, expected: Any) -> bool:
    """Whether ``module`` gives ``expected`` for ``probe`` in channels-last layout too (and does not fail)."""
    import torch

    try:
        with torch.no_grad():
            got = module(probe.contiguous(memory_format=torch.channels_last))
    except Exception:  # noqa: BLE001 - e.g. ``x.view(n, -1)`` on a channels-last activation: keep NCHW
        return False
    return (isinstance(got, torch.Tensor) and got.shape == expected.shape
            and bool(torch.allclose(got, expected, rtol=1e-3, atol=1e-4)))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=float)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _onnx_tabular_proba(sess: Any, X: Any, n_classes: int) -> np.ndarray:
    """Run a tabular ONNX graph: one input per column (skl2onnx style) or a single float matrix."""
    inputs = sess.get_inputs()
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
    if len(inputs) == 1:
        feed = {inputs[0].name: frame.to_numpy(dtype=np.float32)}
    else:
        feed = {}
        for inp in inputs:
            col = frame[inp.name].to_numpy()
            if "string" in inp.type:
                feed[inp.name] = col.astype(str).astype(object).reshape(-1, 1)
            elif "int64" in inp.type:
                feed[inp.name] = col.astype(np.int64).reshape(-1, 1)
            else:
                feed[inp.name] = col.astype(np.float32).reshape(-1, 1)
    outputs = sess.run(None, feed)
    proba = next((o for o in outputs[1:] if o is not None), None) if len(outputs) > 1 else outputs[0]
    if isinstance(proba, list):  # skl2onnx ZipMap output: list of {class: prob}
        proba = np.array([[row[k] for k in sorted(row)] for row in proba])
    proba = np.asarray(proba, dtype=float)
    if proba.ndim == 1 or proba.shape[1] != n_classes:
        raise ValueError("The ONNX model's output does not have one probability per class.")
    return proba
