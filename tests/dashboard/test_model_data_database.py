"""The Model & data page's database source in AppTest: DuckDB files and a throwaway PostgreSQL server.

Tables and queries load as a Dataset with suggested roles that every page audits; the password comes from
Streamlit's secrets or the environment, a URL that holds one is refused, and the password shows nowhere;
bad connections, tables, queries and row counts are one sentence each and keep what was loaded.
"""

from __future__ import annotations

import io
import uuid

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score

from glasswing._paths import sample_dir
from glasswing.dashboard import _loading
from glasswing.dashboard._text import md
from glasswing.ingest import IngestError
from glasswing.ingest import _engines as E
from tests._postgres import free_port
from tests.conftest import new_apptest

P = "model_data."
SECRET = "Zq8-very-secret-pw"  # a password that must show nowhere


def scored_frame(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n, p=[0.4, 0.6])
    y = rng.integers(0, 2, n)
    score = np.clip(0.35 * y + 0.15 * (sex == "male") + 0.5 * rng.random(n), 0, 1).round(3)
    return pd.DataFrame({"id": np.arange(n), "age": rng.integers(18, 80, n), "sex": sex, "y": y,
                         "pred": (score >= 0.5).astype(int), "score": score})


@pytest.fixture
def duck(tmp_path):
    """A DuckDB file with a table ``scored`` (400 rows); yields ``(url, frame)``."""
    frame = scored_frame()
    path = tmp_path / "logs.duckdb"
    with duckdb.connect(str(path)) as con:
        con.register("frame", frame)
        con.execute("CREATE TABLE scored AS SELECT * FROM frame")
    return f"duckdb:///{path}", frame


def connect(at, url: str, *, table: str | None = None, sql: str | None = None, max_rows: int | None = None,
            model: tuple[str, bytes] | None = None):
    at.radio(key=P + "source").set_value("Connect to a database").run()
    at.text_input(key=P + "db_url").input(url).run()
    at.radio(key=P + "db_kind").set_value("Query" if sql is not None else "Table").run()
    if sql is not None:
        at.text_area(key=P + "db_sql").input(sql)
    else:
        at.text_input(key=P + "db_table").input(table)
    if max_rows is not None:
        at.number_input(key=P + "db_max_rows").set_value(max_rows)
    if model is not None:
        at.file_uploader(key=P + "db_model_file").set_value((*model, "application/octet-stream"))
    at.run()
    at.button(key=P + "load_database").click().run()
    assert not at.exception, at.exception
    return at


def shown_text(at) -> list[str]:
    """Every text the page shows or holds in a field."""
    kinds = ("markdown", "caption", "error", "warning", "info", "success", "text_input", "text_area",
             "title", "subheader")
    texts = [str(e.value) for kind in kinds for e in at.get(kind)]
    texts += [str(getattr(e, "placeholder", "")) for e in at.text_input]
    return texts


def fairness_selection_rates(at) -> dict:
    at.switch_page("app_pages/fairness.py")
    at.run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "Selection rate" in d.value.columns)
    return {group: table.loc[group, "Selection rate"] for group in table.index}


def test_a_duckdb_table_loads_with_roles_and_the_fairness_page_audits_it(duck):
    url, frame = duck
    at = connect(new_apptest("model_data.py"), url, table="scored")
    assert not at.error
    data = at.session_state["gw.dataset"]
    assert data.name == f"{url}, table scored"
    pd.testing.assert_frame_equal(data.frame.sort_values("id").reset_index(drop=True), frame,
                                  check_dtype=False)
    assert (data.roles.target, data.roles.prediction, data.roles.score) == ("y", "pred", "score")
    assert data.roles.sensitive == ("sex",)
    assert at.session_state["gw.model"] is None and at.session_state["gw.images"] is None
    assert f"400 rows read from {md(url)}, table scored (at most 1,000,000)." in [c.value for c in at.caption]
    assert any(c.value.startswith(f"**{md(data.name)}**: 400 rows, 6 columns") for c in at.caption)
    rates = fairness_selection_rates(at)
    expected = frame.groupby("sex")["pred"].mean()
    for group in ("female", "male"):
        assert rates[group].startswith(f"{expected[group]:.3f} (")


