"""Group metrics against fairlearn's MetricFrame, sklearn and hand-computed cases; errors by exact text."""

from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equal_opportunity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_negative_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, brier_score_loss, precision_score, roc_auc_score

from glasswing import audits
from glasswing.audits import AuditError, GroupMetrics, group_metrics, threshold_sweep, wilson_interval
from glasswing.audits import _validate as v
from glasswing.audits._metrics import NEED_THRESHOLD
from glasswing.audits._result import BAD_METHOD, UNKNOWN_GROUP

FAIRLEARN = {
    "selection_rate": selection_rate,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
    "false_negative_rate": false_negative_rate,
    "true_negative_rate": true_negative_rate,
    "precision": functools.partial(precision_score, zero_division=0),
    # NPV is the precision of the negative class.
    "negative_predictive_value": functools.partial(precision_score, pos_label=0, zero_division=0),
    "accuracy": accuracy_score,
    "base_rate": lambda y_true, y_pred, sample_weight=None: np.average(y_true, weights=sample_weight),
}
SUMMARY = {
    "demographic_parity_difference": demographic_parity_difference,
    "demographic_parity_ratio": demographic_parity_ratio,
    "equalized_odds_difference": equalized_odds_difference,
    "equalized_odds_ratio": equalized_odds_ratio,
    "equal_opportunity_difference": equal_opportunity_difference,
    "equal_opportunity_ratio": equal_opportunity_ratio,
}


