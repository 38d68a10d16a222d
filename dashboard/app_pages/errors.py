"""Error analysis: where the model fails, as a tree of cohorts; save one to audit or explain only it."""

import streamlit as st

from glasswing.audits._errors import feature_columns
from glasswing.dashboard import _cohort, _state
from glasswing.dashboard import _errors as ex
from glasswing.dashboard._fairness import group_columns
from glasswing.dashboard._text import md
from glasswing.reports.charts import error_tree_figure

st.title("Error analysis")
st.caption("Where does the model fail? A shallow decision tree fitted to the errors splits the rows into "
           "cohorts with readable rules; each has its error rate with a 95% Wilson interval, its share of "
           "all errors (coverage) and its rows. Save a cohort to audit or explain only it.")
data, model = _state.dataset(), _state.model()
if data is None or data.roles.target is None:
    _state.need("a dataset with a target column")
options = ex.sources(data, model)
if not options:
    _state.need("a dataset with a column of logged predictions or scores, or a tabular model")

candidates = [str(c) for c in data.frame.columns
              if c not in (data.roles.target, data.roles.prediction, data.roles.score)]
default = []
with _state.guard("reading the columns"):
    default = feature_columns(data)
left, right = st.columns([1, 2])
source = left.selectbox("Predictions", options, format_func=lambda s: s.text, key="errors.source")
features = right.multiselect("Describe cohorts by", candidates, default=default, key="errors.features",
                             help="The columns the rules are written in (features and sensitive columns).")
a, b, c = st.columns(3)
depth = int(a.number_input("Most conditions in a rule (tree depth)", 1, 10, 4, key="errors.depth"))
min_rows = int(b.number_input("Smallest cohort (rows)", 1, value=30, step=5, key="errors.min_rows"))
alpha = float(c.select_slider("Keep a split when its p-value is at most", [0.001, 0.01, 0.05, 0.1, 1.0],
                              value=0.05, key="errors.alpha",
                              help="Two-proportion z-test of the two sides' error rates, Bonferroni over the "
                                   "candidate splits. 1 keeps every split the tree makes, chance ones too."))
threshold = None
if source.kind == ex.SCORES:
    scores = data.frame[data.roles.score]
    low, high = float(scores.min()), float(scores.max())
    start = 0.5 if low >= 0 and high <= 1 else (low + high) / 2
    text = f"Decision threshold ({md(data.roles.score)} ≥ threshold predicts {md(repr(data.positive_label))})"
    threshold = float(st.number_input(text, value=start, key="errors.threshold"))
if not features:
    st.info("Choose at least one column to describe the cohorts by.", icon=":material/info:")
    st.stop()

use_model = model if source.kind == ex.MODEL else None
model_sha = use_model.sha256 if use_model is not None else ""
result = None
with _state.guard("finding the cohorts"), st.spinner("Fitting the error tree..."):
    result = ex.analysis(data.sha256, model_sha, _state.roles_key(data), tuple(features), depth, min_rows,
                         alpha, threshold, _data=data, _model=use_model)
if result is None:
    st.stop()

m1, m2, m3 = st.columns(3)
m1.metric("Errors", f"{result.errors:,} of {result.n:,}")
m2.metric("Error rate", f"{result.error_rate:.3f}")
m3.metric("Cohorts", f"{len(result.cohorts)}")
if len(result.cohorts) == 1:
    st.info(f"No cohort's error rate differs from the rest beyond chance (level {alpha:g}); every row is one "
            "cohort. Keep every split (p-value at most 1) to see the tree's splits anyway.",
            icon=":material/info:")
by_rule = {c.rule: c for c in result.cohorts}
by_rule.update({c.rule: c for c in result.nodes if not c.leaf and c.parent is not None})
rule = st.selectbox("Cohort", list(by_rule), format_func=lambda r: ex.option_text(result, by_rule[r].id),
                    key="errors.cohort", help="Leaves first, highest error rate first; then the inner nodes.")
cohort = by_rule[rule]
st.plotly_chart(error_tree_figure(result, highlight=cohort.id), key="errors.tree", width="stretch")
st.dataframe(ex.cohort_table(result), width="stretch", hide_index=True)
st.caption(md(result.method))
for note in result.notes:
    st.caption(md(note))

saved = _cohort.saved()
with st.container(border=True, key="errors.save"):
    st.markdown(f"**Selected cohort:** {md(cohort.rule)}: {cohort.n:,} rows, error rate "
                f"{cohort.error_rate:.3f} ({cohort.error_low:.3f} to {cohort.error_high:.3f}), "
                f"{cohort.coverage:.1%} of all errors.")
    left, right = st.columns(2)
    left.button("Audit only this cohort", key="errors.save_cohort", type="primary",
                icon=":material/filter_alt:", on_click=_cohort.save, args=(data, cohort),
                help="Fairness audit and Explain: tabular then use only this cohort's rows.")
    if saved is not None:
        right.button("Clear the cohort filter", key="errors.clear_cohort", on_click=_cohort.clear,
                     icon=":material/filter_alt_off:")
        st.success(f"Cohort filter on: **{md(saved.rule)}**. Open it on:", icon=":material/filter_alt:")
        a, b = st.columns(2)
        a.page_link("app_pages/fairness.py", label="Fairness audit", icon=":material/balance:")
        b.page_link("app_pages/explain_tabular.py", label="Explain: tabular", icon=":material/table_chart:")

st.subheader("Fairness audit per cohort")
st.caption("The fairness audit repeated inside each cohort: does the model treat groups differently where it "
           "fails most? Headline disparities use the groups large enough to conclude from.")
groups = []
with _state.guard("reading the group columns"):
    groups = group_columns(data.sha256, _state.roles_key(data), _data=data)
left, right = st.columns([2, 1])
sensitive = left.multiselect("Sensitive features", groups, key="errors.sensitive",
                             default=[s for s in data.roles.sensitive if s in groups])
min_n = int(right.number_input("Small group below", 1, value=30, step=5, key="errors.min_n"))
if sensitive:
    with _state.guard("auditing each cohort"):
        table = ex.fairness_per_cohort(data, use_model, _state.roles_key(data), result, sensitive, min_n)
        st.dataframe(table.round(3), width="stretch", hide_index=True)
else:
    st.info("Choose a sensitive feature to audit each cohort.", icon=":material/info:")
