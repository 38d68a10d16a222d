"""Cached calls and widgets of the Explain: tabular page (the page itself reads widgets and renders).

Every explanation goes through ``_explain_chunk``, cached by (model SHA-256, data SHA-256, rows, method,
parameters), so a widget change that needs no new explanation re-renders from the cache. Global SHAP runs in
chunks over a seeded sample of rows, with a progress bar between chunks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from glasswing import explainers
from glasswing._plain import plain
from glasswing.dashboard._text import md
from glasswing.explainers import OUTCOMES
from glasswing.explainers._rows import NO_MATCH, OPERATORS
from glasswing.explainers._shap_choice import ALGORITHM_NAMES, FAST_ALGORITHMS
from glasswing.ingest import Dataset, Model, _sampling
from glasswing.reports import charts

#: Rows per cached chunk: tree and linear SHAP are fast, permutation and kernel SHAP take ~1 s a row.
FAST_CHUNK, SLOW_CHUNK = 1000, 10
#: Default sample sizes for global SHAP (fast algorithms, slow ones) and the slider's bounds.
DEFAULT_SAMPLE = {True: 1000, False: 100}
NONE = "—"


def algorithm_name(algorithm: str) -> str:
    """Shap's class name for an algorithm ("tree" -> "TreeExplainer")."""
    return ALGORITHM_NAMES[algorithm]


def default_class(classes: list, positive) -> int:
    """Position of the class global views explain by default: the positive outcome, else the last class."""
    text = [str(c) for c in classes]
    return text.index(str(positive)) if str(positive) in text else len(classes) - 1


def is_fast(algorithm: str) -> bool:
    """Whether this SHAP algorithm explains a thousand rows in about a second."""
    return algorithm in FAST_ALGORITHMS


def sample_positions(n_rows: int, n: int, seed: int) -> list[int]:
    """Return a seeded random sample of ``n`` row positions (all rows when there are no more), in order."""
    return _sampling.sample_positions(n_rows, n, seed).tolist()


@st.cache_data(max_entries=256, show_spinner=False)
def _explain_chunk(model_sha: str, data_sha: str, positions: tuple[int, ...], method: str, params: tuple,
                   _model: Model, _data: Dataset) -> list:
    rows = _data.frame.iloc[list(positions)]
    return explainers.explain(_model, rows, method=method, background=_data.frame, **dict(params))


def explain_rows(model: Model, data: Dataset, positions: list[int], method: str, params: dict) -> list:
    """Explain the rows at ``positions`` (cached); one ``Explanation`` each."""
    return _explain_chunk(model.sha256, data.sha256, tuple(positions), method, tuple(sorted(params.items())),
                          _model=model, _data=data)


def global_shap(model: Model, data: Dataset, positions: list[int], params: dict, algorithm: str) -> list:
    """SHAP for every sampled row, chunk by chunk, with a progress bar (each chunk cached on its own)."""
    chunk = FAST_CHUNK if is_fast(algorithm) else SLOW_CHUNK
    bar = st.progress(0.0, text=f"Explaining {len(positions):,} sampled rows...")
    out: list = []
    for start in range(0, len(positions), chunk):
        out += explain_rows(model, data, positions[start:start + chunk], "shap", params)
        bar.progress(min(1.0, (start + chunk) / len(positions)),
                     text=f"Explained {min(start + chunk, len(positions)):,} of {len(positions):,} rows")
    bar.empty()
    return out


@st.fragment
def dependence(explanations: list) -> None:
    """Show the dependence plot and its two selectors; changing them reruns only this fragment."""
    names = list(explanations[0].feature_names)
    strongest = names[int(np.abs([e.values for e in explanations]).mean(axis=0).argmax())]
    left, right = st.columns(2)
    feature = left.selectbox("Dependence of", names, index=names.index(strongest), key="xt.dep.feature")
    color_by = right.selectbox("Coloured by", [NONE, *names], key="xt.dep.color")
    figure = charts.dependence_figure(explanations, feature, color_by=None if color_by == NONE else color_by)
    st.plotly_chart(figure, key="xt.fig.dependence")


@st.cache_data(max_entries=16, show_spinner="Shuffling each feature for permutation importance...")
def _permutation(model_sha: str, data_sha: str, positions: tuple[int, ...], n_repeats: int, seed: int,
                 _model: Model, _data: Dataset):
    rows = _data.frame.iloc[list(positions)]
    y = _data.y_true
    known = set(np.asarray(_model.classes_).tolist())
    labels = None if y is None or not set(pd.unique(y).tolist()) <= known else y.iloc[list(positions)]
    (exp,) = explainers.explain(_model, rows, method="permutation_importance", y_true=labels,
                                n_repeats=n_repeats, seed=seed)
    return exp


def permutation(model: Model, data: Dataset, positions: list[int], n_repeats: int, seed: int):
    """Permutation importance over the sampled rows (true labels when the data has usable ones)."""
    return _permutation(model.sha256, data.sha256, tuple(positions), n_repeats, seed,
                        _model=model, _data=data)


@st.cache_data(max_entries=8, show_spinner="Predicting every row for the filter...")
def _predicted(model_sha: str, data_sha: str, _model: Model, _data: Dataset) -> np.ndarray:
    parts = [_model.predict(_data.frame.iloc[i:i + 50_000]) for i in range(0, len(_data), 50_000)]
    return np.concatenate(parts) if parts else np.array([])


