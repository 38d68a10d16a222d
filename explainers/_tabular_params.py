"""The parameters the tabular explainers' registry entries share (seed, background rows)."""

from __future__ import annotations

from glasswing.explainers._registry import Param

SEED = Param("seed", 0, help="Seeds every random choice (background sample, perturbations).", minimum=0)


def background_param(help_text: str) -> Param:
    """Return the ``background`` parameter: a DataFrame, so not a dashboard widget."""
    return Param("background", None, help=help_text, widget=False)
