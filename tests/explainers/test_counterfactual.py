"""Counterfactuals (Growing Spheres): known minimal changes, constraints, and re-scoring of every result."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import median_abs_deviation
from sklearn.linear_model import LogisticRegression

from glasswing import explainers
from glasswing.explainers import _counterfactual as cf_module
from glasswing.explainers import counterfactuals
from glasswing.ingest import Model, samples


class Rule:
    """Approve (class 1) when income >= 50 or savings >= 100: a decision whose minimal changes are known."""

    classes_ = np.array([0, 1])
    feature_names_in_ = np.array(["income", "savings", "age", "sex"], dtype=object)
    lying = False  # when True, every row is refused (a model whose answer changes between calls)

    def predict_proba(self, X):
        ok = ((X["income"].to_numpy() >= 50) | (X["savings"].to_numpy() >= 100)) & (not self.lying)
        return np.column_stack([1.0 - ok, ok.astype(float)])


def rule_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"income": rng.uniform(0, 100, n).round(1), "savings": rng.integers(0, 200, n),
                         "age": rng.integers(18, 80, n), "sex": rng.choice(["female", "male"], n)})


def test_a_threshold_rule_needs_exactly_the_gap_to_the_threshold():
    data = rule_data()
    model = Model.from_estimator(Rule())
    row = pd.DataFrame({"income": [40.0], "savings": [90], "age": [30], "sex": ["female"]})
    (found,) = counterfactuals(model, row, reference=data, immutable=["age", "sex"], count=2)
    mad_income = median_abs_deviation(data["income"], scale=1.0)
    mad_savings = median_abs_deviation(data["savings"], scale=1.0)
    # by hand: income 40 -> 50 costs 10 / MAD(income); savings 90 -> 100 costs 10 / MAD(savings)
    best = min(10 / mad_income, 10 / mad_savings)
    assert found.cheapest >= best - 1e-9  # nothing flips the rule for less
    assert found.cheapest == pytest.approx(best, rel=0.02)
    assert len(found) == 2 and {tuple(found.changes().columns[:-3])} <= {("income", "savings")}
    assert [c for c in found.changes().columns if c not in ("distance", "prediction", "probability")] == \
        ["income", "savings"]
    sets = [frozenset(f for f in ("income", "savings") if found.frame.iloc[i][f] != row.iloc[0][f])
            for i in range(2)]
    assert sets[0] != sets[1]  # diverse: one raises income, the other savings
    assert found.scales["income"] == pytest.approx(mad_income)


def test_logistic_regression_reaches_its_boundary_along_the_cheapest_feature():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(0, 1, 400), "b": rng.normal(0, 3, 400), "c": rng.normal(5, 2, 400)})
    y = (X["a"] + 0.3 * X["b"] - 0.5 * X["c"] + rng.normal(0, 1, 400) > -2.5).astype(int)
    est = LogisticRegression().fit(X, y)
    model = Model.from_estimator(est)
    logit = est.decision_function(X)
    rows = X[(logit < -0.3) & (logit > -1.5)].iloc[:5]
    mad = np.array([median_abs_deviation(X[c], scale=1.0) for c in X.columns])
    per_unit = np.abs(est.coef_[0]) * mad  # logit gained per MAD unit of each feature
    found = counterfactuals(model, rows, reference=X, count=1)
    for (_, row), result in zip(rows.iterrows(), found, strict=True):
        margin = -est.decision_function(row.to_frame().T)[0]
        optimum = margin / per_unit.max()  # L1 in MAD units: spend everything on the best feature
        assert result.cheapest >= optimum - 1e-9
        assert result.cheapest == pytest.approx(optimum, rel=0.05)
        best = X.columns[int(per_unit.argmax())]
        share = abs(result.frame[best].iloc[0] - row[best]) / mad[int(per_unit.argmax())] / result.cheapest
        assert share > 0.9, (result.changed(), share)  # nearly all of the change goes to the best feature
        assert est.predict(result.frame)[0] == 1


def test_increase_only_and_ranges_force_the_second_best_change():
    data = rule_data()
    model = Model.from_estimator(Rule())
    row = pd.DataFrame({"income": [40.0], "savings": [90], "age": [30], "sex": ["male"]})
    (found,) = counterfactuals(model, row, reference=data, immutable=["age", "sex"], count=3,
                               ranges={"savings": (0, 95)})
    assert len(found) >= 1
    assert (found.frame["savings"] <= 95).all() and (found.frame["savings"] >= 0).all()
    assert (found.frame["income"] >= 50).all()  # savings cannot reach 100, so income must
    mad_income = median_abs_deviation(data["income"], scale=1.0)
    assert found.cheapest == pytest.approx(10 / mad_income, rel=0.02)


def test_german_counterfactuals_flip_and_respect_every_constraint():
    data = samples.german_dataset("test")
    model = samples.german_model("gbm")
    features = list(model.feature_names)
    X = data.frame.loc[:, features]
    refused = np.flatnonzero(model.estimator.predict(X) == 0)[:4]
    found = counterfactuals(model, X.iloc[refused], reference=X, count=3, immutable=["sex", "age"],
                            increase_only=["duration"], seed=3)
    shown = 0
    for result in found:
        original = result.original
        for i in range(len(result)):
            cf = result.frame.iloc[[i]]
            assert model.estimator.predict(cf)[0] == 1  # scored by scikit-learn itself: it flips
            assert cf["sex"].iloc[0] == original["sex"] and cf["age"].iloc[0] == original["age"]
            assert cf["duration"].iloc[0] >= original["duration"]
            for column in ("housing", "saving_accounts", "checking_account", "purpose"):
                assert cf[column].iloc[0] in set(X[column])  # a category seen in the data
            for column in ("credit_amount", "duration"):
                assert X[column].min() <= cf[column].iloc[0] <= X[column].max()
                assert float(cf[column].iloc[0]).is_integer()
            shown += 1
        assert list(result.distance) == sorted(result.distance)
        table = result.changes()
        assert table.index[0] == "original" and "sex" not in table.columns and "age" not in table.columns
    assert shown >= 4


def test_a_candidate_that_does_not_flip_when_scored_again_is_never_shown(monkeypatch):
    rule = Rule()
    model = Model.from_estimator(rule)
    search = cf_module._one

    def then_lie(*args, **kwargs):
        out = search(*args, **kwargs)
        rule.lying = True  # the final check now refuses every candidate
        return out

    monkeypatch.setattr(cf_module, "_one", then_lie)
    row = pd.DataFrame({"income": [40.0], "savings": [90], "age": [30], "sex": ["male"]})
    (found,) = counterfactuals(model, row, reference=rule_data(), immutable=["age", "sex"])
    assert len(found) == 0 and found.reason == cf_module.NONE_FLIPPED.format(row=0)


def test_rows_already_desired_and_rows_that_cannot_flip_say_why():
    model = Model.from_estimator(Rule())
    rows = pd.DataFrame({"income": [60.0, 10.0], "savings": [0, 0], "age": [30, 30], "sex": ["male"] * 2})
    approved, stuck = counterfactuals(model, rows, reference=rule_data(), immutable=["age", "sex"], desired=1,
                                      ranges={"income": (0, 45), "savings": (0, 80)})
    assert approved.reason == cf_module.ALREADY.format(row=0, predicted=1) and len(approved) == 0
    assert stuck.reason == cf_module.NOT_FOUND.format(row=1) and np.isnan(stuck.cheapest)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"immutable": ["salary"]}, cf_module.UNKNOWN_FEATURE.format(
        name="salary", what="immutable", features="income, savings, age, sex")),
    ({"increase_only": ["sex"]}, cf_module.NOT_NUMERIC.format(name="sex", what="increase-only")),
    ({"ranges": {"income": (50, 10)}}, cf_module.BAD_RANGE.format(name="income", low=50, high=10)),
    ({"immutable": ["income", "savings", "age", "sex"]}, cf_module.ALL_IMMUTABLE),
    ({"desired": "yes"}, cf_module.UNKNOWN_CLASS.format(desired="yes", classes="0, 1")),
    ({"count": 0}, cf_module.BAD_COUNT.format(most=20, count=0)),
])
def test_bad_constraints_are_one_sentence(kwargs, message):
    model = Model.from_estimator(Rule())
    with pytest.raises(explainers.ExplainerError) as err:
        counterfactuals(model, rule_data(5), reference=rule_data(), **kwargs)
    assert str(err.value) == message


def test_an_image_model_is_refused_in_one_sentence():
    model = Model(name="digits.onnx", kind="onnx", modality="image", classes_=np.arange(10))
    with pytest.raises(explainers.ExplainerError) as err:
        counterfactuals(model, rule_data(3), reference=rule_data())
    assert str(err.value) == cf_module.NOT_TABULAR.format(name="digits.onnx", modality="image")


def test_the_same_seed_gives_the_same_counterfactuals():
    model = Model.from_estimator(Rule())
    row = pd.DataFrame({"income": [20.0], "savings": [30], "age": [30], "sex": ["male"]})
    a = counterfactuals(model, row, reference=rule_data(), seed=5)[0]
    b = counterfactuals(model, row, reference=rule_data(), seed=5)[0]
    pd.testing.assert_frame_equal(a.frame, b.frame)
