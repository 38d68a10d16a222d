"""Reports: the PDF and HTML carry the audit's fingerprints, groups and numbers (checked with fairlearn)."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest

from glasswing import reports
from glasswing.explainers import Explanation
from glasswing.explainers._rows import ROW_OUT_OF_RANGE
from glasswing.reports import Report, ReportError, build_report, render_html, render_pdf
from glasswing.reports._build import NO_AUDIT, explanation_figure, heatmap_png
from glasswing.reports._model import NOT_A_REPORT
from glasswing.reports._render import CANNOT_WRITE, TEMPLATES, UNKNOWN_FORMAT, rates_chart


@pytest.fixture(scope="module")
def report(audited) -> Report:
    model, data, gm, _ = audited
    return build_report(data, model, metrics=gm, title="Credit model audit", version_label="v1",
                        notes="Reviewed in the May meeting.\n<script>alert(1)</script>",
                        sign_off={"reviewer": "Ada Lovelace", "role": "Model risk", "decision": "Approved"})


@pytest.fixture(scope="module")
def pdf(report) -> bytes:
    return render_pdf(report)


@pytest.fixture(scope="module")
def pdf_text(pdf) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_pdf_is_valid_a4_with_page_numbers(pdf, pdf_text):
    from pypdf import PdfReader

    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    pages = len(reader.pages)
    assert pages >= 2
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (210, 297)  # A4, mm
    assert f"Page 1 of {pages}" in pdf_text and f"Page {pages} of {pages}" in pdf_text


def test_pdf_text_has_fingerprints_groups_and_fairlearn_numbers(report, pdf_text, audited):
    model, data, _, mf = audited
    flat = re.sub(r"\s+", "", pdf_text)
    # Fingerprints: the 12-digit prefixes in every page header, the full digests on page 1.
    assert pdf_text.count(model.sha256[:12]) >= 2 and pdf_text.count(data.sha256[:12]) >= 2
    assert model.sha256 in flat and data.sha256 in flat
    assert "credit_logreg.skops" in pdf_text and "credit.csv" in pdf_text and "400 rows" in pdf_text
    # Group names and their rates, computed independently by fairlearn's MetricFrame.
    for group in ("female", "male"):
        assert group in pdf_text
        for metric in ("selection_rate", "true_positive_rate", "false_positive_rate"):
            assert f"{mf.by_group.loc[group, metric]:.3f}" in pdf_text, (group, metric)
    dp = mf.difference()["selection_rate"]
    ratio = mf.ratio()["selection_rate"]
    assert f"{dp:.3f}" in pdf_text and f"{ratio:.3f}" in pdf_text
    from fairlearn.metrics import equalized_odds_difference

    eod = equalized_odds_difference(data.y_true, model.predict(data.X), sensitive_features=data.frame["sex"])
    assert f"{eod:.3f}" in pdf_text
    # Review fields.
    assert "Ada Lovelace" in pdf_text and "Reviewed in the May meeting." in pdf_text
    from glasswing import __version__

    assert f"Glasswing {__version__}" in pdf_text


def test_pdf_page_one_is_not_blank(pdf):
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[0].render(scale=0.5).to_pil().convert("L")
    finally:
        doc.close()
    pixels = np.asarray(image, dtype=float)
    inked = (pixels < 200).mean()
    assert 0.01 < inked < 0.5, inked  # text and tables, not an empty or a black page
    assert pixels[: pixels.shape[0] // 3].std() > 20  # the top third (title, fingerprints) has contrast


def test_html_is_self_contained_escaped_and_projector_sized(report):
    html = render_html(report)
    assert html.startswith("<!DOCTYPE html>")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html  # no JavaScript at all
    assert not re.search(r"""(src|href)=["']https?://""", html)  # nothing fetched from the network
    assert "size: A4" in html and "counter(pages)" in html
    assert re.search(r"@media screen \{\s*html \{ font-size: 22px", html)  # large type on a projector
    assert report.model.sha256 in html and report.dataset.sha256 in html


def test_verdicts_read_without_colour(report):
    html = render_html(report)
    assert "✔ PASS" in html or "✖ FAIL" in html
    # Pass and fail backgrounds differ in lightness, so they survive a grayscale printer.
    css = (TEMPLATES / "report.css").read_text()
    colours = dict(re.findall(r"--(pass-bg|fail-bg): (#[0-9a-f]{6})", css))

    def luminance(hex_colour: str) -> float:
        r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert luminance(colours["pass-bg"]) - luminance(colours["fail-bg"]) > 0.6


