"""Test-run set-up for the whole repository: numba's JIT cache, and doctests under installed names.

numba: shap's ``@njit`` functions are compiled in every test process (seconds each, per xdist worker).
Their machine code is cached on disk in ``.pytest_cache/numba`` (``NUMBA_CACHE_DIR``) and kept between
runs: ``njit`` defaults to ``cache=True`` for the test run, before shap is imported. Concurrent workers
share the folder safely (numba writes each cache file whole, then renames it).

Doctests of the package folders under their installed names:

The folders ``ingest/ audits/ explainers/ reports/ sample_data/`` install as ``glasswing.ingest`` and so
on (setuptools package-dir). ``pytest --doctest-modules`` would import ``explainers/_image.py`` a second
time as ``explainers._image``, a copy that registers its explainers twice; so before a doctest module is
imported, its top-level name is made an alias of the installed module.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".pytest_cache" / "numba"))


def _cache_numba_jit() -> None:
    import numba

    plain = numba.njit
    if getattr(plain, "_glasswing_cached", False):
        return

    @functools.wraps(plain)
    def njit(*args, **kwargs):
        kwargs.setdefault("cache", True)
        if len(args) == 1 and callable(args[0]) and len(kwargs) == 1:  # bare @njit
            return plain(**kwargs)(args[0])
        return plain(*args, **kwargs)

    njit._glasswing_cached = True
    numba.njit = njit


_cache_numba_jit()
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
