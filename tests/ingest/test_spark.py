"""The Spark starter: a session that computes what pandas computes, and one sentence when Java is missing."""

import pandas as pd

from glasswing.ingest import IngestError, _spark


def test_a_local_session_counts_what_pandas_counts(spark):
    frame = pd.DataFrame({"g": ["a", "b", "a", "c", "a"], "y": [1, 0, 1, 1, 0]})
    got = spark.createDataFrame(frame).groupBy("g").sum("y").toPandas().set_index("g")["sum(y)"].sort_index()
    assert got.to_dict() == frame.groupby("g")["y"].sum().to_dict() == {"a": 2, "b": 0, "c": 1}
    assert spark.conf.get("spark.ui.enabled") == "false"


def test_no_java_is_one_sentence_and_starts_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no java on PATH
    monkeypatch.delenv("JAVA_HOME", raising=False)
    try:
        _spark.spark_session("local[1]")
    except IngestError as exc:
        assert str(exc) == _spark.JAVA_MISSING
        assert "apt install openjdk-17-jre-headless" in str(exc)
    else:
        raise AssertionError("a session started without Java")
