"""The Report and Review pages in a real browser: load the samples, run the audit, click Export, get a PDF."""

from __future__ import annotations

import pytest

from tests.conftest import open_with_samples, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _use_the_samples(page) -> None:
    open_with_samples(page)


def _open(page, title: str) -> None:
    page.get_by_role("link", name=title, exact=True).first.click()
    wait_idle(page)
    page.get_by_role("heading", name=title).first.wait_for()


def test_export_pdf_and_review_the_saved_run(page):
    _use_the_samples(page)
    _open(page, "Report")
    # Before the audit: exporting is refused in one sentence.
    page.get_by_text("There is no audit to report yet", exact=False).wait_for()
    assert page.get_by_role("button", name="Export PDF").is_disabled()

    page.get_by_role("button", name="Run the audit").click()
    wait_idle(page)
    page.get_by_text("Audited by", exact=False).wait_for()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export PDF").click()
    pdf = download.value
    assert pdf.suggested_filename.endswith(".pdf")
    with open(pdf.path(), "rb") as f:
        assert f.read(5) == b"%PDF-"

    page.get_by_role("button", name="Save to audit history").click()
    wait_idle(page)
    page.get_by_text("Saved as run 1", exact=False).wait_for()

    _open(page, "Review")
    wait_idle(page)
    # The saved run opens read-only: its title, fingerprints and verdict (tables are canvas grids).
    page.get_by_role("heading", name="Fairness audit of german_gbm.skops").first.wait_for()
    shown = page.locator("[data-testid='stMain']").inner_text()
    assert "The four-fifths rule is met" in shown and "sex=female" in shown
    assert page.locator("[data-testid='stException']").count() == 0
    assert "Traceback" not in page.content()


def test_sign_off_outlives_another_page_and_the_checked_sections_are_exported(page):
    _use_the_samples(page)
    _open(page, "Report")
    for label, value in (("Model version label", "v2"), ("Reviewer", "Ada Lovelace"), ("Role", "Model risk")):
        field = page.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Enter")
        wait_idle(page)
    _open(page, "Fairness audit")
    _open(page, "Report")
    for label, value in (("Model version label", "v2"), ("Reviewer", "Ada Lovelace"), ("Role", "Model risk")):
        assert page.get_by_label(label, exact=True).input_value() == value, label
    page.get_by_role("button", name="Run the audit").click()
    wait_idle(page)
    page.get_by_text("Audited by", exact=False).wait_for()
    for text in ("Include the fairness check", "Include the confusion matrix of every group"):
        page.get_by_text(text, exact=False).click()
        wait_idle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export HTML").click()
    with open(download.value.path(), encoding="utf-8") as f:
        html = f.read()
    assert "Fairness check: ratios to male" in html and "Confusion matrix by group" in html
    assert "Ada Lovelace" in html and "Model risk" in html and "<strong>v2</strong>" in html
    assert page.locator("[data-testid='stException']").count() == 0
