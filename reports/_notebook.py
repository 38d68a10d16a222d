"""Notebook displays (``_repr_html_``) of an audit, an explanation or a batch, a mitigation and a report.

Each display is a self-contained HTML fragment: a scoped ``<style>``, tables, and static charts as inline
SVG or PNG ``data:`` URIs, with no JavaScript and nothing fetched, so it renders the same in JupyterLab,
VS Code, Colab and exported notebooks. The pieces are the report's: an audit is shown through a
:class:`reports.Report` view of ``GroupMetrics.to_dict()`` (the same tables, verdict words and numbers), the
charts are the report's matplotlib SVGs, and the values go through the same Jinja filters. Every user
string (group names, column and file names, notes) is escaped by Jinja's autoescape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from glasswing.reports._model import Artifact, Report

#: Per-group rates compared before and after a mitigation.
MITIGATION_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate", "accuracy")
MAX_BATCH_ROWS = 20
MAX_BATCH_FEATURES = 8
MAX_IMAGES = 12
MAX_MIXED = 10
REPORT_SECTIONS = ("facts", "decision", "findings", "groups", "explanations", "mitigation", "extras",
                   "review")


def _css() -> str:
    from glasswing.reports._render import TEMPLATES

    return (TEMPLATES / "notebook.css").read_text(encoding="utf-8")


def _render(**context: Any) -> str:
    from glasswing.reports._render import DIFFERENCE_THRESHOLD, FOUR_FIFTHS, _environment

    defaults = {"sections": (), "report": None, "subtitle": "", "charts": {}, "explanations": [],
                "batch": None, "mitigation": None, "rule": {}, "groups": [], "metrics": [],
                "disparities": [], "overall": {}, "four_fifths": FOUR_FIFTHS,
                "difference_threshold": DIFFERENCE_THRESHOLD, "css": _css()}
    return _environment().get_template("notebook.html.j2").render(**{**defaults, **context})


def _view(audit: dict, **fields: Any) -> Report:
    """Return a report view of an audit dict: the report's derived tables, without fingerprints."""
    return Report(title=fields.pop("title", ""), dataset=fields.pop("dataset", Artifact(name="")),
                  audit=audit, **fields)


def _audit_context(report: Report) -> dict:
    from glasswing.reports._render import disparity_chart, rates_chart

    return {"groups": report.groups(), "metrics": report.table_metrics(), "disparities": report.disparities(),
            "overall": report.overall(), "rule": report.decision_rule(),
            "charts": {"rates": rates_chart(report), "disparities": disparity_chart(report)}}


# ---------------------------------------------------------------------------------------------- audits
def audit_html(gm: Any) -> str:
    """Return the notebook display of an ``audits.GroupMetrics``: decision rule, verdicts, groups, charts.

    Examples
    --------
    >>> from glasswing import audits
    >>> gm = audits.group_metrics([1, 0, 1, 0], [1, 0, 0, 0], ["F", "F", "M", "M"], min_group_size=1)
    >>> html = audit_html(gm)
    >>> html.startswith('<div class="gw-nb">'), "<script" in html
    (True, False)
    """
    report = _view(gm.to_dict())
    rule = report.decision_rule()
    rows = int(report.overall().get("n") or 0)
    subtitle = f"{rows:,} rows" + (f"; predictions from {rule['source']}" if rule.get("source") else "")
    return _render(heading=f"Fairness audit by {' × '.join(gm.sensitive_names)}", subtitle=subtitle,
                   report=report, sections=("decision", "findings", "groups"), **_audit_context(report))


def report_html(report: Report) -> str:
    """Return the notebook display of a ``reports.Report``: the report's sections, scoped for a notebook.

    The optional sections (fairness check, confusion matrices, model comparison, recourse burden, error
    analysis, review band) are drawn with the report's own partial templates and charts.
    """
    from glasswing.reports._burden import burden_charts
    from glasswing.reports._errors_section import errors_chart
    from glasswing.reports._render_checks import check_context

    context = _audit_context(report)
    context["charts"].update(_mitigation_charts(report),
                             errors=errors_chart(report.errors) if report.errors else None,
                             burden=burden_charts(report.burden) if report.burden else [])
    context.update(check_context(report))
    shown = f"{report.title}" + (f" ({report.version_label})" if report.version_label else "")
    return _render(heading=shown, subtitle=f"Report of {report.created_at.replace('T', ' ')}",
                   report=report, mitigation=_mitigation_context(report),
                   explanations=[_figure_context(f) for f in report.explanations],
                   sections=REPORT_SECTIONS, **context)


# ---------------------------------------------------------------------------------------------- mitigation
def mitigation_html(result: Any) -> str:
    """Return the notebook display of an ``audits.MitigationResult``: before and after on the same rows."""
    from glasswing.reports._build import mitigation_section

    section = mitigation_section(result)
    report = _view(section["after"], mitigation=section)
    params = result.params
    subtitle = (f"{params.get('stage', '')}: trained on {params.get('n_train', 0):,} rows, measured before "
                f"and after on the same {params.get('n_test', 0):,} held-out rows (seed "
                f"{params.get('seed', 0)}; {result.compute_time:.1f} s)")
    return _render(heading=f"Mitigation: {result.label}", subtitle=subtitle, report=report,
                   mitigation=_mitigation_context(report), charts=_mitigation_charts(report),
                   sections=("mitigation",))


def _mitigation_charts(report: Report) -> dict:
    from glasswing.reports._render import mitigation_chart

    return {"mitigation": mitigation_chart(report) if report.mitigation else None}


