"""CSV files that a spreadsheet opens safely: text cells and headers cannot be formulas (CSV injection).

OWASP's rule: a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)``, ``=cmd|...``); prefixing it with a
single quote makes it text. The rule applies to text only: numbers stay numbers (``-0.5`` in a numeric
column, or written as text, is not touched). Every CSV that Glasswing writes goes through :func:`neutralise`.
This module is part of the ground: it imports nothing of Glasswing.
"""

from __future__ import annotations

import re
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """Return ``value`` with a leading ``'`` when it is text that a spreadsheet would run as a formula.

    Examples
    --------
    >>> print(safe_cell('=HYPERLINK("http://example.com")'))
    '=HYPERLINK("http://example.com")
    >>> safe_cell("-0.5"), safe_cell(-0.5), safe_cell("female")
    ('-0.5', -0.5, 'female')
    >>> safe_cell("-1+1|cmd")
    "'-1+1|cmd"
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise(frame):
    """Return a copy of a DataFrame whose text cells, column names and index labels are :func:`safe_cell`.

    Numeric columns are left exactly as they are.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"=1+1": ["@SUM(A1)", "ok"], "x": [-0.5, 2.0]})
    >>> neutralise(frame).to_csv(index=False).splitlines()
    ["'=1+1,x", "'@SUM(A1),-0.5", 'ok,2.0']
    """
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
                or pd.api.types.is_datetime64_any_dtype(series)):
            out[column] = series.astype(object).map(safe_cell)
    out.columns = _labels(out.columns)
    out.index = _labels(out.index)
    return out


def _labels(index):
    import pandas as pd

    if isinstance(index, pd.MultiIndex):
        return pd.MultiIndex.from_tuples([tuple(safe_cell(v) for v in t) for t in index],
                                         names=[safe_cell(n) for n in index.names])
    if pd.api.types.is_numeric_dtype(index):
        return index.rename(safe_cell(index.name))
    return pd.Index([safe_cell(v) for v in index], name=safe_cell(index.name), dtype=object)
