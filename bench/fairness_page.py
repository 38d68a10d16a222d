"""Browser benchmark: the Fairness audit page on a 1,000,000-row dataset, driven in headless Chromium.

Starts the real dashboard (``glasswing serve``'s command line) on a free port, uploads the one-million-row
synthetic Parquet file on the Model & data page like a user would, opens Fairness audit and times each
interaction from the click until Streamlit's ``script_finished`` message has arrived and the browser has
painted twice. For reference, it times fairlearn's ``MetricFrame`` computing the same rates on the same rows
in the same run: what a page that recomputed with it would wait at every click.

Prints one JSON line. Usage: ``python bench/fairness_page.py [--data FILE.parquet]`` (default:
``sample_data/large/synthetic_1m.parquet``, generated with ``python -m glasswing.sample_data.build
--large`` when missing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT / "sample_data" / "large" / "synthetic_1m.parquet"
BUDGET_S = 2.0
SETTLE_MS = 1500
RAF = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 0))))"
IDLE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: Path):
    from glasswing.commands.serve import streamlit_command

    port = free_port()
    env = {**os.environ, "GLASSWING_DATA_DIR": str(tmp)}
    log = open(tmp / "streamlit.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen(streamlit_command("127.0.0.1", port), cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    log.seek(0)
    raise RuntimeError(f"Streamlit did not start:\n{log.read()[-2000:]}")


class Timer:
    """Times one interaction: click to ``script_finished`` (server) to two painted frames (browser)."""

    def __init__(self, page):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.page, self.finished, self.results = page, [], {}

        def on_frame(payload):
            if isinstance(payload, (bytes, bytearray)):
                try:
                    msg = ForwardMsg.FromString(bytes(payload))
                except Exception:  # noqa: BLE001 - other frames are not ForwardMsgs
                    return
                if msg.WhichOneof("type") == "script_finished":
                    self.finished.append(time.perf_counter())

        page.on("websocket", lambda ws: ws.on("framereceived", on_frame))

    def __call__(self, name: str, action) -> float:
        start = time.perf_counter()
        action()
        deadline = start + 120
        while not any(t > start for t in self.finished):
            if time.perf_counter() > deadline:
                raise TimeoutError(name)
            self.page.wait_for_timeout(10)
        self.page.wait_for_function(IDLE, timeout=120_000)
        self.page.evaluate(RAF)
        seconds = round(time.perf_counter() - start, 3)
        self.results[name] = seconds
        server = max(self.finished) - start
        print(f"{name}: {seconds:.2f} s (script finished after {server:.2f} s)", file=sys.stderr, flush=True)
        self.page.wait_for_timeout(SETTLE_MS)  # let the browser finish drawing before the next click
        return seconds


def wait_idle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function(IDLE, timeout=180_000)


def upload(page, path: Path) -> None:
    """Load the file on the Model & data page (the start page) as a user would; the roles are suggested."""
    page.get_by_text("Upload your own", exact=True).click()
    wait_idle(page)
    page.locator('[data-testid="stFileUploader"]').filter(has_text="Table: CSV or Parquet").locator(
        'input[type="file"]').set_input_files(str(path))
    wait_idle(page)
    page.get_by_role("button", name="Load the uploaded files").click()
    page.get_by_text("1,000,000").first.wait_for(timeout=180_000)
    wait_idle(page)


def metricframe_seconds(path: Path) -> float:
    import pandas as pd

    from bench._reference import metric_frame

    frame = pd.read_parquet(path)
    start = time.perf_counter()
    metric_frame(frame, names=("selection_rate", "true_positive_rate", "false_positive_rate",
                               "false_negative_rate", "true_negative_rate", "precision", "accuracy"))
    return round(time.perf_counter() - start, 3)


def drive(url: str, path: Path) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(180_000)
        timer = Timer(page)
        page.goto(url)
        wait_idle(page)
        upload(page, path)
        timer("open the page (first audit of 1,000,000 rows)",
              lambda: page.get_by_role("link", name="Fairness audit").click())
        page.get_by_text("Metrics by group").first.wait_for()
        timer("groups: sex alone", lambda: page.locator("button", has_text="sex alone").click())
        timer("groups: race alone", lambda: page.locator("button", has_text="race alone").click())
        timer("groups: back to the intersection",
              lambda: page.locator("button", has_text="(intersection)").click())

        def add_metric():
            page.locator('[data-testid="stMultiSelect"]').filter(has_text="Metrics").locator("input").click()
            page.get_by_role("option", name="Accuracy").click()
        timer("metrics: add accuracy", add_metric)
        page.keyboard.press("Escape")
        page.get_by_role("heading", name="Fairness audit").click()  # close the list, drop the focus

        def reference():
            page.get_by_role("combobox", name="Reference group").click()
            page.get_by_role("option", name="female · B").click()
        timer("reference group: female · B", reference)

        def scores():
            page.get_by_role("combobox", name="Predictions").click()
            page.get_by_role("option", name="Logged scores (column 'score') at a threshold").click()
        timer("predictions: scores at a threshold (first sweep)", scores)
        slider = page.get_by_role("slider")
        for i in range(5):
            def nudge():
                slider.focus()
                slider.press("ArrowRight")
            timer(f"threshold slider step {i + 1}", nudge)
        browser.close()
    return timer.results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if not args.data.exists():
        from glasswing.sample_data.build import build_large

        print(f"generating {args.data}", file=sys.stderr)
        build_large(args.data)
    with tempfile.TemporaryDirectory(prefix="glasswing-bench-") as tmp:
        proc, url = start_server(Path(tmp))
        try:
            results = drive(url, args.data)
        finally:
            proc.terminate()
            proc.wait(10)
    interactions = {k: v for k, v in results.items() if not k.startswith("open the page")}
    slowest = max(interactions.values())
    reference = metricframe_seconds(args.data)
    print(json.dumps({
        "benchmark": "fairness_page", "rows": 1_000_000, "cpus": os.cpu_count(), "seconds": results,
        "slowest_interaction_s": slowest, "median_interaction_s": statistics.median(interactions.values()),
        "all_under_2s": slowest < BUDGET_S, "reference": "fairlearn MetricFrame, same rates, same rows",
        "reference_s": reference, "reference_over_slowest": round(reference / slowest, 1)}))


if __name__ == "__main__":
    main()
