"""Where Glasswing finds its shipped files and keeps its data.

Files are found through the installed packages' locations (``glasswing.sample_data``,
``glasswing.dashboard``), never through a checkout, so a wheel installed anywhere finds them. This
module is the ground of the package: it imports nothing of Glasswing.
"""

import importlib.util
import os
from pathlib import Path


def package_dir(package: str) -> Path:
    """Return the folder of the Glasswing package ``package`` (e.g. ``"glasswing.sample_data"``).

    The package's ``__init__`` is not run: only its location is looked up.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{package} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def sample_dir() -> Path:
    """Return the folder with the shipped samples (``GLASSWING_SAMPLE_DIR`` overrides it)."""
    override = os.environ.get("GLASSWING_SAMPLE_DIR")
    return Path(override) if override else package_dir("glasswing.sample_data")


def data_dir() -> Path:
    """Return the folder for audit history and settings (``GLASSWING_DATA_DIR`` overrides it)."""
    default = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "glasswing"
    path = Path(os.environ.get("GLASSWING_DATA_DIR", default))
    path.mkdir(parents=True, exist_ok=True)
    return path
