"""Audit history: every audit run the user saves, in an embedded SQLite database (PostgreSQL optional).

The database lives in ``glasswing._paths.data_dir() / "history.sqlite3"`` unless the
``GLASSWING_HISTORY_URL`` environment variable (or the ``url`` argument) names another one:
``sqlite:///path/to/file.sqlite3`` or ``postgresql://user@host/db`` (needs the ``psycopg`` package).

Guarantees: the schema is versioned (SQLite ``PRAGMA user_version``, a ``glasswing_schema`` table on
PostgreSQL) and migrated forward in a transaction; every write is one transaction (SQLite: ``BEGIN
IMMEDIATE`` in WAL mode with ``synchronous=FULL``; PostgreSQL: writers queue on a lock of
``glasswing_schema``, and reads run outside any transaction), so a writer killed mid-write loses at most the
run it was writing and never an earlier one; a database written by a newer Glasswing is opened read-only; a
locked database is waited for (``busy_timeout``; PostgreSQL's ``lock_timeout``) and then reported in one
sentence. Runs are never updated or deleted.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import math
import os
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from glasswing import __version__
from glasswing._paths import data_dir
from glasswing._plain import json_safe
from glasswing.audits._history_backends import (
    HistoryError,
    _Postgres,
    _redact,
    _SQLite,
)

log = logging.getLogger(__name__)

#: The schema this version of Glasswing writes. Bump it and append to ``_MIGRATIONS`` to change it.
SCHEMA_VERSION = 1
HISTORY_FILE = "history.sqlite3"
URL_ENV = "GLASSWING_HISTORY_URL"
DEFAULT_BUSY_TIMEOUT = 5.0

NEWER_SCHEMA = ("This history database was written by a newer Glasswing (schema {found}); upgrade Glasswing "
                "to open it.")
NEWER_SCHEMA_READ_ONLY = ("This history database was written by a newer Glasswing (schema {found}); it is "
                          "open read-only, so this run was not saved: upgrade Glasswing to save runs.")
UNKNOWN_RUN = "There is no saved run with id {run_id}; saved runs: {ids}."
UNKNOWN_SCHEME = "The history URL '{url}' is not supported; use sqlite:///PATH or postgresql://USER@HOST/DB."
NOT_A_RUN = "A saved run needs {what}; this one has none."

# Summary keys where a smaller value is fairer (differences) and where a value nearer 1 is (ratios).
_LOWER_IS_FAIRER = ("difference",)
_CLOSER_TO_ONE_IS_FAIRER = ("ratio",)
TOLERANCE = 1e-9


@dataclass(frozen=True)
class AuditRun:
    """One saved audit run.

    Attributes
    ----------
    title : str
        What the run is called in the history list.
    model_name, version_label : str
        The model's display name and the version label the user gave it ("v1", "retrained").
    model_sha256, dataset_sha256 : str
        Fingerprints of the exact model file and data file audited.
    audit : dict
        ``GroupMetrics.to_dict()``: ``{"overall": ..., "by_group": [...], "summary": {...}}``.
    roles : dict
        Column roles (target, prediction, score, sensitive, features).
    mitigation : dict or None
        A mitigation tried, with before/after summaries, when one was.
    report : dict or None
        The full report model (``reports.Report.to_dict()``), so the run re-exports exactly.
    id, created_at : int or None, str
        Set by the history when the run is saved.
    """

    title: str
    audit: dict
    model_name: str = ""
    version_label: str = ""
    model_sha256: str = ""
    dataset_name: str = ""
    dataset_sha256: str = ""
    n_rows: int = 0
    roles: dict = field(default_factory=dict)
    mitigation: dict | None = None
    notes: str = ""
    reviewer: str = ""
    report: dict | None = None
    glasswing_version: str = __version__
    id: int | None = None
    created_at: str = ""

    @property
    def label(self) -> str:
        """A one-line name for pickers: ``#3 Credit audit (german_gbm v2)``."""
        model = " ".join(p for p in (self.model_name, self.version_label) if p)
        return f"#{self.id} {self.title}" + (f" ({model})" if model else "")


