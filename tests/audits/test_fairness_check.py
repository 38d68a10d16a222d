"""The dalex-style fairness check against fairlearn's MetricFrame, confusion matrices against sklearn."""

from __future__ import annotations

import numpy as np
import pytest
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from sklearn.metrics import accuracy_score, confusion_matrix, precision_score

from glasswing.audits import AuditError, confusion_by_group, fairness_check, group_metrics
from glasswing.reports.charts import confusion_figure, fairness_check_figure


@pytest.fixture(scope="module")
def audited():
    rng = np.random.default_rng(3)
    n = 900
    group = rng.choice(["a", "b", "c", "d"], n, p=[0.5, 0.3, 0.17, 0.03])
    y = rng.integers(0, 2, n)
    p = np.where(rng.random(n) < np.where(group == "b", 0.55, 0.8), y, 1 - y)
    return y, p, group, group_metrics(y, p, group)


def test_ratios_equal_fairlearn_metricframe_ratios(audited):
    y, p, group, gm = audited
    mf = MetricFrame(metrics={"true_positive_rate": true_positive_rate, "accuracy": accuracy_score,
                              "precision": precision_score, "false_positive_rate": false_positive_rate,
                              "selection_rate": selection_rate},
                     y_true=y, y_pred=p, sensitive_features=group)
    fc = fairness_check(gm, "a")
    expected = mf.by_group / mf.by_group.loc["a"]
    got = fc.ratios.set_index(["group", "metric"])["ratio"]
    for g in ("b", "c", "d"):
        for m in expected.columns:
            assert got.loc[(g, m)] == pytest.approx(expected.loc[g, m], rel=1e-12)
    within = fc.ratios.set_index(["group", "metric"])["within"]
    for (g, m), r in got.items():
        assert within.loc[(g, m)] == (0.8 <= r <= 1.25)
    # The default reference is the largest group; the verdict leaves out the small group d.
    assert fairness_check(gm).reference == "a"
    assert set(fc.outside["group"]) == {"b"} and " d: " not in fc.sentence
    assert fc.sentence.startswith(f"{len(fc.outside)} ratios to a fall outside 0.8 to 1.25: b: TPR ")


def test_band_and_bad_epsilon(audited):
    *_, gm = audited
    assert fairness_check(gm, epsilon=0.5).band == (0.5, 2.0)
    with pytest.raises(AuditError) as err:
        fairness_check(gm, epsilon=1.5)
    assert str(err.value) == "epsilon must be between 0 and 1 (the band is epsilon to 1/epsilon); got 1.5."


def test_confusion_matrix_by_group_equals_sklearn(audited):
    y, p, group, gm = audited
    table = confusion_by_group(gm)
    for g in ("a", "b", "c", "d"):
        k = group == g
        counts = confusion_matrix(y[k], p[k], labels=[1, 0])  # rows actual 1, 0; columns predicted 1, 0
        rates = confusion_matrix(y[k], p[k], labels=[1, 0], normalize="true")
        part = table[table["group"] == g].set_index("cell")
        assert part.loc[["TP", "FN", "FP", "TN"], "count"].tolist() == counts.ravel().tolist()
        np.testing.assert_allclose(part.loc[["TP", "FN", "FP", "TN"], "rate"], rates.ravel(), rtol=1e-12)


def test_figures_carry_the_numbers(audited):
    *_, gm = audited
    fc = fairness_check(gm, "a")
    fig = fairness_check_figure(fc)
    b = next(t for t in fig.data if t.name == "b")
    expected = fc.ratios[fc.ratios["group"] == "b"]["ratio"].to_numpy()
    np.testing.assert_allclose(np.asarray(b.x) + 1, expected)
    band = fig.layout.shapes[0]
    assert (band.x0, band.x1) == (0.8, 1.25)
    table = confusion_by_group(gm)
    heat = confusion_figure(table)
    assert len(heat.data) == 4
    part = table[table["group"] == "a"].set_index("cell")
    assert heat.data[0].z[0][0] == part.loc["TP", "rate"] and heat.data[0].z[1][1] == part.loc["TN", "rate"]
