"""Chart labels that stay readable: wrapped group names, legends and line labels off the data.

Planted names and counts; the figures are checked as data (plotly layout, matplotlib SVG text).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from glasswing.audits import group_metrics
from glasswing.audits._table import wrap_label
from glasswing.reports.charts import calibration_figure, fairness_bars, four_fifths_figure

LONG = "Autonomous Region of the Far South-Western Islands"


@pytest.mark.parametrize(("text", "expected"), [
    ("F · 25-44", "F · 25-44"),  # short: untouched
    ("South-East Coastal · 25-34", "South-East Coastal · 25-34"),
    (f"{LONG} · 45-54", "Autonomous Region of the\nFar South-Western I… · 45-54"),  # the band kept
    ("a · b · c · d · e · f · g · h · i · j · k · l · m · n · o · p",
     "a · b · c · d · e · f · g ·\nh · i · j · k · l · m · n …"),
])
def test_wrap_label_by_hand(text, expected):
    assert wrap_label(text) == expected


def test_wrap_label_keeps_every_part_and_its_width():
    for width, lines in ((12, 2), (18, 2), (28, 2), (20, 1)):
        shown = wrap_label(f"{LONG} · 45-54 · F", width, lines)
        rows = shown.split("\n")
        assert len(rows) <= lines and all(len(r) <= width for r in rows), (width, shown)
        assert shown.startswith("Autono") and shown.endswith("45-54 · F"), shown  # every part starts


@pytest.fixture(scope="module")
def gm():
    rng = np.random.default_rng(0)
    names = np.array([LONG, "North", "West"])
    s = names[rng.choice(3, 900, p=[0.4, 0.4, 0.2])]
    y = rng.integers(0, 2, 900)
    score = np.clip(0.4 * y + 0.1 * (s == "North") + rng.random(900) * 0.5, 0, 1)
    return group_metrics(y, None, pd.Series(s, name="region"), y_score=score, threshold=0.5)


def test_group_ticks_wrap_and_the_data_keeps_full_names(gm):
    for fig in (fairness_bars(gm), four_fifths_figure(gm.four_fifths())):
        axis = fig.layout.xaxis
        assert LONG in list(fig.data[0].x)  # hover and data: the full name
        shown = dict(zip(axis.tickvals, axis.ticktext, strict=True))
        assert shown["North"] == "North"
        assert shown[LONG] == "Autonomous Region<br>of the Far South…"
        assert all(len(line) <= 18 for t in axis.ticktext for line in t.split("<br>"))


def test_legend_beside_the_plot_not_over_the_axis_title(gm):
    fig = calibration_figure(gm)
    legend = fig.layout.legend
    assert legend.orientation == "v" and legend.x >= 1 and legend.xanchor == "left"  # right of the plot area
    assert fig.layout.xaxis.title.text == "mean score in bin"
    names = [t.name for t in fig.data[1:]]
    assert "Autonomous Region of the<br>Far South-Western Islan…" in names  # 24 characters a line
    assert any(LONG in t.hovertemplate for t in fig.data[1:])


def test_four_fifths_label_in_the_margin_level_with_its_line(gm):
    ff = gm.four_fifths()
    fig = four_fifths_figure(ff)
    (note,) = fig.layout.annotations
    assert note.text == "four-fifths<br>line (0.8)"
    assert (note.xref, note.x, note.xanchor, note.yref, note.y) == ("paper", 1, "left", "y", 0.8)
    assert fig.layout.margin.r >= 80  # room for it outside the bars
    assert fig.layout.shapes[0].y0 == 0.8


def test_confusion_titles_one_line_each_full_name_on_hover(gm):
    from glasswing.audits import confusion_by_group
    from glasswing.reports.charts import confusion_figure

    fig = confusion_figure(confusion_by_group(gm))
    titles = [a.text for a in fig.layout.annotations if " (n = " in a.text]
    n = {g: int(c) for g, c in gm.counts["n"].items()}
    assert titles == [f"{wrap_label(LONG, 22, 1)} (n = {n[LONG]:,})", f"North (n = {n['North']:,})",
                      f"West (n = {n['West']:,})"]
    assert titles[0].startswith("Autonomous Re") and "<br>" not in titles[0] and len(titles[0]) <= 22 + 12
    assert fig.data[0].hovertemplate.startswith(LONG)
