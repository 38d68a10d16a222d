"""The report's error-analysis section: the planted cohort with hand counts in the HTML, JSON round trip."""

from __future__ import annotations

import json

from glasswing import audits, reports
from glasswing.cli import main
from tests.dashboard.test_errors import TOP, planted_dataset


def _report(errors=True):
    data = planted_dataset()
    gm = audits.audit_dataset(data)
    analysis = audits.error_analysis_dataset(data) if errors else None
    report = reports.build_report(data, metrics=gm, errors=analysis, created_at="2026-01-01T00:00:00+00:00")
    return data, report


def test_the_section_lists_the_planted_cohort_with_hand_counts():
    data, report = _report()
    frame = data.frame
    hand = (frame["age"] > 60) & (frame["region"] == "north")
    wrong = frame["y"] != frame["pred"]
    top = report.errors["cohorts"][0]
    assert (top["rule"], top["n"], top["errors"]) == (TOP, int(hand.sum()), int(wrong[hand].sum()))
    html = reports.render_html(report)
    section = html[html.index('<section class="errors">'):]
    section = section[:section.index("</section>")]
    assert "Where the model fails: error analysis" in section
    assert f"<td>{TOP.replace('>', '&gt;')}</td><td class=\"num\">{hand.sum():,}</td>" in section
    assert f"{int(wrong.sum()):,} errors in {len(frame):,} rows" in section
    assert 'alt="Error rate by cohort"' in section  # the chart


def test_the_section_survives_json_and_is_absent_unless_asked():
    _, report = _report()
    again = reports.Report.from_dict(json.loads(report.to_json()))
    assert again.errors == report.errors
    assert reports.render_html(again) == reports.render_html(report)
    _, plain = _report(errors=False)
    assert plain.errors is None and '<section class="errors">' not in reports.render_html(plain)


def test_glasswing_report_errors_flag(tmp_path):
    data = planted_dataset()
    path = tmp_path / "planted.csv"
    data.frame.to_csv(path, index=False)
    out = tmp_path / "report.json"
    code = main(["report", "--data", str(path), "--prediction", "pred", "--target", "y", "--sensitive", "sex",
                 "--errors", "--out", str(out)])
    assert code == 0
    payload = json.loads(out.read_text())
    assert payload["errors"]["cohorts"][0]["rule"] == TOP
    assert payload["errors"]["source"] == "logged predictions (column pred)"
