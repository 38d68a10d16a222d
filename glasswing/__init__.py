"""Glasswing: explainability and fairness audits for machine-learning models."""

__version__ = "0.1.0"

__all__ = ["__version__"]
