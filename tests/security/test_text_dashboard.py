"""User text is text on every page: hostile file, column, group, class and model names, titles and notes
reach the browser as literal characters, never as Markdown links, images, HTML, directives or maths.

Every page runs in AppTest with hostile inputs loaded; every string the app sends to be rendered as
Markdown (bodies, captions, alerts, labels, help texts, radio and segmented-control options, expander and
tab labels, image captions) is parsed with markdown-it-py, an independent CommonMark parser: no image,
link or HTML may come out of it, and the hostile strings must appear in its text, character for character.
Streamlit's own extensions (``:red[...]`` directives, ``$`` maths, ``:smile:`` shortcodes) are not
CommonMark, so the raw Markdown is checked for them unescaped.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from markdown_it import MarkdownIt
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from glasswing import ingest
from glasswing.dashboard import _text
from glasswing.ingest import Model, samples
from tests.conftest import new_apptest

EVIL = "evil.example"
FILE = f"hostile`![](http://{EVIL}/file.png)`<img src=http://{EVIL}/f.png>.csv"
TARGET = f"`![](http://{EVIL}/t.png)`_target"
PRED = "x_pred"
KIND = f"kind![](http://{EVIL}/col.png)"
YES, NO = f"<img src=http://{EVIL}/yes.png>", f"`![](http://{EVIL}/no.png)`"
GROUPS = [f"`![](http://{EVIL}/g1.png)`", f"<img src=http://{EVIL}/g2.png>",
          f":red[red] $x^2$ **bold** :smile: www.{EVIL} a@{EVIL}"]
SMALL = f"[link](http://{EVIL}/small)"  # a group under 30 rows: it is named in the warnings
MODEL = f"model`![](http://{EVIL}/m.png)`.skops"
HOSTILE = [FILE, TARGET, KIND, YES, NO, *GROUPS, SMALL, MODEL]


def hostile_csv(n_per_group: int = 80, seed: int = 0) -> bytes:
    """A table whose every name and value that reaches the page is an attack on Markdown."""
    rng = np.random.default_rng(seed)
    sex = np.array([g for g in GROUPS for _ in range(n_per_group)] + [SMALL] * 12)
    n = len(sex)
    kind = rng.choice([f"a<b>{i}</b>" for i in range(3)], n)
    age = rng.integers(18, 80, n)
    score = np.clip(0.004 * age + 0.25 * (sex == GROUPS[0]) + rng.random(n) * 0.5, 0, 1)
    y = np.where(rng.random(n) < score, YES, NO)
    pred = np.where(score >= 0.5, YES, NO)
    frame = pd.DataFrame({TARGET: y, PRED: pred, "sex": sex, "age": age, KIND: kind})
    return frame.to_csv(index=False).encode()


def hostile_state() -> dict:
    """Session state as after uploading :func:`hostile_csv` as :data:`FILE` with a model trained on it."""
    raw = hostile_csv()
    frame, _ = ingest.read_table(raw, name=FILE)
    base = ingest.Dataset(frame=frame, name=FILE, sha256="hostile-data")
    data = base.with_roles(target=TARGET, prediction=PRED, sensitive=("sex",), features=("age", KIND))
    pipe = make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="ignore"), [KIND]),
                                                 remainder="passthrough"),
                         LogisticRegression(max_iter=500)).fit(frame[["age", KIND]], frame[TARGET])
    model = Model.from_estimator(pipe, name=MODEL, sha256="hostile-model")
    return {"gw.model": model, "gw.dataset": data, "model_data.base": base}


# ------------------------------------------------------------------------------- reading the app back
_MARKDOWN_FIELDS = {"body", "label", "help", "caption", "content"}
_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _strings(message, kind: str = ""):
    """Every string the frontend renders as Markdown in a protobuf message (select options are text)."""
    for field, value in message.ListFields():
        if field.type == field.TYPE_MESSAGE:
            items = value if field.is_repeated else [value]
            for item in items:
                yield from _strings(item, field.name)
        elif field.type == field.TYPE_STRING:
            values = value if field.is_repeated else [value]
            if field.name in _MARKDOWN_FIELDS or (field.name == "options" and kind == "radio"):
                yield from values


def rendered_markdown(at) -> list[str]:
    """Every Markdown string of the app's current page, in the order of the page."""
    out = []

    def walk(node):
        proto = getattr(node, "proto", None)
        # st.text, st.code and tables are shown as text by the frontend; charts are checked in the browser
        if proto is not None and type(proto).__name__ not in ("Text", "Code", "Dataframe", "PlotlyChart"):
            out.extend(_strings(proto, type(proto).__name__.lower()))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return [s for s in out if s]


