"""Recourse burden (CERTIFAI): a planted group that needs more change, under equal selection rates."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference
from scipy.stats import bootstrap, median_abs_deviation

from glasswing import GlasswingError, audits
from glasswing.audits import _burden
from glasswing.explainers._counterfactual import ALL_IMMUTABLE
from glasswing.ingest import ColumnRoles, Dataset, Model


class IncomeRule:
    """Approve (class 1) when income >= 50: a row's cheapest change is to raise income to exactly 50."""

    classes_ = np.array([0, 1])
    feature_names_in_ = np.array(["income", "sex"], dtype=object)

    def predict_proba(self, X):
        ok = (X["income"].to_numpy() >= 50).astype(float)
        return np.column_stack([1 - ok, ok])


def planted(n=60, seed=0):
    """Half of each group is approved; refused women sit just under 50, refused men far below it."""
    rng = np.random.default_rng(seed)
    income = np.concatenate([rng.uniform(44, 49.5, n), rng.uniform(55, 90, n),  # women
                             rng.uniform(10, 30, n), rng.uniform(55, 90, n)]).round(2)  # men
    sex = ["female"] * (2 * n) + ["male"] * (2 * n)
    frame = pd.DataFrame({"income": income, "sex": sex, "approved": (income >= 50).astype(int)})
    roles = ColumnRoles(target="approved", sensitive=("sex",), features=("income", "sex"))
    return Dataset(frame, roles, "planted.csv", "ab" * 32)


def test_the_planted_group_carries_the_burden_while_selection_rates_are_equal():
    data = planted()
    model = Model.from_estimator(IncomeRule())
    y_pred = model.predict(data.X)
    assert demographic_parity_difference(data.y_true, y_pred, sensitive_features=data.frame["sex"]) == 0
    burden = audits.recourse_burden_of(model, data, n_boot=2000, seed=1)
    mad = median_abs_deviation(data.frame["income"], scale=1.0)
    refused = data.frame[y_pred == 0]
    by_hand = ((50 - refused["income"]) / mad).groupby(refused["sex"])  # the exact cheapest changes
    table = burden.by_group
    for sex in ("female", "male"):
        assert table.at[sex, "n_unfavourable"] == 60 and table.at[sex, "n_found"] == 60
        assert table.at[sex, "burden"] == pytest.approx(by_hand.mean()[sex], rel=0.02)
        exact = by_hand.get_group(sex).to_numpy()
        ref = bootstrap((exact,), np.mean, n_resamples=2000, method="percentile", random_state=0)
        width = ref.confidence_interval.high - ref.confidence_interval.low
        assert table.at[sex, "low"] == pytest.approx(ref.confidence_interval.low, abs=0.15 * width)
        assert table.at[sex, "high"] == pytest.approx(ref.confidence_interval.high, abs=0.15 * width)
    head = burden.headline
    assert head["high"] == "male" and head["low"] == "female" and head["clear"]
    assert head["ratio"] == pytest.approx(by_hand.mean()["male"] / by_hand.mean()["female"], rel=0.03)
    assert head["ratio_low"] > 1
    assert burden.sentence == _burden.MORE.format(high="male", low="female", ratio=head["ratio"],
                                                  lo=head["ratio_low"], hi=head["ratio_high"], level=0.95)
    assert burden.constraints.startswith("immutable: sex")  # the sensitive feature never changes


def test_burden_from_given_costs_matches_the_plain_means_and_is_seeded():
    costs = [1.0, 2.0, np.nan, 3.0, 1.0, 1.0, 1.0, 1.0]
    groups = pd.Series(["a", "a", "a", "a", "b", "b", "b", "b"], name="g")
    one = audits.recourse_burden(costs, groups, min_group_size=3, seed=4)
    two = audits.recourse_burden(costs, groups, min_group_size=3, seed=4)
    pd.testing.assert_frame_equal(one.by_group, two.by_group)
    assert one.by_group.at["a", "burden"] == pytest.approx(2.0) and one.by_group.at["a", "n_not_found"] == 1
    assert one.by_group.at["b", "low"] == one.by_group.at["b", "high"] == 1.0
    assert one.overall == {"n_unfavourable": 8, "n_found": 7, "n_not_found": 1,
                           "burden": pytest.approx(10 / 7)}
    assert one.to_dict()["by_group"][0]["group"] == "a"


def test_small_groups_stay_out_of_the_headline_and_are_listed():
    costs = [1.0] * 40 + [5.0] * 10 + [2.0] * 35
    groups = ["a"] * 40 + ["b"] * 10 + ["c"] * 35
    burden = audits.recourse_burden(costs, groups, min_group_size=30)
    assert burden.headline["groups"] == ["a", "c"] and burden.headline["left_out"] == ["b"]
    assert burden.headline["high"] == "c" and bool(burden.by_group.at["b", "small"])
    alone = audits.recourse_burden(costs[:50], groups[:50], min_group_size=30)
    assert alone.headline == {} and alone.sentence == _burden.TOO_FEW.format(minimum=30)


def test_bad_input_is_one_sentence():
    data = planted(5)
    model = Model.from_estimator(IncomeRule())
    approved = Dataset(data.frame[data.frame["income"] >= 50], data.roles, "approved.csv")
    with pytest.raises(audits.AuditError) as err:
        audits.recourse_burden_of(model, approved)
    assert str(err.value) == _burden.NO_UNFAVOURABLE.format(favourable=1)
    with pytest.raises(audits.AuditError) as err:
        audits.recourse_burden_of(model, data, favourable="yes")
    assert str(err.value) == _burden.FAVOURABLE_NOT_A_CLASS.format(favourable="yes", classes="0, 1")
    with pytest.raises(GlasswingError) as err:
        audits.recourse_burden_of(model, data, immutable=["income", "sex"])
    assert str(err.value) == ALL_IMMUTABLE
    with pytest.raises(audits.AuditError) as err:
        audits.recourse_burden([1.0, 2.0], ["a"])
    assert str(err.value) == _burden.LENGTHS.format(n_costs=2, n_groups=1)
