"""Layering: computation packages never import streamlit; the CLI answers --help and --version."""

import subprocess
import sys

import pytest

from glasswing import __version__


@pytest.mark.parametrize("package", ["ingest", "explainers", "audits", "reports", "glasswing.cli"])
def test_computation_never_imports_streamlit(package):
    code = f"import sys, {package}; assert 'streamlit' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_version_and_help():
    out = subprocess.run([sys.executable, "-m", "glasswing.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"glasswing {__version__}"
    out = subprocess.run([sys.executable, "-m", "glasswing.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("serve", "audit", "reweigh", "explain", "report", "history"):
        assert command in out.stdout
