"""The report states the review band: its rule and the share of each group routed to review."""

from __future__ import annotations

import html

import numpy as np
import pytest

from glasswing import audits, reports
from glasswing.dashboard._decisions import BAND
from tests.conftest import new_apptest
from tests.reports.conftest import make_case


@pytest.fixture(scope="module")
def case():
    return make_case()


def test_html_and_json_state_the_band_and_the_shares_by_hand(case):
    model, data = case
    score = model.predict_proba(data.X)[:, 1]
    band = audits.review_band(data.y_true, score, data.frame["sex"], threshold=0.5, width=0.3)
    report = reports.build_report(data, model, metrics=audits.group_metrics(
        data.y_true, model.predict(data.X), data.frame["sex"]), review_band=band)
    text = html.unescape(reports.report_bytes(report, "html").decode())
    assert "Human-review band" in text
    assert "Scores from 0.35 to 0.65 (threshold 0.5 ± 0.15) go to a person" in text
    in_band = (score >= 0.35) & (score <= 0.65)
    for group in ("female", "male"):
        rows = (data.frame["sex"] == group).to_numpy()
        share = (in_band & rows).sum() / rows.sum()  # counted here
        assert f"<td>{group}</td><td class=\"num\">{rows.sum():,}</td><td class=\"num\">" \
               f"{(in_band & rows).sum():,}</td><td class=\"num\">{share:.3f}</td>" in text
    assert f"{100 * in_band.mean():.1f}% of {len(score):,} rows are routed to a person" in text
    again = reports.Report.from_dict(report.to_dict())
    assert again.review_band["width"] == 0.3 and again.review_band["low"] == pytest.approx(0.35)


def test_report_without_a_band_has_no_band_section(case):
    model, data = case
    report = reports.build_report(data, model, metrics=audits.group_metrics(
        data.y_true, model.predict(data.X), data.frame["sex"]))
    assert report.review_band is None
    assert "Human-review band" not in reports.report_bytes(report, "html").decode()


def test_report_page_offers_the_band_from_the_mitigation_page(case):
    model, data = case
    at = new_apptest("report.py", state={"gw.dataset": data, "gw.model": model})
    assert at.checkbox(key="report.review_band").disabled
    score = model.predict_proba(data.X)[:, 1]
    band = audits.review_band(data.y_true, score, data.frame["sex"], width=0.2)
    summary = reports._build.review_band_section(band)
    at = new_apptest("report.py", state={"gw.dataset": data, "gw.model": model, BAND: summary})
    box = at.checkbox(key="report.review_band")
    assert not box.disabled and box.value is False  # offered, not included unless asked
    at.button(key="report.run").click().run()
    box.check().run()
    assert not at.exception and not at.error
    assert np.isclose(at.session_state[BAND]["width"], 0.2)
