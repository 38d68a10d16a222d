"""Where Glasswing finds its shipped samples and keeps its data."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def sample_dir() -> Path:
    """Return the folder with the shipped samples (``GLASSWING_SAMPLE_DIR`` overrides it)."""
    return Path(os.environ.get("GLASSWING_SAMPLE_DIR", REPO_ROOT / "sample_data"))


def data_dir() -> Path:
    """Return the folder for audit history and settings (``GLASSWING_DATA_DIR`` overrides it)."""
    default = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "glasswing"
    path = Path(os.environ.get("GLASSWING_DATA_DIR", default))
    path.mkdir(parents=True, exist_ok=True)
    return path
