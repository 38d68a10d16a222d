"""The report model: everything an audit report says, as plain JSON-safe data.

``build_report(...)`` gathers what was audited (names, SHA-256 fingerprints, rows, column roles, version,
date), the findings (``GroupMetrics`` as a dict, with intervals and verdicts), chosen explanations,
a mitigation before/after, and the reviewer's notes and sign-off. Renderers (HTML, PDF) and the audit
history read only this model, so a saved run re-exports to exactly the same report.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from glasswing import __version__
from glasswing._errors import GlasswingError

NO_AUDIT = ("There is no audit to report yet: run the audit first (it needs a target and at least one "
            "sensitive column), then export.")
BAD_ROWS = "Row(s) {rows} are not in the data, which has {n} rows (0 to {last})."
ROWS_SPEC = "Rows to explain are numbers like 0,3,7 or a range like 0:5; got '{spec}'."
NOT_A_REPORT = ("This is not a Glasswing report (the '{key}' field is missing); export it again from "
                "Glasswing.")

#: Disparities at or above this ratio pass the four-fifths rule (US EEOC Uniform Guidelines).
FOUR_FIFTHS = 0.8
#: Differences above this are flagged for review (a common screening threshold, stated in the report).
DIFFERENCE_THRESHOLD = 0.1
#: The per-group metrics in the report's tables, in order (``GroupMetrics`` column names; AUC with scores).
TABLE_METRICS = ("base_rate", "selection_rate", "true_positive_rate", "false_positive_rate", "precision",
                 "accuracy", "auc")
METRIC_LABELS = {
    "n": "n", "base_rate": "Base rate", "selection_rate": "Selection rate", "true_positive_rate": "TPR",
    "false_positive_rate": "FPR", "false_negative_rate": "FNR", "true_negative_rate": "TNR",
    "precision": "Precision", "negative_predictive_value": "NPV", "accuracy": "Accuracy", "auc": "AUC",
    "demographic_parity_difference": "Demographic parity difference",
    "demographic_parity_ratio": "Demographic parity ratio",
    "equalized_odds_difference": "Equalized odds difference",
    "equalized_odds_ratio": "Equalized odds ratio",
    "equal_opportunity_difference": "Equal opportunity difference",
    "equal_opportunity_ratio": "Equal opportunity ratio",
    "predictive_parity_difference": "Predictive parity difference",
    "predictive_parity_ratio": "Predictive parity ratio",
}
MAX_FEATURES = 10
MAX_IMAGE_SIDE = 320


class ReportError(GlasswingError):
    """A report that cannot be built or exported, with the reason in one sentence."""


def metric_label(name: str) -> str:
    """Display label of a metric or disparity name (``"true_positive_rate"`` -> ``"TPR"``)."""
    return METRIC_LABELS.get(name, name.replace("_", " ").capitalize())


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
    notes: str = ""
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
        """The four-fifths verdict in plain words (empty when the audit has none)."""
        return str((self.audit.get("four_fifths") or {}).get("sentence") or "")

    def groups(self) -> list[dict]:
        """Return one row per group: ``label``, ``n``, ``values`` and ``intervals`` (metric -> (lo, hi))."""
        out = []
        for row in self.audit.get("by_group") or []:
            ivals = row.get("intervals") or {}
            out.append({"label": group_label(row["group"]), "group": row["group"], "n": row.get("n"),
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
        """Return the summary's disparities with verdicts: ratios against 4/5, differences against 0.1."""
        detail = {d.get("name"): d for d in self.audit.get("disparities") or [] if isinstance(d, Mapping)}
        out = []
        for name, value in (self.audit.get("summary") or {}).items():
            if not (name.endswith("_difference") or name.endswith("_ratio")):
                continue
            ratio = name.endswith("_ratio")
            threshold = FOUR_FIFTHS if ratio else DIFFERENCE_THRESHOLD
            if not _is_number(value) or not math.isfinite(float(value)):
                out.append(Disparity(name, None, threshold, None, "Not defined for these groups"))
                continue
            value = float(value)
            d = detail.get(name, {})
            interval = (d.get("low"), d.get("high"))
            interval = tuple(map(float, interval)) if all(_is_number(v) for v in interval) else None
            passes = value >= threshold if ratio else abs(value) <= threshold
            if name == "demographic_parity_ratio":
                verdict = "Meets the four-fifths rule" if passes else "Fails the four-fifths rule"
            elif ratio:
                verdict = f"At or above {threshold:g}" if passes else f"Below {threshold:g}"
            else:
                verdict = f"Within {threshold:g}" if passes else f"Exceeds {threshold:g}"
            note = ""
            if d.get("distinguishable") is False:
                note = "not distinguishable from parity" if ratio else "not distinguishable from zero"
            out.append(Disparity(name, value, threshold, passes, verdict, interval, note))
        return out

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


