"""Numeric sensitive features as named bands, and rare categories merged into "other": one rule everywhere.

A numeric sensitive column with more than ``MAX_VALUES`` distinct values would make every value a group
(about 70 ages), so it is cut into bands: at the cut points the user states (``--bins age=25,45``, the
bins editor of the pages) or, by default, at its quartiles. Bands are named by their bounds, the same way
for any data: ``age <25``, ``age 25-44``, ``age 45+`` for whole numbers (a band holds ``lo <= x < hi``);
``score <0.5``, ``score 0.5 to <0.8``, ``score >=0.8`` otherwise. The audit, the report, the mitigation
and reweighing all call :func:`group_frame`, so the same data gives the same groups everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from glasswing.ingest._errors import IngestError

#: A numeric column with more distinct values than this is banded.
MAX_VALUES = 10
#: Quantiles of the default bands (quartiles).
DEFAULT_QUANTILES = (0.25, 0.5, 0.75)
OTHER = "other"

BAD_BINS = ("--bins {text!r} is not a list of cut points like \"age=25,45\" (a column name, '=', and "
            "numbers separated by commas).")
BINS_NOT_NUMERIC = "Column {column!r} is not numeric, so it cannot be cut into bands at {cuts}."
BINS_UNKNOWN = ("Bins are given for {column!r}, which is not a sensitive column; the sensitive columns are: "
                "{names}.")
BANDED = "{column} has {k:,} distinct values, so it is audited in bands: {bands} ({how})."
MERGED = ("{k:,} values of {column} with fewer than {minimum:,} rows each are merged into one group, "
          "'{other}': {values}.")


def parse_bins(texts: Sequence[str] | str | None) -> dict[str, tuple[float, ...]]:
    """Parse ``["age=25,45", "income=1e4"]`` into ``{"age": (25.0, 45.0), "income": (10000.0,)}``.

    Examples
    --------
    >>> parse_bins(["age=25,45"])
    {'age': (25.0, 45.0)}
    """
    if texts is None:
        return {}
    if isinstance(texts, str):
        texts = [texts]
    out = {}
    for text in texts:
        m = re.fullmatch(r"\s*([^=]+?)\s*=\s*(.*?)\s*", text)
        if m is None:
            raise IngestError(BAD_BINS.format(text=text))
        try:
            cuts = tuple(sorted({float(v) for v in m.group(2).split(",") if v.strip()}))
        except ValueError:
            raise IngestError(BAD_BINS.format(text=text)) from None
        if not cuts or not all(np.isfinite(cuts)):
            raise IngestError(BAD_BINS.format(text=text))
        out[m.group(1)] = cuts
    return out


def needs_bands(series: pd.Series) -> bool:
    """Whether a column is numeric (not boolean) with more than ``MAX_VALUES`` distinct values."""
    return (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
            and series.nunique(dropna=True) > MAX_VALUES)


def default_cuts(series: pd.Series) -> tuple[float, ...]:
    """Quartile cut points (whole numbers for whole-number columns, 3 significant digits otherwise)."""
    values = pd.to_numeric(series, errors="coerce").dropna().to_numpy(dtype=float)
    q = np.quantile(values, DEFAULT_QUANTILES)
    whole = bool(np.all(values == np.round(values)))
    cuts = np.round(q) if whole else np.array([float(f"{v:.3g}") for v in q])
    cuts = sorted({float(c) for c in cuts if values.min() < c <= values.max()})
    return tuple(cuts)


def _number(v: float, whole: bool) -> str:
    return f"{int(v)}" if whole else f"{v:g}"


def band_labels(column: str, cuts: Sequence[float], whole: bool) -> list[str]:
    """Names of the bands ``(-inf, c1), [c1, c2), ..., [ck, inf)``.

    Examples
    --------
    >>> band_labels("age", [25, 45], whole=True)
    ['age <25', 'age 25-44', 'age 45+']
    >>> band_labels("score", [0.5], whole=False)
    ['score <0.5', 'score >=0.5']
    """
    cuts = list(cuts)
    names = [f"{column} <{_number(cuts[0], whole)}"]
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        if whole and float(lo).is_integer() and float(hi).is_integer():
            names.append(f"{column} {int(lo)}-{int(hi) - 1}" if hi - lo > 1 else f"{column} {int(lo)}")
        else:
            names.append(f"{column} {_number(lo, whole)} to <{_number(hi, whole)}")
    last = cuts[-1]
    names.append(f"{column} {_number(last, whole)}+" if whole else f"{column} >={_number(last, whole)}")
    return names


def cut(series: pd.Series, cuts: Sequence[float], column: str | None = None) -> pd.Series:
    """Return the column as an ordered categorical of named bands (missing values stay missing)."""
    column = str(series.name) if column is None else column
    values = pd.to_numeric(series, errors="coerce")
    finite = values.dropna().to_numpy(dtype=float)
    whole = bool(len(finite) == 0 or np.all(finite == np.round(finite))) and all(
        float(c).is_integer() for c in cuts)
    names = band_labels(column, cuts, whole)
    codes = np.searchsorted(np.asarray(cuts, dtype=float), values.to_numpy(dtype=float), side="right")
    codes = np.where(values.isna().to_numpy(), -1, codes)
    return pd.Series(pd.Categorical.from_codes(codes, categories=names, ordered=True), index=series.index,
                     name=series.name)


def merge_rare(series: pd.Series, minimum: int) -> tuple[pd.Series, list]:
    """Merge the categories with fewer than ``minimum`` rows into one group named ``"other"``."""
    counts = series.value_counts(dropna=True)
    rare = [v for v, k in counts.items() if k < minimum]
    if len(rare) < 2:
        return series, []
    merged = series.astype(object).where(~series.isin(rare), OTHER)
    return merged.rename(series.name), rare


@dataclass(frozen=True)
class Grouping:
    """How the sensitive columns become groups: cut points per banded column and the rare values merged."""

    cuts: dict = field(default_factory=dict)
    merged: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """JSON-safe form (the report and the JSON export state it)."""
        return {"bins": {k: list(v) for k, v in self.cuts.items()},
                "merged": {k: [str(x) for x in v] for k, v in self.merged.items()}, "notes": list(self.notes)}


def grouping(frame: pd.DataFrame, columns: Sequence[str], bins: Mapping[str, Sequence[float]] | None = None,
             *, merge_below: int = 0) -> Grouping:
    """Decide the bands (stated ``bins``, else quartiles for numeric columns with many values) and merges.

    Raises
    ------
    IngestError
        For bins of a column that is not among ``columns`` or is not numeric.
    """
    bins = dict(bins or {})
    for column, cuts in bins.items():
        if column not in columns:
            raise IngestError(BINS_UNKNOWN.format(column=column, names=", ".join(map(str, columns))))
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise IngestError(BINS_NOT_NUMERIC.format(column=column, cuts=", ".join(f"{c:g}" for c in cuts)))
    cuts, merged, notes = {}, {}, []
    for column in columns:
        series = frame[column]
        if column in bins or needs_bands(series):
            chosen = tuple(float(c) for c in bins[column]) if column in bins else default_cuts(series)
            if not chosen:
                continue
            cuts[column] = chosen
            banded = cut(series, chosen, str(column))
            how = ("at the cut points given" if column in bins else
                   "at its quartiles; state cut points with --bins or the bins editor")
            notes.append(BANDED.format(column=column, k=series.nunique(dropna=True),
                                       bands=", ".join(banded.cat.categories), how=how))
        elif merge_below > 1:
            _, rare = merge_rare(series, merge_below)
            if rare:
                merged[column] = tuple(rare)
                shown = ", ".join(map(str, rare[:8])) + (" ..." if len(rare) > 8 else "")
                notes.append(MERGED.format(k=len(rare), column=column, minimum=merge_below, other=OTHER,
                                           values=shown))
    return Grouping(cuts, merged, tuple(notes))


def group_frame(frame: pd.DataFrame, columns: Sequence[str],
                bins: Mapping[str, Sequence[float]] | None = None, *, merge_below: int = 0,
                rule: Grouping | None = None) -> tuple[pd.DataFrame, Grouping]:
    """Return the sensitive columns as the audit's groups, banded and merged by the one rule.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    columns : sequence of str
        The sensitive columns.
    bins : mapping, optional
        Column -> cut points (``parse_bins`` output). Numeric columns with many values not named here are
        cut at their quartiles.
    merge_below : int, default 0
        Merge the categories of a non-banded column with fewer rows than this into ``"other"``.
    rule : Grouping, optional
        Apply a rule decided on other data (training rows banded like the test rows).

    Returns
    -------
    (pandas.DataFrame, Grouping)
        One column per sensitive feature (the original values, bands or merged values) and the rule.

    Examples
    --------
    >>> frame = pd.DataFrame({"age": [19, 30, 50, 61] * 5 + list(range(20, 40))})
    >>> groups, rule = group_frame(frame, ["age"], {"age": [25, 45]})
    >>> groups["age"].iloc[:4].tolist()
    ['age <25', 'age 25-44', 'age 45+', 'age 45+']
    """
    rule = rule if rule is not None else grouping(frame, columns, bins, merge_below=merge_below)
    out = {}
    for column in columns:
        series = frame[column]
        if column in rule.cuts:
            out[column] = cut(series, rule.cuts[column], str(column))
        elif column in rule.merged:
            out[column] = series.astype(object).where(~series.isin(list(rule.merged[column])), OTHER)
        else:
            out[column] = series
    return pd.DataFrame(out, index=frame.index), rule
