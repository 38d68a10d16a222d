"""Fixtures for the command-line tests: a throwaway PostgreSQL server for ``glasswing history``."""

from tests._postgres import postgres_server, postgres_url  # noqa: F401 (fixtures, re-exported for pytest)