# ---------------------------------------------------------------------------------------- helpers
def json_safe(value: Any) -> Any:
    """Return ``value`` with numpy scalars/arrays as Python values and NaN/inf as None."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def group_label(group: Mapping | Any) -> str:
    """``{"sex": "female"}`` -> ``"female"``; several columns -> ``"sex=female, age_group=<25"``."""
    if not isinstance(group, Mapping):
        return str(group)
    if len(group) == 1:
        return str(next(iter(group.values())))
    return ", ".join(f"{k}={v}" for k, v in group.items())


def _audit_dict(metrics: Any) -> dict:
    if metrics is None:
        raise ReportError(NO_AUDIT)
    data = dict(metrics) if isinstance(metrics, Mapping) else metrics.to_dict()
    if not data.get("by_group"):
        raise ReportError(NO_AUDIT)
    return json_safe(data)


def _artifact_from_model(model: Any) -> Artifact | None:
    if model is None:
        return None
    facts = {"Kind": model.kind, "Modality": model.modality, "Format": model.source_format,
             "Classes": ", ".join(map(str, list(model.classes_)[:10]))}
    if model.architecture:
        facts["Architecture"] = model.architecture
    return Artifact(name=model.name, sha256=model.sha256, kind=f"{model.kind} ({model.source_format})",
                    details={k: v for k, v in facts.items() if v})


def _roles(dataset: Any) -> dict:
    r = dataset.roles
    return json_safe({"target": r.target, "prediction": r.prediction, "score": r.score,
                      "sensitive": list(r.sensitive), "features": list(r.features),
                      "positive_label": r.positive_label})


# ---------------------------------------------------------------------------------------- explanations
def explanation_figure(explanation: Any, *, title: str | None = None,
                       top: int = MAX_FEATURES) -> ExplanationFigure:
    """Summarise an ``explainers.Explanation`` for a report (top features, or a heatmap overlay PNG).

    Parameters
    ----------
    explanation : explainers.Explanation
        The explanation to summarise.
    title : str, optional
        Heading; default ``"<method> for class <target>"``.
    top : int
        How many features a tabular explanation keeps (largest absolute attribution first).
    """
    e = explanation
    heading = title or f"{e.method} explanation, class {e.target}"
    extras = {k: v for k, v in (e.extras or {}).items() if _is_number(v)}
    common = {"title": heading, "method": e.method, "algorithm": e.algorithm, "target": str(e.target),
              "prediction": e.prediction, "base_value": e.base_value, "extras": json_safe(extras)}
    if e.is_image:
        png = heatmap_png(e.data, np.asarray(e.values, dtype=float)) if e.data is not None else \
            heatmap_png(None, np.asarray(e.values, dtype=float))
        return ExplanationFigure(image_png=png, caption="Red: the pixels that raised the class score most.",
                                 **common)
    values = np.asarray(e.values, dtype=float)
    data = list(e.data) if e.data is not None else [None] * len(values)
    order = np.argsort(-np.abs(values), kind="stable")[:top]
    feats = [[str(e.feature_names[i]), json_safe(data[i]), float(values[i])] for i in order]
    return ExplanationFigure(features=feats, **common)


def heatmap_png(image: Any, values: np.ndarray, *, alpha: float = 0.5) -> str:
    """Return a base64 PNG of ``values`` (H x W) as a heatmap over ``image`` (H x W x 3 uint8, optional)."""
    from matplotlib import colormaps
    from PIL import Image

    v = np.nan_to_num(np.asarray(values, dtype=float))
    span = v.max() - v.min()
    norm = (v - v.min()) / span if span > 0 else np.zeros_like(v)
    heat = (colormaps["jet"](norm)[..., :3] * 255).astype(np.uint8)
    if image is not None:
        base = np.asarray(image)
        if base.ndim == 2:
            base = np.repeat(base[..., None], 3, axis=2)
        base = np.asarray(Image.fromarray(base.astype(np.uint8)).resize(heat.shape[1::-1]))
        heat = (alpha * heat + (1 - alpha) * base[..., :3]).astype(np.uint8)
    pil = Image.fromarray(heat)
    scale = MAX_IMAGE_SIDE / max(pil.size)
    pil = pil.resize((max(1, round(pil.width * scale)), max(1, round(pil.height * scale))), Image.NEAREST)
    buf = io.BytesIO()
    pil.save(buf, format="PNG", optimize=True)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def report_explanations(model: Any, data: Any, *, method: str, rows: Sequence[int] = (0,),
                        seed: int = 0) -> list:
    """Explain rows (or images) for a report, the same way from the dashboard and the command line.

    Parameters
    ----------
    model : ingest.Model
        A tabular or an image model.
    data : ingest.Dataset or ingest.ImageSet
        Tabular: the audited data, whose feature rows are also the background of methods that take one.
        Image: the images to explain, heatmaps drawn over them.
    method : str
        An ``explainers.registry`` name ("shap", "lime", "permutation_importance", "gradcam", ...). A
        global method explains the model over every row and ignores ``rows``.
    rows : sequence of int
        Positions of the rows (or images) to explain (local methods).
    seed : int
        Seed for methods that sample.

    Returns
    -------
    list of ExplanationFigure
        One per explained row or image (one for a global method), titled with the method and the input.

    Raises
    ------
    ReportError
        When a row or an image is outside the data.
    """
    from glasswing import explainers

    spec = explainers.registry.get(method)
    names = {p.name for p in spec.params}
    params: dict[str, Any] = {"seed": seed} if "seed" in names else {}
    rows = [int(r) for r in rows]
    if model.modality == "image":
        _check_rows(rows, len(data))
        found = explainers.explain(model, [data.images[r] for r in rows], method=method, **params)
        return [explanation_figure(e, title=f"{spec.label}, image {data.names[r]}: where it sees class "
                                            f"{e.target}") for r, e in zip(rows, found, strict=True)]
    frame = data.frame.loc[:, list(model.feature_names)] if model.feature_names else data.X
    if "background" in names:
        params["background"] = frame
    if spec.scope == "global":
        if "y_true" in names and data.y_true is not None:
            params["y_true"] = data.y_true.to_numpy()
        found = explainers.explain(model, frame, method=method, **params)
        return [explanation_figure(e, title=f"{spec.label} over all {len(frame):,} rows") for e in found]
    _check_rows(rows, len(frame))
    found = explainers.explain(model, frame.iloc[rows], method=method, **params)
    return [explanation_figure(e, title=f"{spec.label}, row {r}: why class {e.target}")
            for r, e in zip(rows, found, strict=True)]


def parse_rows(spec: str, n: int | None = None) -> list[int]:
    """Parse a row choice: ``"0,3,7"`` -> [0, 3, 7]; ``"2:5"`` -> [2, 3, 4] (spaces are ignored).

    Parameters
    ----------
    spec : str
        Comma-separated positions, or a ``start:stop`` range.
    n : int, optional
        The number of rows (or images); positions outside ``0 .. n - 1`` are refused.

    Raises
    ------
    ReportError
        For text that is not a row choice, or rows outside the data.

    Examples
    --------
    >>> parse_rows("0, 3,7"), parse_rows("2:5")
    ([0, 3, 7], [2, 3, 4])
    """
    text = spec.replace(" ", "")
    try:
        if ":" in text:
            start, stop = text.split(":", 1)
            rows = list(range(int(start or 0), int(stop)))
        else:
            rows = [int(part) for part in text.split(",") if part]
    except ValueError:
        raise ReportError(ROWS_SPEC.format(spec=spec)) from None
    if not rows:
        raise ReportError(ROWS_SPEC.format(spec=spec))
    if n is not None:
        _check_rows(rows, n)
    return rows


def _check_rows(rows: list[int], n: int) -> None:
    bad = [r for r in rows if not 0 <= r < n]
    if bad or not rows:
        raise ReportError(BAD_ROWS.format(rows=", ".join(map(str, bad)) or "(none)", n=n, last=n - 1))


# ---------------------------------------------------------------------------------------- mitigation
def mitigation_section(result: Any) -> dict:
    """Summarise an ``audits.MitigationResult`` (or its dict) as before/after data for the report."""
    if isinstance(result, Mapping):
        return json_safe(dict(result))
    before, after = result.before.to_dict(), result.after.to_dict()
    return json_safe({
        "label": result.label, "method": result.method, "constraint": result.constraint,
        "accuracy_before": result.accuracy_before, "accuracy_after": result.accuracy_after,
        "before": before, "after": after, "params": {k: v for k, v in result.params.items()
                                                     if isinstance(v, str | int | float | list | tuple)},
    })


# ---------------------------------------------------------------------------------------- builder
def build_report(dataset: Any, model: Any = None, *, metrics: Any = None, explanations: Sequence = (),
                 mitigation: Any = None, title: str = "", version_label: str = "", notes: str = "",
                 sign_off: SignOff | Mapping | None = None, created_at: str | None = None) -> Report:
    """Gather an audit report from a dataset, an optional model and the results computed on them.

    Parameters
    ----------
    dataset : ingest.Dataset
        The audited data (its name, fingerprint, rows and column roles are reported).
    model : ingest.Model, optional
        The audited model (None for an audit of logged predictions).
    metrics : audits.GroupMetrics or dict
        The audit result (``GroupMetrics`` or its ``to_dict()``); required.
    explanations : sequence of explainers.Explanation or ExplanationFigure
        Chosen explanations to include.
    mitigation : audits.MitigationResult or dict, optional
        A mitigation tried, shown before/after.
    title, version_label, notes : str
        Report heading, the model version label ("v2"), and the reviewer's notes.
    sign_off : SignOff or dict, optional
        Reviewer, role, decision, date.
    created_at : str, optional
        ISO timestamp; default now (UTC).

    Returns
    -------
    Report

    Raises
    ------
    ReportError
        When there is no audit result (``metrics`` is None or empty).

    Examples
    --------
    >>> import pandas as pd
    >>> from ingest import ColumnRoles, Dataset
    >>> data = Dataset(pd.DataFrame({"y": [1, 0], "p": [1, 1], "sex": ["F", "M"]}),
    ...                ColumnRoles(target="y", prediction="p", sensitive=("sex",)), "toy", "ab" * 32)
    >>> audit = {"overall": {"selection_rate": 1.0}, "summary": {"demographic_parity_difference": 0.0},
    ...          "by_group": [{"group": {"sex": "F"}, "n": 1, "selection_rate": 1.0},
    ...                       {"group": {"sex": "M"}, "n": 1, "selection_rate": 1.0}]}
    >>> build_report(data, metrics=audit).disparities()[0].verdict
    'Within 0.1'
    """
    audit = _audit_dict(metrics)
    figures = [e if isinstance(e, ExplanationFigure) else explanation_figure(e) for e in explanations]
    if isinstance(sign_off, Mapping):
        sign_off = SignOff(**sign_off)
    model_art = _artifact_from_model(model)
    data_art = Artifact(name=dataset.name, sha256=dataset.sha256, kind="table", rows=len(dataset),
                        details={"Columns": len(dataset.frame.columns)})
    heading = title or f"Fairness audit of {model.name if model is not None else dataset.name}"
    return Report(
        title=heading, dataset=data_art, model=model_art, audit=audit, roles=_roles(dataset),
        explanations=figures, mitigation=None if mitigation is None else mitigation_section(mitigation),
        notes=notes, sign_off=sign_off or SignOff(), version_label=version_label,
        created_at=created_at or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )


def with_review(report: Report, *, notes: str | None = None, sign_off: SignOff | Mapping | None = None,
                title: str | None = None) -> Report:
    """Return ``report`` with new reviewer notes, sign-off or title (the findings are unchanged)."""
    changes: dict[str, Any] = {}
    if notes is not None:
        changes["notes"] = notes
    if title is not None:
        changes["title"] = title
    if sign_off is not None:
        changes["sign_off"] = SignOff(**sign_off) if isinstance(sign_off, Mapping) else sign_off
    return replace(report, **changes)
