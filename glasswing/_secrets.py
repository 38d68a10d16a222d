"""Passwords stay out of every sentence, report and history entry: :func:`redact` and where they come from.

Part of the ground (the standard library only), so that the command line can redact what it prints
without importing the packages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

#: Where a database password comes from when the URL has none (the first one set).
PASSWORD_VARIABLES = ("GLASSWING_DB_PASSWORD", "PGPASSWORD")
#: Where the dashboard finds a database password in ``.streamlit/secrets.toml``: ``[glasswing] db_password``.
SECRETS_SECTION, SECRETS_KEY = "glasswing", "db_password"
#: ``scheme://user:password@``: the user part is group 1.
_URL_PASSWORD = re.compile(r"^([a-z+]+://[^/:@]*):[^@/]*@")


def redact(text, also: Iterable[str] = ()) -> str:
    """Return ``text`` (a URL, a sentence) with every password replaced by ``***``.

    ``postgresql://u:***@host/db``, ``password=***`` in a query string or a libpq key-value string, and the
    literal value of ``GLASSWING_DB_PASSWORD`` or ``PGPASSWORD`` wherever it appears, and of each password
    in ``also`` (one read from Streamlit's secrets, say).

    >>> redact("could not connect to postgresql://ann:s3cret@db:5432/x?password=s3cret")
    'could not connect to postgresql://ann:***@db:5432/x?password=***'
    """
    text = re.sub(r"(//[^/:@\s]*:)[^@/\s]*@", r"\1***@", str(text))
    text = re.sub(r"(?i)(password\s*=\s*)[^&\s;]+", r"\1***", text)
    for secret in [*(os.environ.get(name) for name in PASSWORD_VARIABLES), *also]:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


def env_password() -> tuple[str, str] | None:
    """Return ``(variable, password)`` from the first of :data:`PASSWORD_VARIABLES` that is set, or None."""
    name = next((n for n in PASSWORD_VARIABLES if os.environ.get(n)), None)
    return (name, os.environ[name]) if name else None


def has_password(url) -> bool:
    """Return whether a database URL carries a password (``scheme://user:password@host``).

    >>> has_password("postgresql://ann:s3cret@db/x"), has_password("postgresql://ann@db/x")
    (True, False)
    """
    return bool(_URL_PASSWORD.match(str(url)))


def without_password(url: str) -> str:
    """Return a URL with the password taken out (``scheme://user:pw@host`` becomes ``scheme://user@host``).

    >>> without_password("postgresql://ann:s3cret@db:5432/x")
    'postgresql://ann@db:5432/x'
    """
    return _URL_PASSWORD.sub(r"\1@", str(url))


def password_from_secrets(secrets: Mapping, url: str) -> str | None:
    """Return the password for a database URL from Streamlit-style secrets (a mapping), or None.

    ``[glasswing] db_password = "..."`` first, for any URL; else the ``password`` of a
    ``[connections.NAME]`` section (Streamlit's layout for SQL connections) whose ``host`` is the URL's and
    whose ``username``, ``port`` and ``database`` agree with it where both name them.

    >>> secrets = {"connections": {"logs": {"host": "db", "username": "ann", "password": "s3cret"}}}
    >>> [password_from_secrets(secrets, url) for url in ("postgresql://ann@db:5432/x", "postgresql://bob@db/x")]
    ['s3cret', None]
    """
    own = secrets.get(SECRETS_SECTION)
    if isinstance(own, Mapping) and own.get(SECRETS_KEY):
        return str(own[SECRETS_KEY])
    try:
        parts = urlsplit(url)
        wanted = {"host": parts.hostname, "username": unquote(parts.username or "") or None,
                  "port": parts.port, "database": parts.path.lstrip("/") or None}
    except ValueError:  # a port that is not a number: no section can match
        return None
    connections = secrets.get("connections")
    for section in connections.values() if isinstance(connections, Mapping) else ():
        if not isinstance(section, Mapping) or not section.get("password") or wanted["host"] is None:
            continue
        given = {k: section.get(k) for k in wanted}
        if str(given["host"]).lower() == wanted["host"] and all(
                given[k] is None or wanted[k] is None or str(given[k]) == str(wanted[k])
                for k in ("username", "port", "database")):
            return str(section["password"])
    return None
