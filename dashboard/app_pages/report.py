"""Report: compose the audit report (what to include, notes, sign-off), export it, save the run."""

import streamlit as st

from glasswing import reports
from glasswing.dashboard import _errors as error_cohorts
from glasswing.dashboard import _report, _state
from glasswing.dashboard._compare_view import second_model
from glasswing.dashboard._fairness import bins_editor
from glasswing.dashboard._text import md

st.title("Report")
st.caption("Compose the audit report: what was audited (with fingerprints), the findings, chosen "
           "explanations and mitigation, your notes and sign-off. Export it as PDF, HTML or JSON, or save "
           "the run to the audit history for a review meeting.")
model, data = _state.model(), _state.dataset()
if data is None:
    _state.need("a dataset with a target column and at least one sensitive column")
_report.restore_typed()

# ---- 1. the audit
st.subheader("1. Audit")
roles = data.roles
columns = [c for c in data.frame.columns if c not in (roles.target, roles.prediction, roles.score)]
sensitive = st.multiselect("Sensitive columns (several: their intersection)", columns,
                           default=[c for c in roles.sensitive if c in columns], key="report.sensitive")
source = f"the model {model.name}" if model is not None and model.modality == "tabular" else \
    "the predictions logged in the data"
st.caption(md(f"Predictions from {source}; target: {roles.target or 'not chosen'}."))
left, middle, right = st.columns(3)
threshold = None
if _report.scored(data, model):
    threshold = left.number_input("Decision threshold (score ≥ threshold is positive)",
                                  value=_report.default_threshold(data, model), key="report.threshold")
selected = middle.text_input('What "selected" means', key="report.selected",
                             placeholder=f"predicted {data.positive_label!r}")  # a placeholder is plain text
min_n = int(right.number_input("Small group below", min_value=1, value=30, step=5, key="report.min_n"))
include_small = st.checkbox("Include small groups in the headline", key="report.include_small")
bins = {}
with _state.guard("reading the bands"):
    bins = bins_editor(data, sensitive, st, prefix="report")
if st.button("Run the audit", type="primary", key="report.run", disabled=not sensitive):
    _report.start_audit(sensitive)
ran = st.session_state.get(_report.AUDIT)

audit = None
if ran:
    with _state.guard("running the audit"), st.spinner("Auditing..."):
        audit = _report.audit(data, model, ran["sensitive"], threshold=threshold, selected=selected or None,
                              min_group_size=min_n, include_small_groups=include_small, bins=bins)
        st.success(md(f"Audited by {', '.join(ran['sensitive'])} at {ran['created_at'][11:16]} UTC."),
                   icon=":material/check:")

# ---- 2. contents
st.subheader("2. Contents")
left, right = st.columns(2)
title = left.text_input("Title", key="report.title",
                        placeholder=f"Fairness audit of {(model or data).name}")
version = right.text_input("Model version label", key="report.version", placeholder="e.g. v2")
figures = []
subject = _report.explained(model, data, _state.images())
choices = _report.explainer_choices(model) if subject is not None else {}
if choices:
    left, right = st.columns(2)
    method = left.selectbox("Explanations to include", ["", *choices], key="report.method",
                            format_func=lambda m: choices.get(m, "None"))
    what = "Images" if subject is not data else "Rows"
    rows_text = right.text_input(f"{what} to explain (positions, e.g. 0, 5, 12)", "0", key="report.rows",
                                 disabled=not method)
    if method:
        with _state.guard("explaining the chosen inputs"), st.spinner("Explaining..."):
            rows = _report.parse_rows(rows_text, len(subject))
            figures = _report.explanations(model, subject, method, rows)
mitigation = None
with _state.guard("reading the mitigation result"):
    mitigation = _report.mitigation(model, data)
include_mitigation = st.checkbox(
    "Include the mitigation shown on the Mitigation page" if mitigation is not None
    else "Include a mitigation (run one on the Mitigation page first)",
    value=mitigation is not None, disabled=mitigation is None, key="report.mitigation")
left, right = st.columns(2)
include_check = left.checkbox("Include the fairness check (ratios to a reference group, band 0.8–1.25)",
                              key="report.fairness_check")
