"""Cached calls and widgets of the Explain: tabular page (the page itself reads widgets and renders).

Every explanation goes through ``_explain_chunk``, cached by (model SHA-256, data SHA-256, rows, method,
parameters), so a widget change that needs no new explanation re-renders from the cache. Global SHAP runs in
chunks over a stratified, seeded sample of rows (by the sensitive groups, else the predicted class), with a
progress bar between chunks and bootstrap intervals on mean |SHAP|. A sample larger than
:data:`INLINE_LIMIT` runs in the background (``explainers._global_sample.ChunkedRun`` on a worker thread,
kept in a store shared like ``st.cache_resource`` and keyed by the digests and settings): the page keeps
showing the default sample, a fragment polls the run's progress with a Stop button, and the finished run
replaces the sample.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import pandas as pd
import streamlit as st

from glasswing import explainers
from glasswing._plain import plain
from glasswing.dashboard._text import md
from glasswing.explainers import OUTCOMES
from glasswing.explainers._global_sample import (
    LEVEL,
    N_RESAMPLES,
    ChunkedRun,
    MeanAbsIntervals,
    mean_abs_intervals,
    stratified_positions,
)
from glasswing.explainers._rows import NO_MATCH, OPERATORS
from glasswing.explainers._shap_choice import ALGORITHM_NAMES, FAST_ALGORITHMS
from glasswing.ingest import Dataset, Model, _sampling
from glasswing.ingest._bands import group_frame
from glasswing.reports import charts

#: Rows per cached chunk: tree and linear SHAP are fast, permutation and kernel SHAP take ~1 s a row.
FAST_CHUNK, SLOW_CHUNK = 1000, 10
#: Default sample sizes for global SHAP (fast algorithms, slow ones) and the slider's bounds.
DEFAULT_SAMPLE = {True: 1000, False: 100}
#: The most rows a global view explains while the page waits (fast algorithms, slow ones); more run in the
#: background.
INLINE_LIMIT = {True: 2000, False: 200}
#: The most points the beeswarm and dependence plots draw (a browser slows down beyond).
MAX_POINTS = 2000
#: Background runs kept (finished or not), the oldest dropped first.
MAX_RUNS = 8
PREDICTED = "predicted class"
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


@st.cache_data(max_entries=8, show_spinner="Grouping every row by its sensitive features...")
def _sensitive_strata(data_sha: str, columns: tuple[str, ...], _data: Dataset) -> np.ndarray:
    groups, _ = group_frame(_data.frame, list(columns))
    codes = np.zeros(len(groups), dtype=np.int64)
    for column in groups.columns:  # one code per combination of groups (numeric columns banded)
        these, uniques = pd.factorize(groups[column], use_na_sentinel=False)
        codes = codes * (len(uniques) + 1) + these
    return codes


def strata(model: Model, data: Dataset) -> tuple[str, np.ndarray]:
    """Return (what global samples are stratified by, one stratum per row).

    The sensitive features when the data has some (numeric ones banded by the audit's rule, several
    combined), else the model's predicted class (every row predicted once, cached).
    """
    sensitive = tuple(data.roles.sensitive)
    if sensitive:
        return ", ".join(sensitive), _sensitive_strata(data.sha256, sensitive, _data=data)
    return PREDICTED, _predicted(model.sha256, data.sha256, _model=model, _data=data)


@st.cache_data(max_entries=32, show_spinner=False)
def _stratified(model_sha: str, data_sha: str, by: str, n: int, seed: int, _strata: np.ndarray) -> list[int]:
    return stratified_positions(_strata, n, seed).tolist()


def stratified_sample(model: Model, data: Dataset, by: str, row_strata: np.ndarray, n: int,
                      seed: int) -> list[int]:
    """Return ``n`` row positions in proportion to the strata (cached by digests, ``n`` and ``seed``)."""
    return _stratified(model.sha256, data.sha256, by, n, seed, _strata=row_strata)


@st.cache_data(max_entries=32, show_spinner=False)
def _intervals(model_sha: str, data_sha: str, positions_key: tuple, params: tuple, _values: np.ndarray,
               _names: tuple, _strata: np.ndarray) -> MeanAbsIntervals:
    return mean_abs_intervals(_values, _names, strata=_strata, n_resamples=N_RESAMPLES, level=LEVEL,
                              seed=dict(params).get("seed", 0))


def intervals(model: Model, data: Dataset, positions: list[int], row_strata: np.ndarray, explanations: list,
              params: dict) -> MeanAbsIntervals:
    """Bootstrap intervals (200 resamples within strata) on each feature's mean |SHAP| (cached)."""
    key = (len(positions), positions[0], positions[-1], hash(tuple(positions)))
    values = np.array([e.values for e in explanations], dtype=float)
    return _intervals(model.sha256, data.sha256, key, tuple(sorted(params.items())), _values=values,
                      _names=tuple(explanations[0].feature_names), _strata=row_strata[positions])