def random_case(seed: int, n: int, weighted: bool, two_features: bool):
    """Random labels and groups; one group never has a positive, one never gets a positive prediction."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = (rng.random(n) < np.where(y == 1, 0.7, 0.3)).astype(int)
    a = rng.choice(["x", "y", "z", "w"], n, p=[0.4, 0.3, 0.2, 0.1])
    y[a == "z"] = 0  # no positives: TPR and FNR undefined
    p[a == "w"] = 0  # no positive predictions: precision undefined
    sf = pd.DataFrame({"a": a, "b": rng.choice([1, 2, 3], n)}) if two_features else pd.Series(a, name="a")
    w = rng.random(n) * 3 if weighted else None
    return y, p, sf, w


def metric_frame(y, p, sf, w):
    params = {k: {"sample_weight": w} for k in FAIRLEARN}
    return MetricFrame(metrics=FAIRLEARN, y_true=y, y_pred=p, sensitive_features=sf, sample_params=params)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("two_features", [False, True])
def test_equals_fairlearn_metricframe(seed, weighted, two_features):
    y, p, sf, w = random_case(seed, 700 + 300 * seed, weighted, two_features)
    gm = group_metrics(y, p, sf, sample_weight=w)
    mf = metric_frame(y, p, sf, w)
    expected = mf.by_group.dropna(how="all")  # fairlearn lists empty intersections as NaN rows
    ours = gm.by_group[list(FAIRLEARN)]
    assert list(ours.index) == list(expected.index)
    assert ours.index.names == expected.index.names
    np.testing.assert_allclose(ours.to_numpy(), expected.to_numpy(dtype=float), rtol=0, atol=1e-12)
    np.testing.assert_allclose(gm.overall[list(FAIRLEARN)].to_numpy(), mf.overall.to_numpy(dtype=float),
                               rtol=0, atol=1e-12)
    for method in ("between_groups", "to_overall"):
        np.testing.assert_allclose(gm.difference(method)[list(FAIRLEARN)], mf.difference(method=method),
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(gm.ratio(method)[list(FAIRLEARN)], mf.ratio(method=method),
                                   rtol=0, atol=1e-12)
    np.testing.assert_allclose(gm.group_min()[list(FAIRLEARN)], mf.group_min(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(gm.group_max()[list(FAIRLEARN)], mf.group_max(), rtol=0, atol=1e-12)
    # Counts of rows equal fairlearn's ``count`` (unweighted).
    sizes = pd.Series(np.ones(len(y))).groupby([sf[c] for c in sf] if two_features else sf).sum()
    np.testing.assert_array_equal(gm.by_group["n"].to_numpy(), sizes.to_numpy())
    summary = gm.summary()
    for name, fn in SUMMARY.items():
        for method in ("between_groups", "to_overall"):
            expected_value = fn(y, p, sensitive_features=sf, sample_weight=w, method=method)
            assert gm.summary(method)[name] == pytest.approx(expected_value, abs=1e-12, nan_ok=True), name
    assert summary["four_fifths_rule_passed"] == (summary["demographic_parity_ratio"] >= 0.8)


def test_undefined_rates_follow_fairlearn_and_are_flagged():
    y = [0, 0, 1, 0, 1, 1]
    p = [1, 0, 1, 0, 0, 0]
    s = ["no-pos", "no-pos", "mixed", "mixed", "no-sel", "no-sel"]
    gm = group_metrics(y, p, s, min_group_size=1)
    row = gm.by_group.loc["no-pos"]
    assert row["true_positive_rate"] == 0.0 and row["false_negative_rate"] == 0.0
    assert gm.by_group.loc["no-sel", "precision"] == 0.0
    assert gm.undefined.loc["no-pos", "true_positive_rate"] and not gm.undefined.loc["mixed"].any()
    assert gm.intervals.loc["no-pos", ("true_positive_rate", "low")] == 0.0
    assert gm.intervals.loc["no-pos", ("true_positive_rate", "high")] == 1.0
    from glasswing.audits._result import NO_POSITIVES, NO_SELECTED

    assert NO_POSITIVES.format(group="sensitive_feature_0=no-pos") in gm.warnings
    assert NO_SELECTED.format(group="sensitive_feature_0=no-sel") in gm.warnings
    mf = MetricFrame(metrics={"tpr": true_positive_rate}, y_true=y, y_pred=p, sensitive_features=s)
    assert mf.by_group.loc["no-pos", "tpr"] == 0.0


def test_hand_computed_case():
    # Group F: tp=2, fp=1, tn=1, fn=0; group M: tp=1, fp=0, tn=2, fn=1.
    y = [1, 1, 0, 0, 1, 1, 0, 0]
    p = [1, 1, 1, 0, 1, 0, 0, 0]
    s = ["F", "F", "F", "F", "M", "M", "M", "M"]
    gm = group_metrics(y, p, s)
    f, m = gm.by_group.loc["F"], gm.by_group.loc["M"]
    assert (f["selection_rate"], m["selection_rate"]) == (0.75, 0.25)
    assert (f["true_positive_rate"], m["true_positive_rate"]) == (1.0, 0.5)
    assert (f["false_positive_rate"], m["false_positive_rate"]) == (0.5, 0.0)
    assert (f["precision"], m["precision"]) == (2 / 3, 1.0)
    assert (f["negative_predictive_value"], m["negative_predictive_value"]) == (1.0, 2 / 3)
    assert (f["accuracy"], m["accuracy"]) == (0.75, 0.75)
    assert gm.counts.loc["F", ["tn", "fp", "fn", "tp"]].tolist() == [1, 1, 0, 2]
    s_ = gm.summary()
    assert s_["demographic_parity_difference"] == 0.5
    assert s_["demographic_parity_ratio"] == pytest.approx(1 / 3)
    assert s_["equalized_odds_difference"] == 0.5  # max(TPR gap 0.5, FPR gap 0.5)
    assert s_["equalized_odds_ratio"] == 0.0  # min(TPR ratio 0.5, FPR ratio 0/0.5)
    assert s_["predictive_parity_difference"] == pytest.approx(1 / 3)
    assert s_["four_fifths_rule_passed"] is False


def test_scores_give_auc_brier_and_calibration_like_sklearn():
    rng = np.random.default_rng(7)
    n = 3000
    y = rng.integers(0, 2, n)
    score = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1).round(2)  # rounded: many ties
    score[:5] = [0.0, 0.1, 0.2, 1.0, 0.3]  # exact bin edges
    s = rng.choice(["a", "b", "c"], n)
    w = rng.random(n)
    for weights in (None, w):
        gm = group_metrics(y, None, s, y_score=score, threshold=0.5, sample_weight=weights)
        for g in ("a", "b", "c"):
            m = s == g
            sw = None if weights is None else weights[m]
            assert gm.by_group.loc[g, "auc"] == pytest.approx(roc_auc_score(y[m], score[m], sample_weight=sw),
                                                              abs=1e-12)
            assert gm.by_group.loc[g, "brier_score"] == pytest.approx(
                brier_score_loss(y[m], score[m], sample_weight=sw), abs=1e-12)
            assert gm.by_group.loc[g, "calibration_error"] == pytest.approx(
                _ece(y[m], score[m], sw), abs=1e-12)
            mean = np.average(score[m], weights=sw)
            assert gm.by_group.loc[g, "mean_score"] == pytest.approx(mean, abs=1e-12)
        assert gm.overall["auc"] == pytest.approx(roc_auc_score(y, score, sample_weight=weights), abs=1e-12)
        # The decision threshold: positive where score >= 0.5.
        expected = MetricFrame(metrics=selection_rate, y_true=y, y_pred=(score >= 0.5).astype(int),
                               sensitive_features=s, sample_params={"sample_weight": weights})
        np.testing.assert_allclose(gm.by_group["selection_rate"], expected.by_group, atol=1e-12)


def _ece(y, s, w=None):
    """Expected calibration error with sklearn's uniform bins (0.0 in the first bin, right-closed bins)."""
    w = np.ones(len(y)) if w is None else w
    edges = np.linspace(0, 1, 11)
    total = 0.0
    for i in range(10):
        m = (s > edges[i]) & (s <= edges[i + 1]) if i else (s <= edges[1])
        if m.any():
            total += abs(np.sum(w[m] * s[m]) - np.sum(w[m] * y[m]))
    return total / w.sum()


