"""Fairness page sections: the fairness check, confusion matrices by group, two models side by side.

Thin rendering over ``audits.fairness_check``, ``audits.confusion_by_group`` and ``audits.compare_models``;
the comparison is cached by the two models' and the data's digests and every setting. The second model is
the other shipped German sample model or a file uploaded through the same safe loader as the Model & data
page (unsafe formats need the same "I trust this file" tick).
"""

from __future__ import annotations

import streamlit as st

from glasswing import audits, ingest
from glasswing.audits._fairness_check import default_reference
from glasswing.audits._table import label
from glasswing.dashboard import _loading
from glasswing.dashboard._text import md
from glasswing.ingest import Dataset, Model, samples
from glasswing.reports.charts import comparison_figure, confusion_figure, fairness_check_figure

NONE, UPLOAD = "No second model", "Upload a model file"
SAMPLE_MODELS = {"German credit, gradient boosting (sample)": "gbm",
                 "German credit, logistic regression (sample)": "logreg"}
N_BOOT, SEED = 1000, 0
#: Where the page keeps the comparison it shows, for the Report page to include.
SHOWN = "fairness.compare.shown"
CHECK_SHOWN = "fairness.check.reference"


def fairness_check_section(gm: audits.GroupMetrics, key: str) -> None:
    """Show the dalex-style fairness check: ratios to a reference group with the 0.8-1.25 band shaded."""
    st.subheader("Fairness check")
    st.caption("Each group's rate divided by the reference group's for TPR, accuracy, precision, FPR and "
               "selection rate (dalex's fairness check); ratios inside the shaded band 0.8 to 1.25 pass. "
               "Whiskers: Katz intervals. The verdict reads groups large enough to conclude from.")
    default = default_reference(gm)
    reference = st.selectbox("Reference group of the fairness check", gm.labels, index=default,
                             key=f"{key}.check.reference", format_func=md)
    fc = audits.fairness_check(gm, reference)
    st.session_state[CHECK_SHOWN] = reference
    st.markdown(f"**Fairness check:** {md(fc.sentence)}")
    st.plotly_chart(fairness_check_figure(fc), key=f"{key}.check.figure", width="stretch")
    with st.expander("Ratios to the reference group"):
        shown = fc.ratios.assign(metric=fc.ratios["metric"].map(label)).round(
            {"value": 3, "reference_value": 3, "ratio": 3, "low": 3, "high": 3})
        st.dataframe(shown, hide_index=True, width="stretch")


def confusion_section(gm: audits.GroupMetrics, key: str) -> None:
    """Show the confusion matrix of every group: counts, and rates within each actual class."""
    st.subheader("Confusion matrix by group")
    table = audits.confusion_by_group(gm)
    st.caption("Rows: the actual outcome; columns: the prediction. Each cell shows the count and, in "
               "brackets, its share of the actual class (TPR and FNR for actual positives, FPR and TNR "
               "for actual negatives).")
    st.plotly_chart(confusion_figure(table), key=f"{key}.confusion.figure", width="stretch")


@st.cache_resource(max_entries=2, show_spinner="Loading the sample model...")
def _sample_model(variant: str) -> Model:
    return samples.german_model(variant)


@st.cache_data(max_entries=8, show_spinner=False)
def _compare(data_sha: str, a_sha: str, b_sha: str, roles: tuple, columns: tuple, bins: tuple, merge: int,
             positive, label_map: tuple, threshold, min_n: int, selected: str, *, _data: Dataset,
             _a: Model, _b: Model) -> audits.ModelComparison:
    return audits.compare_models(_data, _a, _b, sensitive=list(columns), threshold=threshold,
                                 pos_label=positive, bins=dict(bins), merge_below=merge,
                                 label_map=dict(label_map) or None, selected=selected, min_group_size=min_n,
                                 n_boot=N_BOOT, seed=SEED)


def second_model(model: Model, data: Dataset, key: str, upload_key: str = "fairness.compare") -> Model | None:
    """Return the model to compare with: a shipped sample or an upload (safe loader, trust when needed).

    The choice is kept under ``<key>.compare.choice``, the upload under ``<upload_key>.file``.
    """
    options = [NONE, *[k for k, v in SAMPLE_MODELS.items() if _sample_model(v).sha256 != model.sha256],
               UPLOAD]
    choice = st.selectbox("Second model (B; the loaded model is A)", options, key=f"{key}.compare.choice")
    if choice == NONE:
        return None
    if choice != UPLOAD:
        return _sample_model(SAMPLE_MODELS[choice])
    upload = st.file_uploader("Model B: .skops or .onnx (a tabular model of the same task)",
                              key=f"{upload_key}.file", max_upload_size=ingest.MAX_FILE_MB,
                              help=f"Up to {ingest.MAX_FILE_MB} MB; read by the same safe loader as the "
                                   "Model & data page.")
    if upload is None:
        return None
    trusted, needs = False, _loading.trust_needed(upload)
    if needs:
        trusted = st.checkbox("I trust this file", key=f"{upload_key}.trust",
                              help="This file holds code that could run when the model loads or scores "
                                   "data. Tick this only for a file whose origin you trust.")
        st.caption("Trusting it allows: " + ", ".join(md(n) for n in needs[:8]) + ".")
        if not trusted:
            return None
    raw = upload.getvalue()
    other = _loading.model(_loading.digest(raw), upload.name, trusted, None, None, raw)
    ingest.check_model_fits(other, data)
    return other


def comparison_section(data: Dataset, model: Model | None, *, columns: tuple, bins: tuple, merge: int,
                       positive, label_map: tuple, threshold: float | None, min_n: int, selected: str,
                       roles: tuple, key: str) -> None:
    """Two models side by side on the same rows, with paired bootstrap intervals of B - A."""
    st.subheader("Compare with a second model")
    if model is None or model.modality != "tabular":
        st.caption("Load a tabular model on the Model & data page to compare it with a second one.")
        return
    st.caption(md(f"Both models predict every one of the {len(data):,} rows ("
                  + (f"score ≥ {threshold:g}" if threshold is not None else "each model's own prediction")
                  + "); B − A per group with a paired bootstrap interval: the same resampled rows for both, "
                  f"{N_BOOT:,} resamples, seed {SEED}. The Review page compares saved runs."))
    other = second_model(model, data, key)
    if other is None:
        st.session_state.pop(SHOWN, None)
        return
    with st.spinner(f"Scoring both models and resampling {N_BOOT:,} times..."):
        cmp = _compare(data.sha256, model.sha256, other.sha256, roles, columns, bins, merge, positive,
                       label_map, threshold, min_n, selected, _data=data, _a=model, _b=other)
    st.session_state[SHOWN] = cmp.to_dict()
    head = cmp.headline_groups()
    with st.container(border=True, key=f"{key}.compare.headline"):
        st.markdown("**Which groups the change helps or hurts** "
                    f"({'some are hurt' if (head['verdict'] == 'hurts').any() else 'none is hurt'})  \n"
                    + "  \n".join(md(s) for s in cmp.sentences()[1:]))
    st.caption(md(cmp.method))
    st.plotly_chart(comparison_figure(cmp), key=f"{key}.compare.figure", width="stretch")
    st.markdown("**Summary disparities** (groups both headlines use)")
    st.dataframe(cmp.disparity_table(), hide_index=True, width="stretch")
    st.markdown("**Every rate by group, both models**")
    st.dataframe(cmp.table(), hide_index=True, width="stretch")