def thinned(explanations: list, most: int = MAX_POINTS) -> list:
    """Return at most ``most`` of the explanations, evenly spaced (all of them when there are fewer)."""
    if len(explanations) <= most:
        return explanations
    return [explanations[i] for i in np.linspace(0, len(explanations) - 1, most).round().astype(int)]


class _Runs:
    """Background runs by key, the newest last, at most :data:`MAX_RUNS` (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: OrderedDict[tuple, tuple[list[int], ChunkedRun]] = OrderedDict()

    def get(self, key: tuple) -> tuple[list[int], ChunkedRun] | None:
        with self._lock:
            return self._runs.get(key)

    def put(self, key: tuple, positions: list[int], run: ChunkedRun) -> None:
        with self._lock:
            self._runs[key] = (positions, run)
            self._runs.move_to_end(key)
            while len(self._runs) > MAX_RUNS:
                _, (_, old) = self._runs.popitem(last=False)
                old.stop()


@st.cache_resource(show_spinner=False)
def _runs() -> _Runs:
    return _Runs()


def run_key(model: Model, data: Dataset, by: str, n: int, seed: int, params: dict) -> tuple:
    """Return the key of a background run: the digests, the strata, the size, the seed, SHAP's settings."""
    return (model.sha256, data.sha256, by, n, seed, tuple(sorted(params.items())))


def background_run(key: tuple) -> tuple[list[int], ChunkedRun] | None:
    """Return (positions, run) of the background run for ``key``, or None if none was started."""
    return _runs().get(key)


def start_background(key: tuple, model: Model, data: Dataset, positions: list[int], params: dict,
                     algorithm: str) -> ChunkedRun:
    """Explain ``positions`` with SHAP on a worker thread, chunk by chunk; keep the run under ``key``."""
    chunk = FAST_CHUNK if is_fast(algorithm) else SLOW_CHUNK
    frame = data.frame

    def work(rows: list[int]) -> list:  # runs on the worker thread: no Streamlit call in here
        return explainers.explain(model, frame.iloc[rows], method="shap", background=frame, **params)

    run = ChunkedRun(work, [positions[i:i + chunk] for i in range(0, len(positions), chunk)],
                     label="sampled rows")
    _runs().put(key, positions, run.start())
    return run


def progress(key: tuple) -> None:
    """Show a running background run's progress and a Stop button; rerun the page when it ends."""
    found = background_run(key)
    if found is None or not found[1].running:
        st.rerun()
    run = found[1]
    st.progress(run.fraction, text=f"{run.message} in the background; the page stays usable meanwhile.")
    if st.button("Stop", key="xt.bg.stop", icon=":material/stop_circle:",
                 help="Stops after the current chunk; the views keep the default sample."):
        run.stop()
        run.wait(30)
        st.rerun()


def larger_sample(model: Model, data: Dataset, stratified: tuple[str, np.ndarray], n: int, seed: int,
                  params: dict, algorithm: str, sample: tuple[list[int], list]) -> tuple[list[int], list]:
    """Return (positions, explanations) of the ``n``-row sample once its background run is done.

    Until then return ``sample`` (the default sample's), and show the run's progress and Stop button, or
    a button that starts it (and why it stopped, when it did).
    """
    key = run_key(model, data, stratified[0], n, seed, params)
    found = background_run(key)
    if found is not None and found[1].done:
        return found[0], found[1].result
    if found is not None and found[1].running:
        progress_fragment(key)
        return sample
    if found is not None:
        st.warning(found[1].error or f"Stopped the background run: {found[1].message.lower()}.",
                   icon=":material/stop_circle:")
    st.info(f"{n:,} rows take a while, so they are explained in the background; until then the views below "
            f"rest on the {len(sample[0]):,}-row sample.", icon=":material/schedule:")
    if st.button(f"Explain {n:,} rows in the background", key="xt.bg.start", icon=":material/play_circle:"):
        positions = stratified_sample(model, data, stratified[0], stratified[1], n, seed)
        start_background(key, model, data, positions, params, algorithm)
        progress_fragment(key)
    return sample


#: ``progress`` as a fragment that reruns on its own every second (and nothing else on the page).
progress_fragment = st.fragment(progress, run_every=1.0)


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
