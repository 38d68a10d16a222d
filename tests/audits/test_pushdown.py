"""The audit pushed down to DuckDB, PostgreSQL and Spark gives the in-memory audit's numbers exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate, true_positive_rate

from glasswing.audits import AuditError, group_metrics
from glasswing.audits._pushdown import group_metrics_parquet
from glasswing.ingest import IngestError, open_source, redact


def frame(n=3000, seed=1):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n).astype(object)
    sex[rng.random(n) < 0.03] = None  # missing sensitive values
    y = rng.integers(0, 2, n)
    score = np.round(np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1), 6)
    score[rng.random(n) < 0.02] = np.nan  # missing scores
    return pd.DataFrame({"sex": sex, "y_true": y, "y_pred": (np.nan_to_num(score) >= 0.5).astype(np.int64),
                         "score": score})


DF = frame()


def _source(kind, tmp_path, request):
    if kind == "parquet":
        path = tmp_path / "scored.parquet"
        DF.to_parquet(path, index=False)
        return {"path": path}
    if kind == "glob":
        for i in range(3):
            DF.iloc[i * 1000:(i + 1) * 1000].to_parquet(tmp_path / f"part{i}.parquet", index=False)
        return {"path": str(tmp_path / "part*.parquet")}
    if kind == "csv":
        path = tmp_path / "scored.csv"
        DF.to_csv(path, index=False)
        return {"path": path}
    if kind in ("duckdb", "duckdb-sql"):
        import duckdb

        path = tmp_path / "db.duckdb"
        con = duckdb.connect(str(path))
        frame_ = DF  # noqa: F841 - read by DuckDB's replacement scan
        con.execute("CREATE TABLE predictions AS SELECT * FROM frame_")
        con.close()
        if kind == "duckdb-sql":
            return {"path": f"duckdb://{path}", "sql": "SELECT * FROM predictions WHERE y_true IS NOT NULL"}
        return {"path": f"duckdb://{path}", "table": "predictions"}
    if kind in ("postgres", "postgres-sql"):
        import psycopg

        url = request.getfixturevalue("postgres_server")
        with psycopg.connect(url) as con:
            con.execute("DROP TABLE IF EXISTS predictions")
            con.execute("CREATE TABLE predictions (sex text, y_true bigint, y_pred bigint, "
                        "score double precision)")
            with con.cursor().copy("COPY predictions FROM STDIN") as copy:
                for row in DF.itertuples(index=False):
                    copy.write_row([row.sex, int(row.y_true), int(row.y_pred),
                                    None if np.isnan(row.score) else float(row.score)])
        if kind == "postgres":
            return {"path": url, "table": "predictions"}
        return {"path": url, "sql": "SELECT * FROM predictions WHERE y_true IS NOT NULL"}
    spark = request.getfixturevalue("spark")
    path = tmp_path / "spark.parquet"
    DF.to_parquet(path, index=False)
    assert spark is not None
    return {"path": path, "engine": "spark"}


@pytest.mark.parametrize("kind", ["parquet", "glob", "csv", "duckdb", "duckdb-sql", "postgres",
                                  "postgres-sql", "spark"])
def test_every_engine_gives_the_in_memory_numbers(kind, tmp_path, request):
    src = _source(kind, tmp_path, request)
    path = src.pop("path")
    gm = group_metrics_parquet(path, y_true="y_true", y_pred="y_pred", y_score="score", sensitive="sex",
                               score_decimals=None, **src)
    ref = group_metrics(DF["y_true"], DF["y_pred"], DF["sex"], y_score=DF["score"])
    pd.testing.assert_frame_equal(gm.counts, ref.counts, check_dtype=False)
    pd.testing.assert_frame_equal(gm.by_group, ref.by_group, check_dtype=False, rtol=1e-12)
    pd.testing.assert_frame_equal(gm.intervals, ref.intervals, check_dtype=False, rtol=1e-12)
    assert gm.notes == ref.notes
    known = DF["sex"].notna()
    mf = MetricFrame(metrics={"sel": selection_rate, "tpr": true_positive_rate},
                     y_true=DF.loc[known, "y_true"], y_pred=DF.loc[known, "y_pred"],
                     sensitive_features=DF.loc[known, "sex"])
    for g in ("female", "male"):
        assert gm.by_group.loc[g, "selection_rate"] == pytest.approx(mf.by_group.loc[g, "sel"], abs=1e-15)
        assert gm.by_group.loc[g, "true_positive_rate"] == pytest.approx(mf.by_group.loc[g, "tpr"], abs=1e-15)


def test_redact_hides_the_password():
    assert redact("postgresql://ann:s3cret@db:5432/x") == "postgresql://ann:***@db:5432/x"
    assert redact("postgresql://ann@db/x") == "postgresql://ann@db/x"


def test_bad_sources_say_one_sentence(tmp_path, postgres_server):
    from tests._postgres import free_port

    closed = f"postgresql://ann:s3cret@127.0.0.1:{free_port()}/postgres"
    with pytest.raises(IngestError, match="Could not connect") as err:
        open_source(closed, table="t")
    assert "s3cret" not in str(err.value) and "***" in str(err.value)
    with pytest.raises(IngestError, match="no table 'nope'"):
        open_source(postgres_server, table="nope")
    with pytest.raises(IngestError, match="query failed"):
        open_source(postgres_server, sql="SELEC 1")
    with pytest.raises(IngestError, match="needs a database URL"):
        open_source(tmp_path / "x.parquet", sql="SELECT 1")
    path = tmp_path / "x.parquet"
    DF.to_parquet(path)
    with pytest.raises(IngestError, match="is a file"):
        open_source(path, table="t")
    with pytest.raises(AuditError, match="Column 'nope' is not in"):
        group_metrics_parquet(path, y_true="nope", y_pred="y_pred", sensitive="sex")
