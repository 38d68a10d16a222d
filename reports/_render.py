"""Render a :class:`reports.Report` to HTML (Jinja2), PDF (WeasyPrint) or JSON.

The HTML is self-contained (CSS inline, charts as inline SVG, heatmaps as PNG data URIs, no JavaScript,
no network): large type on screen for a projector, A4 with running fingerprints and page numbers in
print. WeasyPrint cannot run JavaScript, so charts are drawn from the report model's numbers with
matplotlib as SVG, the same drawings in HTML and PDF.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from glasswing.audits._table import group_label, wrap_label
from glasswing.audits._verdicts import DIFFERENCE_THRESHOLD, FOUR_FIFTHS
from glasswing.reports._burden import burden_charts
from glasswing.reports._errors_section import errors_chart
from glasswing.reports._model import Report, ReportError, metric_label
from glasswing.reports._render_checks import check_context

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
FORMATS = {"pdf": "application/pdf", "html": "text/html", "json": "application/json"}
UNKNOWN_FORMAT = "Cannot export a report as '{suffix}'; choose one of: .pdf, .html, .json."
CANNOT_WRITE = "Cannot write the report to {path}: {reason}."

# Chart styling: colours that stay distinct in grayscale (light / mid / dark), plus hatching.
_SERIES = [("#c6dbef", ""), ("#4292c6", ""), ("#08306b", "")]
_CHART_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate")


# ---------------------------------------------------------------------------------------- charts
def _plain(text: Any) -> str:
    r"""Return user text for a matplotlib label, shown literally: an unescaped ``$`` pair is mathtext.

    Examples
    --------
    >>> _plain("$x^2$ group")
    '\\$x^2\\$ group'
    """
    return str(text).replace("$", r"\$")


def _svg(fig) -> str:
    """Serialise a matplotlib Figure to an SVG ``data:`` URI (text kept as text, ids isolated per chart)."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "glasswing"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    fig.set_layout_engine("constrained")
    return fig