def plain_text(markdown: str) -> str:
    """The text a CommonMark renderer shows for ``markdown`` (word joiners removed)."""
    parts = []
    for block in _MD.parse(markdown):
        for token in block.children or []:
            if token.type in ("text", "code_inline"):
                parts.append(token.content)
            elif token.type in ("softbreak", "hardbreak"):
                parts.append(" ")
    return "".join(parts).replace("\u2060", "").replace("\u00a0", " ")


def check_literal(at) -> str:
    """Assert that nothing on the page is a link, image or HTML; return all its text, joined."""
    texts = []
    for markdown in rendered_markdown(at):
        tokens = [t for block in _MD.parse(markdown) for t in [block, *(block.children or [])]]
        made = {t.type for t in tokens} & {"image", "link_open", "html_inline", "html_block"}
        assert not made, (made, markdown)
        # Streamlit's extensions, unescaped: directives, maths, emoji shortcodes and icons
        assert not re.search(r"(?<!\\):[A-Za-z-]+\\?\[", markdown), markdown  # :red[..] and :red\[ alike
        assert not re.search(r"(?<!\\)\$", markdown), markdown
        assert not re.search(r"(?<!\\):[A-Za-z+][A-Za-z0-9_+/-]*:", markdown), markdown  # (not times)
        texts.append(plain_text(markdown))
    return "\n".join(texts)


# ------------------------------------------------------------------------------------------ the tests
def test_the_escaping_shows_each_hostile_string_literally():
    for text in [*HOSTILE, "1. x", "# h", "- item", "    indented", "a  \nb", "\\*", "&lt;b&gt;", "a|b",
                 "x@y.example", "http://" + EVIL, "~~s~~", "==", "<!-- c -->", "[x]: http://e/"]:
        # (markdown-it trims a paragraph's leading no-break spaces, which Streamlit's parser keeps)
        assert plain_text(_text.md(text)).strip() == text.replace("\n", " ").strip(), text
        assert plain_text(_text.code(text)).strip() == text.replace("\n", " ").strip(), text
        tokens = [t.type for b in _MD.parse(_text.md(text)) for t in [b, *(b.children or [])]]
        assert tokens[:1] == ["paragraph_open"] and not {"image", "link_open", "html_inline"} & set(tokens)


@pytest.mark.parametrize("page", ["model_data.py", "fairness.py", "explain_tabular.py", "report.py"])
def test_every_page_shows_hostile_names_as_text(page):
    at = new_apptest(page, timeout=120, state=hostile_state())
    assert not at.exception, [e.value for e in at.exception]
    text = check_literal(at)
    assert MODEL in text and FILE in text  # the sidebar
    if page == "model_data.py":
        assert FILE in text and MODEL in text and KIND in text
    if page == "fairness.py":  # the verdict and the warnings name the groups
        assert GROUPS[0] in text and GROUPS[2] in text and SMALL in text
    if page == "explain_tabular.py":
        assert KIND in text and (YES in text or NO in text)
    if page == "report.py":
        at.button(key="report.run").click().run()
        text = check_literal(at)
        assert not at.exception and "Audited by sex" in text and GROUPS[1] in text


def test_mitigation_and_review_show_hostile_names_as_text():
    state = hostile_state()
    at = new_apptest("mitigation.py", timeout=120, state=state)
    at.button(key="mitigation.run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    text = check_literal(at)
    assert FILE in text  # "Retrained or fitted on ... rows of <file>"

    at = new_apptest("report.py", timeout=120, state=state)
    at.button(key="report.run").click().run()
    title, notes = f"Audit ![](http://{EVIL}/title.png) <b>v2</b>", f"Notes `code` [x](http://{EVIL})"
    at.text_input(key="report.title").set_value(title)
    at.text_input(key="report.reviewer").set_value(f"<img src=http://{EVIL}/r.png>")
    at.text_area(key="report.notes").set_value(notes).run()
    at.button(key="report.save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.switch_page("app_pages/review.py").run()
    assert not at.exception, [e.value for e in at.exception]
    text = check_literal(at)
    assert title in text and f"<img src=http://{EVIL}/r.png>" in text and MODEL in text


def test_image_names_are_text():
    images = samples.digits_images()
    names = [f"![](http://{EVIL}/{i}.png){n}" for i, n in enumerate(images.names)]
    hostile = replace(images, names=names, name=f"<img src=http://{EVIL}/set.png>")
    for page in ("model_data.py", "explain_images.py"):
        at = new_apptest(page, timeout=120, state={"gw.model": samples.digits_model("safetensors"),
                                                   "gw.images": hostile})
        assert not at.exception, [e.value for e in at.exception]
        text = check_literal(at)
        assert hostile.name in text
        assert any(n in text for n in names)


def test_the_hostile_table_reads_back():
    frame, _ = ingest.read_table(hostile_csv(), name=FILE)
    assert set(frame["sex"]) == {*GROUPS, SMALL} and set(frame.columns) == {TARGET, PRED, "sex", "age", KIND}
