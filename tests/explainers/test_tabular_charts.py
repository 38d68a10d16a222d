"""Tabular explanation charts, tested as data (traces, values, titles) on hand-made explanations."""

from __future__ import annotations

import numpy as np
import pytest

from glasswing.explainers import Explanation
from glasswing.reports import charts

NAMES = ("age", "housing", "duration")


def exp(values, data, base=0.5, method="shap", **kw):
    values = np.asarray(values, dtype=float)
    return Explanation(method, "TreeExplainer", 1, values, NAMES, data=np.asarray(data, dtype=object),
                       base_value=base, prediction=None if base is None else base + values.sum(),
                       output="log-odds", **kw)


ROWS = [exp([0.2, -1.0, 0.1], [25, "own", 12]), exp([-0.4, 0.5, 0.3], [60, "rent", 48]),
        exp([0.6, 0.0, -0.2], [40, "own", 24])]


def test_importance_is_mean_absolute_value_sorted():
    fig = charts.shap_importance_figure(ROWS)
    # |values| column means: age (0.2+0.4+0.6)/3 = 0.4, housing 0.5, duration 0.2
    assert fig.data[0].y == ("housing", "age", "duration")
    np.testing.assert_allclose(fig.data[0].x, [0.5, 0.4, 0.2])
    assert fig.layout.title.text == "Mean |SHAP value| over 3 rows for class 1"
    assert fig.layout.xaxis.title.text == "mean |SHAP value| (log-odds)"


def test_beeswarm_puts_numeric_dots_on_a_colour_scale_and_categories_in_grey():
    fig = charts.beeswarm_figure(ROWS)
    numeric, categorical = fig.data
    assert sorted(numeric.x) == sorted([0.2, -0.4, 0.6, 0.1, 0.3, -0.2])  # age and duration
    assert sorted(categorical.x) == [-1.0, 0.0, 0.5]  # housing
    np.testing.assert_allclose(np.round(categorical.y), [0, 0, 0])  # housing is the top row
    # age 25, 60, 40 -> ranks 1/3, 1, 2/3 (age is the second row, y near 1)
    age = [c for c, y in zip(numeric.marker.color, numeric.y, strict=True) if round(y) == 1]
    np.testing.assert_allclose(age, [1 / 3, 1.0, 2 / 3])
    assert fig.layout.yaxis.ticktext == ("housing", "age", "duration")


def test_dependence_plot_colours_by_a_categorical_feature():
    fig = charts.dependence_figure(ROWS, "age", color_by="housing")
    assert [t.name for t in fig.data] == ["own", "rent"]
    np.testing.assert_allclose(fig.data[0].x, [25, 40])
    np.testing.assert_allclose(fig.data[0].y, [0.2, 0.6])
    numeric = charts.dependence_figure(ROWS, "housing", color_by="duration")
    assert list(numeric.data[0].x) == ["own", "rent", "own"]
    np.testing.assert_allclose(numeric.data[0].marker.color, [12, 48, 24])
    with pytest.raises(ValueError, match="There is no feature called 'income'"):
        charts.dependence_figure(ROWS, "income")


def test_waterfall_steps_from_base_value_to_the_output():
    e = exp([0.2, -1.0, 0.1], [25, "own", 12], base=0.5)
    fig = charts.waterfall_figure(e, max_display=2)
    (w,) = fig.data
    assert w.measure == ("absolute", "relative", "relative", "relative", "total")
    assert w.y == ("base value", "housing = own", "age = 25", "1 other features", "model output")
    np.testing.assert_allclose(w.x, [0.5, -1.0, 0.2, 0.1, -0.2])
    assert fig.layout.title.text == "SHAP: why -0.200 (log-odds) for class 1"


def test_lime_bars_use_rules_and_skip_zero_weights():
    e = exp([0.05, -0.2, 0.0], [25, "own", 12], base=None, method="lime",
            extras={"rules": {"age": "age <= 27.00", "housing": "housing=own"}, "score": 0.41})
    fig = charts.lime_figure(e)
    assert fig.data[0].y == ("housing=own", "age <= 27.00")
    np.testing.assert_allclose(fig.data[0].x, [-0.2, 0.05])
    assert fig.layout.title.text == "LIME: local weights for class 1 (local fit R² 0.41)"


def test_permutation_importance_bars_carry_the_spread():
    e = Explanation("permutation_importance", "sklearn", None, np.array([0.01, 0.08, 0.03]), NAMES,
                    extras={"std": np.array([0.001, 0.02, 0.005]), "n_rows": 300}, output="accuracy drop")
    fig = charts.permutation_importance_figure(e)
    assert fig.data[0].y == ("housing", "duration", "age")
    np.testing.assert_allclose(fig.data[0].error_x.array, [0.02, 0.005, 0.001])
    assert fig.layout.title.text == "Permutation importance over 300 rows"
