"""``glasswing explain --out FILE.parquet``: every row, locally, with --jobs, on Spark; and bad input.

References: shap's TreeExplainer on the pipeline's final model (the same reference as the CSV output's
test), the pipeline's own ``decision_function`` for additivity, and the single-process output for the
other engines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io

from glasswing.cli import main
from glasswing.commands import explain as cmd
from glasswing.explainers import _batch, _batch_spark
from glasswing.explainers._shap_tabular import shap_module
from tests.explainers.test_tabular import FEATURES, feature_groups, german_frame, german_model, grouped

shap = shap_module()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    skops.io.dump(german_model("gbm").estimator, folder / "gbm.skops")
    german_frame().to_parquet(folder / "german.parquet", index=False)
    german_frame().to_csv(folder / "german.csv", index=False)
    return folder


def explain(files, out, *extra) -> int:
    return main(["explain", "--model", str(files / "gbm.skops"), "--data", str(files / "german.parquet"),
                 "--method", "shap", "--target", "1", "--out", str(out), *extra])


def test_every_row_to_parquet_equals_tree_explainer_and_adds_up(files, capsys):
    out = files / "all.parquet"
    assert explain(files, out) == 0
    table = pd.read_parquet(out)
    assert table.columns.tolist() == ["row", "target", *FEATURES, "base_value", "model_output"]
    assert table["row"].tolist() == list(range(1000)) and set(table["target"]) == {1}
    pipe, X = german_model("gbm").estimator, german_frame()[FEATURES]
    expected = grouped(shap.TreeExplainer(pipe[-1]).shap_values(pipe[0].transform(X)), feature_groups(pipe))
    np.testing.assert_allclose(table[FEATURES].to_numpy(), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(table["base_value"] + table[FEATURES].sum(axis=1), pipe.decision_function(X),
                               atol=1e-9)  # SHAP's additivity, in the file
    assert capsys.readouterr().out.strip() == (f"SHAP (TreeExplainer, log-odds): explained 1,000 rows in "
                                               f"this process; wrote {out}")


def test_two_jobs_write_the_same_rows_as_one_process(files, capsys):
    one, two = files / "one.parquet", files / "two.parquet"
    assert explain(files, one, "--rows", "100:400") == 0
    assert explain(files, two, "--rows", "100:400", "--jobs", "2") == 0
    a, b = pd.read_parquet(one), pd.read_parquet(two)
    assert a["row"].tolist() == list(range(100, 400))
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-14)
    printed = capsys.readouterr().out.strip()
    assert printed.endswith(f"explained 300 rows with 2 worker processes; wrote {two}")


def test_spark_engine_writes_the_same_rows_as_one_process(files, spark, capsys):
    local, on_spark = files / "local_csv.parquet", files / "spark_csv.parquet"
    args = ["explain", "--model", str(files / "gbm.skops"), "--method", "shap", "--target", "1"]
    assert main([*args, "--data", str(files / "german.parquet"), "--out", str(local)]) == 0
    assert main([*args, "--data", str(files / "german.parquet"), "--out", str(on_spark), "--engine", "spark",
                 "--spark-master", "local[2]"]) == 0
    a = pd.read_parquet(local)
    b = pd.read_parquet(on_spark).sort_values("row").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-14)
    assert capsys.readouterr().out.strip().endswith(
        f"SHAP on Spark (local[2]): explained 1,000 rows; wrote {on_spark} (a folder of Parquet part files)")


def error(capsys) -> str:
    return capsys.readouterr().err.strip().removeprefix("glasswing: error: ")


def test_zero_jobs_is_a_sentence(files, capsys):
    assert explain(files, files / "x.parquet", "--jobs", "0") == 2
    assert error(capsys) == "--jobs takes a number of worker processes, 1 or more; got 0."
    assert not (files / "x.parquet").exists()


def test_an_unwritable_out_is_a_sentence_before_any_work(files, capsys):
    assert explain(files, "/sys/glasswing-batch.parquet") == 2  # /sys takes no new files, even from root
    assert error(capsys) == cmd.NOT_WRITABLE.format(out="/sys/glasswing-batch.parquet", folder="/sys")
    assert explain(files, files / "no" / "such" / "x.parquet") == 2
    assert error(capsys) == f"The folder for --out does not exist: {files / 'no' / 'such'}."


def test_spark_without_java_is_a_sentence(files, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no java on PATH
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert explain(files, files / "nojava.parquet", "--engine", "spark") == 2
    assert error(capsys) == ("Spark needs a Java runtime (17 or newer), and none was found on PATH or in "
                             "JAVA_HOME; install one (apt install openjdk-17-jre-headless) or explain on "
                             "this machine with --jobs N.")


def test_spark_without_pyspark_is_a_sentence(files, capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "pyspark.sql", None)  # import pyspark.sql fails
    assert explain(files, files / "nospark.parquet", "--engine", "spark") == 2
    assert error(capsys) == _batch_spark.SPARK_MISSING


def test_batch_flags_need_a_parquet_out_and_all_rows_on_spark(files, capsys):
    assert explain(files, files / "x.csv", "--rows", "0:5", "--jobs", "2") == 2
    assert error(capsys) == ("--jobs and --engine spark write a batch output, one row per explained row: "
                             f"give --out FILE.parquet; got '{files / 'x.csv'}'.")
    assert explain(files, files / "x.parquet", "--engine", "spark", "--rows", "0:5") == 2
    assert error(capsys) == cmd.SPARK_ROWS
    code = main(["explain", "--model", str(files / "gbm.skops"), "--data", str(files / "german.parquet"),
                 "--method", "permutation_importance", "--out", str(files / "x.parquet")])
    assert code == 2
    assert error(capsys) == _batch.GLOBAL_METHOD.format(label="Permutation importance")


def test_a_missing_spark_table_is_a_sentence(files, capsys, spark):
    assert main(["explain", "--model", str(files / "gbm.skops"), "--data", str(files / "nothere.parquet"),
                 "--method", "shap", "--out", str(files / "y.parquet"), "--engine", "spark"]) == 2
    assert error(capsys) == (f"There is no file or folder {files / 'nothere.parquet'}; give the Parquet or "
                             "CSV table to explain.")
