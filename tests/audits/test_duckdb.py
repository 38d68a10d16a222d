"""The out-of-core audit (DuckDB over Parquet) gives the same numbers as the in-memory one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from glasswing.audits import AuditError, group_metrics, group_metrics_parquet
from glasswing.audits import _pushdown as d
from glasswing.audits import _validate as v
from glasswing.ingest import IngestError
from glasswing.ingest import _engines as engines


def frame(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n)
    race = rng.choice(["A", "B", "C"], n, p=[0.6, 0.3, 0.1])
    y = rng.integers(0, 2, n)
    score = np.clip(0.35 * y + rng.random(n) * 0.65, 0, 1)
    return pd.DataFrame({"sex": pd.Categorical(sex), "race": race, "y_true": y,
                         "y_pred": (score >= 0.5).astype(np.int8), "score": score, "w": rng.random(n)})


@pytest.fixture
def parquet(tmp_path):
    df = frame()
    path = tmp_path / "scored.parquet"
    df.to_parquet(path, index=False)
    return df, path


def test_same_numbers_as_pandas(parquet):
    df, path = parquet
    gm = group_metrics_parquet(path, y_true="y_true", y_pred="y_pred", sensitive=["sex", "race"])
    ref = group_metrics(df["y_true"], df["y_pred"], df[["sex", "race"]])
    pd.testing.assert_frame_equal(gm.counts, ref.counts, check_dtype=False)
    pd.testing.assert_frame_equal(gm.by_group, ref.by_group, check_dtype=False)
    pd.testing.assert_frame_equal(gm.intervals, ref.intervals)
    pd.testing.assert_frame_equal(gm.disparities(), ref.disparities())  # same counts, same seed
    assert gm.summary() == ref.summary()


def test_weights_threshold_and_scores(parquet):
    df, path = parquet
    gm = group_metrics_parquet(path, y_true="y_true", y_pred=None, y_score="score", threshold=0.6,
                               sensitive="race", sample_weight="w", score_decimals=None)
    ref = group_metrics(df["y_true"], None, df["race"], y_score=df["score"], threshold=0.6,
                        sample_weight=df["w"])
    np.testing.assert_allclose(gm.by_group.to_numpy(), ref.by_group.to_numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gm.overall.to_numpy(), ref.overall.to_numpy(), rtol=1e-12, atol=1e-12)
    m = df["race"] == "B"
    assert gm.by_group.loc["B", "auc"] == pytest.approx(
        roc_auc_score(df.loc[m, "y_true"], df.loc[m, "score"], sample_weight=df.loc[m, "w"]), abs=1e-12)


def test_rounded_scores_change_auc_only_slightly(parquet):
    df, path = parquet
    gm = group_metrics_parquet(path, y_true="y_true", y_pred="y_pred", y_score="score", sensitive="sex")
    for g in ("female", "male"):
        m = df["sex"] == g
        exact = roc_auc_score(df.loc[m, "y_true"], df.loc[m, "score"])
        assert gm.by_group.loc[g, "auc"] == pytest.approx(exact, abs=1e-3)


def test_a_folder_of_parts_with_missing_values(tmp_path):
    df = frame(3000, seed=1)
    df.loc[5, "y_true"] = None
    df.loc[7, "race"] = None
    folder = tmp_path / "parts"
    (folder / "day=1").mkdir(parents=True)
    (folder / "day=2").mkdir()
    df.iloc[:1500].to_parquet(folder / "day=1" / "a.parquet", index=False)
    df.iloc[1500:].to_parquet(folder / "day=2" / "b.parquet", index=False)
    gm = group_metrics_parquet(folder, y_true="y_true", y_pred="y_pred", sensitive=["sex", "race"])
    ref = group_metrics(df["y_true"], df["y_pred"], df[["sex", "race"]])
    pd.testing.assert_frame_equal(gm.by_group, ref.by_group, check_dtype=False)
    assert gm.warnings == ref.warnings
    assert ("(missing)" in gm.by_group.index.get_level_values("race"))


def test_errors(tmp_path, parquet):
    df, path = parquet
    with pytest.raises(IngestError) as err:
        group_metrics_parquet(tmp_path / "nothing", y_true="y_true", y_pred="y_pred", sensitive="sex")
    assert str(err.value) == engines.NO_PARQUET.format(path=tmp_path / "nothing")
    with pytest.raises(AuditError) as err:
        group_metrics_parquet(path, y_true="y_true", y_pred="y_pred", sensitive="gender")
    assert str(err.value) == d.PARQUET_COLUMN.format(column="gender", path=path,
                                                     columns="sex, race, y_true, y_pred, score, w")
    with pytest.raises(AuditError) as err:
        group_metrics_parquet(path, y_true="y_true", y_pred="score", sensitive="sex")
    assert str(err.value).startswith("score holds scores between 0 and 1 (for example ")
    df.assign(one="x").to_parquet(tmp_path / "one.parquet")
    with pytest.raises(AuditError) as err:
        group_metrics_parquet(tmp_path / "one.parquet", y_true="y_true", y_pred="y_pred", sensitive="one")
    assert str(err.value) == v.SINGLE_GROUP.format(name="one", value="x")
    df.assign(y_true=np.arange(len(df)) % 3).to_parquet(tmp_path / "three.parquet")
    with pytest.raises(AuditError) as err:
        group_metrics_parquet(tmp_path / "three.parquet", y_true="y_true", y_pred="y_pred", sensitive="sex")
    assert str(err.value) == v.NON_BINARY.format(name="y_true", k=3, values="0, 1, 2")


def test_never_loads_rows_into_pandas(parquet, monkeypatch):
    """Only aggregates leave DuckDB: reading the file with pandas or pyarrow is never needed."""
    import pyarrow.parquet

    def refuse(*args, **kwargs):
        raise AssertionError("the rows were read into memory")

    monkeypatch.setattr(pd, "read_parquet", refuse)
    monkeypatch.setattr(pyarrow.parquet, "read_table", refuse)
    _, path = parquet
    gm = group_metrics_parquet(path, y_true="y_true", y_pred="y_pred", y_score="score", sensitive="race")
    assert int(gm.overall["n"]) == 4000
