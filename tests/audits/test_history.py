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
import time
from pathlib import Path

import pytest

import audits
from audits import _history
from audits._history import (
    LOCKED,
    NEEDS_PSYCOPG,
    NEWER_SCHEMA,
    NEWER_SCHEMA_READ_ONLY,
    NOT_A_DATABASE,
    NOT_A_RUN,
    SCHEMA_VERSION,
    UNKNOWN_RUN,
    UNKNOWN_SCHEME,
    AuditRun,
    HistoryError,
    compare_runs,
    open_history,
)

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


def test_save_get_list_round_trip(db):
    with open_history(f"sqlite:///{db}") as h:
        first = h.save(_run("first", notes="Looks fine.", reviewer="Ada"))
        second = h.save(_run("second", dp=0.05, version_label="v2",
                             mitigation={"method": "reweighing", "after": {"summary": {}}}))
        assert (first, second) == (1, 2) and len(h) == 2
        got = h.get(first)
        assert got.title == "first" and got.notes == "Looks fine." and got.reviewer == "Ada"
        assert got.audit == _run().audit and got.roles == {"target": "risk", "sensitive": ["sex"]}
        assert got.mitigation is None and got.created_at.endswith("+00:00")
        assert h.get(second).mitigation == {"method": "reweighing", "after": {"summary": {}}}
        listed = h.list_runs()
        assert listed["id"].tolist() == [2, 1]  # newest first
        assert listed["title"].tolist() == ["second", "first"]
        assert listed.loc[0, "version_label"] == "v2" and listed.loc[0, "model_sha256"] == "a" * 64
        assert h.get(second).label == "#2 second (german_gbm v2)"


def test_nan_and_numpy_values_are_stored_as_json_null(db):
    import numpy as np

    run = AuditRun(title="t", audit={"summary": {"equalized_odds_ratio": float("nan"),
                                                 "demographic_parity_difference": np.float64(0.25)}})
    with open_history(str(db)) as h:  # a plain path is a SQLite file too
        got = h.get(h.save(run))
    assert got.audit["summary"] == {"equalized_odds_ratio": None, "demographic_parity_difference": 0.25}
    with contextlib.closing(sqlite3.connect(db)) as con:
        raw = con.execute("SELECT audit_json FROM runs").fetchone()[0]
    assert "NaN" not in raw and json.loads(raw)["summary"]["equalized_odds_ratio"] is None


def test_new_database_is_versioned_and_in_wal_mode(db):
    open_history(f"sqlite:///{db}").close()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


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


