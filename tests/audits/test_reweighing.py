"""Reweighing weights against AIF360, against the formula by a plain groupby, and their defining property."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glasswing.audits import MitigationError, Reweighing, reweighing_weights
from glasswing.audits import _reweighing as rw
from tests.conftest import SAMPLES


def _aif360_weights(y: np.ndarray, group: np.ndarray, *, favorable=1, unfavorable=0) -> np.ndarray:
    logging.disable(logging.WARNING)  # aif360 logs its missing optional extras at import
    try:
        from aif360.algorithms.preprocessing import Reweighing as AifReweighing
        from aif360.datasets import BinaryLabelDataset
    finally:
        logging.disable(logging.NOTSET)
    frame = pd.DataFrame({"g": group, "y": y})
    ds = BinaryLabelDataset(df=frame, label_names=["y"], protected_attribute_names=["g"],
                            favorable_label=favorable, unfavorable_label=unfavorable)
    return AifReweighing([{"g": 0}], [{"g": 1}]).fit_transform(ds).instance_weights


def _groupby_weights(y: pd.Series, groups: pd.DataFrame) -> np.ndarray:
    """The formula n_g * n_y / (n * n_gy), computed independently with pandas."""
    frame = groups.assign(_y=np.asarray(y))
    keys = list(groups.columns)
    n = len(frame)
    n_g = frame.groupby(keys, observed=True)["_y"].transform("size")
    n_y = frame.groupby("_y")["_y"].transform("size")
    n_gy = frame.groupby([*keys, "_y"], observed=True)["_y"].transform("size")
    return (n_g * n_y / (n * n_gy)).to_numpy()


@pytest.fixture(scope="module")
def german() -> pd.DataFrame:
    frame = pd.read_csv(SAMPLES / "german.csv")
    return frame.assign(age_group=pd.cut(frame["age"], [0, 24, 40, 200], labels=["<25", "25-40", ">40"]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equal_to_aif360_on_a_binary_group(seed):
    rng = np.random.default_rng(seed)
    n = 5_000
    group = rng.integers(0, 2, n)
    y = (rng.random(n) < np.where(group == 1, 0.6, 0.35)).astype(int)
    ours = reweighing_weights(y, group)
    np.testing.assert_allclose(ours, _aif360_weights(y, group), rtol=0, atol=1e-12)


def test_equal_to_aif360_with_other_label_values(german):
    # labels 1/2 and a float group code: the favourable label does not change the weights
    y = german["risk"].map({1: 1, 0: 2}).to_numpy()
    group = (german["sex"] == "male").astype(float).to_numpy()
    ours = reweighing_weights(y, group)
    theirs = _aif360_weights(y, group, favorable=1, unfavorable=2)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_intersectional_groups_match_the_formula_by_groupby(german):
    groups = german[["sex", "age_group"]]
    ours = reweighing_weights(german["risk"], groups)
    np.testing.assert_allclose(ours, _groupby_weights(german["risk"], groups), rtol=0, atol=1e-12)


def test_weighted_base_rates_are_equal_across_groups(german):
    groups = german[["sex", "age_group"]]
    w = reweighing_weights(german["risk"], groups)
    frame = groups.assign(wy=w * german["risk"], w=w)
    rates = frame.groupby(["sex", "age_group"], observed=True)[["wy", "w"]].sum()
    weighted_base_rate = rates["wy"] / rates["w"]
    # before: base rates differ across groups; after: every group has the overall base rate
    raw = german.groupby(["sex", "age_group"], observed=True)["risk"].mean()
    assert raw.max() - raw.min() > 0.1
    np.testing.assert_allclose(weighted_base_rate, german["risk"].mean(), rtol=0, atol=1e-12)
    # group sizes are preserved (the weights of a group sum to its size), so the total is n
    np.testing.assert_allclose(rates["w"], groups.value_counts(sort=False).reindex(rates.index), atol=1e-9)
    assert w.sum() == pytest.approx(len(german))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from([0, 1]), st.sampled_from(["x", "y"])),
                min_size=1, max_size=60))
def test_label_and_group_are_independent_under_the_weights(rows):
    frame = pd.DataFrame(rows, columns=["g", "y", "h"])
    cells = frame.groupby(["g", "h"])["y"].nunique()
    if frame["y"].nunique() < 2 or (cells < 2).any():
        with pytest.raises(MitigationError):
            reweighing_weights(frame["y"], frame[["g", "h"]])
        return
    w = reweighing_weights(frame["y"], frame[["g", "h"]])
    joint = pd.Series(w).groupby([frame["g"], frame["h"], frame["y"]]).sum() / w.sum()
    p_group = pd.Series(w).groupby([frame["g"], frame["h"]]).sum() / w.sum()
    p_label = pd.Series(w).groupby(frame["y"]).sum() / w.sum()
    for (g, h, y), p in joint.items():
        assert p == pytest.approx(p_group[(g, h)] * p_label[y], abs=1e-12)


def test_hand_computed_case_and_table():
    y = [1, 1, 0, 1, 0, 0]
    s = ["a", "a", "a", "b", "b", "b"]
    # a: two 1s, one 0; b: one 1, two 0s; n = 6, every n_g = n_y = 3: w = 9 / (6 * n_gy)
    np.testing.assert_array_equal(reweighing_weights(y, s), [0.75, 0.75, 1.5, 1.5, 0.75, 0.75])
    fitted = Reweighing().fit(y, sensitive_features=pd.Series(s, name="grp"))
    table = fitted.weights_by_group_
    assert table.index.names == ["grp", "label"]
    assert table.index.tolist() == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]
    assert table["n"].tolist() == [1, 2, 2, 1]
    assert table["expected_n"].tolist() == [1.5, 1.5, 1.5, 1.5]
    assert table["weight"].tolist() == [1.5, 0.75, 0.75, 1.5]
    assert fitted.labels_.tolist() == [0, 1] and fitted.n_samples_ == 6 and fitted.sensitive_names_ == ["grp"]
    again = fitted.transform([0, 1], sensitive_features=pd.Series(["b", "b"], name="grp"))
    np.testing.assert_array_equal(again, [0.75, 1.5])


@pytest.mark.parametrize("make", [
    lambda s: s,  # list
    lambda s: np.array(s),
    lambda s: pd.Series(s, name="g"),
    lambda s: pd.Series(s, dtype="category").cat.add_categories(["unused"]),
    lambda s: pd.DataFrame({"g": s}),
    lambda s: np.array(s).reshape(-1, 1),
])
def test_input_shapes_give_the_same_weights(make):
    s = ["a", "b", "a", "b", "a", "b", "b"]
    y = [1, 0, 0, 1, 1, 0, 0]
    expected = _groupby_weights(pd.Series(y), pd.DataFrame({"g": s}))
    np.testing.assert_allclose(reweighing_weights(y, make(s)), expected, atol=1e-15)


def test_numeric_fast_paths_agree_with_strings():
    rng = np.random.default_rng(3)
    codes = rng.integers(-5, 1000, 3_000)
    codes[:2] = [-5, 999]
    y = rng.integers(0, 2, 3_000).astype(bool)
    codes = np.concatenate([codes, codes])  # every group twice, with both labels below
    y = np.concatenate([y, ~y])
    as_text = pd.DataFrame({"g": codes.astype(str)})
    expected = _groupby_weights(pd.Series(y), as_text)
    for group in (codes, codes.astype(float), codes.astype(np.int16)):
        np.testing.assert_allclose(reweighing_weights(y, group), expected, atol=1e-12)
    wide = codes.astype(np.int64) * 10_000_000  # a range too wide for the lookup table: hashed instead
    np.testing.assert_allclose(reweighing_weights(y, wide), expected, atol=1e-12)


def test_group_with_a_single_label_is_named():
    frame = pd.DataFrame({"sex": ["f", "f", "m", "m", "x", "x"], "age": [1, 1, 1, 1, 2, 2],
                          "y": [0, 1, 0, 1, 1, 1]})
    with pytest.raises(MitigationError) as err:
        reweighing_weights(frame["y"], frame[["sex", "age"]])
    assert str(err.value) == rw.GROUP_SINGLE_LABEL.format(group="sex=x, age=2", present="1", labels="0, 1")
    assert str(err.value) == ("Group sex=x, age=2 has only label 1 in y_true, so its reweighing weights are "
                              "undefined; every group needs rows of each label (0, 1): merge it with another "
                              "group or drop it.")


@pytest.mark.parametrize(("y", "s", "message"), [
    ([1, 1, 1], ["a", "b", "a"], rw.SINGLE_LABEL.format(label=1)),
    ([1, 0], ["a", "b", "a"], rw.LENGTH_MISMATCH.format(n_y=2, n_s=3)),
    ([], [], rw.EMPTY),
    ([1, None, 0], ["a", "a", "a"], rw.MISSING_LABEL.format(count=1)),
    ([1, 0, 0], pd.Series(["a", None, "a"], name="sex"), rw.MISSING_GROUP.format(column="sex", count=1)),
    ([1, 0], pd.DataFrame(index=[0, 1]), rw.NO_SENSITIVE),
])
def test_bad_input_is_one_sentence(y, s, message):
    with pytest.raises(MitigationError) as err:
        reweighing_weights(y, s)
    assert str(err.value) == message


def test_transform_errors():
    with pytest.raises(MitigationError) as err:
        Reweighing().transform([1], sensitive_features=["a"])
    assert str(err.value) == rw.NOT_FITTED
    fitted = Reweighing().fit([0, 1, 0, 1], sensitive_features=pd.Series(["a", "a", "b", "b"], name="g"))
    with pytest.raises(MitigationError) as err:
        fitted.transform([0, 1], sensitive_features=pd.Series(["a", "c"], name="g"))
    assert str(err.value) == rw.UNSEEN.format(row=1, group="g=c", label=1)
