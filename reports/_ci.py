"""CI-native output of an audit: JUnit XML with one test case per ``--fail-if`` gate, and a Markdown summary.

Both read the values ``--fail-if`` reads (the headline summary on adequate groups, then the overall
metrics) and the headline's own intervals (Newcombe for differences, Katz for ratios; Wilson for an overall
rate), so a CI page, a pull-request comment and the printed table never disagree. The JUnit file follows
the shape CI systems read (Jenkins' and Surefire's schema, which GitLab, GitHub test reporters and Azure
Pipelines accept): ``testsuites > testsuite > properties, testcase (> failure | system-out), system-out``.
"""

from __future__ import annotations

import math
import operator
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OPERATORS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "<": operator.lt,
             ">": operator.gt}
FAILURE_TYPE = "FairnessGateViolated"
#: Characters XML 1.0 cannot hold even escaped (control characters other than tab, newline, return).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: Characters that make Markdown (GitHub's included) a link, an image, HTML, emphasis, code, math or a new
#: table cell; CommonMark lets a backslash escape any ASCII punctuation.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#!|<>~&$])")


@dataclass(frozen=True)
class Gate:
    """One ``--fail-if`` rule measured on an audit.

    Attributes
    ----------
    expr, name, op : str
        The rule as given, the value it names and its operator (it fails when ``value op limit`` holds).
    limit : float
    value : float or None
        The measured value (None when undefined, which fails the gate).
    low, high : float or None
        Its interval at ``confidence`` (None where the value has none: counts, AUC, booleans).
    method : str
        How the interval was computed (``"Newcombe"``, ``"Katz"``, ``"Wilson"`` or ``""``).
    violated : bool
    confidence : float
    detail : str
        Where the value comes from (the groups compared, the headline's scope), in words.
    """

    expr: str
    name: str
    op: str
    limit: float
    value: float | None
    low: float | None
    high: float | None
    method: str
    violated: bool
    confidence: float = 0.95
    detail: str = ""

    @property
    def shown(self) -> str:
        """The value as the CLI prints it (4 significant digits), or ``undefined``."""
        return "undefined" if self.value is None else f"{self.value:.4g}"

    @property
    def interval(self) -> str:
        """The interval in words: ``"95% Katz interval 0.292 to 0.434"``, or empty when there is none."""
        if self.low is None or self.high is None:
            return ""
        return f"{self.confidence:.0%} {self.method} interval {self.low:.3f} to {self.high:.3f}"

    @property
    def message(self) -> str:
        """One line: the measured value, its interval and the rule; what the JUnit failure says."""
        span = f" ({self.interval})" if self.interval else ""
        if self.value is None:
            return f"{self.name} is undefined{span}, so the gate --fail-if \"{self.expr}\" fails."
        verdict = "violates" if self.violated else "passes"
        return f"{self.name} = {self.shown}{span} {verdict} --fail-if \"{self.expr}\"."


def gate_values(gm) -> dict[str, float]:
    """Every name ``--fail-if`` may use: the headline summary (adequate groups), then the overall metrics."""
    values = {k: float(v) if v is not None else math.nan for k, v in gm.headline().summary.items()}
    values.update({k: float(v) for k, v in gm.overall.items() if k not in values})
    return values


def _overall_interval(gm, name: str) -> tuple[float | None, float | None]:
    """Return the Wilson interval of an overall rate (every group's rows together; weights average 1)."""
    from glasswing.audits._intervals import wilson_interval
    from glasswing.audits._table import CELLS, RATE_NAMES, numerators, rates

    if name not in RATE_NAMES:
        return None, None
    cells = gm.counts.loc[:, list(CELLS)].to_numpy(dtype=float).sum(axis=0)
    rows = float(gm.counts["n"].sum())
    scale = rows / cells.sum() if cells.sum() > 0 else 0.0
    j = RATE_NAMES.index(name)
    _, den = rates(cells)
    lo, hi = wilson_interval(numerators(cells)[j] * scale, den[j] * scale, gm.confidence)
    return float(lo), float(hi)


