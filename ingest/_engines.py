"""Tables where they live: Parquet or CSV files, folders and globs, DuckDB files, PostgreSQL and Spark.

:func:`open_source` opens any of them as an Ibis table without reading a row: DuckDB embedded for files,
the database's own engine for ``duckdb:///`` and ``postgresql://`` URLs, Spark for ``engine="spark"``. The
audits push their aggregates down to it (``audits.group_metrics_pushdown``); :func:`read_source` brings a
bounded number of rows into pandas for the work that needs rows (a model's predictions, the dashboard's
pages). Every sentence names the source with its password redacted (:func:`redact`); a password missing
from a URL comes from ``GLASSWING_DB_PASSWORD`` or ``PGPASSWORD``.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from pathlib import Path

from glasswing._secrets import env_password, redact
from glasswing.ingest._errors import TABLE_TOO_MANY_COLUMNS, IngestError
from glasswing.ingest._limits import MAX_COLUMNS

NO_PARQUET = "There is no Parquet file at {path}; give a .parquet file or a folder that contains some."
NOT_PARQUET = "DuckDB could not read {path} as Parquet ({reason})."
NOT_READABLE = "The engine could not read {path} ({reason})."
NEED_TABLE = "{url} is a database; name the table with --table NAME or give a query with --sql."
TABLE_WITH_FILE = "--table and --sql name a table in a database; {path} is a file, so leave them out."
SQL_WITHOUT_URL = "--sql needs a database URL in --data (duckdb:///file.duckdb or postgresql://...)."
NO_TABLE = "There is no table {table!r} in {url} ({reason})."
BAD_SQL = "The query failed on {url} ({reason}); check it in a SQL client first."
UNREACHABLE = "Could not connect to {url} ({reason}); check the host, port, database and password."
BAD_ENGINE = "Unknown engine {engine!r}; use duckdb or spark."
TOO_MANY_ROWS = "{source} has {n:,} rows, more than the {limit:,} that {purpose} holds in memory; {fix}."
FEWER_ROWS = ("select fewer rows with a query (--sql), or audit the logged predictions where they live "
              "(--prediction or --score, no --model)")

URL_PREFIXES = ("duckdb://", "postgres://", "postgresql://")
#: The most rows :func:`read_source` brings into memory by default.
MAX_ROWS = 2_000_000


@contextlib.contextmanager
def quiet():
    """Ibis 12 calls DuckDB's ``fetch_arrow_table``, which newer DuckDB deprecates; not ours to fix."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*fetch_arrow_table.*", category=DeprecationWarning)
        yield


def first_line(err) -> str:
    """Return the first line of an engine's error, its passwords redacted."""
    text = str(err).strip().splitlines()
    return redact(text[0] if text else type(err).__name__)


def parquet_source(path) -> str:
    """Return the reader's argument for a file, a folder (every ``*.parquet`` below it) or a glob."""
    text = str(path)
    if any(ch in text for ch in "*?["):
        return text
    p = Path(path)
    if p.is_dir():
        if not any(p.rglob("*.parquet")):
            raise IngestError(NO_PARQUET.format(path=path))
        return str(p / "**" / "*.parquet")
    if not p.is_file():
        raise IngestError(NO_PARQUET.format(path=path))
    return str(p)


def is_database(data) -> bool:
    """Return whether ``data`` is a database URL (``duckdb:///...`` or ``postgresql://...``)."""
    return isinstance(data, str) and data.startswith(URL_PREFIXES)


def source_name(data, *, table: str | None = None, sql: str | None = None, engine: str = "duckdb") -> str:
    """Return how reports, sentences and the history name a source: redacted, with its table or query.

    >>> source_name("postgresql://ann:pw@db/x", table="scored")
    'postgresql://ann:***@db/x, table scored'
    >>> source_name(None, table="scored", engine="spark")
    "Spark's catalog, table scored"
    """
    spark_files = engine == "spark" and data is not None and not is_database(data)
    name = redact(data) if data is not None else "Spark's catalog" if engine == "spark" else "no data"
    if table is not None:
        name += f", table {table}"
    elif sql is not None:
        query = " ".join(redact(sql).split())
        name += f", query {query[:117] + '...' if len(query) > 120 else query}"
    return name + (" (Spark)" if spark_files else "")


def _password_url(url: str, password: str | None = None) -> str:
    password = password or (env_password() or (None, None))[1]
    if password and re.match(r"^[a-z+]+://[^/:@]+@", url):
        from urllib.parse import quote

        url = re.sub(r"^([a-z+]+://[^/:@]+)@", lambda m: f"{m.group(1)}:{quote(password, safe='')}@", url)
    return url


