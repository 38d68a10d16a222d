"""Model & data in headless Chromium: use the samples, then upload a bad file and see one sentence."""

from __future__ import annotations

import pytest

from glasswing.ingest import _errors as E
from tests.conftest import wait_idle


def _errors(page) -> list[str]:
    alerts = page.locator('[data-testid="stAlertContentError"] [data-testid="stMarkdownContainer"]')
    return [t.strip() for t in alerts.all_inner_texts()]


@pytest.mark.browser
@pytest.mark.slow
def test_samples_then_a_bad_upload(page):
    page.get_by_text("Nothing is loaded yet").wait_for()
    page.get_by_role("button", name="Use the samples").click()
    page.get_by_role("heading", name="Model", exact=True).wait_for()
    wait_idle(page)
    page.get_by_text("ColumnTransformer → GradientBoostingClassifier").wait_for()
    page.get_by_text("Accuracy", exact=True).wait_for()
    page.get_by_text("german_test_predictions.csv: 300 rows, 15 columns").wait_for()
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert "german_gbm.skops" in sidebar.inner_text()

    page.get_by_text("Upload your own").click()
    wait_idle(page)
    page.get_by_text("Upload your own").wait_for()
    uploaders = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    uploaders.nth(1).set_input_files(files=[{"name": "broken.csv", "mimeType": "text/csv",
                                             "buffer": b"\x89PNG\r\n\x1a\n\x00\x00binary"}])
    wait_idle(page)
    page.get_by_role("button", name="Load the uploaded files").click()
    page.locator('[data-testid="stAlertContentError"]').first.wait_for()
    wait_idle(page)
    assert _errors(page) == [E.TABLE_BINARY.format(name="broken.csv")]
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.content()
    # what was loaded before is still there
    assert "german_gbm.skops" in sidebar.inner_text()
    page.get_by_text("ColumnTransformer → GradientBoostingClassifier").wait_for()
