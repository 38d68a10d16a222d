"""PDF layout with many groups: every group drawn on its chart's page, no nearly empty page, sane page counts.

The audits are synthetic (``_layout_case``): 5 to 60 (region, band) groups from 4,000 rows down to 6, one
region name too long for a chart label, one large group never predicted positive. Group names are taken
from the data, not from the report; the PDFs are read back with pypdfium2 (the charts' SVG text stays text).
"""

from __future__ import annotations

import base64
import math
import re

import numpy as np
import pytest

from glasswing.reports import render_html, render_pdf
from glasswing.reports._render import disparity_chart
from tests.reports._layout_case import layout_dataset, layout_report

GROUP_COUNTS = (5, 10, 30, 60)
#: A page (other than the last) is "nearly empty" when its content ends above this share of the body.
MIN_PAGE_REACH = 0.4
#: Body of an A4 page between the running header and footer (mm from the top, mm from the bottom).
BODY_TOP_MM, BODY_BOTTOM_MM = 24, 20
CHART_TITLE, CHART_AXIS = "Rates by group", "rate (95% Wilson"
#: Width of the A4 text column (210 mm less 2 x 16 mm margins) and the most a chart may take of its
#: 10.2-inch height, so that two share a page with their captions.
COLUMN_IN, MOST_CHART_IN = 178 / 25.4, 4.95


@pytest.fixture(scope="module")
def reports():
    return {g: layout_report(g) for g in GROUP_COUNTS}


@pytest.fixture(scope="module")
def htmls(reports):
    return {g: render_html(report) for g, report in reports.items()}


@pytest.fixture(scope="module")
def pdfs(reports, htmls):
    import pypdfium2 as pdfium

    out = {}
    for g, report in reports.items():
        doc = pdfium.PdfDocument(render_pdf(report, html=htmls[g]))
        out[g] = [_page(doc[i]) for i in range(len(doc))]
        doc.close()
    return out


def _page(page) -> dict:
    """Text, chart regions' text and how far down the body the ink reaches, for one PDF page."""
    width, height = page.get_size()
    text = page.get_textpage()
    titles = _boxes(text, CHART_TITLE, first=True)
    axes = _boxes(text, CHART_AXIS, first=False)
    charts = []
    for top in titles:  # from the title down to the first axis caption below it
        bottom = max((b for b in axes if b < top), default=None)
        assert bottom is not None, "a chart title without its axis on the same page"
        charts.append(text.get_text_bounded(0, bottom - 2, width, top + 2))
    pixels = np.asarray(page.render(scale=0.5).to_pil().convert("L"), dtype=float)
    body = pixels[int(pixels.shape[0] * BODY_TOP_MM / 297): int(pixels.shape[0] * (1 - BODY_BOTTOM_MM / 297))]
    inked = np.flatnonzero((body < 200).any(axis=1))
    return {"text": text.get_text_range(), "charts": charts,
            "reach": (inked.max() + 1) / body.shape[0] if len(inked) else 0.0}


def _boxes(text, needle: str, *, first: bool) -> list[float]:
    """The top (``first``) or bottom edge of each occurrence of ``needle`` on the page, in PDF points."""
    found, searcher = [], text.search(needle)
    while (match := searcher.get_next()) is not None:
        index, count = match
        _, bottom, _, top = text.get_charbox(index if first else index + count - 1)
        found.append(top if first else bottom)
    return found


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _on_chart(chart: str, region: str, band: str) -> bool:
    """Whether a chart's text shows the group: its whole label, or a long region's start and "… · band"."""
    if _flat(f"{region} · {band}") in chart:
        return True
    return len(region) > 20 and _flat(region[:20]) in chart and f"…·{band}" in chart


@pytest.mark.parametrize("groups", GROUP_COUNTS)
def test_every_group_is_on_its_charts_page_once(pdfs, groups):
    frame = layout_dataset(groups).frame
    pairs = list(frame[["region", "band"]].drop_duplicates().itertuples(index=False))
    assert len(pairs) == groups
    charts = [_flat(c) for page in pdfs[groups] for c in page["charts"]]
    assert charts, "no rates chart in the PDF"
    for region, band in pairs:
        holding = [c for c in charts if _on_chart(c, region, band)]
        assert len(holding) == 1, (region, band, len(holding))
        assert _flat(f"{region} · {band}") in _flat("".join(p["text"] for p in pdfs[groups]))  # the table
    # The parts' titles number the groups without a gap: "groups 1–12 of 60", "groups 13–28 of 60", ...
    ranges = [tuple(map(int, m.groups())) for c in charts
              for m in [re.search(r"groups(\d+)–(\d+)of" + str(groups), c)] if m]
    if len(charts) == 1:
        assert ranges == []
    else:
        assert [a for a, _ in ranges] == [1] + [b + 1 for _, b in ranges[:-1]] and ranges[-1][1] == groups