# ---------------------------------------------------------------------------------------- schema
# The runs table, once for every dialect: (name, type, constraint). Types in _DIALECT_TYPES are spelled per
# dialect; the rest are the same everywhere, so the SQLite and PostgreSQL schemas cannot drift apart.
_RUN_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("id", "ID", ""),
    ("created_at", "TEXT", "NOT NULL"),
    ("title", "TEXT", "NOT NULL"),
    ("model_name", "TEXT", "NOT NULL DEFAULT ''"),
    ("version_label", "TEXT", "NOT NULL DEFAULT ''"),
    ("model_sha256", "TEXT", "NOT NULL DEFAULT ''"),
    ("dataset_name", "TEXT", "NOT NULL DEFAULT ''"),
    ("dataset_sha256", "TEXT", "NOT NULL DEFAULT ''"),
    ("n_rows", "BIGINT", "NOT NULL DEFAULT 0"),
    ("roles_json", "TEXT", "NOT NULL"),
    ("audit_json", "TEXT", "NOT NULL"),
    ("mitigation_json", "TEXT", ""),
    ("notes", "TEXT", "NOT NULL DEFAULT ''"),
    ("reviewer", "TEXT", "NOT NULL DEFAULT ''"),
    ("report_json", "TEXT", ""),
    ("glasswing_version", "TEXT", "NOT NULL"),
)
_DIALECT_TYPES = {
    "sqlite": {"ID": "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT": "INTEGER"},
    "postgresql": {"ID": "BIGSERIAL PRIMARY KEY", "BIGINT": "BIGINT"},
}


def _create_runs(dialect: str) -> str:
    """Return the ``CREATE TABLE runs`` statement of schema 1 in ``dialect``."""
    types = _DIALECT_TYPES[dialect]
    columns = [" ".join(filter(None, (name, types.get(kind, kind), constraint)))
               for name, kind, constraint in _RUN_COLUMNS]
    return "CREATE TABLE runs (\n    " + ",\n    ".join(columns) + "\n)"


#: _MIGRATIONS[dialect][i] takes the schema from version i to version i + 1.
_MIGRATIONS: dict[str, list[str]] = {dialect: [_create_runs(dialect)] for dialect in _DIALECT_TYPES}
_SCALAR = ("id", "created_at", "title", "model_name", "version_label", "model_sha256", "dataset_name",
           "dataset_sha256", "n_rows", "notes", "reviewer", "glasswing_version")
_JSON = {"roles": "roles_json", "audit": "audit_json", "mitigation": "mitigation_json",
         "report": "report_json"}
LIST_COLUMNS = ("id", "created_at", "title", "model_name", "version_label", "model_sha256", "dataset_name",
                "dataset_sha256", "n_rows", "reviewer")


_json_safe = json_safe


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(_json_safe(value), allow_nan=False, sort_keys=True)


