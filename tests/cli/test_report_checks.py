"""``glasswing report --fairness-check --confusion-matrices --compare-model FILE``, checked independently."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, demographic_parity_difference, selection_rate, true_positive_rate
from sklearn.metrics import confusion_matrix

from glasswing._paths import sample_dir
from glasswing.cli import main
from glasswing.commands._compare import NEEDS_MODEL
from glasswing.reports import Report, render_html

SAMPLES = sample_dir()
DATA = SAMPLES / "german_test_predictions.csv"


def _report(tmp_path, out_name, *extra):
    out = tmp_path / out_name
    code = main(["report", "--data", str(DATA), "--model", str(SAMPLES / "models" / "german_gbm.skops"),
                 "--target", "risk", "--sensitive", "sex", "--out", str(out), *extra])
    return code, out


def test_the_three_sections_in_the_json_and_html(tmp_path):
    extra = ["--fairness-check", "--confusion-matrices", "--compare-model",
             str(SAMPLES / "models" / "german_logreg.skops"), "--compare-resamples", "200"]
    code, out = _report(tmp_path, "audit.json", *extra)
    assert code == 0
    report = json.loads(out.read_text())
    # The shipped file holds both models' predictions: fairlearn and sklearn on those columns.
    frame = pd.read_csv(DATA)
    y, a, b, sex = frame["risk"], frame["gbm_pred"], frame["logreg_pred"], frame["sex"]
    mf = MetricFrame(metrics={"selection_rate": selection_rate, "true_positive_rate": true_positive_rate},
                     y_true=y, y_pred=a, sensitive_features=sex)
    check = report["fairness_check"]
    assert check["reference"] == "male"  # the largest group
    for r in check["ratios"]:
        if r["metric"] in mf.by_group:
            expected = mf.by_group.loc["female", r["metric"]] / mf.by_group.loc["male", r["metric"]]
            assert r["ratio"] == pytest.approx(expected, abs=1e-12)
    for c in report["confusion"]:
        rows = sex == c["group"]
        (tn, fp), (fn, tp) = confusion_matrix(y[rows], a[rows], labels=[0, 1])
        assert c["counts"] == {"TP": tp, "FN": fn, "FP": fp, "TN": tn}
    cmp = report["comparison"]
    assert (cmp["model_a"], cmp["model_b"], cmp["n_boot"], cmp["rows"]) == (
        "german_gbm.skops", "german_logreg.skops", 200, len(frame))
    dp = next(d for d in cmp["disparities"] if d["name"] == "demographic_parity_difference")
    assert dp["a"] == pytest.approx(demographic_parity_difference(y, a, sensitive_features=sex), abs=1e-12)
    assert dp["b"] == pytest.approx(demographic_parity_difference(y, b, sensitive_features=sex), abs=1e-12)
    text = render_html(Report.from_dict(report))  # what --out audit.html writes from the same report
    assert "Fairness check: ratios to male" in text and "Confusion matrix by group" in text
    assert "Compared with a second model: B = german_logreg.skops, A = german_gbm.skops" in text


def test_without_the_flags_the_report_has_none_of_them(tmp_path):
    code, out = _report(tmp_path, "plain.json")
    report = json.loads(out.read_text())
    assert code == 0 and report["fairness_check"] is None and report["confusion"] is None
    assert report["comparison"] is None


def test_compare_model_without_model_is_one_sentence(tmp_path, capsys):
    code = main(["report", "--data", str(DATA), "--prediction", "gbm_pred", "--target", "risk",
                 "--sensitive", "sex", "--compare-model", str(SAMPLES / "models" / "german_logreg.skops"),
                 "--out", str(tmp_path / "a.json")])
    assert code == 2
    assert capsys.readouterr().err.strip() == f"glasswing: error: {NEEDS_MODEL}"
    assert not (tmp_path / "a.json").exists()
