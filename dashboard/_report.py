"""Cached calls and per-session state of the Report and Review pages (the pages only read widgets and render).

The audit, the explanations and the rendered files are cached by content: the SHA-256 digests of the
model and the data (passed as real arguments) and the settings, or the report's own JSON for the
rendered files. The report shown is rebuilt on each rerun from those cached parts, cheaply.
"""

from __future__ import annotations

import datetime as _dt
import json

import pandas as pd
import streamlit as st

from glasswing import audits, reports
from glasswing.audits._fairness_check import default_reference
from glasswing.dashboard._counterfactuals import SHOWN as BURDEN_SHOWN  # the burden the Fairness page shows
from glasswing.dashboard._state import roles_key
from glasswing.ingest import Dataset, Model
from glasswing.reports._build import NO_AUDIT
from glasswing.reports._model import metric_label

__all__ = ["BURDEN_SHOWN", "NO_AUDIT", "default_reference"]

AUDIT = "report.audit"  # {"sensitive": [...], "created_at": iso}: set by "Run the audit"
SAVED = "report.saved"  # id of the run saved last in this session
DECISIONS = ["", "Approved", "Approved with conditions", "Rejected", "Needs another review"]
#: The fields typed on the Report page, kept for the whole session: Streamlit drops a widget's state when
#: its page is left, so they are copied to ``KEPT`` on every run and put back before the widgets are drawn.
TYPED = ("report.title", "report.version", "report.notes", "report.reviewer", "report.role",
         "report.decision", "report.date", "report.save_title", "report.fairness_check", "report.confusion")
KEPT = "report.kept"
CHANGE_WORDS = {"improved": "▲ improved", "worse": "▼ worse", "unchanged": "= unchanged", "n/a": "n/a"}
CHANGE_STYLE = {"improved": "background-color: #dcefd8; color: #0b4d12; font-weight: 600",
                "worse": "background-color: #7f0000; color: #ffffff; font-weight: 600",
                "unchanged": "", "n/a": "color: #777777"}


@st.cache_data(max_entries=16, show_spinner=False)
def _audit(data_sha: str, model_sha: str | None, roles_key: tuple, sensitive: tuple[str, ...],
           settings: tuple, _data: Dataset, _model: Model | None) -> audits.GroupMetrics:
    options = dict(settings)
    options["bins"] = dict(options.get("bins", ()))
    return audits.audit_dataset(_data, _model, sensitive=list(sensitive), **options)


def audit(data: Dataset, model: Model | None, sensitive: list[str], **settings) -> audits.GroupMetrics:
    """Return the audit of ``data`` (model or logged predictions): a ``GroupMetrics`` (counts, small).

    ``settings`` are ``audits.audit_dataset`` options (threshold, bins, min_group_size, include_small_groups,
    selected, ...), the same the Fairness page and ``glasswing report`` take.
    """
    tabular = model if model is not None and model.modality == "tabular" else None
    key = tuple(sorted((k, tuple(sorted(v.items())) if isinstance(v, dict) else v)
                       for k, v in settings.items()))
    return _audit(data.sha256, tabular.sha256 if tabular else None, roles_key(data), tuple(sensitive), key,
                  _data=data, _model=tabular)


def restore_typed() -> None:
    """Put the typed fields kept in this session back before the page draws its widgets."""
    for key, value in (st.session_state.get(KEPT) or {}).items():
        if key not in st.session_state:
            st.session_state[key] = value


def keep_typed() -> None:
    """Copy the typed fields to ``KEPT`` so they outlive a visit to another page."""
    st.session_state[KEPT] = {k: st.session_state[k] for k in TYPED if k in st.session_state}


def scored(data: Dataset, model: Model | None) -> bool:
    """Whether this audit's predictions come from scores (a model's, or logged scores without labels)."""
    return (model is not None and model.modality == "tabular") or (
        data.roles.score is not None and data.roles.prediction is None)


