"""Log a Glasswing audit to an MLflow run: headline disparities as metrics, the report as artifacts.

``log_audit(result, run=None)`` records, on one run:

- metrics ``glasswing.<name>`` for every headline value ``--fail-if`` reads (the summary disparities on the
  groups large enough to conclude from, the four-fifths verdict as 1 or 0), with ``glasswing.<name>.low``
  and ``.high`` for their interval (Newcombe for differences, Katz for ratios), and the overall accuracy,
  selection rate, AUC and row count;
- tags with the model and data SHA-256 fingerprints, their names, the decision rule and the headline's scope;
- the report as ``glasswing/audit.json``, ``audit.html`` and ``audit.pdf`` artifacts.

Install with ``pip install 'glasswing[mlflow]'`` (``mlflow-skinny``: the tracking client, enough for a
server, a database or a local file store; the full ``mlflow`` works too). MLflow 3 refuses a local file
store (``file:./mlruns``) unless ``MLFLOW_ALLOW_FILE_STORE=true`` is set. In a training script::

    import mlflow, glasswing
    from glasswing.integrations.mlflow import log_audit

    with mlflow.start_run():
        ...  # train, log the model
        log_audit(glasswing.report(validation, model=model))
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from glasswing._errors import GlasswingError

__all__ = ["IntegrationError", "log_audit", "metrics_of"]

MLFLOW_MISSING = ("MLflow is not installed; install it with pip install 'glasswing[mlflow]' (or pip install "
                  "mlflow-skinny) to log audits to MLflow.")
NOT_AN_AUDIT = "log_audit takes a report (glasswing.report) or an audit (glasswing.audit); got a {kind}."
FILE_STORE = ("MLflow refuses the local file tracking store {uri} unless MLFLOW_ALLOW_FILE_STORE=true is "
              "set; set it, or use a database or a tracking server.")
MLFLOW_FAILED = "MLflow could not log the audit: {reason}."
PREFIX = "glasswing."
OVERALL = ("accuracy", "selection_rate", "auc", "n")


class IntegrationError(GlasswingError):
    """A tool Glasswing hands results to is missing or refuses them, with one sentence saying why."""


def _mlflow():
    try:
        import mlflow
    except ImportError:
        raise IntegrationError(MLFLOW_MISSING) from None
    return mlflow


def _report(result: Any, data: Any = None, model: Any = None):
    from glasswing import reports
    from glasswing.audits import GroupMetrics

    if isinstance(result, reports.Report):
        return result
    if isinstance(result, GroupMetrics):
        if data is not None:
            return reports.build_report(data, model, metrics=result)
        return reports.Report(title="Fairness audit", dataset=reports.Artifact(name=""),
                              audit=result.to_dict())
    raise IntegrationError(NOT_AN_AUDIT.format(kind=type(result).__name__))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(float(value)):
        return float(value)
    return None


def metrics_of(report) -> tuple[dict[str, float], list[str]]:
    """Return the metrics ``log_audit`` logs for a report, and the names left out as undefined.

    Examples
    --------
    >>> from glasswing import audits, reports
    >>> gm = audits.group_metrics([1, 0, 1, 0] * 20, [1, 0, 0, 0] * 20, ["F", "F", "M", "M"] * 20)
    >>> report = reports.Report(title="", dataset=reports.Artifact(name=""), audit=gm.to_dict())
    >>> metrics, undefined = metrics_of(report)
    >>> metrics["glasswing.demographic_parity_difference"], metrics["glasswing.four_fifths_rule_passed"]
    (0.5, 0.0)
    >>> undefined
    ['predictive_parity_difference', 'predictive_parity_ratio']
    """
    head = report.audit.get("headline") or {}
    summary = head.get("summary") or report.audit.get("summary") or {}
    intervals = {d["name"]: d for d in head.get("disparities") or []}
    metrics, undefined = {}, []
    for name, raw in summary.items():
        value = _number(raw)
        if value is None:
            undefined.append(name)
            continue
        metrics[PREFIX + name] = value
        low, high = (_number(intervals.get(name, {}).get(k)) for k in ("low", "high"))
        if low is not None and high is not None:
            metrics[f"{PREFIX}{name}.low"], metrics[f"{PREFIX}{name}.high"] = low, high
    overall = report.audit.get("overall") or {}
    for name in OVERALL:
        value = _number(overall.get(name))
        if value is not None:
            metrics[f"{PREFIX}overall.{name}"] = value
    return metrics, undefined


def _tags(report, undefined: list[str]) -> dict[str, str]:
    from glasswing import __version__

    rule = report.decision_rule()
    model = report.model
    tags = {"version": __version__, "data": report.dataset.name, "data_sha256": report.dataset.sha256,
            "model": model.name if model else "", "model_sha256": model.sha256 if model else "",
            "sensitive": ", ".join(report.sensitive), "headline": report.headline_scope,
            "decision_rule": rule.get("rule", ""), "predictions": rule.get("source", ""),
            "four_fifths": report.four_fifths_sentence, "undefined": ", ".join(undefined),
            "title": report.title}
    return {PREFIX + k: str(v)[:5000] for k, v in tags.items() if v}


def _run_id(mlflow, run: Any) -> str | None:
    if run is None:
        active = mlflow.active_run()
        return active.info.run_id if active is not None else None
    if isinstance(run, str):
        return run
    return run.info.run_id


def log_audit(result: Any, run: Any = None, *, data: Any = None, model: Any = None,
              artifact_path: str = "glasswing", pdf: bool = True) -> str:
    """Log an audit to an MLflow run; return the run's id.

    Parameters
    ----------
    result : reports.Report or audits.GroupMetrics
        A report (``glasswing.report``: its fingerprints become tags) or an audit (``glasswing.audit``;
        give ``data`` and ``model`` to record their fingerprints too).
    run : mlflow.ActiveRun, mlflow.entities.Run or str, optional
        The run (or its id) to log to. Default: the active run, else a new run that is ended afterwards.
    data, model : ingest.Dataset and ingest.Model, optional
        What ``result`` audited, when it is a GroupMetrics.
    artifact_path : str, default "glasswing"
        Folder of the run's artifacts that receives ``audit.json``, ``audit.html`` and ``audit.pdf``.
    pdf : bool, default True
        Also render and log the PDF (the slowest part).

    Returns
    -------
    str
        The run id.

    Raises
    ------
    IntegrationError
        When MLflow is not installed, refuses the tracking store, or cannot log (one sentence).
    """
    mlflow = _mlflow()
    report = _report(result, data, model)
    metrics, undefined = metrics_of(report)
    tags = _tags(report, undefined)
    from mlflow.exceptions import MlflowException

    try:
        run_id = _run_id(mlflow, run)
        started = None
        if run_id is None:
            started = mlflow.start_run(run_name=report.title or "glasswing audit")
            run_id = started.info.run_id
        try:
            _log(mlflow, run_id, report, metrics, tags, artifact_path, pdf)
        finally:
            if started is not None:
                mlflow.end_run()
    except MlflowException as err:
        text = str(err)
        if "MLFLOW_ALLOW_FILE_STORE" in text:
            raise IntegrationError(FILE_STORE.format(uri=mlflow.get_tracking_uri())) from None
        reason = text.strip().splitlines()[0].rstrip(".") if text.strip() else type(err).__name__
        raise IntegrationError(MLFLOW_FAILED.format(reason=reason)) from None
    return run_id


def _log(mlflow, run_id: str, report, metrics: dict, tags: dict, artifact_path: str, pdf: bool) -> None:
    import time

    from mlflow.entities import Metric, RunTag

    from glasswing import reports

    client = mlflow.MlflowClient()
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
                     tags=[RunTag(k, v) for k, v in tags.items()])
    client.log_text(run_id, report.to_json(), f"{artifact_path}/audit.json")
    html = reports.render_html(report)
    client.log_text(run_id, html, f"{artifact_path}/audit.html")
    if pdf:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "audit.pdf"
            path.write_bytes(reports.render_pdf(report, html=html))
            client.log_artifact(run_id, str(path), artifact_path)
