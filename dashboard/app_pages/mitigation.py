"""Mitigation: methods compared before and after, per-group thresholds by hand, a human-review band."""

import streamlit as st

from glasswing.audits import CONSTRAINTS, EG_FULL_MAX_ITER, EG_MAX_ITER, METHODS, METRICS
from glasswing.audits._mitigation import CONSTRAINT_DISPARITY
from glasswing.dashboard import _decisions as dec
from glasswing.dashboard import _fairness as fair
from glasswing.dashboard import _mitigation as mit
from glasswing.dashboard import _mitigation_methods as methods
from glasswing.dashboard import _state
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
if (stopped := mit.stopped()) is not None:
    st.warning(md(stopped), icon=":material/stop_circle:")

candidates = []
with _state.guard("reading the sensitive features"):
    candidates = fair.group_columns(data.sha256, _state.roles_key(data), _data=data)
left, right = st.columns([3, 2])
sensitive = left.multiselect("Sensitive features", candidates, key="mitigation.sensitive",
                             default=[c for c in data.roles.sensitive if c in candidates] or candidates[:1],
                             help="Several features: mitigate for their intersection.")
source = right.radio("Training and held-out rows", mit.training_sources(data), key="mitigation.source",
                     format_func=md)
left, right = st.columns(2)
min_n = int(left.number_input("Small group below (left out of the comparison)", min_value=1, value=30, step=5,
                              key="mitigation.min_n"))
small = right.checkbox("Include small groups in the comparison", key="mitigation.include_small")
bins = {}
with _state.guard("reading the bands"):
    bins = fair.bins_editor(data, sensitive, st, prefix="mitigation")
upload = None
if source == mit.TRAIN_UPLOAD:
    upload = st.file_uploader("Training rows with the same columns (CSV or Parquet, up to 200 MB)",
                              type=["csv", "parquet"], key="mitigation.upload")
if not sensitive:
    st.info("Choose at least one sensitive feature.", icon=":material/info:")
    st.stop()
methods_tab, thresholds_tab, review_tab = st.tabs(["Methods", "Thresholds by group", "Review band"])

