"""Faithfulness checks for image maps, importable as ``explainers.faithfulness``.

The deletion curve and the model-parameter randomisation check (see ``explainers._faithfulness`` for what
each measures and how to read it).
"""

from glasswing.explainers._faithfulness import (
    CHANGED_BELOW,
    DeletionCurve,
    RandomisationCheck,
    deletion_curve,
    randomisation_check,
)

__all__ = ["CHANGED_BELOW", "DeletionCurve", "RandomisationCheck", "deletion_curve", "randomisation_check"]
