"""Error analysis: a planted cohort is found with hand-counted numbers; rules partition the rows like
sklearn's tree; per-cohort fairness equals fairlearn on the cohort's rows; bad input is one sentence."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from sklearn.tree import DecisionTreeClassifier

from glasswing import audits
from glasswing.audits import _errors
from glasswing.audits._validate import AuditError
from glasswing.ingest import ColumnRoles, Dataset, samples


def planted(seed: int = 0, n: int = 6000):
    """Errors planted in age > 60 and region = north (half wrong there, 4% elsewhere)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 91, n)
    region = rng.choice(["north", "south", "east", "west"], n)
    income = rng.normal(40_000, 12_000, n).round(0)
    sex = rng.choice(["F", "M"], n)
    y = rng.integers(0, 2, n)
    cohort = (age > 60) & (region == "north")
    wrong = rng.random(n) < np.where(cohort, 0.5, 0.04)
    pred = np.where(wrong, 1 - y, y)
    frame = pd.DataFrame({"age": age, "region": region, "income": income, "sex": sex, "y": y, "pred": pred})
    return frame, cohort


def wilson(x: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson (1927) by its textbook formula."""
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_planted_cohort_is_the_top_one_with_hand_counted_numbers(seed):
    frame, cohort = planted(seed)
    wrong = (frame["y"] != frame["pred"]).to_numpy()
    result = audits.error_analysis(frame[["age", "region", "income"]], frame["y"], frame["pred"])
    top = result.top
    assert top.rule == "age > 60 and region = north"
    assert top.n == int(cohort.sum())
    assert top.errors == int(wrong[cohort].sum())
    assert top.error_rate == wrong[cohort].sum() / cohort.sum()
    assert top.coverage == pytest.approx(wrong[cohort].sum() / wrong.sum(), abs=1e-15)
    low, high = wilson(int(wrong[cohort].sum()), int(cohort.sum()))
    assert (top.error_low, top.error_high) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))
    assert result.n == len(frame) and result.errors == int(wrong.sum())
    # The noise splits the raw tree makes inside and outside the cohort are not kept.
    assert len(result.cohorts) == 3


def test_cohorts_partition_the_rows_and_nodes_count_what_their_rule_says():
    frame, _ = planted(3)
    wrong = (frame["y"] != frame["pred"]).to_numpy()
    result = audits.error_analysis(frame[["age", "region", "income"]], frame["y"], frame["pred"], alpha=1.0)
    owner = np.zeros(len(frame), dtype=int)
    for cohort in result.cohorts:
        mask = cohort.mask(frame)
        owner += mask
        assert cohort.n == mask.sum() and cohort.errors == wrong[mask].sum()
    assert (owner == 1).all()
    assert sum(c.n for c in result.cohorts) == len(frame)
    assert sum(c.coverage for c in result.cohorts) == pytest.approx(1.0)
    # Every child's rule is its parent's rule plus conditions, and children split the parent's rows.
    for node in result.nodes[1:]:
        parent = result.cohort(node.parent)
        assert node.depth == parent.depth + 1
        assert not (node.mask(frame) & ~parent.mask(frame)).any()


def test_rounded_thresholds_give_sklearns_own_partition():
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"age": rng.integers(18, 91, 3000), "income": rng.normal(40_000, 9_000, 3000)})
    wrong = rng.random(3000) < np.where(X["income"] > 45_000, 0.4, 0.1)
    y = np.zeros(3000, dtype=int)
    result = audits.error_analysis(X, y, wrong.astype(int), max_depth=3, min_rows=40, alpha=1.0)
    tree = DecisionTreeClassifier(max_depth=3, min_samples_leaf=40, random_state=0).fit(X, wrong)
    leaves = tree.apply(X)
    expected = sorted(np.bincount(leaves)[np.unique(leaves)].tolist())
    assert sorted(c.n for c in result.cohorts) == expected
    assert all(len(f"{c.value}") <= 7 for cohort in result.cohorts for c in cohort.conditions)


def test_no_errors_is_one_sentence():
    frame, _ = planted(0, n=200)
    with pytest.raises(AuditError) as err:
        audits.error_analysis(frame[["age"]], frame["y"], frame["y"])
    assert str(err.value) == ("The predictions match the target on all 200 rows, so there is no error to "
                              "analyse; check that the prediction column is not a copy of the target, or "
                              "analyse rows the model was not trained on.")


@pytest.mark.parametrize(("kwargs", "text"), [
    ({"max_depth": 0}, "The tree depth must be a whole number from 1 to 10; got 0."),
    ({"max_depth": 2.5}, "The tree depth must be a whole number from 1 to 10; got 2.5."),
    ({"min_rows": 0}, "The smallest cohort must be a whole number of rows, at least 1; got 0."),
    ({"alpha": 0}, "The significance level must be a number above 0 and at most 1; got 0."),
])
def test_bad_settings_are_one_sentence(kwargs, text):
    frame, _ = planted(0, n=100)
    with pytest.raises(AuditError) as err:
        audits.error_analysis(frame[["age"]], frame["y"], frame["pred"], **kwargs)
    assert str(err.value) == text


def test_missing_values_follow_the_tree_and_the_rule_says_so():
    rng = np.random.default_rng(1)
    age = rng.integers(18, 91, 3000).astype(float)
    age[:400] = np.nan
    wrong = np.where(np.isnan(age) | (age > 70), rng.random(3000) < 0.5, rng.random(3000) < 0.03)
    X = pd.DataFrame({"age": age})
    result = audits.error_analysis(X, np.zeros(3000, dtype=int), wrong.astype(int))
    top = result.top
    assert top.rule == "age > 70 (or missing)"
    hand = np.isnan(age) | (age > 70)
    assert top.n == hand.sum() and top.errors == wrong[hand].sum()


def test_categories_merge_into_one_readable_condition():
    cond = _errors._simplify(
        (_errors.Condition("region", "!=", "north"), _errors.Condition("region", "!=", "south")), ["region"],
        {"region": ["north", "south", "east", "west"]})
    assert [c.text for c in cond] == ["region not in {north, south}"]
    cond = _errors._simplify(
        (_errors.Condition("region", "!=", "north"), _errors.Condition("region", "!=", "south"),
         _errors.Condition("region", "!=", "west")), ["region"],
        {"region": ["north", "south", "east", "west"]})
    assert [c.text for c in cond] == ["region = east"]
    both = _errors._simplify((_errors.Condition("age", ">", 30.0), _errors.Condition("age", "<=", 60.0),
                              _errors.Condition("age", ">", 40.0)), ["age"], {})
    assert [c.text for c in both] == ["age > 40", "age <= 60"]


def test_roundest_number_between_two_observed_values():
    assert _errors.roundest_between(60, 61) == 60
    assert _errors.roundest_between(0.31, 0.37) == 0.31
    assert _errors.roundest_between(0.251, 0.38) == 0.3
    assert _errors.roundest_between(-12.5, -3.2) == -10
    assert _errors.roundest_between(1234.5, 1234.6) == 1234.5


def _planted_dataset(seed: int = 0) -> Dataset:
    frame, _ = planted(seed)
    roles = ColumnRoles(target="y", prediction="pred", sensitive=("sex",),
                        features=("age", "region", "income"))
    return Dataset(frame, roles, name="planted", sha256="ab" * 32)


def test_dataset_uses_features_and_sensitive_columns_but_never_the_outcome():
    data = _planted_dataset()
    result = audits.error_analysis_dataset(data)
    assert result.features == ("age", "region", "income", "sex")
    assert result.top.rule == "age > 60 and region = north"
    assert result.source == "logged predictions (column pred)"
    with pytest.raises(AuditError) as err:
        audits.error_analysis_dataset(data, features=["age", "pred"])
    assert str(err.value) == ("Column 'pred' is the prediction column, so it cannot describe a cohort; "
                              "choose other columns, such as: age, region, income, sex.")
    with pytest.raises(AuditError) as err:
        audits.error_analysis_dataset(data, features=["height"])
    assert str(err.value) == ("Feature column 'height' is not in the data; it has: age, region, income, sex, "
                              "y, pred.")


def test_a_models_errors_are_counted_like_sklearn():
    model, data = samples.german_model("gbm"), samples.german_dataset("all", predictions=None)
    result = audits.error_analysis_dataset(data, model)
    predicted = model.predict(data.frame)
    assert result.errors == int((predicted != data.y_true.to_numpy()).sum())
    assert result.source == f"model {model.name}"
    assert sum(c.n for c in result.cohorts) == len(data)


def test_scores_in_the_prediction_column_are_refused():
    data = samples.german_dataset("test")
    data = data.with_roles(prediction="gbm_score", score=None)
    with pytest.raises(AuditError) as err:
        audits.error_analysis_dataset(data)
    assert str(err.value).startswith("Column 'gbm_score' holds scores between 0 and 1 (for example ")


def test_cohort_dataset_has_its_rows_and_a_digest_of_its_own():
    data = _planted_dataset()
    top = audits.error_analysis_dataset(data).top
    sub = audits.cohort_dataset(data, top)
    hand = data.frame[(data.frame["age"] > 60) & (data.frame["region"] == "north")].reset_index(drop=True)
    pd.testing.assert_frame_equal(sub.frame, hand)
    assert sub.sha256 != data.sha256 and len(sub.sha256) == 64
    assert sub.roles == data.roles


def test_fairness_per_cohort_equals_fairlearn_on_the_cohorts_rows():
    data = _planted_dataset()
    result = audits.error_analysis_dataset(data)
    table = audits.fairness_by_cohort(data, result, sensitive=["sex"])
    assert table["cohort"].tolist() == [c.rule for c in result.cohorts]
    for cohort, row in zip(result.cohorts, table.itertuples(), strict=True):
        rows = data.frame[cohort.mask(data.frame)]
        assert row.n == len(rows) and row.groups == 2
        assert row.demographic_parity_difference == pytest.approx(
            demographic_parity_difference(rows["y"], rows["pred"], sensitive_features=rows["sex"]))
        assert row.equalized_odds_difference == pytest.approx(
            equalized_odds_difference(rows["y"], rows["pred"], sensitive_features=rows["sex"]))


def test_fairness_per_cohort_says_why_a_cohort_cannot_be_audited():
    data = _planted_dataset()
    result = audits.error_analysis_dataset(data, features=["sex"], alpha=1.0, max_depth=1)
    one_sex = result.cohorts
    assert sorted(c.rule for c in one_sex) == ["sex = F", "sex = M"]
    calls = []
    table = audits.fairness_by_cohort(data, result, sensitive=["sex"], cohorts=one_sex[:1],
                                      progress=lambda done, total: calls.append((done, total)))
    assert table["note"].iloc[0].startswith("Sensitive column 'sex' has a single value (")
    assert calls == [(1, 1)]


def test_to_dict_is_json_with_the_cohorts_worst_first():
    import json

    result = audits.error_analysis_dataset(_planted_dataset())
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert payload["cohorts"][0]["rule"] == "age > 60 and region = north"
    rates = [c["error_rate"] for c in payload["cohorts"]]
    assert rates == sorted(rates, reverse=True)
    assert payload["cohorts"][0]["conditions"][1] == {"feature": "region", "op": "=", "value": "north",
                                                       "or_missing": False}
    assert len(payload["tree"]) == 5 and payload["tree"][0]["rule"] == "all rows"


def test_scores_at_a_threshold_predict_the_positive_label():
    data = samples.compas_dataset()
    frame = data.frame
    result = audits.error_analysis_dataset(data, features=["race", "sex", "age", "priors_count"], threshold=5)
    predicted = (frame["decile_score"] >= 5).astype(int)
    assert result.errors == int((predicted != frame["two_year_recid"]).sum())
    assert result.source == "logged scores (column decile_score) at threshold 5"
    with pytest.raises(AuditError) as err:
        audits.error_analysis_dataset(data)
    assert str(err.value) == ("The predictions come from the scores in 'decile_score', so give a decision "
                              "threshold (score >= threshold predicts the positive label).")
