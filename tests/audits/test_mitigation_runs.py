"""Long mitigation runs: exponentiated gradient is bounded by default, reports each refit, and stops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.reductions import DemographicParity, ExponentiatedGradient
from sklearn.linear_model import LogisticRegression

from glasswing import audits
from glasswing.audits import _mitigation as mit
from glasswing.ingest import ColumnRoles, Dataset, Model

FITS: list[int] = []  # one entry per call of CountingLogit.fit (an independent count of the refits)


class CountingLogit(LogisticRegression):
    """A logistic regression that records every fit, so the test counts refits without the code's help."""

    def fit(self, X, y, sample_weight=None):  # noqa: N803
        FITS.append(len(X))
        return super().fit(X, y, sample_weight=sample_weight)


def planted(n: int, seed: int) -> Dataset:
    """Synthetic rows with a planted bias: group "b" gets the positive label less often at equal x."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], size=n, p=[0.6, 0.4])
    x = rng.normal(size=(n, 3))
    logit = x[:, 0] + 0.5 * x[:, 1] - 1.2 * (group == "b")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1] + 0.8 * (group == "b"), "x2": x[:, 2], "g": group,
                          "y": y})
    return Dataset(frame, ColumnRoles(target="y", sensitive=("g",), features=("x0", "x1", "x2")),
                   f"planted{seed}", f"{seed}" * 64)


@pytest.fixture(scope="module")
def rows():
    train, test = planted(25_000, 1), planted(5_000, 2)
    estimator = CountingLogit().fit(train.frame[["x0", "x1", "x2"]], train.frame["y"])
    return Model.from_estimator(estimator, name="logit", sha256="c" * 64), train, test


def test_default_run_on_25000_rows_is_bounded_and_reports_each_iteration(rows):
    model, train, test = rows
    FITS.clear()
    seen = []
    result = audits.mitigate(model, train, test, method="exponentiated_gradient",
                             progress=lambda f, m: seen.append((f, m)))
    assert all(n == 25_000 for n in FITS)  # every refit saw the whole training data
    iterations = result.estimator.lambda_vecs_EG_.shape[1]  # fairlearn's own record, one column each
    assert mit.EG_MAX_ITER == 10 and 1 <= iterations <= 10
    # fairlearn refits at most 9 times an iteration: once, then up to 4 + 4 for the duality gaps
    assert len(FITS) <= 9 * 10
    assert result.params["fits"] == len(FITS) == (result.estimator.n_oracle_calls_
                                                  - result.estimator.n_oracle_calls_dummy_returned_)
    assert result.params["iterations"] == iterations and result.params["max_iter"] == 10
    # One message per iteration, counting up: "Iteration 1 of at most 10 done (2 fits of the model); ..."
    messages = [m for _, m in seen if m.startswith("Iteration ")]
    assert [m.split(" done")[0] for m in messages] == [
        f"Iteration {k} of at most 10" for k in range(1, iterations + 1)]
    fits = [int(m.split("(")[1].split(" ")[0]) for m in messages]
    assert fits == sorted(fits) and fits[-1] == len(FITS)
    assert all(m.endswith(" left") for m in messages if not m.startswith("Iteration 10 "))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    before, after = result.disparity()
    assert after < before - 0.05  # the planted demographic parity gap shrinks on held-out rows


def test_bounded_run_equals_fairlearn_with_the_same_bound(rows):
    model, train, test = rows
    result = audits.mitigate(model, train, test, method="exponentiated_gradient", max_iter=4, seed=3)
    direct = ExponentiatedGradient(CountingLogit(random_state=3), DemographicParity(), max_iter=4)
    direct.fit(train.X, (train.y_true == 1).astype(int), sensitive_features=train.frame["g"])
    np.testing.assert_array_equal(result.y_pred_after, direct.predict(test.X, random_state=3))
    assert result.params["iterations"] == direct.lambda_vecs_EG_.shape[1] <= 4


def test_stop_ends_the_run_between_two_refits(rows):
    model, train, test = rows
    FITS.clear()
    calls = []

    def stop() -> bool:
        calls.append(len(FITS))
        return len(FITS) >= 4  # the user presses Stop after the fourth refit

    with pytest.raises(mit.MitigationStopped) as err:
        audits.mitigate(model, train, test, method="exponentiated_gradient", stop=stop)
    assert len(FITS) == 4 and calls == [0, 1, 2, 3, 4]
    # iteration 1 refits twice (best response, one gap check), iteration 2 three times (+ the LP's check)
    assert str(err.value) == ("Stopped after 1 of at most 10 iterations (4 fits of the model); "
                              "nothing was kept.")
    assert isinstance(err.value, audits.MitigationError)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "10"])
def test_bad_iteration_bound_is_one_sentence(rows, bad):
    with pytest.raises(audits.MitigationError) as err:
        audits.mitigate(*rows, method="exponentiated_gradient", max_iter=bad)
    assert str(err.value) == mit.BAD_MAX_ITER.format(value=bad)


def test_sensitive_columns_chosen_for_the_run(rows):
    model, train, test = rows
    frame = test.frame.assign(band=np.where(test.frame["x2"] > 0, "high", "low"))
    data = Dataset(frame, test.roles, "with band", "d" * 64)
    result = audits.mitigate(model, train.__class__(train.frame.assign(
        band=np.where(train.frame["x2"] > 0, "high", "low")), train.roles, "t", "e" * 64), data,
        method="threshold_optimizer", sensitive=["band"])
    assert result.params["sensitive"] == ["band"]
    assert result.before.labels == ["high", "low"]