@pytest.mark.parametrize("groups", GROUP_COUNTS)
def test_no_page_is_nearly_empty(pdfs, groups):
    pages = pdfs[groups]
    for number, page in enumerate(pages[:-1], start=1):
        assert page["reach"] >= MIN_PAGE_REACH, (number, page["reach"])
    # By design the last page may hold only the review form; never only the colophon.
    assert "Reviewer notes" in pages[-1]["text"] and "Sign-off" in pages[-1]["text"]


def test_page_count_grows_sensibly(pdfs):
    counts = [len(pdfs[g]) for g in GROUP_COUNTS]
    assert counts == sorted(counts) and counts[-1] > counts[0], counts
    # About five groups a page at most: a row in each of two tables, a chart row, two warning lines.
    for g, n in zip(GROUP_COUNTS, counts, strict=True):
        assert n <= counts[0] + math.ceil((g - GROUP_COUNTS[0]) / 5), (g, n)


def _svg(uri: str) -> str:
    return base64.b64decode(uri.split(",", 1)[1]).decode()


def _shown_height(svg: str) -> float:
    """Inches a chart takes on the page: drawn at most as wide as the 178 mm column (``width: 100%``)."""
    width, height = (float(v) / 72 for v in re.search(r'<svg[^>]*width="([\d.]+)pt" height="([\d.]+)pt"',
                                                      svg).groups())
    return height * COLUMN_IN / width


def test_rates_charts_grow_with_the_groups_and_split_to_half_pages(htmls):
    heights = {}
    for g, html in htmls.items():
        svgs = [_svg(uri) for uri in re.findall(r'<figure class="chart rates"><img src="([^"]+)"', html)]
        heights[g] = [_shown_height(s) for s in svgs]
    assert [len(heights[g]) for g in GROUP_COUNTS[:2]] == [1, 1]
    assert heights[10][0] > heights[5][0] + 5 * 0.15  # at least 0.15 inch more a group
    assert len(heights[30]) >= 2 and len(heights[60]) >= 3
    assert max(max(h) for h in heights.values()) <= MOST_CHART_IN, heights  # two parts to a page


def test_zero_ratio_is_labelled_at_its_bar(reports):
    svg = _svg(disparity_chart(reports[5]))
    texts = {m.group(2): float(m.group(1))
             for m in re.finditer(r'<text[^>]* x="([\d.]+)"[^>]*>([^<]*)</text>', svg)}
    # The planted group never predicted positive makes the demographic parity ratio 0.
    assert "0.000 FAIL" in texts
    assert texts["0.000 FAIL"] < texts["0.2"] < texts["0.8"]  # beside the bar at 0, not at the 0.8 tick


def _svg_text(uri: str) -> str:
    """The text of an SVG chart (every ``<text>`` element), flattened like the PDF's."""
    return _flat("".join(re.findall(r"<text[^>]*>([^<]*)</text>", _svg(uri))).replace("&#x2026;", "…"))


def test_section_charts_split_with_every_group_once():
    from glasswing.reports._burden import burden_charts
    from glasswing.reports._render_checks import comparison_charts, fairness_check_charts
    from tests.reports._layout_case import sections_report

    report = sections_report(30)
    pairs = list(layout_dataset(30).frame[["region", "band"]].drop_duplicates().itertuples(index=False))
    reference = report.fairness_check["reference"]
    for name, uris in (("fairness check", fairness_check_charts(report)),
                       ("comparison", comparison_charts(report)), ("burden", burden_charts(report.burden))):
        assert len(uris) >= 2, name
        heights = [_shown_height(_svg(u)) for u in uris]
        assert max(heights) <= MOST_CHART_IN, (name, heights)
        texts = [_svg_text(u) for u in uris]
        for region, band in pairs:
            if name == "fairness check" and f"{region} · {band}" == reference:
                continue  # the reference group is the check's yardstick, not one of its rows
            holding = [t for t in texts if _on_chart(t, region, band)]
            assert len(holding) == 1, (name, region, band, len(holding))
        total = 29 if name == "fairness check" else 30
        ranges = [tuple(map(int, re.search(rf"groups(\d+)–(\d+)of{total}", t).groups())) for t in texts]
        assert [a for a, _ in ranges] == [1] + [b + 1 for _, b in ranges[:-1]] and ranges[-1][1] == total
