"""User text shown literally: the one escaping function for everything the dashboard renders as Markdown.

Streamlit renders Markdown (GitHub's flavour plus its directives, emoji shortcodes, icons and LaTeX) in
``st.markdown``, ``st.caption``, the alert boxes, ``st.metric``, widget labels and help texts, radio and
segmented-control options, expander, tab and image captions. A file, column, group or class name, a note
or an error sentence that quotes one is written by whoever made the file, so it must reach the browser as
text: ``![](http://host/x.png)`` must not make the browser fetch anything, ``<img>`` must not vanish, a
backtick must not end a code span. Every such string goes through :func:`md` (or :func:`code` for a code
span) before it joins Markdown.
"""

from __future__ import annotations

import re

#: Characters that open an inline construct wherever they stand: escapes, code, emphasis, strikethrough,
#: links and images, HTML and autolinks, entities, maths, tables, e-mail autolinks.
_ALWAYS = re.compile(r"([\\`*_~\[\]<>&$|@])")
#: Line breaks and other control characters would end the paragraph and start new blocks.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
#: What starts a block at the beginning of a line: a heading, a list item, a setext line, a quote.
_BLOCK_START = re.compile(r"^([#+=-]|\d+(?=[.)]))")
#: GitHub's bare autolinks (``www.x``, ``http://x``, ``a@b.c``) ignore backslash escapes: a word joiner
#: (U+2060, invisible) breaks them.
_AUTOLINK = re.compile(r"(?i)(?<=\bwww)(?=\.)|(?=\\@)")
#: ``:smile:`` and ``:material/home:`` become emoji and icons, and ``:red`` alone is a directive (its text
#: vanishes); a word joiner (U+2060, invisible) after a colon that a name follows keeps them all text.
_SHORTCODE = re.compile(r":(?=[A-Za-z0-9_+/\\-])")


def md(value: object) -> str:
    r"""Return ``str(value)`` escaped so that Streamlit's Markdown shows exactly its characters.

    The characters that start Markdown constructs are backslash-escaped (CommonMark lets any ASCII
    punctuation be escaped to stand for itself), line breaks become spaces, what would start a block
    (``# ``, ``- ``, ``1.``) is escaped at the start, and a colon before a name (emoji shortcodes,
    directives) gets an invisible word joiner.
    Plain prose comes back unchanged.

    Examples
    --------
    >>> print(md("**bold** <img src=x> ![](x.png)"))
    \*\*bold\*\* \<img src=x\> !\[\](x.png)
    >>> md("www.example.com") == "www\u2060.example.com"
    True
    >>> md("The four-fifths rule is met: 0.91 (sex=female vs sex=male).")
    'The four-fifths rule is met: 0.91 (sex=female vs sex=male).'
    >>> print(md("# not a heading"))
    \# not a heading
    """
    text = _CONTROL.sub(" ", str(value))
    text = _ALWAYS.sub(r"\\\1", text)
    text = _AUTOLINK.sub("\u2060", text)
    # leading spaces as no-break spaces: no indented code block, and no block can start after them
    text = re.sub(r"^ +", lambda m: "\u00a0" * len(m.group()), text)
    text = _BLOCK_START.sub(lambda m: m.group(1) + "\\" if m.group(1).isdigit() else "\\" + m.group(1), text)
    return _SHORTCODE.sub(":\u2060", text)


def mds(values) -> list[str]:
    """Return :func:`md` of each value (for lists of names joined into Markdown)."""
    return [md(v) for v in values]


def code(value: object) -> str:
    """Return ``str(value)`` as a Markdown code span that shows it literally, backticks included.

    The fence is one backtick longer than the longest run inside (CommonMark's rule), padded with a
    space when the text starts or ends with a backtick.

    Examples
    --------
    >>> code("model.skops")
    '`model.skops`'
    >>> code("a`b")
    '``a`b``'
    >>> code("`x")
    '`` `x ``'
    """
    text = _CONTROL.sub(" ", str(value)) or " "
    runs = [len(r) for r in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
