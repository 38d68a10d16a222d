"""Bad input never exits 1 (the code ``--fail-if`` uses for a violated threshold): every failure is one
sentence on stderr and exit code 2, the traceback only with ``--debug``."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import skops.io
import torch
from PIL import Image
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from glasswing import cli
from glasswing.commands import audit as audit_command
from glasswing.commands.explain import BAD_NUMBER
from glasswing.ingest import _errors as E
from tests.ingest.conftest import TinyCNN, legacy_torch_export
from tests.security.conftest import assert_one_sentence_exit_2, run_cli

FRAME = pd.DataFrame({"x": np.arange(40, dtype=float), "city": ["a", "b"] * 20,
                      "sex": ["F"] * 20 + ["M"] * 20, "y": [0, 1] * 20})


@pytest.fixture
def files(tmp_path):
    pre = ColumnTransformer([("c", OneHotEncoder(), ["city"]), ("n", "passthrough", ["x"])])
    pipe = Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(FRAME[["x", "city"]], FRAME["y"])
    (tmp_path / "m.skops").write_bytes(skops.io.dumps(pipe))
    FRAME.to_csv(tmp_path / "d.csv", index=False)
    return tmp_path


def _audit(files, data="d.csv", *extra):
    return ["audit", "--model", files / "m.skops", "--data", files / data, "--target", "y",
            "--sensitive", "sex", "--bootstrap", "20", *extra]


def test_a_violated_threshold_is_the_only_exit_1(files, capsys):
    code, _, err = run_cli(_audit(files, "d.csv", "--fail-if", "demographic_parity_ratio>=0"), capsys)
    assert code == 1 and err.startswith("glasswing audit: failed: demographic_parity_ratio")


def test_model_features_missing_from_the_data(files, capsys):
    FRAME.drop(columns="city").to_csv(files / "short.csv", index=False)
    code, _, err = run_cli(_audit(files, "short.csv"), capsys)
    assert_one_sentence_exit_2(code, err, E.MODEL_FEATURES_MISSING.format(
        data="'short.csv'", missing="city", available="x, sex, y"))


def test_a_model_that_fails_inside_predict_proba(files, capsys):
    FRAME.assign(city=["a", "zzz"] * 20).to_csv(files / "unseen.csv", index=False)
    code, _, err = run_cli(_audit(files, "unseen.csv"), capsys)
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1
    assert err.startswith("glasswing: error: 'm.skops' failed while scoring the data: ValueError: Found "
                          "unknown categories ['zzz'] in column 0 during transform")


def test_a_parameter_that_is_not_a_number(files, capsys):
    args = ["explain", "--model", files / "m.skops", "--data", files / "d.csv", "--rows", "0:2",
            "--method", "lime", "--param", "num_samples=abc", "--out", files / "o.csv"]
    code, _, err = run_cli(args, capsys)
    assert_one_sentence_exit_2(code, err, BAD_NUMBER.format(name="num_samples", default=5000, value="abc"))


def test_bad_json_in_onnx_metadata(tmp_path, capsys):
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Softmax", ["X"], ["Y"])], "g",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model.metadata_props.add(key="class_names", value="[0, 1")
    (tmp_path / "m.onnx").write_bytes(model.SerializeToString())
    FRAME[["x", "y", "sex"]].assign(z=1.0).to_csv(tmp_path / "d.csv", index=False)
    code, _, err = run_cli(["audit", "--model", tmp_path / "m.onnx", "--data", tmp_path / "d.csv",
                            "--target", "y", "--sensitive", "sex"], capsys)
    assert_one_sentence_exit_2(code, err, E.BAD_METADATA.format(
        name="m.onnx", key="class_names", reason="Expecting ',' delimiter"))


def test_bad_json_in_a_torchscript_glasswing_json(tmp_path, capsys):
    buffer = io.BytesIO()
    torch.manual_seed(0)
    legacy_torch_export(lambda: torch.jit.save(torch.jit.script(TinyCNN().eval()), buffer,
                                               _extra_files={"glasswing.json": "{'size': [8, 8]}"}))
    (tmp_path / "m.pt").write_bytes(buffer.getvalue())
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    code, _, err = run_cli(["explain", "--model", tmp_path / "m.pt", "--image", tmp_path / "x.png",
                            "--method", "integrated_gradients", "--out", tmp_path / "m.npy"], capsys)
    assert_one_sentence_exit_2(code, err, E.BAD_METADATA.format(
        name="m.pt", key="glasswing.json", reason="Expecting property name enclosed in double quotes"))


def test_any_unexpected_exception_is_one_sentence_and_exit_2(files, capsys, monkeypatch):
    def boom(args):
        raise RuntimeError("something deep inside broke\nsecond line")
    monkeypatch.setattr(audit_command, "run", boom)
    code, _, err = run_cli(_audit(files), capsys)
    assert_one_sentence_exit_2(code, err, cli.UNEXPECTED.format(
        command="audit", error="RuntimeError: something deep inside broke"))
    with pytest.raises(RuntimeError):  # --debug shows the real traceback
        cli.main(["--debug", *map(str, _audit(files))])


def test_running_out_of_memory_is_exit_2(files, capsys, monkeypatch):
    def exhausted(args):
        raise MemoryError
    monkeypatch.setattr(audit_command, "run", exhausted)
    code, _, err = run_cli(_audit(files), capsys)
    assert_one_sentence_exit_2(code, err, cli.OUT_OF_MEMORY.format(command="audit"))
