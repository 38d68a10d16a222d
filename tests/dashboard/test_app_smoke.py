"""Every page opens without an exception: with nothing loaded, with German Credit, and with the digits."""

from __future__ import annotations

from pathlib import Path

import pytest

from glasswing.dashboard._navigation import SECTIONS
from glasswing.ingest import samples
from tests.conftest import APP, new_apptest

#: The pages the navigation declares (not the files that happen to be on disk).
PAGES = [file for entries in SECTIONS.values() for file, _, _ in entries]
STATES = {
    "nothing": lambda: {},
    "german": lambda: {"gw.model": samples.german_model("gbm"), "gw.dataset": samples.german_dataset("test")},
    "digits": lambda: {"gw.model": samples.digits_model("safetensors"), "gw.images": samples.digits_images()},
}


def test_the_navigation_declares_exactly_the_page_files():
    on_disk = {p.name for p in (Path(APP).parent / "app_pages").glob("*.py") if not p.name.startswith("_")}
    assert len(PAGES) == len(set(PAGES)) and set(PAGES) == on_disk  # no page missing, none left out
    titles = [title for entries in SECTIONS.values() for _, title, _ in entries]
    assert len(titles) == len(set(titles)) and PAGES[0] == "model_data.py"


def test_a_declared_page_that_is_missing_fails_loudly(monkeypatch):
    from glasswing.dashboard import _navigation

    monkeypatch.setitem(_navigation.SECTIONS, "Data", [*SECTIONS["Data"], ("missing.py", "Gone", None)])
    at = new_apptest()
    assert at.exception  # (the message is redacted: client.showErrorDetails is off)


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("page", PAGES)
def test_page_opens(page, state):
    at = new_apptest(page, state=STATES[state]())
    assert not at.exception, [e.value for e in at.exception]
    if state != "nothing":  # the sidebar lists what is loaded
        assert any("Model" in m.value for m in at.sidebar.markdown)
