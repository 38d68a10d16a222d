"""Explain: tabular. Global SHAP and permutation importance, one row's SHAP and LIME side by side, what-if."""

import streamlit as st

from glasswing import explainers
from glasswing._plain import plain
from glasswing.dashboard import _cohort, _state
from glasswing.dashboard import _counterfactuals as cf
from glasswing.dashboard import _explain_tabular as xt
from glasswing.dashboard import _shap_units as units
from glasswing.dashboard._text import md
from glasswing.reports import charts

st.title("Explain: tabular")
model, data = _state.model(), _state.dataset()
if model is None or model.modality != "tabular":
    _state.need("a tabular model")
if data is None:
    _state.need("a dataset to explain the model on")
data = _cohort.apply(data, "xt")

ok, why_not = explainers.registry.applicable(model)
with st.expander("Settings and methods", icon=":material/tune:"):
    st.markdown("**Methods for this model:** " + ", ".join(md(s.label) for s in ok) + ".  \n"
                + "  \n".join(f"*{md(explainers.registry.get(n).label)}* does not apply: {md(w)}"
                              for n, w in why_not.items()))
    classes = explainers.class_labels(model)
    explained = st.selectbox("Global views explain class", classes, key="xt.class",
                             index=xt.default_class(classes, data.positive_label),
                             help="Every dot of the beeswarm and dependence plots explains this class "
                                  "(for a binary model: the positive outcome). Row views explain the "
                                  "predicted class, as labelled.")
    a, b, c, d, e = st.columns(5)
    choice = explainers.registry.get("shap").param("algorithm")
    algorithm = a.selectbox("SHAP algorithm", choice.choices, key="xt.algorithm", help=choice.help)
    seed = int(b.number_input("Seed", min_value=0, value=0, step=1, key="xt.seed"))
    background_size = int(c.number_input("Background rows", 10, 2000, 100, step=10, key="xt.background",
                                         help="SHAP's background sample (linear, permutation, kernel)."))
    num_samples = int(d.number_input("LIME samples", 100, 100_000, 5000, step=500, key="xt.lime_samples"))
    sample_slot = e.empty()

chosen = None
with _state.guard("choosing the SHAP algorithm"):
    chosen, reason = explainers.shap_algorithm(model, algorithm)
if chosen is None:
    st.stop()
default_n = min(len(data), xt.DEFAULT_SAMPLE[xt.is_fast(chosen)])
limit = xt.INLINE_LIMIT[xt.is_fast(chosen)]
n = int(sample_slot.number_input("Rows for global views", min(10, len(data)), len(data), default_n, step=50,
                                 key=f"xt.sample.{xt.is_fast(chosen)}",
                                 help=f"A stratified, seeded sample; up to {limit:,} rows are explained at "
                                      "once, more in the background. Global views say how many they use."))
output = units.unit_switch(chosen)
st.caption(f"SHAP uses **{md(xt.algorithm_name(chosen))}**: {md(units.describe(reason, output))}")
shap_params = {"algorithm": algorithm, "background_size": background_size, "seed": seed, "output": output}

tab_global, tab_local, tab_what_if, tab_cf = st.tabs(["Global", "One row", "What-if", "Counterfactuals"])
with tab_global, _state.guard("explaining the model globally"):
    by, strata = xt.strata(model, data)
    global_params = {**shap_params, "target": explained}
    positions = xt.stratified_sample(model, data, by, strata, min(n, default_n) if n > limit else n, seed)
    global_exps = xt.global_shap(model, data, positions, global_params, chosen)
    pi = xt.permutation(model, data, positions, 5, seed)
    pi_rows = len(positions)
    if n > limit:  # the default sample now, the larger one once its background run is done
        positions, global_exps = xt.larger_sample(model, data, (by, strata), n, seed, global_params, chosen,
                                                  (positions, global_exps))
    ci = xt.intervals(model, data, positions, strata, global_exps, global_params)
    shown = xt.thinned(global_exps)
    drawn = (f" The beeswarm and dependence plots draw {len(shown):,} of them, evenly spaced."
             if len(shown) < len(global_exps) else "")
    st.caption(f"Global views rest on **{len(positions):,} of {len(data):,} rows**, a sample stratified by "
               f"{md(by)} (seed {seed}), and explain class **{md(repr(explained))}** for every row. Bars "
               f"show mean |SHAP| with {ci.level:.0%} bootstrap intervals ({ci.n_resamples} resamples of "
               f"the rows, within strata). SHAP values are in {md(global_exps[0].output)}.{drawn} "
               f"Permutation importance, on {pi_rows:,} of the rows: {md(pi.reason)}")
    left, right = st.columns(2)
    left.plotly_chart(charts.shap_importance_figure(global_exps, intervals=ci), key="xt.fig.importance")
    right.plotly_chart(charts.permutation_importance_figure(pi), key="xt.fig.permutation")
    st.plotly_chart(charts.beeswarm_figure(shown), key="xt.fig.beeswarm")
    xt.dependence(shown)

row = None
with tab_local, _state.guard("explaining the row"):
    pick = st.segmented_control("Pick a row", ["By index", "By filter"], default="By index", key="xt.pick")
    if pick == "By filter":
        matches = xt.filter_widgets(model, data)
        picked = st.selectbox(f"{len(matches):,} rows match; explain row", matches[:1000].tolist(),
                              key="xt.match")
    else:
        picked = int(st.number_input("Row index", min_value=0, value=0, step=1, key="xt.row",
                                     help=f"0 to {len(data) - 1:,}"))
    explainers.rows_from_spec(picked, len(data))
    (shap_e,) = xt.explain_rows(model, data, [picked], "shap", shap_params)
    (lime_e,) = xt.explain_rows(model, data, [picked], "lime", {"num_samples": num_samples, "seed": seed})
    row = picked
    actual = "" if data.y_true is None else f"; the data says {md(repr(plain(data.y_true.iloc[row])))}"
    st.markdown(f"Row **{row}**: the model predicts **{md(repr(lime_e.target))}** with probability "
                f"{lime_e.prediction:.3f}{actual}.")
    left, right = st.columns(2)
    left.plotly_chart(charts.waterfall_figure(shap_e), key="xt.fig.waterfall")
    right.plotly_chart(charts.lime_figure(lime_e), key="xt.fig.lime")
    st.info(md(explainers.agreement(shap_e, lime_e, k=3).sentence), icon=":material/compare_arrows:")

with tab_what_if, _state.guard("showing the what-if editor"):
    if row is None:
        st.info("Pick a valid row on the One row tab first.", icon=":material/info:")
    else:
        st.caption(f"Change row {row}'s values and press Update; the prediction and its SHAP explanation "
                   "follow. Categories can be typed in, but only values seen in training are accepted.")
        with st.form(f"xt.whatif.{row}"):
            values = xt.what_if_inputs(model, data, row)
            st.form_submit_button("Update", icon=":material/refresh:")
        with _state.guard("explaining the edited row"):
            edited, proba = xt.what_if(model, data, values, shap_params)
            change = xt.what_if_change(model, data, row, proba)
            flipped = change.pop("flipped")
            st.metric(**change)
            if flipped:
                st.warning(flipped, icon=":material/swap_horiz:")
            st.plotly_chart(charts.waterfall_figure(edited), key="xt.fig.whatif")

with tab_cf, _state.guard("searching counterfactuals"):
    if row is None:
        st.info("Pick a valid row on the One row tab first.", icon=":material/info:")
    else:
        cf.row_section(model, data, row, seed)