class History:
    """The saved audit runs. Open with :func:`open_history`; use as a context manager to close it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from audits import AuditRun, open_history
    >>> with open_history(f"sqlite:///{tempfile.mkdtemp()}/h.sqlite3") as history:
    ...     run_id = history.save(AuditRun(title="Credit audit", audit={"summary": {}}))
    ...     history.get(run_id).title
    'Credit audit'
    """

    def __init__(self, backend: _SQLite | _Postgres):
        self._db = backend
        self.where = backend.where
        try:
            self.schema_found = backend.schema_version()
            if self.schema_found < SCHEMA_VERSION:
                self._migrate()
        except (sqlite3.Error, getattr(backend, "_errors", sqlite3.Error)) as err:
            backend.close()
            raise backend.translate(err) from err
        except BaseException:
            backend.close()
            raise
        #: True when the database was written by a newer Glasswing: runs can be listed, not saved.
        self.read_only = self.schema_found > SCHEMA_VERSION
        if self.read_only:
            log.warning(NEWER_SCHEMA.format(found=self.schema_found))

    # -- lifecycle
    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def _migrate(self) -> None:
        with self._db.write() as cur:
            found = self._db.schema_version()  # again, under the write lock: another process may have won
            for version in range(found, SCHEMA_VERSION):
                log.info("Migrating the history database %s to schema %d", self.where, version + 1)
                cur.execute(_MIGRATIONS[self._db.dialect][version])
            if found < SCHEMA_VERSION:
                self._db.set_schema_version(SCHEMA_VERSION)
        self.schema_found = max(found, SCHEMA_VERSION)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except HistoryError:
            raise
        except (sqlite3.Error, getattr(self._db, "_errors", sqlite3.Error)) as err:
            if self.schema_found > SCHEMA_VERSION:  # a newer layout we cannot read
                raise HistoryError(NEWER_SCHEMA.format(found=self.schema_found)) from err
            raise self._db.translate(err) from err

    # -- writing
    def save(self, run: AuditRun) -> int:
        """Store ``run`` as a new entry in one transaction and return its id.

        Raises
        ------
        HistoryError
            When the database is locked past the busy timeout, or was written by a newer Glasswing.
        """
        if self.read_only:
            raise HistoryError(NEWER_SCHEMA_READ_ONLY.format(found=self.schema_found))
        if not run.title.strip():
            raise HistoryError(NOT_A_RUN.format(what="a title"))
        if not isinstance(run.audit, Mapping) or not run.audit:
            raise HistoryError(NOT_A_RUN.format(what="an audit result"))
        created = run.created_at or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        values = {name: getattr(run, name) for name in _SCALAR if name != "id"}
        values["created_at"] = created
        values["n_rows"] = int(values["n_rows"])
        values.update({col: _dumps(getattr(run, attr)) for attr, col in _JSON.items()})
        values["roles_json"] = values["roles_json"] or "{}"
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self._errors(), self._db.write() as cur:
            cur.execute(self._db.sql(f"INSERT INTO runs ({columns}) VALUES ({marks}) RETURNING id"),
                        tuple(values.values()))
            run_id = int(cur.fetchone()[0])
        log.info("Saved audit run %d (%s) to %s", run_id, run.title, self.where)
        return run_id

    # -- reading
    def list_runs(self) -> pd.DataFrame:
        """Return one row per saved run, newest first, without audit bodies (columns: ``LIST_COLUMNS``)."""
        with self._errors():
            rows = self._db.query(f"SELECT {', '.join(LIST_COLUMNS)} FROM runs ORDER BY id DESC")
        return pd.DataFrame(rows, columns=list(LIST_COLUMNS))

    def ids(self) -> list[int]:
        """Return the ids of every saved run, oldest first."""
        with self._errors():
            return [int(r[0]) for r in self._db.query("SELECT id FROM runs ORDER BY id")]

    def get(self, run_id: int) -> AuditRun:
        """Return the saved run ``run_id``.

        Raises
        ------
        HistoryError
            When there is no such run (the message lists the saved ids).
        """
        columns = [*_SCALAR, *_JSON.values()]
        with self._errors():
            rows = self._db.query(f"SELECT {', '.join(columns)} FROM runs WHERE id = ?", (int(run_id),))
        if not rows:
            ids = self.ids()
            shown = ", ".join(map(str, ids[-20:])) if ids else "none yet"
            raise HistoryError(UNKNOWN_RUN.format(run_id=run_id, ids=shown))
        record = dict(zip(columns, rows[0], strict=True))
        kwargs = {name: record[name] for name in _SCALAR}
        for attr, col in _JSON.items():
            kwargs[attr] = None if record[col] is None else json.loads(record[col])
        kwargs["roles"] = kwargs["roles"] or {}
        return AuditRun(**kwargs)

    def __len__(self) -> int:
        with self._errors():
            return int(self._db.query("SELECT count(*) FROM runs")[0][0])


def history_location(url: str | None = None) -> str:
    """Return where the history lives: ``url``, else ``$GLASSWING_HISTORY_URL``, else the data folder."""
    url = url or os.environ.get(URL_ENV, "").strip()
    return url or f"sqlite:///{data_dir() / HISTORY_FILE}"


