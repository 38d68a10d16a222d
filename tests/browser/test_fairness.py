"""Fairness audit in headless Chromium: load the samples, read the verdict, change groups and threshold."""

from __future__ import annotations

import re

import pytest

from tests.conftest import open_with_samples, wait_idle

VERDICT = re.compile(r"^The four-fifths rule (is met|is not met|cannot be applied)")
SUMMARY = re.compile(r"^[\d,]+ rows in \d+ groups; each rate with its 95% Wilson interval")


def open_page_with_samples(page) -> None:
    open_with_samples(page, "Fairness audit")


@pytest.mark.browser
@pytest.mark.slow
def test_audit_the_samples_change_groups_and_threshold(page):
    open_page_with_samples(page)
    page.get_by_text(VERDICT).wait_for()
    page.get_by_text(SUMMARY).wait_for()
    page.locator('[data-testid="stPlotlyChart"]').nth(2).wait_for()  # bars, four-fifths, disparities
    page.get_by_text("Disparities", exact=True).wait_for()

    # No sensitive feature: one sentence, and the settings come back when one is chosen again.
    sensitive = page.get_by_role("combobox", name="Sensitive features")
    chosen = page.locator('[data-testid="stMultiSelect"]').first.locator("[data-tag]").first.get_attribute(
        "aria-label")
    page.get_by_role("button", name=f"Remove {chosen}").first.click()
    wait_idle(page)
    page.get_by_text("Choose at least one sensitive feature.").wait_for()
    sensitive.click()
    page.keyboard.type(chosen)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    wait_idle(page)
    page.get_by_text(VERDICT).wait_for()

    # Predictions from scores at a threshold: the slider moves the audit and the threshold chart.
    predictions = page.locator('[data-testid="stSelectbox"]').filter(has_text="Predictions")
    predictions.click()
    option = page.get_by_role("option", name=re.compile("at a threshold$")).first
    option.click()
    wait_idle(page)
    page.get_by_text("Threshold", exact=True).wait_for()
    slider = page.get_by_role("slider")
    slider.focus()
    for _ in range(5):
        slider.press("ArrowRight")
    wait_idle(page)
    page.get_by_text(VERDICT).wait_for()
    page.get_by_text(re.compile(r"as the threshold moves \(now 0\.55\)")).wait_for()
    assert page.get_by_text(re.compile("^Something went wrong")).count() == 0


@pytest.mark.browser
@pytest.mark.slow
def test_compas_headline_rests_on_adequate_groups(page, tmp_path):
    page.get_by_text("COMPAS risk scores (ProPublica)").click()
    wait_idle(page)
    page.get_by_role("button", name="Use the samples").click()
    page.get_by_role("heading", name="Data", exact=True).wait_for()
    wait_idle(page)
    page.get_by_role("link", name="Fairness audit").click()
    wait_idle(page)
    page.get_by_text("race alone", exact=True).click()
    wait_idle(page)
    headline = page.get_by_text(re.compile(r"^The four-fifths rule is not met: race=Other is selected "
                                           r"at 21\.0%"))
    headline.wait_for()
    text = headline.inner_text()
    assert "the rate of race=African-American (the highest selection rate, 58.8%)" in text
    assert "Left out as too small to conclude from (fewer than 30 rows): Native American (n = 18)." in text
    page.get_by_text("Left out of the headline").wait_for()
    page.get_by_text("Decision rule audited").wait_for()
    page.get_by_text(re.compile(r"decile_score (>=|≥) 5 is predicted 1")).first.wait_for()
    page.get_by_text("Include small groups in the headline").click()
    wait_idle(page)
    page.get_by_text(re.compile(r"the rate of race=Native American \(the highest selection rate")).wait_for()
    page.screenshot(path=str(tmp_path / "fairness_compas.png"), full_page=True)
    assert page.get_by_text(re.compile("^Something went wrong")).count() == 0
