"""Test-run set-up for the whole repository: numba's cache folder, and doctests under installed names.

numba: ``NUMBA_CACHE_DIR`` points at ``.pytest_cache/numba``, so any ``@njit(cache=True)`` function keeps
its machine code between test processes and runs (xdist workers share the folder). shap 0.51's ``@njit``
functions do not ask for caching, and forcing ``cache=True`` on them crashed a worker (a segfault in the
partition explainer) on a run that loaded the cache, so they are compiled in each process as before.

Doctests of the package folders under their installed names:

The folders ``ingest/ audits/ explainers/ reports/ sample_data/`` install as ``glasswing.ingest`` and so
on (setuptools package-dir). ``pytest --doctest-modules`` would import ``explainers/_image.py`` a second
time as ``explainers._image``, a copy that registers its explainers twice; so before a doctest module is
imported, its top-level name is made an alias of the installed module.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".pytest_cache" / "numba"))

FOLDERS = ("ingest", "audits", "explainers", "reports", "dashboard", "sample_data")


def pytest_collect_file(file_path: Path, parent):
    """Alias ``<folder>.<module>`` to ``glasswing.<folder>.<module>`` before pytest imports it."""
    try:
        parts = file_path.resolve().relative_to(ROOT).with_suffix("").parts
    except ValueError:
        return
    if file_path.suffix != ".py" or not parts or parts[0] not in FOLDERS:
        return
    if parts[-1] == "__init__":
        parts = parts[:-1]
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        if name not in sys.modules:
            sys.modules[name] = importlib.import_module("glasswing." + name)