def open_source(data, *, engine: str = "duckdb", table: str | None = None, sql: str | None = None,
                spark_master: str | None = None, threads: int | None = None,
                memory_limit: str | None = "2GB", password: str | None = None):
    """Open ``data`` as an Ibis table on its engine, reading nothing yet.

    Parameters
    ----------
    data : str or pathlib.Path
        A Parquet or CSV file, a folder or glob of Parquet files, ``duckdb:///file.duckdb`` or
        ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DB`` (a missing password comes from
        ``GLASSWING_DB_PASSWORD`` or ``PGPASSWORD``), or with ``engine="spark"`` Parquet paths or a table.
    engine : {"duckdb", "spark"}
        The engine for files; database URLs use their own.
    table, sql : str, optional
        The table or the query in a database.
    spark_master : str, optional
        Spark master URL (``local[2]`` by default).
    threads, memory_limit : optional
        DuckDB settings for files.
    password : str, optional
        The database password when the URL has none (the dashboard's Streamlit secret); else the
        environment's.

    Returns
    -------
    ibis.expr.types.Table

    Raises
    ------
    IngestError
        One sentence, password redacted, for a missing file, an unreachable server, a wrong table or a
        failing query, and for Spark without pyspark or Java.
    """
    with quiet():
        return _open(data, engine, table, sql, spark_master, threads, memory_limit, password)


def _open(data, engine, table, sql, spark_master, threads, memory_limit, password=None):
    import ibis

    text = str(data)
    if engine not in ("duckdb", "spark"):
        raise IngestError(BAD_ENGINE.format(engine=engine))
    is_url = is_database(text)
    if sql is not None and not is_url and engine != "spark":
        raise IngestError(SQL_WITHOUT_URL)
    if text.startswith(("postgres://", "postgresql://")):
        try:
            con = ibis.connect(_password_url(text, password))
        except Exception as err:  # noqa: BLE001 - psycopg's errors vary; one sentence for all
            raise IngestError(UNREACHABLE.format(url=redact(text), reason=first_line(err))) from None
        return _db_table(con, text, table, sql)
    if text.startswith("duckdb://"):
        path = text[len("duckdb://"):]
        if not Path(path).is_file():
            raise IngestError(UNREACHABLE.format(url=text, reason="there is no such file"))
        try:
            # read-only, and no file, extension or network access beyond the database itself: a query
            # (typed on a served dashboard, say) cannot COPY TO a file, read_text('/etc/...') or ATTACH
            con = ibis.duckdb.connect(path, read_only=True, enable_external_access=False)
        except Exception as err:  # noqa: BLE001
            raise IngestError(UNREACHABLE.format(url=text, reason=first_line(err))) from None
        return _db_table(con, text, table, sql)
    if engine == "spark":
        from glasswing.ingest._spark import spark_session

        session = spark_session(spark_master or "local[2]")
        con = ibis.pyspark.connect(session)
        if table is not None or sql is not None:
            return _db_table(con, f"Spark ({spark_master or 'local[2]'})", table, sql)
        source = parquet_source(data)  # checked as for DuckDB; Spark reads a folder itself (no ** globs)
        if Path(str(data)).is_dir():
            source = str(data)
        try:
            return con.read_parquet(source)
        except Exception as err:  # noqa: BLE001
            raise IngestError(NOT_READABLE.format(path=data, reason=first_line(err))) from None
    if table is not None:
        raise IngestError(TABLE_WITH_FILE.format(path=data))
    config = {"memory_limit": memory_limit} if memory_limit else {}
    if threads:
        config["threads"] = int(threads)
    con = ibis.duckdb.connect(**config)
    try:
        if text.lower().endswith((".csv", ".csv.gz", ".tsv")):
            if not Path(text).is_file() and not any(ch in text for ch in "*?["):
                raise IngestError(NO_PARQUET.format(path=data).replace("Parquet", "CSV"))
            return con.read_csv(text)
        return con.read_parquet(parquet_source(data))
    except IngestError:
        raise
    except Exception as err:  # noqa: BLE001 - duckdb's IOException and friends
        raise IngestError(NOT_PARQUET.format(path=data, reason=first_line(err))) from None


def _db_table(con, url, table, sql):
    try:
        return _db_table_of(con, url, table, sql)
    except IngestError:
        if not url.startswith("Spark"):
            con.disconnect()
        raise


def _db_table_of(con, url, table, sql):
    if sql is not None:
        try:
            schema = {"postgres": _pg_schema, "duckdb": _duckdb_schema}.get(con.name)
            t = con.sql(sql, schema=schema(con, sql)) if schema else con.sql(sql)
            t.schema()
            return t
        except Exception as err:  # noqa: BLE001
            raise IngestError(BAD_SQL.format(url=redact(url), reason=first_line(err))) from None
    if table is None:
        raise IngestError(NEED_TABLE.format(url=redact(url)))
    try:
        return con.table(table)
    except Exception as err:  # noqa: BLE001
        try:
            names = _table_names(con)
            reason = f"it has: {', '.join(names[:20])}{' ...' if len(names) > 20 else ''}" if names \
                else "it has no tables"
        except Exception:  # noqa: BLE001 - the listing is a courtesy
            reason = first_line(err)
        raise IngestError(NO_TABLE.format(table=table, url=redact(url), reason=reason)) from None