with methods_tab:
    left, right = st.columns(2)
    method = left.selectbox("Method", list(METHODS), key="mitigation.method",
                            format_func=lambda m: f"{METHODS[m].label} ({METHODS[m].stage})")
    spec = METHODS[method]
    left.caption(spec.description)
    constraint = right.selectbox("Constraint", spec.constraints, key=f"mitigation.constraint.{method}",
                                 format_func=CONSTRAINTS.get)
    seed = int(right.number_input("Seed (retraining and randomised predictions)", min_value=0,
                                  max_value=2**31 - 1, value=0, key="mitigation.seed"))
    settings = st.expander("Settings of this method", expanded=False) if spec.params else None
    params = methods.param_widgets(method, settings) if settings else {}
    max_iter = EG_MAX_ITER
    if method == "exponentiated_gradient":
        full = st.checkbox(f"Full run: fairlearn's {EG_FULL_MAX_ITER} iterations (default here: at most "
                           f"{EG_MAX_ITER})", key="mitigation.eg_full",
                           help="Each iteration refits the model one to nine times; the full run can take "
                                "many minutes on large data. Progress and Stop are shown while it runs.")
        max_iter = EG_FULL_MAX_ITER if full else EG_MAX_ITER
    why_not = spec.why_not(model)
    if why_not:
        st.warning(md(why_not), icon=":material/block:")
    buttons = st.columns([1, 2])
    clicked = buttons[0].button("Run mitigation", type="primary", disabled=why_not is not None,
                                key="mitigation.run")
    swept = method == "fair_loss" and buttons[1].button(
        f"Sweep lambda ({', '.join(f'{v:g}' for v in methods.SWEEP_LAMBDAS)})", disabled=why_not is not None,
        key="mitigation.sweep", help="One fair-loss run per lambda: a curve of its own on the chart below.")
    start = None
    if clicked or swept:
        with _state.guard("reading the training rows"):
            fresh = source != mit.TRAIN_UPLOAD or upload is not None  # a new run needs the file itself
            if (start := mit.training_data(source, data, upload) if fresh else None) is None:
                st.info("Upload the training rows first.", icon=":material/info:")
    area = st.empty()  # the run's progress, then its result, replace what was shown here before
    if start is not None:
        args = {"method": method, "constraint": constraint, "seed": seed, "source": source,
                "bins": tuple(sorted(bins.items())), "min_n": min_n, "small": small,
                "sensitive": tuple(sensitive), "max_iter": max_iter, "params": tuple(sorted(params.items()))}
        st.session_state.pop(mit.SHOWN, None)  # no old result under its heading while this one runs
        with area.container(), _state.guard(f"running {spec.label.lower()}"):
            for each in methods.run_sweep(args, model, *start) if swept else ():
                mit.remember(each, mit.context(model, *start))  # every lambda becomes a point
            result = mit.run_live(args, f"{spec.label} ({constraint.replace('_', ' ')})", model, *start)
            mit.remember(result, mit.context(model, *start))
            st.session_state[mit.SHOWN] = args
    args = st.session_state.get(mit.SHOWN)
    if not args:
        st.info("Choose a method and a constraint, then press **Run mitigation**.", icon=":material/info:")
    else:
        with area.container(), _state.guard("showing the mitigation result"):
            split = mit.training_data(args["source"], data, upload)
            if split is None:
                st.info("Upload the training rows again to see the last result.", icon=":material/info:")
            else:
                result = mit.run_shown({**args, "min_n": min_n, "small": small}, model, *split)
                train, test = split
                st.subheader(md(result.label))
                st.caption(md(mit.describe(result, train, test)))
                keys = list(dict.fromkeys([*DISPARITIES, CONSTRAINT_DISPARITY[result.constraint]]))
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
                fair.warnings(result.before)
                left_out = mit.left_out(result)
                if len(left_out):
                    st.markdown("**Left out of the comparison** (too few held-out rows or counts)")
                    st.dataframe(left_out.round(3))  # grid cells are text, not Markdown
                st.markdown("**Per-group metrics, before and after** (n: rows of each group)")
                st.dataframe(mit.group_table(result, GROUP_METRICS), width="stretch")
                shown_metric = st.selectbox("Metric to chart", GROUP_METRICS, key="mitigation.metric",
                                            format_func=lambda m: METRICS[m].label)
                st.plotly_chart(mitigation_groups_figure(result.before.by_group, result.after.by_group,
                                                         metric=shown_metric, title_suffix=result.label),
                                key="mitigation.groups_chart")

                st.markdown("**Every method tried in this session**")
                axis = st.radio("Disparity axis", list(DISPARITIES), format_func=DISPARITIES.get,
                                horizontal=True, key="mitigation.axis")
                rows = mit.tried_rows(mit.context(model, train, test))
                chart, guide = st.columns([3, 1])
                chart.plotly_chart(mitigation_tradeoff_figure(rows, disparity=axis),
                                   key="mitigation.tradeoff_chart")
                guide.markdown("**When to use which**\n" + methods.when_to_use())

                st.markdown("**Export**")
                down = st.columns(2)
                if result.weights is not None:
                    down[0].download_button("Weights (CSV)", mit.weights_csv(result, train),
                                            file_name="weights.csv", mime="text/csv",
                                            key="mitigation.weights_csv")
                methods.export_button(result, down[1])

with thresholds_tab, _state.guard("setting thresholds by group"):
    dec.thresholds_section(model, data, source, upload, sensitive, bins, min_n, small)
with review_tab, _state.guard("routing decisions to review"):
    dec.review_section(model, data, source, upload, sensitive, bins, min_n, small)
