"""``Dataset``: a table plus the role of each column (target, prediction, score, sensitive, feature)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from glasswing.ingest._roles import ColumnRoles, apply_roles


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated table with column roles, a name and the SHA-256 of the bytes it was read from.

    ``notes`` are sentences about how the file was read (duplicated column names renamed, the text
    encoding guessed), for the Model & data page and the reports.
    """

    frame: pd.DataFrame
    roles: ColumnRoles = field(default_factory=ColumnRoles)
    name: str = "data"
    sha256: str = ""
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def X(self) -> pd.DataFrame:  # noqa: N802 - sklearn's name for the feature matrix
        """The feature columns, in role order."""
        return self.frame.loc[:, list(self.roles.features)]

    @property
    def y_true(self) -> pd.Series | None:
        """The target column, or None when the data has no target role."""
        return self.frame[self.roles.target] if self.roles.target else None

    @property
    def y_pred(self) -> pd.Series | None:
        """The logged prediction column, or None."""
        return self.frame[self.roles.prediction] if self.roles.prediction else None

    @property
    def scores(self) -> pd.Series | None:
        """The logged score column, or None."""
        return self.frame[self.roles.score] if self.roles.score else None

    @property
    def sensitive_frame(self) -> pd.DataFrame:
        """The sensitive columns (one or several)."""
        return self.frame.loc[:, list(self.roles.sensitive)]

    @property
    def positive_label(self):
        """The label counted as the favourable/positive outcome (the larger label when unset)."""
        if self.roles.positive_label is not None:
            return self.roles.positive_label
        if self.roles.target is None:
            return None
        values = pd.unique(self.frame[self.roles.target].dropna())
        return sorted(values.tolist())[-1] if len(values) else None

    def with_roles(self, **changes) -> Dataset:
        """Return a copy with some roles changed, validated by ``ingest.validate_roles``.

        As in ``ingest.load_dataset``, a target with more than two values and a ``positive_label`` is
        binarised one-vs-rest in the copy.
        """
        roles = replace(self.roles, **{k: tuple(v) if k in ("sensitive", "features") else v
                                       for k, v in changes.items()})
        frame, roles = apply_roles(self.frame, roles, name=self.name)
        return replace(self, frame=frame, roles=roles)

    def sample(self, n: int, *, seed: int = 0) -> Dataset:
        """Return a seeded random sample of ``n`` rows (all rows when ``n >= len(self)``)."""
        if n >= len(self.frame):
            return self
        idx = np.random.default_rng(seed).choice(len(self.frame), size=n, replace=False)
        return replace(self, frame=self.frame.iloc[np.sort(idx)])
