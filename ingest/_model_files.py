"""Loading model files safely: skops, ONNX, TorchScript, safetensors and PyTorch state dicts.

The format is recognised from the bytes (zip members, magic numbers, the safetensors header), not only
from the file name, so a pickle renamed ``.onnx`` or ``.pt`` is still a pickle. Nothing is unpickled
unless the caller passes ``trusted=True``: state dicts are read with ``torch.load(weights_only=True)``
(PyTorch's restricted unpickler); skops files with skops' trusted types plus a reviewed list and no stored
functions (``ingest._skops``); TorchScript only when its code is proved to be tensor math before it is
loaded (``ingest._torchscript``); ONNX without external data or custom operators (``ingest._onnx``).
Zip-based files are refused when their members declare more than ``MAX_MODEL_UNPACKED_BYTES``.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import sys
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from glasswing.ingest._errors import (
    BAD_METADATA,
    BAD_PREPROCESS,
    IMAGE_MODEL_FAILED,
    MODEL_OUT_OF_MEMORY,
    MODEL_UNREADABLE,
    NEEDS_ARCHITECTURE,
    NEEDS_PREPROCESS,
    NOT_A_CLASSIFIER,
    ONNX_NO_CLASSES,
    PICKLE_REFUSED,
    UNKNOWN_ARCHITECTURE,
    UNKNOWN_MODEL_FORMAT,
    UNSUPPORTED_OBJECT,
    WEIGHTS_DO_NOT_FIT,
    IngestError,
    UntrustedFileError,
    listing,
)
from glasswing.ingest._limits import check_model_archive
from glasswing.ingest._model import ImagePreprocess, Model
from glasswing.ingest._onnx import check_onnx
from glasswing.ingest._skops import check_parameters, check_skops, skops_io, untrusted_skops_parts
from glasswing.ingest._source import read_bytes, sha256_hex, source_name
from glasswing.ingest._torchscript import check_graphs as check_torchscript_graphs
from glasswing.ingest._torchscript import check_source as check_torchscript_source
from glasswing.ingest._torchscript import refused_calls

log = logging.getLogger(__name__)

#: The architecture name of Glasswing's sample CNN (``glasswing.sample_data.digits_cnn``).
DIGITS_ARCHITECTURE = "glasswing.digits_cnn"
#: Formats whose loading may run code, so they need ``trusted=True`` (``"torch"``: only when the
#: ``torch.save`` file holds more than tensors, e.g. a whole module).
CODE_RUNNING_FORMATS = ("pickle", "joblib", "torch")
PICKLE_SUFFIXES = {".pkl": "pickle", ".pickle": "pickle", ".joblib": "joblib"}
TORCH_SUFFIXES = (".pt", ".pth")
#: Metadata keys read from safetensors headers, ONNX ``metadata_props`` and TorchScript extra files.
META_ARCHITECTURE, META_CLASSES, META_PREPROCESS, META_OUTPUT = (
    "architecture", "class_names", "preprocess", "output")
TORCHSCRIPT_EXTRA_FILE = "glasswing.json"
_EXAMPLE_ARCHITECTURES = ("resnet18", "resnet50", "mobilenet_v3_small", "efficientnet_b0", "vit_b_16")


@dataclass(frozen=True)
class _Source:
    name: str
    data: bytes
    sha256: str
    trusted: bool
    architecture: str | None
    preprocess: ImagePreprocess | None


# ============================================== public ================================================
def load_model(source: Any, *, name: str | None = None, trusted: bool = False,
               architecture: str | None = None,
               preprocess: ImagePreprocess | Mapping | None = None) -> Model:
    """Load a classifier from a model file into a :class:`Model`.

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file object
        A ``.skops`` scikit-learn model, an ``.onnx`` graph (tabular or image), a TorchScript file, a
        ``.safetensors`` file or a ``torch.save`` state dict (``.pt``/``.pth``) with ``architecture``;
        with ``trusted=True`` also pickle, joblib and whole-module ``torch.save`` files.
    name : str, optional
        Display name; defaults to the file's base name.
    trusted : bool, default False
        Allow formats whose loading can run code the file contains. Only for files whose origin you trust.
    architecture : str, optional
        For weights-only files: a torchvision model name (``"resnet18"``; the number of classes is read
        from the weights) or ``"glasswing.digits_cnn"``. Safetensors files may name it in their metadata.
    preprocess : ImagePreprocess or dict, optional
        How images become the input tensor. Default: the file's metadata, then 224 x 224 with ImageNet
        mean and std for torchvision architectures, and the sample's own for ``glasswing.digits_cnn``.

    Returns
    -------
    Model

    Raises
    ------
    UntrustedFileError
        For pickle-based files (and skops files with unexpected types) without ``trusted=True``.
    IngestError
        For unknown formats, unreadable files, missing architecture or preprocessing, weights that do not
        fit the architecture, and objects that are not classifiers.

    Examples
    --------
    >>> from glasswing._paths import sample_dir
    >>> model = load_model(sample_dir() / "models" / "german_gbm.skops")
    >>> model.kind, model.modality, model.source_format
    ('sklearn', 'tabular', 'skops')
    """
    name = source_name(source, name, "model")
    data = read_bytes(source, name)
    src = _Source(name=name, data=data, sha256=sha256_hex(data), trusted=trusted,
                  architecture=architecture or None, preprocess=as_preprocess(preprocess))
    fmt = detect_model_format(data, name=name)
    log.info("loading %s as %s (trusted=%s)", name, fmt, trusted)
    loader = {"skops": _load_skops, "onnx": _load_onnx, "torchscript": _load_torchscript,
              "safetensors": _load_safetensors, "torch": _load_torch_file,
              "pickle": _load_pickle, "joblib": _load_pickle}[fmt]
    return loader(src, fmt)


def detect_model_format(source: Any, *, name: str | None = None) -> str:
    r"""Return the model file's format from its bytes (and, for pickles and ONNX, its name).

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file object
        The model file.
    name : str, optional
        File name; its suffix helps recognise pickle, joblib and ONNX files.

    Returns
    -------
    str
        One of ``"skops"``, ``"torchscript"``, ``"torch"`` (a ``torch.save`` file), ``"safetensors"``,
        ``"onnx"``, ``"pickle"``, ``"joblib"``. Formats in :data:`CODE_RUNNING_FORMATS` may need
        ``trusted=True``.

    Raises
    ------
    IngestError
        When the bytes are no model format Glasswing reads.

    Examples
    --------
    >>> detect_model_format(b"\x80\x04K\x01.", name="model.bin")
    'pickle'
    """
    name = source_name(source, name, "model")
    data = source if isinstance(source, bytes) else read_bytes(source, name)
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if data[:2] == b"PK":
        members = _zip_members(data)
        if any(m == "schema.json" for m in members):
            return "skops"
        if any(m.endswith("/constants.pkl") or "/code/" in m for m in members):
            return "torchscript"
        if any(m.endswith("data.pkl") for m in members):
            return "torch"
    elif _is_safetensors(data):
        return "safetensors"
    elif data[:1] == b"\x80" or suffix in PICKLE_SUFFIXES:
        if suffix in TORCH_SUFFIXES:
            return "torch"  # legacy (non-zip) torch.save
        return PICKLE_SUFFIXES.get(suffix, "pickle")
    elif suffix == ".onnx" or _looks_like_onnx(data):
        return "onnx"
    raise IngestError(UNKNOWN_MODEL_FORMAT.format(name=name))


def untrusted_parts(source: Any, *, name: str | None = None) -> tuple[str, ...]:
    r"""Return what marking the model file trusted would allow; empty when it loads without trust.

    For the dashboard's trust checkbox, which lists these before the user ticks it. Nothing is loaded:
    pickles are not unpickled, skops and TorchScript archives are only read as text.

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file object
        The model file.
    name : str, optional
        File name (helps recognise pickles).

    Returns
    -------
    tuple of str
        E.g. ``("any code the pickle contains",)``, ``("the function numpy.savetxt",)`` or
        ``("aten::from_file",)``.

    Examples
    --------
    >>> untrusted_parts(b"\x80\x04K\x01.", name="model.pkl")
    ('any code the pickle contains (pickle)',)
    """
    name = source_name(source, name, "model")
    data = source if isinstance(source, bytes) else read_bytes(source, name)
    fmt = detect_model_format(data, name=name)
    try:
        if fmt in ("pickle", "joblib"):
            return (f"any code the pickle contains ({fmt})",)
        if fmt == "torch":
            import torch

            try:
                torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
            except Exception as err:
                if "weights only load failed" in str(err).lower():
                    return ("any code the pickle contains (whole-model torch.save)",)
            return ()
        if fmt == "skops":
            return tuple(untrusted_skops_parts(data))
        if fmt == "torchscript":
            return tuple(refused_calls(data))
    except Exception:  # noqa: BLE001 - unreadable: loading says why, in one sentence
        log.info("could not list what %s would need trusted", name, exc_info=True)
    return ()


def as_preprocess(value: ImagePreprocess | Mapping | str | None) -> ImagePreprocess | None:
    """Return ``value`` as an :class:`ImagePreprocess` (from a dict or its JSON text), or None.

    Raises
    ------
    IngestError
        When the size is not two positive integers, or mean/std do not have one entry per channel
        (std non-zero).

    Examples
    --------
    >>> as_preprocess({"size": [32, 32], "mean": [0.5] * 3, "std": [0.5] * 3}).size
    (32, 32)
    """
    if value is None or isinstance(value, ImagePreprocess):
        return value
    try:
        spec = json.loads(value) if isinstance(value, str) else dict(value)
        size = tuple(int(s) for s in spec["size"])
        grayscale = bool(spec.get("grayscale", False))
        channels = 1 if grayscale else 3
        mean = tuple(float(m) for m in spec.get("mean", (0.485, 0.456, 0.406)))
        std = tuple(float(s) for s in spec.get("std", (0.229, 0.224, 0.225)))
    except (KeyError, TypeError, ValueError) as err:
        raise IngestError(BAD_PREPROCESS.format(value=value, reason=f"{type(err).__name__} {err}")) from None
    if len(size) != 2 or min(size) < 1:
        raise IngestError(BAD_PREPROCESS.format(value=value, reason="size must be (height, width) in pixels"))
    if len(mean) < channels or len(std) < channels or min(abs(s) for s in std) == 0:
        raise IngestError(BAD_PREPROCESS.format(
            value=value, reason=f"mean and std need {channels} value(s) each, std not zero"))
    return ImagePreprocess(size=size, mean=mean, std=std, grayscale=grayscale)


# ============================================ detection ===============================================
def _zip_members(data: bytes) -> list[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return []


def _safetensors_header(data: bytes) -> dict | None:
    if len(data) < 10:
        return None
    size = int.from_bytes(data[:8], "little")
    if not 2 <= size <= len(data) - 8 or data[8:9] != b"{":
        return None
    try:
        header = json.loads(data[8:8 + size])
    except ValueError:
        return None
    return header if isinstance(header, dict) else None


def _is_safetensors(data: bytes) -> bool:
    return _safetensors_header(data) is not None


def _looks_like_onnx(data: bytes) -> bool:
    import onnx

    try:
        proto = onnx.load_model_from_string(data)
    except Exception:  # protobuf's DecodeError and friends: not ONNX
        return False
    return proto.ir_version > 0 and len(proto.graph.node) > 0


# ============================================ loaders =================================================
def _unreadable(src: _Source, fmt: str, err: BaseException) -> IngestError:
    log.info("could not load %s as %s", src.name, fmt, exc_info=err)
    text = str(err).strip().splitlines()[0].rstrip(".") if str(err).strip() else type(err).__name__
    return IngestError(MODEL_UNREADABLE.format(name=src.name, fmt=fmt, reason=text[:200]))


def _load_skops(src: _Source, fmt: str) -> Model:
    sio = skops_io()  # without PyTorch where it is not loaded yet

    check_model_archive(src.data, src.name)
    try:
        if src.trusted:
            allowed = sio.get_untrusted_types(data=src.data)
        else:
            allowed = check_skops(src.data, src.name)  # refuses functions and unreviewed types
    except UntrustedFileError:
        raise
    except Exception as err:  # corrupt archive or schema
        raise _unreadable(src, "skops", err) from None
    try:
        estimator = sio.loads(src.data, trusted=allowed)
    except MemoryError:
        raise IngestError(MODEL_OUT_OF_MEMORY.format(name=src.name)) from None
    except Exception as err:
        raise _unreadable(src, "skops", err) from None
    if not src.trusted:
        check_parameters(estimator, src.name)
    return _wrap_object(estimator, src, fmt)


def _load_pickle(src: _Source, fmt: str) -> Model:
    if not src.trusted:
        raise UntrustedFileError(PICKLE_REFUSED.format(name=src.name, fmt=fmt))
    import joblib

    try:
        obj = joblib.load(io.BytesIO(src.data))  # joblib reads plain pickles too
    except Exception as err:
        raise _unreadable(src, fmt, err) from None
    return _wrap_object(obj, src, fmt)


def _load_torch_file(src: _Source, fmt: str) -> Model:
    import torch

    try:
        obj = torch.load(io.BytesIO(src.data), map_location="cpu", weights_only=True)
    except Exception as err:
        if "weights only load failed" not in str(err).lower():
            raise _unreadable(src, "PyTorch", err) from None
        if not src.trusted:
            refused = PICKLE_REFUSED.format(name=src.name, fmt="whole-model torch.save")
            raise UntrustedFileError(refused) from None
        try:
            obj = torch.load(io.BytesIO(src.data), map_location="cpu", weights_only=False)
        except Exception as err2:
            raise _unreadable(src, "PyTorch", err2) from None
    return _wrap_object(obj, src, fmt)


def _load_safetensors(src: _Source, fmt: str) -> Model:
    from safetensors.torch import load

    header = _safetensors_header(src.data) or {}
    try:
        state = load(src.data)
    except Exception as err:
        raise _unreadable(src, "safetensors", err) from None
    return _from_state_dict(state, src, fmt, header.get("__metadata__") or {})


def _load_torchscript(src: _Source, fmt: str) -> Model:
    """Load TorchScript after proving its code is tensor math (``ingest._torchscript``), unless trusted.

    The source check runs before ``torch.jit.load`` (which compiles the code and runs scripted
    ``__setstate__`` methods); the graph check runs after it and before the probe forward pass.
    """
    import torch

    check_model_archive(src.data, src.name)
    if not src.trusted:
        try:
            check_torchscript_source(src.data, src.name)
        except UntrustedFileError:
            raise
        except Exception as err:  # not a readable zip
            raise _unreadable(src, "TorchScript", err) from None
    extra = {TORCHSCRIPT_EXTRA_FILE: ""}
    try:
        with warnings.catch_warnings():
            # torch 2.14 marks torch.jit deprecated (FutureWarning); loading still works and is what we need.
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit")
            module = torch.jit.load(io.BytesIO(src.data), map_location="cpu", _extra_files=extra)
    except MemoryError:
        raise IngestError(MODEL_OUT_OF_MEMORY.format(name=src.name)) from None
    except Exception as err:
        raise _unreadable(src, "TorchScript", err) from None
    if not src.trusted:
        check_torchscript_graphs(module, src.name)
    meta = _json_value(extra[TORCHSCRIPT_EXTRA_FILE], TORCHSCRIPT_EXTRA_FILE, src, dict) or {}
    return _image_model(module, src, fmt, meta=meta)


def _load_onnx(src: _Source, fmt: str) -> Model:
    import onnx
    import onnxruntime as ort

    try:
        proto = onnx.load_model_from_string(src.data)
    except Exception as err:
        raise _unreadable(src, "ONNX", err) from None
    check_onnx(proto, src.name)  # no external data, no custom operator domains: before any session
    try:
        session = ort.InferenceSession(src.data, providers=["CPUExecutionProvider"])
    except MemoryError:
        raise IngestError(MODEL_OUT_OF_MEMORY.format(name=src.name)) from None
    except Exception as err:
        raise _unreadable(src, "ONNX", err) from None
    meta = {p.key: p.value for p in proto.metadata_props}
    inputs = session.get_inputs()
    if len(inputs) == 1 and len(inputs[0].shape) == 4:
        return _onnx_image_model(session, src, meta)
    n_features = None
    if len(inputs) > 1:
        feature_names = tuple(i.name for i in inputs)
    else:
        shape = inputs[0].shape
        n_features = shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None
        names = _json_value(meta.get("feature_names"), "feature_names", src, list)
        feature_names = tuple(str(n) for n in names) if names else None
    classes = _json_value(meta.get(META_CLASSES), META_CLASSES, src, list) or _onnx_class_labels(proto)
    if classes is None:
        prob_shape = session.get_outputs()[-1].shape
        if len(prob_shape) != 2 or not isinstance(prob_shape[1], int):
            raise IngestError(ONNX_NO_CLASSES.format(name=src.name))
        classes = list(range(prob_shape[1]))
    return Model(name=src.name, kind="onnx", modality="tabular", classes_=np.asarray(classes),
                 feature_names=feature_names, sha256=src.sha256, onnx_session=session,
                 output="probabilities", source_format="onnx", info={"n_features": n_features})


def _onnx_image_model(session: Any, src: _Source, meta: dict) -> Model:
    preprocess = src.preprocess or as_preprocess(meta.get(META_PREPROCESS))
    if preprocess is None:
        raise IngestError(NEEDS_PREPROCESS.format(name=src.name))
    x = np.zeros((1, preprocess.channels, *preprocess.size), dtype=np.float32)
    try:
        n = session.run(None, {session.get_inputs()[0].name: x})[0].shape[-1]
    except Exception as err:
        raise _model_failed(src, preprocess, err) from None
    classes = _json_value(meta.get(META_CLASSES), META_CLASSES, src, list) or list(range(n))
    return Model(name=src.name, kind="onnx", modality="image", classes_=np.asarray(classes),
                 sha256=src.sha256, onnx_session=session, preprocess=preprocess,
                 output=meta.get(META_OUTPUT, "logits"), source_format="onnx")


def _onnx_class_labels(proto: Any) -> list | None:
    """Class labels stored by skl2onnx on its classifier / ZipMap nodes."""
    from onnx import helper

    for node in proto.graph.node:
        for attr in node.attribute:
            if attr.name in ("classlabels_int64s", "classlabels_ints", "classlabels_strings"):
                values = helper.get_attribute_value(attr)
                return [v.decode() if isinstance(v, bytes) else int(v) for v in values]
    return None


def _json_value(text: str | None, key: str, src: _Source, kind: type) -> Any:
    """Return the JSON metadata entry ``key`` (a list or dict), None when absent; one sentence if bad."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as err:
        reason = str(err).split(":")[0]
        raise IngestError(BAD_METADATA.format(name=src.name, key=key, reason=reason)) from None
    if not isinstance(value, kind):
        raise IngestError(BAD_METADATA.format(name=src.name, key=key,
                                              reason=f"a {type(value).__name__}, not a JSON {kind.__name__}"))
    return value


