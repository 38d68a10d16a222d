"""The dashboard as an ASGI app (Streamlit's ``st.App``): what ``glasswing serve`` runs.

``streamlit run`` finds the ``app = st.App(...)`` below and serves it with uvicorn; the pages are
``app.py``'s. When ``glasswing serve`` asks for a login (``GLASSWING_AUTH`` is ``password`` or ``oidc``),
:class:`glasswing.dashboard._auth.LoginMiddleware` stands in front of every route, Streamlit's own included.
The password arrives only as a salted scrypt hash (``GLASSWING_PASSWORD_SCRYPT``), which is removed from
the environment here, before any page runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from streamlit import config

from glasswing.dashboard import _auth


def middleware(environ: dict) -> list[Middleware]:
    """Return the login middleware that ``environ`` asks for (none when no login is configured)."""
    mode = environ.get(_auth.AUTH_MODE_ENV, "")
    password_hash = environ.pop(_auth.PASSWORD_HASH_ENV, None)
    if not mode:
        return []
    return [Middleware(_auth.LoginMiddleware, mode=mode, password_hash=password_hash,
                       base_url=config.get_option("server.baseUrlPath") or "")]


app = st.App(Path(__file__).resolve().with_name("app.py"), middleware=middleware(os.environ))
