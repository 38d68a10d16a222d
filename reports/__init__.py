"""Audit reports: a report model rendered to HTML (Jinja2) and PDF."""

__all__: list[str] = []