def test_auc_undefined_for_a_group_with_one_class():
    gm = group_metrics([1, 1, 0, 1], None, ["a", "a", "b", "b"], y_score=[0.2, 0.9, 0.4, 0.8], threshold=0.5)
    assert np.isnan(gm.by_group.loc["a", "auc"]) and gm.by_group.loc["b", "auc"] == 1.0
    assert json.loads(json.dumps(gm.to_dict()))["by_group"][0]["auc"] is None


def test_multiclass_one_vs_rest_equals_fairlearn_on_binarised_labels():
    rng = np.random.default_rng(3)
    y = rng.choice(["cat", "dog", "eel"], 500)
    p = np.where(rng.random(500) < 0.6, y, rng.choice(["cat", "dog", "eel"], 500))
    s = rng.choice(["u", "v"], 500)
    with pytest.raises(AuditError) as err:
        group_metrics(y, p, s)
    assert str(err.value) == v.NON_BINARY.format(name="y_true", k=3, values="'cat', 'dog', 'eel'")
    gm = group_metrics(y, p, s, pos_label="dog")
    mf = metric_frame((y == "dog").astype(int), (p == "dog").astype(int), s, None)
    np.testing.assert_allclose(gm.by_group[list(FAIRLEARN)].to_numpy(), mf.by_group.to_numpy(dtype=float),
                               atol=1e-12)
    assert gm.pos_label == "dog"


def test_string_labels_use_the_larger_label_unless_told():
    y = ["good", "bad", "good", "bad"]
    p = ["good", "good", "bad", "bad"]
    gm = group_metrics(y, p, ["a", "a", "b", "b"])
    assert gm.pos_label == "good"
    assert gm.by_group["selection_rate"].tolist() == [1.0, 0.0]
    assert group_metrics(y, p, ["a", "a", "b", "b"], pos_label="bad").by_group["selection_rate"].tolist() == [
        0.0, 1.0]


def test_wilson_interval_matches_newcombe_1998():
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (score interval, no correction).
    cases = {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605), (0, 20): (0.0, 0.1611),
             (1, 29): (0.0061, 0.1718)}
    for (x, n), (lo, hi) in cases.items():
        got_lo, got_hi = wilson_interval(x, n)
        assert (round(float(got_lo), 4), round(float(got_hi), 4)) == (lo, hi)


def test_intervals_are_wilson_of_each_rate():
    y, p, sf, _ = random_case(4, 400, False, False)
    gm = group_metrics(y, p, sf)
    c = gm.counts.loc["x"]
    lo, hi = wilson_interval(c["tp"], c["tp"] + c["fn"])
    assert gm.intervals.loc["x", ("true_positive_rate", "low")] == lo
    assert gm.intervals.loc["x", ("true_positive_rate", "high")] == hi


