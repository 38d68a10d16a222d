"""The fairness chart builders (reports.charts._fairness) tested as data: traces, values, titles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from glasswing.audits import GroupMetrics, group_metrics, threshold_sweep
from glasswing.reports.charts import (
    calibration_figure,
    disparity_figure,
    fairness_bars,
    four_fifths_figure,
    threshold_figure,
)


@pytest.fixture(scope="module")
def gm():
    rng = np.random.default_rng(0)
    n = 900
    s = rng.choice(["a", "b", "c"], n, p=[0.5, 0.48, 0.02])
    y = rng.integers(0, 2, n)
    score = np.clip(0.4 * y + 0.1 * (s == "a") + rng.random(n) * 0.5, 0, 1)
    return group_metrics(y, None, pd.Series(s, name="grp"), y_score=score, threshold=0.5)


def test_bars_with_wilson_error_bars_and_hatched_small_groups(gm):
    fig = fairness_bars(gm, ["selection_rate", "true_positive_rate"])
    assert [t.name for t in fig.data] == ["Selection rate", "TPR"]
    bar = fig.data[0]
    assert list(bar.x) == ["a", "b", "c"]
    np.testing.assert_allclose(bar.y, gm.by_group["selection_rate"])
    np.testing.assert_allclose(np.asarray(bar.y) + np.asarray(bar.error_y.array),
                               gm.intervals[("selection_rate", "high")])
    np.testing.assert_allclose(np.asarray(bar.y) - np.asarray(bar.error_y.arrayminus),
                               gm.intervals[("selection_rate", "low")])
    assert list(bar.marker.pattern.shape) == ["", "", "/"]  # c has 18 rows < 30
    assert fig.layout.title.text == "Selection rate and TPR by group, 95% Wilson intervals"
    with pytest.raises(ValueError, match="Unknown metric 'nope'"):
        fairness_bars(gm, ["nope"])


def test_disparities_marked_when_distinguishable(gm):
    fig = disparity_figure(gm)
    table = gm.disparities().loc[lambda t: t.index.str.endswith("_difference")]
    (trace,) = fig.data
    np.testing.assert_allclose(trace.x, table["value"])
    assert list(trace.y) == ["Demographic parity difference", "Equalized odds difference",
                             "Equal opportunity difference", "Predictive parity difference"]
    expected = ["#c0392b" if d else "#9aa5b1" for d in table["distinguishable"]]
    assert list(trace.marker.color) == expected


def test_four_fifths_bars_and_line():
    counts = pd.DataFrame({"tn": [50, 60], "fp": [10, 30], "fn": [10, 5], "tp": [30, 5]},
                          index=pd.Index(["x", "y"], name="g"))
    ff = GroupMetrics.from_counts(counts).four_fifths()
    fig = four_fifths_figure(ff)
    np.testing.assert_allclose(fig.data[0].y, [1.0, 0.35 / 0.4])
    assert fig.layout.shapes[0].y0 == 0.8
    assert fig.layout.title.text == "Four-fifths rule: met"


def test_threshold_and_calibration(gm):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    score = rng.random(300)
    s = pd.Series(rng.choice(["p", "q"], 300), name="grp")
    sweep = threshold_sweep(y, score, s, thresholds=[0.2, 0.5, 0.8])
    fig = threshold_figure(sweep, 0.5)
    # Per group: its selection rate (left panel), then its TPR (right panel).
    assert [(t.name, t.xaxis) for t in fig.data] == [("p", "x"), ("p", "x2"), ("q", "x"), ("q", "x2")]
    q = s == "q"
    assert list(fig.data[2].y) == pytest.approx([(score[q] >= t).mean() for t in (0.2, 0.5, 0.8)])
    assert fig.layout.title.text == "Rates by grp as the threshold moves (now 0.50)"
    cal = calibration_figure(gm)
    assert cal.data[0].name == "perfectly calibrated" and len(cal.data) == 4
    rel = gm.reliability[gm.reliability["group"] == 0]
    np.testing.assert_allclose(cal.data[1].y, rel["positive_rate"])


# --- layout: what the usability walk found covered or cut (issue 14) ------------------------------------
LONG = ["female applicants under twenty-five", "male applicants over sixty years of age", "B"]


@pytest.fixture(scope="module")
def long_names():
    rng = np.random.default_rng(2)
    s = rng.choice(LONG, 600)
    y = rng.integers(0, 2, 600)
    score = np.clip(0.3 * y + 0.2 * (s == "B") + rng.random(600) * 0.5, 0, 1)
    return group_metrics(y, None, pd.Series(s, name="applicant group"), y_score=score, threshold=0.5)


def test_legends_stand_right_of_the_plot_clear_of_the_x_axis_title(long_names):
    sweep = threshold_sweep([0, 1] * 50, np.linspace(0, 1, 100), pd.Series(["p", "q"] * 50, name="g"),
                            thresholds=[0.3, 0.6])
    for fig in (calibration_figure(long_names), fairness_bars(long_names), threshold_figure(sweep, 0.5)):
        legend = fig.layout.legend
        # right of the plot area (paper x > 1), top-aligned: the x-axis title lies below the plot area
        assert legend.orientation == "v" and legend.x > 1 and legend.xanchor == "left"
        assert (legend.y, legend.yanchor) == (1.0, "top")
        assert fig.layout.xaxis.title.text and fig.layout.xaxis.automargin


def test_long_group_names_are_wrapped_in_full_not_tilted_off_the_edge(long_names):
    for fig in (fairness_bars(long_names), four_fifths_figure(long_names.four_fifths())):
        axis = fig.layout.xaxis
        assert axis.tickangle == 0 and list(axis.tickvals) == sorted(LONG)
        for shown, name in zip(axis.ticktext, axis.tickvals, strict=True):
            lines = shown.split("<br>")
            assert " ".join(lines) == name  # every word is shown
            assert max(len(line) for line in lines) <= 18  # no line runs into the next bar's label
    cal = calibration_figure(long_names)
    assert [t.name.replace("<br>", " ") for t in cal.data[1:]] == sorted(LONG)
    ff = four_fifths_figure(long_names.four_fifths())
    assert ff.layout.yaxis.title.text == "ratio to the reference group's rate"  # no name to cut off
    reference = long_names.four_fifths().reference
    assert ff.layout.title.subtitle.text.replace("<br>", " ") == f"selection rate / rate of {reference}"


def test_four_fifths_label_sits_in_the_margin_beside_the_bars(long_names):
    ff = long_names.four_fifths()
    fig = four_fifths_figure(ff)
    (note,) = fig.layout.annotations
    assert note.text == "four-fifths<br>line (0.8)"
    # x in paper units: 1 is the plot area's right edge; the bars all lie left of it
    assert (note.xref, note.x, note.xanchor) == ("paper", 1.0, "left") and note.yref == "y"
    assert note.y == ff.threshold == fig.layout.shapes[0].y0
    assert fig.layout.margin.r >= 80  # room for the label's longest line
