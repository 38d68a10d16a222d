"""``glasswing explain``: the CSV of tabular attributions, the .npy image map, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import skops.io
import torch
from PIL import Image

from glasswing.cli import main
from glasswing.commands import explain as cmd
from glasswing.explainers._shap_tabular import shap_module
from tests.conftest import ROOT
from tests.explainers.test_registry import images, tiny_cnn
from tests.explainers.test_tabular import FEATURES, feature_groups, german_frame, german_model, grouped

shap = shap_module()  # imported with shap's import-time warning silenced


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explain")
    skops.io.dump(german_model("gbm").estimator, folder / "gbm.skops")
    german_frame().to_csv(folder / "german.csv", index=False)
    return folder


def test_shap_rows_to_csv_equal_shap_tree_explainer(files, capsys):
    out = files / "attr.csv"
    code = main(["explain", "--model", str(files / "gbm.skops"), "--data", str(files / "german.csv"),
                 "--rows", "0:100", "--method", "shap", "--target", "1", "--out", str(out)])
    assert code == 0
    table = pd.read_csv(out, index_col="row")
    assert list(table.columns) == ["target", *FEATURES, "base_value", "model_output"]
    assert table.index.tolist() == list(range(100)) and set(table["target"]) == {1}
    pipe = german_model("gbm").estimator
    X = german_frame()[FEATURES].iloc[:100]
    ref = shap.TreeExplainer(pipe[-1])
    expected = grouped(ref.shap_values(pipe[0].transform(X)), feature_groups(pipe))
    np.testing.assert_allclose(table[FEATURES].to_numpy(), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(table["model_output"], pipe.decision_function(X), rtol=1e-12)
    np.testing.assert_allclose(table["base_value"], float(np.ravel(ref.expected_value)[0]), rtol=1e-12)
    printed = capsys.readouterr().out.strip()
    assert printed == f"SHAP (TreeExplainer, log-odds): explained 100 rows; wrote {out}"


def test_a_windows_1252_table_is_read_with_a_note(files, capsys):
    from glasswing.ingest._errors import NOTE_ENCODING

    frame = german_frame().head(20).assign(name="Renée “Zoë”")
    frame.to_csv(files / "excel.csv", index=False, encoding="cp1252")
    out = files / "excel_attr.csv"
    code = main(["explain", "--model", str(files / "gbm.skops"), "--data", str(files / "excel.csv"),
                 "--rows", "0:2", "--method", "shap", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert printed.out.splitlines()[0] == "Note: " + NOTE_ENCODING.format(name="excel.csv",
                                                                          encoding="Windows-1252")
    assert list(pd.read_csv(out, index_col="row").columns) == ["target", *FEATURES, "base_value",
                                                               "model_output"]


def test_lime_rows_with_params(files):
    out = files / "lime.csv"
    args = ["explain", "--model", str(files / "gbm.skops"), "--data", str(files / "german.csv"), "--rows",
            "3,7", "--method", "lime", "--param", "num_samples=300", "--param", "seed=5", "--out", str(out)]
    assert main(args) == 0
    first = pd.read_csv(out, index_col="row")
    assert main(args) == 0
    pd.testing.assert_frame_equal(first, pd.read_csv(out, index_col="row"))  # seeded: the same again
    assert first.index.tolist() == [3, 7] and first["base_value"].isna().all()
    proba = german_model("gbm").estimator.predict_proba(german_frame()[FEATURES].iloc[[3, 7]])
    np.testing.assert_allclose(first["model_output"], proba.max(axis=1), rtol=1e-12)


@pytest.fixture(scope="module")
def image_model_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("image")
    meta = {"preprocess": {"size": [16, 16]}, "class_names": json.dumps(["a", "b", "c"])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch 2.14 deprecates torch.jit; it still works
        torch.jit.script(tiny_cnn().module).save(str(folder / "cnn.pt"),
                                                 _extra_files={"glasswing.json": json.dumps(meta)})
    image = images(1)[0]
    Image.fromarray(image).save(folder / "img.png")
    return folder


def test_image_map_is_saved_scaled_to_unit_range(image_model_file):
    from glasswing import explainers

    out = image_model_file / "map.npy"
    code = main(["explain", "--model", str(image_model_file / "cnn.pt"), "--image",
                 str(image_model_file / "img.png"), "--method", "integrated_gradients",
                 "--param", "n_steps=4",
                 "--target", "b", "--out", str(out)])
    assert code == 0
    saved = np.load(out)
    assert saved.shape == (16, 16) and saved.dtype == np.float32
    assert saved.min() == 0.0 and saved.max() == 1.0
    (ref,) = explainers.explain(tiny_cnn(), images(1), method="integrated_gradients", n_steps=4, target="b")
    expected = (ref.values - ref.values.min()) / (ref.values.max() - ref.values.min())
    np.testing.assert_allclose(saved, expected, atol=1e-5)


BAD = [
    (["--rows", "0:5000"], "Row 4999 is out of range; the data has 1,000 rows (0 to 999)."),
    (["--rows", "0:5", "--param", "algorithm=linear"],
     "SHAP's LinearExplainer needs a logistic regression; this is GradientBoostingClassifier."),
    (["--rows", "0:5", "--target", "maybe"], "Class 'maybe' is not one of the model's classes: 0, 1."),
    (["--rows", "0:5", "--param", "speed"], cmd.BAD_PARAM.format(text="speed")),
    ([], cmd.NEEDS_ROWS),
]


@pytest.mark.parametrize(("extra", "message"), BAD)
def test_bad_input_is_one_line_and_exit_code_2(files, capsys, extra, message):
    code = main(["explain", "--model", str(files / "gbm.skops"), "--data", str(files / "german.csv"),
                 "--method", "shap", "--out", str(files / "bad.csv"), *extra])
    assert code == 2
    assert capsys.readouterr().err == f"glasswing: error: {message}\n"


def test_wrong_output_suffix_and_wrong_input_kind(files, image_model_file, capsys):
    assert main(["explain", "--model", str(files / "gbm.skops"), "--data", str(files / "german.csv"),
                 "--rows", "0", "--method", "shap", "--out", str(files / "attr.npy")]) == 2
    assert capsys.readouterr().err.strip() == "glasswing: error: " + cmd.OUT_SUFFIX.format(
        suffix=".csv", what="table rows", out=files / "attr.npy")
    assert main(["explain", "--model", str(image_model_file / "cnn.pt"), "--data", str(files / "german.csv"),
                 "--rows", "0", "--method", "shap", "--out", str(files / "x.csv")]) == 2
    assert capsys.readouterr().err.strip() == ("glasswing: error: This is an image model, so give "
                                              "--image FILE instead.")
    assert main(["explain", "--model", str(files / "gbm.skops"), "--image", str(image_model_file / "img.png"),
                 "--method", "gradcam", "--out", str(files / "map.npy")]) == 2
    assert capsys.readouterr().err.strip() == ("glasswing: error: This is a tabular model, so give "
                                              "--data FILE --rows SPEC instead.")


def test_the_console_command_runs_end_to_end(files):
    out = files / "console.csv"
    done = subprocess.run([sys.executable, "-m", "glasswing.cli", "explain",
                           "--model", str(files / "gbm.skops"),
                           "--data", str(files / "german.csv"), "--rows", "10:12", "--method", "shap",
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(out, index_col="row").index.tolist() == [10, 11]
