"""Audit reports: a report model rendered to HTML (Jinja2) and PDF."""

from glasswing.reports._build import (
    build_report,
    explanation_figure,
    parse_rows,
    report_explanations,
    with_review,
)
from glasswing.reports._model import Artifact, Disparity, ExplanationFigure, Report, ReportError, SignOff
from glasswing.reports._render import FORMATS, export_report, render_html, render_pdf, report_bytes

__all__: list[str] = []
__all__ += ["FORMATS", "Artifact", "Disparity", "ExplanationFigure", "Report", "ReportError", "SignOff",
            "build_report", "explanation_figure", "export_report", "render_html", "render_pdf",
            "parse_rows", "report_bytes", "report_explanations", "with_review"]
