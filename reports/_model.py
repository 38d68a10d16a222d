"""The report model: everything an audit report says, as plain JSON-safe data (builders are in ``_build``).

A ``Report`` holds what was audited (names, SHA-256 fingerprints, rows, column roles, version, date), the
findings (``GroupMetrics.to_dict()``, with intervals and verdicts), chosen explanations, a mitigation
before/after, and the reviewer's notes and sign-off. Renderers (HTML, PDF) and the audit history read only
this model, so a saved run re-exports to exactly the same report. Labels, group names and verdicts come
from ``audits`` (the JSON carries them), so the page, the report and the command line say the same words.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from glasswing import __version__
from glasswing._errors import GlasswingError
from glasswing._plain import json_safe
from glasswing.audits._table import group_label, label
from glasswing.audits._verdicts import disparity_rows

NOT_A_REPORT = ("This is not a Glasswing report (the '{key}' field is missing); export it again from "
                "Glasswing.")

#: The per-group metrics in the report's tables, in order (``GroupMetrics`` column names; AUC with scores).
TABLE_METRICS = ("base_rate", "selection_rate", "true_positive_rate", "false_positive_rate", "precision",
                 "accuracy", "auc")
MAX_FEATURES = 10
MAX_IMAGE_SIDE = 320


class ReportError(GlasswingError):
    """A report that cannot be built or exported, with the reason in one sentence."""


def metric_label(name: str) -> str:
    """Display label of a metric or disparity name, from ``audits``' one table ("TPR", "Precision (PPV)")."""
    return label(name)


# ---------------------------------------------------------------------------------------- parts
@dataclass(frozen=True)
class Artifact:
    """A model or a dataset that was audited: display name, SHA-256 fingerprint and a few facts."""

    name: str
    sha256: str = ""
    kind: str = ""
    rows: int | None = None
    details: dict = field(default_factory=dict)

    @property
    def short_sha(self) -> str:
        """The first 12 hex digits of the fingerprint (what the header and the sidebar show)."""
        return self.sha256[:12]


@dataclass(frozen=True)
class Disparity:
    """One disparity of the summary, with its verdict in words (and a symbol that reads without colour)."""

    name: str
    value: float | None
    threshold: float
    passes: bool | None
    verdict: str
    interval: tuple[float, float] | None = None
    note: str = ""

    @property
    def label(self) -> str:
        """Display label."""
        return metric_label(self.name)

    @property
    def status(self) -> str:
        """``"pass"``, ``"fail"`` or ``"na"``: the CSS class and the history comparison read this."""
        return "na" if self.passes is None else "pass" if self.passes else "fail"


@dataclass(frozen=True)
class ExplanationFigure:
    """One explanation chosen for the report: a tabular attribution chart or an image heatmap overlay.

    ``features`` holds ``(feature, value, attribution)`` triples, largest |attribution| first (tabular);
    ``image_png`` the base64 PNG of the heatmap over the input image (images).
    """

    title: str
    method: str
    algorithm: str = ""
    target: str = ""
    prediction: float | None = None
    base_value: float | None = None
    features: list = field(default_factory=list)
    image_png: str | None = None
    caption: str = ""
    extras: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SignOff:
    """The reviewer's sign-off fields (blank lines on paper when left empty)."""

    reviewer: str = ""
    role: str = ""
    decision: str = ""
    date: str = ""


