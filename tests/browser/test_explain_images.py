"""Explain: images in headless Chromium: the shortcut sample, downloads, and a bad upload."""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.conftest import wait_idle

DELETION = re.compile(r"^Removing the pixels this map ranks highest")


def open_page_with_digits(page) -> None:
    page.get_by_text("Digits images, CNN").click()
    page.get_by_role("button", name="Use the samples").click()
    page.get_by_role("heading", name="Images", exact=True).wait_for()  # the image sample is loaded
    wait_idle(page)
    page.get_by_role("link", name="Explain: images").click()
    wait_idle(page)


@pytest.mark.browser
@pytest.mark.slow
def test_shortcut_sample_heatmap_download_and_bad_upload(page, tmp_path):
    open_page_with_digits(page)
    page.get_by_role("heading", name="Why class 3?").wait_for()
    image = page.get_by_role("combobox", name="Image")
    expect(image).to_have_value("digit9_watermark.png (label 9, predicted 3)")
    page.get_by_text(DELETION).first.wait_for()
    page.get_by_role("heading", name="Groups").wait_for()
    page.get_by_text(re.compile(r"watermark = yes \(n = 10, accuracy 0\.\d\d\)")).wait_for()
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 4  # top-k, map, deletion, groups

    with page.expect_download() as info:
        page.get_by_role("button", name="Map .npy").click()
    saved = tmp_path / "map.npy"
    info.value.save_as(saved)
    values = np.load(saved)
    assert values.shape == (128, 128) and 0 <= values.min() and values.max() == pytest.approx(1.0)
    row, col = np.unravel_index(np.argmax(values), values.shape)
    assert row >= 96 and col >= 96  # Grad-CAM for '3' lands on the watermark in the corner

    page.get_by_text("Upload images").click()
    wait_idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"this is not a picture"}])
    wait_idle(page)
    page.get_by_text("'notes.png' is not an image Glasswing can read (PNG, JPEG, BMP, GIF, WebP or "
                     "TIFF).").wait_for()
    page.get_by_text("Loaded images").click()  # the loaded sample is still there
    wait_idle(page)
    page.get_by_role("heading", name="Why class 3?").wait_for()
