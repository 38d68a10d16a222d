"""What the user has loaded, shared by every page through ``st.session_state`` (one browser session each).

Keys are prefixed ``gw.``; pages keep their own widget state under ``<page>.`` prefixes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from typing import Any

import streamlit as st

from glasswing._errors import GlasswingError
from glasswing.dashboard._text import md

log = logging.getLogger(__name__)

MODEL = "gw.model"
DATASET = "gw.dataset"
IMAGES = "gw.images"
UNEXPECTED = ("Something went wrong while {doing}; your loaded data and earlier results are unchanged. "
              "The details are in the server log.")


def roles_key(data: Any) -> tuple:
    """Return the column roles of a loaded dataset as a hashable cache key (empty for images or nothing).

    Every cached call whose result depends on the roles takes this next to the data's digest, so that
    the dashboard's three helper modules key their caches the same way.
    """
    roles = getattr(data, "roles", None)
    return dataclasses.astuple(roles) if roles is not None else ()


def get(key: str) -> Any:
    """Return what is stored under ``key`` in this session (None when nothing is)."""
    return st.session_state.get(key)


def put(key: str, value: Any) -> None:
    """Store ``value`` under ``key`` for this session."""
    st.session_state[key] = value


def model():
    """Return the loaded ``ingest.Model``, or None."""
    return get(MODEL)


def dataset():
    """Return the loaded tabular ``ingest.Dataset``, or None."""
    return get(DATASET)


def images():
    """Return the loaded ``ingest.ImageSet``, or None."""
    return get(IMAGES)


@contextlib.contextmanager
def guard(doing: str) -> Iterator[None]:
    """Show bad input as one sentence (``st.error``) instead of a traceback; nothing stored is touched.

    ``GlasswingError`` messages are shown as they are; any other exception is logged with its traceback
    and summarised in one sentence, so the rest of the page keeps working.
    """
    try:
        yield
    except GlasswingError as err:
        st.error(md(err), icon=":material/error:")
    except Exception:
        log.exception("Unexpected error while %s", doing)
        st.error(UNEXPECTED.format(doing=doing), icon=":material/error:")


def need(what: str, page: str = "app_pages/model_data.py") -> None:
    """Tell the user what to load first, link to the page where they can, and stop this page."""
    st.info(f"Load {what} first.", icon=":material/info:")
    st.page_link(page, label="Go to Model & data", icon=":material/upload_file:")
    st.stop()