def default_threshold(data: Dataset, model: Model | None) -> float:
    """0.5 for probabilities; the middle of the grid for logged scores of another range (a decile score)."""
    if model is not None or data.roles.score is None:
        return 0.5
    grid = audits.threshold_grid(data.frame[data.roles.score])
    return 0.5 if grid[-1] <= 1 else float(grid[(len(grid) - 1) // 2])


def start_audit(sensitive: list[str]) -> None:
    """Remember that the user ran the audit (and when: the report's date)."""
    st.session_state[AUDIT] = {"sensitive": list(sensitive),
                               "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}


@st.cache_data(max_entries=16, show_spinner=False)
def _explanations(model_sha: str, data_sha: str, roles_key: tuple, method: str, rows: tuple[int, ...],
                  _model: Model, _data) -> list:
    return reports.report_explanations(_model, _data, method=method, rows=rows)


def explanations(model: Model, data, method: str, rows: list[int]) -> list:
    """Explanations of table rows or images for the report (``reports.report_explanations``, cached)."""
    roles = roles_key(data) if isinstance(data, Dataset) else ()
    return _explanations(model.sha256, data.sha256, roles, method, tuple(rows), _model=model, _data=data)


def explained(model: Model | None, data: Dataset, images):
    """Return what a report can explain for ``model``: the table, the loaded images, or None."""
    if model is None:
        return None
    if model.modality == "image":
        return images if images is not None and len(images) else None
    return data


def explainer_choices(model: Model | None) -> dict[str, str]:
    """Registry name -> label of the explainers that apply to ``model``."""
    if model is None:
        return {}
    from glasswing import explainers

    ok, _ = explainers.registry.applicable(model)
    return {spec.name: spec.label for spec in ok}


def parse_rows(text: str, n: int) -> list[int]:
    """Return the row (or image) positions typed by the user; one sentence when they are not in the data."""
    return reports.parse_rows(text or "0", n)


def mitigation(model: Model | None, data: Dataset):
    """Return the mitigation result shown on the Mitigation page in this session, or None."""
    from glasswing.dashboard import _mitigation as mit

    args = st.session_state.get(mit.SHOWN)
    if not args or model is None:
        return None
    split = mit.training_data(args["source"], data, None)  # an upload: the one the result was run on
    if split is None:
        return None
    from glasswing.reports._build import mitigation_section

    result = mit.run_shown(args, model, *split)  # with every method tried, for the trade-off chart
    return mitigation_section(result) | {"tried": mit.tried_rows(mit.context(model, *split))}


def model_comparison(data: Dataset, model: Model, other: Model, sensitive: list[str], *,
                     threshold: float | None, bins: dict, min_n: int,
                     selected: str | None) -> audits.ModelComparison:
    """``audits.compare_models`` of the audited model (A) and ``other`` (B) with the report's settings.

    Cached by the digests and settings, with the Fairness page's resamples and seed.
    """
    from glasswing.dashboard import _compare_view as cv

    return cv._compare(data.sha256, model.sha256, other.sha256, roles_key(data), tuple(sensitive),
                       tuple(sorted(bins.items())), 0, None, (), threshold, min_n, selected or "",
                       _data=data, _a=model, _b=other)


def review_band() -> dict | None:
    """Return the review band last shown on the Mitigation page in this session (plain values), or None."""
    from glasswing.dashboard._decisions import BAND

    return st.session_state.get(BAND)


# ---------------------------------------------------------------------------------------- files
@st.cache_data(max_entries=8, show_spinner=False)
def _file(report_json: str, fmt: str) -> bytes:
    return reports.report_bytes(reports.Report.from_dict(json.loads(report_json)), fmt)


def file_bytes(report: reports.Report, fmt: str) -> bytes:
    """Return the report as ``fmt`` bytes ("pdf", "html", "json"), cached by its content."""
    return _file(report.to_json(indent=None), fmt)


def file_name(report: reports.Report, fmt: str) -> str:
    """Return a file name from the model or data name and the date: ``audit_german_gbm_2025-01-31.pdf``."""
    subject = (report.model or report.dataset).name.rsplit(".", 1)[0]
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in subject)
    return f"audit_{stem}_{report.created_at[:10]}.{fmt}"


def download_buttons(report: reports.Report | None, prefix: str, columns) -> None:
    """PDF, HTML and JSON download buttons (disabled, with the reason, when there is no report)."""
    for col, fmt in zip(columns, ("pdf", "html", "json"), strict=True):
        if report is None:
            col.download_button(f"Export {fmt.upper()}", b"", disabled=True, key=f"{prefix}.{fmt}")
            continue
        col.download_button(f"Export {fmt.upper()}", (lambda f=fmt: file_bytes(report, f)),
                            file_name=file_name(report, fmt), mime=reports.FORMATS[fmt],
                            key=f"{prefix}.{fmt}", on_click="ignore", icon=":material/download:")


@st.cache_data(max_entries=8, show_spinner=False)
def _preview(report_json: str) -> str:
    return reports.render_html(reports.Report.from_dict(json.loads(report_json)))


def preview_html(report: reports.Report) -> str:
    """Return the report's HTML (projector view), cached by content."""
    return _preview(report.to_json(indent=None))


# ---------------------------------------------------------------------------------------- history
def save(report: reports.Report, title: str) -> int:
    """Save ``report`` as a run in the audit history; return its id."""
    with audits.open_history() as history:
        run_id = history.save(report.to_run(title=title))
    st.session_state[SAVED] = run_id
    return run_id


def runs() -> pd.DataFrame:
    """Return the saved runs, newest first (no audit bodies)."""
    with audits.open_history() as history:
        return history.list_runs()


def run_label(row) -> str:
    """Return a picker label for a row of :func:`runs`: ``#3 Credit audit (german_gbm v2)``."""
    model = " ".join(p for p in (row.model_name, row.version_label) if p)
    return f"#{row.id} {row.title}" + (f" ({model})" if model else "")


def load(run_id: int) -> audits.AuditRun:
    """Return one saved run."""
    with audits.open_history() as history:
        return history.get(run_id)


def disparity_table(report: reports.Report) -> pd.DataFrame:
    """Return the disparities with verdicts as a table (words and symbols, not only colour)."""
    rows = [{"Disparity": d.label, "Value": d.value,
             "Threshold": ("≥ " if d.name.endswith("ratio") else "≤ ") + f"{d.threshold:g}",
             "Verdict": {"pass": "✔ PASS", "fail": "✖ FAIL"}.get(d.status, "– N/A"),
             "Reading": d.verdict + (f"; {d.note}" if d.note else "")} for d in report.disparities()]
    return pd.DataFrame(rows)


def group_table(report: reports.Report) -> pd.DataFrame:
    """Return the per-group rates with their intervals as a display table."""
    rows = []
    for g in report.groups():
        row = {"Group": g["label"] + (" (small)" if g["small"] else ""), "n": g["n"]}
        for m, v in g["values"].items():
            lo, hi = g["intervals"].get(m, (None, None))
            row[metric_label(m)] = "—" if v is None else \
                f"{v:.3f}" + (f" ({lo:.2f}–{hi:.2f})" if lo is not None else "")
        rows.append(row)
    return pd.DataFrame(rows)


def comparison(before: audits.AuditRun, after: audits.AuditRun):
    """``audits.compare_runs`` as a styled table: improved green, worse red, and arrows in words."""
    table = audits.compare_runs(before, after)
    before_col, after_col = f"Before (#{before.id})", f"After (#{after.id})"
    shown = pd.DataFrame({
        "Disparity": [metric_label(m) for m in table["metric"]],
        before_col: table["before"], after_col: table["after"], "Change": table["delta"],
        "Verdict": [CHANGE_WORDS[c] for c in table["change"]],
    })
    styles = [CHANGE_STYLE[c] for c in table["change"]]
    styler = shown.style.format({before_col: "{:.3f}", after_col: "{:.3f}", "Change": "{:+.3f}"},
                                na_rep="n/a")
    styler = styler.apply(lambda _col: styles, subset=["Verdict"])
    return styler, table
