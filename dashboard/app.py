"""Glasswing dashboard: the only entry point (``glasswing serve`` runs it with Streamlit)."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import streamlit as st

from glasswing import __version__
from glasswing.dashboard import _sidebar

ROOT = Path(__file__).resolve().parent

SECTIONS = {
    "Data": [("model_data.py", "Model & data", ":material/upload_file:")],
    "Explain": [
        ("explain_tabular.py", "Explain: tabular", ":material/table_chart:"),
        ("explain_images.py", "Explain: images", ":material/image_search:"),
    ],
    "Fairness": [
        ("fairness.py", "Fairness audit", ":material/balance:"),
        ("mitigation.py", "Mitigation", ":material/tune:"),
    ],
    "Share": [
        ("report.py", "Report", ":material/picture_as_pdf:"),
        ("review.py", "Review", ":material/groups:"),
    ],
}


def _password_gate() -> None:
    """When served to a network with a password (``glasswing serve --host``), ask for it once per session."""
    expected = os.environ.get("GLASSWING_PASSWORD_SHA256")
    if os.environ.get("GLASSWING_AUTH") == "oidc" and not st.user.is_logged_in:
        st.button("Log in", on_click=st.login)
        st.stop()
    if not expected or st.session_state.get("gw.authenticated"):
        return
    with st.form("login"):
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Enter"):
            digest = hashlib.sha256(password.encode()).hexdigest()
            if hmac.compare_digest(digest, expected):
                st.session_state["gw.authenticated"] = True
                st.rerun()
            st.error("That password is not right; ask whoever started the server.")
    st.stop()


st.set_page_config(page_title="Glasswing", page_icon=":material/visibility:", layout="wide")
_password_gate()
pages = {
    section: [
        st.Page(f"app_pages/{file}", title=title, icon=icon, default=(file == "model_data.py"))
        for file, title, icon in entries
        if (ROOT / "app_pages" / file).exists()
    ]
    for section, entries in SECTIONS.items()
}
navigation = st.navigation({k: v for k, v in pages.items() if v})
_sidebar.render(__version__)
navigation.run()
