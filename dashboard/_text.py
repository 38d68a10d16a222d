"""User text shown literally: the one escaping function for everything the dashboard renders as Markdown.

Streamlit renders Markdown (with its directives, emoji shortcodes and LaTeX) in ``st.markdown``,
``st.caption``, the alert boxes, ``st.metric``, widget labels, radio and segmented-control options,
expander and tab labels. A file, column, group or class name, a note or an error sentence that quotes one
is written by whoever made the file, so it must reach the browser as text: ``![](http://host/x.png)``
must not make the browser fetch anything, ``<img>`` must not vanish, a backtick must not end a code span.
Every such string goes through :func:`md` (or :func:`code` for a code span) before it joins Markdown.
"""

from __future__ import annotations

import re
import string

#: Every ASCII punctuation character: CommonMark lets each be backslash-escaped to stand for itself.
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
#: Line breaks and other control characters would start new blocks (lists, headings, code blocks).
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
#: A colon followed by a letter could still start an emoji shortcode or an icon (``:smile:``,
#: ``:material/x:``) after unescaping; a zero-width joiner after it keeps the text as it reads.
_COLON = re.compile(r"\\:(?=\S)")


def md(value: object) -> str:
    r"""Return ``str(value)`` escaped so that Streamlit's Markdown shows exactly its characters.

    Every ASCII punctuation character is backslash-escaped (links, images, HTML, emphasis, code spans,
    directives such as ``:red[...]``, ``$`` maths), line breaks become spaces, and a colon followed by
    more text gets an invisible word joiner (U+2060) after it so that no emoji shortcode or icon forms.

    Examples
    --------
    >>> print(md("**bold** <img src=x>"))
    \*\*bold\*\* \<img src\=x\>
    >>> print(md("![](x.png)"))
    \!\[\]\(x\.png\)
    """
    text = _CONTROL.sub(" ", str(value))
    return _COLON.sub("\\\\:\u2060", _PUNCTUATION.sub(r"\\\1", text))


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


def mds(values) -> list[str]:
    """Return :func:`md` of each value (for lists of names joined into Markdown)."""
    return [md(v) for v in values]
