"""The SHAP unit switch of the Explain: tabular page: the model's own unit, or probabilities (tree models)."""

from __future__ import annotations

import re

import streamlit as st

OWN, PROBABILITY = "Model's own unit", "Probability"
HELP = ("Tree ensembles are explained in their own unit (log-odds for gradient boosting). Probability: "
        "interventional TreeSHAP against the background rows, so base value + attributions = the predicted "
        "probability.")


def unit_switch(algorithm: str) -> str:
    """Show the unit switch for TreeSHAP and return the ``output`` parameter ("auto" or "probability")."""
    if algorithm != "tree":
        return "auto"
    unit = st.segmented_control("SHAP units", [OWN, PROBABILITY], default=OWN, key="xt.units", help=HELP)
    return "probability" if unit == PROBABILITY else "auto"


def describe(reason: str, output: str) -> str:
    """Return the algorithm's reason, naming interventional TreeSHAP in probabilities when that was chosen."""
    if output != "probability":
        return reason
    return re.sub(r"\(path-dependent, in [^)]*\)", "(interventional TreeSHAP against the background rows, in "
                  "probability units: base value + attributions = the predicted probability)", reason)
