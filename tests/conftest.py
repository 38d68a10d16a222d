"""Shared fixtures: the real dashboard in headless Chromium, and AppTest for every page."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._postgres import free_port, postgres_server, postgres_url  # noqa: F401 (fixtures, shared by every folder)

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
SAMPLES = ROOT / "sample_data"


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    """Audit history and settings go to a temporary folder, never the user's."""
    monkeypatch.setenv("GLASSWING_DATA_DIR", str(tmp_path_factory.mktemp("gwdata")))


@contextlib.contextmanager
def running_server(command, port: int, log_path: Path, *, env: dict | None = None, cwd: Path = ROOT,
                   timeout: float = 60) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start a Glasswing server (``command``, listening on ``port``); yield ``(url, process)`` once its
    ``/_stcore/health`` says ``ok``; stop it with SIGTERM afterwards (then SIGKILL after 10 s)."""
    log = open(log_path, "w+")  # noqa: SIM115
    proc = subprocess.Popen(command, cwd=cwd, env={**os.environ, **(env or {})}, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"The server did not start:\n{log.read()[-3000:]}")
            time.sleep(0.3)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """Start ``glasswing``'s Streamlit server on a free port; yield its URL once ``/_stcore/health`` is ok.

    One server per test process (each xdist worker starts its own): every browser test opens its own
    browser context, so its own Streamlit session. Only the Report test saves to the audit history.
    """
    from glasswing.commands.serve import streamlit_command

    port = free_port()
    env = {"GLASSWING_DATA_DIR": str(tmp_path_factory.mktemp("gwserver"))}
    with running_server(streamlit_command("127.0.0.1", port), port,
                        tmp_path_factory.mktemp("log") / "streamlit.log", env=env) as (url, _):
        yield url


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium driven by Playwright (Playwright cannot download its own browser here).

    Never skipped: a machine without chromium fails these tests (``make test`` installs it).
    """
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium")
    assert exe, "Browser tests need Debian's chromium (apt-get install chromium); `make test` installs it."
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=exe, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh browser context (its own Streamlit session) on the app's start page."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(app_url)
    pg.get_by_text("Glasswing", exact=False).first.wait_for()
    yield pg
    ctx.close()


def wait_idle(pg, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished the script run that the last action started.

    Reads the app root's ``data-test-script-state`` (as Streamlit's own e2e helpers do): first give the
    rerun up to 1.5 s to start, then wait for it to stop.
    """
    running = "[data-testid='stApp'][data-test-script-state='running']"
    try:
        pg.wait_for_selector(running, state="attached", timeout=1_500)
    except Exception:  # the run was over before we looked (or the action started none)
        pass
    pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                         state="attached", timeout=timeout)
    pg.wait_for_timeout(200)


def open_with_samples(pg, link: str | None = None) -> None:
    """Load the German credit samples on Model & data (as a user would), then open the page ``link``."""
    pg.get_by_role("button", name="Use the samples").click()
    pg.get_by_role("heading", name="Model", exact=True).wait_for()  # the samples are stored
    wait_idle(pg)
    if link:
        pg.get_by_role("link", name=link).click()
        wait_idle(pg)


def new_apptest(page_file: str | None = None, timeout: float = 60, *, state: dict | None = None):
    """Return an ``AppTest`` of the dashboard that has run ``app_pages/<page_file>`` (when given).

    ``state`` seeds ``st.session_state`` after the start page's first run and before the switch (e.g.
    ``{"gw.model": model, "gw.dataset": data}``, the keys of ``dashboard/_state.py``), as if the user had
    loaded those; ``None`` values are left out.
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.run()  # the start page, with nothing loaded
    for key, value in (state or {}).items():
        if value is not None:
            at.session_state[key] = value
    if page_file:
        at.switch_page(f"app_pages/{page_file}")
        at.run()
    return at


sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (``local[2]``) per test process, started as the Spark engine starts it.

    Never skipped: a machine without Java fails these tests (``make test`` installs Debian's OpenJDK 17).
    """
    from glasswing.ingest._spark import spark_session

    session = spark_session("local[2]", app_name="glasswing-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
