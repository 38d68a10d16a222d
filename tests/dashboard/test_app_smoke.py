"""Every page opens without an exception: with nothing loaded, with German Credit, and with the digits."""

from __future__ import annotations

from pathlib import Path

import pytest

from glasswing.ingest import samples
from tests.conftest import APP, new_apptest

PAGES = sorted(p.name for p in (APP.parent / "app_pages").glob("*.py") if not p.name.startswith("_"))
STATES = {
    "nothing": lambda: {},
    "german": lambda: {"gw.model": samples.german_model("gbm"), "gw.dataset": samples.german_dataset("test")},
    "digits": lambda: {"gw.model": samples.digits_model("safetensors"), "gw.images": samples.digits_images()},
}


def test_every_navigation_entry_exists():
    assert "model_data.py" in PAGES and all((Path(APP).parent / "app_pages" / p).is_file() for p in PAGES)


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("page", PAGES)
def test_page_opens(page, state):
    at = new_apptest(page, state=STATES[state]())
    assert not at.exception, [e.value for e in at.exception]
    if state != "nothing":  # the sidebar lists what is loaded
        assert any("Model" in m.value for m in at.sidebar.markdown)
