"""Glasswing dashboard: the only page script (``glasswing serve`` serves it through ``_asgi.py``).

Logins are not checked here: ``_auth.LoginMiddleware`` refuses every route before login, the websocket
that runs this script included.
"""

from __future__ import annotations

import streamlit as st

from glasswing import __version__
from glasswing.dashboard import _sidebar
from glasswing.dashboard._navigation import SECTIONS

# An emoji icon is drawn in the browser; a :material/...: page icon would be fetched from the internet.
st.set_page_config(page_title="Glasswing", page_icon="🔎", layout="wide")
_sidebar.require_login()
pages = {
    section: [
        st.Page(f"app_pages/{file}", title=title, icon=icon, default=(file == "model_data.py"))
        for file, title, icon in entries
    ]
    for section, entries in SECTIONS.items()
}
navigation = st.navigation(pages)
_sidebar.render(__version__)
navigation.run()
