"""Take the README screenshot: start the dashboard, load the samples, save a full-page PNG.

Usage::

    .venv/bin/python docs/take_screenshot.py [--out docs/screenshot.png] [--width 1400]

Needs the samples (``make samples``) and Debian's ``chromium`` (``make browser``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from glasswing.commands.serve import streamlit_command  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-component-update",
                 "--disable-background-networking"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("Streamlit exited before it was ready.")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("Streamlit did not become ready within a minute.")


def _wait_idle(page) -> None:
    page.wait_for_timeout(500)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")


def take(out: Path, width: int) -> None:
    """Start the app on a free port, load the German Credit samples and save a full-page screenshot."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "GLASSWING_DATA_DIR": data_dir}
        proc = subprocess.Popen(streamlit_command("127.0.0.1", port), cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_healthy(url, proc)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                            args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=1)
                page.set_default_timeout(60_000)
                page.goto(url)
                page.get_by_role("button", name="Use the samples").click()
                page.get_by_text("Accuracy", exact=True).wait_for()
                _wait_idle(page)
                page.mouse.move(0, 0)  # no hover highlight in the picture
                # Streamlit scrolls inside its main container, so grow the window to the content's height.
                height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
                page.set_viewport_size({"width": width, "height": int(height)})
                _wait_idle(page)
                page.wait_for_timeout(1000)
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out), full_page=True)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(10)
    print(out)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and take the screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args(argv)
    take(args.out, args.width)
    return 0


if __name__ == "__main__":
    sys.exit(main())
