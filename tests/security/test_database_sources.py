"""A query on a DuckDB database file reaches that database only: no file written, read or attached, no
extension loaded, through the library, the command line and the dashboard's loader alike."""

from __future__ import annotations

import duckdb
import pytest

from glasswing.cli import main
from glasswing.ingest import IngestError, read_source

ATTACKS = [
    "COPY (SELECT 42 AS pwned) TO '{out}'",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_csv('{secret}')",
    "ATTACH '{other}' AS other",
    "INSTALL httpfs",
    "SELECT * FROM scored UNION ALL SELECT * FROM read_csv('{secret}')",
]


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "logs.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE scored AS SELECT range % 2 AS y, range % 3 = 0 AS p, "
                    "CASE WHEN range % 4 = 0 THEN 'F' ELSE 'M' END AS sex FROM range(200)")
    (tmp_path / "secret.csv").write_text("token\nhunter2-do-not-read\n")
    with duckdb.connect(str(tmp_path / "other.duckdb")) as con:
        con.execute("CREATE TABLE private AS SELECT 1 AS x")
    return tmp_path, f"duckdb://{path}"


def _queries(tmp_path):
    paths = {"out": tmp_path / "written.csv", "secret": tmp_path / "secret.csv",
             "other": tmp_path / "other.duckdb"}
    return [q.format(**paths) for q in ATTACKS]


def test_read_source_refuses_what_leaves_the_database(database):
    tmp_path, url = database
    for query in _queries(tmp_path):
        with pytest.raises(IngestError) as err:
            read_source(url, sql=query)
        assert "hunter2" not in str(err.value), query
    assert not (tmp_path / "written.csv").exists()
    assert len(read_source(url, sql="SELECT * FROM scored WHERE sex = 'F'")) == 50  # its own tables: yes


def test_the_command_line_refuses_them_in_one_sentence(database, capsys):
    tmp_path, url = database
    for query in _queries(tmp_path):
        code = main(["audit", "--data", url, "--sql", query, "--target", "y", "--prediction", "p",
                     "--sensitive", "sex"])
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("glasswing: error: "), (query, lines)
        assert "hunter2" not in captured.out + captured.err
    assert not (tmp_path / "written.csv").exists()


def test_the_dashboards_loader_refuses_them(database):
    from glasswing.dashboard import _loading

    tmp_path, url = database
    for query in _queries(tmp_path):
        with pytest.raises(IngestError) as err:
            _loading.load_database(url, sql=query)
        assert "hunter2" not in str(err.value)
    assert not (tmp_path / "written.csv").exists()