# ========================================= objects -> Model ===========================================
def _wrap_object(obj: Any, src: _Source, fmt: str) -> Model:
    torch = sys.modules.get("torch")  # a PyTorch object exists only once PyTorch is imported: a skops
    if torch is not None:  # estimator is wrapped without importing it (seconds of a command's start)
        if isinstance(obj, torch.nn.Module):
            return _image_model(obj, src, fmt)
        if isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return _from_state_dict(dict(obj), src, fmt, {})
        if isinstance(obj, Mapping) and isinstance(obj.get("state_dict", obj.get("model_state_dict")),
                                                   Mapping):
            return _from_state_dict(dict(obj.get("state_dict") or obj["model_state_dict"]), src, fmt, {})
    if hasattr(obj, "predict_proba") and hasattr(obj, "classes_"):
        return Model.from_estimator(obj, name=src.name, sha256=src.sha256, source_format=fmt)
    if hasattr(obj, "predict"):
        raise IngestError(NOT_A_CLASSIFIER.format(name=src.name, type=type(obj).__name__))
    raise IngestError(UNSUPPORTED_OBJECT.format(name=src.name, type=type(obj).__name__))


def _from_state_dict(state: dict, src: _Source, fmt: str, meta: Mapping) -> Model:
    architecture = src.architecture or meta.get(META_ARCHITECTURE)
    if not architecture:
        raise IngestError(NEEDS_ARCHITECTURE.format(name=src.name))
    module, preprocess, classes = _build_architecture(architecture, state)
    try:
        missing, unexpected = module.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatch
        first = str(err).split("size mismatch for ")[-1].split(":")[0]
        raise IngestError(WEIGHTS_DO_NOT_FIT.format(name=src.name, architecture=architecture, missing=0,
                                                    unexpected=0, example=first)) from None
    if missing or unexpected:
        raise IngestError(WEIGHTS_DO_NOT_FIT.format(
            name=src.name, architecture=architecture, missing=len(missing), unexpected=len(unexpected),
            example=(list(missing) + list(unexpected))[0]))
    meta_classes = _json_value(meta.get(META_CLASSES), META_CLASSES, src, list)
    return _image_model(module, src, fmt, meta=dict(meta), default_preprocess=preprocess,
                        classes=meta_classes or classes, architecture=architecture)


