"""Fixtures for the audits tests: a throwaway PostgreSQL server for the history backend."""

from tests._postgres import postgres_server, postgres_url  # noqa: F401 (fixtures, re-exported for pytest)