def test_a_duckdb_query_loads_only_its_rows(duck):
    url, frame = duck
    sql = "SELECT id, age, sex, y, pred FROM scored WHERE age >= 40"
    at = connect(new_apptest("model_data.py"), url, sql=sql)
    assert not at.error
    data = at.session_state["gw.dataset"]
    expected = frame.loc[frame["age"] >= 40, ["id", "age", "sex", "y", "pred"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(data.frame.sort_values("id").reset_index(drop=True), expected,
                                  check_dtype=False)
    assert data.name == f"{url}, query {sql}"
    assert (data.roles.target, data.roles.prediction, data.roles.score) == ("y", "pred", None)
    assert f"{len(expected):,} rows read from {md(data.name)} (at most 1,000,000)." in [
        c.value for c in at.caption]


def test_the_model_loaded_before_is_kept_or_one_uploaded_alongside_is_scored(tmp_path):
    german = pd.read_csv(sample_dir() / "german_test_predictions.csv")
    path = tmp_path / "german.duckdb"
    with duckdb.connect(str(path)) as con:
        con.register("frame", german)
        con.execute("CREATE TABLE applicants AS SELECT * FROM frame")
    url = f"duckdb:///{path}"
    at = new_apptest("model_data.py")
    at.button(key=P + "use_samples").click().run()
    sample_model = at.session_state["gw.model"]
    connect(at, url, table="applicants")
    assert not at.error
    assert at.session_state["gw.model"] is sample_model  # no model uploaded: the loaded one is kept
    data = at.session_state["gw.dataset"]
    assert (data.roles.target, data.roles.sensitive) == ("risk", ("sex", "age_group"))
    assert data.roles.features == sample_model.feature_names
    # a model uploaded with the connection replaces it and is scored on the table
    skops_bytes = (sample_dir() / "models" / "german_logreg.skops").read_bytes()
    connect(at, url, table="applicants", model=("logreg.skops", skops_bytes))
    assert not at.error
    model = at.session_state["gw.model"]
    assert model.name == "logreg.skops" and model is not sample_model
    frame = at.session_state["gw.dataset"].frame
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Accuracy"] == f"{accuracy_score(frame['risk'], model.predict(frame)):.3f}"


def test_a_url_with_a_password_is_refused_and_the_password_shows_nowhere(duck):
    at = new_apptest("model_data.py")
    at.radio(key=P + "source").set_value("Connect to a database").run()
    at.text_input(key=P + "db_url").input(f"postgresql://ann:{SECRET}@127.0.0.1:{free_port()}/x").run()
    assert not at.exception
    assert [e.value for e in at.error] == [md(_loading.PASSWORD_IN_URL)]
    assert at.text_input(key=P + "db_url").value.startswith("postgresql://ann@127.0.0.1:")  # taken out
    assert not any(SECRET in text for text in shown_text(at))
    assert SECRET not in repr(at.session_state.to_dict())
    with pytest.raises(IngestError) as err:  # called directly (the field's callback is not run)
        _loading.load_database(f"postgresql://ann:{SECRET}@db/x", table="t")
    assert str(err.value) == _loading.PASSWORD_IN_URL


def test_bad_connections_tables_queries_and_sizes_are_one_sentence_and_keep_what_was_loaded(duck):
    url, frame = duck
    at = connect(new_apptest("model_data.py"), url, table="scored")
    data = at.session_state["gw.dataset"]
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    cases = [
        (dict(url=closed, table="scored"), f"Could not connect to {closed} ("),
        (dict(url=url, table="nope"), E.NO_TABLE.format(table="nope", url=url, reason="it has: scored")),
        (dict(url=url, sql="SELECT no_such_column FROM scored"), f"The query failed on {url} ("),
        (dict(url=url, table="scored", max_rows=100), (
            f"{url}, table scored has 400 rows, more than the 100 that the dashboard holds in memory; raise "
            "the row limit (up to 10,000,000) or select fewer rows with a query; the command line audits "
            "logged predictions of any size where they live (glasswing audit --data URL).")),
        (dict(url=url, sql="SELECT * FROM scored WHERE age > 200"),
         _loading.NO_ROWS.format(name=f"{url}, query SELECT * FROM scored WHERE age > 200")),
        (dict(url="/tmp/logs.duckdb", table="scored"),
         _loading.NOT_A_DATABASE.format(url="/tmp/logs.duckdb")),
    ]
    for where, sentence in cases:
        connect(at, **{"max_rows": 1_000_000, **where})
        assert len(at.error) == 1, where
        shown = at.error[0].value
        assert shown == md(sentence) if sentence.endswith(".") else shown.startswith(md(sentence)), shown
        assert at.session_state["gw.dataset"] is data


def test_which_secret_a_url_gets():
    from glasswing._secrets import password_from_secrets

    logs = {"host": "db.internal", "username": "ann", "port": 5433, "database": "audits", "password": "c-pw"}
    secrets = {"connections": {"other": {"host": "elsewhere", "password": "o-pw"}, "logs": logs}}
    assert password_from_secrets(secrets, "postgresql://ann@db.internal:5433/audits") == "c-pw"
    assert password_from_secrets(secrets, "postgresql://ann@db.internal/audits") == "c-pw"  # port unsaid
    assert password_from_secrets(secrets, "postgresql://ann@db.internal:5432/audits") is None
    assert password_from_secrets(secrets, "postgresql://bob@db.internal:5433/audits") is None
    assert password_from_secrets(secrets, "postgresql://ann@db.internal:5433/other") is None
    assert password_from_secrets({**secrets, "glasswing": {"db_password": "g-pw"}},
                                 "postgresql://ann@db.internal:5433/audits") == "g-pw"  # ours first
    assert password_from_secrets({"glasswing": "not a table"}, "postgresql://ann@db/x") is None


# ============================================== PostgreSQL ============================================
@pytest.fixture(scope="module")
def pg_role(postgres_server):
    """A role that must give its password (scram) on the throwaway server; yields ``(role, password)``.

    Only this role's connections need a password (a line for it before the server's trust lines), so
    the other tests that share the server are unaffected.
    """
    import psycopg

    role = f"gw_reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{SECRET}'")
        hba = admin.execute("SHOW hba_file").fetchone()[0]
        with open(hba) as f:
            lines = f.read()
        with open(hba, "w") as f:
            f.write(f"host all {role} 127.0.0.1/32 scram-sha-256\n{lines}")
        admin.execute("SELECT pg_reload_conf()")
    yield role, SECRET


@pytest.fixture
def pg_table(postgres_url, pg_role):
    """A table ``predictions`` (400 rows, by COPY) that ``pg_role`` may read; yields ``(url, frame)``."""
    import psycopg

    role, _ = pg_role
    frame = scored_frame(seed=11)
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute("CREATE TABLE predictions (id int, age int, sex text, y int, pred int, score float8)")
        with con.cursor().copy("COPY predictions FROM STDIN WITH (FORMAT csv)") as copy:
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False, header=False)
            copy.write(buffer.getvalue())
        con.execute(f"GRANT SELECT ON predictions TO {role}")
    host_db = postgres_url.split("@", 1)[1]
    return f"postgresql://{role}@{host_db}", frame


