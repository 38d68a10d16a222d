"""``glasswing audit --model A --compare-model B``: the paired comparison on the command line."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from glasswing._paths import sample_dir
from glasswing.audits import group_metrics
from glasswing.cli import main


def test_compare_model_prints_and_writes_the_paired_comparison(tmp_path, capsys):
    samples = sample_dir()
    out = tmp_path / "audit.json"
    code = main(["audit", "--data", str(samples / "german_test_predictions.csv"),
                 "--model", str(samples / "models" / "german_gbm.skops"),
                 "--compare-model", str(samples / "models" / "german_logreg.skops"),
                 "--target", "risk", "--sensitive", "sex", "--compare-resamples", "200", "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "Model comparison: B = german_logreg.skops against A = german_gbm.skops" in printed
    assert "Paired bootstrap: 200 resamples of the 300 rows" in printed
    block = json.loads(out.read_text())["compare"]
    assert block["paired"] is True and block["n_boot"] == 200 and block["rows"] == 300
    # The shipped file holds both models' predictions: the differences equal those of two plain audits.
    frame = pd.read_csv(samples / "german_test_predictions.csv")
    gm_a = group_metrics(frame["risk"], frame["gbm_pred"], frame["sex"])
    gm_b = group_metrics(frame["risk"], frame["logreg_pred"], frame["sex"])
    rows = {(r["group"], r["metric"]): r for r in block["by_group"]}
    for g in ("female", "male"):
        for m in ("selection_rate", "true_positive_rate", "false_positive_rate", "accuracy"):
            expected = gm_b.by_group.loc[g, m] - gm_a.by_group.loc[g, m]
            assert rows[(g, m)]["difference"] == pytest.approx(expected, abs=1e-12)
            assert rows[(g, m)]["low"] <= rows[(g, m)]["difference"] <= rows[(g, m)]["high"]
    dp = next(d for d in block["disparities"] if d["name"] == "demographic_parity_difference")
    assert dp["a"] == pytest.approx(gm_a.summary()["demographic_parity_difference"])
    assert dp["b"] == pytest.approx(gm_b.summary()["demographic_parity_difference"])


def test_compare_model_needs_model(tmp_path, capsys):
    samples = sample_dir()
    code = main(["audit", "--data", str(samples / "german_test_predictions.csv"), "--prediction", "gbm_pred",
                 "--compare-model", str(samples / "models" / "german_logreg.skops"),
                 "--target", "risk", "--sensitive", "sex"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == ("glasswing: error: --compare-model needs --model: the comparison scores both "
                           "models on the same rows.")