def open_history(url: str | None = None, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> History:
    """Open (creating or migrating when needed) the audit history.

    Parameters
    ----------
    url : str, optional
        ``sqlite:///PATH`` or ``postgresql://...``; a plain path means a SQLite file. Default:
        ``$GLASSWING_HISTORY_URL``, else ``history.sqlite3`` in Glasswing's data folder.
    busy_timeout : float
        Seconds to wait for another writer before giving up with a sentence.

    Returns
    -------
    History

    Raises
    ------
    HistoryError
        The database is not readable, locked, or needs a missing driver.
    """
    location = history_location(url)
    if location.startswith(("postgresql://", "postgres://")):
        return History(_Postgres(location, busy_timeout))
    if location.startswith("sqlite:///"):
        # SQLAlchemy's convention: sqlite:///relative/path, sqlite:////absolute/path.
        return History(_SQLite(Path(location[len("sqlite:///"):]), busy_timeout))
    if "://" in location:
        raise HistoryError(UNKNOWN_SCHEME.format(url=_redact(location)))
    return History(_SQLite(Path(location), busy_timeout))


# ---------------------------------------------------------------------------------------- comparison
def _fairer_direction(metric: str) -> str | None:
    if any(metric.endswith(s) for s in _LOWER_IS_FAIRER):
        return "lower"
    if any(metric.endswith(s) for s in _CLOSER_TO_ONE_IS_FAIRER):
        return "closer_to_one"
    return None


def headline_summary(audit: Mapping) -> dict:
    """Return the summary an audit leads with: its headline's (adequate groups), else ``summary``."""
    headline = audit.get("headline")
    head = headline.get("summary") if isinstance(headline, Mapping) else None
    return dict(head if head is not None else audit.get("summary") or {})


def compare_runs(before: AuditRun | Mapping, after: AuditRun | Mapping) -> pd.DataFrame:
    """Compare the disparity summaries of two runs: which disparities improved, which got worse.

    Parameters
    ----------
    before, after : AuditRun or dict
        Saved runs, or audit dicts in ``GroupMetrics.to_dict()`` shape.

    Returns
    -------
    pandas.DataFrame
        One row per disparity found in both summaries (``*_difference``: fairer when nearer 0;
        ``*_ratio``: fairer when nearer 1), with columns ``metric``, ``before``, ``after``, ``delta``
        (after - before) and ``change``: ``"improved"``, ``"worse"``, ``"unchanged"`` or ``"n/a"``.

    Examples
    --------
    >>> a = {"summary": {"demographic_parity_difference": 0.20}}
    >>> b = {"summary": {"demographic_parity_difference": 0.05}}
    >>> compare_runs(a, b)[["metric", "change"]].values.tolist()
    [['demographic_parity_difference', 'improved']]
    """
    a, b = (headline_summary(r.audit if isinstance(r, AuditRun) else r) for r in (before, after))
    rows = []
    for metric in [m for m in a if m in b]:
        direction = _fairer_direction(metric)
        if direction is None:
            continue
        x, y = _as_float(a[metric]), _as_float(b[metric])
        if not (math.isfinite(x) and math.isfinite(y)):
            change = "n/a"
        else:
            gap_before, gap_after = (abs(x), abs(y)) if direction == "lower" else (abs(1 - x), abs(1 - y))
            if abs(gap_after - gap_before) <= TOLERANCE:
                change = "unchanged"
            else:
                change = "improved" if gap_after < gap_before else "worse"
        rows.append({"metric": metric, "before": x, "after": y, "delta": y - x, "change": change})
    return pd.DataFrame(rows, columns=["metric", "before", "after", "delta", "change"])


def _as_float(value: Any) -> float:
    """Return a summary value as a float (None, booleans and text become NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def run_to_dict(run: AuditRun) -> dict:
    """Return ``run`` as a JSON-safe dict (what ``glasswing history export --out run.json`` writes)."""
    return _json_safe(asdict(run))


def run_from_dict(data: Mapping) -> AuditRun:
    """Build an :class:`AuditRun` from :func:`run_to_dict`'s output (unknown keys are ignored)."""
    names = {f.name for f in fields(AuditRun)}
    return AuditRun(**{k: v for k, v in data.items() if k in names})