def test_postgres_with_the_password_in_streamlit_secrets(pg_table, monkeypatch):
    for name in ("GLASSWING_DB_PASSWORD", "PGPASSWORD"):
        monkeypatch.delenv(name, raising=False)
    url, frame = pg_table
    at = new_apptest("model_data.py")
    at.secrets["glasswing"] = {"db_password": SECRET}
    connect(at, url, table="predictions")
    assert not at.error
    data = at.session_state["gw.dataset"]
    assert data.name == f"{url}, table predictions" and len(data) == 400
    pd.testing.assert_frame_equal(data.frame.sort_values("id").reset_index(drop=True), frame,
                                  check_dtype=False)
    assert data.roles.sensitive == ("sex",) and data.roles.target == "y"
    assert (f"400 rows read from {md(url)}, table predictions (at most 1,000,000); the password came from "
            "Streamlit secrets.") in [c.value for c in at.caption]
    assert not any(SECRET in text for text in shown_text(at))
    assert SECRET not in repr(at.session_state.to_dict())
    rates = fairness_selection_rates(at)
    expected = frame.groupby("sex")["pred"].mean()
    assert {g: r.split(" ")[0] for g, r in rates.items() if g in expected.index} == {
        g: f"{v:.3f}" for g, v in expected.items()}


def test_postgres_with_the_password_in_the_environment_and_a_wrong_one(pg_table, monkeypatch):
    url, frame = pg_table
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("GLASSWING_DB_PASSWORD", SECRET)
    at = connect(new_apptest("model_data.py"), url, sql="SELECT * FROM predictions WHERE sex = 'male'")
    assert not at.error
    assert len(at.session_state["gw.dataset"]) == int((frame["sex"] == "male").sum())
    assert any(c.value.endswith(md("; the password came from the environment (GLASSWING_DB_PASSWORD)."))
               for c in at.caption)
    loaded = at.session_state["gw.dataset"]
    # a wrong password in the secrets (they come first): one sentence, without it; the data stays
    monkeypatch.delenv("GLASSWING_DB_PASSWORD")
    wrong = "Wrong-pw-7731"
    at.secrets["connections"] = {"logs": {"host": "127.0.0.1", "username": url.split("//")[1].split("@")[0],
                                          "password": wrong}}
    connect(at, url, table="predictions")
    assert len(at.error) == 1
    assert at.error[0].value.startswith(md(f"Could not connect to {url} ("))
    assert "password authentication failed" in at.error[0].value
    assert not any(wrong in text or SECRET in text for text in shown_text(at))
    assert at.session_state["gw.dataset"] is loaded
