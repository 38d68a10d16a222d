"""Reading raw bytes from a path, bytes or an open binary file, with a size limit and a SHA-256 digest.

Everything Glasswing reads goes through :func:`read_bytes`, so uploads stay in memory (no temporary
files) and every loaded object carries the digest of the exact bytes it came from.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from glasswing.ingest._errors import BAD_SOURCE, FILE_EMPTY, FILE_NOT_FOUND, FILE_TOO_LARGE, IngestError

#: Largest file Glasswing reads, in MB; the same as the dashboard's upload limit
#: (``glasswing.commands.serve.MAX_UPLOAD_MB`` and ``server.maxUploadSize``).
MAX_FILE_MB = 200
MAX_FILE_BYTES = MAX_FILE_MB * 1024 * 1024


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def source_name(source: Any, name: str | None, default: str) -> str:
    """Return the display name: ``name`` if given, else the path's or file object's base name."""
    if name:
        return str(name)
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    file_name = getattr(source, "name", None)
    if isinstance(file_name, str) and file_name:
        return Path(file_name).name
    return default


def too_large(name: str, size: int, limit: int) -> IngestError:
    """Return the error for a file of ``size`` bytes over ``limit``."""
    return IngestError(FILE_TOO_LARGE.format(name=name, size_mb=size / 1024 / 1024,
                                             limit_mb=limit // (1024 * 1024)))


def read_bytes(source: Any, name: str, *, limit: int | None = None) -> bytes:
    """Return the bytes of ``source`` (path, bytes-like or binary file object), refusing more than ``limit``.

    ``limit`` defaults to :data:`MAX_FILE_BYTES`.

    Raises
    ------
    IngestError
        When the file does not exist, is empty, is over the limit, or ``source`` is not readable.
    """
    limit = MAX_FILE_BYTES if limit is None else limit
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise IngestError(FILE_NOT_FOUND.format(name=path))
        size = path.stat().st_size
        if size > limit:
            raise too_large(name, size, limit)
        data = path.read_bytes()
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read(limit + 1)
        if isinstance(data, str):
            raise IngestError(BAD_SOURCE.format(kind="text-mode file"))
        data = bytes(data)
    else:
        raise IngestError(BAD_SOURCE.format(kind=type(source).__name__))
    if len(data) > limit:
        raise too_large(name, len(data), limit)
    if not data:
        raise IngestError(FILE_EMPTY.format(name=name))
    return data
