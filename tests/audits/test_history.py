"""Audit history: round trips, schema versions and migrations, locks, and a writer killed mid-write."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from glasswing import audits
from glasswing.audits import _history
from glasswing.audits._history import (
    NEWER_SCHEMA,
    NEWER_SCHEMA_READ_ONLY,
    NOT_A_RUN,
    SCHEMA_VERSION,
    UNKNOWN_RUN,
    UNKNOWN_SCHEME,
    AuditRun,
    HistoryError,
    compare_runs,
    open_history,
)
from glasswing.audits._history_backends import CANNOT_OPEN, LOCKED, NEEDS_PSYCOPG, NOT_A_DATABASE
from tests._postgres import free_port

ROOT = Path(__file__).resolve().parents[2]


def _run(title="Credit audit", dp=0.2, **kw) -> AuditRun:
    audit = {"overall": {"n": 100, "selection_rate": 0.5},
             "by_group": [{"group": {"sex": "F"}, "n": 50, "selection_rate": 0.4},
                          {"group": {"sex": "M"}, "n": 50, "selection_rate": 0.4 + dp}],
             "summary": {"demographic_parity_difference": dp, "demographic_parity_ratio": 0.4 / (0.4 + dp)}}
    return AuditRun(title=title, audit=audit, model_name="german_gbm", model_sha256="a" * 64,
                    dataset_name="german.csv", dataset_sha256="b" * 64, n_rows=100,
                    roles={"target": "risk", "sensitive": ["sex"]}, **kw)


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "history.sqlite3"


def _connect(url: str):
    """A connection of the test's own, which fails rather than hangs when Glasswing wrongly holds a lock."""
    import psycopg

    return psycopg.connect(url, autocommit=True, options="-c lock_timeout=10s")


