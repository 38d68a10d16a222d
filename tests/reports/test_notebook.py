"""Notebook displays (``_repr_html_``): the report's numbers and words, self-contained and escaped.

Numbers are checked against ProPublica's published COMPAS error rates, fairlearn, hashlib and numpy; the
fragments are attacked with hostile group, column and feature names; a real Chromium with JavaScript off
shows every chart without a single request.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import glasswing
from glasswing._paths import sample_dir
from glasswing.explainers import Explanation, Explanations
from glasswing.ingest import samples
from glasswing.reports._render import TEMPLATES

HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture(scope="module")
def compas():
    return glasswing.audit(samples.compas_dataset(), threshold=5, sensitive_features="race",
                           selected=samples.COMPAS_SELECTED)


@pytest.fixture(scope="module")
def german():
    model, data = samples.german_model("gbm"), samples.german_dataset("test")
    explanations = glasswing.explain(model, data, rows="0:4", method="shap")
    mitigation = glasswing.mitigate(samples.german_model("logreg"), train=samples.german_dataset("train"),
                                    test=data, method="reweighing")
    report = glasswing.report(data, model, explanations=explanations[:1], mitigation=mitigation,
                              title="German credit", notes="Seen in <b>review</b>")
    return {"model": model, "data": data, "explanations": explanations, "mitigation": mitigation,
            "report": report, "audit": glasswing.audit(data)}


def _displays(german, compas) -> dict[str, str]:
    return {"audit": compas._repr_html_(), "report": german["report"]._repr_html_(),
            "mitigation": german["mitigation"]._repr_html_(), "batch": german["explanations"]._repr_html_(),
            "explanation": german["explanations"][0]._repr_html_()}


class _Tags(HTMLParser):
    """Every tag with its attributes, and the text of <style> elements, as a browser would parse them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.styles, self._in_style = [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def assert_self_contained(html: str) -> None:
    """No script, event handler, frame or object, nothing fetched: every image is a data: URI."""
    parsed = _Tags()
    parsed.feed(html)
    names = {tag for tag, _ in parsed.tags}
    assert not names & {"script", "iframe", "object", "embed", "link", "base", "frame", "meta", "form"}, names
    for tag, attrs in parsed.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert "href" not in attrs and "srcset" not in attrs and "style" not in attrs, (tag, attrs)
        if tag == "img":
            assert attrs["src"].startswith(("data:image/svg+xml;base64,", "data:image/png;base64,")), tag
            if attrs["src"].startswith("data:image/svg+xml"):  # the SVG charts reference nothing outside
                svg = base64.b64decode(attrs["src"].split(",", 1)[1]).decode("utf-8")
                assert "<script" not in svg and not re.search(r"href=\"(?!#)", svg)
    assert "img" in names
    for css in parsed.styles:
        assert "@import" not in css and "url(" not in css and "expression(" not in css


def test_every_display_is_self_contained(german, compas):
    for name, html in _displays(german, compas).items():
        assert html.startswith('<div class="gw-nb">'), name
        assert_self_contained(html)


def test_the_css_touches_nothing_outside_the_display():
    css = (TEMPLATES / "notebook.css").read_text(encoding="utf-8")
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    selectors = [s.strip() for block in re.findall(r"([^{}]+)\{", css) for s in block.split(",")]
    assert selectors and all(s.startswith(".gw-nb") for s in selectors), selectors


def test_audit_display_shows_propublicas_error_rates_and_the_group_left_out(compas):
    """ProPublica (2016): FPR 44.85% for African-American and 23.45% for Caucasian defendants."""
    html = compas._repr_html_()
    row = re.search(r"<strong>African-American</strong>.*?</tr>", html, re.S).group(0)
    cells = re.findall(r'<td class="num">([^<]+)', row)
    header = re.search(r"<thead><tr><th>Group</th>(.*?)</tr></thead>", html.split("Metrics by group")[-1],
                       re.S).group(1)
    names = ["n", *re.findall(r'<th class="num">([^<]+)</th>', header)[1:]]
    values = dict(zip(names, cells, strict=False))
    assert values["n"] == "3,696" and values["FPR"] == "0.448"
    caucasian = re.search(r"<strong>Caucasian</strong>.*?</tr>", html, re.S).group(0)
    assert dict(zip(names, re.findall(r'<td class="num">([^<]+)', caucasian), strict=False))["FPR"] == "0.235"
    assert "Native American: n = 18" in html  # listed beside the headline, never dropped
    assert "decile_score &gt;= 5 is predicted 1" in html and "predicted to reoffend" in html
    assert "✖ FAIL" in html and "Fails the four-fifths rule" in html


def test_audit_display_numbers_equal_fairlearns(german):
    from fairlearn.metrics import demographic_parity_ratio

    data = german["data"]
    html = german["audit"]._repr_html_()
    expected = demographic_parity_ratio(data.frame["risk"], data.frame["gbm_pred"],
                                        sensitive_features=data.frame["sex"])
    row = re.search(r"<td>Demographic parity ratio</td><td class=\"num\">([^<]+)</td>", html).group(1)
    assert row == f"{expected:.3f}"


def test_hostile_names_are_escaped():
    n = 80
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({HOSTILE: rng.choice(["<script>alert(2)</script>", "B & C"], n),
                          "y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n)})
    gm = glasswing.audit(frame, y_true="y", y_pred="p", sensitive_features=HOSTILE,
                         selected="<b>approved</b>")
    html = gm._repr_html_()
    assert_self_contained(html)
    assert HOSTILE not in html and "<script>alert(2)" not in html and "<b>approved</b>" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html and "B &amp; C" in html
    e = Explanation("shap", "LinearExplainer", "<i>yes</i>", np.array([0.4, -0.1]), (HOSTILE, "age"),
                    data=np.array(["<u>x</u>", 3.0], dtype=object))
    for shown in (e._repr_html_(), Explanations([e, e])._repr_html_()):
        assert_self_contained(shown)
        assert HOSTILE not in shown and "<u>x</u>" not in shown and "<i>yes</i>" not in shown


def test_one_explanation_shows_its_top_features_and_additivity(german):
    e = german["explanations"][0]
    html = e._repr_html_()
    order = np.argsort(-np.abs(e.values))
    shown = re.findall(r"<tr><td>([^<]+)</td><td>[^<]*</td><td class=\"num\">([^<]+)</td></tr>", html)
    assert [name for name, _ in shown] == [e.feature_names[i] for i in order]
    assert [float(v) for _, v in shown] == pytest.approx([e.values[i] for i in order], abs=5e-5)
    total = e.base_value + e.values.sum()
    assert f"Base value + attributions = {total:.4f}; model output {e.prediction:.4f}." in html


def test_a_batch_shows_mean_absolute_attributions_in_order(german):
    batch = german["explanations"]
    html = batch._repr_html_()
    values = np.array([e.values for e in batch])
    order = np.argsort(-np.abs(values).mean(axis=0), kind="stable")[:8]
    header = re.search(r"<th>Class</th>(.*?)<th class=\"num\">Base value", html, re.S).group(1)
    assert re.findall(r">([^<]+)</th>", header) == [batch[0].feature_names[i] for i in order]
    assert html.count("<tr><td class=\"num\">") == len(batch)


def test_images_show_as_heatmaps_of_the_input():
    from PIL import Image

    model = samples.digits_model()
    images = glasswing.load_images(sample_dir() / "images")
    batch = glasswing.explain(model, images, rows="0:3", method="gradcam")
    html = batch._repr_html_()
    assert_self_contained(html)
    pngs = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    assert len(pngs) == 3 and "input 2: class" in html
    picture = Image.open(io.BytesIO(base64.b64decode(pngs[0])))
    assert picture.size == (320, 320)  # the report's heatmap: the 128 x 128 input scaled to 320
    single = batch[0]._repr_html_()
    assert "data:image/png;base64," in single and "class " in single


def test_mitigation_display_has_before_and_after(german):
    result = german["mitigation"]
    html = result._repr_html_()
    before, after = result.disparity("demographic_parity_difference")
    row = re.search(r"<td>Demographic parity difference</td><td class=\"num\">([^<]+)</td>"
                    r"<td class=\"num\">([^<]+)</td>", html)
    assert row.groups() == (f"{before:.3f}", f"{after:.3f}")
    assert "▲ improved" in html and "held-out rows" in html
    assert f"{result.accuracy_before:.3f}" in html and f"{result.accuracy_after:.3f}" in html


def test_report_display_has_the_fingerprints_notes_and_every_section(german):
    html = german["report"]._repr_html_()
    data_sha = hashlib.sha256((sample_dir() / "german_test_predictions.csv").read_bytes()).hexdigest()
    model_sha = hashlib.sha256((sample_dir() / "models" / "german_gbm.skops").read_bytes()).hexdigest()
    assert data_sha in html and model_sha in html
    assert "Seen in &lt;b&gt;review&lt;/b&gt;" in html
    for heading in ("What was audited", "Decision rule audited", "Headline", "Metrics by group",
                    "Explanations", "Mitigation tried: Reweighing", "Review"):
        assert f">{heading}" in html, heading


@pytest.mark.browser
def test_chromium_shows_every_chart_with_javascript_off_and_no_request(german, compas, browser):
    """The displays as a notebook shows them: every image decodes, nothing is fetched, nothing runs."""
    assert shutil.which("chromium")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    requests = []
    page.on("request", lambda r: None if r.url.startswith(("data:", "about:")) else requests.append(r.url))
    for name, html in _displays(german, compas).items():
        page.set_content(f"<!DOCTYPE html><html><body>{html}</body></html>")
        images = page.locator(".gw-nb img")
        assert images.count() >= 1, name
        for i in range(images.count()):
            ok = images.nth(i).evaluate("img => img.complete && img.naturalWidth > 100")
            assert ok, (name, i)
        width = page.locator(".gw-nb").evaluate("d => d.getBoundingClientRect().width")
        assert 300 < width <= 960, (name, width)
    context.close()
    assert requests == []


def _text(html: str) -> str:
    """The display's visible text, whitespace collapsed (tags dropped, entities decoded)."""
    import html as html_lib

    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", html,
                                                                     flags=re.S))).split())