include_confusion = right.checkbox("Include the confusion matrix of every group", key="report.confusion")
if include_check and audit is not None:
    include_check = left.selectbox("Reference group of the fairness check", audit.labels, format_func=md,
                                   index=_report.default_reference(audit), key="report.check.reference")
other = comparison = None
if model is not None and model.modality == "tabular":
    with _state.guard("loading the second model"):
        other = second_model(model, data, "report", upload_key="report.compare")
    if other is not None and audit is not None:
        with _state.guard("comparing the two models"), st.spinner("Scoring both models and resampling..."):
            comparison = _report.model_comparison(data, model, other, ran["sensitive"], threshold=threshold,
                                                  bins=bins, min_n=min_n, selected=selected or None)
include_errors = st.checkbox("Include the error analysis (the cohorts where the model fails most)",
                             key="report.errors")
burden = st.session_state.get(_report.BURDEN_SHOWN)
include_burden = st.checkbox(
    "Include the recourse burden shown on the Fairness page" if burden is not None
    else "Include the recourse burden (compute it on the Fairness page first)",
    value=burden is not None, disabled=burden is None, key="report.burden")
band = _report.review_band()
include_band = st.checkbox(
    "Include the review band set on the Mitigation page" if band is not None
    else "Include a review band (set one on the Mitigation page first)",
    value=False, disabled=band is None, key="report.review_band")
notes = st.text_area("Reviewer notes", key="report.notes", height=120)
cols = st.columns(4)
reviewer = cols[0].text_input("Reviewer", key="report.reviewer")
role = cols[1].text_input("Role", key="report.role")
decision = cols[2].selectbox("Decision", _report.DECISIONS, key="report.decision")
date = cols[3].text_input("Date", key="report.date", placeholder="YYYY-MM-DD")
_report.keep_typed()

report, errors = None, None
if audit is not None and include_errors:
    with _state.guard("finding where the model fails"), st.spinner("Fitting the error tree..."):
        errors = error_cohorts.for_report(data, model, threshold)
if audit is not None:
    with _state.guard("composing the report"):
        report = reports.build_report(
            data, model if model is not None and model.modality == "tabular" else None, metrics=audit,
            explanations=figures, mitigation=mitigation if include_mitigation else None, title=title,
            burden=burden if include_burden else None,
            version_label=version, notes=notes, created_at=ran["created_at"],
            sign_off={"reviewer": reviewer, "role": role, "decision": decision, "date": date},
            fairness_check=include_check, confusion_matrices=include_confusion, comparison=comparison,
            errors=errors, review_band=band if include_band else None)

# ---- 3. export and save
st.subheader("3. Export")
if report is None:
    st.warning(_report.NO_AUDIT, icon=":material/warning:")
_report.download_buttons(report, "report.export", st.columns(3))
save_title = st.text_input("Name of the saved run", key="report.save_title",
                           placeholder=report.title if report else "")
_report.keep_typed()
if st.button("Save to audit history", key="report.save", disabled=report is None,
             icon=":material/save:"):
    with _state.guard("saving the run to the audit history"):
        run_id = _report.save(report, save_title or report.title)
        st.success(f"Saved as run {run_id}. Open it on the Review page.", icon=":material/check:")

if report is not None:
    st.subheader("Findings")
    st.dataframe(_report.disparity_table(report), hide_index=True, width="stretch",
                 column_config={"Value": st.column_config.NumberColumn(format="%.3f")})
    if report.four_fifths_sentence:
        st.markdown(md(report.four_fifths_sentence))
    st.caption(md(report.four_fifths_context))
    rule = report.decision_rule()
    if rule:
        st.markdown(f"**Decision rule:** positive outcome {md(repr(rule['favourable']))}; "
                    f"{md(rule['rule'])}; predictions from {md(rule['source'] or '—')}; "
                    f"\"selected\" means {md(rule['selected'])}.")
    st.dataframe(_report.group_table(report), hide_index=True, width="stretch")
    for warning in report.warnings:
        st.warning(md(warning), icon=":material/warning:")
    if st.toggle("Preview the report as exported (HTML)", key="report.preview"):
        with _state.guard("rendering the preview"):
            st.iframe(_report.preview_html(report), height=900)