def _table_names(con) -> list[str]:
    """Return the tables of a connection (DuckDB's own catalogue: ibis 12's listing fails on DuckDB 2)."""
    if con.name == "duckdb":
        rows = con.con.sql("SELECT DISTINCT table_name FROM information_schema.tables").fetchall()
        return sorted(r[0] for r in rows)
    return sorted(con.list_tables())


def _duckdb_schema(con, sql: str):
    """Return the query's schema from DuckDB's own relation (ibis 12 asks DuckDB 2 for a removed method)."""
    import ibis

    return ibis.Schema.from_pyarrow(con.con.sql(sql).limit(0).to_arrow_table().schema)


def _pg_schema(con, sql: str):
    """Return the query's schema via a temporary view (ibis 12's own DROP comes out garbled here)."""
    import uuid

    name = f"glasswing_q_{uuid.uuid4().hex}"
    with con.con.cursor() as cur, con.con.transaction():
        cur.execute(f'CREATE TEMPORARY VIEW "{name}" AS {sql}')
    try:
        return con.get_schema(name)
    finally:
        with con.con.cursor() as cur, con.con.transaction():
            cur.execute(f'DROP VIEW IF EXISTS "{name}"')


def close(t, engine: str = "duckdb") -> None:
    """Close the connection behind an Ibis table from :func:`open_source` (the Spark session is shared)."""
    if engine != "spark":
        with contextlib.suppress(Exception):
            t.get_backend().disconnect()


def count_rows(t, name: str) -> int:
    """Return the number of rows of an Ibis table, counted by its engine."""
    try:
        with quiet():
            return int(t.count().to_pyarrow().as_py())
    except Exception as err:  # noqa: BLE001
        raise IngestError(NOT_READABLE.format(path=name, reason=first_line(err))) from None


def read_source(data, *, engine: str = "duckdb", table: str | None = None, sql: str | None = None,
                spark_master: str | None = None, password: str | None = None, max_rows: int | None = None,
                purpose: str = "Glasswing", fix: str = FEWER_ROWS):
    """Bring the rows of a source into pandas, at most ``max_rows`` of them (counted by the engine first).

    The columns are checked against the upload budget (``MAX_COLUMNS``) from the schema, before any row.

    For the work that needs rows in this process: scoring a model file, the dashboard's pages. Audits of
    logged predictions do not need it (``audits.group_metrics_parquet`` pushes them down).

    Parameters
    ----------
    data, engine, table, sql, spark_master, password
        As for :func:`open_source`.
    max_rows : int, optional
        A larger source raises one sentence instead of filling the memory (default :data:`MAX_ROWS`,
        2,000,000).
    purpose, fix : str
        Who holds the rows, and how to do with fewer, for that sentence ("the dashboard", "raise the row
        limit"); ``fix`` names the command line's options by default.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import duckdb
    >>> path = Path(tempfile.mkdtemp()) / "logs.duckdb"
    >>> with duckdb.connect(str(path)) as con:
    ...     _ = con.execute("CREATE TABLE scored AS SELECT range AS id, range % 2 AS y FROM range(5)")
    >>> read_source(f"duckdb:///{path}", sql="SELECT * FROM scored WHERE y = 1")["id"].tolist()
    [1, 3]
    >>> read_source(f"duckdb:///{path}", table="scored", max_rows=3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    glasswing.ingest._errors.IngestError: duckdb:///.../logs.duckdb, table scored has 5 rows, more than...
    """
    t = open_source(data, engine=engine, table=table, sql=sql, spark_master=spark_master, password=password)
    name = source_name(data, table=table, sql=sql, engine=engine)
    max_rows = MAX_ROWS if max_rows is None else int(max_rows)
    try:
        with quiet():
            columns = len(t.schema())
        if columns > MAX_COLUMNS:  # the upload budget, checked before a row is read
            raise IngestError(TABLE_TOO_MANY_COLUMNS.format(name=name, count=columns, limit=MAX_COLUMNS))
        n = count_rows(t, name)
        if n > max_rows:
            raise IngestError(TOO_MANY_ROWS.format(source=name, n=n, limit=max_rows, purpose=purpose,
                                                   fix=fix))
        try:
            with quiet():
                frame = t.to_pandas()
        except Exception as err:  # noqa: BLE001
            raise IngestError(NOT_READABLE.format(path=name, reason=first_line(err))) from None
        frame.columns = [str(c) for c in frame.columns]
        return frame
    finally:
        close(t, engine)