def _style(ax, title: str, xlabel: str = "") -> None:
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold", family="DejaVu Sans")
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=9)
    ax.tick_params(labelsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


#: Layout of the rates chart (inches): a group's row (one label line, plus one per extra line), the label
#: wrap width in characters, and the most rows in one chart, so that two charts share an A4 page.
_ROW_IN, _LINE_IN, _LABEL_WIDTH, _ROWS_IN_PER_CHART = 0.2, 0.13, 30, 4.0


def _row_heights(labels: list[str]) -> np.ndarray:
    return np.array([_ROW_IN + _LINE_IN * text.count("\n") for text in labels])


def _chunks(heights, most: float) -> list[tuple[int, int]]:
    """Split rows of these heights into the fewest runs of at most ``most`` in all, as even as possible.

    Examples
    --------
    >>> _chunks([1] * 5, 20), _chunks([1] * 45, 20), _chunks([1, 1, 3, 1], 4)
    ([(0, 5)], [(0, 15), (15, 30), (30, 45)], [(0, 2), (2, 4)])
    """
    heights = np.asarray(heights, dtype=float)
    count = max(1, math.ceil(heights.sum() / most - 1e-9))
    while True:
        ends = np.cumsum(heights)
        cuts = [0] + [int(np.argmin(np.abs(ends - ends[-1] * k / count))) + 1 for k in range(1, count)]
        parts = [(a, b) for a, b in zip(cuts, [*cuts[1:], len(heights)], strict=True) if b > a]
        if all(heights[a:b].sum() <= most + 1e-9 for a, b in parts) or count >= len(heights):
            return parts
        count += 1


def group_parts(labels: list[str], row_in: float) -> list[tuple[int, int] | None]:
    """Return the parts ``(start, stop)`` to draw a chart of one ``row_in``-inch row a group in, two a page.

    ``[None]`` when one chart holds every group. Rows of wrapped labels grow by a line each (``wrap_label``).
    """
    lines = max((wrap_label(text, _LABEL_WIDTH).count("\n") + 1 for text in labels), default=1)
    parts = _chunks([row_in + _LINE_IN * (lines - 1)] * len(labels), _ROWS_IN_PER_CHART) if labels else []
    return parts if len(parts) > 1 else [None]


def part_title(title: str, part: tuple[int, int] | None, n: int) -> str:
    """Return a chart's title, with "groups 13–24 of 60" when it draws only a part of them."""
    return title + (f", groups {part[0] + 1}–{part[1]} of {n}" if part else "")


def rates_charts(report: Report) -> list[str]:
    """SVGs of :func:`rates_chart`, split into charts of about 20 groups at most (two to an A4 page)."""
    groups = report.groups()
    if not groups:
        return []
    heights = _row_heights([wrap_label(g["label"], _LABEL_WIDTH) for g in groups])
    parts = _chunks(heights, _ROWS_IN_PER_CHART)
    return [c for c in (rates_chart(report, part=p if len(parts) > 1 else None) for p in parts) if c]


def rates_chart(report: Report, *, part: tuple[int, int] | None = None) -> str | None:
    """SVG: selection rate, TPR and FPR by group, one panel each, bars with Wilson-interval whiskers.

    The height grows with the number of groups (one row each); long group labels wrap onto two lines and
    are shortened beyond that (the table keeps the full name). ``part`` ``(start, stop)`` draws only those
    groups, titled "groups start+1–stop of n" (see :func:`rates_charts`).
    """
    every = report.groups()
    metrics = [m for m in _CHART_METRICS if every and m in every[0]["values"]]
    if not every or not metrics:
        return None
    start, stop = part or (0, len(every))
    groups = every[start:stop]
    labels = [wrap_label(g["label"], _LABEL_WIDTH) for g in groups]
    heights = _row_heights(labels)
    y = np.cumsum(heights) - heights / 2  # row centres, in inches from the top of the panels
    fig = _figure(7.0, 1.0 + heights.sum())
    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
    small = [g["small"] for g in groups]
    overall = report.overall().get("selection_rate")
    for k, (ax, m) in enumerate(zip(axes, metrics, strict=True)):
        colour = _SERIES[k % len(_SERIES)][0]
        vals = np.array([_num(g["values"].get(m)) if _num(g["values"].get(m)) is not None else np.nan
                         for g in groups])
        lo = np.array([g["intervals"].get(m, (np.nan, np.nan))[0] for g in groups], dtype=float)
        hi = np.array([g["intervals"].get(m, (np.nan, np.nan))[1] for g in groups], dtype=float)
        err = np.nan_to_num(np.vstack([np.clip(vals - lo, 0, None), np.clip(hi - vals, 0, None)]))
        bars = ax.barh(y, np.nan_to_num(vals), height=0.72 * _ROW_IN, color=colour, edgecolor="#222222",
                       linewidth=0.5, xerr=err if np.isfinite(lo).any() else None,
                       error_kw={"elinewidth": 0.8, "capsize": 1.5})
        for bar, is_small in zip(bars, small, strict=True):
            bar.set_hatch("////" if is_small else "")
        for p, v, h in zip(y, vals, hi, strict=True):
            at = (max(v, h) if np.isfinite(h) else v) if np.isfinite(v) else 0.0
            text = f"{v:.2f}" if np.isfinite(v) else "undefined"
            ax.text(at + 0.03, p, text, va="center", fontsize=6.5, color="#333333",
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.4, "alpha": 0.85})
        if m == "selection_rate" and overall is not None:
            ax.axvline(overall, color="#000000", linestyle="--", linewidth=0.9)
        ax.set_xlim(0, 1.3)
        ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
        ax.set_ylim(heights.sum(), 0)
        _style(ax, "")
        ax.set_title(metric_label(m), fontsize=9, loc="left")
        ax.tick_params(axis="y", length=0)
    axes[0].set_yticks(y, [_plain(text) for text in labels], fontsize=7.5)
    title = part_title("Rates by group", part, len(every))
    fig.suptitle(title, x=0.0, ha="left", fontsize=11, fontweight="bold", family="DejaVu Sans")
    notes = [f"{report.confidence:.0%} Wilson interval whiskers"]
    if overall is not None:
        notes.append(f"dashed: overall selection rate {overall:.2f}")
    if any(small):
        notes.append("hatched: small group")
    fig.supxlabel("rate (" + "; ".join(notes) + ")", fontsize=8)
    return _svg(fig)


def disparity_chart(report: Report) -> str | None:
    """SVG: each disparity against its threshold, pass bars light and fail bars dark and hatched."""
    items = [d for d in report.disparities() if d.value is not None]
    if not items:
        return None
    fig = _figure(7.2, 0.7 + 0.36 * len(items))
    ax = fig.add_subplot()
    y = np.arange(len(items))
    for i, d in enumerate(items):
        shown = abs(d.value) if d.name.endswith("_difference") else d.value
        ax.barh(i, shown, height=0.6, color="#c7e9c0" if d.passes else "#7f0000",
                hatch="" if d.passes else "xx", edgecolor="#222222", linewidth=0.5)
        ax.plot([d.threshold, d.threshold], [i - 0.4, i + 0.4], color="#000000", linewidth=1.4)
        # Label at the bar's end; past the threshold tick only when the label would run into it.
        at = shown if shown > d.threshold or shown + 0.2 < d.threshold else d.threshold
        ax.text(at + 0.015, i, f"{d.value:.3f} {'pass' if d.passes else 'FAIL'}", va="center", fontsize=8)
    ax.set_yticks(y, [_plain(d.label) for d in items])
    ax.invert_yaxis()
    ax.set_xlim(0, max(1.2, max(abs(d.value) for d in items) + 0.25))
    _style(ax, "Disparities against thresholds",
           f"value (black tick: threshold; ratios pass at >= {FOUR_FIFTHS:g}, "
           f"|differences| at <= {DIFFERENCE_THRESHOLD:g})")
    return _svg(fig)