def filter_widgets(model: Model, data: Dataset) -> np.ndarray:
    """Show the outcome and two conditions; return the matching row positions (a sentence if none)."""
    outcome = st.selectbox("Outcome", OUTCOMES, key="xt.outcome",
                           help=f"Positive label: {md(repr(data.positive_label))} (from the data's target).")
    conditions = []
    for i in range(2):
        a, b, c = st.columns([2, 1, 2])
        column = a.selectbox(f"Condition {i + 1}", [NONE, *data.frame.columns], key=f"xt.cond{i}.column")
        op = b.selectbox("Operator", OPERATORS, key=f"xt.cond{i}.op", label_visibility="hidden")
        text = c.text_input("Value", key=f"xt.cond{i}.value", placeholder="female, 50, ...",
                            label_visibility="hidden")
        if column != NONE and text.strip():
            conditions.append((column, op, text))
    y_pred = None
    if outcome != OUTCOMES[0]:
        y_pred = _predicted(model.sha256, data.sha256, _model=model, _data=data)
    positions = explainers.filter_rows(data.frame, data.y_true, y_pred, data.positive_label, outcome,
                                       conditions)
    if len(positions) == 0:
        raise explainers.ExplainerError(NO_MATCH)
    return positions


def what_if_inputs(model: Model, data: Dataset, row: int) -> dict:
    """One widget per model feature, filled with the row's values; categories can be typed in."""
    known = explainers.known_categories(model, data.frame)
    values = {}
    columns = st.columns(3)
    fed = model.input_frame(data.frame if model.feature_names else data.X).columns  # as the data names them
    for i, feature in enumerate(fed):
        current = data.frame[feature].iloc[row]
        key = f"xt.whatif.{row}.{feature}"
        with columns[i % 3]:
            if feature in known:
                options = list(known[feature])
                index = options.index(current) if current in options else None
                values[feature] = st.selectbox(md(feature), options, index=index, key=key,
                                               accept_new_options=True)
            elif pd.api.types.is_integer_dtype(data.frame[feature]):
                values[feature] = st.number_input(md(feature), value=int(current), step=1, key=key)
            else:
                values[feature] = st.number_input(md(feature), value=float(current), key=key)
    return values


def what_if_frame(data: Dataset, values: dict) -> pd.DataFrame:
    """Return the edited row as a one-row table with the data's column types."""
    frame = pd.DataFrame([values])
    for column in frame.columns:
        if pd.api.types.is_integer_dtype(data.frame[column]) and float(frame[column].iloc[0]).is_integer():
            frame[column] = frame[column].astype(data.frame[column].dtype)
    return frame


@st.cache_data(max_entries=64, show_spinner=False)
def _what_if(model_sha: str, data_sha: str, row: tuple, params: tuple, _model: Model, _data: Dataset):
    frame = what_if_frame(_data, dict(row))
    (exp,) = explainers.explain(_model, frame, method="shap", background=_data.frame, **dict(params))
    return exp, _model.predict_proba(frame)[0]


@st.cache_data(max_entries=64, show_spinner=False)
def _row_proba(model_sha: str, data_sha: str, row: int, _model: Model, _data: Dataset) -> np.ndarray:
    return _model.predict_proba(_data.frame.iloc[[row]])[0]


def what_if_change(model: Model, data: Dataset, row: int, proba: np.ndarray) -> dict:
    """Compare the edited row's class probabilities with the original row's, for the What-if metric.

    The metric follows the original row's predicted class, so the change stays visible when the edit
    flips the prediction (``flipped`` then says so); a change that rounds to 0.000 is "no change", shown
    grey without an arrow, never a green "+0.000". Returns ``st.metric``'s arguments and ``flipped``.
    """
    before = _row_proba(model.sha256, data.sha256, row, _model=model, _data=data)
    classes = list(model.classes_)
    was, now = int(np.argmax(before)), int(np.argmax(proba))
    change = float(proba[was] - before[was])
    shown = f"{change:+.3f}"
    unchanged = shown in ("+0.000", "-0.000")
    out = {"label": f"Probability of {md(repr(plain(classes[was])))}", "value": f"{proba[was]:.3f}",
           "delta": "no change vs the original row" if unchanged else f"{shown} vs the original row",
           "delta_color": "off" if unchanged else "normal", "delta_arrow": "off" if unchanged else "auto",
           "flipped": None}
    if now != was:
        out["flipped"] = (f"The prediction flipped: the original row is predicted "
                          f"{md(repr(plain(classes[was])))} ({before[was]:.3f}), the edited row "
                          f"{md(repr(plain(classes[now])))} ({proba[now]:.3f}). The waterfall explains "
                          f"{md(repr(plain(classes[now])))}.")
    return out


def what_if(model: Model, data: Dataset, values: dict, params: dict):
    """SHAP and class probabilities for the edited row (refusing categories unseen in training)."""
    explainers.check_known_values(model, what_if_frame(data, values), reference=data.frame)
    row = tuple((c, plain(v)) for c, v in values.items())
    return _what_if(model.sha256, data.sha256, row, tuple(sorted(params.items())), _model=model, _data=data)
