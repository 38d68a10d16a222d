"""A small tabular network written as a self-contained ONNX graph that takes the original columns.

The PyTorch mitigations (adversarial debiasing, the fairness-regularised loss) train a fully connected
network on encoded columns: categories one-hot, numbers standardised. ``tabular_network_onnx`` writes the
encoding and the network into one graph with one input per column (strings for categories, floats for
numbers), the layout ``ingest.load_model`` already reads for skl2onnx graphs, so the exported model loads
back in Glasswing like any other safe ONNX file (standard and ONNX-ML operators only, no external data).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: Activations the writer knows: layer name -> ONNX operator.
ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "leaky_relu": "LeakyRelu"}
OPSET, ML_OPSET = 17, 3


def tabular_network_onnx(columns: Sequence[Mapping[str, Any]], layers: Sequence[tuple], *,
                         classes: Sequence, output: str = "logit", name: str = "glasswing") -> bytes:
    """Return ONNX bytes: per-column encoding, then the layers, then ``[1 - p, p]`` per row.

    Parameters
    ----------
    columns : sequence of mapping
        In the encoded matrix's order: ``{"name", "kind": "categorical", "categories": [...]}`` (one-hot,
        compared as text; an unseen category encodes as zeros) or ``{"name", "kind": "numeric", "center",
        "scale"}`` (``(x - center) / scale``, a missing value counts as ``center``).
    layers : sequence of tuple
        ``("linear", weight (out, in), bias (out,))``, ``("relu",)``, ``("sigmoid",)``, ``("tanh",)`` or
        ``("leaky_relu", negative_slope)``; the last layer has one output.
    classes : sequence
        The two class labels, negative first (stored in the metadata ``class_names``).
    output : {"logit", "probability"}
        What the last layer gives for the positive class.
    name : str
        The graph's name.

    Returns
    -------
    bytes
        A serialised ``onnx.ModelProto``.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, inputs, encoded = [], [], [], []

    def const(label: str, value) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), label))
        return label

    for i, col in enumerate(columns):
        if col["kind"] == "categorical":
            inputs.append(helper.make_tensor_value_info(col["name"], TensorProto.STRING, [None, 1]))
            cats = [str(c) for c in col["categories"]]
            inits.append(numpy_helper.from_array(np.asarray([-1, len(cats)], dtype=np.int64), f"shape_{i}"))
            nodes += [helper.make_node("OneHotEncoder", [col["name"]], [f"onehot3_{i}"], domain="ai.onnx.ml",
                                       cats_strings=cats, zeros=1),
                      helper.make_node("Reshape", [f"onehot3_{i}", f"shape_{i}"], [f"onehot_{i}"]),
                      helper.make_node("Cast", [f"onehot_{i}"], [f"enc_{i}"], to=TensorProto.FLOAT)]
        else:
            inputs.append(helper.make_tensor_value_info(col["name"], TensorProto.FLOAT, [None, 1]))
            center, scale = const(f"center_{i}", [col["center"]]), const(f"scale_{i}", [col["scale"]])
            nodes += [helper.make_node("IsNaN", [col["name"]], [f"nan_{i}"]),
                      helper.make_node("Where", [f"nan_{i}", center, col["name"]], [f"filled_{i}"]),
                      helper.make_node("Sub", [f"filled_{i}", center], [f"centered_{i}"]),
                      helper.make_node("Div", [f"centered_{i}", scale], [f"enc_{i}"])]
        encoded.append(f"enc_{i}")
    nodes.append(helper.make_node("Concat", encoded, ["h0"], axis=1))
    current = "h0"
    for k, layer in enumerate(layers, start=1):
        kind, out = layer[0], f"h{k}"
        if kind == "linear":
            w, b = const(f"W{k}", layer[1]), const(f"b{k}", layer[2])
            nodes.append(helper.make_node("Gemm", [current, w, b], [out], transB=1))
        elif kind == "leaky_relu":
            nodes.append(helper.make_node("LeakyRelu", [current], [out], alpha=float(layer[1])))
        elif kind in ACTIVATIONS:
            nodes.append(helper.make_node(ACTIVATIONS[kind], [current], [out]))
        else:
            raise ValueError(f"Unknown layer '{kind}'; use one of: linear, {', '.join(ACTIVATIONS)}.")
        current = out
    if output == "logit":
        nodes.append(helper.make_node("Sigmoid", [current], ["p"]))
        current = "p"
    one = const("one", [1.0])
    nodes += [helper.make_node("Sub", [one, current], ["q"]),
              helper.make_node("Concat", ["q", current], ["probabilities"], axis=1)]
    graph = helper.make_graph(nodes, name, inputs,
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])],
                              initializer=inits)
    model = helper.make_model(graph, producer_name="glasswing",
                              opset_imports=[helper.make_opsetid("", OPSET),
                                             helper.make_opsetid("ai.onnx.ml", ML_OPSET)])
    model.ir_version = 8
    helper.set_model_props(model, {"class_names": json.dumps([_plain(c) for c in classes])})
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _plain(value: Any) -> Any:
    """Return a class label as a JSON value (NumPy scalars as Python ones)."""
    return value.item() if isinstance(value, np.generic) else value