def attribution_chart(features: list, title: str) -> str | None:
    """SVG: signed attributions of one explanation, largest first (positive dark, negative light)."""
    if not features:
        return None
    names = [f"{name} = {_short(value)}" if value is not None else name for name, value, _ in features]
    vals = np.array([a for *_, a in features], dtype=float)
    fig = _figure(7.2, 0.6 + 0.3 * len(vals))
    ax = fig.add_subplot()
    colours = ["#08306b" if v >= 0 else "#9ecae1" for v in vals]
    hatches = ["" if v >= 0 else "//" for v in vals]
    bars = ax.barh(np.arange(len(vals)), vals, color=colours, edgecolor="#222222", linewidth=0.5)
    for bar, hatch in zip(bars, hatches, strict=True):
        bar.set_hatch(hatch)
    ax.axvline(0, color="#000000", linewidth=0.8)
    ax.set_yticks(np.arange(len(vals)), [_plain(n) for n in names])
    ax.invert_yaxis()
    _style(ax, _plain(title), "attribution (dark: raises the score; light, hatched: lowers it)")
    return _svg(fig)


def mitigation_chart(report: Report) -> str | None:
    """SVG: accuracy and the main disparities before and after the mitigation."""
    m = report.mitigation
    if not m:
        return None
    from glasswing.audits._history import headline_summary

    before, after = headline_summary(m.get("before") or {}), headline_summary(m.get("after") or {})
    keys = [k for k in ("demographic_parity_difference", "equalized_odds_difference")
            if _num(before.get(k)) is not None and _num(after.get(k)) is not None]
    rows = [("Accuracy", _num(m.get("accuracy_before")), _num(m.get("accuracy_after")))]
    rows += [(metric_label(k), _num(before[k]), _num(after[k])) for k in keys]
    rows = [r for r in rows if r[1] is not None and r[2] is not None]
    if not rows:
        return None
    fig = _figure(7.2, 0.8 + 0.55 * len(rows))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    for k, (label, colour, hatch) in enumerate([("before", "#bdbdbd", "//"), ("after", "#08306b", "")]):
        vals = [r[1 + k] for r in rows]
        ax.barh(y - 0.2 + 0.4 * k, vals, height=0.38, color=colour, hatch=hatch, edgecolor="#222222",
                linewidth=0.5, label=label)
        for p, v in zip(y - 0.2 + 0.4 * k, vals, strict=True):
            ax.text(v + 0.012, p, f"{v:.3f}", va="center", fontsize=7)
    ax.set_yticks(y, [r[0] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.1)
    _style(ax, _plain(f"Before and after: {m.get('label', m.get('method', 'mitigation'))}"))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _svg(fig)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 24 else text[:23] + "…"


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# ---------------------------------------------------------------------------------------- html
def _fmt(value: Any, digits: int = 3) -> str:
    v = _num(value)
    if v is None:
        return "—"
    if float(v).is_integer() and abs(v) >= 1 and digits == 0:
        return f"{int(v):,}"
    return f"{v:.{digits}f}"


def _date(value: str) -> str:
    return value.replace("T", " ").replace("+00:00", " UTC") if value else ""


@functools.lru_cache(maxsize=1)
def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = _fmt
    env.filters["date"] = _date
    env.filters["label"] = metric_label
    env.filters["group"] = group_label
    env.filters["short"] = _short
    return env


def _tradeoff_chart(report: Report) -> str | None:
    """SVG: accuracy against disparity for every method tried (``mitigation["tried"]``), the Pareto front."""
    rows = (report.mitigation or {}).get("tried") or []
    if not rows:
        return None
    from glasswing.reports.charts import mitigation_tradeoff_svg

    svg = mitigation_tradeoff_svg(rows).encode()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _mitigation_rows(report: Report) -> list[dict]:
    """Before/after/change rows of the mitigation's summary disparities (arrows and words, not colour)."""
    from glasswing.audits import compare_runs

    m = report.mitigation
    if not m or not m.get("before") or not m.get("after"):
        return []
    table = compare_runs(m["before"], m["after"])
    rows = table.to_dict("records")
    acc = (_num(m.get("accuracy_before")), _num(m.get("accuracy_after")))
    if None not in acc:
        change = "unchanged" if abs(acc[1] - acc[0]) < 1e-12 else "improved" if acc[1] > acc[0] else "worse"
        rows.insert(0, {"metric": "accuracy", "before": acc[0], "after": acc[1], "delta": acc[1] - acc[0],
                        "change": change})
    return rows


def render_html(report: Report, *, charts: bool = True) -> str:
    """Return the report as one self-contained HTML document.

    Parameters
    ----------
    report : Report
        What to render.
    charts : bool
        Draw the SVG charts (the tables carry the same numbers).

    Returns
    -------
    str
    """
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    explanation_charts = [attribution_chart(e.features, "") if e.features else None
                          for e in report.explanations]
    context = {
        "r": report, "css": css, "groups": report.groups(), "metrics": report.table_metrics(),
        "disparities": report.disparities(), "overall": report.overall(),
        "mitigation_rows": _mitigation_rows(report),
        "charts": {
            "rates": rates_charts(report) if charts else [],
            "disparities": disparity_chart(report) if charts else None,
            "mitigation": mitigation_chart(report) if charts else None,
            "mitigation_tradeoff": _tradeoff_chart(report) if charts else None,
            "errors": errors_chart(report.errors) if charts else None,
            "explanations": explanation_charts if charts else [None] * len(report.explanations),
            "burden": burden_charts(report.burden) if charts else [],
        },
        "four_fifths": FOUR_FIFTHS, "difference_threshold": DIFFERENCE_THRESHOLD,
        **check_context(report, charts=charts),
    }
    return _environment().get_template("report.html.j2").render(**context)


def render_pdf(report: Report, *, html: str | None = None) -> bytes:
    """Return the report as an A4 PDF (WeasyPrint), with fingerprints in the header and page numbers.

    Parameters
    ----------
    report : Report
        What to render.
    html : str, optional
        Already rendered HTML of ``report`` (saves rendering it twice).
    """
    from weasyprint import HTML

    start = time.perf_counter()
    html = html if html is not None else render_html(report)
    pdf = HTML(string=html, base_url=str(TEMPLATES), url_fetcher=_local_fetcher()).write_pdf()
    log.info("Rendered the PDF report in %.2f s (%d bytes)", time.perf_counter() - start, len(pdf))
    return pdf


@functools.lru_cache(maxsize=1)
def _local_fetcher():
    """WeasyPrint's URL fetcher, allowed only ``data:`` URIs and Glasswing's own template files.

    A report carries user text (names, notes); if any ever reached the HTML as markup, an image or a
    stylesheet in it must not be fetched from the network or read from the disk.
    """
    from weasyprint.urls import URLFetcher

    root = TEMPLATES.resolve()

    class LocalFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith("file:"):
                from urllib.request import url2pathname

                path = Path(url2pathname(url.split("?")[0].split("#")[0].removeprefix("file:"))).resolve()
                if path.is_relative_to(root) and path.is_file():
                    return super().fetch(url, headers)
            log.warning("The report refers to %s; reports load only data: URIs and their templates.",
                        url[:200])
            raise ValueError(f"Reports load no external resources: {url[:200]}")

    return LocalFetcher(allowed_protocols=("data", "file"))


def report_bytes(report: Report, fmt: str) -> bytes:
    """Return the report encoded as ``fmt``: ``"pdf"``, ``"html"`` or ``"json"``.

    Raises
    ------
    ReportError
        For any other format.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt == "pdf":
        return render_pdf(report)
    if fmt == "html":
        return render_html(report).encode("utf-8")
    if fmt == "json":
        return report.to_json().encode("utf-8")
    raise ReportError(UNKNOWN_FORMAT.format(suffix=f".{fmt}"))


def export_report(report: Report, path: str | Path) -> Path:
    """Write ``report`` to ``path``; the suffix (.pdf, .html, .json) chooses the format.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from glasswing import audits
    >>> from glasswing.ingest import samples
    >>> from glasswing.reports import build_report
    >>> data = samples.german_dataset("test")
    >>> report = build_report(data, metrics=audits.audit_dataset(data))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = export_report(report, Path(folder) / "audit.html")
    ...     (written.name, written.read_text().startswith("<!DOCTYPE html>"))
    ('audit.html', True)
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix.lstrip(".") not in FORMATS and suffix != ".htm":
        raise ReportError(UNKNOWN_FORMAT.format(suffix=suffix or path.name))
    data = report_bytes(report, "html" if suffix == ".htm" else suffix)
    try:
        tmp = path.with_name(f".{path.name}.part")
        tmp.write_bytes(data)
        tmp.replace(path)  # never leave a half-written report under the requested name
    except OSError as err:
        raise ReportError(CANNOT_WRITE.format(path=path, reason=err.strerror or err)) from err
    return path

