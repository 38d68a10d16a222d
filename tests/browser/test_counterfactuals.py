"""Counterfactuals in headless Chromium: a refused row's changes on Explain: tabular, then the burden."""

from __future__ import annotations

import re

import pytest

from tests.conftest import open_with_samples, wait_idle


@pytest.mark.browser
@pytest.mark.slow
def test_a_refused_row_gets_counterfactuals_and_the_fairness_page_its_burden(page):
    open_with_samples(page, "Explain: tabular")
    page.get_by_role("tab", name="One row").click()
    row = page.get_by_role("spinbutton", name="Row index")
    row.fill("1")  # the sample's row 1 is refused by the gradient-boosting model
    row.press("Enter")
    wait_idle(page)
    page.get_by_role("tab", name="Counterfactuals").click()
    page.get_by_text(re.compile(r"^Row 1 is predicted 0; \d+ counterfactuals?, each re-scored")).wait_for()
    page.get_by_text(re.compile(r"Distance: the sum of each numeric change")).first.wait_for()
    tables = page.locator('[data-testid="stDataFrame"]')
    assert tables.count() >= 1

    page.get_by_role("link", name="Fairness audit").click()
    wait_idle(page)
    rows = page.get_by_role("spinbutton", name=re.compile(r"^Rows to search"))
    rows.fill("40")
    rows.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name=re.compile("Compute the recourse burden")).click()
    wait_idle(page, timeout=300_000)
    page.get_by_text(re.compile(r"refused rows, \d+ with a counterfactual")).wait_for(timeout=300_000)
    page.locator('[data-testid="stPlotlyChart"]').last.wait_for()
