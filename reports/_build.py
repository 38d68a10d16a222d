"""Building a ``Report`` from a dataset, a model and the results computed on them.

The audit, the explanations and the mitigation are gathered the same way from the dashboard and the command
line.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from glasswing._plain import json_safe
from glasswing.reports._burden import burden_section
from glasswing.reports._errors_section import errors_section
from glasswing.reports._model import (
    MAX_FEATURES,
    MAX_IMAGE_SIDE,
    Artifact,
    ExplanationFigure,
    Report,
    ReportError,
    SignOff,
)

NO_AUDIT = ("There is no audit to report yet: run the audit first (it needs a target and at least one "
            "sensitive column), then export.")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


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
    frame = model.input_frame(data.frame if model.feature_names else data.X, data=f"'{data.name}'")
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


def parse_rows(spec: str, n: int) -> list[int]:
    """Parse a row choice with the one row-selection grammar (``explainers.rows_from_spec``).

    Examples
    --------
    >>> parse_rows("0:3,7", 10), parse_rows("8:", 10)
    ([0, 1, 2, 7], [8, 9])
    """
    from glasswing import explainers

    return explainers.rows_from_spec(spec, n)


def _check_rows(rows: list[int], n: int) -> None:
    """Refuse positions outside ``0 .. n - 1`` with the row grammar's sentence."""
    from glasswing.explainers._rows import ROW_OUT_OF_RANGE

    bad = [r for r in rows if not 0 <= r < n]
    if bad:
        raise ReportError(ROW_OUT_OF_RANGE.format(row=max(bad), n=n, last=n - 1))


# ---------------------------------------------------------------------------------------- mitigation
def mitigation_section(result: Any) -> dict:
    """Summarise an ``audits.MitigationResult`` (or its dict) as before/after data for the report."""
    if isinstance(result, Mapping):
        return json_safe(dict(result))
    before, after = result.before.to_dict(), result.after.to_dict()
    return json_safe({
        "label": result.label, "method": result.method, "constraint": result.constraint,
        "changes": getattr(result, "changes", None), "seconds": round(result.compute_time, 2),
        "accuracy_before": result.accuracy_before, "accuracy_after": result.accuracy_after,
        "before": before, "after": after, "params": {k: v for k, v in result.params.items()
                                                     if isinstance(v, str | int | float | list | tuple)},
    })


# ---------------------------------------------------------------------------------------- checks
NEEDS_GROUP_METRICS = ("The {what} is computed from the audit itself: pass the audits.GroupMetrics result, "
                       "not its saved dictionary (or pass the {what} already computed).")


def check_sections(metrics: Any, *, fairness_check: Any = False, confusion_matrices: bool = False,
                   comparison: Any = None) -> dict:
    """Return the optional sections ``fairness_check``, ``confusion`` and ``comparison`` as plain data.

    ``fairness_check`` is True (the check against the largest group, ``audits.fairness_check``), a
    reference group's label, an ``audits.FairnessCheck`` or its dict; ``comparison`` an
    ``audits.ModelComparison`` or its dict.
    """
    from glasswing import audits
    from glasswing.audits._fairness_check import confusion_dict

    def gm(what: str):
        if not isinstance(metrics, audits.GroupMetrics):
            raise ReportError(NEEDS_GROUP_METRICS.format(what=what))
        return metrics

    out: dict[str, Any] = {"fairness_check": None, "confusion": None, "comparison": None}
    if fairness_check is True or isinstance(fairness_check, str):
        reference = None if fairness_check is True else fairness_check
        fairness_check = audits.fairness_check(gm("fairness check"), reference)
    if fairness_check is not None and fairness_check is not False:
        out["fairness_check"] = json_safe(fairness_check.to_dict() if hasattr(fairness_check, "to_dict")
                                          else dict(fairness_check))
    if confusion_matrices:
        out["confusion"] = confusion_dict(gm("confusion matrix by group"))
    if comparison is not None:
        data = comparison.to_dict() if hasattr(comparison, "to_dict") else dict(comparison)
        out["comparison"] = json_safe({k: v for k, v in data.items() if k not in ("audit_a", "audit_b")})
    return out


