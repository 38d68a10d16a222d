"""Layering: computation packages never import streamlit; the CLI answers --help and --version."""

import subprocess
import sys
from pathlib import Path

import pytest

from glasswing import __version__

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("package", ["glasswing.ingest", "glasswing.explainers", "glasswing.audits",
                                     "glasswing.reports", "glasswing.cli"])
def test_computation_never_imports_streamlit(package):
    code = f"import sys, {package}; assert 'streamlit' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_version_and_help():
    out = subprocess.run([sys.executable, "-m", "glasswing.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"glasswing {__version__}"
    out = subprocess.run([sys.executable, "-m", "glasswing.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("serve", "audit", "reweigh", "mitigate", "explain", "report", "history", "errors"):
        assert command in out.stdout


def test_ruff_finds_nothing():
    """The style rules of pyproject.toml (pycodestyle, pyflakes, isort, bugbear, pyupgrade, numpydoc) hold."""
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:]


def test_importing_audits_does_not_import_scikit_learn_or_torch():
    """``import glasswing.audits`` stays light for the CLI; mitigation imports scikit-learn when it runs."""
    code = ("import sys, glasswing.audits; "
            "heavy = [m for m in ('sklearn', 'torch', 'fairlearn') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)