def test_bootstrap_interval_agrees_with_a_row_resampling_bootstrap():
    rng = np.random.default_rng(11)
    n = 600
    s = np.where(rng.random(n) < 0.4, "a", "b")
    y = rng.integers(0, 2, n)
    p = (rng.random(n) < np.where(s == "a", 0.35, 0.55)).astype(int)
    gm = group_metrics(y, p, s, n_boot=4000, seed=1)
    row = gm.disparities().loc["demographic_parity_difference"]
    # Brute force: resample rows within each group (the groups are the strata), recompute the gap.
    boot = np.random.default_rng(2)
    pa, pb = p[s == "a"], p[s == "b"]
    gaps = [boot.choice(pb, len(pb)).mean() - boot.choice(pa, len(pa)).mean() for _ in range(4000)]
    lo, hi = np.quantile(gaps, [0.025, 0.975])
    assert row["groups"] == ["sensitive_feature_0=b", "sensitive_feature_0=a"]
    assert row["low"] == pytest.approx(lo, abs=0.01) and row["high"] == pytest.approx(hi, abs=0.01)
    assert row["distinguishable"] == (row["low"] > 0)
    # Seeded: the same inputs and seed give the same interval.
    again = group_metrics(y, p, s, n_boot=4000, seed=1).disparities().loc["demographic_parity_difference"]
    assert (again["low"], again["high"]) == (row["low"], row["high"])


def test_not_distinguishable_from_zero_is_said():
    y = np.tile([1, 0], 100)
    p = np.tile([1, 0, 0, 1], 50)
    s = np.repeat(["a", "b"], 100)
    gm = group_metrics(y, p, s)
    assert gm.summary()["demographic_parity_difference"] == 0.0
    table = gm.disparities()
    assert not table.loc["demographic_parity_difference", "distinguishable"]
    assert any("not distinguishable from zero" in f for f in gm.findings())


def test_small_groups_are_flagged_with_the_threshold():
    y, p, sf, _ = random_case(5, 200, False, False)
    gm = group_metrics(y, p, sf, min_group_size=30)
    small = gm.counts.index[gm.counts["n"] < 30].tolist()
    assert small == gm.small_groups.index.tolist() and small == ["w"]
    from glasswing.audits._result import SMALL_GROUP

    n = int(gm.counts.loc["w", "n"])
    assert SMALL_GROUP.format(group="a=w", n=n, minimum=30) in gm.warnings
    assert gm.to_dict()["by_group"][gm.labels.index("w")]["small"] is True


def test_four_fifths_against_highest_and_a_chosen_reference():
    counts = pd.DataFrame({"tn": [50, 60, 70], "fp": [10, 20, 5], "fn": [10, 10, 10], "tp": [30, 10, 15]},
                          index=pd.Index(["a", "b", "c"], name="g"))
    gm = GroupMetrics.from_counts(counts)
    rates = gm.by_group["selection_rate"]  # a 0.40, b 0.30, c 0.20
    ff = gm.four_fifths()
    assert ff.passed is False and ff.reference == "g=a"
    np.testing.assert_allclose(ff.ratios["ratio"], rates / 0.4)
    assert ff.sentence.startswith("The four-fifths rule is not met: g=c is selected at 20.0%, 0.50 times the "
                                  "rate of g=a (the highest selection rate, 40.0%), below 0.80")
    ff_b = gm.four_fifths(reference="b")
    np.testing.assert_allclose(ff_b.ratios["ratio"], rates / 0.3)
    assert ff_b.passed is False  # c/b = 0.67
    assert gm.four_fifths(threshold=0.5).passed is True
    assert gm.four_fifths(threshold=0.5).sentence.startswith("The four-fifths rule is met")


