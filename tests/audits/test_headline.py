"""Intervals valid at zero counts (checked by simulation and against Newcombe's published table) and the
headline on adequate groups (small groups and groups without the counts a metric needs are left out, named).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference

from glasswing.audits import group_metrics
from glasswing.audits._intervals import katz_ratio, newcombe_difference


@pytest.mark.parametrize(("counts", "expected"), [
    # Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
])
def test_newcombe_matches_the_published_table(counts, expected):
    lo, hi = newcombe_difference(*counts)
    assert (round(float(lo), 4), round(float(hi), 4)) == expected


def test_katz_ratio_matches_the_log_formula_by_hand():
    # 10/40 over 20/50: log(0.625) +- 1.96 * sqrt(1/10 - 1/40 + 1/20 - 1/50)
    se = np.sqrt(1 / 10 - 1 / 40 + 1 / 20 - 1 / 50)
    lo, hi = katz_ratio(10, 40, 20, 50)
    assert float(lo) == pytest.approx(0.625 * np.exp(-1.959964 * se), rel=1e-6)
    assert float(hi) == pytest.approx(0.625 * np.exp(1.959964 * se), rel=1e-6)
    lo0, hi0 = katz_ratio(0, 32, 30, 100)  # no positive predictions: an interval, not a point
    assert 0 < lo0 < hi0 and hi0 - lo0 > 0.1


def _simulated_audits(k=2000, seed=7):
    rng = np.random.default_rng(seed)
    n1, n2 = rng.integers(5, 60, k), rng.integers(30, 300, k)
    p1, p2 = rng.uniform(0.0, 0.3, k), rng.uniform(0.05, 0.6, k)
    p1[: k // 4] = 0.0  # a quarter of the small groups can never be selected
    return n1, n2, p1, p2, rng.binomial(n1, p1), rng.binomial(n2, p2)


def test_difference_intervals_cover_in_small_groups_with_zero_counts():
    n1, n2, p1, p2, x1, x2 = _simulated_audits()
    assert (x1 == 0).mean() > 0.3  # many simulated groups have no positive predictions at all
    lo, hi = newcombe_difference(x1, n1, x2, n2)
    covered = (lo <= p1 - p2) & (p1 - p2 <= hi)
    assert covered.mean() >= 0.93
    assert covered[x1 == 0].mean() >= 0.93  # and where the small group's count is zero
    # a percentile bootstrap of the same audits collapses there (width 0 for the zero cell's rate)
    assert (hi - lo)[x1 == 0].min() > 0.02


def test_ratio_intervals_cover_where_the_true_ratio_is_positive():
    n1, n2, p1, p2, x1, x2 = _simulated_audits(seed=11)
    lo, hi = katz_ratio(x1, n1, x2, n2)
    positive = p1 > 0  # a ratio interval on the log scale cannot contain a true ratio of 0
    r = p1 / p2
    covered = (lo <= r) & (r <= hi)
    assert covered[positive].mean() >= 0.93
    assert np.isfinite(hi).all() and (lo > 0).all()


def _tiny_group_audit():
    """Two large groups with a real gap, and a 12-row group that is never selected."""
    rng = np.random.default_rng(0)
    groups = np.array(["A"] * 800 + ["B"] * 700 + ["C"] * 12)
    y = rng.integers(0, 2, len(groups))
    rate = np.where(groups == "A", 0.6, np.where(groups == "B", 0.4, 0.0))
    pred = (rng.random(len(groups)) < rate).astype(int)
    return y, pred, groups


def test_headline_leaves_out_the_small_group_and_names_it():
    y, pred, groups = _tiny_group_audit()
    gm = group_metrics(y, pred, groups)
    # the plain values stay fairlearn's (the tiny group drives them)
    assert gm.summary()["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y, pred, sensitive_features=groups), abs=1e-12)
    assert gm.summary()["demographic_parity_ratio"] == 0.0
    head = gm.headline()
    a, b = (pred[groups == g].mean() for g in ("A", "B"))
    assert head.summary["demographic_parity_difference"] == pytest.approx(a - b, abs=1e-12)
    assert head.summary["demographic_parity_ratio"] == pytest.approx(b / a, abs=1e-12)
    assert head.groups["demographic_parity"] == ["A", "B"]
    assert head.left_out[["label", "n", "selection_rate"]].to_dict("records") == [
        {"label": "C", "n": 12, "selection_rate": 0.0}]
    assert "C (n = 12)" in head.sentence and "sensitive_feature_0=B" in head.sentence
    assert "0.00 to 0.00" not in " ".join(gm.findings())
    # put back on request: then the zero group is compared, with an honest interval (not a point)
    back = gm.headline(include_small_groups=True)
    assert back.summary["demographic_parity_ratio"] == 0.0
    row = back.disparities.loc["demographic_parity_ratio"]
    assert row["high"] - row["low"] > 0.01


def test_a_tpr_needs_positives_and_precision_needs_positive_predictions():
    y = np.array([1, 0] * 50 + [0] * 40 + [1, 0] * 40)
    pred = np.array([1, 0, 0, 1] * 25 + [1] * 40 + [0] * 80)
    groups = np.array(["A"] * 100 + ["B"] * 40 + ["C"] * 80)
    head = group_metrics(y, pred, groups).headline()
    assert head.groups["equal_opportunity"] == ["A", "C"]  # B has no actual positives
    assert head.groups["predictive_parity"] == ["A", "B"]  # C has no positive predictions
    reasons = dict(zip(head.left_out["label"], head.left_out["reason"], strict=True))
    assert reasons == {"B": "no actual positives", "C": "no positive predictions"}


def test_undefined_rates_are_words_never_nan():
    y, pred, groups = _tiny_group_audit()
    gm = group_metrics(y, pred, groups)
    table = gm.table(["precision"])
    assert table.loc["C", "Precision (PPV)"] == "undefined"
    text = " ".join(gm.findings()) + " ".join(map(str, gm.disparity_table().to_numpy().ravel()))
    assert "nan" not in text


def test_decision_rule_and_confusion_counts():
    y, pred, groups = _tiny_group_audit()
    gm = group_metrics(y, pred, groups)
    rule = gm.decision_rule()
    frame = pd.DataFrame({"y": y, "p": pred, "g": groups})
    a = frame[frame.g == "A"]
    expected = {"TP": int(((a.y == 1) & (a.p == 1)).sum()), "FP": int(((a.y == 0) & (a.p == 1)).sum()),
                "FN": int(((a.y == 1) & (a.p == 0)).sum()), "TN": int(((a.y == 0) & (a.p == 0)).sum())}
    assert {k: rule["confusion"][0][k] for k in expected} == expected
    assert rule["accuracy"] == pytest.approx((y == pred).mean())
    assert rule["favourable"] == 1 and rule["threshold"] is None
