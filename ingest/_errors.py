"""Ingest's error type and the sentences it raises (kept as constants, tested by exact text)."""

from glasswing._errors import GlasswingError


class IngestError(GlasswingError):
    """A file, column or model that cannot be used, with one sentence saying why and how to fix it."""
