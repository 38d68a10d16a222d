"""The audit history's storage backends: SQLite (embedded, the default) and PostgreSQL.

Each backend opens its database, translates driver errors into one-sentence ``HistoryError``s, and gives the
history API (``audits._history``) the same few operations: the schema version, a write transaction, a
read query and a dialect's SQL.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from glasswing._errors import GlasswingError
from glasswing._secrets import redact, without_password
from glasswing.ingest._engines import first_line

log = logging.getLogger(__name__)

LOCKED = ("The history database {where} is locked by another program (waited {seconds:g} s); nothing was "
          "changed: try again when the other writer has finished.")
NOT_A_DATABASE = "The file {where} is not a Glasswing history database (SQLite could not read it)."
CANNOT_OPEN = "The history database {where} cannot be opened: {reason}."
NEEDS_PSYCOPG = ("A PostgreSQL history ({url}) needs the psycopg package: pip install 'glasswing[postgres]', "
                 "or unset GLASSWING_HISTORY_URL to use the local SQLite history.")


class HistoryError(GlasswingError):
    """The audit history cannot be read or written; the sentence says why and what to do."""


class _SQLite:
    dialect = "sqlite"

    def __init__(self, path: Path, busy_timeout: float):
        self.where = str(path)
        self.busy_timeout = busy_timeout
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                                        check_same_thread=False)
        except (sqlite3.Error, OSError) as err:
            raise HistoryError(CANNOT_OPEN.format(where=path, reason=err)) from err
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            # WAL: readers never block the writer and a crash mid-transaction leaves earlier commits intact.
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as err:
            self.conn.close()
            raise self.translate(err) from err

    def translate(self, err: Exception) -> HistoryError:
        text = str(err).lower()
        if "locked" in text or "busy" in text:
            return HistoryError(LOCKED.format(where=self.where, seconds=self.busy_timeout))
        if "not a database" in text or "malformed" in text or "file is encrypted" in text:
            return HistoryError(NOT_A_DATABASE.format(where=self.where))
        return HistoryError(CANNOT_OPEN.format(where=self.where, reason=str(err).rstrip(".")))

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, version: int) -> None:
        self.conn.execute(f"PRAGMA user_version = {int(version)}")

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Cursor]:
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")  # take the write lock now, not at the first INSERT
        try:
            yield cur
        except BaseException:
            self.conn.rollback()
            raise
        cur.execute("COMMIT")

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.conn.execute(sql, params).fetchall()

    def sql(self, text: str) -> str:
        return text

    def close(self) -> None:
        self.conn.close()


#: pg_advisory_xact_lock key that serialises creating ``glasswing_schema`` in a new database.
_PG_BOOTSTRAP_LOCK = 0x476C6173  # "Glas" in ASCII; any fixed key would do


class _Postgres:
    dialect = "postgresql"

    def __init__(self, url: str, busy_timeout: float):
        try:
            import psycopg
        except ImportError as err:
            raise HistoryError(NEEDS_PSYCOPG.format(url=_redact(url))) from err
        self.where = _redact(url)
        self.busy_timeout = busy_timeout
        self._errors = psycopg.Error
        self._locked = (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected)
        try:
            # Autocommit: a read is one statement and leaves no transaction open behind it (an "idle in
            # transaction" session would hold its locks and, closed, roll back what it wrote); every
            # write is one explicit transaction (``write``).
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=max(2, math.ceil(busy_timeout)))
        except psycopg.Error as err:
            raise HistoryError(CANNOT_OPEN.format(where=self.where, reason=_first_line(err))) from err
        try:
            # Any wait for a lock, a read's included, ends after busy_timeout with the LOCKED sentence.
            self.conn.execute("SELECT set_config('lock_timeout', %s, false)",
                              (f"{max(1, round(busy_timeout * 1000))}ms",))
            if self.conn.execute("SELECT to_regclass('glasswing_schema')").fetchone()[0] is None:
                with self.conn.transaction():  # two first openers at once: one creates, the other waits
                    self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_BOOTSTRAP_LOCK,))
                    self.conn.execute("CREATE TABLE IF NOT EXISTS glasswing_schema "
                                      "(version INTEGER NOT NULL)")
                    if self.conn.execute("SELECT count(*) FROM glasswing_schema").fetchone()[0] == 0:
                        self.conn.execute("INSERT INTO glasswing_schema VALUES (0)")
        except psycopg.Error as err:
            self.conn.close()
            raise self.translate(err) from err

    def translate(self, err: Exception) -> HistoryError:
        if isinstance(err, self._locked):
            return HistoryError(LOCKED.format(where=self.where, seconds=self.busy_timeout))
        return HistoryError(CANNOT_OPEN.format(where=self.where, reason=_first_line(err)))

    def schema_version(self) -> int:
        return int(self.conn.execute("SELECT max(version) FROM glasswing_schema").fetchone()[0])

    def set_schema_version(self, version: int) -> None:
        self.conn.execute("UPDATE glasswing_schema SET version = %s", (int(version),))

    @contextlib.contextmanager
    def write(self) -> Iterator[Any]:
        # BEGIN ... COMMIT, or ROLLBACK when the block raises. Writers queue on this lock (EXCLUSIVE mode
        # still lets readers in), so a migration rechecks the version with no other writer about.
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute("LOCK TABLE glasswing_schema IN EXCLUSIVE MODE")
            yield cur

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.conn.execute(self.sql(sql), params).fetchall()

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def close(self) -> None:
        self.conn.close()


def _first_line(err: Exception) -> str:
    """Return a driver's message as a sentence fragment: its first line, without a final full stop."""
    return first_line(err).strip().rstrip(".").removeprefix("connection failed: ")


def _redact(url: str) -> str:
    """Hide a password in a database URL before a message shows it: ``user@host``, ``?password=***``."""
    return redact(without_password(url))


# ---------------------------------------------------------------------------------------- history