def test_relative_to_reference():
    y, p, sf, _ = random_case(6, 500, False, True)
    gm = group_metrics(y, p, sf)
    rel = gm.relative_to(("x", 1), ["selection_rate"])
    ref = gm.by_group.loc[("x", 1), "selection_rate"]
    np.testing.assert_allclose(rel["difference"], gm.by_group["selection_rate"] - ref)
    np.testing.assert_allclose(rel["ratio"], gm.by_group["selection_rate"] / ref)
    assert (rel["difference_low"] <= rel["difference"] + 1e-12).all()
    assert rel.loc[rel["group"] == "x · 1", "distinguishable"].item() is False
    assert gm.relative_to("a=x, b=1", ["selection_rate"]).equals(rel)
    with pytest.raises(AuditError) as err:
        gm.relative_to("nope")
    assert str(err.value) == UNKNOWN_GROUP.format(group="nope", groups=", ".join(gm.labels))


def test_intersection_and_missing_values():
    sf = pd.DataFrame({"sex": ["F", "F", "M", None, "M", "F"],
                       "age": ["<25", ">40", "<25", "<25", "<25", "<25"]})
    gm = group_metrics([1, 0, 1, 0, 1, 1], [1, 0, 0, 0, 1, 1], sf, min_group_size=1)
    assert gm.by_group.index.names == ["sex", "age"]
    assert gm.by_group.index.tolist() == [("F", "<25"), ("F", ">40"), ("M", "<25"), ("(missing)", "<25")]
    from glasswing.audits._metrics import EMPTY_INTERSECTIONS, MISSING_SENSITIVE

    assert MISSING_SENSITIVE.format(k=1, name="sex", group="(missing)") in gm.warnings
    assert EMPTY_INTERSECTIONS.format(k=2, names="sex x age") in gm.warnings


def test_rows_without_target_are_left_out_and_said():
    gm = group_metrics([1, None, 0, 1], [1, 1, 0, 0], ["a", "a", "b", "b"])
    from glasswing.audits._metrics import DROPPED

    assert gm.overall["n"] == 3
    assert DROPPED.format(k=1, n=4, what="the target") in gm.warnings


def test_from_counts_equals_group_metrics():
    y, p, sf, _ = random_case(8, 300, False, True)
    gm = group_metrics(y, p, sf)
    again = GroupMetrics.from_counts(gm.counts)
    pd.testing.assert_frame_equal(again.by_group, gm.by_group)
    pd.testing.assert_frame_equal(again.intervals, gm.intervals)
    pd.testing.assert_frame_equal(again.disparities(), gm.disparities())


def test_threshold_sweep_equals_audits_at_each_threshold():
    rng = np.random.default_rng(9)
    y = rng.integers(0, 2, 800)
    score = rng.random(800).round(2)
    sf = pd.DataFrame({"a": rng.choice(["p", "q"], 800), "b": rng.choice(["r", "s", "t"], 800)})
    w = rng.random(800)
    sweep = threshold_sweep(y, score, sf, sample_weight=w)
    assert sweep.index.names == ["threshold", "a", "b"]
    for t in (0.0, 0.37, 0.5, 1.0):
        direct = group_metrics(y, (score >= t).astype(int), sf, sample_weight=w)
        cached = GroupMetrics.from_counts(sweep.xs(t, level="threshold"))
        np.testing.assert_allclose(cached.by_group.to_numpy(), direct.by_group.to_numpy(), atol=1e-12)


def test_to_dict_has_the_design_shape_and_is_json_safe():
    y, p, sf, _ = random_case(10, 300, False, True)
    gm = group_metrics(y, p, sf)
    d = json.loads(json.dumps(gm.to_dict(), allow_nan=False))
    assert {"overall", "by_group", "summary"} <= set(d)
    first = d["by_group"][0]
    assert first["group"] == {"a": "w", "b": 1} and first["n"] == int(gm.by_group["n"].iloc[0])
    assert first["selection_rate"] == gm.by_group["selection_rate"].iloc[0]
    assert first["intervals"]["selection_rate"] == [gm.intervals.iloc[0][("selection_rate", "low")],
                                                    gm.intervals.iloc[0][("selection_rate", "high")]]
    for key in ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference",
                "equalized_odds_ratio"):
        assert d["summary"][key] == pytest.approx(gm.summary()[key], nan_ok=True)
    assert d["overall"]["n"] == 300


def test_table_formats_values_with_intervals():
    gm = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], ["F", "F", "M", "M"])
    table = gm.table(["selection_rate"])
    lo, hi = wilson_interval(1, 2)
    assert table.loc["F", "Selection rate"] == f"0.500 ({float(lo):.3f}-{float(hi):.3f})"
    assert table["small"].tolist() == [True, True]


