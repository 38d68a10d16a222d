"""Hostile names in headless Chromium: a table uploaded under a file name that attacks Markdown, with
group values and column names that do too. Every page shows them literally and the browser requests
nothing from any other host (the issue: an image in a name made the sidebar fetch a URL)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.conftest import wait_idle
from tests.security.test_text_dashboard import EVIL, FILE, GROUPS, SMALL, hostile_csv

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_hostile_names_are_shown_as_text_and_fetch_nothing(page, tmp_path):
    foreign = []
    page.context.on("request", lambda r: urlsplit(r.url).hostname not in ("127.0.0.1", None)
                    and not r.url.startswith(("data:", "blob:")) and foreign.append(r.url))
    page.get_by_text("Upload your own", exact=True).click()
    wait_idle(page)
    uploaders = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    uploaders.nth(1).set_input_files(files=[{"name": FILE, "mimeType": "text/csv", "buffer": hostile_csv()}])
    wait_idle(page)
    page.get_by_role("button", name="Load the uploaded files").click()
    page.get_by_role("heading", name="Data", exact=True).wait_for()
    wait_idle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert FILE in sidebar.inner_text()
    assert sidebar.locator("img").count() == 0
    page.screenshot(path=tmp_path / "model_data.png", full_page=True)

    page.get_by_role("link", name="Fairness audit").click()
    wait_idle(page)
    verdict = page.locator('[data-testid="stAlertContentError"]').first
    verdict.wait_for()
    shown = verdict.inner_text().replace("\u2060", "")  # the word joiners md() puts after colons
    assert GROUPS[0] in shown and GROUPS[2] in shown, shown  # the <img>-free, code-free text, as written
    main = page.locator("[data-testid='stMain']")
    warnings = page.get_by_text("1 warning", exact=False).first
    warnings.wait_for()
    assert SMALL in main.inner_text().replace("\u2060", "")
    made = main.locator("[data-testid='stMarkdownContainer'] img, [data-testid='stMarkdownContainer'] a")
    # Streamlit's own heading anchors aside, no link or image came out of the user's text
    assert [m.get_attribute("href") for m in made.all() if m.get_attribute("aria-label") != "Link to heading"
            ] == []
    # the <img> group is listed in the tables (grid cells), not dropped
    assert page.locator("[data-testid^='glide-cell']", has_text=GROUPS[1]).count() > 0
    page.screenshot(path=tmp_path / "fairness.png", full_page=True)
    chart = page.locator("[data-testid='stPlotlyChart']").first
    chart.scroll_into_view_if_needed()
    chart.screenshot(path=tmp_path / "fairness_chart.png")
    wait_idle(page)
    assert not [u for u in foreign if EVIL in u], foreign
    assert foreign == []