# ---------------------------------------------------------------------------------------- review band
def review_band_section(band: Any) -> dict:
    """Summarise an ``audits.ReviewBand`` (or the dict the dashboard keeps) for the report."""
    if isinstance(band, Mapping):
        return json_safe(dict(band))
    return json_safe({"rule": band.rule, "threshold": band.threshold, "width": band.width, "low": band.low,
                      "high": band.high, "share_reviewed": band.share_reviewed, "n": int(len(band.in_band)),
                      "shares": [{"group": g, "n": int(r["n"]), "reviewed": int(r["reviewed"]),
                                  "share": float(r["share"])} for g, r in band.shares.iterrows()]})


# ---------------------------------------------------------------------------------------- builder
def build_report(dataset: Any, model: Any = None, *, metrics: Any = None, explanations: Sequence = (),
                 mitigation: Any = None, burden: Any = None, title: str = "", version_label: str = "",
                 notes: str = "", sign_off: SignOff | Mapping | None = None, created_at: str | None = None,
                 fairness_check: Any = False, confusion_matrices: bool = False,
                 comparison: Any = None, errors: Any = None,
                 review_band: Any = None, roles: Mapping | None = None) -> Report:
    """Gather an audit report from a dataset, an optional model and the results computed on them.

    Parameters
    ----------
    dataset : ingest.Dataset or Artifact
        The audited data (its name, fingerprint, rows and column roles are reported); or, for data audited
        where it lives (a database), its ``Artifact`` with the column ``roles``.
    model : ingest.Model, optional
        The audited model (None for an audit of logged predictions).
    metrics : audits.GroupMetrics or dict
        The audit result (``GroupMetrics`` or its ``to_dict()``); required.
    explanations : sequence of explainers.Explanation or ExplanationFigure
        Chosen explanations to include.
    mitigation : audits.MitigationResult or dict, optional
        A mitigation tried, shown before/after.
    burden : audits.RecourseBurden or dict, optional
        The recourse burden by group (``audits.recourse_burden_of``).
    title, version_label, notes : str
        Report heading, the model version label ("v2"), and the reviewer's notes.
    sign_off : SignOff or dict, optional
        Reviewer, role, decision, date.
    created_at : str, optional
        ISO timestamp; default now (UTC).
    fairness_check : bool, str, audits.FairnessCheck or dict
        Add the fairness check (each group's ratios to a reference group, band 0.8 to 1.25); True checks
        against the largest group, a group's label against that group (both need ``metrics`` as
        ``GroupMetrics``).
    confusion_matrices : bool
        Add the confusion matrix of every group (needs ``metrics`` as ``GroupMetrics``).
    comparison : audits.ModelComparison or dict, optional
        Add a second model compared on the same rows (``audits.compare_models``).
    errors : audits.ErrorAnalysis or dict, optional
        An error analysis to include (its worst cohorts; ``reports._errors_section``).
    review_band : audits.ReviewBand or dict, optional
        A human-review band: the report states the band and the share of each group routed to review.
    roles : mapping, optional
        With an ``Artifact`` for ``dataset``: target, prediction, score, sensitive, positive_label.

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
    checks = check_sections(metrics, fairness_check=fairness_check, confusion_matrices=confusion_matrices,
                            comparison=comparison)
    figures = [e if isinstance(e, ExplanationFigure) else explanation_figure(e) for e in explanations]
    if isinstance(sign_off, Mapping):
        sign_off = SignOff(**sign_off)
    model_art = _artifact_from_model(model)
    if isinstance(dataset, Artifact):
        data_art = dataset
        role_names = json_safe({"target": None, "prediction": None, "score": None, "sensitive": [],
                                "features": [], "positive_label": None, **dict(roles or {})})
    else:
        data_art = Artifact(name=dataset.name, sha256=dataset.sha256, kind="table", rows=len(dataset),
                            details={"Columns": len(dataset.frame.columns)})
        role_names = _roles(dataset)
    heading = title or f"Fairness audit of {model.name if model is not None else data_art.name}"
    return Report(
        title=heading, dataset=data_art, model=model_art, audit=audit, roles=role_names,
        explanations=figures, mitigation=None if mitigation is None else mitigation_section(mitigation),
        burden=None if burden is None else burden_section(burden),
        notes=notes, sign_off=sign_off or SignOff(), version_label=version_label, **checks,
        created_at=created_at or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        errors=None if errors is None else errors_section(errors),
        review_band=None if review_band is None else review_band_section(review_band),
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
