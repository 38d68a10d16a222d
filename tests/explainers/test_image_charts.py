"""The image charts of ``reports.charts`` (they draw image explanations), tested as data."""

from __future__ import annotations

import numpy as np
import pytest

from glasswing.explainers import Explanation
from glasswing.explainers.faithfulness import DeletionCurve
from glasswing.reports.charts import (
    deletion_figure,
    group_maps_figure,
    heatmap_figure,
    overlay_image,
    top_predictions_figure,
)
from glasswing.reports.charts._image import UNKNOWN_COLORMAP


def test_overlay_blends_the_colour_map_into_the_image():
    image = np.full((2, 2, 3), 200, np.uint8)
    values = np.array([[0.0, 1.0], [0.5, 0.0]])
    assert np.array_equal(overlay_image(image, values, opacity=0.0), image)
    # jet: 0 -> (0, 0, 0.5), 1 -> (0.5, 0, 0) in [0, 1] RGB
    full = overlay_image(image, values, opacity=1.0)
    assert full[0, 0].tolist() == [0, 0, 128] and full[0, 1].tolist() == [128, 0, 0]
    half = overlay_image(image, values, opacity=0.5)
    assert half[0, 1].tolist() == [164, 100, 100]  # (200 + 127.5) / 2, 200 / 2, 200 / 2
    # a signed map is coloured around 0: -1 takes the low end, 0 the middle
    signed = overlay_image(image, np.array([[-1.0, 0.0], [1.0, 0.0]]), opacity=1.0, colormap="RdBu_r")
    import matplotlib

    assert signed[0, 1].tolist() == list(np.rint(np.array(matplotlib.colormaps["RdBu_r"](0.5)[:3]) * 255))
    with pytest.raises(ValueError) as err:
        overlay_image(image, values, colormap="rainbow")
    assert str(err.value) == UNKNOWN_COLORMAP.format(name="rainbow", choices="jet, inferno, viridis, RdBu_r")


def test_heatmap_figure_puts_the_map_over_the_image_and_shrinks_big_ones():
    image = np.zeros((600, 300, 3), np.uint8)
    values = np.linspace(0, 1, 600 * 300).reshape(600, 300)
    fig = heatmap_figure(Explanation("gradcam", "a", "cat", values, data=image, prediction=0.25),
                         opacity=0.3, colormap="inferno")
    picture, heat = fig.data
    assert picture.type == "image" and heat.type == "heatmap"
    assert np.asarray(heat.z).shape == (200, 100) and heat.dx == heat.dy == 3  # every 3rd pixel
    assert np.asarray(picture.z).shape == (200, 100, 3) and picture.dx == 3
    assert heat.opacity == 0.3 and (heat.zmin, heat.zmax) == (0.0, 1.0)
    assert fig.layout.title.text == "gradcam: class cat (p = 0.25)"
    assert fig.layout.yaxis.autorange == "reversed"
    signed = heatmap_figure(Explanation("integrated_gradients", "a", "cat", values - 0.5, data=image))
    assert (signed.data[1].zmin, signed.data[1].zmax) == (-1.0, 1.0)


def test_deletion_figure_draws_both_orders():
    curve = DeletionCurve(fractions=np.linspace(0, 1, 3), scores=np.array([0.9, 0.2, 0.1]),
                          random_scores=np.array([0.9, 0.6, 0.1]), auc=0.35, random_auc=0.55, target="3",
                          fill="black")
    fig = deletion_figure(curve)
    assert [list(t.x) for t in fig.data] == [[0.0, 50.0, 100.0]] * 2
    assert list(fig.data[0].y) == [0.9, 0.2, 0.1] and list(fig.data[1].y) == [0.9, 0.6, 0.1]
    assert [t.name for t in fig.data] == ["Map order (area 0.35)", "Random order (area 0.55)"]
    assert fig.layout.title.text == "Deletion curve: probability of class 3"
    assert fig.layout.xaxis.title.text == "Pixels removed (% of the image, filled black)"
    # The x-axis title has a bottom margin of its own and the legend stands above the plot (paper y > 1):
    # with the legend below and a 10-pixel margin the title was clipped.
    assert fig.layout.margin.b >= 45 and fig.layout.xaxis.automargin
    assert fig.layout.legend.y > 1 and fig.layout.legend.yanchor == "bottom"


def test_top_predictions_keep_the_k_most_probable():
    fig = top_predictions_figure([0.05, 0.6, 0.1, 0.25], ["a", "b", "c", "d"], k=3)
    assert list(fig.data[0].y) == ["c", "d", "b"] and list(fig.data[0].x) == [0.1, 0.25, 0.6]
    assert fig.layout.title.text == "Top 3 predictions"


def test_group_maps_share_one_colour_range():
    maps = {"no": np.zeros((4, 4)), "yes": np.full((4, 4), 0.5)}
    fig = group_maps_figure(maps, column="watermark", accuracy={"no": 1.0, "yes": 0.9},
                            counts={"no": 10, "yes": 10})
    assert [(t.zmin, t.zmax) for t in fig.data] == [(0.0, 1.0), (0.0, 1.0)]
    assert [t.showscale for t in fig.data] == [False, True]
    assert [a.text for a in fig.layout.annotations] == ["watermark = no (n = 10, accuracy 1.00)",
                                                        "watermark = yes (n = 10, accuracy 0.90)"]
    np.testing.assert_array_equal(np.asarray(fig.data[1].z), maps["yes"])