def evaluate_gates(gm, checks: Sequence[tuple[str, str, str, float]],
                   values: Mapping[str, float] | None = None) -> list[Gate]:
    """Measure each parsed ``--fail-if`` rule (expression, name, operator, limit) on the audit ``gm``.

    Examples
    --------
    >>> from glasswing import audits
    >>> gm = audits.group_metrics([1, 0, 1, 0] * 20, [1, 0, 0, 0] * 20, ["F", "F", "M", "M"] * 20)
    >>> (gate,) = evaluate_gates(gm, [("demographic_parity_ratio<0.8", "demographic_parity_ratio", "<", 0.8)])
    >>> gate.violated, gate.shown, gate.method
    (True, '0', 'Katz')
    """
    values = gate_values(gm) if values is None else values
    head = gm.headline()
    out = []
    for expr, name, op, limit in checks:
        raw = values[name]
        value = None if raw is None or math.isnan(raw) else float(raw)
        low = high = None
        method = detail = ""
        if name in head.disparities.index:
            row = head.disparities.loc[name]
            low, high = float(row["low"]), float(row["high"])
            method = "Newcombe" if name.endswith("_difference") else "Katz"
            detail = f"between {' and '.join(map(str, row['groups']))}"
        elif name in head.summary:
            detail = "fewer than two groups qualify"
        else:
            low, high = _overall_interval(gm, name)
            method = "Wilson" if low is not None else ""
            detail = "over all rows"
        if low is not None and not (math.isfinite(low) and math.isfinite(high)):
            low = high = None
        violated = value is None or bool(OPERATORS[op](value, limit))
        out.append(Gate(expr, name, op, float(limit), value, low, high, method, violated, gm.confidence,
                        detail))
    return out


# ---------------------------------------------------------------------------------------------- JUnit
def _xml(text: Any) -> str:
    return _NOT_XML.sub("\ufffd", str(text))


def junit_xml(gates: Sequence[Gate], *, suite: str, properties: Mapping[str, Any] | None = None,
              stdout: str = "", elapsed: float = 0.0, timestamp: str | None = None) -> str:
    """Return a JUnit XML document: one test case per gate, failed with the value and interval when violated.

    Parameters
    ----------
    gates : sequence of Gate
        From :func:`evaluate_gates`.
    suite : str
        The test suite's name (what CI pages group the cases under).
    properties : mapping, optional
        Written as ``<property>`` elements (data and model fingerprints, the decision rule).
    stdout : str
        The printed audit, kept as the suite's ``<system-out>``.
    elapsed : float
        Seconds the audit took.
    timestamp : str, optional
        ISO 8601 time of the run (default: now, UTC).

    Returns
    -------
    str
    """
    failures = sum(g.violated for g in gates)
    seconds = f"{max(elapsed, 0.0):.3f}"
    root = ET.Element("testsuites", {"name": "glasswing audit", "tests": str(len(gates)),
                                     "failures": str(failures), "errors": "0", "time": seconds})
    stamp = timestamp or time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    node = ET.SubElement(root, "testsuite", {"name": _xml(suite), "tests": str(len(gates)),
                                             "failures": str(failures), "errors": "0", "skipped": "0",
                                             "time": seconds, "timestamp": stamp})
    if properties:
        props = ET.SubElement(node, "properties")
        for key, value in properties.items():
            if value is not None and value != "":
                ET.SubElement(props, "property", {"name": _xml(key), "value": _xml(value)})
    for gate in gates:
        case = ET.SubElement(node, "testcase", {"classname": "glasswing.fairness",
                                                "name": _xml(f"--fail-if {gate.expr}"), "time": "0.000"})
        body = f"{gate.message}\nMeasured {gate.detail}." if gate.detail else gate.message
        if gate.violated:
            failure = ET.SubElement(case, "failure", {"type": FAILURE_TYPE, "message": _xml(gate.message)})
            failure.text = _xml(body)
        else:
            ET.SubElement(case, "system-out").text = _xml(body)
    if stdout:
        ET.SubElement(node, "system-out").text = _xml(stdout)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------------------------------------- Markdown
