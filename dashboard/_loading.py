"""Loading for the Model & data page: cached parsers keyed by content SHA-256, samples, and storing.

Uploads stay in memory: the page passes the uploaded bytes here, they are parsed once per digest
(``st.cache_resource`` for models and image sets, which are never mutated; ``st.cache_data`` for tables
and metrics) and the results go into ``st.session_state`` through :mod:`dashboard._state`. A database
connection (``duckdb:///`` or ``postgresql://`` URL, a table or a query) is read by
``ingest.read_source``, bounded, and cached for a minute only, as a table can change; its password comes
from Streamlit's secrets or the environment and never reaches the session state or the page.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from glasswing import ingest
from glasswing._errors import GlasswingError
from glasswing._secrets import (
    PASSWORD_VARIABLES,
    SECRETS_KEY,
    SECRETS_SECTION,
    env_password,
    password_from_secrets,
    redact,
)
from glasswing.dashboard import _state
from glasswing.dashboard._text import md, mds
from glasswing.ingest import samples
from glasswing.ingest._tabular import frame_sha256

#: How to read a table over the row limit, said on the page.
FEWER_ROWS = (f"raise the row limit (up to {ingest.MAX_ROWS:,}) or select fewer rows with a query; the "
              "command line audits logged predictions of any size where they live (glasswing audit "
              "--data URL)")
#: Sample choices on the page: label -> (what, variant).
SAMPLES = {
    "German credit, gradient boosting": ("german", "gbm"),
    "German credit, logistic regression": ("german", "logreg"),
    "Digits images, CNN": ("digits", "safetensors"),
    "COMPAS risk scores (ProPublica)": ("compas", None),
}
SAMPLE_CAPTIONS = (
    "300 loan applicants (test split) with a scikit-learn gradient-boosting pipeline; sensitive: sex.",
    "The same applicants with a logistic-regression pipeline.",
    "20 digit images, half with a red corner watermark the CNN learned as a shortcut for '3'.",
    "7,214 defendants with logged COMPAS decile scores (1-10) and two-year recidivism; sensitive: race, "
    "sex. ProPublica's rule: a score of 5 or more is higher risk.",
)
#: The unvalidated dataset as loaded; column roles chosen on the page are applied to it.
BASE = "model_data.base"
#: Counts loads, so role widgets (keyed by it) start from the new data's roles.
GENERATION = "model_data.generation"
#: What the last database load read (rows, source, limit, where the password came from; never the password).
CONNECTION = "model_data.connection"
#: How long a table read from a database is reused before Connect and load reads it again.
DATABASE_TTL_S = 60
#: The row limit a connection starts with on the page (at most ``ingest.MAX_ROWS``).
DATABASE_ROWS = 1_000_000

PASSWORD_IN_URL = (f"This page takes no password in the URL (its field would show and keep it): put the "
                   f"password in the environment ({PASSWORD_VARIABLES[0]}) or in .streamlit/secrets.toml as "
                   f'{SECRETS_KEY} = "..." under [{SECRETS_SECTION}], and give the URL without it.')
NOT_A_DATABASE = ("{url!r} is not a database URL; give duckdb:///path/to/file.duckdb or "
                  "postgresql://user@host:5432/db.")
NEED_TABLE_OR_QUERY = "Name the table to read from {url}, or write a query."
NO_ROWS = "{name} has no rows; check the table, or the query's WHERE clause."


# ============================================ cached parsers ==========================================
@st.cache_resource(max_entries=8, show_spinner="Loading the model...")
def model(sha256: str, name: str, trusted: bool, architecture: str | None,
          preprocess: ingest.ImagePreprocess | None, _data: bytes) -> ingest.Model:
    """Return the model in ``_data`` (loaded once per digest and options)."""
    return ingest.load_model(_data, name=name, trusted=trusted, architecture=architecture,
                             preprocess=preprocess)


@st.cache_data(max_entries=8, show_spinner="Reading the table...")
def table(sha256: str, name: str, _data: bytes) -> pd.DataFrame:
    """Return the table in ``_data`` (parsed once per digest)."""
    return ingest.read_table(_data, name=name)[0]


@st.cache_resource(max_entries=4, show_spinner="Reading the images...")
def images(sha256: str, name: str, _files: tuple) -> ingest.ImageSet:
    """Return the image set in ``_files``: one zip or image, or several images plus a labels.csv."""
    source = _files[0][1] if len(_files) == 1 else list(_files)
    return ingest.load_images(source, name=name)


@st.cache_resource(max_entries=4, show_spinner="Loading the samples...")
def sample(choice: str) -> tuple[Any, Any, Any]:
    """Return ``(model, dataset, images)`` for a sample label in :data:`SAMPLES` (one is None)."""
    what, variant = SAMPLES[choice]
    if what == "german":
        return samples.german_model(variant), samples.german_dataset("test", predictions=variant), None
    if what == "compas":
        return None, samples.compas_dataset(), None
    return samples.digits_model(variant), None, samples.digits_images()


@st.cache_data(max_entries=4, ttl=DATABASE_TTL_S, show_spinner="Reading from the database...")
def database_frame(url: str, table: str | None, sql: str | None, max_rows: int,
                   _password: str | None) -> pd.DataFrame:
    """Return at most ``max_rows`` rows of a table or query (``ingest.read_source``), for a minute.

    The password is not part of the cache key (``_password`` is not hashed): it is the server's (its
    secrets or environment), the same for every session, and no cached value holds it.
    """
    return ingest.read_source(url, table=table, sql=sql, password=_password, max_rows=max_rows,
                              purpose="the dashboard", fix=FEWER_ROWS)


@st.cache_data(max_entries=32, show_spinner="Scoring the model on the data...")
def performance(model_sha: str, data_sha: str, roles: Any, _model: ingest.Model, _data: Any) -> dict:
    """``audits.model_performance`` (n, accuracy, AUC), once per model, data and roles."""
    from glasswing import audits

    return audits.model_performance(_model, _data)


# =============================================== storing ==============================================
def digest(data: bytes) -> str:
    """Return the SHA-256 hex digest of uploaded bytes."""
    return hashlib.sha256(data).hexdigest()


def store(model: Any, dataset: Any, images: Any) -> None:
    """Put what was loaded into the session; a table replaces images and the other way round."""
    _state.put(_state.MODEL, model)
    _state.put(_state.DATASET, dataset)
    _state.put(BASE, dataset)
    _state.put(_state.IMAGES, images)
    st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1


def use_sample(choice: str) -> None:
    """Load a sample (cached) and store it."""
    store(*sample(choice))


@st.cache_data(max_entries=16, show_spinner=False)
def _untrusted(sha256: str, name: str, _data: bytes) -> tuple[str, ...]:
    try:
        return ingest.untrusted_parts(_data, name=name)
    except ingest.IngestError:  # not a model file: loading says so in one sentence
        return ()


def trust_needed(upload: Any) -> tuple[str, ...]:
    """Return what marking an uploaded model file trusted would allow (empty: it loads without trust).

    Pickles ("any code"), a skops file's stored functions and unreviewed types, a TorchScript file's
    calls beyond tensor math; checked once per digest, nothing is loaded.
    """
    data = upload.getvalue()
    return _untrusted(digest(data), upload.name, data)


def load_uploads(model_file: Any, data_files: Any, *, trusted: bool, architecture: str | None,
                 preprocess: Any, class_names: str = "") -> None:
    """Parse the uploaded model and/or data and store them; on any error nothing is stored.

    A model uploaded together with data must fit it (``ingest.check_model_fits``), after an image model's
    classes are given ``class_names`` (comma-separated, in output order); a model or data uploaded alone
    keeps what was loaded before for the other part.
    """
    new_model = _uploaded_model(model_file, trusted=trusted, architecture=architecture,
                                preprocess=preprocess, class_names=class_names)
    files = [f for f in (data_files if isinstance(data_files, list) else [data_files]) if f is not None]
    if not files:
        _state.put(_state.MODEL, new_model)
        return
    if files[0].name.lower().endswith((".csv", ".tsv", ".txt", ".parquet", ".pq")) and len(files) == 1:
        raw = files[0].getvalue()
        sha = digest(raw)
        base, dataset = _table_dataset(table(sha, files[0].name, raw), files[0].name, sha, new_model)
        image_set = None
    else:
        pairs = tuple((f.name, f.getvalue()) for f in files)
        key = digest(b"".join(n.encode() + b"\0" + digest(d).encode() for n, d in pairs))
        dataset, image_set = None, images(key, files[0].name if len(files) == 1 else "images", pairs)
    if model_file is not None and new_model is not None:
        ingest.check_model_fits(new_model, dataset if dataset is not None else image_set)
    store(new_model, dataset, image_set)
    if dataset is not None:
        _state.put(BASE, base)


def _table_dataset(frame: pd.DataFrame, name: str, sha256: str, model: Any) -> tuple[Any, Any]:
    """Return the table as read (``BASE``) and the same table with the roles suggested for it."""
    base = ingest.Dataset(frame=frame, name=name, sha256=sha256, notes=ingest.table_notes(frame))
    return base, base.with_roles(**dataclasses.asdict(ingest.suggest_roles(frame, model)))


def _uploaded_model(model_file: Any, *, trusted: bool, architecture: str | None = None,
                    preprocess: Any = None, class_names: str = "") -> ingest.Model | None:
    """Return the uploaded model (cached per digest), or the one loaded before when none is uploaded."""
    if model_file is None:
        return _state.model()
    data = model_file.getvalue()
    new_model = model(digest(data), model_file.name, trusted, architecture or None,
                      ingest.as_preprocess(preprocess), data)
    names = ingest.parse_class_names(class_names)
    if names and new_model.modality == "image":
        new_model = ingest.with_class_names(new_model, names)
    return new_model


def database_password(url: str) -> tuple[str | None, str | None]:
    """Return ``(password, where it came from)`` for a PostgreSQL URL; ``(None, None)`` when none is set.

    Streamlit's secrets first (``[glasswing] db_password``, or a matching ``[connections.NAME]``; see
    ``glasswing._secrets.password_from_secrets``), then ``GLASSWING_DB_PASSWORD`` and ``PGPASSWORD``. A
    DuckDB file needs none. No secrets file is no error.
    """
    if not str(url).startswith(("postgres://", "postgresql://")):
        return None, None
    try:
        secrets = st.secrets.to_dict()
    except (FileNotFoundError, KeyError, AttributeError, TypeError, ValueError):  # none, or unreadable TOML
        secrets = {}
    password = password_from_secrets(secrets, url)
    if password:
        return password, "Streamlit secrets"
    found = env_password()
    return (found[1], f"the environment ({found[0]})") if found else (None, None)


def load_database(url: str, *, table: str | None = None, sql: str | None = None,
                  max_rows: int = DATABASE_ROWS, model_file: Any = None, trusted: bool = False) -> None:
    """Read a database table or query into the session as the dataset; on any error nothing is stored.

    Parameters
    ----------
    url : str
        ``duckdb:///path/file.duckdb`` or ``postgresql://USER@HOST[:PORT]/DB``, without a password (one in
        the URL is refused: the page's widget would show and keep it); the password comes from
        :func:`database_password`.
    table, sql : str, optional
        The table, or else the query (blank means not given).
    max_rows : int
        A larger table or query is refused in one sentence (``ingest.read_source`` counts it first).
    model_file : uploaded file, optional
        A model uploaded alongside (it must fit the table); without one the model loaded before is kept.
    trusted : bool
        Whether the uploaded model file is marked trusted.
    """
    url, table, sql = url.strip(), (table or "").strip() or None, (sql or "").strip() or None
    if ingest.has_password(url):
        raise ingest.IngestError(PASSWORD_IN_URL)
    if not ingest.is_database(url):
        raise ingest.IngestError(NOT_A_DATABASE.format(url=redact(url)))
    if table is None and sql is None:
        raise ingest.IngestError(NEED_TABLE_OR_QUERY.format(url=url))
    new_model = _uploaded_model(model_file, trusted=trusted)
    password, origin = database_password(url)
    max_rows = int(min(max(max_rows, 1), ingest.MAX_ROWS))
    name = ingest.source_name(url, table=table, sql=None if table else sql)
    try:
        frame = database_frame(url, table, None if table else sql, max_rows, password)
    except GlasswingError as err:  # an engine may echo what it was given: the secret's value goes too
        raise ingest.IngestError(redact(err, also=(password or "",))) from None
    if len(frame) == 0:
        raise ingest.IngestError(NO_ROWS.format(name=name))
    base, dataset = _table_dataset(frame, name, frame_sha256(frame), new_model)
    if model_file is not None and new_model is not None:
        ingest.check_model_fits(new_model, dataset)
    store(new_model, dataset, None)
    _state.put(BASE, base)
    _state.put(CONNECTION, {"sha256": base.sha256, "rows": len(frame), "name": name, "limit": max_rows,
                            "password_from": origin})


def connection_caption(info: dict) -> str:
    """Return the sentence that says what a connection read (rows, source, limit, the password's origin)."""
    text = f"{info['rows']:,} rows read from {info['name']} (at most {info['limit']:,})"
    if info.get("password_from"):
        text += f"; the password came from {info['password_from']}"
    return text + "."


def name_classes(model: ingest.Model, text: str) -> ingest.Model:
    """Give the loaded model the class names typed on the page (``ingest.with_class_names``) and store it."""
    names = ingest.parse_class_names(text)
    if not names or [str(c) for c in model.classes_] == names:
        return model
    named = ingest.with_class_names(model, names)
    _state.put(_state.MODEL, named)
    return named


def model_facts(model: ingest.Model) -> str:
    """Return the model summary as a Markdown table (what, value), SHA-256 included."""
    classes = [str(c) for c in model.classes_]
    rows = [
        ("File", md(model.name)),
        ("Kind", md(f"{model.kind}, from {model.source_format}")),
        ("Modality", md(model.modality)),
        ("Classes", ", ".join(mds(classes)) if len(classes) <= 12 else f"{len(classes)} classes"),
        ("Estimator", md(_estimator_name(model))),
        ("Inputs", ", ".join(mds(model.feature_names)) if model.feature_names else md(_image_input(model))),
        ("SHA-256", f"`{model.sha256}`"),
    ]
    lines = [f"| **{k}** | {v} |" for k, v in rows if v]
    return "\n".join([lines[0], "|:--|:--|", *lines[1:]])  # the file name is the header row


def _estimator_name(model: ingest.Model) -> str:
    if model.estimator is not None:
        steps = getattr(model.estimator, "steps", None)
        names = [type(step).__name__ for _, step in steps] if steps else [type(model.estimator).__name__]
        return " → ".join(names)
    if model.module is not None:
        return model.architecture or type(model.module).__name__
    return "ONNX graph"


def _image_input(model: ingest.Model) -> str:
    p = model.preprocess
    if p is None:
        return ""
    return (f"{p.size[0]} x {p.size[1]} {'grayscale' if p.grayscale else 'RGB'}, "
            f"mean {', '.join(f'{m:g}' for m in p.mean)}, std {', '.join(f'{s:g}' for s in p.std)}")
