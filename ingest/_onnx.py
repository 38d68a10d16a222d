"""What an ONNX file may hold without trust: every tensor inside it, and only standard operators.

onnxruntime reads a tensor stored as *external data* from the path the model names, relative to the
working directory when the model comes from bytes (it refuses absolute and ``../`` paths, not
``secret.txt``), and hands the bytes back through the graph. So every tensor is checked before an
inference session is created: initializers, sparse initializers, tensor-valued node attributes, and the
same inside every subgraph (``If``/``Loop``/``Scan`` bodies) and model-local function. Operators must come
from the standard ONNX or ONNX-ML domains (or a model-local function, whose body is checked the same
way), so no custom operator library is ever needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from glasswing.ingest._errors import ONNX_CUSTOM_DOMAIN, ONNX_EXTERNAL_DATA, IngestError, listing

#: Operator domains Glasswing runs ("" and "ai.onnx" are the standard operators).
STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})


def check_onnx(proto: Any, name: str) -> None:
    """Refuse an ONNX model with external data or custom operator domains, before any session exists.

    Parameters
    ----------
    proto : onnx.ModelProto
        The parsed model (``onnx.load_model_from_string``; parsing reads no other file).
    name : str
        The file's display name, for the sentences.

    Raises
    ------
    IngestError
        Naming the first tensor stored outside the file, or the custom domain and its operators.
    """
    functions = {(f.domain, f.name) for f in proto.functions}
    graphs = [proto.graph, *(_function_graph(f) for f in proto.functions)]
    custom: dict[str, set[str]] = {}
    for graph in graphs:
        for tensor, where in _tensors(graph):
            if _is_external(tensor):
                location = next((e.value for e in tensor.external_data if e.key == "location"), "?")
                raise IngestError(ONNX_EXTERNAL_DATA.format(name=name, tensor=tensor.name or where,
                                                            location=location))
        for node in _nodes(graph):
            if node.domain not in STANDARD_DOMAINS and (node.domain, node.op_type) not in functions:
                custom.setdefault(node.domain, set()).add(node.op_type)
    if custom:
        domain = sorted(custom)[0]
        ops = listing(sorted(custom[domain]))
        raise IngestError(ONNX_CUSTOM_DOMAIN.format(name=name, domain=domain, ops=ops))


def _function_graph(function: Any) -> Any:
    """Return a model-local function's nodes as a graph, so they are walked like one."""
    import onnx

    return onnx.helper.make_graph(list(function.node), function.name, [], [])


def _is_external(tensor: Any) -> bool:
    import onnx

    return tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data) > 0


def _subgraphs(node: Any) -> Iterator[Any]:
    for attr in node.attribute:
        if attr.HasField("g"):
            yield attr.g
        yield from attr.graphs


def _nodes(graph: Any) -> Iterator[Any]:
    for node in graph.node:
        yield node
        for sub in _subgraphs(node):
            yield from _nodes(sub)


def _tensors(graph: Any) -> Iterator[tuple[Any, str]]:
    """Every TensorProto of ``graph`` and its subgraphs, with a name for it."""
    for tensor in graph.initializer:
        yield tensor, tensor.name
    for sparse in graph.sparse_initializer:
        yield sparse.values, sparse.values.name
        yield sparse.indices, sparse.indices.name
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t, f"{node.name or node.op_type}.{attr.name}"
            for tensor in attr.tensors:
                yield tensor, f"{node.name or node.op_type}.{attr.name}"
            if attr.HasField("sparse_tensor"):
                yield attr.sparse_tensor.values, f"{node.name or node.op_type}.{attr.name}"
            for sparse in attr.sparse_tensors:
                yield sparse.values, f"{node.name or node.op_type}.{attr.name}"
        for sub in _subgraphs(node):
            yield from _tensors(sub)