def markdown_text(text: Any) -> str:
    r"""Return user text as literal Markdown: every special character escaped, on one line.

    Group, column and file names come from the audited data; escaped, they cannot become links, images,
    HTML or table cells in a pull-request comment.

    Examples
    --------
    >>> print(markdown_text("a|b ![x](http://e/x.png) <img>"))
    a\|b \!\[x\]\(http://e/x.png\) \<img\>
    """
    return _MARKDOWN.sub(r"\\\1", " ".join(str(text).split()))


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _number(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "undefined"
    return f"{float(value):.{digits}f}"


def markdown_summary(gm, about: Mapping[str, Any], gates: Sequence[Gate] = ()) -> str:
    """Return the audit as Markdown for a pull-request comment: gates, headline, groups, decision rule.

    Parameters
    ----------
    gm : audits.GroupMetrics
        The audit.
    about : mapping
        What was audited (``glasswing audit --json``'s ``source``: data, data_sha256, predictions, ...).
    gates : sequence of Gate
        The ``--fail-if`` rules measured (:func:`evaluate_gates`).

    Returns
    -------
    str
    """
    from glasswing import __version__
    from glasswing.audits._table import label
    from glasswing.audits._verdicts import FOUR_FIFTHS_CONTEXT, disparity_rows, interval_text

    level = f"{gm.confidence:.0%}"
    out = [f"### Fairness audit of {markdown_text(about.get('data', 'the data'))}", ""]
    if gates:
        failed = sum(g.violated for g in gates)
        out.append(f"**❌ {failed} of {len(gates)} fairness gates failed.**" if failed
                   else f"**✅ All {len(gates)} fairness gates passed.**")
        out += ["", _row(["Gate", "Measured", f"{level} interval", "Result"]), "| --- | ---: | --- | --- |"]
        for g in gates:
            span = f"{g.low:.3f} to {g.high:.3f} ({g.method})" if g.low is not None else "—"
            result = "❌ fails" if g.violated else "✅ passes"
            out.append(_row([f"`--fail-if {g.expr}`", _number(g.value), span, result]))
        out.append("")
    head = gm.headline()
    scope = ("every group" if head.include_small_groups else
             f"groups with at least {gm.min_group_size:,} rows and the counts each needs")
    out += [f"**Headline** ({scope}): {markdown_text(head.sentence)}", ""]
    detail = {n: r.to_dict() for n, r in head.disparities.iterrows()}
    rows = disparity_rows(head.summary, detail, four_fifths=gm.four_fifths_threshold)
    out += [_row(["Disparity", "Value", f"{level} interval", "Verdict", "Groups compared"]),
            "| --- | ---: | --- | --- | --- |"]
    for r in rows:
        verdict = r["verdict"] + (f"; {r['note']}" if r["note"] else "")
        mark = "✅" if r["passes"] else "❌" if r["passes"] is False else "–"
        out.append(_row([r["label"], _number(r["value"]), interval_text(r["low"], r["high"]),
                         f"{mark} {verdict}", markdown_text(" vs ".join(map(str, r["groups"])))]))
    if len(head.left_out):
        left = [f"{markdown_text(r.label)} (n = {r.n:,}: {markdown_text(r.reason)})"
                for r in head.left_out.itertuples()]
        out += ["", "**Left out of the headline:** " + "; ".join(left)]
    metrics = ["selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy"]
    by_group, iv, confusion = gm.by_group, gm.intervals, gm.confusion
    out += ["", "<details><summary>Metrics by group</summary>", "",
            _row(["Group", "n", *(label(m) for m in metrics), "TP", "FP", "FN", "TN"]),
            "| --- | ---: |" + " ---: |" * (len(metrics) + 4)]
    undefined = gm.undefined
    for g, name in enumerate(gm.labels):
        cells = []
        for m in metrics:
            if undefined[m].iloc[g]:
                cells.append("undefined")
            else:
                low, high = iv[(m, "low")].iloc[g], iv[(m, "high")].iloc[g]
                cells.append(f"{by_group[m].iloc[g]:.3f} ({low:.2f}–{high:.2f})")
        small = " (small)" if gm.counts["n"].iloc[g] < gm.min_group_size else ""
        counts = [f"{confusion[c].iloc[g]:,.0f}" for c in ("TP", "FP", "FN", "TN")]
        out.append(_row([markdown_text(name) + small, f"{int(gm.counts['n'].iloc[g]):,}", *cells, *counts]))
    out += ["", f"Rates with {level} Wilson intervals; \"small\": fewer than {gm.min_group_size:,} rows.", "",
            "</details>", ""]
    rule = gm.decision_rule()
    words = (f"positive outcome {rule['favourable']!r}; {rule['rule']}"
             + (f"; predictions from {rule['source']}" if rule.get("source") else "")
             + f"; \"selected\" means {rule['selected']}; overall accuracy {rule['accuracy']:.3f}")
    out += [f"**Decision rule:** {markdown_text(words)}.", ""]
    if about.get("notes"):
        out += ["**Notes on the data:** " + " ".join(markdown_text(n) for n in about["notes"]), ""]
    if gm.warnings:
        out += ["<details><summary>Read with care</summary>", "",
                *(f"- {markdown_text(w)}" for w in gm.warnings), "", "</details>", ""]
    out.append(f"<sub>{markdown_text(FOUR_FIFTHS_CONTEXT)}</sub>")
    prints = [f"data sha256 {str(about['data_sha256'])[:12]}" if about.get("data_sha256") else "",
              f"model sha256 {str(about['model_sha256'])[:12]}" if about.get("model_sha256") else ""]
    footer = " · ".join(p for p in [f"Glasswing {__version__}", *prints] if p)
    out += ["", f"<sub>{markdown_text(footer)}</sub>"]
    return "\n".join(out) + "\n"
