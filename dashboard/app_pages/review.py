"""Review: the saved audit runs for a meeting: open one read-only, or compare two side by side."""

import streamlit as st

from glasswing import reports
from glasswing.dashboard import _report, _state
from glasswing.dashboard._text import md

st.title("Review")
st.caption("Audit runs saved from the Report page (or with `glasswing report --save`). Open one read-only, "
           "or compare two, e.g. model v1 against v2: which disparities improved and which got worse.")

runs = None
with _state.guard("reading the audit history"):
    runs = _report.runs()
if runs is None:
    st.stop()
if runs.empty:
    st.info("No saved runs yet: run an audit on the Report page and press **Save to audit history**.",
            icon=":material/info:")
    st.page_link("app_pages/report.py", label="Go to Report", icon=":material/picture_as_pdf:")
    st.stop()

shown = runs.assign(created_at=runs["created_at"].str.replace("T", " ").str.replace("+00:00", " UTC"),
                    model_sha256=runs["model_sha256"].str[:12],
                    dataset_sha256=runs["dataset_sha256"].str[:12])
st.dataframe(shown, hide_index=True, width="stretch", key="review.runs",
             column_config={"id": st.column_config.NumberColumn("Run", format="%d"), "created_at": "Saved",
                            "title": "Title", "model_name": "Model", "version_label": "Version",
                            "model_sha256": "Model SHA-256", "dataset_name": "Data",
                            "dataset_sha256": "Data SHA-256", "reviewer": "Reviewer",
                            "n_rows": st.column_config.NumberColumn("Rows", format="%d")})
labels = {int(r.id): _report.run_label(r) for r in runs.itertuples()}
ids = list(labels)  # newest first

open_tab, compare_tab = st.tabs(["Open a run", "Compare two runs"])
with open_tab:
    run_id = st.selectbox("Run", ids, format_func=labels.get, key="review.open")
    with _state.guard("opening the saved run"):
        run = _report.load(run_id)
        report = reports.Report.from_run(run)
        st.header(md(report.title))
        st.caption(f"Saved {run.created_at.replace('T', ' ')} · Glasswing {run.glasswing_version}")
        model_line = (f"**Model** {md(run.model_name or 'none (logged predictions)')} "
                      f"{md(run.version_label)}")
        if run.model_sha256:
            model_line += f"  \nSHA-256 `{run.model_sha256}`"
        left, right = st.columns(2)
        left.markdown(model_line)
        right.markdown(f"**Data** {md(run.dataset_name)}, {run.n_rows:,} rows  \n"
                       f"SHA-256 `{run.dataset_sha256}`")
        st.dataframe(_report.disparity_table(report), hide_index=True, width="stretch",
                     column_config={"Value": st.column_config.NumberColumn(format="%.3f")})
        if report.four_fifths_sentence:
            st.markdown(md(report.four_fifths_sentence))
        st.dataframe(_report.group_table(report), hide_index=True, width="stretch")
        st.markdown(f"**Reviewer notes** ({md(run.reviewer or 'no reviewer named')})")
        st.text(run.notes or "No notes.")
        _report.download_buttons(report, f"review.export.{run_id}", st.columns(3))
        if st.toggle("Present: the full report in large type (for the projector)", key="review.present"):
            st.iframe(_report.preview_html(report), height=1000)

with compare_tab:
    if len(ids) < 2:
        st.info("Save a second run to compare (for example the same audit of the next model version).",
                icon=":material/info:")
    else:
        left, right = st.columns(2)
        before_id = left.selectbox("Before", ids, index=1, format_func=labels.get, key="review.before")
        after_id = right.selectbox("After", ids, index=0, format_func=labels.get, key="review.after")
        with _state.guard("comparing the runs"):
            before, after = _report.load(before_id), _report.load(after_id)
            styler, table = _report.comparison(before, after)
            counts = table["change"].value_counts()
            cols = st.columns(3)
            cols[0].metric("Improved ▲", int(counts.get("improved", 0)))
            cols[1].metric("Worse ▼", int(counts.get("worse", 0)))
            cols[2].metric("Unchanged =", int(counts.get("unchanged", 0)))
            st.dataframe(styler, hide_index=True, width="stretch")
            st.caption("Fairer means a difference nearer 0 or a ratio nearer 1. Green ▲ improved, "
                       "red ▼ worse; the words say the same for print and colour-blind readers.")
            if before.dataset_sha256 != after.dataset_sha256:
                st.warning("The two runs audited different data (their fingerprints differ): compare with "
                           "care.", icon=":material/warning:")
            for col, saved in zip(st.columns(2), (before, after), strict=True):
                col.markdown(f"**{md(saved.label)}**")
                col.dataframe(_report.group_table(reports.Report.from_run(saved)), hide_index=True)