def test_a_migration_keeps_earlier_runs(db, monkeypatch):
    with open_history(str(db)) as h:
        h.save(_run("before the upgrade"))
    # A future Glasswing adds a column: schema 2.
    upgraded = {d: [*m, "ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT ''"]
                for d, m in _history._MIGRATIONS.items()}
    monkeypatch.setattr(_history, "_MIGRATIONS", upgraded)
    monkeypatch.setattr(_history, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with open_history(str(db)) as h:
        assert h.get(1).title == "before the upgrade"
        h.save(_run("after the upgrade"))
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    assert [r[0] for r in con.execute("SELECT tags FROM runs")] == ["", ""]


def test_a_newer_schema_is_read_only_and_says_so(db):
    with open_history(str(db)) as h:
        h.save(_run("kept"))
    con = sqlite3.connect(db)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    con.commit()
    con.close()
    with open_history(str(db)) as h:
        assert h.read_only
        with pytest.raises(HistoryError) as err:
            h.save(_run("refused"))
        assert str(err.value) == NEWER_SCHEMA_READ_ONLY.format(found=SCHEMA_VERSION + 5)
        assert h.get(1).title == "kept" and len(h) == 1
    # A newer layout that we cannot read: the sentence names the schema instead of a SQL error.
    con = sqlite3.connect(db)
    con.execute("ALTER TABLE runs RENAME TO runs_v9")
    con.commit()
    con.close()
    with open_history(str(db)) as h, pytest.raises(HistoryError) as err:
        h.list_runs()
    assert str(err.value) == NEWER_SCHEMA.format(found=SCHEMA_VERSION + 5)


def test_a_locked_database_is_one_sentence_and_nothing_is_lost(db):
    with open_history(str(db)) as h:
        h.save(_run("earlier"))
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        with open_history(str(db), busy_timeout=0.2) as h:
            with pytest.raises(HistoryError) as err:
                h.save(_run("blocked"))
            assert str(err.value) == LOCKED.format(where=db, seconds=0.2)
            assert [r.title for r in map(h.get, h.ids())] == ["earlier"]  # readers are not blocked (WAL)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with open_history(str(db)) as h:
        h.save(_run("after the lock"))
        assert h.list_runs()["title"].tolist() == ["after the lock", "earlier"]


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


def test_unknown_run_lists_the_saved_ids(db):
    with open_history(str(db)) as h:
        with pytest.raises(HistoryError) as err:
            h.get(3)
        assert str(err.value) == UNKNOWN_RUN.format(run_id=3, ids="none yet")
        h.save(_run())
        h.save(_run())
        with pytest.raises(HistoryError) as err:
            h.get(7)
        assert str(err.value) == UNKNOWN_RUN.format(run_id=7, ids="1, 2")


def test_a_run_needs_a_title_and_an_audit(db):
    with open_history(str(db)) as h:
        with pytest.raises(HistoryError) as err:
            h.save(AuditRun(title="  ", audit={"summary": {}}))
        assert str(err.value) == NOT_A_RUN.format(what="a title")
        with pytest.raises(HistoryError) as err:
            h.save(AuditRun(title="t", audit={}))
        assert str(err.value) == NOT_A_RUN.format(what="an audit result")
        assert len(h) == 0


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


def test_compare_saved_runs(db):
    with open_history(str(db)) as h:
        a, b = h.save(_run("v1", dp=0.3)), h.save(_run("v2", dp=0.1))
        table = compare_runs(h.get(a), h.get(b)).set_index("metric")
    assert table.loc["demographic_parity_difference", "change"] == "improved"
    assert table.loc["demographic_parity_ratio", "change"] == "improved"  # 0.571 -> 0.8


# ------------------------------------------------------------------------------------------- kill tests
_WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from audits import AuditRun, open_history
    from audits._history import _dumps

    mode, url = sys.argv[1], sys.argv[2]
    h = open_history(url)
    audit = {{"summary": {{"demographic_parity_difference": 0.1}}, "blob": "x" * 2_000_000}}
    if mode == "in_transaction":
        for i in range(3):
            print("committed", h.save(AuditRun(title=f"run {{i}}", audit=audit)), flush=True)
        with h._db.write() as cur:  # the next save, stopped between INSERT and COMMIT
            cur.execute("INSERT INTO runs (created_at, title, roles_json, audit_json, glasswing_version) "
                        "VALUES ('now', 'never committed', '{{}}', ?, 'x')", (_dumps(audit),))
            print("inflight", flush=True)
            sys.stdin.read()  # wait here until killed
    else:
        i = 0
        while True:
            print("committed", h.save(AuditRun(title=f"run {{i}}", audit=audit)), flush=True)
            i += 1
""")


def _start_writer(tmp_path, mode: str, db: Path) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(_WRITER.format(root=str(ROOT)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(script), mode, f"sqlite:///{db}"], stdout=subprocess.PIPE,
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


def test_writer_killed_inside_a_transaction_loses_nothing_committed(tmp_path, db):
    committed = []
    with _start_writer(tmp_path, "in_transaction", db) as proc:
        for line in proc.stdout:
            if line.startswith("committed"):
                committed.append(int(line.split()[1]))
            if line.startswith("inflight"):
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL and committed == [1, 2, 3]
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
