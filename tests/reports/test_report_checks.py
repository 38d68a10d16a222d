"""Report sections: the fairness check, confusion matrices by group, a second model, checked independently."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from scipy.stats import norm
from sklearn.metrics import accuracy_score, confusion_matrix, precision_score

from glasswing import audits
from glasswing.ingest import samples
from glasswing.reports import Report, ReportError, build_report, render_html, render_pdf
from glasswing.reports._build import NEEDS_GROUP_METRICS

N_BOOT = 200
METRICS = {"selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
           "false_positive_rate": false_positive_rate, "accuracy": accuracy_score,
           "precision": lambda y, p: precision_score(y, p, zero_division=0)}


@pytest.fixture(scope="module")
def german():
    data = samples.german_dataset("test")
    a, b = samples.german_model("gbm"), samples.german_model("logreg")
    sex = data.frame["sex"].to_numpy()
    y = data.y_true.to_numpy()
    return data, a, b, y, a.predict(data.X), b.predict(data.X), sex


@pytest.fixture(scope="module")
def report(german):
    data, a, b, *_ = german
    gm = audits.audit_dataset(data, a)
    cmp = audits.compare_models(data, a, b, n_boot=N_BOOT, seed=0)
    return build_report(data, a, metrics=gm, fairness_check=True, confusion_matrices=True, comparison=cmp)


@pytest.fixture(scope="module")
def pdf_text(report) -> str:
    from pypdf import PdfReader

    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(render_pdf(report))).pages)


def _between(text: str, start: str, end: str) -> str:
    assert start in text and end in text.split(start, 1)[1], (start, end)
    return text.split(start, 1)[1].split(end, 1)[0]


def _katz(x1, n1, x2, n2):
    """Katz's log interval of (x1 / n1) / (x2 / n2), by hand."""
    z = norm.ppf(0.975)
    ratio = (x1 / n1) / (x2 / n2)
    se = np.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    return ratio * np.exp(-z * se), ratio * np.exp(z * se)


def test_fairness_check_section_has_fairlearns_ratios_to_the_largest_group(german, pdf_text):
    data, _, _, y, pred, _, sex = german
    section = _between(pdf_text, "Fairness check: ratios to male", "Confusion matrix by group")
    mf = MetricFrame(metrics=METRICS, y_true=y, y_pred=pred, sensitive_features=sex)
    assert (sex == "male").sum() > (sex == "female").sum()  # the reference: the largest group
    for metric in METRICS:
        ratio = mf.by_group.loc["female", metric] / mf.by_group.loc["male", metric]
        assert f"{ratio:.3f}" in section, metric
        assert f"{mf.by_group.loc['male', metric]:.3f}" in section, metric  # the reference's own rate
    # The selection rate's Katz interval, by hand from the counts.
    f, m = sex == "female", sex == "male"
    low, high = _katz(pred[f].sum(), f.sum(), pred[m].sum(), m.sum())
    assert f"{low:.2f}–{high:.2f}" in section
    ratios = mf.by_group.loc["female"] / mf.by_group.loc["male"]
    assert ((ratios >= 0.8) & (ratios <= 1.25)).all()
    assert "Every group with at least 30 rows is within 0.8 to 1.25 times male's rate" in " ".join(
        section.split())
    assert "0.80 to 1.25" in section


def test_confusion_section_has_sklearns_matrices(german, pdf_text):
    _, _, _, y, pred, _, sex = german
    section = _between(pdf_text, "Confusion matrix by group", "Compared with a second model")
    for group in ("female", "male"):
        rows = sex == group
        (tn, fp), (fn, tp) = confusion_matrix(y[rows], pred[rows], labels=[0, 1])
        (tnr, fpr), (fnr, tpr) = confusion_matrix(y[rows], pred[rows], labels=[0, 1], normalize="true")
        assert f"{group} · n = {rows.sum()}" in section
        for cell, count, rate in (("TP", tp, tpr), ("FN", fn, fnr), ("FP", fp, fpr), ("TN", tn, tnr)):
            assert f"{cell} {count} ({rate:.3f})" in section, (group, cell)


def test_comparison_section_has_fairlearns_rates_and_a_paired_bootstrap_by_hand(german, pdf_text):
    data, a, b, y, pa, pb, sex = german
    section = " ".join(_between(pdf_text, "Compared with a second model", "Reviewer notes").split())
    assert f"B = {b.name}, A = {a.name}" in section
    mfa = MetricFrame(metrics=METRICS, y_true=y, y_pred=pa, sensitive_features=sex)
    mfb = MetricFrame(metrics=METRICS, y_true=y, y_pred=pb, sensitive_features=sex)
    for group in ("female", "male"):
        for metric in ("selection_rate", "true_positive_rate", "false_positive_rate", "accuracy"):
            va, vb = mfa.by_group.loc[group, metric], mfb.by_group.loc[group, metric]
            assert f"{va:.3f} {vb:.3f} {vb - va:+.3f}" in section, (group, metric)
    dpa = demographic_parity_difference(y, pa, sensitive_features=sex)
    dpb = demographic_parity_difference(y, pb, sensitive_features=sex)
    assert f"{dpa:.3f} {dpb:.3f} {dpb - dpa:+.3f}" in section
    # The paired bootstrap of the women's selection-rate change, by hand: the same resampled rows for both.
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(N_BOOT):
        idx = rng.integers(0, len(y), len(y))
        women = sex[idx] == "female"
        diffs.append(pb[idx][women].mean() - pa[idx][women].mean())
    low, high = np.quantile(diffs, [0.025, 0.975])
    d = mfb.by_group.loc["female", "selection_rate"] - mfa.by_group.loc["female", "selection_rate"]
    assert f"{d:+.3f} ({low:+.3f} to {high:+.3f})" in section
    assert f"{N_BOOT} resamples" in section


def test_html_has_the_three_sections_with_their_charts(report, german):
    html = render_html(report)
    for title in ("Fairness check: ratios to male", "Confusion matrix by group",
                  "Compared with a second model"):
        assert title in html
    assert html.count('alt="Fairness check: ratios to the reference group"') == 1
    assert html.count('alt="Change by group, B minus A"') == 1
    data, model = german[0], german[1]
    plain = render_html(build_report(data, model, metrics=audits.audit_dataset(data, model)))
    assert "Fairness check" not in plain and "Confusion matrix by group" not in plain
    assert "Compared with a second model" not in plain


def test_sections_survive_json_and_a_saved_audit_dict_says_what_to_pass(report, german):
    again = Report.from_dict(json.loads(report.to_json()))
    assert again.fairness_check == report.fairness_check and again.confusion == report.confusion
    assert again.comparison == report.comparison and "audit_a" not in again.comparison
    data, a = german[0], german[1]
    with pytest.raises(ReportError) as err:
        build_report(data, a, metrics=audits.audit_dataset(data, a).to_dict(), fairness_check=True)
    assert str(err.value) == NEEDS_GROUP_METRICS.format(what="fairness check")
