"""Writing a rendered report to a file: the whole file or nothing (``Report.to_html``, ``Report.to_pdf``)."""

from __future__ import annotations

import os
from pathlib import Path

from glasswing.reports._model import Report, ReportError
from glasswing.reports._render import CANNOT_WRITE, report_bytes


def write_report(report: Report, path: str | os.PathLike, fmt: str) -> Path:
    """Render ``report`` as ``fmt`` (``"pdf"``, ``"html"``, ``"json"``) and write it to ``path``.

    The bytes go to a hidden file beside ``path`` first and replace it in one step, so a failure never
    leaves a half-written report under the requested name.

    Raises
    ------
    ReportError
        When the folder does not exist or the file cannot be written (one sentence).
    """
    path = Path(path)
    data = report_bytes(report, fmt)
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise ReportError(CANNOT_WRITE.format(path=path, reason=err.strerror or err)) from err
    return path
