"""Fairness audits: group metrics and disparities, bias mitigation, audit history.

Each module adds its public names here with a one-line import; keep ``__all__`` in step.
"""

__all__: list[str] = []
