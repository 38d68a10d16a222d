"""Cached calls and widgets of the Explain: images page (the page reads widgets and renders).

Models and image sets are never hashed: the cached functions are keyed by their SHA-256 digests (passed
as real arguments) and take the objects through underscore arguments. An image is identified by its
set's digest and its position.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from glasswing import audits, explainers, ingest
from glasswing.reports import charts

P = "explain_images."
#: Methods fast enough to run over a whole image set for the group view without asking.
GROUP_CHUNK = 8
PREDICTED = "each image's predicted class"


# =============================================== images ===============================================
@st.cache_resource(max_entries=4, show_spinner="Reading the images...")
def _read_uploads(sha256: str, _files: tuple) -> ingest.ImageSet:
    """Return the uploaded images (and labels.csv, if one was uploaded) as one image set."""
    return ingest.load_images(list(_files), name="uploaded images")


def uploaded(files: list) -> ingest.ImageSet | None:
    """Return the image set of the files in a ``st.file_uploader`` (None when there are none)."""
    if not files:
        return None
    pairs = tuple((f.name, f.getvalue()) for f in files)
    key = hashlib.sha256(b"".join(n.encode() + b"\0" + hashlib.sha256(d).digest() for n, d in pairs))
    return _read_uploads(key.hexdigest(), pairs)


def default_image(images: ingest.ImageSet, proba: np.ndarray, classes: np.ndarray) -> int:
    """Start on the most confidently misclassified image (the interesting one), else the first image."""
    if images.labels:
        predicted = [str(classes[i]) for i in proba.argmax(axis=1)]
        wrong = [i for i, (p, y) in enumerate(zip(predicted, images.labels, strict=True)) if p != str(y)]
        if wrong:
            return max(wrong, key=lambda i: float(proba[i].max()))
    return 0


def caption(images: ingest.ImageSet, proba: np.ndarray, classes: np.ndarray, index: int) -> str:
    """``name (label 9, predicted 3)`` for the image picker."""
    parts = [f"label {images.labels[index]}"] if images.labels else []
    parts.append(f"predicted {classes[int(proba[index].argmax())]}")
    return f"{images.names[index]} ({', '.join(parts)})"


# ============================================ cached calls ============================================
@st.cache_data(max_entries=16, show_spinner="Predicting...")
def probabilities(model_sha: str, images_sha: str, _model: ingest.Model,
                  _images: ingest.ImageSet) -> np.ndarray:
    """Return the model's class probabilities for every image of the set."""
    return _model.predict_proba(_images.images)


@st.cache_data(max_entries=64, show_spinner=False)
def explanation(model_sha: str, images_sha: str, index: int, method: str, target: Any, params: tuple,
                _model: ingest.Model, _images: ingest.ImageSet) -> explainers.Explanation:
    """Return one image's map for ``target``, with its deletion curve in ``extras``."""
    (exp,) = explainers.explain(_model, [_images.images[index]], method=method, target=target,
                                faithfulness=True, **dict(params))
    return exp


@st.cache_data(max_entries=16, show_spinner=False)
def randomisation(model_sha: str, images_sha: str, index: int, method: str, target: Any, params: tuple,
                  layers: int, _model: ingest.Model, _images: ingest.ImageSet):
    """Return the model-parameter randomisation check of one image's map."""
    return explainers.faithfulness.randomisation_check(_model, _images.images[index], method, target=target,
                                                       layers=layers, **dict(params))


@st.cache_data(max_entries=32, show_spinner=False)
def _maps(model_sha: str, images_sha: str, indices: tuple, method: str, target: Any, params: tuple,
          _model: ingest.Model, _images: ingest.ImageSet) -> list:
    return explainers.explain(_model, [_images.images[i] for i in indices], method=method, target=target,
                              **dict(params))


def group_view(model: ingest.Model, images: ingest.ImageSet, proba: np.ndarray, column: str, method: str,
               target: Any, params: tuple) -> tuple[dict, pd.DataFrame]:
    """Return the mean map per group and a table of n and accuracy per group (a progress bar meanwhile)."""
    bar = st.progress(0.0, text=f"Explaining {len(images)} images for the group view...")
    exps = []
    for start in range(0, len(images), GROUP_CHUNK):
        indices = tuple(range(start, min(start + GROUP_CHUNK, len(images))))
        exps += _maps(model.sha256, images.sha256, indices, method, target, params, model, images)
        bar.progress(len(exps) / len(images), text=f"Explained {len(exps)} of {len(images)} images...")
    bar.empty()
    column_values = images.groups[column]
    if set(images.names) <= set(column_values.index):  # indexed by image name: put in image order
        column_values = column_values.loc[list(images.names)]
    groups = column_values.astype(str).tolist()
    if images.labels:
        predicted = np.asarray(model.classes_)[proba.argmax(axis=1)]
        summary = audits.accuracy_by_group(images.labels, predicted, groups, name=column)
    else:
        summary = pd.Series(groups).value_counts().sort_index().rename("n").to_frame()
        summary.index.name = column
    return explainers.mean_map_by_group(exps, groups), summary.rename(columns={"n": "images"})


# ============================================== widgets ===============================================
def param_widgets(spec: explainers.ExplainerSpec, container: Any) -> tuple:
    """Show one widget per parameter of ``spec`` (not the faithfulness switch); return them as a tuple."""
    values = {}
    for p in spec.params:
        if p.name == "faithfulness" or not getattr(p, "widget", True):
            continue
        key, label = f"{P}{spec.name}.{p.name}", f"{spec.label}: {p.name.replace('_', ' ')}"
        if isinstance(p.default, bool):
            values[p.name] = container.checkbox(label, p.default, key=key, help=p.help)
        elif p.choices:
            values[p.name] = container.selectbox(label, p.choices, key=key, help=p.help)
        elif isinstance(p.default, int | float):
            kind = type(p.default)
            low = None if p.minimum is None else kind(p.minimum)
            high = None if p.maximum is None else kind(p.maximum)
            values[p.name] = kind(container.number_input(label, min_value=low, max_value=high,
                                                         value=p.default, key=key, help=p.help))
        else:
            values[p.name] = container.text_input(label, p.default, key=key, help=p.help)
    return tuple(sorted(values.items()))


def default_params(method: str) -> tuple:
    """Return the method's default parameters in ``param_widgets``' form (for a method not shown)."""
    spec = explainers.registry.get(method)
    return tuple(sorted((p.name, p.default) for p in spec.params if p.name != "faithfulness"))


def png(exp: explainers.Explanation, opacity: float, colormap: str) -> bytes:
    """Return the map over its image as PNG bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(charts.overlay_image(exp.data, exp.values, opacity=opacity, colormap=colormap)).save(
        buffer, format="PNG")
    return buffer.getvalue()


def npy(exp: explainers.Explanation) -> bytes:
    """Return the raw map (H x W float32, as scaled in ``Explanation.values``) as ``.npy`` bytes."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(exp.values, dtype=np.float32))
    return buffer.getvalue()