@dataclass(frozen=True)
class Store:
    """A history database of either backend, and a second, independent connection to look inside it."""

    kind: str  # "sqlite" or "postgresql"
    url: str
    where: str  # what the history's sentences call it

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Run ``sql`` on a connection of its own (not Glasswing's) and commit; return the rows."""
        if self.kind == "sqlite":
            with contextlib.closing(sqlite3.connect(self.where)) as con:
                rows = con.execute(sql, params).fetchall()
                con.commit()
                return rows
        with _connect(self.url) as con:
            cur = con.execute(sql.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []

    def schema_version(self) -> int:
        if self.kind == "sqlite":
            return self.execute("PRAGMA user_version")[0][0]
        (version,) = self.execute("SELECT version FROM glasswing_schema")  # exactly one row
        return version[0]

    def set_schema_version(self, version: int) -> None:
        if self.kind == "sqlite":
            self.execute(f"PRAGMA user_version = {version}")
        else:
            self.execute("UPDATE glasswing_schema SET version = ?", (version,))

    def columns(self) -> list[tuple[str, bool]]:
        """(name, NOT NULL) of each column of ``runs``, in order."""
        if self.kind == "sqlite":
            return [(r[1], bool(r[3]) or r[5] == 1) for r in self.execute("PRAGMA table_info(runs)")]
        return [(name, nullable == "NO") for name, nullable in self.execute(
            "SELECT column_name, is_nullable FROM information_schema.columns WHERE table_name = 'runs' "
            "ORDER BY ordinal_position")]

    @contextlib.contextmanager
    def writer_holds_the_lock(self) -> Iterator[None]:
        """Another program is in the middle of a write: it holds the write lock in an open transaction."""
        if self.kind == "sqlite":
            con = sqlite3.connect(self.where, isolation_level=None)
            con.execute("BEGIN IMMEDIATE")
        else:
            con = _connect(self.url)
            con.execute("BEGIN")
            con.execute("LOCK TABLE glasswing_schema IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            con.execute("ROLLBACK")
            con.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> Store:
    """An empty history database: a SQLite file, or a fresh database on a throwaway PostgreSQL server."""
    if request.param == "sqlite":
        path = tmp_path / "history.sqlite3"
        return Store("sqlite", f"sqlite:///{path}", str(path))
    url = request.getfixturevalue("postgres_url")
    return Store("postgresql", url, url)  # the test server's URL has no password to hide


# ------------------------------------------------------------------- either backend: SQLite or PostgreSQL
def test_save_get_list_round_trip(store):
    with open_history(store.url) as h:
        first = h.save(_run("first", notes="Looks fine.", reviewer="Ada"))
        second = h.save(_run("second", dp=0.05, version_label="v2",
                             mitigation={"method": "reweighing", "after": {"summary": {}}}))
        assert (first, second) == (1, 2) and len(h) == 2
        got = h.get(first)
        assert got.title == "first" and got.notes == "Looks fine." and got.reviewer == "Ada"
        assert got.audit == _run().audit and got.roles == {"target": "risk", "sensitive": ["sex"]}
        assert got.mitigation is None and got.created_at.endswith("+00:00") and got.n_rows == 100
        assert h.get(second).mitigation == {"method": "reweighing", "after": {"summary": {}}}
        listed = h.list_runs()
        assert listed["id"].tolist() == [2, 1]  # newest first
        assert listed["title"].tolist() == ["second", "first"]
        assert listed.loc[0, "version_label"] == "v2" and listed.loc[0, "model_sha256"] == "a" * 64
        assert h.get(second).label == "#2 second (german_gbm v2)"
    # Committed, not just visible to the connection that wrote it: another connection and a reopen see both.
    assert store.execute("SELECT id, title FROM runs ORDER BY id") == [(1, "first"), (2, "second")]
    with open_history(store.url) as h:
        assert h.get(first) == got and h.ids() == [1, 2]


def test_nan_and_numpy_values_are_stored_as_json_null(store):
    import numpy as np

    run = AuditRun(title="t", audit={"summary": {"equalized_odds_ratio": float("nan"),
                                                 "demographic_parity_difference": np.float64(0.25)}},
                   n_rows=np.int64(3))
    with open_history(store.url) as h:
        got = h.get(h.save(run))
    assert got.audit["summary"] == {"equalized_odds_ratio": None, "demographic_parity_difference": 0.25}
    assert got.n_rows == 3 and type(got.n_rows) is int
    raw = store.execute("SELECT audit_json FROM runs")[0][0]
    assert "NaN" not in raw and json.loads(raw)["summary"]["equalized_odds_ratio"] is None


def test_new_database_is_versioned_with_the_columns_the_code_uses(store):
    open_history(store.url).close()
    assert store.schema_version() == SCHEMA_VERSION
    assert {name for name, _ in store.columns()} == {*_history._SCALAR, *_history._JSON.values()}


def test_both_backends_create_the_same_table(tmp_path, postgres_url):
    sqlite_store = Store("sqlite", f"sqlite:///{tmp_path / 'h.sqlite3'}", str(tmp_path / "h.sqlite3"))
    postgres_store = Store("postgresql", postgres_url, postgres_url)
    for s in (sqlite_store, postgres_store):
        open_history(s.url).close()
    assert sqlite_store.columns() == postgres_store.columns()
    assert dict(sqlite_store.columns())["mitigation_json"] is False  # nullable: None means "no mitigation"


def test_a_migration_keeps_earlier_runs(store, monkeypatch):
    with open_history(store.url) as h:
        h.save(_run("before the upgrade"))
    # A future Glasswing adds a column: schema 2.
    upgraded = {d: [*m, "ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT ''"]
                for d, m in _history._MIGRATIONS.items()}
    monkeypatch.setattr(_history, "_MIGRATIONS", upgraded)
    monkeypatch.setattr(_history, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with open_history(store.url) as h:
        assert h.get(1).title == "before the upgrade"
        h.save(_run("after the upgrade"))
    assert store.schema_version() == SCHEMA_VERSION + 1
    assert store.execute("SELECT title, tags FROM runs ORDER BY id") == [("before the upgrade", ""),
                                                                         ("after the upgrade", "")]


def test_a_newer_schema_is_read_only_and_says_so(store):
    with open_history(store.url) as h:
        h.save(_run("kept"))
    store.set_schema_version(SCHEMA_VERSION + 5)
    with open_history(store.url) as h:
        assert h.read_only
        with pytest.raises(HistoryError) as err:
            h.save(_run("refused"))
        assert str(err.value) == NEWER_SCHEMA_READ_ONLY.format(found=SCHEMA_VERSION + 5)
        assert h.get(1).title == "kept" and len(h) == 1
    assert store.schema_version() == SCHEMA_VERSION + 5  # opening it did not "migrate" it back
    # A newer layout that we cannot read: the sentence names the schema instead of a SQL error.
    store.execute("ALTER TABLE runs RENAME TO runs_v9")
    with open_history(store.url) as h, pytest.raises(HistoryError) as err:
        h.list_runs()
    assert str(err.value) == NEWER_SCHEMA.format(found=SCHEMA_VERSION + 5)


def test_a_locked_database_is_one_sentence_and_nothing_is_lost(store):
    with open_history(store.url) as h:
        h.save(_run("earlier"))
    with open_history(store.url, busy_timeout=0.2) as h:
        with store.writer_holds_the_lock():
            started = time.monotonic()
            with pytest.raises(HistoryError) as err:
                h.save(_run("blocked"))
            waited = time.monotonic() - started
            assert str(err.value) == LOCKED.format(where=store.where, seconds=0.2)
            assert 0.15 <= waited < 5  # it waited busy_timeout for the other writer, then gave up
            assert [r.title for r in map(h.get, h.ids())] == ["earlier"]  # readers are not blocked
        h.save(_run("after the lock"))  # the same connection writes again once the lock is gone
        assert h.list_runs()["title"].tolist() == ["after the lock", "earlier"]
    with open_history(store.url) as h:
        assert h.list_runs()["title"].tolist() == ["after the lock", "earlier"]


def test_unknown_run_lists_the_saved_ids(store):
    with open_history(store.url) as h:
        with pytest.raises(HistoryError) as err:
            h.get(3)
        assert str(err.value) == UNKNOWN_RUN.format(run_id=3, ids="none yet")
        h.save(_run())
        h.save(_run())
        with pytest.raises(HistoryError) as err:
            h.get(7)
        assert str(err.value) == UNKNOWN_RUN.format(run_id=7, ids="1, 2")


def test_a_run_needs_a_title_and_an_audit(store):
    with open_history(store.url) as h:
        with pytest.raises(HistoryError) as err:
            h.save(AuditRun(title="  ", audit={"summary": {}}))
        assert str(err.value) == NOT_A_RUN.format(what="a title")
        with pytest.raises(HistoryError) as err:
            h.save(AuditRun(title="t", audit={}))
        assert str(err.value) == NOT_A_RUN.format(what="an audit result")
        assert len(h) == 0


def test_compare_saved_runs(store):
    with open_history(store.url) as h:
        a, b = h.save(_run("v1", dp=0.3)), h.save(_run("v2", dp=0.1))
    with open_history(store.url) as h:
        table = compare_runs(h.get(a), h.get(b)).set_index("metric")
    assert table.loc["demographic_parity_difference", "change"] == "improved"
    assert table.loc["demographic_parity_ratio", "change"] == "improved"  # 0.571 -> 0.8


# ------------------------------------------------------------------------------------------- SQLite only
def test_a_plain_path_is_a_sqlite_file(db):
    with open_history(str(db)) as h:
        h.save(_run("plain"))
    with contextlib.closing(sqlite3.connect(db)) as con:
        assert con.execute("SELECT title FROM runs").fetchall() == [("plain",)]


def test_new_database_is_in_wal_mode(db):
    open_history(f"sqlite:///{db}").close()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_default_location_is_the_data_dir_and_the_url_setting_overrides_it(tmp_path, monkeypatch):
    from glasswing._paths import data_dir

    monkeypatch.delenv("GLASSWING_HISTORY_URL", raising=False)
    with open_history() as h:
        h.save(_run())
    assert (data_dir() / "history.sqlite3").exists()
    other = tmp_path / "elsewhere.sqlite3"
    monkeypatch.setenv("GLASSWING_HISTORY_URL", f"sqlite:///{other}")
    with open_history() as h:
        assert len(h) == 0
    assert other.exists()


def test_a_locked_new_database_cannot_even_be_created(db):
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("PRAGMA journal_mode = WAL")
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(HistoryError) as err:
            open_history(str(db), busy_timeout=0.2)
        assert str(err.value) == LOCKED.format(where=db, seconds=0.2)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_not_a_database(db):
    db.write_bytes(b"this is a CSV file, not SQLite\n" * 100)
    with pytest.raises(HistoryError) as err:
        open_history(str(db))
    assert str(err.value) == NOT_A_DATABASE.format(where=db)


# ------------------------------------------------------------------------------------------- PostgreSQL only
@pytest.mark.parametrize("password_in", ["userinfo", "query"])
def test_postgres_unreachable_server_is_one_sentence_without_the_password(password_in):
    port = free_port()  # nothing listens there
    url, shown = {
        "userinfo": (f"postgresql://auditor:s3cret@127.0.0.1:{port}/glasswing",
                     f"postgresql://auditor@127.0.0.1:{port}/glasswing"),
        "query": (f"postgresql://auditor@127.0.0.1:{port}/glasswing?password=s3cret",
                  f"postgresql://auditor@127.0.0.1:{port}/glasswing?password=***"),
    }[password_in]
    with pytest.raises(HistoryError) as err:
        open_history(url, busy_timeout=0.2)
    reason = f'connection to server at "127.0.0.1", port {port} failed: Connection refused'
    assert str(err.value) == CANNOT_OPEN.format(where=shown, reason=reason)
    assert "s3cret" not in str(err.value) and "\n" not in str(err.value)


def _sessions(url: str, expect: list[str]) -> list[str]:
    """The states of the other client sessions on ``url``'s database, once they are ``expect`` (or after 5 s).

    The server takes a moment to notice a closed connection or a statement's end, hence the wait.
    """
    with _connect(url) as con:
        for _ in range(50):
            states = sorted(s for (s,) in con.execute(
                "SELECT state FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'").fetchall())
            if states == expect:
                break
            time.sleep(0.1)
    return states


def test_postgres_leaves_no_transaction_open_and_closes(postgres_url):
    store = Store("postgresql", postgres_url, postgres_url)
    with open_history(postgres_url, busy_timeout=0.2) as h:
        assert _sessions(postgres_url, ["idle"]) == ["idle"]
        h.save(_run("one"))
        assert h.list_runs()["title"].tolist() == ["one"] and h.get(1).title == "one" and len(h) == 1
        assert _sessions(postgres_url, ["idle"]) == ["idle"]  # not "idle in transaction", holding locks
        with store.writer_holds_the_lock(), pytest.raises(HistoryError):
            h.save(_run("blocked"))
        assert _sessions(postgres_url, ["idle"]) == ["idle"]  # the failed write was rolled back
    assert _sessions(postgres_url, []) == []  # closed


def test_postgres_a_table_held_by_another_program_is_locked_for_readers_too(postgres_url):
    with open_history(postgres_url) as h:
        h.save(_run("earlier"))
    with _connect(postgres_url) as other:
        other.execute("BEGIN")
        other.execute("LOCK TABLE runs IN ACCESS EXCLUSIVE MODE")  # say, a DBA's ALTER TABLE
        with open_history(postgres_url, busy_timeout=0.2) as h:
            for action in (h.list_runs, lambda: h.save(_run("blocked"))):
                with pytest.raises(HistoryError) as err:  # a sentence after busy_timeout, not a hang
                    action()
                assert str(err.value) == LOCKED.format(where=postgres_url, seconds=0.2)
            other.execute("ROLLBACK")
            assert h.list_runs()["title"].tolist() == ["earlier"]


def test_postgres_many_first_openers_at_once(postgres_url):
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def first_open():
        try:
            barrier.wait(10)
            with open_history(postgres_url) as h:
                h.save(_run("concurrent"))
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=first_open) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    store = Store("postgresql", postgres_url, postgres_url)
    assert store.schema_version() == SCHEMA_VERSION  # one version row, created once
    assert store.execute("SELECT count(*) FROM runs") == [(6,)]


def test_postgres_without_psycopg_is_one_sentence(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg -> ImportError
    url = "postgresql://auditor:s3cret@db.example/glasswing"
    with pytest.raises(HistoryError) as err:
        open_history(url)
    assert str(err.value) == NEEDS_PSYCOPG.format(url="postgresql://auditor@db.example/glasswing")
    assert "s3cret" not in str(err.value)


def test_unknown_url_scheme():
    with pytest.raises(HistoryError) as err:
        open_history("mysql://root@localhost/x")
    assert str(err.value) == UNKNOWN_SCHEME.format(url="mysql://root@localhost/x")


def test_run_dict_round_trip():
    run = _run(notes="n")
    assert audits.run_from_dict(json.loads(json.dumps(audits.run_to_dict(run)))) == run


# ------------------------------------------------------------------------------------------- comparison
def test_compare_runs_hand_computed():
    v1 = {"summary": {"demographic_parity_difference": 0.20, "demographic_parity_ratio": 0.70,
                      "equalized_odds_difference": 0.10, "equalized_odds_ratio": 0.90,
                      "predictive_parity_difference": None, "four_fifths_rule_passed": False}}
    v2 = {"summary": {"demographic_parity_difference": 0.05, "demographic_parity_ratio": 0.60,
                      "equalized_odds_difference": 0.10, "equalized_odds_ratio": 1.05,
                      "predictive_parity_difference": 0.02, "four_fifths_rule_passed": True}}
    table = compare_runs(v1, v2).set_index("metric")
    assert table["change"].to_dict() == {
        "demographic_parity_difference": "improved",  # 0.20 -> 0.05: nearer 0
        "demographic_parity_ratio": "worse",  # 0.70 -> 0.60: further from 1
        "equalized_odds_difference": "unchanged",
        "equalized_odds_ratio": "improved",  # |1 - 0.90| = 0.10 -> |1 - 1.05| = 0.05
        "predictive_parity_difference": "n/a",  # undefined before
    }
    assert table.loc["demographic_parity_difference", "delta"] == pytest.approx(-0.15, abs=1e-15)
    assert math.isnan(table.loc["predictive_parity_difference", "before"])


# ------------------------------------------------------------------------------------------- kill tests
_WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from glasswing.audits import AuditRun, open_history
    from glasswing.audits._history import _dumps

    mode, url = sys.argv[1], sys.argv[2]
    h = open_history(url)
    audit = {{"summary": {{"demographic_parity_difference": 0.1}}, "blob": "x" * 2_000_000}}
    if mode == "in_transaction":
        for i in range(3):
            print("committed", h.save(AuditRun(title=f"run {{i}}", audit=audit)), flush=True)
        with h._db.write() as cur:  # the next save, stopped between INSERT and COMMIT
            cur.execute(h._db.sql("INSERT INTO runs (created_at, title, roles_json, audit_json, "
                                  "glasswing_version) VALUES ('now', 'never committed', '{{}}', ?, 'x')"),
                        (_dumps(audit),))
            print("inflight", flush=True)
            sys.stdin.read()  # wait here until killed
    else:
        i = 0
        while True:
            print("committed", h.save(AuditRun(title=f"run {{i}}", audit=audit)), flush=True)
            i += 1
""")


def _start_writer(tmp_path, mode: str, db: Path | str) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(_WRITER.format(root=str(ROOT)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    return subprocess.Popen([sys.executable, str(script), mode, url], stdout=subprocess.PIPE,
                            stdin=subprocess.PIPE, text=True, env=env)


def _check_intact(db: Path, committed: list[int]) -> list[int]:
    with open_history(str(db)) as h:
        ids = h.ids()
        assert set(committed) <= set(ids)
        for run_id in ids:
            run = h.get(run_id)
            assert run.title.startswith("run ") and len(run.audit["blob"]) == 2_000_000
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    return ids


def _kill_inside_a_transaction(tmp_path, where) -> list[int]:
    """Start a writer that commits three runs, then SIGKILL it between an INSERT and its COMMIT."""
    committed = []
    with _start_writer(tmp_path, "in_transaction", where) as proc:
        for line in proc.stdout:
            if line.startswith("committed"):
                committed.append(int(line.split()[1]))
            if line.startswith("inflight"):
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    return committed


def test_writer_killed_inside_a_transaction_loses_nothing_committed(tmp_path, db):
    committed = _kill_inside_a_transaction(tmp_path, db)
    assert committed == [1, 2, 3]
    assert _check_intact(db, committed) == [1, 2, 3]  # the uncommitted run is gone, nothing else
    with open_history(str(db)) as h:  # and the history still takes new runs
        assert h.save(_run("after the crash")) == 4


def test_writer_killed_while_writing_many_runs(tmp_path, db):
    committed = []
    with _start_writer(tmp_path, "loop", db) as proc:
        deadline = time.monotonic() + 60
        for line in proc.stdout:
            committed.append(int(line.split()[1]))
            if len(committed) >= 5 or time.monotonic() > deadline:
                break
        time.sleep(0.05)  # let it get into the middle of the next write
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL and len(committed) >= 5
    ids = _check_intact(db, committed)
    assert ids == list(range(1, len(ids) + 1))  # no gaps, no half-written row


def test_postgres_writer_killed_inside_a_transaction_loses_nothing_committed(tmp_path, postgres_url):
    committed = _kill_inside_a_transaction(tmp_path, postgres_url)
    assert committed == [1, 2, 3]
    with open_history(postgres_url) as h:  # waits (busy_timeout) until the server has rolled the writer back
        after = h.save(_run("after the crash"))
        ids = h.ids()
        assert ids == [1, 2, 3, after] and after > 3  # the uncommitted run is gone, nothing else
        for run_id in committed:
            run = h.get(run_id)
            assert run.title == f"run {run_id - 1}" and len(run.audit["blob"]) == 2_000_000
    store = Store("postgresql", postgres_url, postgres_url)
    assert store.execute("SELECT count(*) FROM runs WHERE title = 'never committed'") == [(0,)]
