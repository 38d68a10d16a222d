"""Mitigation in headless Chromium: load the samples, run two methods, download the weights, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import SAMPLES, open_with_samples, wait_idle


def open_page_with_samples(page) -> None:
    open_with_samples(page, "Mitigation")


def run_mitigation(page, heading: str) -> None:
    page.get_by_role("button", name="Run mitigation").click()
    wait_idle(page)
    page.get_by_role("heading", name=heading).wait_for()


def check_mitigation_page(page) -> None:
    """The steps after the page is open with the German sample loaded (shared with a seeded-app check)."""
    run_mitigation(page, "Reweighing (demographic parity)")
    dp = page.locator('[data-testid="stMetric"]').filter(has_text="Demographic parity difference")
    assert dp.locator('[data-testid="stMetricDelta"]').inner_text().strip().startswith("-")  # it went down

    # The weights file equals n_g * n_y / (n * n_gy) on the sample's training split, computed here.
    with page.expect_download() as download:
        page.get_by_role("button", name="Weights (CSV)").click()
    weights = pd.read_csv(download.value.path())
    train = pd.read_csv(SAMPLES / "german_train.csv")
    n_g = train.groupby("sex")["risk"].transform("size")
    n_y = train.groupby("risk")["risk"].transform("size")
    n_gy = train.groupby(["sex", "risk"])["risk"].transform("size")
    np.testing.assert_allclose(weights["weight"], n_g * n_y / (len(train) * n_gy), atol=1e-12)
    assert list(weights.columns) == ["sex", "risk", "weight"]

    # A second method: both are points on the trade-off chart.
    method = page.locator('[data-testid="stSelectbox"]').filter(has_text="Method").first
    method.locator("input").click()
    method.locator("input").fill("Threshold optimizer")
    page.get_by_role("option", name="Threshold optimizer (post-processing)").first.click()
    wait_idle(page)
    run_mitigation(page, "Threshold optimizer (demographic parity)")
    tradeoff = page.locator('[data-testid="stPlotlyChart"]').filter(has_text="Accuracy vs disparity")
    labels = ("Original model", "Reweighing (demographic parity)", "Threshold optimizer (demographic parity)")
    for label in labels:
        tradeoff.get_by_text(label, exact=True).first.wait_for()

    # Training data that is not there yet: one sentence, and the last result stays on the page.
    page.get_by_text("Upload the training data (CSV or Parquet)").click()
    wait_idle(page)
    page.get_by_role("button", name="Run mitigation").click()
    wait_idle(page)
    page.get_by_text("Upload the training rows first.").wait_for()
    page.get_by_role("heading", name="Threshold optimizer (demographic parity)").wait_for()
    assert page.get_by_text("Something went wrong").count() == 0


@pytest.mark.browser
@pytest.mark.slow
def test_mitigate_the_samples_compare_and_download(page):
    open_page_with_samples(page)
    check_mitigation_page(page)
