"""Glasswing inside other tools: ``glasswing.integrations.mlflow.log_audit`` logs an audit to an MLflow run.

Each integration imports its tool only when used, so this package imports without any of them installed;
a missing tool is one sentence saying which extra to install (``pip install 'glasswing[mlflow]'``).
"""

__all__ = ["mlflow"]
