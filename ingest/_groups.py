"""Which columns can define the groups of an audit, next to the role suggestions of ``ingest._roles``."""

from __future__ import annotations

import pandas as pd

from glasswing.ingest._bands import needs_bands
from glasswing.ingest._roles import ColumnRoles

#: A column with more distinct values than this defines no groups as it is (a numeric one is banded).
MAX_GROUPS_PER_COLUMN = 50


def group_columns(frame: pd.DataFrame, roles: ColumnRoles) -> list[str]:
    """Return the columns that can define groups: 2 to 50 distinct values, not target, prediction or score.

    Whole-number columns with more values (ages) are offered too: they are cut into bands
    (``ingest.group_frame``). Floating-point columns are offered only when they are already sensitive.

    Examples
    --------
    >>> frame = pd.DataFrame({"sex": ["F", "M", "F"], "y": [1, 0, 1], "id": ["a", "b", "c"]})
    >>> group_columns(frame, ColumnRoles(target="y"))
    ['sex', 'id']
    """
    skip = {roles.target, roles.prediction, roles.score}
    out = []
    for col in frame.columns:
        series = frame[col]
        if col in skip or (series.dtype.kind == "f" and col not in roles.sensitive):
            continue
        if 2 <= series.nunique(dropna=True) <= MAX_GROUPS_PER_COLUMN or needs_bands(series):
            out.append(col)
    return out
