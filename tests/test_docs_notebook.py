"""The notebook in docs/ runs from top to bottom in a real Jupyter kernel (nbclient + ipykernel), so it
cannot rot; its displays carry fairlearn's numbers and ProPublica's published COMPAS error rates, and the
executed notebook, rendered as one HTML page, shows in Chromium with JavaScript off and no request."""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from fairlearn.metrics import MetricFrame, demographic_parity_ratio, selection_rate
from nbclient import NotebookClient

import glasswing
from glasswing._paths import sample_dir
from glasswing.ingest import samples
from tests.reports.test_notebook import assert_self_contained

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "notebooks" / "glasswing-in-a-notebook.ipynb"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    folder = tmp_path_factory.mktemp("notebook")
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
                   ).execute()
    return nb


def outputs(nb, needle: str) -> list:
    """The outputs of the one code cell whose source contains ``needle``."""
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and needle in c.source]
    return cell.outputs


def html_of(nb, needle: str) -> str:
    (out,) = [o for o in outputs(nb, needle) if o.output_type == "execute_result"]
    return out.data["text/html"]


def text_of(nb, needle: str) -> str:
    return "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in outputs(nb, needle))


def test_every_cell_runs_without_an_error_or_a_warning(executed):
    assert [c for c in executed.cells if c.cell_type == "code"]
    for cell in executed.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", (cell.source, out.get("evalue"))
            assert not (out.output_type == "stream" and out.name == "stderr"), (cell.source, out.text)
    for cell in executed.cells:
        for out in cell.get("outputs", []):
            if "text/html" in out.get("data", {}) and out.data["text/html"].startswith('<div class="gw-nb">'):
                assert_self_contained(out.data["text/html"])


def test_the_german_audit_is_fairlearns_on_the_headline_groups(executed):
    data, model = samples.german_dataset("test", predictions=None), samples.german_model("gbm")
    frame = data.frame
    predicted = model.estimator.predict(frame[list(samples.GERMAN_FEATURES)])
    band = np.select([frame["age"] < 25, frame["age"] < 45], ["<25", "25-44"], "45+")
    group = frame["sex"] + "/" + band
    adequate = (group.map(group.value_counts()) >= 30).to_numpy()
    expected = demographic_parity_ratio(frame["risk"][adequate], predicted[adequate],
                                        sensitive_features=group[adequate])
    value = float(re.match(r"\(([0-9.]+),", text_of(executed, "headline().summary")).group(1))
    assert value == pytest.approx(expected, abs=1e-12)
    shown = re.search(r"<td>Demographic parity ratio</td><td class=\"num\">([^<]+)</td>",
                      html_of(executed, "audit = glasswing.audit(data")).group(1)
    assert shown == f"{expected:.3f}"
    mf = MetricFrame(metrics=selection_rate, y_true=frame["risk"], y_pred=predicted,
                     sensitive_features=frame["sex"])
    table = text_of(executed, "arrays = glasswing.audit")
    for sex, rate in mf.by_group.items():
        assert re.search(rf"{sex}\s+\d+\s+{rate:.3f}", table), (sex, rate)


def test_explanations_mitigation_and_report_are_shown(executed):
    assert "shap (TreeExplainer): 20 rows" in html_of(executed, "explanations = glasswing.explain")
    one = html_of(executed, "explanations[0]")
    assert "Base value + attributions = " in one and "TreeExplainer" in one
    mitigation = html_of(executed, "mitigation = glasswing.mitigate")
    assert "Mitigation: Reweighing (demographic parity)" in mitigation and "held-out rows" in mitigation
    report = html_of(executed, "report = glasswing.report")
    data_sha = hashlib.sha256((sample_dir() / "german_test_predictions.csv").read_bytes()).hexdigest()
    model_sha = hashlib.sha256((sample_dir() / "models" / "german_gbm.skops").read_bytes()).hexdigest()
    assert data_sha in report and model_sha in report and "German credit: gradient boosting (v1)" in report
    sizes = re.findall(r"([\d,]+) (?:bytes|characters)", text_of(executed, "report.to_pdf"))
    assert len(sizes) == 3 and all(int(s.replace(",", "")) > 10_000 for s in sizes)


def test_compas_reproduces_propublicas_error_rates(executed):
    """ProPublica (2016): FPR 44.85% / FNR 27.99% (African-American), 23.45% / 47.72% (Caucasian)."""
    table = text_of(executed, 'risk.by_group[["n"')
    assert re.search(r"African-American\s+3696\s+0\.448\s+0\.280", table)
    assert re.search(r"Caucasian\s+2454\s+0\.235\s+0\.477", table)
    shown = html_of(executed, "compas = samples.compas_dataset()")
    assert "Native American: n = 18" in shown and "predicted to reoffend" in shown


def test_bad_input_prints_the_command_lines_sentence(executed):
    with pytest.raises(glasswing.GlasswingError) as err:
        glasswing.audit(samples.compas_dataset(), threshold=5, sensitive_features="ethnicity")
    assert text_of(executed, "ethnicity").strip() == str(err.value)


def render_page(nb) -> str:
    """The executed notebook as one HTML page: Markdown cells as text, code, and each output (HTML first)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    parts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(f"<section class='md'>{md.render(cell.source)}</section>")
            continue
        parts.append(f"<pre class='in'>{html.escape(cell.source)}</pre>")
        for out in cell.outputs:
            data = out.get("data", {})
            if "text/html" in data:
                parts.append(f"<div class='out'>{data['text/html']}</div>")
            else:
                text = out.get("text") or data.get("text/plain", "")
                parts.append(f"<pre class='out'>{html.escape(text)}</pre>")
    style = ("body{font-family:sans-serif;max-width:1000px;margin:20px auto} "
             "pre.in{background:#f5f5f5;padding:6px} .out{margin:6px 0 18px}")
    return f"<!DOCTYPE html><html><head><style>{style}</style></head><body>{''.join(parts)}</body></html>"


@pytest.mark.browser
def test_the_executed_notebook_renders_in_chromium_without_javascript_or_network(executed, browser, tmp_path):
    page_html = render_page(executed)
    (tmp_path / "notebook.html").write_text(page_html, encoding="utf-8")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    requests = []
    page.on("request", lambda r: None if r.url.startswith(("data:", "file:")) else requests.append(r.url))
    page.goto((tmp_path / "notebook.html").as_uri())
    images = page.locator(".gw-nb img")
    assert images.count() >= 10
    broken = [i for i in range(images.count())
              if not images.nth(i).evaluate("img => img.complete && img.naturalWidth > 100")]
    assert broken == []
    assert page.locator(".gw-nb").count() == 6  # audit, batch, one explanation, mitigation, report, COMPAS
    context.close()
    assert requests == []
