"""A long mitigation run in headless Chromium: progress with iterations of the maximum, then Stop."""

from __future__ import annotations

import pytest

from tests.conftest import open_with_samples, wait_idle


def choose(page, label: str, option: str) -> None:
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.locator("input").click()
    box.locator("input").fill(option)
    page.get_by_role("option", name=option).first.click()
    wait_idle(page)


@pytest.mark.browser
@pytest.mark.slow
def test_exponentiated_gradient_full_run_shows_progress_and_stops(page):
    page.set_default_timeout(180_000)  # a busy CI machine: loading the samples alone can take a minute
    open_with_samples(page, "Mitigation")
    page.get_by_role("button", name="Run mitigation").click()  # a first result: reweighing
    wait_idle(page)
    page.get_by_role("heading", name="Reweighing (demographic parity)").wait_for()
    choose(page, "Method", "Exponentiated gradient (in-processing (reductions))")
    choose(page, "Constraint", "Equalized odds: equal true- and false-positive rates across groups")
    page.get_by_text("Full run: fairlearn's 50 iterations").click()
    wait_idle(page)
    page.get_by_role("button", name="Run mitigation").click()
    page.get_by_role("heading", name="Running Exponentiated gradient (equalized odds)...").wait_for()
    progress = page.locator('[data-testid="stProgress"]')
    progress.wait_for()
    # while it runs, the earlier result is gone, not greyed under its old heading
    assert page.get_by_role("heading", name="Reweighing (demographic parity)").count() == 0
    stop = page.get_by_role("button", name="Stop")
    stop.click()
    wait_idle(page)
    warning = page.get_by_text("Stopped exponentiated gradient (equalized odds) at:")
    warning.wait_for()
    text = warning.inner_text()
    assert "Nothing was kept" in text
    assert "at most 50 iterations" in text or "of at most 50 done" in text  # where it stopped
    # no result, old or new, under a heading; the page asks for a run again
    for heading in ("Exponentiated gradient (equalized odds)", "Reweighing (demographic parity)"):
        assert page.get_by_role("heading", name=heading).count() == 0
    page.get_by_text("Choose a method and a constraint, then press").wait_for()
