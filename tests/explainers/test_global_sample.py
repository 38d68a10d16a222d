"""The global views' stratified sample, bootstrap intervals on mean |SHAP| and the background run.

References: stratum shares counted with pandas on the table itself; for the intervals, a linear model whose
mean |SHAP value| over the whole table is known in closed form, |coef| * mean |x - background mean|.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from glasswing import explainers
from glasswing.explainers._global_sample import ChunkedRun, mean_abs_intervals, stratified_positions
from glasswing.ingest import Model


def test_each_strata_share_of_the_sample_is_its_share_of_the_table_to_rounding():
    rng = np.random.default_rng(1)
    strata = rng.choice(["a", "b", "c", "rare"], size=1_000_000, p=[0.6, 0.3, 0.0995, 0.0005])
    picked = stratified_positions(strata, 1000, seed=0)
    assert len(picked) == 1000 and len(np.unique(picked)) == 1000 and (np.diff(picked) > 0).all()
    population = pd.Series(strata).value_counts(normalize=True)
    sample = pd.Series(strata[picked]).value_counts()
    for stratum, share in population.items():
        assert abs(sample.get(stratum, 0) - 1000 * share) < 1, stratum
    assert stratified_positions(strata, 1000, seed=0).tolist() == picked.tolist()  # seeded
    assert stratified_positions(strata, 1000, seed=1).tolist() != picked.tolist()


def test_missing_values_are_a_stratum_and_a_large_n_takes_every_row():
    strata = pd.Series(["x", None, "x", None, "y", "x"] * 100)
    picked = stratified_positions(strata, 60, seed=3)
    assert strata.iloc[picked].isna().sum() == 20 and (strata.iloc[picked] == "x").sum() == 30
    assert stratified_positions(strata, 10_000, seed=0).tolist() == list(range(600))


def test_a_constant_attribution_has_a_zero_width_interval():
    values = np.column_stack([np.full(50, -2.0), np.arange(50.0)])
    out = mean_abs_intervals(values, ["flat", "ramp"], seed=0)
    assert out.low[0] == out.high[0] == 2.0
    assert out.low[1] < np.arange(50.0).mean() < out.high[1]
    assert out.frame().index.tolist() == ["ramp", "flat"] and out.n_rows == 50 and out.n_resamples == 200


def test_intervals_cover_the_whole_tables_mean_abs_shap_of_a_linear_model():
    rng = np.random.default_rng(0)
    n = 100_000
    X = pd.DataFrame({"a": rng.normal(0, 1, n), "b": rng.exponential(2.0, n), "c": rng.uniform(-3, 3, n)})
    y = (X["a"] - 0.3 * X["b"] + 0.5 * X["c"] + rng.logistic(size=n) > 0).astype(int)
    lr = LogisticRegression().fit(X, y)
    model = Model.from_estimator(lr, name="linear", sha256="linear")
    background = X.iloc[:100]
    known = np.abs(lr.coef_[0]) * np.abs(X - background.mean()).mean().to_numpy()  # closed form
    predicted = lr.predict(X)
    covered = np.zeros(3)
    trials = 30
    for seed in range(trials):
        picked = stratified_positions(predicted, 1000, seed=seed)
        exps = explainers.explain(model, X.iloc[picked], method="shap", target=1, background=background,
                                  background_size=100)
        out = mean_abs_intervals([e.values for e in exps], ["a", "b", "c"], strata=predicted[picked],
                                 seed=seed)
        covered += (out.low <= known) & (known <= out.high)
        assert (out.high - out.low < 0.2 * known).all()  # informative, not vacuous
    assert (covered / trials >= 0.8).all(), covered  # 95% intervals: about 28.5 of 30 expected


def test_a_background_run_can_be_stopped_between_chunks():
    gate = threading.Event()

    def work(chunk):
        gate.wait(5)
        return list(chunk)

    run = ChunkedRun(work, [[1, 2], [3, 4], [5]], label="rows").start()
    assert run.running and run.fraction == 0.0
    run.stop()
    gate.set()
    assert run.wait(5)
    assert run.state == "stopped" and run.result is None and run.fraction == pytest.approx(0.4)
    assert run.message == "Explained 2 of 5 rows"


def test_a_failing_chunk_ends_the_run_with_a_sentence():
    def work(chunk):
        raise explainers.ExplainerError("There are no rows to explain.")

    run = ChunkedRun(work, [[1]]).start()
    assert run.wait(5)
    assert run.state == "failed" and run.result is None
    assert run.error == "The background run stopped on an error: There are no rows to explain."


def test_the_importance_chart_draws_each_interval_around_its_own_bar():
    from glasswing.explainers import Explanation
    from glasswing.explainers._global_sample import MeanAbsIntervals
    from glasswing.reports import charts

    rows = [Explanation("shap", "", 1, np.array(v), ("a", "b"), output="log-odds")
            for v in ([1.0, -3.0], [-1.0, 1.0])]  # mean |values|: a 1.0, b 2.0
    ci = MeanAbsIntervals(("a", "b"), np.array([1.0, 2.0]), np.array([0.5, 1.0]), np.array([1.25, 3.5]), 2,
                          200, 0.95, False)
    bar = charts.shap_importance_figure(rows, intervals=ci).data[0]
    assert bar.y == ("b", "a")
    np.testing.assert_allclose(bar.error_x.array, [1.5, 0.25])  # high - mean, largest mean first
    np.testing.assert_allclose(bar.error_x.arrayminus, [1.0, 0.5])
    assert charts.shap_importance_figure(rows, intervals=ci).layout.title.text == (
        "Mean |SHAP value| over 2 rows for class 1, 95% bootstrap intervals")
