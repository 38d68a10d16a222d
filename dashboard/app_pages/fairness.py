"""Fairness audit: rates by group with intervals, the headline on adequate groups, the decision rule."""

import streamlit as st

from glasswing.audits import METRICS
from glasswing.audits._table import SCORE_LABELS, label
from glasswing.dashboard import _cohort, _state
from glasswing.dashboard import _compare_view as extra
from glasswing.dashboard import _counterfactuals as cf
from glasswing.dashboard import _fairness as fair
from glasswing.dashboard._text import md

st.title("Fairness audit")
st.caption("Compare how the model treats groups: rates with 95% Wilson intervals, fairlearn's disparities "
           "with score intervals (Newcombe, Katz), and the four-fifths rule in plain words. Headlines use "
           "the groups large enough to conclude from; every row is counted.")
data, model = _state.dataset(), _state.model()
if data is None or data.roles.target is None:
    _state.need("a dataset with a target column")
data = _cohort.apply(data, "fairness")
options = fair.sources(data, model)
if not options:
    _state.need("a dataset with a prediction or score column, or a tabular model")

candidates = []
with _state.guard("reading the audit settings"):
    candidates = fair.group_columns(data.sha256, _state.roles_key(data), _data=data)
default = [c for c in data.roles.sensitive if c in candidates] or candidates[:1]
left, middle, right = st.columns([2, 2, 1])
sensitive = left.multiselect("Sensitive features", candidates, default=default, key="fairness.sensitive",
                             help="Several features: audit each alone and their intersection.")
source = middle.selectbox("Predictions", options, format_func=lambda s: s.text, key="fairness.source")
min_n = int(right.number_input("Small group below", min_value=1, value=30, step=5, key="fairness.min_n",
                               help="Groups with fewer rows are left out of the headline and listed."))
score_metrics = list(SCORE_LABELS) if (source.thresholded or data.roles.score) else []
metrics = st.multiselect("Metrics", list(METRICS) + score_metrics, default=fair.DEFAULT_METRICS,
                         format_func=label, key="fairness.metrics")
values = sorted(data.frame[data.roles.target].dropna().unique().tolist(), key=str)
bins, settings = {}, st.container(border=True, key="fairness.settings")
settings.markdown("**Decision rule and groups**")
a, b, c = settings.columns(3)
positive = a.selectbox("Positive outcome (counted as selected)", values, key="fairness.positive",
                       index=values.index(data.positive_label) if data.positive_label in values else 0)
selected = b.text_input('What "selected" means', key="fairness.selected",
                        value=f"predicted {positive!r}", help="In your words, e.g. 'predicted to reoffend'.")
four_fifths = float(c.number_input("Four-fifths line", 0.05, 1.0, 0.8, 0.05, key="fairness.four_fifths"))
a, b, c = settings.columns(3)
include_small = a.checkbox("Include small groups in the headline", key="fairness.include_small")
merge = int(b.number_input("Merge categories with fewer rows into 'other'", 0, value=0, step=5,
                           key="fairness.merge"))
label_map_text = c.text_input("Label map (target value=model class, ...)", key="fairness.label_map",
                              disabled=source.kind != fair.MODEL, placeholder="<=50K=0, >50K=1")
with _state.guard("reading the bands"):
    bins = fair.bins_editor(data, sensitive, settings)
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
bins_key, mapping = tuple(sorted(bins.items())), None

with _state.guard("auditing the groups"):
    label_map = fair.label_map_key(label_map_text)
    if source.thresholded:
        with st.spinner("Counting every group at every threshold..."):
            scored, notes, mapping = fair.scored_views(
                data.sha256, model.sha256 if source.kind == fair.MODEL else "", _state.roles_key(data),
                source.kind, tuple(sensitive), bins_key, merge, positive, label_map, source.column,
                _data=data, _model=model if source.kind == fair.MODEL else None)
        low, high, step = fair.threshold_range(scored)
        start = 0.5 if low <= 0.5 <= high and high <= 1 else scored.nearest((low + high) / 2)
        threshold = st.slider("Decision threshold (score ≥ threshold is positive)", low, high, start, step,
                              key="fairness.threshold")
        gm = scored.audit(columns, threshold)
    else:
        with st.spinner("Counting every group..."):
            views_gm, notes = fair.logged_views(data.sha256, _state.roles_key(data), tuple(sensitive),
                                                bins_key, merge, positive, _data=data)
        gm = views_gm[columns]
    gm = fair.decorate(gm, min_group_size=min_n, include_small=include_small, four_fifths=four_fifths,
                       notes=notes, decision=fair.describe(source, data, model, selected, mapping))
    metrics = [m for m in metrics if m in gm.metrics]

    reference = st.selectbox("Reference group", [fair.HIGHEST, *gm.labels], key=f"{key}.reference",
                             help="The four-fifths rule and the differences below compare every group "
                                  "with this one.")
    ff = fair.verdict(gm, reference)
    fair.left_out(gm)
    fair.warnings(gm)
    fair.decision_box(gm)

    st.subheader("Metrics by group")
    st.caption(f"{int(gm.overall['n']):,} rows in {len(gm.counts)} groups; each rate with its "
               f"{gm.confidence:.0%} Wilson interval. Overall: "
               + ", ".join(f"{label(m)} {gm.overall[m]:.3f}" for m in metrics) + ".")
    st.dataframe(gm.table(metrics), width="stretch")
    st.markdown(f"**Difference from {md(ff.reference if reference == fair.HIGHEST else reference)}** "
                f"({gm.confidence:.0%} Newcombe intervals)")
    st.dataframe(fair.reference_table(gm, reference, metrics), width="stretch")

    st.subheader("Disparities")
    st.caption("Headline: " + ("every group with the counts each disparity needs." if include_small else
                               f"groups with at least {min_n:,} rows and the counts each disparity needs."))
    st.dataframe(fair.disparity_table(gm), width="stretch", hide_index=True)
    with st.expander("Every group (fairlearn's plain definitions)"):
        st.dataframe(fair.disparity_table(gm, headline=False), width="stretch", hide_index=True)
    fair.charts(gm, ff, metrics, key)
    extra.fairness_check_section(gm, key)
    extra.confusion_section(gm, key)
    if source.thresholded:
        st.subheader("Threshold")
        fair.threshold_chart(scored, columns, threshold, key)
    with _state.guard("comparing the two models"):
        extra.comparison_section(data, model, columns=columns, bins=bins_key, merge=merge,
                                 positive=positive, label_map=label_map, min_n=min_n, selected=selected,
                                 threshold=threshold if source.kind == fair.MODEL else None,
                                 roles=_state.roles_key(data), key=key)
    with _state.guard("measuring the recourse burden"):
        cf.burden_section(data, model, columns=columns, bins=bins_key, merge=merge, positive=positive,
                          min_n=min_n, threshold=threshold if source.kind == fair.MODEL else None, key=key)
