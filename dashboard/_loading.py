"""Loading for the Model & data page: cached parsers keyed by content SHA-256, samples, and storing.

Uploads stay in memory: the page passes the uploaded bytes here, they are parsed once per digest
(``st.cache_resource`` for models and image sets, which are never mutated; ``st.cache_data`` for tables
and metrics) and the results go into ``st.session_state`` through :mod:`dashboard._state`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from glasswing import ingest
from glasswing.dashboard import _state
from glasswing.dashboard._text import md, mds
from glasswing.ingest import samples

#: Sample choices on the page: label -> (what, variant).
SAMPLES = {
    "German credit, gradient boosting": ("german", "gbm"),
    "German credit, logistic regression": ("german", "logreg"),
    "Digits images, CNN": ("digits", "safetensors"),
    "COMPAS risk scores (ProPublica)": ("compas", None),
}
SAMPLE_CAPTIONS = (
    "300 loan applicants (test split) with a scikit-learn gradient-boosting pipeline; sensitive: sex.",
    "The same applicants with a logistic-regression pipeline.",
    "20 digit images, half with a red corner watermark the CNN learned as a shortcut for '3'.",
    "7,214 defendants with logged COMPAS decile scores (1-10) and two-year recidivism; sensitive: race, "
    "sex. ProPublica's rule: a score of 5 or more is higher risk.",
)
#: The unvalidated dataset as loaded; column roles chosen on the page are applied to it.
BASE = "model_data.base"
#: Counts loads, so role widgets (keyed by it) start from the new data's roles.
GENERATION = "model_data.generation"


# ============================================ cached parsers ==========================================
@st.cache_resource(max_entries=8, show_spinner="Loading the model...")
def model(sha256: str, name: str, trusted: bool, architecture: str | None,
          preprocess: ingest.ImagePreprocess | None, _data: bytes) -> ingest.Model:
    """Return the model in ``_data`` (loaded once per digest and options)."""
    return ingest.load_model(_data, name=name, trusted=trusted, architecture=architecture,
                             preprocess=preprocess)


@st.cache_data(max_entries=8, show_spinner="Reading the table...")
def table(sha256: str, name: str, _data: bytes) -> pd.DataFrame:
    """Return the table in ``_data`` (parsed once per digest)."""
    return ingest.read_table(_data, name=name)[0]


@st.cache_resource(max_entries=4, show_spinner="Reading the images...")
def images(sha256: str, name: str, _files: tuple) -> ingest.ImageSet:
    """Return the image set in ``_files``: one zip or image, or several images plus a labels.csv."""
    source = _files[0][1] if len(_files) == 1 else list(_files)
    return ingest.load_images(source, name=name)


@st.cache_resource(max_entries=4, show_spinner="Loading the samples...")
def sample(choice: str) -> tuple[Any, Any, Any]:
    """Return ``(model, dataset, images)`` for a sample label in :data:`SAMPLES` (one is None)."""
    what, variant = SAMPLES[choice]
    if what == "german":
        return samples.german_model(variant), samples.german_dataset("test", predictions=variant), None
    if what == "compas":
        return None, samples.compas_dataset(), None
    return samples.digits_model(variant), None, samples.digits_images()


@st.cache_data(max_entries=32, show_spinner="Scoring the model on the data...")
def performance(model_sha: str, data_sha: str, roles: Any, _model: ingest.Model, _data: Any) -> dict:
    """``audits.model_performance`` (n, accuracy, AUC), once per model, data and roles."""
    from glasswing import audits

    return audits.model_performance(_model, _data)


# =============================================== storing ==============================================
def digest(data: bytes) -> str:
    """Return the SHA-256 hex digest of uploaded bytes."""
    return hashlib.sha256(data).hexdigest()


def store(model: Any, dataset: Any, images: Any) -> None:
    """Put what was loaded into the session; a table replaces images and the other way round."""
    _state.put(_state.MODEL, model)
    _state.put(_state.DATASET, dataset)
    _state.put(BASE, dataset)
    _state.put(_state.IMAGES, images)
    st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1


def use_sample(choice: str) -> None:
    """Load a sample (cached) and store it."""
    store(*sample(choice))


@st.cache_data(max_entries=16, show_spinner=False)
def _untrusted(sha256: str, name: str, _data: bytes) -> tuple[str, ...]:
    try:
        return ingest.untrusted_parts(_data, name=name)
    except ingest.IngestError:  # not a model file: loading says so in one sentence
        return ()


def trust_needed(upload: Any) -> tuple[str, ...]:
    """Return what marking an uploaded model file trusted would allow (empty: it loads without trust).

    Pickles ("any code"), a skops file's stored functions and unreviewed types, a TorchScript file's
    calls beyond tensor math; checked once per digest, nothing is loaded.
    """
    data = upload.getvalue()
    return _untrusted(digest(data), upload.name, data)


def load_uploads(model_file: Any, data_files: Any, *, trusted: bool, architecture: str | None,
                 preprocess: Any, class_names: str = "") -> None:
    """Parse the uploaded model and/or data and store them; on any error nothing is stored.

    A model uploaded together with data must fit it (``ingest.check_model_fits``), after an image model's
    classes are given ``class_names`` (comma-separated, in output order); a model or data uploaded alone
    keeps what was loaded before for the other part.
    """
    new_model = _state.model()
    if model_file is not None:
        data = model_file.getvalue()
        new_model = model(digest(data), model_file.name, trusted, architecture or None,
                          ingest.as_preprocess(preprocess), data)
        names = ingest.parse_class_names(class_names)
        if names and new_model.modality == "image":
            new_model = ingest.with_class_names(new_model, names)
    files = [f for f in (data_files if isinstance(data_files, list) else [data_files]) if f is not None]
    if not files:
        _state.put(_state.MODEL, new_model)
        return
    if files[0].name.lower().endswith((".csv", ".tsv", ".txt", ".parquet", ".pq")) and len(files) == 1:
        raw = files[0].getvalue()
        sha = digest(raw)
        frame = table(sha, files[0].name, raw)
        base = ingest.Dataset(frame=frame, name=files[0].name, sha256=sha, notes=ingest.table_notes(frame))
        roles = ingest.suggest_roles(frame, new_model)
        dataset, image_set = base.with_roles(**dataclasses.asdict(roles)), None
    else:
        pairs = tuple((f.name, f.getvalue()) for f in files)
        key = digest(b"".join(n.encode() + b"\0" + digest(d).encode() for n, d in pairs))
        dataset, image_set = None, images(key, files[0].name if len(files) == 1 else "images", pairs)
    if model_file is not None and new_model is not None:
        ingest.check_model_fits(new_model, dataset if dataset is not None else image_set)
    store(new_model, dataset, image_set)
    if dataset is not None:
        _state.put(BASE, base)


def name_classes(model: ingest.Model, text: str) -> ingest.Model:
    """Give the loaded model the class names typed on the page (``ingest.with_class_names``) and store it."""
    names = ingest.parse_class_names(text)
    if not names or [str(c) for c in model.classes_] == names:
        return model
    named = ingest.with_class_names(model, names)
    _state.put(_state.MODEL, named)
    return named


def model_facts(model: ingest.Model) -> str:
    """Return the model summary as a Markdown table (what, value), SHA-256 included."""
    classes = [str(c) for c in model.classes_]
    rows = [
        ("File", md(model.name)),
        ("Kind", md(f"{model.kind}, from {model.source_format}")),
        ("Modality", md(model.modality)),
        ("Classes", ", ".join(mds(classes)) if len(classes) <= 12 else f"{len(classes)} classes"),
        ("Estimator", md(_estimator_name(model))),
        ("Inputs", ", ".join(mds(model.feature_names)) if model.feature_names else md(_image_input(model))),
        ("SHA-256", f"`{model.sha256}`"),
    ]
    lines = [f"| **{k}** | {v} |" for k, v in rows if v]
    return "\n".join([lines[0], "|:--|:--|", *lines[1:]])  # the file name is the header row


def _estimator_name(model: ingest.Model) -> str:
    if model.estimator is not None:
        steps = getattr(model.estimator, "steps", None)
        names = [type(step).__name__ for _, step in steps] if steps else [type(model.estimator).__name__]
        return " → ".join(names)
    if model.module is not None:
        return model.architecture or type(model.module).__name__
    return "ONNX graph"


def _image_input(model: ingest.Model) -> str:
    p = model.preprocess
    if p is None:
        return ""
    return (f"{p.size[0]} x {p.size[1]} {'grayscale' if p.grayscale else 'RGB'}, "
            f"mean {', '.join(f'{m:g}' for m in p.mean)}, std {', '.join(f'{s:g}' for s in p.std)}")
