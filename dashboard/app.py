"""Glasswing dashboard: the only page script (``glasswing serve`` serves it through ``_asgi.py``).

Logins are not checked here: ``_auth.LoginMiddleware`` refuses every route before login, the websocket
that runs this script included.
"""

from __future__ import annotations

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


# An emoji icon is drawn in the browser; a :material/...: page icon would be fetched from the internet.
st.set_page_config(page_title="Glasswing", page_icon="🔎", layout="wide")
_sidebar.require_login()
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
