"""Cached calls and per-session state of the Mitigation page (the page itself only reads widgets and renders).

Results hold fitted models (an ONNX session cannot be pickled), so finished runs are kept in a store shared
like ``st.cache_resource`` (one per server) and keyed by the content digests and settings; a
``MitigationResult`` is frozen and never mutated. The store is filled outside any cached function because
a run draws its own progress bar, which a cached function could not replay. A run in progress is noted in
the session (:data:`RUNNING`): a Stop press (or any other click) reruns the page, which interrupts the run
at its next progress report, and the next run of the page says where it stopped. The methods tried in this
session are kept as plain summary rows for the trade-off chart.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

import pandas as pd
import streamlit as st

from glasswing import audits
from glasswing._csv import neutralise
from glasswing._paths import sample_dir
from glasswing.audits._mitigation import MitigationResult
from glasswing.dashboard._state import roles_key
from glasswing.ingest import Dataset, Model

TRIED = "mitigation.tried"  # {"context": ..., "rows": [MitigationResult.summary(), ...]}
SHOWN = "mitigation.shown"  # the arguments of the run whose result is shown
UPLOADED = "mitigation.uploaded"  # (name, bytes) of the last training upload, for the shown result elsewhere
RUNNING = "mitigation.running"  # {"label": ..., "message": ...} while a run is in progress
MAX_RUNS = 16
STOPPED = ("Stopped {label} at: {message}. Nothing was kept; press Run mitigation to start again "
           "(any click while a run is in progress stops it).")

TRAIN_SAMPLE = "The sample's training split (german_train.csv)"
TRAIN_SPLIT = "Split the loaded data: 70% to retrain, 30% held out"
TRAIN_UPLOAD = "Upload the training data (CSV or Parquet)"
SAMPLE_TRAIN_FILE = "german_train.csv"
HOLDOUT = 0.3
METHODS_CHANGE = {"pre-processing": "Pre-processing: changes the training data.",
                  "post-processing": "Post-processing: changes the decisions, not the model.",
                  "in-processing (reductions)": "In-processing: changes the training.",
                  "in-processing": "In-processing: trains a new model (PyTorch) under the constraint."}
NO_MODEL_EXPORT = {
    "threshold_optimizer": ("The threshold optimizer keeps the original model and needs each row's group "
                            "at prediction time, so there is no stand-alone model to export; reweighing "
                            "gives one."),
    "exponentiated_gradient": ("Exponentiated gradient gives a randomised mixture of retrained models, not "
                               "one scikit-learn model to export; reweighing gives one."),
}


def training_sources(data: Dataset) -> list[str]:
    """Return the ways to get training rows (the sample's own training split first, for the sample)."""
    sources = [TRAIN_SPLIT, TRAIN_UPLOAD]
    if data.name.startswith("german") and (sample_dir() / SAMPLE_TRAIN_FILE).exists():
        sources.insert(0, TRAIN_SAMPLE)
    return sources


@st.cache_data(max_entries=8, show_spinner=False)
def _read_training(sha256: str, roles_key: tuple, name: str, _source, _roles) -> Dataset:
    from glasswing import ingest

    return ingest.load_dataset(_source, target=_roles.target, sensitive=_roles.sensitive,
                               features=_roles.features or None, positive_label=_roles.positive_label,
                               name=name)


def training_data(source: str, data: Dataset, upload) -> tuple[Dataset, Dataset] | None:
    """Return (train, held-out) for the chosen source, or None while an upload is awaited.

    An upload is kept for the session (in memory, like the upload itself): the file widget forgets it
    when its page is left, and the Report page (``upload=None``) still needs the rows of the result shown.
    """
    if source == TRAIN_SPLIT:
        return _split(data.sha256, roles_key(data), _data=data)
    if source == TRAIN_SAMPLE:
        raw, name = (sample_dir() / SAMPLE_TRAIN_FILE).read_bytes(), SAMPLE_TRAIN_FILE
    elif upload is not None:
        raw, name = upload.getvalue(), upload.name
        st.session_state[UPLOADED] = (name, raw)
    elif UPLOADED in st.session_state:
        name, raw = st.session_state[UPLOADED]
    else:
        return None
    return _read_training(hashlib.sha256(raw).hexdigest(), roles_key(data), name, raw, data.roles), data


@st.cache_data(max_entries=8, show_spinner=False)
def _split(sha256: str, roles_key: tuple, *, _data: Dataset) -> tuple[Dataset, Dataset]:
    """``audits.holdout_split`` (70% to retrain, 30% held out), once per data and roles."""
    return audits.holdout_split(_data, test_size=HOLDOUT, seed=0)


class _Runs:
    """Finished mitigation runs by key, the newest last, at most :data:`MAX_RUNS` (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: OrderedDict[tuple, MitigationResult] = OrderedDict()

    def get(self, key: tuple) -> MitigationResult | None:
        with self._lock:
            if key in self._runs:
                self._runs.move_to_end(key)
            return self._runs.get(key)

    def put(self, key: tuple, result: MitigationResult) -> None:
        with self._lock:
            self._runs[key] = result
            while len(self._runs) > MAX_RUNS:
                self._runs.popitem(last=False)


@st.cache_resource(show_spinner=False)
def _runs() -> _Runs:
    return _Runs()


def run(model_sha: str, train_sha: str, test_sha: str, roles_key: tuple, method: str, constraint: str,
        seed: int, _model: Model, _train: Dataset, _test: Dataset, bins: tuple = (), sensitive: tuple = (),
        max_iter: int = audits.EG_MAX_ITER,
        progress: Callable[[float, str], None] | None = None, params: tuple = ()) -> MitigationResult:
    """``audits.mitigate``, kept by the digests of model and data, their roles and the settings."""
    key = (model_sha, train_sha, test_sha, roles_key, method, constraint, seed, bins, sensitive, max_iter,
           params)
    if (result := _runs().get(key)) is None:
        result = audits.mitigate(_model, _train, _test, method=method, constraint=constraint, seed=seed,
                                 bins=dict(bins), sensitive=list(sensitive) or None, max_iter=max_iter,
                                 progress=progress, params=dict(params))
        _runs().put(key, result)
    return result


def run_shown(args: dict, model: Model, train: Dataset, test: Dataset,
              progress: Callable[[float, str], None] | None = None) -> MitigationResult:
    """Run (or fetch) the mitigation described by ``args``, with the page's headline settings."""
    result = run(model.sha256, train.sha256, test.sha256, roles_key(test), args["method"], args["constraint"],
                 args["seed"], _model=model, _train=train, _test=test, bins=args.get("bins", ()),
                 sensitive=args.get("sensitive", ()), max_iter=args.get("max_iter", audits.EG_MAX_ITER),
                 progress=progress, params=args.get("params", ()))
    settings = {"min_group_size": args.get("min_n", 30), "include_small_groups": args.get("small", False)}
    return replace(result, before=replace(result.before, **settings), after=replace(result.after, **settings))


def run_live(args: dict, label: str, model: Model, train: Dataset, test: Dataset) -> MitigationResult:
    """Run with a progress bar and a Stop button drawn where the call is; note the run in the session.

    A finished run is fetched at once. Otherwise the progress reports draw the bar, and a click on Stop
    (or on anything else) reruns the page, which interrupts the run at its next report; the page then
    reads :data:`RUNNING` and says where it stopped (:func:`stopped`).
    """
    st.subheader(f"Running {label}...")
    bar = st.progress(0.0, text="Starting")
    st.button("Stop", key="mitigation.stop", icon=":material/stop_circle:",
              help="Stops after the model's current fit; nothing of this run is kept.")
    st.session_state[RUNNING] = {"label": label, "message": "starting"}

    def progress(fraction: float, message: str) -> None:
        st.session_state[RUNNING] = {"label": label, "message": message}
        bar.progress(min(1.0, fraction), text=message)

    try:
        result = run_shown(args, model, train, test, progress=progress)
    except Exception:  # a sentence for the page's guard; only a rerun (a BaseException) leaves RUNNING set
        st.session_state.pop(RUNNING, None)
        raise
    st.session_state.pop(RUNNING, None)
    return result


def stopped() -> str | None:
    """Return the sentence about a run this session started and did not finish (once), or None."""
    running = st.session_state.pop(RUNNING, None)
    if running is None:
        return None
    return STOPPED.format(label=running["label"].lower(), message=running["message"].rstrip("."))


def describe(result: MitigationResult, train: Dataset, test: Dataset) -> str:
    """Say what was fitted on what, measured on what, for which groups, and what the method changes."""
    text = (f"{METHODS_CHANGE.get(result.params.get('stage'), result.params.get('stage', ''))} "
            f"Retrained or fitted on {len(train):,} rows of {train.name}; measured on {len(test):,} held-out "
            f"rows of {test.name}; groups: {', '.join(result.params['sensitive'])}; "
            f"{result.compute_time:.1f} s.")
    if "iterations" in result.params:
        text += (f" Exponentiated gradient ran {result.params['iterations']} of at most "
                 f"{result.params['max_iter']} iterations ({result.params['fits']} fits of the model).")
    return text


def left_out(result: MitigationResult) -> pd.DataFrame:
    """Return the groups the before/after headline leaves out, with their sizes (held-out rows)."""
    table = result.before.headline().left_out
    return table.drop(columns="group").rename(columns={"label": "group", "selection_rate": "selection rate "
                                                                                             "before",
                                                       "left_out_of": "left out of"}).set_index("group")


def context(model: Model, train: Dataset, test: Dataset) -> tuple:
    """Return what the tried methods must share to sit on one chart: model, data and roles."""
    return (model.sha256, train.sha256, test.sha256, roles_key(test))


def remember(result: MitigationResult, context: tuple) -> list[dict]:
    """Add ``result`` to this session's tried methods (one row per method and constraint); return them.

    The list starts over when the model, the data or the roles change (``context``), because the points
    of the trade-off chart must be measured on the same held-out rows.
    """
    tried = st.session_state.get(TRIED)
    if tried is None or tried["context"] != context:
        tried = {"context": context, "rows": []}
    row = result.summary()
    rows = [r for r in tried["rows"] if r["label"] != row["label"]] + [row]
    st.session_state[TRIED] = {"context": context, "rows": rows}
    return rows


def tried_rows(context: tuple) -> list[dict]:
    """Return the summary rows tried in this session for ``context`` (empty when it changed)."""
    tried = st.session_state.get(TRIED)
    return tried["rows"] if tried and tried["context"] == context else []


def weights_csv(result: MitigationResult, train: Dataset) -> bytes:
    """Return the training rows' sensitive columns, label and weight as CSV bytes."""
    frame = train.frame[[*result.params["sensitive"], train.roles.target]].copy()
    frame["weight"] = result.weights
    return neutralise(frame).to_csv(index=False, float_format="%.17g").encode()  # no formulas


@st.cache_data(max_entries=4, show_spinner=False)
def model_skops(model_sha: str, _result: MitigationResult) -> bytes:
    """Return the retrained scikit-learn model as skops bytes (``ingest.load_model`` reads them)."""
    import skops.io

    return skops.io.dumps(_result.estimator)


def group_table(result: MitigationResult, metrics: list[str]) -> pd.DataFrame:
    """Return before and after side by side: one row per group, (metric label, before/after) columns."""
    before, after = result.before.by_group[metrics], result.after.by_group[metrics]
    table = pd.concat({"before": before, "after": after}, axis=1).swaplevel(axis=1)
    table = table[[(m, s) for m in metrics for s in ("before", "after")]].round(3)
    table = table.rename(columns={m: audits.METRICS[m].label for m in metrics}, level=0)
    table.insert(0, ("n", "held out"), result.before.by_group["n"].to_numpy())
    if result.n_train is not None:
        table.insert(0, ("n", "training"), result.n_train.to_numpy())
    table.index = pd.Index(result.before.labels, name=" · ".join(result.before.sensitive_names))
    return table
