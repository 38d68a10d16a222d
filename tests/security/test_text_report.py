"""Reports are self-contained: WeasyPrint loads only ``data:`` URIs and Glasswing's template files (no
network, no other file), and hostile names and notes come out of the HTML, the PDF and its charts as the
text they are (HTML escaped, no mathtext)."""

from __future__ import annotations

import base64
import http.server
import io
import re
import threading

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from pypdf import PdfReader

from glasswing.audits import group_metrics
from glasswing.ingest import ColumnRoles, Dataset
from glasswing.reports import build_report, render_html, render_pdf
from glasswing.reports._render import TEMPLATES, rates_chart


@pytest.fixture
def listener():
    """A local HTTP server that records every path asked of it; yields ``(base URL, paths)``."""
    asked = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            buf = io.BytesIO()
            Image.new("RGB", (4, 4), "red").save(buf, "PNG")
            self.wfile.write(buf.getvalue())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()


def hostile_report(base: str):
    rng = np.random.default_rng(0)
    groups = ["$x^2$ group", f"<img src={base}/group.png>"]
    sex = np.repeat(groups, 60)
    y = rng.integers(0, 2, len(sex))
    pred = rng.integers(0, 2, len(sex))
    frame = pd.DataFrame({"y": y, "pred": pred, "sex": sex})
    data = Dataset(frame, ColumnRoles(target="y", prediction="pred", sensitive=("sex",)), name="t.csv",
                   sha256="t" * 64)
    gm = group_metrics(frame["y"], frame["pred"], frame[["sex"]])
    return build_report(data, metrics=gm, title=f'Audit <img src="{base}/title.png">',
                        notes=f'<link rel="stylesheet" href="{base}/notes.css"> $a$ and $b$')


def test_weasyprint_fetches_nothing_but_data_uris_and_templates(listener, tmp_path):
    base, asked = listener
    secret = tmp_path / "secret.png"
    Image.new("RGB", (4, 4), "blue").save(secret)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(buf, "PNG")
    data_uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    html = f"""<html><head><link rel="stylesheet" href="{base}/style.css">
    <link rel="stylesheet" href="report.css">
    <style>@import url("{base}/import.css"); body {{ background: url("{base}/bg.png"); }}</style></head>
    <body><p>text</p><img src="{base}/remote.png"><img src="file://{secret}"><img src="{data_uri}">
    <img src="../../../../../../etc/hostname"></body></html>"""
    pdf = render_pdf(None, html=html)
    assert asked == []  # nothing was requested from the network
    images = [im for page in PdfReader(io.BytesIO(pdf)).pages for im in page.images]
    assert len(images) == 1 and images[0].image.size == (8, 8)  # only the data: URI image
    assert (TEMPLATES / "report.css").is_file()  # the template file next to it is allowed (no warning)


def test_hostile_names_stay_text_in_the_report(listener):
    base, asked = listener
    report = hostile_report(base)
    html = render_html(report)
    assert f"<img src={base}" not in html and f'<img src="{base}' not in html
    assert f"&lt;img src={base}/group.png&gt;" in html and "&lt;link rel=" in html
    svg = base64.b64decode(rates_chart(report).split(",", 1)[1]).decode()
    # the label as written, one text element, not typeset as mathematics (SVG comments aside)
    assert "$x^2$ group" in re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    pdf = render_pdf(report, html=html)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert f"<img src={base}/group.png>" in text.replace("\n", "") and "$a$ and $b$" in text
    assert asked == []
