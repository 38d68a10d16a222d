"""``glasswing history list|show|compare|export`` on runs saved through the library."""

from __future__ import annotations

import io
import json
import sqlite3

import pytest

from glasswing import audits
from glasswing._paths import data_dir
from glasswing.audits._history import SCHEMA_VERSION, UNKNOWN_RUN
from glasswing.cli import main
from glasswing.commands import history as history_cmd


def _audit(dp: float, ratio: float) -> dict:
    return {"overall": {"n": 200, "selection_rate": 0.5},
            "by_group": [{"group": {"sex": "F"}, "n": 100, "selection_rate": 0.5 - dp / 2},
                         {"group": {"sex": "M"}, "n": 100, "selection_rate": 0.5 + dp / 2}],
            "summary": {"demographic_parity_difference": dp, "demographic_parity_ratio": ratio,
                        "equalized_odds_difference": 0.1}}


@pytest.fixture
def two_runs():
    with audits.open_history() as h:
        h.save(audits.AuditRun(title="Credit v1", audit=_audit(0.30, 0.55), model_name="gbm",
                               version_label="v1", model_sha256="1" * 64, dataset_sha256="d" * 64,
                               dataset_name="german.csv", n_rows=200, notes="too wide a gap", reviewer="Ada"))
        h.save(audits.AuditRun(title="Credit v2", audit=_audit(0.10, 0.82), model_name="gbm",
                               version_label="v2", model_sha256="2" * 64, dataset_sha256="d" * 64,
                               dataset_name="german.csv", n_rows=200))


def test_list_empty(capsys):
    assert main(["history", "list"]) == 0
    assert capsys.readouterr().out == f"No saved runs yet in {data_dir() / 'history.sqlite3'}.\n"


def test_list_and_json(two_runs, capsys):
    assert main(["history", "list"]) == 0
    out = capsys.readouterr().out
    assert out.index("Credit v2") < out.index("Credit v1") and "111111111111" in out
    assert main(["history", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [2, 1] and rows[1]["model_sha256"] == "1" * 64


def test_show(two_runs, capsys):
    assert main(["history", "show", "1"]) == 0
    out = capsys.readouterr().out
    assert "Run 1: Credit v1" in out and "1" * 64 in out and "d" * 64 in out
    assert "Demographic parity ratio: 0.550  FAIL (fails the four-fifths rule)" in out
    assert "Demographic parity difference: 0.300  FAIL (exceeds 0.1)" in out
    assert "notes: too wide a gap" in out and "reviewer: Ada" in out
    assert main(["history", "show", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["audit"] == _audit(0.10, 0.82)


def test_compare_says_improved_and_worse_in_words(two_runs, capsys):
    assert main(["history", "compare", "1", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = {line.split()[0]: line for line in lines[2:]}
    assert row["demographic_parity_difference"].endswith("▲ improved")  # 0.30 -> 0.10
    assert "(-0.200)" in row["demographic_parity_difference"]
    assert row["demographic_parity_ratio"].endswith("▲ improved")  # 0.55 -> 0.82, nearer 1
    assert row["equalized_odds_difference"].endswith("= unchanged")
    assert main(["history", "compare", "2", "1"]) == 0
    assert "▼ worse" in capsys.readouterr().out


def test_export_each_format(two_runs, tmp_path, capsys):
    from pypdf import PdfReader

    for suffix in ("pdf", "html", "json"):
        out = tmp_path / f"run.{suffix}"
        assert main(["history", "export", "1", "--out", str(out)]) == 0
        assert f"Wrote {out}" in capsys.readouterr().out
    pdf = PdfReader(io.BytesIO((tmp_path / "run.pdf").read_bytes()))
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert "Credit v1" in text and "0.550" in text and "111111111111" in text and "too wide a gap" in text
    assert json.loads((tmp_path / "run.json").read_text())["title"] == "Credit v1"


def test_bad_input_is_one_line(two_runs, tmp_path, capsys):
    assert main(["history", "show", "9"]) == 2
    assert capsys.readouterr().err == f"glasswing: error: {UNKNOWN_RUN.format(run_id=9, ids='1, 2')}\n"
    assert main(["history", "export", "1", "--out", str(tmp_path / "run.docx")]) == 2
    message = history_cmd.BAD_OUT.format(out=tmp_path / "run.docx")
    assert capsys.readouterr().err == f"glasswing: error: {message}\n"


def test_newer_schema_can_still_be_listed_and_exported(two_runs, tmp_path, capsys):
    con = sqlite3.connect(data_dir() / "history.sqlite3")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    assert main(["history", "list"]) == 0
    assert "Credit v1" in capsys.readouterr().out
    assert main(["history", "export", "2", "--out", str(tmp_path / "v2.html")]) == 0


def test_url_option(tmp_path, capsys):
    other = tmp_path / "team.sqlite3"
    with audits.open_history(str(other)) as h:
        h.save(audits.AuditRun(title="Team run", audit=_audit(0.2, 0.7)))
    assert main(["history", "--url", f"sqlite:///{other}", "list"]) == 0
    assert "Team run" in capsys.readouterr().out


def test_list_and_show_from_postgresql(postgres_url, monkeypatch, capsys):
    with audits.open_history(postgres_url) as h:
        run_id = h.save(audits.AuditRun(title="Team run on PostgreSQL", audit=_audit(0.2, 0.7),
                                        model_name="gbm", version_label="v3", model_sha256="3" * 64))
    monkeypatch.setenv("GLASSWING_HISTORY_URL", postgres_url)
    assert main(["history", "list"]) == 0
    out = capsys.readouterr().out
    assert "Team run on PostgreSQL" in out and "333333333333" in out
    assert main(["history", "show", str(run_id)]) == 0
    out = capsys.readouterr().out
    assert f"Run {run_id}: Team run on PostgreSQL" in out and "Demographic parity ratio: 0.700" in out
    assert not (data_dir() / "history.sqlite3").exists()  # read from PostgreSQL, not the local file