def _mitigation_context(report: Report) -> dict | None:
    """Rows compared before and after (the report's), and each group's rates before and after."""
    from glasswing.reports._render import _mitigation_rows

    m = report.mitigation
    if not m:
        return None
    before, after = _view(m.get("before") or {}), _view(m.get("after") or {})
    after_groups = {g["label"]: g for g in after.groups()}
    metrics = [x for x in MITIGATION_METRICS if x in (before.table_metrics() + ["accuracy"])]
    groups = []
    for g in before.groups():
        a = after_groups.get(g["label"], {"values": {}})
        groups.append({"label": g["label"], "n": g["n"], "small": g["small"],
                       "values": [(g["values"].get(x), a["values"].get(x)) for x in metrics]})
    return {"label": m.get("label") or m.get("method"), "rows": _mitigation_rows(report),
            "metrics": metrics, "groups": groups,
            "before_sentence": before.four_fifths_sentence, "after_sentence": after.four_fifths_sentence}


# ---------------------------------------------------------------------------------------------- explanations
def _figure_context(fig: Any) -> dict:
    from glasswing.reports._render import attribution_chart

    return {"fig": fig, "chart": attribution_chart(fig.features, "") if fig.features else None}


def _explanation_facts(e: Any) -> dict:
    facts = {"output": e.output, "reason": e.reason, "compute_time": e.compute_time, "additivity": None}
    if e.base_value is not None and e.prediction is not None and not e.is_image:
        total = float(e.base_value) + float(np.sum(np.asarray(e.values, dtype=float)))
        facts["additivity"] = (total, float(e.prediction))
    return facts


def explanation_html(explanation: Any) -> str:
    """Return the notebook display of one ``explainers.Explanation``: its chart and table, or its heatmap.

    Examples
    --------
    >>> from glasswing.explainers import Explanation
    >>> e = Explanation("shap", "LinearExplainer", 1, np.array([0.5, -0.25]), ("income", "<b>age</b>"),
    ...                 data=np.array([52.0, 31.0]), base_value=0.1, prediction=0.35, output="log-odds")
    >>> html = explanation_html(e)
    >>> "&lt;b&gt;age&lt;/b&gt;" in html, "<b>age</b>" in html
    (True, False)
    """
    from glasswing.reports._build import explanation_figure

    fig = explanation_figure(explanation)
    item = {**_figure_context(fig), "facts": _explanation_facts(explanation)}
    return _render(heading=fig.title, explanations=[item], sections=("explanations",))


def explanations_html(batch: Sequence) -> str:
    """Return the notebook display of a batch of explanations.

    Tabular rows over the same features: the mean absolute attribution of each feature over the batch (a
    chart) and a table of the first rows' attributions. Images: a grid of heatmaps. Otherwise each
    explanation in turn.
    """
    from glasswing.reports._build import explanation_figure, heatmap_png

    batch = list(batch)
    if len(batch) == 1:
        return explanation_html(batch[0])
    if not batch:
        return _render(heading="No explanations", sections=())
    first = batch[0]
    method = f"{first.method} ({first.algorithm})" if first.algorithm else first.method
    if all(e.is_image for e in batch):
        shown = batch[:MAX_IMAGES]
        tiles = [{"png": heatmap_png(e.data, np.asarray(e.values, dtype=float)),
                  "caption": f"input {i}: class {e.target}"} for i, e in enumerate(shown)]
        return _render(heading=f"{method}: {len(batch):,} images", sections=("images",),
                       batch={"tiles": tiles, "more": len(batch) - len(shown)})
    names = first.feature_names
    if names is not None and all(e.feature_names == names and not e.is_image for e in batch):
        return _render(heading=f"{method}: {len(batch):,} rows", sections=("batch",),
                       batch=_batch_context(batch), charts={})
    items = [{**_figure_context(explanation_figure(e)), "facts": _explanation_facts(e)}
             for e in batch[:MAX_MIXED]]
    more = f"; the first {MAX_MIXED} shown" if len(batch) > MAX_MIXED else ""
    return _render(heading=f"{len(batch):,} explanations{more}", explanations=items,
                   sections=("explanations",))


def _batch_context(batch: list) -> dict:
    values = np.array([np.asarray(e.values, dtype=float) for e in batch])
    names = list(batch[0].feature_names)
    mean_abs = np.abs(values).mean(axis=0)
    order = [int(i) for i in np.argsort(-mean_abs, kind="stable")]
    top = order[:MAX_BATCH_FEATURES]
    rows = [{"index": i, "target": e.target, "values": [float(values[i, j]) for j in top],
             "base_value": e.base_value, "prediction": e.prediction}
            for i, e in enumerate(batch[:MAX_BATCH_ROWS])]
    output = batch[0].output
    return {"chart": _importance_chart([names[j] for j in order[:10]], mean_abs[order[:10]],
                                       f"mean |attribution| over {len(batch):,} rows"
                                       + (f" ({output})" if output else "")),
            "features": [names[j] for j in top], "rows": rows, "n": len(batch), "output": output,
            "more_rows": max(0, len(batch) - MAX_BATCH_ROWS),
            "more_features": max(0, len(names) - len(top)),
            "targets": sorted({str(e.target) for e in batch})}


def _importance_chart(names: list[str], values: np.ndarray, xlabel: str) -> str:
    """SVG: one bar per feature, largest first (the report's chart style)."""
    from glasswing.reports._render import _figure, _style, _svg

    fig = _figure(7.2, 0.6 + 0.3 * len(values))
    ax = fig.add_subplot()
    ax.barh(np.arange(len(values)), values, color="#08306b", edgecolor="#222222", linewidth=0.5)
    ax.set_yticks(np.arange(len(values)), names)
    ax.invert_yaxis()
    _style(ax, "", xlabel)
    return _svg(fig)
