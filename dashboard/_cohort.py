"""The saved cohort ("audit only this cohort"): one per session, applied by the Fairness and Explain pages.

The Error analysis page saves a cohort of the loaded data; the pages that audit or explain call
:func:`apply`, which returns the cohort's rows (a ``Dataset`` with a digest of its own, so every cache keeps
the whole data's results apart) and says above the page that a cohort filter is on, with a button to clear
it. A cohort saved on other data is not applied, and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from glasswing import audits
from glasswing.audits import Cohort
from glasswing.dashboard import _state
from glasswing.dashboard._text import md
from glasswing.ingest import Dataset

COHORT = "gw.cohort"
OTHER_DATA = ("The saved cohort *{rule}* belongs to other data ({name}), so it is not applied here; save a "
              "cohort of this data on Error analysis.")


@dataclass(frozen=True)
class SavedCohort:
    """A cohort of the data whose digest is ``data_sha256``, with its rows and error rate for the banner."""

    cohort: Cohort
    data_sha256: str
    data_name: str
    rows: int

    @property
    def rule(self) -> str:
        """The cohort's rule."""
        return self.cohort.rule


def save(data: Dataset, cohort: Cohort) -> None:
    """Save ``cohort`` of ``data`` as this session's cohort filter."""
    _state.put(COHORT, SavedCohort(cohort, data.sha256, data.name, len(data)))


def clear() -> None:
    """Remove the cohort filter."""
    st.session_state.pop(COHORT, None)


def saved() -> SavedCohort | None:
    """Return the saved cohort, or None."""
    return _state.get(COHORT)


@st.cache_resource(max_entries=4, show_spinner=False)
def _rows(data_sha: str, rule: str, _data: Dataset, _cohort: Cohort) -> Dataset:
    return audits.cohort_dataset(_data, _cohort)


def apply(data: Dataset | None, key: str) -> Dataset | None:
    """Return ``data`` restricted to the saved cohort (with a banner and a Clear button), else ``data``."""
    entry = saved()
    if entry is None or data is None:
        return data
    if entry.data_sha256 != data.sha256:
        st.caption(md(OTHER_DATA.format(rule=entry.rule, name=entry.data_name)))
        return data
    sub = _rows(data.sha256, entry.rule, _data=data, _cohort=entry.cohort)
    c = entry.cohort
    with st.container(border=True, key=f"{key}.cohort"):
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.warning(f"**Cohort filter on:** only the {len(sub):,} of {len(data):,} rows where "
                     f"**{md(entry.rule)}** (error rate {c.error_rate:.3f}, {c.coverage:.0%} of the "
                     "model's errors).", icon=":material/filter_alt:")
        right.button("Clear the cohort filter", key=f"{key}.cohort.clear", on_click=clear,
                     icon=":material/filter_alt_off:")
    return sub