def test_hand_computed_verdicts(case):
    _, data = case
    audit = {"by_group": [{"group": {"sex": "F"}, "n": 40, "selection_rate": 0.3},
                          {"group": {"sex": "M"}, "n": 60, "selection_rate": 0.4}],
             "summary": {"demographic_parity_difference": 0.1, "demographic_parity_ratio": 0.75,
                         "equalized_odds_difference": 0.25, "equalized_odds_ratio": None,
                         "four_fifths_rule_passed": False},
             "disparities": [{"name": "demographic_parity_difference", "low": -0.05, "high": 0.2,
                              "distinguishable": False}]}
    found = {d.name: d for d in build_report(data, metrics=audit).disparities()}
    assert set(found) == {"demographic_parity_difference", "demographic_parity_ratio",
                          "equalized_odds_difference", "equalized_odds_ratio"}
    dpd = found["demographic_parity_difference"]
    assert (dpd.status, dpd.verdict, dpd.interval, dpd.note) == ("pass", "Within 0.1", (-0.05, 0.2),
                                                                 "not distinguishable from zero")
    assert (found["demographic_parity_ratio"].status, found["demographic_parity_ratio"].verdict) == \
        ("fail", "Fails the four-fifths rule")  # 0.3 / 0.4 = 0.75 < 0.8
    assert found["equalized_odds_difference"].verdict == "Exceeds 0.1"
    assert found["equalized_odds_ratio"].status == "na"


def test_json_round_trip(report):
    data = json.loads(reports.report_bytes(report, "json"))
    assert Report.from_dict(data) == report
    assert data["model"]["sha256"] == report.model.sha256 and data["audit"]["by_group"][0]["group"] == {
        "sex": "female"}


def test_no_audit_is_one_sentence(case):
    model, data = case
    for metrics in (None, {}, {"by_group": []}):
        with pytest.raises(ReportError) as err:
            build_report(data, model, metrics=metrics)
        assert str(err.value) == NO_AUDIT


def test_not_a_report():
    with pytest.raises(ReportError) as err:
        Report.from_dict({"title": "x", "audit": {}})
    assert str(err.value) == NOT_A_REPORT.format(key="dataset")


def test_export_formats_and_bad_paths(report, tmp_path):
    for suffix in (".pdf", ".html", ".json"):
        path = reports.export_report(report, tmp_path / f"audit{suffix}")
        assert path.stat().st_size > 1000
    assert (tmp_path / "audit.pdf").read_bytes().startswith(b"%PDF-")
    assert not list(tmp_path.glob(".*.part"))
    with pytest.raises(ReportError) as err:
        reports.export_report(report, tmp_path / "audit.docx")
    assert str(err.value) == UNKNOWN_FORMAT.format(suffix=".docx")
    missing = tmp_path / "no such folder" / "audit.html"
    with pytest.raises(ReportError) as err:
        reports.export_report(report, missing)
    assert str(err.value) == CANNOT_WRITE.format(path=missing, reason="No such file or directory")


def test_rates_chart_draws_the_report_numbers(report):
    uri = rates_chart(report)
    svg = base64.b64decode(uri.split(",", 1)[1]).decode()
    for g in report.groups():
        assert g["label"] in svg
        assert f"{g['values']['selection_rate']:.2f}" in svg
    assert "overall selection rate" in svg


# --------------------------------------------------------------------------------------------- explanations
def test_tabular_explanation_keeps_the_largest_attributions_first():
    e = Explanation(method="shap", algorithm="LinearExplainer", target=1,
                    values=np.array([0.1, -0.7, 0.3, 0.0]), feature_names=("a", "b", "c", "d"),
                    data=np.array([1.0, 2.5, "x", 0], dtype=object), base_value=0.2, prediction=0.9)
    fig = explanation_figure(e, top=3)
    assert fig.features == [["b", 2.5, -0.7], ["c", "x", 0.3], ["a", 1.0, 0.1]]
    assert (fig.target, fig.prediction, fig.base_value, fig.image_png) == ("1", 0.9, 0.2, None)


def test_image_explanation_is_a_heatmap_png_where_the_map_is_hot():
    from PIL import Image

    image = np.zeros((64, 64, 3), dtype=np.uint8)
    values = np.zeros((64, 64))
    values[40:60, 4:20] = 1.0  # the hot region: bottom left
    png = heatmap_png(image, values)
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB"), dtype=int)
    assert decoded.shape == (320, 320, 3)
    red_minus_blue = decoded[..., 0] - decoded[..., 2]
    hot = np.unravel_index(np.argmax(red_minus_blue), red_minus_blue.shape)
    assert 200 <= hot[0] < 300 and 20 <= hot[1] < 100  # the reddest pixel lies in the hot region (x5)