def _build_architecture(architecture: str, state: Mapping) -> tuple[Any, ImagePreprocess, Any]:
    """Return an untrained module for ``architecture`` sized for ``state``, its preprocessing, class names."""
    import torch

    if architecture == DIGITS_ARCHITECTURE:
        from glasswing.sample_data import digits_cnn as digits

        n = state["fc.weight"].shape[0] if "fc.weight" in state else len(digits.CLASS_NAMES)
        classes = digits.CLASS_NAMES if n == len(digits.CLASS_NAMES) else None
        return digits.DigitsCNN(num_classes=n), as_preprocess(digits.PREPROCESS), classes
    import torchvision

    if architecture not in torchvision.models.list_models(module=torchvision.models):
        raise IngestError(UNKNOWN_ARCHITECTURE.format(architecture=architecture,
                                                      examples=listing(_EXAMPLE_ARCHITECTURES)))
    module = torchvision.models.get_model(architecture, weights=None)
    head = [n for n, m in module.named_modules() if isinstance(m, torch.nn.Linear)]
    key = f"{head[-1]}.weight" if head else None
    if key in state and state[key].shape[0] != module.get_submodule(head[-1]).out_features:
        module = torchvision.models.get_model(architecture, weights=None, num_classes=state[key].shape[0])
    return module, ImagePreprocess(size=(224, 224)), None


