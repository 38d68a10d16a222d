"""``glasswing mitigate``: the JSON against fairlearn's metrics, the exported model, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference

from glasswing.audits import NO_EXPORT
from glasswing.cli import main
from glasswing.commands import mitigate
from glasswing.ingest import load_model
from tests.conftest import SAMPLES


def test_uniform_sampling_writes_the_json_and_a_model_that_loads_back(tmp_path, capsys):
    out, model_file = tmp_path / "run.json", tmp_path / "mitigated.skops"
    code = main(["mitigate", "--data", str(SAMPLES / "german_train.csv"), "--test",
                 str(SAMPLES / "german_test_predictions.csv"), "--target", "risk", "--sensitive", "sex",
                 "--method", "uniform_sampling", "--json", str(out), "--out-model", str(model_file)])
    assert code == 0
    payload = json.loads(out.read_text())
    assert set(payload) >= {"method", "params", "before", "after", "seconds"}
    assert payload["method"] == "uniform_sampling" and payload["params"] == {"seed": 0}
    assert payload["changes"] == "the data (rows resampled)"
    test = pd.read_csv(SAMPLES / "german_test_predictions.csv")
    loaded = load_model(model_file)  # the safe loader reads the exported model
    after = demographic_parity_difference(test["risk"], loaded.predict(test), sensitive_features=test["sex"])
    assert payload["after"]["summary"]["demographic_parity_difference"] == pytest.approx(after, abs=1e-12)
    accuracy = np.mean(loaded.predict(test) == test["risk"])
    assert payload["after"]["overall"]["accuracy"] == pytest.approx(accuracy)
    assert "auc" in payload["before"]["overall"] and "auc" in payload["after"]["overall"]
    text = capsys.readouterr().out
    assert "demographic parity difference" in text and "Uniform sampling (demographic parity)" in text


def test_without_test_file_the_split_is_stated(tmp_path, capsys):
    code = main(["mitigate", "--data", str(SAMPLES / "german_train.csv"), "--target", "risk",
                 "--sensitive", "sex", "--method", "reweighing"])
    assert code == 0
    assert "no --test: a stratified 30% of german_train.csv held out (seed 0)" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["--method", "massage"], mitigate.UNKNOWN_METHOD.format(
        method="massage", valid="reweighing, threshold_optimizer, exponentiated_gradient, uniform_sampling, "
                                "preferential_sampling, correlation_remover, adversarial, fair_loss, "
                                "review_band")),
    (["--method", "fair_loss", "--param", "lam"], mitigate.BAD_PARAM.format(text="lam")),
    (["--method", "fair_loss", "--param", "lambda=2"],
     "Fairness-regularised loss has no parameter 'lambda'; its parameters are: lam, architecture, epochs, "
     "batch_size, learning_rate."),
    (["--method", "reweighing", "--test-size", "1.5"], mitigate.TEST_SIZE.format(value=1.5)),
])
def test_bad_input_is_one_sentence_and_exit_code_2(capsys, argv, message):
    code = main(["mitigate", "--data", str(SAMPLES / "german_train.csv"), "--target", "risk",
                 "--sensitive", "sex", *argv])
    assert code == 2
    assert capsys.readouterr().err.strip() == f"glasswing: error: {message}"


def test_out_model_suffix_must_match_the_format(tmp_path, capsys):
    code = main(["mitigate", "--data", str(SAMPLES / "german_train.csv"), "--target", "risk",
                 "--sensitive", "sex", "--method", "reweighing", "--out-model", str(tmp_path / "m.onnx")])
    assert code == 2
    assert capsys.readouterr().err.strip() == "glasswing: error: " + mitigate.WRONG_SUFFIX.format(
        suffix=".skops", label="Reweighing", kind="skops", out=tmp_path / "m.onnx")
    code = main(["mitigate", "--data", str(SAMPLES / "german_train.csv"), "--target", "risk",
                 "--sensitive", "sex", "--method", "threshold_optimizer", "--out-model", str(tmp_path / "m")])
    assert code == 2
    assert capsys.readouterr().err.strip() == "glasswing: error: " + NO_EXPORT["threshold_optimizer"]


def test_review_band_routes_the_rows_near_the_threshold(tmp_path, capsys):
    out = tmp_path / "band.json"
    model_file = SAMPLES / "models" / "german_logreg.skops"
    code = main(["mitigate", "--data", str(SAMPLES / "german_train.csv"), "--test",
                 str(SAMPLES / "german_test_predictions.csv"), "--target", "risk", "--sensitive", "sex",
                 "--model", str(model_file), "--method", "review_band", "--param", "width=0.2",
                 "--json", str(out)])
    assert code == 0
    payload = json.loads(out.read_text())
    test = pd.read_csv(SAMPLES / "german_test_predictions.csv")
    score = load_model(model_file).predict_proba(test)[:, 1]
    near = np.abs(score - 0.5) <= 0.1  # the band 0.4 to 0.6, counted by hand
    assert payload["share_reviewed"] == pytest.approx(near.mean())
    assert payload["params"] == {"threshold": 0.5, "width": 0.2}
    kept = ~near
    decided = (score[kept] >= 0.5).astype(int)
    assert payload["after"]["overall"]["n"] == kept.sum()
    assert payload["after"]["overall"]["selection_rate"] == pytest.approx(decided.mean())
    assert "go to review" in capsys.readouterr().out