@dataclass(frozen=True)
class Report:
    """An audit report as plain data; see :func:`build_report`. ``to_dict``/``from_dict`` round-trip it.

    ``audit`` is ``GroupMetrics.to_dict()``: per-group rates with Wilson intervals, the summary, the
    disparities with bootstrap intervals, the four-fifths verdict, warnings and settings. The methods
    below are the views the templates read.
    """

    title: str
    dataset: Artifact
    audit: dict
    model: Artifact | None = None
    roles: dict = field(default_factory=dict)
    explanations: list = field(default_factory=list)
    mitigation: dict | None = None
    fairness_check: dict | None = None  # audits.FairnessCheck.to_dict()
    confusion: list | None = None  # audits._fairness_check.confusion_dict(): one 2 x 2 matrix per group
    comparison: dict | None = None  # audits.ModelComparison.to_dict(), without the two full audits
    burden: dict | None = None  # the recourse burden by group (audits.RecourseBurden.to_dict())
    review_band: dict | None = None
    notes: str = ""
    errors: dict | None = None
    sign_off: SignOff = field(default_factory=SignOff)
    version_label: str = ""
    created_at: str = ""
    glasswing_version: str = __version__

    # -- derived views the templates use
    @property
    def sensitive(self) -> list[str]:
        """The sensitive columns (the group dict keys of ``audit["by_group"]``)."""
        rows = self.audit.get("by_group") or []
        return list(rows[0]["group"]) if rows else list(self.roles.get("sensitive", ()))

    @property
    def confidence(self) -> float:
        """The confidence level of the audit's intervals."""
        return float((self.audit.get("settings") or {}).get("confidence") or 0.95)

    @property
    def warnings(self) -> list[str]:
        """Sentences the reader must see: small groups (with the threshold), undefined rates, input notes."""
        return [str(w) for w in self.audit.get("warnings") or []]

    @property
    def four_fifths_sentence(self) -> str:
        """The headline four-fifths verdict in plain words, on adequate groups (empty when none)."""
        head = self.audit.get("headline") or {}
        if head.get("sentence"):
            return str(head["sentence"])
        return str((self.audit.get("four_fifths") or {}).get("sentence") or "")

    @property
    def four_fifths_context(self) -> str:
        """Where the four-fifths rule comes from and what passing it does not show (one sentence)."""
        from glasswing.audits._verdicts import FOUR_FIFTHS_CONTEXT

        return str((self.audit.get("four_fifths") or {}).get("context") or FOUR_FIFTHS_CONTEXT)

    @property
    def headline_scope(self) -> str:
        """Which groups the headline verdicts use, in words."""
        head = self.audit.get("headline")
        if not head:
            return "every group"
        if head.get("include_small_groups"):
            return "every group with the counts each disparity needs (small groups included)"
        return (f"groups with at least {head.get('min_group_size', 30):,} rows and the counts each disparity "
                "needs")

    def left_out(self) -> list[dict]:
        """Return the groups the headline leaves out: label, n, selection_rate, reason, left_out_of."""
        return list((self.audit.get("headline") or {}).get("left_out") or [])

    def decision_rule(self) -> dict:
        """Return the decision rule audited (``GroupMetrics.decision_rule()``); empty for an older audit."""
        return dict(self.audit.get("decision_rule") or {})

    def groups(self) -> list[dict]:
        """Return one row per group: ``label``, ``n``, ``values`` and ``intervals`` (metric -> (lo, hi))."""
        out = []
        for row in self.audit.get("by_group") or []:
            ivals = row.get("intervals") or {}
            out.append({"label": row.get("label") or group_label(row["group"]), "group": row["group"],
                        "n": row.get("n"),
                        "values": {m: row.get(m) for m in TABLE_METRICS if m in row},
                        "intervals": {m: tuple(v) for m, v in ivals.items()
                                      if v is not None and None not in v},
                        "small": bool(row.get("small"))})
        return out

    def table_metrics(self) -> list[str]:
        """Return the per-group metrics present in this audit, in ``TABLE_METRICS`` order."""
        rows = self.audit.get("by_group") or [{}]
        return [m for m in TABLE_METRICS if m in rows[0]]

    def disparities(self) -> list[Disparity]:
        """Return the summary's disparities with verdicts (ratios against 4/5, differences against 0.1).

        The headline's (adequate groups) when the audit has one, else the audit's own ``disparity_table``;
        an older audit's summary goes through the same ``audits`` function, so the words never differ.
        """
        rows = (self.audit.get("headline") or {}).get("disparity_table") or self.audit.get("disparity_table")
        if rows is None:
            detail = {d.get("name"): d for d in self.audit.get("disparities") or [] if isinstance(d, Mapping)}
            rows = disparity_rows(self.audit.get("summary") or {}, detail)
        return [Disparity(r["name"], r["value"], r["threshold"], r["passes"], r["verdict"],
                          (r["low"], r["high"]) if r.get("low") is not None and r.get("high") is not None
                          else None, r.get("note", "")) for r in rows]

    def overall(self) -> dict:
        """Return the overall metrics (all rows together), in ``TABLE_METRICS`` order where present."""
        overall = self.audit.get("overall") or {}
        return {m: overall[m] for m in ("n", *TABLE_METRICS) if m in overall}

    # -- serialisation
    def to_dict(self) -> dict:
        """Return the report as JSON-safe data (NaN and inf become None)."""
        return json_safe(asdict(self))

    def to_json(self, *, indent: int | None = 2) -> str:
        """Return the report as JSON text (what ``--out audit.json`` writes)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_html(self, path: str | os.PathLike) -> Path:
        """Write the report as one self-contained HTML file to ``path`` and return the path."""
        from glasswing.reports._files import write_report

        return write_report(self, path, "html")

    def to_pdf(self, path: str | os.PathLike) -> Path:
        """Write the report as an A4 PDF to ``path`` and return the path."""
        from glasswing.reports._files import write_report

        return write_report(self, path, "pdf")

    def _repr_html_(self) -> str:
        """Notebook display: the report's sections, scoped for a notebook (``reports._notebook``)."""
        from glasswing.reports._notebook import report_html

        return report_html(self)

    def to_run(self, *, title: str | None = None):
        """Return this report as an ``audits.AuditRun`` to save in the audit history."""
        from glasswing.audits import AuditRun

        model = self.model or Artifact(name="")
        return AuditRun(
            title=title or self.title, audit=self.audit, model_name=model.name,
            version_label=self.version_label, model_sha256=model.sha256, dataset_name=self.dataset.name,
            dataset_sha256=self.dataset.sha256, n_rows=int(self.dataset.rows or 0), roles=self.roles,
            mitigation=self.mitigation, notes=self.notes, reviewer=self.sign_off.reviewer,
            report=self.to_dict(), glasswing_version=self.glasswing_version)

    @classmethod
    def from_run(cls, run: Any) -> Report:
        """Rebuild the report of a saved ``audits.AuditRun`` (exactly as saved when it kept one)."""
        if run.report:
            return cls.from_dict(run.report)
        model = Artifact(name=run.model_name, sha256=run.model_sha256) if run.model_name else None
        return cls(title=run.title, audit=run.audit, model=model, roles=run.roles,
                   dataset=Artifact(name=run.dataset_name, sha256=run.dataset_sha256, rows=run.n_rows),
                   mitigation=run.mitigation, notes=run.notes, sign_off=SignOff(reviewer=run.reviewer),
                   version_label=run.version_label, created_at=run.created_at,
                   glasswing_version=run.glasswing_version)

    @classmethod
    def from_dict(cls, data: Mapping) -> Report:
        """Rebuild a report from :meth:`to_dict`'s output (a saved run, a JSON export)."""
        for key in ("title", "dataset", "audit"):
            if key not in data:
                raise ReportError(NOT_A_REPORT.format(key=key))
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["dataset"] = Artifact(**data["dataset"])
        kwargs["model"] = Artifact(**data["model"]) if data.get("model") else None
        kwargs["sign_off"] = SignOff(**(data.get("sign_off") or {}))
        kwargs["explanations"] = [ExplanationFigure(**e) for e in data.get("explanations") or []]
        return cls(**kwargs)
