"""The sidebar shared by every page: what is loaded, with its fingerprint."""

from __future__ import annotations

import streamlit as st

from glasswing.dashboard import _state


def render(version: str) -> None:
    """Show the loaded model and data (name, kind, short SHA-256) under the navigation."""
    with st.sidebar:
        st.caption(f"Glasswing {version}")
        model, data, images = _state.model(), _state.dataset(), _state.images()
        if model is None and data is None and images is None:
            st.caption("Nothing loaded yet.")
            return
        if model is not None:
            st.markdown(f"**Model** `{model.name}`  \n{model.kind}, {model.modality}, "
                        f"`{model.sha256[:12]}`")
        if data is not None:
            st.markdown(f"**Data** `{data.name}`  \n{len(data):,} rows, `{data.sha256[:12]}`")
        if images is not None:
            st.markdown(f"**Images** `{images.name}`  \n{len(images)} images")
