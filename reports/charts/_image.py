"""Image explanation charts: a heatmap over its image, the deletion curve, top predictions, maps per group.

Every builder reads ``Explanation`` objects (or the faithfulness results of ``explainers.faithfulness``)
and returns a plotly figure; :func:`overlay_image` blends a map into its image as pixels, for PNG
downloads and the PDF report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

#: Colour maps offered for heatmaps: names plotly and matplotlib both know.
COLORMAPS = ("jet", "inferno", "viridis", "RdBu_r")
#: Figures show images at most this many pixels on a side (larger ones are shrunk for the browser).
DISPLAY_SIDE = 256
MAP_COLOR, RANDOM_COLOR = "#d62728", "#9aa5b1"
UNKNOWN_COLORMAP = "Colour map '{name}' is not offered; choose one of: {choices}."


def _check_colormap(name: str) -> None:
    if name not in COLORMAPS:
        raise ValueError(UNKNOWN_COLORMAP.format(name=name, choices=", ".join(COLORMAPS)))


def _range(values: np.ndarray) -> tuple[float, float]:
    """Colour range: [0, 1] for a map of evidence for the class, [-1, 1] for a signed map."""
    return (-1.0, 1.0) if float(np.min(values)) < 0 else (0.0, 1.0)


def _shrink(array: np.ndarray, side: int = DISPLAY_SIDE) -> np.ndarray:
    """Every k-th pixel so that the longer side is at most ``side`` (enough for a screen-sized figure)."""
    step = max(1, int(np.ceil(max(array.shape[:2]) / side)))
    return array[::step, ::step]


def overlay_image(image: np.ndarray, values: np.ndarray, *, opacity: float = 0.5,
                  colormap: str = "jet") -> np.ndarray:
    """Blend a map into its image: ``(1 - opacity) * image + opacity * colour(map)``, as uint8 RGB.

    Parameters
    ----------
    image : numpy.ndarray
        RGB ``uint8`` image ``(H, W, 3)``.
    values : numpy.ndarray
        Its map ``(H, W)``, in [0, 1] (or [-1, 1] for signed maps, coloured around 0).
    opacity : float, default 0.5
        0 shows the image only, 1 the map only.
    colormap : str, default "jet"
        One of :data:`COLORMAPS`.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` uint8.

    Examples
    --------
    >>> overlay_image(np.zeros((1, 1, 3), np.uint8), np.ones((1, 1)), opacity=1.0)[0, 0].tolist()
    [128, 0, 0]
    """
    import matplotlib

    _check_colormap(colormap)
    values = np.asarray(values, dtype=float)
    lo, hi = _range(values)
    colours = matplotlib.colormaps[colormap](np.clip((values - lo) / (hi - lo), 0, 1))[..., :3] * 255
    blend = (1 - opacity) * np.asarray(image, dtype=float) + opacity * colours
    return np.clip(np.rint(blend), 0, 255).astype(np.uint8)


def heatmap_figure(explanation: Any, *, opacity: float = 0.5, colormap: str = "jet",
                   title: str | None = None) -> go.Figure:
    """Draw the map over its image: trace 0 the image (``go.Image``), trace 1 the map (``go.Heatmap``).

    Parameters
    ----------
    explanation : Explanation
        An image explanation (``values`` (H, W), ``data`` the image).
    opacity : float, default 0.5
        The map's opacity.
    colormap : str, default "jet"
        One of :data:`COLORMAPS`.
    title : str, optional
        Default: the method, the class and its probability.

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> from explainers import Explanation
    >>> e = Explanation("gradcam", "LayerGradCam", "3", np.eye(2), data=np.zeros((2, 2, 3), np.uint8),
    ...                 prediction=0.9)
    >>> fig = heatmap_figure(e, opacity=0.4)
    >>> fig.data[1].opacity, fig.layout.title.text
    (0.4, 'gradcam: class 3 (p = 0.90)')
    """
    _check_colormap(colormap)
    values = np.asarray(explanation.values, dtype=float)
    lo, hi = _range(values)
    if title is None:
        p = "" if explanation.prediction is None else f" (p = {explanation.prediction:.2f})"
        title = f"{explanation.method}: class {explanation.target}{p}"
    step = max(1, int(np.ceil(max(values.shape) / DISPLAY_SIDE)))
    shown = _shrink(values)
    fig = go.Figure()
    if explanation.data is not None:
        fig.add_trace(go.Image(z=_shrink(np.asarray(explanation.data)), dx=step, dy=step,
                               hoverinfo="skip", name="image"))
    fig.add_trace(go.Heatmap(
        z=shown, x0=0, dx=step, y0=0, dy=step, zmin=lo, zmax=hi, colorscale=colormap, opacity=opacity,
        name="map", colorbar={"thickness": 12, "len": 0.8},
        hovertemplate="x %{x}, y %{y}<br>attribution %{z:.2f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, showgrid=False,
                     zeroline=False)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    fig.update_layout(title=title, margin={"l": 10, "r": 10, "t": 40, "b": 10}, height=320)
    return fig


def deletion_figure(curve: Any) -> go.Figure:
    """Draw a deletion curve (``explainers.faithfulness.DeletionCurve``) against random order.

    Trace 0 follows the map's order (most-attributed pixels removed first), trace 1 random order; the
    legend gives each curve's area (lower is better for the map).

    Examples
    --------
    >>> from explainers.faithfulness import DeletionCurve
    >>> c = DeletionCurve(fractions=np.array([0, 1.0]), scores=np.array([0.9, 0.1]),
    ...                   random_scores=np.array([0.9, 0.5]), auc=0.5, random_auc=0.7, target="3",
    ...                   fill="black")
    >>> [t.name for t in deletion_figure(c).data]
    ['Map order (area 0.50)', 'Random order (area 0.70)']
    """
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=np.asarray(curve.fractions) * 100, y=curve.scores, mode="lines+markers",
                             name=f"Map order (area {curve.auc:.2f})", line={"color": MAP_COLOR},
                             hovertemplate="%{x:.0f}% removed: p = %{y:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=np.asarray(curve.fractions) * 100, y=curve.random_scores, mode="lines",
                             name=f"Random order (area {curve.random_auc:.2f})",
                             line={"color": RANDOM_COLOR, "dash": "dash"},
                             hovertemplate="%{x:.0f}% removed: p = %{y:.3f}<extra></extra>"))
    # The legend sits above the plot and the bottom margin holds the x-axis title: with the legend below
    # and a 10-pixel margin the title was clipped.
    fig.update_layout(
        title={"text": f"Deletion curve: probability of class {curve.target}", "y": 0.98, "yanchor": "top",
               "yref": "container"}, height=300,
        xaxis_title=f"Pixels removed (% of the image, filled {curve.fill})", yaxis_title="Probability",
        yaxis_range=[0, 1.02],
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"},
        margin={"l": 10, "r": 10, "t": 70, "b": 50})
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def top_predictions_figure(probabilities: Sequence[float], classes: Sequence[Any], *,
                           k: int = 5) -> go.Figure:
    """Draw the ``k`` most probable classes of one image, most probable on top (one ``go.Bar`` trace).

    Examples
    --------
    >>> fig = top_predictions_figure([0.1, 0.7, 0.2], ["a", "b", "c"], k=2)
    >>> list(fig.data[0].y), list(fig.data[0].x)
    (['c', 'b'], [0.2, 0.7])
    """
    probabilities = np.asarray(probabilities, dtype=float)
    order = np.argsort(-probabilities, kind="stable")[:k][::-1]
    shown = probabilities[order]
    fig = go.Figure(go.Bar(x=shown.tolist(), y=[str(classes[i]) for i in order], orientation="h",
                           marker_color="#1f6feb", text=[f"{p:.2f}" for p in shown], textposition="auto",
                           hovertemplate="class %{y}: %{x:.3f}<extra></extra>"))
    fig.update_layout(title=f"Top {min(k, len(probabilities))} predictions", xaxis_range=[0, 1],
                      xaxis_title="Probability", height=60 + 30 * min(k, len(probabilities)) + 60,
                      margin={"l": 10, "r": 10, "t": 40, "b": 10})
    fig.update_yaxes(type="category")
    return fig


def group_maps_figure(mean_maps: Mapping[Any, np.ndarray], *, column: str = "group",
                      accuracy: Mapping[Any, float] | None = None, counts: Mapping[Any, int] | None = None,
                      colormap: str = "jet") -> go.Figure:
    """Draw the mean map of each group side by side (from ``explainers.mean_map_by_group``).

    Parameters
    ----------
    mean_maps : mapping
        Group value -> mean map (H, W).
    column : str
        The group attribute's name, for the titles.
    accuracy, counts : mapping, optional
        Group value -> accuracy / number of images, shown in each title.
    colormap : str
        One of :data:`COLORMAPS`; all panels share one colour range.

    Examples
    --------
    >>> fig = group_maps_figure({"no": np.zeros((2, 2)), "yes": np.ones((2, 2))}, column="watermark",
    ...                         accuracy={"no": 0.9, "yes": 0.4}, counts={"no": 10, "yes": 10})
    >>> [a.text for a in fig.layout.annotations]
    ['watermark = no (n = 10, accuracy 0.90)', 'watermark = yes (n = 10, accuracy 0.40)']
    """
    _check_colormap(colormap)
    groups = list(mean_maps)
    titles = []
    for g in groups:
        parts = [f"n = {counts[g]}"] if counts and g in counts else []
        if accuracy and g in accuracy and accuracy[g] == accuracy[g]:
            parts.append(f"accuracy {accuracy[g]:.2f}")
        titles.append(f"{column} = {g}" + (f" ({', '.join(parts)})" if parts else ""))
    fig = make_subplots(rows=1, cols=max(1, len(groups)), subplot_titles=titles, horizontal_spacing=0.04)
    stacked = np.concatenate([np.ravel(m) for m in mean_maps.values()]) if groups else np.zeros(1)
    lo, hi = _range(stacked)
    for i, g in enumerate(groups, start=1):
        fig.add_trace(go.Heatmap(z=_shrink(np.asarray(mean_maps[g], dtype=float)), zmin=lo, zmax=hi,
                                 colorscale=colormap, showscale=i == len(groups), name=str(g),
                                 hovertemplate="mean attribution %{z:.2f}<extra></extra>"), row=1, col=i)
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{i if i > 1 else ''}", showticklabels=False,
                         showgrid=False, zeroline=False, row=1, col=i)
        fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, row=1, col=i)
    fig.update_layout(title="Mean map per group: where does the model look?", height=320,
                      margin={"l": 10, "r": 10, "t": 70, "b": 10})
    return fig