def test_report_display_draws_the_optional_sections_with_independent_numbers():
    """Fairness check, confusion matrices, a second model and the error analysis, as the PDF has them."""
    from fairlearn.metrics import MetricFrame, selection_rate
    from sklearn.metrics import confusion_matrix

    data, a, b = samples.german_dataset("test"), samples.german_model("gbm"), samples.german_model("logreg")
    report = glasswing.report(data, a, fairness_check=True, confusion_matrices=True, compare_model=b,
                              compare_resamples=50, errors=True, title="German credit")
    html = report._repr_html_()
    assert_self_contained(html)
    text = _text(html)
    for heading in ("Fairness check: ratios to male", "Confusion matrix by group",
                    "Compared with a second model", "Where the model fails: error analysis"):
        assert heading in text, heading
    y, pred, sex = data.y_true.to_numpy(), a.predict(data.X), data.frame["sex"].to_numpy()
    rates = MetricFrame(metrics=selection_rate, y_true=y, y_pred=pred, sensitive_features=sex).by_group
    assert f"{rates['female'] / rates['male']:.3f}" in text
    for group in ("female", "male"):
        rows = sex == group
        (tn, fp), (fn, tp) = confusion_matrix(y[rows], pred[rows], labels=[0, 1])
        for cell, count in (("TP", tp), ("FN", fn), ("FP", fp), ("TN", tn)):
            assert f"{cell} {count} (" in text, (group, cell)
    errors = int((pred != y).sum())
    assert f"{errors:,} errors in {len(y):,} rows" in text
    # Each chart of the new sections is an inline image: the check, the comparison and the cohorts.
    assert html.count('<figure class="chart"><img src="data:') >= 3
