"""Passwords stay out of every sentence, report and history entry: :func:`redact` and where they come from.

Part of the ground (the standard library only), so that the command line can redact what it prints
without importing the packages.
"""

from __future__ import annotations

import os
import re

#: Where a database password comes from when the URL has none (the first one set).
PASSWORD_VARIABLES = ("GLASSWING_DB_PASSWORD", "PGPASSWORD")


def redact(text) -> str:
    """Return ``text`` (a URL, a sentence) with every password replaced by ``***``.

    ``postgresql://u:***@host/db``, ``password=***`` in a query string or a libpq key-value string, and the
    literal value of ``GLASSWING_DB_PASSWORD`` or ``PGPASSWORD`` wherever it appears.

    >>> redact("could not connect to postgresql://ann:s3cret@db:5432/x?password=s3cret")
    'could not connect to postgresql://ann:***@db:5432/x?password=***'
    """
    text = re.sub(r"(//[^/:@\s]*:)[^@/\s]*@", r"\1***@", str(text))
    text = re.sub(r"(?i)(password\s*=\s*)[^&\s;]+", r"\1***", text)
    for name in PASSWORD_VARIABLES:
        secret = os.environ.get(name)
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text
