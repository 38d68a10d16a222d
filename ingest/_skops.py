"""What a ``.skops`` file may hold without ``trusted=True``, checked before any object is built.

skops describes every object in the archive's ``schema.json``; :func:`skops.io.get_untrusted_types`
audits that description against skops' default trusted set without importing or building anything.
Glasswing trusts that set plus :data:`REVIEWED_TYPES`, a short, reviewed list of the scikit-learn (and
NumPy) types that ordinary pipelines need and skops does not trust by default. On top, it walks the
schema itself and refuses every function-valued node (a ``FunctionTransformer``'s ``func``, a metric
callable, a bound method, a ``functools.partial``, an ``operator`` function), even the NumPy and SciPy
ufuncs skops trusts: a stored function runs when the model scores data, and plain NumPy functions such as
``numpy.savetxt`` or ``numpy.memmap`` write and read files. Type values (``dtype=numpy.float64``) are
allowed only for NumPy's scalar types.

After loading, a few scikit-learn parameters that make the estimator touch files are refused as well
(:data:`FILE_PARAMETERS`): a ``Pipeline`` ``memory`` folder (written when Glasswing refits the model
for a mitigation) and text vectorizers that open the file names they are given.
"""

from __future__ import annotations

import io
import json
import sys
import types
import zipfile
from collections.abc import Iterator
from typing import Any

from glasswing.ingest._errors import (
    SKOPS_FUNCTION,
    SKOPS_PARAMETER,
    SKOPS_UNTRUSTED,
    UntrustedFileError,
    listing,
)

#: Types outside skops' default trusted set that the pipelines Glasswing supports need, by fully qualified
#: name. Each was reviewed: building it runs no user-supplied code and it touches no file.
REVIEWED_TYPES = (
    "numpy.dtype",  # dtypes of fitted arrays (every estimator)
    "numpy.number", "numpy.integer", "numpy.floating", "numpy.bool_",  # make_column_selector(dtype_include=)
    "sklearn.compose._column_transformer.make_column_selector",  # selects columns by dtype or regex
    "sklearn.tree._tree.Tree",  # decision trees, random forests, extra trees, gradient boosting, AdaBoost
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",  # HistGradientBoosting
    "sklearn.neighbors._kd_tree.KDTree", "sklearn.neighbors._ball_tree.BallTree",  # k-nearest neighbours
    "sklearn.metrics._dist_metrics.EuclideanDistance64", "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",  # MLPClassifier (solver="adam")
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",  # MLPClassifier (solver="sgd")
    "sklearn.calibration._CalibratedClassifier", "sklearn.calibration._SigmoidCalibration",  # calibration
    # fairlearn's CorrelationRemover (the correlation_remover mitigation): its parameters are column ids and
    # a float, its fitted state NumPy arrays and a dict of ints; transform is a projection, no callable.
    "fairlearn.preprocessing._correlation_remover.CorrelationRemover",
)
#: skops loaders whose node is a function (refused without trust, whatever the function).
FUNCTION_LOADERS = frozenset({"FunctionNode", "MethodNode", "PartialNode", "OperatorFuncNode"})
#: Type values allowed without trust: NumPy's scalar types (``dtype=numpy.float64`` and the like).
ALLOWED_TYPE_VALUES = frozenset({
    "numpy.bool", "numpy.bool_", "numpy.int8", "numpy.int16", "numpy.int32", "numpy.int64", "numpy.uint8",
    "numpy.uint16", "numpy.uint32", "numpy.uint64", "numpy.float16", "numpy.float32", "numpy.float64",
    "numpy.longdouble", "numpy.complex64", "numpy.complex128", "numpy.str_", "numpy.bytes_", "numpy.object_",
    "numpy.number", "numpy.integer", "numpy.signedinteger", "numpy.unsignedinteger", "numpy.floating",
    "numpy.datetime64", "numpy.timedelta64", "builtins.int", "builtins.float", "builtins.bool",
    "builtins.str", "builtins.object",
})
#: Estimator parameters that make scikit-learn read or write files: name -> (bad value test, effect).
FILE_PARAMETERS = {
    "memory": (lambda v: v is not None, "cache fitted steps in that folder when the model is refitted"),
    "input": (lambda v: isinstance(v, str) and v in ("filename", "file"),
              "open the files that the data's text names"),
}



#: ``skops.io`` lists scikit-learn's estimators when it is imported (``sklearn.utils.all_estimators``), and
#: the package walk behind that list imports every subpackage to look inside it: this one imports PyTorch
#: (seconds of a command's start) although ``sklearn.externals`` holds no estimator and the list skips it.
_SKLEARN_TORCH_SHIM = "sklearn.externals.array_api_compat.torch"


def skops_io() -> types.ModuleType:
    """Return ``skops.io``, imported without importing PyTorch when PyTorch is not loaded yet.

    While ``skops.io`` is first imported, a placeholder without ``__path__`` stands in for
    :data:`_SKLEARN_TORCH_SHIM`, so the estimator walk does not enter it; it is removed right after, and a
    later import of that module gets the real one. The estimators skops trusts are the same either way
    (tests/ingest/test_skops_import.py compares them with a plain ``import skops.io``).
    """
    if "skops.io" in sys.modules or "torch" in sys.modules or _SKLEARN_TORCH_SHIM in sys.modules:
        import skops.io

        return skops.io
    placeholder = types.ModuleType(_SKLEARN_TORCH_SHIM)
    sys.modules[_SKLEARN_TORCH_SHIM] = placeholder
    try:
        import skops.io
    finally:
        if sys.modules.get(_SKLEARN_TORCH_SHIM) is placeholder:
            del sys.modules[_SKLEARN_TORCH_SHIM]
    return skops.io

