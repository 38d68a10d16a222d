"""Batch explanations: chunked, in joblib workers and on Spark, equal one registry call on the same rows.

References: ``explainers.explain`` called once on all the rows in this process (the single-process answer
the batch must reproduce), the pipeline's own ``decision_function`` for SHAP's additivity, and the rows of
the table itself for Spark's row ids.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io

from glasswing import explainers
from glasswing.explainers import _batch, _batch_spark
from glasswing.explainers._batch import ModelFile, explain_batch
from tests.explainers.test_tabular import FEATURES, german_frame, german_model


def model_file(which: str) -> ModelFile:
    return ModelFile(skops.io.dumps(german_model(which).estimator), f"german_{which}.skops")


def single(which: str, rows: pd.DataFrame, method: str, background=None, **params) -> pd.DataFrame:
    """One registry call in this process, on the model loaded from the same bytes."""
    model = model_file(which).load()
    if background is not None:
        params["background"] = background
    return explainers.attribution_frame(explainers.explain(model, rows, method=method, **params))


def test_tree_shap_with_two_jobs_equals_one_call_and_adds_up_to_the_model_output():
    table = german_frame()[FEATURES]
    batch = explain_batch(model_file("gbm"), table, method="shap", target=1, jobs=2)
    assert batch.columns.tolist() == ["row", "target", *FEATURES, "base_value", "model_output"]
    assert batch["row"].tolist() == list(range(len(table))) and set(batch["target"]) == {1}
    ref = single("gbm", table, "shap", target=1)
    np.testing.assert_allclose(batch[FEATURES].to_numpy(), ref[FEATURES].to_numpy(), rtol=1e-12, atol=1e-14)
    log_odds = german_model("gbm").estimator.decision_function(table)
    np.testing.assert_allclose(batch["model_output"], log_odds, rtol=1e-12)
    np.testing.assert_allclose(batch["base_value"] + batch[FEATURES].sum(axis=1), log_odds, atol=1e-9)
    assert batch.attrs == {"output": "log-odds", "algorithm": "TreeExplainer"}


def test_linear_shap_draws_the_background_a_single_call_on_every_row_draws():
    table = german_frame()[FEATURES]
    rows = table.iloc[600:700]
    background = _batch.batch_background(table, "shap", {"background_size": 50, "seed": 3})
    batch = explain_batch(model_file("logreg"), rows, method="shap", jobs=2, ids=range(600, 700),
                          background=background, background_size=50, seed=3)
    ref = single("logreg", rows, "shap", background=table, background_size=50, seed=3)
    assert batch["row"].tolist() == list(range(600, 700))
    np.testing.assert_allclose(batch[FEATURES].to_numpy(), ref[FEATURES].to_numpy(), rtol=1e-12, atol=1e-14)
    assert batch["target"].tolist() == ref["target"].tolist()  # each row's predicted class


def test_lime_gives_each_row_the_same_values_in_any_chunk():
    """The seeding rule: a fresh generator seeded ``seed`` per row, one background for every chunk."""
    table = german_frame()[FEATURES]
    rows = table.iloc[:12]
    background = _batch.batch_background(table, "lime", {"seed": 5})
    batch = explain_batch(model_file("gbm"), rows, method="lime", jobs=2, background=background,
                          num_samples=300, seed=5)
    assert len(_batch.chunk_bounds(len(rows), 2)) > 2  # really split
    together = single("gbm", rows, "lime", background=table, num_samples=300, seed=5)
    alone = pd.concat([single("gbm", rows.iloc[[i]], "lime", background=table, num_samples=300, seed=5)
                       for i in (11, 4, 0)])  # one row per call, in another order
    np.testing.assert_allclose(batch[FEATURES].to_numpy(), together[FEATURES].to_numpy(), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(batch[FEATURES].to_numpy()[[11, 4, 0]], alone[FEATURES].to_numpy(),
                               rtol=1e-12, atol=1e-15)
    proba = german_model("gbm").estimator.predict_proba(rows)
    np.testing.assert_allclose(batch["model_output"], proba.max(axis=1), rtol=1e-12)


def test_bad_jobs_and_global_methods_are_sentences():
    table = german_frame()[FEATURES].head(5)
    with pytest.raises(explainers.ExplainerError) as exc:
        explain_batch(model_file("gbm"), table, method="shap", jobs=0)
    assert str(exc.value) == "--jobs takes a number of worker processes, 1 or more; got 0."
    with pytest.raises(explainers.ExplainerError) as exc:
        explain_batch(model_file("gbm"), table, method="permutation_importance")
    assert str(exc.value) == ("Batch output explains each row, and Permutation importance explains the model "
                              "as a whole; write it with --out FILE.csv instead.")


def test_a_skops_file_with_an_untrusted_type_is_refused_in_the_batch_too():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from glasswing.ingest import UntrustedFileError

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    pipe = make_pipeline(FunctionTransformer(np.log1p), LogisticRegression()).fit(X, [0, 0, 1, 1])
    with pytest.raises(UntrustedFileError):
        explain_batch(ModelFile(skops.io.dumps(pipe), "m.skops"), X, method="shap")


def test_spark_map_in_pandas_equals_one_call_row_by_row(spark):
    table = german_frame()[FEATURES]
    frame = spark.createDataFrame(table)
    assert frame.rdd.getNumPartitions() >= 2  # row ids must carry across partitions
    out = _batch_spark.explain_spark(model_file("gbm"), frame, method="shap", target=1).toPandas()
    out = out.sort_values("row").reset_index(drop=True)
    assert out["row"].tolist() == list(range(len(table)))
    ref = single("gbm", table, "shap", target=1)
    np.testing.assert_allclose(out[FEATURES].to_numpy(), ref[FEATURES].to_numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["model_output"], german_model("gbm").estimator.decision_function(table),
                               rtol=1e-12)
    assert out["target"].tolist() == [1] * len(table)


def test_spark_lime_uses_the_single_process_background_and_seeds(spark):
    table = german_frame()[FEATURES]
    frame = spark.createDataFrame(table.iloc[:16])
    out = _batch_spark.explain_spark(model_file("gbm"), frame, method="lime", num_samples=300, seed=2)
    out = out.toPandas().sort_values("row").reset_index(drop=True)
    ref = single("gbm", table.iloc[:16], "lime", num_samples=300, seed=2)  # background: the 16 rows
    np.testing.assert_allclose(out[FEATURES].to_numpy(), ref[FEATURES].to_numpy(), rtol=1e-12, atol=1e-15)
    assert out["target"].tolist() == ref["target"].tolist()


def test_row_ids_are_positions_in_a_parquet_file_split_into_many_partitions(spark, tmp_path):
    rows = pd.DataFrame({"value": np.arange(5000, dtype=np.int64) * 7})
    rows.to_parquet(tmp_path / "t.parquet", row_group_size=500, index=False)
    spark.conf.set("spark.sql.files.maxPartitionBytes", "4096")
    try:
        frame = spark.read.parquet(str(tmp_path / "t.parquet"))
        assert frame.rdd.getNumPartitions() > 2
        marked, total = _batch_spark.with_row_ids(frame)
        got = marked.toPandas()
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert total == 5000
    got = got.sort_values("__glasswing_row")
    assert got["__glasswing_row"].tolist() == list(range(5000))
    assert got["value"].tolist() == rows["value"].tolist()
