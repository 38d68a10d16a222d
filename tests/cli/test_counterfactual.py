"""``glasswing counterfactual``: the CSV of changed features, the burden by group, and bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from glasswing.audits import _burden
from glasswing.cli import main
from glasswing.commands import counterfactual as cmd
from glasswing.explainers import _counterfactual as cf
from glasswing.ingest import samples
from tests.conftest import SAMPLES

MODEL = str(SAMPLES / "models" / "german_logreg.skops")
DATA = str(SAMPLES / "german_test_predictions.csv")


def test_every_counterfactual_in_the_csv_flips_the_model_and_keeps_the_constraints(tmp_path, capsys):
    out = tmp_path / "cf.csv"
    code = main(["counterfactual", "--model", MODEL, "--data", DATA, "--rows", "1:3", "--immutable", "sex",
                 "age", "--increase-only", "duration", "--count", "2", "--out", str(out)])
    assert code == 0
    table = pd.read_csv(out, dtype={"counterfactual": str})
    frame = pd.read_csv(DATA)
    pipe = samples.german_model("logreg").estimator
    features = list(pipe.feature_names_in_)
    assert "sex" not in table.columns and "age" not in table.columns
    assert list(table.columns[-3:]) == ["distance", "prediction", "probability"]
    checked = 0
    for (row, kind), line in table.set_index(["row", "counterfactual"]).iterrows():
        original = frame.loc[[row], features].copy()
        if kind == "original":
            assert line["prediction"] == pipe.predict(original)[0]
            continue
        changed = original.copy()
        for column in table.columns[2:-3]:
            if pd.notna(line[column]):
                changed[column] = type(original[column].iloc[0])(line[column]) \
                    if not isinstance(original[column].iloc[0], str) else line[column]
        assert pipe.predict(changed)[0] != pipe.predict(original)[0]  # scored by scikit-learn: it flips
        assert pipe.predict(changed)[0] == line["prediction"]
        assert changed["duration"].iloc[0] >= original["duration"].iloc[0]
        checked += 1
    assert checked >= 2
    printed = capsys.readouterr().out
    assert cf.DISTANCE in printed and f"wrote {out}" in printed


def test_burden_by_group_counts_the_rows_the_model_refuses(tmp_path, capsys):
    out = tmp_path / "burden.csv"
    code = main(["counterfactual", "--model", MODEL, "--data", DATA, "--rows", "0:80", "--burden",
                 "--sensitive", "sex", "--min-group-size", "5", "--out", str(out)])
    assert code == 0
    table = pd.read_csv(out)
    frame = pd.read_csv(DATA).iloc[:80]
    pipe = samples.german_model("logreg").estimator
    refused = frame[pipe.predict(frame[list(pipe.feature_names_in_)]) == 0]
    expected = refused["sex"].value_counts().sort_index()
    assert table["group"].tolist() == expected.index.tolist()
    assert table["n_unfavourable"].tolist() == expected.tolist()
    assert (table["n_found"] + table["n_not_found"] == table["n_unfavourable"]).all()
    assert ((table["low"] <= table["burden"]) & (table["burden"] <= table["high"])).all()
    printed = capsys.readouterr()
    assert "Recourse burden over" in printed.out and "Searched" in printed.err


@pytest.mark.parametrize(("args", "message"), [
    (["--rows", "0", "--out", "x.txt"], cmd.OUT_SUFFIX.format(out="x.txt")),
    (["--out", "x.csv"], cmd.NEEDS_ROWS),
    (["--burden", "--out", "x.csv"], cmd.BURDEN_NEEDS_SENSITIVE),
    (["--rows", "0", "--range", "duration=6", "--out", "x.csv"], cmd.BAD_RANGE.format(text="duration=6")),
    (["--rows", "0", "--immutable", "salary", "--out", "x.csv"], cf.UNKNOWN_FEATURE.format(
        name="salary", what="immutable", features="sex, job, housing, saving_accounts, checking_account, "
                                                   "credit_amount, duration, purpose, age")),
    (["--rows", "0", "--desired", "1", "--out", "x.csv"], cf.ALREADY.format(row=0, predicted=1)),
    (["--rows", "0", "--burden", "--sensitive", "sex", "--out", "x.csv"],
     _burden.NO_UNFAVOURABLE.format(favourable=1)),
])
def test_bad_input_is_one_sentence_and_exit_code_2(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["counterfactual", "--model", MODEL, "--data", DATA, *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"glasswing: error: {message}"]


def test_an_image_model_is_refused(tmp_path, capsys):
    image_model = str(SAMPLES / "models" / "digits_cnn.safetensors")
    code = main(["counterfactual", "--model", image_model, "--data", DATA, "--rows", "0", "--out",
                 str(tmp_path / "x.csv")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    expected = cf.NOT_TABULAR.format(name="digits_cnn.safetensors", modality="image")
    assert err == f"glasswing: error: {expected}"