def _image_model(module: Any, src: _Source, fmt: str, *, meta: Mapping | None = None,
                 default_preprocess: ImagePreprocess | None = None, classes: Any = None,
                 architecture: str | None = None) -> Model:
    meta = meta or {}
    preprocess = src.preprocess or as_preprocess(meta.get(META_PREPROCESS)) or default_preprocess
    if preprocess is None:
        raise IngestError(NEEDS_PREPROCESS.format(name=src.name))
    classes = classes or _json_value(meta.get(META_CLASSES), META_CLASSES, src, list)
    output = "probabilities" if meta.get(META_OUTPUT) == "probabilities" else "logits"
    try:  # from_torch runs the model once on a dummy batch: its output width is the class count
        model = Model.from_torch(module, preprocess=preprocess, name=src.name, sha256=src.sha256,
                                 source_format=fmt, architecture=architecture, output=output)
    except MemoryError:
        raise IngestError(MODEL_OUT_OF_MEMORY.format(name=src.name)) from None
    except Exception as err:
        raise _model_failed(src, preprocess, err) from None
    if classes is not None and len(classes) == len(model.classes_):  # Model is frozen: a changed copy
        model = dataclasses.replace(model, classes_=np.asarray(list(classes)))
    return model


def _model_failed(src: _Source, preprocess: ImagePreprocess, err: BaseException) -> IngestError:
    log.info("model %s failed on a dummy batch", src.name, exc_info=err)
    reason = str(err).strip().splitlines()[0].rstrip(".")[:200] if str(err).strip() else type(err).__name__
    return IngestError(IMAGE_MODEL_FAILED.format(name=src.name, channels=preprocess.channels,
                                                 height=preprocess.size[0], width=preprocess.size[1],
                                                 reason=reason))
