"""The sidebar shared by every page: what is loaded, with its fingerprint, and the login with Log out."""

from __future__ import annotations

import os

import streamlit as st

from glasswing.dashboard import _auth, _state
from glasswing.dashboard._text import code, md

LOGGED_OUT = "You are logged out. Reload the page to log in again."


def login_mode() -> str:
    """Return how this server asks for a login (``"password"``, ``"oidc"``), or ``""`` when it does not."""
    return os.environ.get(_auth.AUTH_MODE_ENV, "")


def require_login() -> None:
    """Stop the page when this browser's login has ended since its websocket connected (Log out, expiry).

    The middleware already refused the connection before login; this catches a session that ended while
    the page stayed open.
    """
    mode = login_mode()
    if mode == _auth.PASSWORD and not _auth.session_store().valid(st.context.cookies.get(_auth.COOKIE)):
        st.info(LOGGED_OUT, icon=":material/logout:")
        st.stop()
    if mode == _auth.OIDC and not st.user.is_logged_in:
        st.info(LOGGED_OUT, icon=":material/logout:")
        st.stop()


def _log_out() -> None:
    if login_mode() == _auth.OIDC:
        st.logout()
        return
    _auth.session_store().end(st.context.cookies.get(_auth.COOKIE))


def render(version: str) -> None:
    """Show the loaded model and data (name, kind, short SHA-256) under the navigation."""
    with st.sidebar:
        st.caption(f"Glasswing {version}")
        if login_mode():
            who = st.user.get("email") or st.user.get("name") if login_mode() == _auth.OIDC else None
            if who:
                st.caption(f"Logged in as {md(who)}")
            st.button("Log out", key="gw.logout", on_click=_log_out, icon=":material/logout:",
                      type="tertiary")
        model, data, images = _state.model(), _state.dataset(), _state.images()
        if model is None and data is None and images is None:
            st.caption("Nothing loaded yet.")
            return
        if model is not None:
            st.markdown(f"**Model** {code(model.name)}  \n{md(model.kind)}, {md(model.modality)}, "
                        f"`{model.sha256[:12]}`")
        if data is not None:
            st.markdown(f"**Data** {code(data.name)}  \n{len(data):,} rows, `{data.sha256[:12]}`")
        if images is not None:
            st.markdown(f"**Images** {code(images.name)}  \n{len(images)} images")
