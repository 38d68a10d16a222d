"""Fairness audit: rates by group with intervals, disparities, the four-fifths rule and a threshold slider."""

import streamlit as st

from glasswing.audits import METRICS
from glasswing.audits._table import SCORE_LABELS, label
from glasswing.dashboard import _fairness as fair
from glasswing.dashboard import _state
from glasswing.dashboard._text import md

st.title("Fairness audit")
st.caption("Compare how the model treats groups: rates with 95% Wilson intervals, fairlearn's disparities "
           "with bootstrap intervals, and the four-fifths rule in plain words. Every row is counted; charts "
           "show per-group aggregates.")
data, model = _state.dataset(), _state.model()
if data is None or data.roles.target is None:
    _state.need("a dataset with a target column")
options = fair.sources(data, model)
if not options:
    _state.need("a dataset with a prediction or score column, or a tabular model")

candidates = []
with _state.guard("reading the audit settings"):
    candidates = fair.group_columns(data.sha256, fair.roles_key(data), _data=data)
default = [c for c in data.roles.sensitive if c in candidates] or candidates[:1]
left, middle, right = st.columns([2, 2, 1])
sensitive = left.multiselect("Sensitive features", candidates, default=default, key="fairness.sensitive",
                             help="Several features: audit each alone and their intersection.")
source = middle.selectbox("Predictions", options, format_func=lambda s: s.text, key="fairness.source")
min_n = int(right.number_input("Small group below", min_value=1, value=30, step=5, key="fairness.min_n",
                               help="Groups with fewer rows are flagged: too small to conclude from."))
score_metrics = list(SCORE_LABELS) if (source.thresholded or data.roles.score) else []
metrics = st.multiselect("Metrics", list(METRICS) + score_metrics, default=fair.DEFAULT_METRICS,
                         format_func=label, key="fairness.metrics")
threshold = None
if source.thresholded:
    threshold = st.slider("Decision threshold (score ≥ threshold is positive)", 0.0, 1.0, 0.5, 0.01,
                          key="fairness.threshold")
if not sensitive:
    st.info("Choose at least one sensitive feature.", icon=":material/info:")
    st.stop()
if not metrics:
    st.info("Choose at least one metric.", icon=":material/info:")
    st.stop()

views = {" × ".join(sensitive) + (" (intersection)" if len(sensitive) > 1 else ""): tuple(sensitive)}
if len(sensitive) > 1:
    views.update({f"{c} alone": (c,) for c in sensitive})
view = st.segmented_control("Groups", list(views), default=list(views)[0], key="fairness.view",
                            format_func=md)
columns = views.get(view or list(views)[0], tuple(sensitive))
key = "fairness." + "+".join(columns)

with _state.guard("auditing the groups"):
    if source.thresholded:
        with st.spinner("Counting every group at every threshold..."):
            scored = fair.scored_views(data.sha256, model.sha256 if source.kind == fair.MODEL else "",
                                       fair.roles_key(data), source.kind, tuple(sensitive), _data=data,
                                       _model=model if source.kind == fair.MODEL else None)[columns]
        gm = fair.at_threshold(scored, threshold, min_n)
    else:
        with st.spinner("Counting every group..."):
            views_gm = fair.logged_views(data.sha256, fair.roles_key(data), tuple(sensitive), _data=data)
        gm = fair.with_min_size(views_gm[columns], min_n)
    metrics = [m for m in metrics if m in gm.metrics]

    reference = st.selectbox("Reference group", [fair.HIGHEST, *gm.labels], key=f"{key}.reference",
                             help="The four-fifths rule and the differences below compare every group "
                                  "with this one.")
    ff = fair.verdict(gm, reference)
    fair.warnings(gm)

    st.subheader("Metrics by group")
    st.caption(f"{int(gm.overall['n']):,} rows in {len(gm.counts)} groups; each rate with its "
               f"{gm.confidence:.0%} Wilson interval. Overall: "
               + ", ".join(f"{label(m)} {gm.overall[m]:.3f}" for m in metrics) + ".")
    st.dataframe(gm.table(metrics), width="stretch")
    st.markdown(f"**Difference from {md(ff.reference if reference == fair.HIGHEST else reference)}** "
                f"({gm.confidence:.0%} bootstrap intervals)")
    st.dataframe(fair.reference_table(gm, reference, metrics), width="stretch")

    st.subheader("Disparities")
    st.dataframe(fair.disparity_table(gm), width="stretch", hide_index=True)
    fair.charts(gm, ff, metrics, key)
    if source.thresholded:
        st.subheader("Threshold")
        fair.threshold_chart(scored, threshold, key)