def check_skops(data: bytes, name: str) -> list[str]:
    """Return the reviewed types ``data`` needs; refuse anything else, and any stored function.

    Parameters
    ----------
    data : bytes
        The ``.skops`` archive.
    name : str
        The file's display name, for the sentences.

    Returns
    -------
    list of str
        The types to pass to ``skops.io.loads(trusted=...)``: a subset of :data:`REVIEWED_TYPES`.

    Raises
    ------
    UntrustedFileError
        For a function-valued node (naming the function and where it sits), a type value that is not a
        NumPy scalar type, or a type outside skops' trusted set and :data:`REVIEWED_TYPES`.
    Exception
        skops' own errors for a corrupt archive (the caller turns them into one sentence).
    """
    sio = skops_io()

    schema = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("schema.json"))
    for node, where in _nodes(schema):
        loader, qualified = node.get("__loader__"), f"{node.get('__module__')}.{node.get('__class__')}"
        if loader in FUNCTION_LOADERS or (loader == "TypeNode" and qualified not in ALLOWED_TYPE_VALUES):
            raise UntrustedFileError(SKOPS_FUNCTION.format(name=name, function=qualified, where=where))
    untrusted = sio.get_untrusted_types(data=data)
    refused = [t for t in untrusted if t not in REVIEWED_TYPES]
    if refused:
        raise UntrustedFileError(SKOPS_UNTRUSTED.format(name=name, types=listing(refused)))
    return untrusted


def untrusted_skops_parts(data: bytes) -> list[str]:
    """Return what trusting ``data`` would allow: its stored functions and unreviewed types (for the UI)."""
    sio = skops_io()

    schema = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("schema.json"))
    parts, named = [], set()
    for node, _ in _nodes(schema):
        loader, qualified = node.get("__loader__"), f"{node.get('__module__')}.{node.get('__class__')}"
        if loader in FUNCTION_LOADERS or (loader == "TypeNode" and qualified not in ALLOWED_TYPE_VALUES):
            parts.append(f"the function {qualified}" if loader != "TypeNode" else f"the type {qualified}")
            named.add(qualified)
    untrusted = sio.get_untrusted_types(data=data)
    parts += [t for t in untrusted if t not in REVIEWED_TYPES and t not in named]
    return list(dict.fromkeys(parts))


def check_parameters(estimator: Any, name: str) -> None:
    """Refuse a loaded estimator whose parameters make scikit-learn read or write files.

    Raises
    ------
    UntrustedFileError
        For a parameter listed in :data:`FILE_PARAMETERS` with a value that touches files.
    """
    for owner in _estimators(estimator):
        try:
            params = owner.get_params(deep=False)
        except Exception:  # noqa: BLE001 - not an estimator with parameters: nothing to check
            continue
        for param, (bad, effect) in FILE_PARAMETERS.items():
            value = params.get(param)
            if param in params and bad(value):
                raise UntrustedFileError(SKOPS_PARAMETER.format(
                    name=name, param=param, value=value if isinstance(value, str) else type(value).__name__,
                    estimator=type(owner).__name__, effect=effect))


def _estimators(obj: Any, seen: set | None = None) -> Iterator[Any]:
    """Yield ``obj`` and every estimator nested in its parameters (pipelines, column transformers, ...)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or not hasattr(obj, "get_params"):
        return
    seen.add(id(obj))
    yield obj
    try:
        params = obj.get_params(deep=False)
    except Exception:  # noqa: BLE001 - see check_parameters
        return
    for value in params.values():
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            for part in item if isinstance(item, tuple) else (item,):  # (name, estimator[, columns])
                yield from _estimators(part, seen)
    for fitted in ("steps", "transformers_", "estimators_", "calibrated_classifiers_"):
        items = getattr(obj, fitted, None)
        if items is None:
            continue
        for item in (items.ravel() if hasattr(items, "ravel") else items):  # gradient boosting: an array
            for part in item if isinstance(item, tuple) else (item,):
                yield from _estimators(part, seen)


def _nodes(state: Any, owner: str | None = None, attr: str | None = None) -> Iterator[tuple[dict, str]]:
    """Yield every node of a skops schema with where it sits ("the func of a FunctionTransformer")."""
    if isinstance(state, list):
        for item in state:
            yield from _nodes(item, owner, attr)
        return
    if not isinstance(state, dict):
        return
    loader = state.get("__loader__")
    if loader is not None:
        yield state, f"the {attr} of a {owner}" if owner and attr else "inside the model"
    if loader == "DictNode" and isinstance(state.get("content"), dict):
        for key, child in state["content"].items():
            yield from _nodes(child, owner, key)
        return
    if loader in ("ObjectNode", "ReduceNode", "TreeNode", "LossNode", "SGDNode"):
        owner = str(state.get("__class__"))
    for key, value in state.items():
        if not key.startswith("__") or key == "__reduce__":
            yield from _nodes(value, owner, attr)
