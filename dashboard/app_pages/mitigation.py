"""Mitigation: reweighing, a threshold optimizer or exponentiated gradient, compared before and after."""

import streamlit as st

from glasswing.audits import CONSTRAINTS, METHODS, METRICS
from glasswing.audits._mitigation import CONSTRAINT_DISPARITY
from glasswing.dashboard import _mitigation as mit
from glasswing.dashboard import _state
from glasswing.dashboard._fairness import bins_editor
from glasswing.dashboard._text import md
from glasswing.reports.charts import mitigation_groups_figure, mitigation_tradeoff_figure

GROUP_METRICS = ["selection_rate", "true_positive_rate", "false_positive_rate", "accuracy"]
DISPARITIES = {"demographic_parity_difference": "Demographic parity difference",
               "equalized_odds_difference": "Equalized odds difference"}

st.title("Mitigation")
st.caption("Reduce a disparity between groups and see what it costs: the original and the mitigated model "
           "are measured on the same held-out rows.")
model, data = _state.model(), _state.dataset()
if model is None or data is None:
    _state.need("a tabular model and a dataset with a target and a sensitive column")

left, right = st.columns(2)
method = left.selectbox("Method", list(METHODS), key="mitigation.method",
                        format_func=lambda m: f"{METHODS[m].label} ({METHODS[m].stage})")
spec = METHODS[method]
left.caption(spec.description)
constraint = right.selectbox("Constraint", spec.constraints, key=f"mitigation.constraint.{method}",
                             format_func=CONSTRAINTS.get)
seed = int(right.number_input("Seed (retraining and randomised predictions)", min_value=0,
                              max_value=2**31 - 1, value=0, key="mitigation.seed"))
source = st.radio("Training data", mit.training_sources(data), key="mitigation.source", horizontal=True,
                  format_func=md)
left, right = st.columns(2)
min_n = int(left.number_input("Small group below (left out of the comparison)", min_value=1, value=30, step=5,
                              key="mitigation.min_n"))
small = right.checkbox("Include small groups in the comparison", key="mitigation.include_small")
bins = {}
with _state.guard("reading the bands"):
    bins = bins_editor(data, list(data.roles.sensitive), st, prefix="mitigation")
upload = None
if source == mit.TRAIN_UPLOAD:
    upload = st.file_uploader("Training rows with the same columns (CSV or Parquet, up to 200 MB)",
                              type=["csv", "parquet"], key="mitigation.upload")

why_not = spec.why_not(model)
if why_not:
    st.warning(md(why_not), icon=":material/block:")
if st.button("Run mitigation", type="primary", disabled=why_not is not None, key="mitigation.run"):
    args = {"method": method, "constraint": constraint, "seed": seed, "source": source,
            "bins": tuple(sorted(bins.items())), "min_n": min_n, "small": small}
    with _state.guard(f"running {spec.label.lower()}"):
        split = None if source == mit.TRAIN_UPLOAD and upload is None else mit.training_data(source, data,
                                                                                              upload)
        if split is None:
            st.info("Upload the training rows first.", icon=":material/info:")
        else:
            with st.status(f"Running {spec.label.lower()}...", expanded=False) as status:
                result = mit.run_shown(args, model, *split)
                status.update(label=f"{result.label}: done in {result.compute_time:.1f} s")
            mit.remember(result, mit.context(model, *split))
            st.session_state[mit.SHOWN] = args

args = st.session_state.get(mit.SHOWN)
if not args:
    st.info("Choose a method and a constraint, then press **Run mitigation**.", icon=":material/info:")
    st.stop()

with _state.guard("showing the mitigation result"):
    split = mit.training_data(args["source"], data, upload)
    if split is None:
        st.info("Upload the training rows again to see the last result.", icon=":material/info:")
        st.stop()
    result = mit.run_shown({**args, "min_n": min_n, "small": small}, model, *split)
    train, test = split
    st.subheader(md(result.label))
    st.caption(md(f"Retrained or fitted on {len(train):,} rows of {train.name}; measured on {len(test):,} "
                  f"held-out rows of {test.name}; groups: {', '.join(result.params['sensitive'])}."))
    keys = list(dict.fromkeys([*DISPARITIES, CONSTRAINT_DISPARITY[result.constraint]]))  # + the targeted one
    cols = st.columns(1 + len(keys))
    acc = (result.accuracy_before, result.accuracy_after)
    cols[0].metric("Accuracy", f"{acc[1]:.3f}", f"{acc[1] - acc[0]:+.3f} (was {acc[0]:.3f})")
    for col, key in zip(cols[1:], keys, strict=True):
        before, after = result.disparity(key)
        shown = "undefined" if after != after else f"{after:.3f}"
        col.metric(DISPARITIES.get(key) or f"{METRICS[key].label} difference", shown,
                   None if after != after or before != before else
                   f"{after - before:+.3f} (was {before:.3f})", delta_color="inverse")
    scope = "every group" if small else f"groups with at least {min_n:,} held-out rows"
    st.caption(f"Disparities compare {scope} that have the counts each needs.")
    left_out = mit.left_out(result)
    if len(left_out):
        st.markdown("**Left out of the comparison** (too few held-out rows or counts)")
        st.dataframe(left_out.round(3))  # grid cells are text, not Markdown
    st.markdown("**Per-group metrics, before and after**")
    st.dataframe(mit.group_table(result, GROUP_METRICS), width="stretch")
    shown_metric = st.selectbox("Metric to chart", GROUP_METRICS, key="mitigation.metric",
                                format_func=lambda m: METRICS[m].label)
    st.plotly_chart(mitigation_groups_figure(result.before.by_group, result.after.by_group,
                                             metric=shown_metric, title_suffix=result.label),
                    key="mitigation.groups_chart")

    st.markdown("**Every method tried in this session**")
    axis = st.radio("Disparity axis", list(DISPARITIES), format_func=DISPARITIES.get, horizontal=True,
                    key="mitigation.axis")
    rows = mit.tried_rows(mit.context(model, train, test))
    st.plotly_chart(mitigation_tradeoff_figure(rows, disparity=axis), key="mitigation.tradeoff_chart")

    st.markdown("**Export**")
    if result.model is None:
        st.caption(mit.NO_MODEL_EXPORT[result.method])
    else:
        down = st.columns(2)
        down[0].download_button("Weights (CSV)", mit.weights_csv(result, train), file_name="weights.csv",
                                mime="text/csv", key="mitigation.weights_csv")
        down[1].download_button("Retrained model (skops)", mit.model_skops(result.model.sha256, result),
                                file_name="mitigated_model.skops", mime="application/octet-stream",
                                key="mitigation.model_skops")
