"""Categorical columns as numbers (and back), for the samplers of LIME and Kernel/Permutation SHAP."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


class Codec:
    """Codes a table's categorical columns as integers (and back), for samplers that need numbers.

    A column is categorical when an encoder in the model learned categories for it or when it is not
    numeric. Categories are the encoder's, then any other value seen in ``frames``.
    """

    def __init__(self, columns: Sequence[str], frames: Sequence[pd.DataFrame], categories: dict):
        self.columns = list(columns)
        self.dtypes = {c: frames[0][c].dtype for c in self.columns}
        self.categories: dict[str, np.ndarray] = {}
        for c in self.columns:
            if c in categories or not pd.api.types.is_numeric_dtype(self.dtypes[c]):
                values = pd.concat([f[c] for f in frames], ignore_index=True)
                known = list(categories.get(c, ()))
                seen = pd.unique(values.dropna()).tolist()
                extra = sorted((v for v in seen if v not in set(known)), key=str)
                missing = [None] if values.isna().any() else []  # a missing value is a category of its own
                self.categories[c] = np.array(known + extra + missing, dtype=object)

    @property
    def categorical_indices(self) -> list[int]:
        """Positions of the categorical columns."""
        return [i for i, c in enumerate(self.columns) if c in self.categories]

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Return ``frame`` as a float matrix, categorical values replaced by their category's index."""
        out = np.empty((len(frame), len(self.columns)))
        for i, c in enumerate(self.columns):
            if c in self.categories:
                lookup = {v: k for k, v in enumerate(self.categories[c].tolist())}
                column = frame[c].astype(object).where(frame[c].notna(), None)
                out[:, i] = [lookup.get(v, np.nan) for v in column.tolist()]
            else:
                out[:, i] = frame[c].to_numpy(dtype=float)
        return out

    def decode(self, Z: np.ndarray) -> pd.DataFrame:
        """Return the table ``encode`` would turn into ``Z`` (category indices rounded to the nearest)."""
        data = {}
        for i, c in enumerate(self.columns):
            if c in self.categories:
                cats = self.categories[c]
                codes = np.clip(np.nan_to_num(Z[:, i], nan=0).round().astype(int), 0, len(cats) - 1)
                data[c] = _restore_dtype(cats[codes], self.dtypes[c])
            else:
                data[c] = Z[:, i]
        return pd.DataFrame(data, columns=self.columns)


def _restore_dtype(col: np.ndarray, dtype: Any) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(dtype) and not any(v is None for v in col):
        return col.astype(dtype)
    return col
