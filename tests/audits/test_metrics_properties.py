"""Hypothesis properties of group metrics: row order changes nothing; duplicating the data keeps every rate
and narrows every interval; any small data set matches fairlearn's MetricFrame."""

from __future__ import annotations

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, selection_rate, true_positive_rate
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from glasswing.audits import group_metrics

RATES = ["selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy"]


@st.composite
def audits_data(draw, min_size=2, max_size=60):
    n = draw(st.integers(min_size, max_size))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    p = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    g = np.array(draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n)))
    assume(len(set(g)) >= 2)
    return y, p, g


FAST = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@FAST
@given(audits_data(), st.randoms(use_true_random=False))
def test_row_order_changes_nothing(data, rnd):
    y, p, g = data
    order = np.array(rnd.sample(range(len(y)), len(y)))
    a = group_metrics(y, p, g, n_boot=200)
    b = group_metrics(y[order], p[order], g[order], n_boot=200)
    pd.testing.assert_frame_equal(a.by_group, b.by_group)
    pd.testing.assert_frame_equal(a.intervals, b.intervals)
    pd.testing.assert_frame_equal(a.disparities(), b.disparities())
    assert pd.Series(a.summary()).equals(pd.Series(b.summary()))


@FAST
@given(audits_data(), st.integers(2, 4))
def test_duplicating_keeps_rates_and_narrows_wilson_intervals(data, k):
    y, p, g = data
    a = group_metrics(y, p, g)
    b = group_metrics(np.tile(y, k), np.tile(p, k), np.tile(g, k))
    np.testing.assert_allclose(b.by_group[RATES].to_numpy(), a.by_group[RATES].to_numpy(), rtol=0, atol=1e-12)
    assert (b.by_group["n"] == k * a.by_group["n"]).all()
    for m in RATES:
        width_a = a.intervals[(m, "high")] - a.intervals[(m, "low")]
        width_b = b.intervals[(m, "high")] - b.intervals[(m, "low")]
        defined = ~a.undefined[m]
        assert (width_b[defined] < width_a[defined] + 1e-12).all()
        assert (width_b[~defined] == 1.0).all()


@settings(max_examples=25, deadline=None, derandomize=True)
@given(audits_data(min_size=50, max_size=200))
def test_duplicating_narrows_bootstrap_intervals(data):
    y, p, g = data
    sizes = pd.Series(g).value_counts()
    assume(sizes.min() >= 15)
    a = group_metrics(y, p, g, n_boot=2000, seed=3).disparities()
    b = group_metrics(np.tile(y, 4), np.tile(p, 4), np.tile(g, 4), n_boot=2000, seed=3).disparities()
    np.testing.assert_allclose(b["value"], a["value"], atol=1e-12, equal_nan=True)
    for name in ("demographic_parity_difference", "equal_opportunity_difference"):
        width_a = a.loc[name, "high"] - a.loc[name, "low"]
        width_b = b.loc[name, "high"] - b.loc[name, "low"]
        assert width_b <= width_a + 1e-9, name


@settings(max_examples=30, deadline=None, derandomize=True)
@given(audits_data(min_size=4, max_size=40))
def test_any_small_data_matches_fairlearn(data):
    y, p, g = data
    gm = group_metrics(y, p, g)
    mf = MetricFrame(metrics={"selection_rate": selection_rate, "true_positive_rate": true_positive_rate},
                     y_true=y, y_pred=p, sensitive_features=g)
    np.testing.assert_allclose(gm.by_group[list(mf.by_group.columns)].to_numpy(),
                               mf.by_group.to_numpy(dtype=float), rtol=0, atol=1e-12)
    np.testing.assert_allclose(gm.difference()[list(mf.by_group.columns)], mf.difference(), atol=1e-12)