def test_report_with_explanations_and_mitigation_renders(case, audited, tmp_path):
    from glasswing import audits

    model, data, gm, _ = audited
    flipped = np.where(data.frame["sex"] == "female", 1, model.predict(data.X))  # approve every woman
    after = audits.group_metrics(data.y_true, flipped, sensitive_features=data.frame["sex"])
    mitigation = {"label": "Hand-made post-processing", "method": "manual", "accuracy_before": 0.80,
                  "accuracy_after": 0.75, "before": gm.to_dict(), "after": after.to_dict()}
    shap_like = Explanation(method="shap", algorithm="LinearExplainer", target=1,
                            values=np.array([0.5, -0.2]), feature_names=("income", "age"),
                            data=np.array([61.2, 33]))
    rep = build_report(data, model, metrics=gm, mitigation=mitigation, explanations=[shap_like])
    html = render_html(rep)
    before_dp = gm.summary()["demographic_parity_difference"]
    after_dp = after.summary()["demographic_parity_difference"]
    expected = "▲ improved" if abs(after_dp) < abs(before_dp) else "▼ worse"
    section = html[html.index('<section class="mitigation">'):]
    row = re.search(r"Demographic parity difference</td>.*?</tr>", section, re.S).group(0)
    assert f"{before_dp:.3f}" in row and f"{after_dp:.3f}" in row and expected in row
    acc_row = re.search(r"<td>Accuracy</td>.*?</tr>", section, re.S).group(0)
    assert "0.800" in acc_row and "0.750" in acc_row and "▼ worse" in acc_row
    assert "income = 61.2" in base64.b64decode(
        re.search(r'data:image/svg\+xml;base64,([^"]+)" alt="shap', html).group(1)).decode()
    assert render_pdf(rep, html=html).startswith(b"%PDF-")


def test_image_heatmaps_from_the_registry(case, audited):
    import torch

    from glasswing.ingest import ImagePreprocess, ImageSet, Model

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 2))
    image_model = Model.from_torch(net, preprocess=ImagePreprocess(size=(16, 16)), name="tiny_cnn",
                                   sha256="c" * 64)
    rng = np.random.default_rng(0)
    images = ImageSet(images=[rng.integers(0, 255, (24, 24, 3), dtype=np.uint8) for _ in range(3)],
                      names=["a.png", "b.png", "c.png"], name="imgs", sha256="e" * 64)
    figures = reports.report_explanations(image_model, images, method="gradcam", rows=[2])
    assert len(figures) == 1 and figures[0].title.startswith("Grad-CAM, image c.png")
    assert figures[0].image_png and not figures[0].features
    _, data, gm, _ = audited
    html = render_html(build_report(data, metrics=gm, explanations=figures))
    assert f"data:image/png;base64,{figures[0].image_png}" in html
    with pytest.raises(ReportError) as err:
        reports.report_explanations(image_model, images, method="gradcam", rows=[3])
    assert str(err.value) == ROW_OUT_OF_RANGE.format(row=3, n=3, last=2)


def test_the_pdf_and_html_state_the_decision_rule_with_hand_counted_confusion():
    """COMPAS at ProPublica's threshold: the rule, its source, 'selected' words and TP/FP/FN/TN by hand."""
    from pypdf import PdfReader

    import glasswing
    from glasswing.ingest import samples as _samples

    data = _samples.compas_dataset()
    report = glasswing.report(data, threshold=5, sensitive_features="race", selected=_samples.COMPAS_SELECTED)
    frame = data.frame
    pred, y = (frame["decile_score"] >= 5).astype(int), frame["two_year_recid"].astype(int)
    html = " ".join(report_html_text(report).split())
    pages = PdfReader(io.BytesIO(render_pdf(report))).pages
    pdf = " ".join(" ".join(p.extract_text() for p in pages).split())
    for text in (html, pdf):
        section = text.split("Decision rule audited", 1)[1].split("Findings at a glance", 1)[0]
        assert "threshold 5" in section and "decile_score" in section
        assert _samples.COMPAS_SELECTED in section
        for race in ("African-American", "Caucasian"):
            rows = frame["race"] == race
            tp = int(((pred == 1) & (y == 1) & rows).sum())
            fp = int(((pred == 1) & (y == 0) & rows).sum())
            fn = int(((pred == 0) & (y == 1) & rows).sum())
            tn = int(((pred == 0) & (y == 0) & rows).sum())
            cells = " ".join(f"{v:,}" for v in (tp, fp, fn, tn, int(rows.sum())))
            assert f"{race} {cells}" in section, (race, cells, section[:600])


def report_html_text(report) -> str:
    """The HTML report's visible text (tags dropped, entities decoded)."""
    import html as html_lib

    body = re.sub(r"<style>.*?</style>", "", render_html(report, charts=False), flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", body))
