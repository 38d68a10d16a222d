"""Which rows to explain: the row-selection grammar, filters on values and outcomes, seeded samples.

One grammar everywhere (``glasswing explain --rows``, ``glasswing report --rows``, the pages): comma-
separated indices and ``start:stop`` ranges, 0-based, ``stop`` excluded, ``start:`` to the last row.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from glasswing.explainers._registry import ExplainerError
from glasswing.ingest._sampling import sample_positions

ROW_OUT_OF_RANGE = "Row {row} is out of range; the data has {n:,} rows (0 to {last:,})."
BAD_ROW_SPEC = "'{spec}' is not a row selection; use an index (7), a range (0:100) or a list (3,7,9)."
NOT_A_NUMBER = "'{value}' is not a number, and {column} is numeric; type a number such as 50."
NO_MATCH = "No row matches this filter; loosen a condition."
NO_TARGET = "Filtering by outcome needs the data's target column; choose one on the Model & data page."

#: Outcomes a row can be filtered by (its confusion cell against the positive label).
OUTCOMES = ("any outcome", "false negatives", "false positives", "true positives", "true negatives",
            "wrong predictions")
OPERATORS = ("==", "!=", ">", ">=", "<", "<=")

__all__ = ["OPERATORS", "OUTCOMES", "filter_rows", "outcome_mask", "rows_from_spec", "sample_positions",
           "sample_rows"]


def rows_from_spec(spec: str | int, n_rows: int) -> list[int]:
    """Parse a row selection such as ``"7"``, ``"0:100"``, ``"5:"`` or ``"0:3,7"`` (``a:b`` excludes ``b``).

    Parameters
    ----------
    spec : str or int
        Comma-separated indices and ``start:stop`` ranges (0-based, ``stop`` excluded; ``start:`` runs to
        the last row).
    n_rows : int
        How many rows the data has.

    Returns
    -------
    list of int

    Raises
    ------
    ExplainerError
        For text that is not a row selection, or rows outside the data.

    Examples
    --------
    >>> rows_from_spec("0:3,7", 10)
    [0, 1, 2, 7]
    >>> rows_from_spec("8:", 10)
    [8, 9]
    """
    rows: list[int] = []
    text = str(spec).replace(" ", "")
    if not text:
        raise ExplainerError(BAD_ROW_SPEC.format(spec=spec))
    for part in text.split(","):
        match = re.fullmatch(r"(\d*):(\d*)|(\d+)", part)
        if match is None:
            raise ExplainerError(BAD_ROW_SPEC.format(spec=spec))
        if match.group(3) is not None:
            rows.append(int(match.group(3)))
        else:
            start = int(match.group(1) or 0)
            stop = int(match.group(2)) if match.group(2) else n_rows
            if start >= n_rows:
                raise ExplainerError(ROW_OUT_OF_RANGE.format(row=start, n=n_rows, last=n_rows - 1))
            if start >= stop:
                raise ExplainerError(BAD_ROW_SPEC.format(spec=spec))
            if stop > n_rows:
                raise ExplainerError(ROW_OUT_OF_RANGE.format(row=stop - 1, n=n_rows, last=n_rows - 1))
            rows.extend(range(start, stop))
    beyond = [row for row in rows if row >= n_rows]
    if beyond:
        raise ExplainerError(ROW_OUT_OF_RANGE.format(row=max(beyond), n=n_rows, last=n_rows - 1))
    return rows


def sample_rows(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Return a seeded random sample of ``n`` rows of ``frame`` (all of it when it has no more)."""
    if len(frame) <= n:
        return frame
    return frame.iloc[sample_positions(len(frame), n, seed)]


def outcome_mask(y_true: Any, y_pred: Any, positive: Any, outcome: str) -> np.ndarray:
    """Boolean mask of the rows whose confusion cell is ``outcome`` (one of :data:`OUTCOMES`).

    Examples
    --------
    >>> outcome_mask([1, 1, 0], [0, 1, 1], 1, "false negatives").tolist()
    [True, False, False]
    """
    actual = np.asarray(y_true) == positive
    said = np.asarray(y_pred) == positive
    if outcome == OUTCOMES[0]:
        return np.ones(len(actual), dtype=bool)
    return {"false negatives": actual & ~said, "false positives": ~actual & said,
            "true positives": actual & said, "true negatives": ~actual & ~said,
            "wrong predictions": actual != said}[outcome]


def filter_rows(frame: pd.DataFrame, y_true: pd.Series | None, y_pred: np.ndarray | None, positive: Any,
                outcome: str, conditions: list[tuple[str, str, str]]) -> np.ndarray:
    """Positions of the rows with this outcome that meet every ``(column, operator, text)`` condition.

    A numeric column compares with the number typed; any other column compares as text.

    Raises
    ------
    ExplainerError
        When a number is expected and the text is not one, or an outcome is asked for without a target.

    Examples
    --------
    >>> frame = pd.DataFrame({"sex": ["female", "male", "female"], "age": [55, 60, 30]})
    >>> filter_rows(frame, pd.Series([1, 1, 1]), np.array([0, 0, 0]), 1, "false negatives",
    ...             [("sex", "==", "female"), ("age", ">", "50")]).tolist()
    [0]
    """
    mask = np.ones(len(frame), dtype=bool)
    if outcome != OUTCOMES[0]:
        if y_true is None:
            raise ExplainerError(NO_TARGET)
        mask &= outcome_mask(y_true, y_pred, positive, outcome)
    for column, op, text in conditions:
        col = frame[column]
        if pd.api.types.is_numeric_dtype(col):
            try:
                value: Any = float(text)
            except ValueError:
                raise ExplainerError(NOT_A_NUMBER.format(value=text, column=column)) from None
        else:
            col, value = col.astype(str), str(text).strip()
        mask &= {"==": col == value, "!=": col != value, ">": col > value, ">=": col >= value,
                 "<": col < value, "<=": col <= value}[op].to_numpy()
    return np.flatnonzero(mask)
