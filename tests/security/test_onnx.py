"""Hostile ONNX: tensors stored as external data (which onnxruntime reads from the working directory)
are refused before any inference session exists, in initializers, node attributes, subgraphs and
functions; custom operator domains are refused too."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from glasswing import ingest
from glasswing.ingest import _errors as E
from tests.security.conftest import assert_one_sentence_exit_2, run_cli

SECRET = b"TOPSECRETTOKEN!!"  # 16 bytes: four float32 values


def _external(name: str, location: str) -> TensorProto:
    tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=[1, 4])
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(len(SECRET)))):
        tensor.external_data.add(key=key, value=value)
    return tensor


def _model(nodes, initializers=(), functions=(), domains=()) -> bytes:
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 4])],
                              initializer=list(initializers))
    opsets = [helper.make_opsetid("", 17), *(helper.make_opsetid(d, 1) for d in domains)]
    model = helper.make_model(graph, opset_imports=opsets, functions=list(functions))
    model.ir_version = 8
    model.metadata_props.add(key="class_names", value='["a", "b", "c", "d"]')
    return model.SerializeToString()


def initializer_case(location):
    return _model([helper.make_node("Add", ["X", "W"], ["Y"])], [_external("W", location)])


def attribute_case(location):
    const = helper.make_node("Constant", [], ["W"], value=_external("W", location))
    return _model([const, helper.make_node("Add", ["X", "W"], ["Y"])])


def subgraph_case(location):
    const = helper.make_node("Constant", [], ["W"], value=_external("W", location))
    out = helper.make_tensor_value_info("W", TensorProto.FLOAT, [1, 4])
    branch = helper.make_graph([const], "then", [], [out])
    true = helper.make_tensor("c", TensorProto.BOOL, [], [True])
    cond = helper.make_node("Constant", [], ["c"], value=true)
    if_node = helper.make_node("If", ["c"], ["B"], then_branch=branch, else_branch=branch)
    return _model([cond, if_node, helper.make_node("Add", ["X", "B"], ["Y"])])


def function_case(location):
    body = [helper.make_node("Constant", [], ["W"], value=_external("W", location)),
            helper.make_node("Add", ["x", "W"], ["y"])]
    function = helper.make_function("local", "AddSecret", ["x"], ["y"], body, [helper.make_opsetid("", 17)])
    return _model([helper.make_node("AddSecret", ["X"], ["Y"], domain="local")], functions=[function],
                  domains=["local"])


@pytest.mark.parametrize("build, optimize", [(subgraph_case, True), (initializer_case, False),
                                             (attribute_case, False), (function_case, False)])
def test_onnxruntime_really_reads_a_relative_external_file(build, optimize, tmp_path, monkeypatch):
    """The attack, without Glasswing: the secret comes back as the model's output (a subgraph's constant
    with onnxruntime's default options; any tensor when graph optimisations are off)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    options = ort.SessionOptions()
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(build("secret.txt"), options, providers=["CPUExecutionProvider"])
    out = session.run(None, {"X": np.zeros((1, 4), np.float32)})[0]
    assert out.astype(np.float32).tobytes() == SECRET


@pytest.mark.parametrize("build, tensor", [(initializer_case, "W"), (attribute_case, "W"),
                                           (subgraph_case, "W"), (function_case, "W")],
                         ids=["initializer", "node attribute", "subgraph", "local function"])
@pytest.mark.parametrize("location", ["secret.txt", ".streamlit/secrets.toml"])
def test_external_data_is_refused_before_any_session(build, tensor, location, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sessions = []
    monkeypatch.setattr(ort, "InferenceSession", lambda *a, **k: sessions.append(a))
    with pytest.raises(ingest.IngestError) as info:
        ingest.load_model(build(location), name="evil.onnx")
    assert str(info.value) == E.ONNX_EXTERNAL_DATA.format(name="evil.onnx", tensor=tensor, location=location)
    assert sessions == []


def test_custom_operator_domains_are_refused():
    data = _model([helper.make_node("Leak", ["X"], ["Y"], domain="com.evil")], domains=["com.evil"])
    with pytest.raises(ingest.IngestError) as info:
        ingest.load_model(data, name="custom.onnx")
    assert str(info.value) == E.ONNX_CUSTOM_DOMAIN.format(name="custom.onnx", domain="com.evil", ops="Leak")


def test_a_self_contained_graph_and_a_local_function_still_load():
    function = helper.make_function("local", "AddOne", ["x"], ["y"], [
        helper.make_node("Constant", [], ["one"],
                         value=helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])),
        helper.make_node("Add", ["x", "one"], ["y"])], [helper.make_opsetid("", 17)])
    data = _model([helper.make_node("AddOne", ["X"], ["Y"], domain="local")], functions=[function],
                  domains=["local"])
    onnx.checker.check_model(onnx.load_model_from_string(data))
    model = ingest.load_model(data, name="ok.onnx")
    assert list(model.classes_) == ["a", "b", "c", "d"]


def test_audit_with_external_data_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "evil.onnx").write_bytes(subgraph_case("secret.txt"))
    (tmp_path / "d.csv").write_text("a,b,c,d,y,sex\n1,2,3,4,a,F\n1,2,3,4,b,M\n")
    code, _, err = run_cli(["audit", "--model", "evil.onnx", "--data", "d.csv", "--target", "y",
                            "--sensitive", "sex"], capsys)
    assert_one_sentence_exit_2(code, err, E.ONNX_EXTERNAL_DATA.format(name="evil.onnx", tensor="W",
                                                                      location="secret.txt"))
