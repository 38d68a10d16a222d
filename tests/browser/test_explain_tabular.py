"""Explain: tabular in headless Chromium: load the samples, see global and local views, bad input."""

from __future__ import annotations

import re

import pytest

from tests.conftest import open_with_samples, wait_idle

SELECTBOX = '[data-testid="stSelectbox"]'


def open_page_with_samples(page) -> None:
    open_with_samples(page, "Explain: tabular")


@pytest.mark.browser
@pytest.mark.slow
def test_global_and_local_views_and_bad_input(page):
    open_page_with_samples(page)
    page.get_by_text(re.compile(r"SHAP uses TreeExplainer")).wait_for()
    page.get_by_text(re.compile(r"Global views rest on [\d,]+ of [\d,]+ rows")).wait_for()
    charts = page.locator('[data-testid="stPlotlyChart"]')
    charts.nth(2).wait_for()  # mean |SHAP|, permutation importance, beeswarm, dependence

    page.get_by_role("tab", name="One row").click()
    page.get_by_text(re.compile(r"^SHAP and LIME (agree|share|disagree)")).wait_for()
    row = page.get_by_role("spinbutton", name="Row index")
    row.fill("5000")
    row.press("Enter")
    wait_idle(page)
    out_of_range = re.compile(r"^Row 5000 is out of range; the data has [\d,]+ rows \(0 to [\d,]+\)\.$")
    page.get_by_text(out_of_range).wait_for()
    page.get_by_text(re.compile(r"SHAP uses TreeExplainer")).wait_for()  # the rest of the page is intact

    row.fill("3")
    row.press("Enter")
    wait_idle(page)
    page.get_by_text(re.compile(r"^SHAP and LIME (agree|share|disagree)")).wait_for()

    page.get_by_role("tab", name="What-if").click()
    housing = page.locator(SELECTBOX).filter(has_text="housing")
    housing.click()
    page.keyboard.type("castle")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Update").click()
    wait_idle(page)
    page.get_by_text("'castle' is not a value of housing seen in training; known values: free, own, "
                     "rent.").wait_for()
    page.get_by_role("tab", name="One row").click()
    page.get_by_text(re.compile(r"^Row \d+: the model predicts")).wait_for()  # nothing lost
