"""``glasswing errors``: the planted cohort from a CSV, a model's errors, per-cohort fairness, bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference

from glasswing.audits import _errors
from glasswing.cli import main
from glasswing.commands import errors
from glasswing.ingest import samples
from tests.audits.test_errors import planted
from tests.conftest import SAMPLES


@pytest.fixture
def planted_csv(tmp_path):
    frame, cohort = planted(0)
    path = tmp_path / "planted.csv"
    frame.to_csv(path, index=False)
    return path, frame, cohort


def test_finds_the_planted_cohort_and_writes_json(planted_csv, tmp_path, capsys):
    path, frame, cohort = planted_csv
    out = tmp_path / "errors.json"
    code = main(["errors", "--data", str(path), "--prediction", "pred", "--target", "y",
                 "--features", "age", "region", "income", "--json", str(out)])
    assert code == 0
    wrong = (frame["y"] != frame["pred"]).to_numpy()
    stdout = capsys.readouterr().out
    lines = stdout.splitlines()
    first = lines[lines.index("Cohorts, highest error rate first:") + 3]
    assert first.endswith("  age > 60 and region = north")
    assert first.split()[0] == f"{wrong[cohort].mean():.3f}"
    payload = json.loads(out.read_text())
    top = payload["cohorts"][0]
    assert top["rule"] == "age > 60 and region = north"
    assert (top["n"], top["errors"]) == (int(cohort.sum()), int(wrong[cohort].sum()))
    assert top["error_rate"] == wrong[cohort].sum() / cohort.sum()
    assert payload["errors"] == int(wrong.sum()) and payload["features"] == ["age", "region", "income"]
    assert payload["data"]["name"] == "planted.csv" and len(payload["data"]["sha256"]) == 64
    assert stdout.rstrip().endswith(f"Wrote {out}")


def test_a_models_errors_and_the_fairness_audit_per_cohort(tmp_path, capsys):
    out = tmp_path / "e.json"
    code = main(["errors", "--data", str(SAMPLES / "german.csv"), "--model",
                 str(SAMPLES / "models" / "german_gbm.skops"), "--target", "risk", "--sensitive", "sex",
                 "--json", str(out)])
    assert code == 0
    assert "Fairness audit by sex inside each cohort" in capsys.readouterr().out
    frame = pd.read_csv(SAMPLES / "german.csv")
    predicted = samples.german_model("gbm").predict(frame)
    payload = json.loads(out.read_text())
    assert payload["errors"] == int((predicted != frame["risk"]).sum())
    assert payload["model"]["name"] == "german_gbm.skops"
    for cohort, row in zip(payload["cohorts"], payload["fairness_by_cohort"], strict=True):
        conditions = tuple(_errors.Condition(c["feature"], c["op"], c["value"], c["or_missing"])
                           for c in cohort["conditions"])
        mask = _errors.Cohort(0, None, conditions, 0, 0, 0, 0, 0, 0, 0, True).mask(frame)
        assert row["cohort"] == cohort["rule"] and row["n"] == mask.sum()
        assert row["demographic_parity_difference"] == pytest.approx(demographic_parity_difference(
            frame["risk"][mask], predicted[mask], sensitive_features=frame["sex"][mask]))


def test_no_errors_is_one_sentence_and_exit_2(planted_csv, tmp_path, capsys):
    path, frame, _ = planted_csv
    same = tmp_path / "perfect.csv"
    frame.assign(pred=frame["y"]).to_csv(same, index=False)
    code = main(["errors", "--data", str(same), "--prediction", "pred", "--target", "y"])
    assert code == 2
    assert capsys.readouterr().err == ("glasswing: error: " + _errors.NO_ERRORS.format(n=len(frame)) + "\n")


def test_scores_at_a_threshold(tmp_path):
    out = tmp_path / "e.json"
    frame = pd.read_csv(SAMPLES / "compas-scores-two-years.csv")
    code = main(["errors", "--data", str(SAMPLES / "compas-scores-two-years.csv"), "--score", "decile_score",
                 "--threshold", "5", "--target", "two_year_recid", "--features", "race", "sex", "age",
                 "priors_count", "--json", str(out)])
    assert code == 0
    payload = json.loads(out.read_text())
    predicted = (frame["decile_score"] >= 5).astype(int)
    assert payload["errors"] == int((predicted != frame["two_year_recid"]).sum())
    assert payload["source"] == "logged scores (column decile_score) at threshold 5"


@pytest.mark.parametrize(("extra", "message"), [
    (["--score", "income"], errors.SCORE_NEEDS_THRESHOLD),
    (["--prediction", "pred", "--model", "m.skops"], errors.NEEDS_ONE_SOURCE),
    ([], errors.NEEDS_SOURCE),
    (["--prediction", "pred", "--json", "no/such/folder/e.json"], None),
    (["--prediction", "pred", "--max-depth", "0"], _errors.BAD_DEPTH.format(most=10, value=0)),
    (["--prediction", "pred", "--features", "y"], _errors.FEATURE_IS_OUTCOME.format(
        column="y", role="target", columns="age, region, income, sex")),
])
def test_bad_input_is_one_line_on_stderr(planted_csv, capsys, extra, message):
    path, _, _ = planted_csv
    code = main(["errors", "--data", str(path), "--target", "y", *extra])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    if message is None:
        assert err.startswith("glasswing: error: The folder for --json does not exist: ")
    else:
        assert err == f"glasswing: error: {message}\n"


def test_listed_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "errors" in capsys.readouterr().out