# ------------------------------------------------------------------------------------------ errors
def _message(fn, *args, **kw) -> str:
    with pytest.raises(AuditError) as err:
        fn(*args, **kw)
    return str(err.value)


def test_error_mismatched_lengths():
    assert _message(group_metrics, [1, 0, 1], [1, 0], ["a", "b", "a"]) == v.LENGTH_MISMATCH.format(
        name="y_pred", got=2, ref="y_true", expected=3)
    assert _message(group_metrics, [1, 0, 1], [1, 0, 0], ["a", "b"]) == v.LENGTH_MISMATCH.format(
        name="Sensitive column 'sensitive_feature_0'", got=2, ref="y_true", expected=3)


def test_error_single_valued_and_all_missing_sensitive_column():
    assert _message(group_metrics, [1, 0], [1, 0], pd.Series(["F", "F"], name="sex")) == \
        v.SINGLE_GROUP.format(name="sex", value="F")
    assert _message(group_metrics, [1, 0], [1, 0], pd.Series([None, None], name="sex")) == \
        v.ALL_MISSING.format(name="Sensitive column 'sex'")


def test_error_all_missing_target():
    msg = _message(group_metrics, [np.nan, np.nan], [1, 0], ["a", "b"])
    assert msg == v.ALL_MISSING.format(name="y_true")


def test_error_probabilities_where_labels_were_expected_offers_a_threshold():
    msg = _message(group_metrics, [1, 0, 1], [0.73, 0.2, 0.9], ["a", "b", "a"])
    assert msg == v.PROBABILITIES.format(name="y_pred", example=0.73)
    assert "threshold" in msg
    gm = group_metrics([1, 0, 1], [0.73, 0.2, 0.9], ["a", "b", "a"], threshold=0.5)
    assert gm.by_group["selection_rate"].tolist() == [1.0, 0.0] and gm.threshold == 0.5
    msg = _message(group_metrics, [1, 0, 1], None, ["a", "b", "a"], y_score=[0.1, 0.2, 0.3])
    assert msg == NEED_THRESHOLD


def test_error_non_binary_target_and_absent_positive_label():
    assert _message(group_metrics, [0, 1, 2], [0, 1, 2], ["a", "b", "a"]) == v.NON_BINARY.format(
        name="y_true", k=3, values="0, 1, 2")
    assert _message(group_metrics, [0, 1], [0, 1], ["a", "b"], pos_label=5) == v.POS_LABEL_ABSENT.format(
        label=5, name="y_true", values="0, 1")
    assert _message(group_metrics, ["a", "b"], ["a", "c"], ["a", "b"]) == v.PREDICTION_LABELS.format(
        name="y_pred", extra="'c'", target="y_true", values="'a', 'b'")


def test_error_bad_method_and_weights():
    gm = group_metrics([1, 0], [1, 0], ["a", "b"])
    assert _message(gm.difference, "largest") == BAD_METHOD.format(method="largest")
    assert _message(group_metrics, [1, 0], [1, 0], ["a", "b"], sample_weight=[1, -1]) == v.BAD_WEIGHTS.format(
        row=1, value=-1.0)


def test_errors_are_glasswing_errors():
    from glasswing._errors import GlasswingError

    assert issubclass(AuditError, GlasswingError)
    assert audits.AuditError is AuditError


def test_views_equal_one_audit_per_view():
    rng = np.random.default_rng(12)
    n = 1500
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["A", "B", "C"], n)})
    y = rng.integers(0, 2, n)
    y_pred = (rng.random(n) < 0.5).astype(int)
    score = rng.random(n).round(2)
    score[:3] = np.nan  # left out of AUC and calibration only
    views = audits.group_metrics_views(y, y_pred, sf, y_score=score)
    assert list(views) == [("sex", "race"), ("sex",), ("race",)]
    for view, gm in views.items():
        single = group_metrics(y, y_pred, sf[list(view)], y_score=score)
        pd.testing.assert_frame_equal(gm.by_group, single.by_group)
        pd.testing.assert_series_equal(gm.overall, single.overall)
        assert gm.warnings == single.warnings
