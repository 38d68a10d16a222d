"""The wheel works outside the checkout: built, installed in a fresh virtual environment, run elsewhere.

The fresh environment gets Glasswing only from the wheel. Its dependencies (torch alone is several GB)
come from this test run's environment through a ``.pth`` line naming its site-packages; a path added that
way is searched for modules but its own ``.pth`` files are not run, so the checkout's editable install is
invisible there. Everything runs from an empty folder that also holds a user's own ``reports`` package,
which must not shadow Glasswing's.
"""

from __future__ import annotations

import hashlib
import json
import os
import site
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests._postgres import free_port
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _run(cmd, cwd, env, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(bin folder, empty working folder, environment)`` of a venv holding only the built wheel."""
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist),
                  str(ROOT)], cwd=base, env=os.environ)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = dist.glob("glasswing-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   cwd=base, env=os.environ).stdout.strip()
    # Every site-packages folder this run imports from (a venv may itself reach its packages through a .pth).
    folders = dict.fromkeys([*site.getsitepackages(), *(p for p in sys.path if p.endswith("site-packages"))])
    (Path(purelib) / "glasswing_test_dependencies.pth").write_text("\n".join(folders) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(GLASSWING_DATA_DIR=str(base / "data"), PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}")
    done = _run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], cwd=base, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    work = base / "elsewhere"
    (work / "reports").mkdir(parents=True)  # a user's own package called "reports", in the current folder
    (work / "reports" / "__init__.py").write_text("raise ImportError('a user package was imported')\n")
    return venv / "bin", work, env


def _where(installed, expression: str) -> Path:
    bin_dir, work, env = installed
    code = f"import glasswing._paths as p; print({expression})"
    out = _run([str(bin_dir / "python"), "-c", code], work, env)
    assert out.returncode == 0, out.stderr
    return Path(out.stdout.strip())


def test_the_wheel_installs_one_namespace_and_its_samples(installed):
    bin_dir, work, env = installed
    code = ("import glasswing, importlib.util as u; "
            "print(all(u.find_spec(n) is None for n in ('ingest', 'audits', 'explainers', 'dashboard', "
            "'sample_data'))); import glasswing.audits, glasswing.reports; print(glasswing.__file__)")
    out = _run([str(bin_dir / "python"), "-c", code], work, env)
    assert out.returncode == 0, out.stderr
    no_top_level, location = out.stdout.split()
    assert no_top_level == "True"  # no generic top-level names squatted
    assert not Path(location).is_relative_to(ROOT)
    samples = _where(installed, "p.sample_dir()")
    assert not samples.is_relative_to(ROOT)
    for name in ("german_test_predictions.csv", "models/german_gbm.skops", "models/digits_cnn.safetensors",
                 "images/labels.csv", "images/digit9_watermark.png", "README.md"):
        assert (samples / name).is_file(), name


def test_glasswing_help_audit_explain_and_report_run_from_the_wheel(installed, tmp_path):
    bin_dir, work, env = installed
    glasswing = str(bin_dir / "glasswing")
    assert _run([glasswing, "--help"], work, env).returncode == 0
    samples = _where(installed, "p.sample_dir()")
    audit = _run([glasswing, "audit", "--data", str(samples / "german_test_predictions.csv"),
                  "--prediction", "gbm_pred", "--target", "risk", "--sensitive", "sex",
                  "--json", str(tmp_path / "audit.json")], work, env)
    assert audit.returncode == 0, audit.stderr
    assert json.loads((tmp_path / "audit.json").read_text())["overall"]["n"] == 300
    explain = _run([glasswing, "explain", "--model", str(samples / "models" / "digits_cnn.safetensors"),
                    "--image", str(samples / "images" / "digit9_watermark.png"), "--method", "gradcam",
                    "--out", str(tmp_path / "map.npy")], work, env)
    assert explain.returncode == 0, explain.stderr
    assert np.load(tmp_path / "map.npy").shape == (128, 128)
    report = _run([glasswing, "report", "--data", str(samples / "german_test_predictions.csv"),
                   "--model", str(samples / "models" / "german_gbm.skops"), "--target", "risk",
                   "--sensitive", "sex", "--out", str(tmp_path / "audit.html")], work, env)
    assert report.returncode == 0, report.stderr
    data_sha = hashlib.sha256((samples / "german_test_predictions.csv").read_bytes()).hexdigest()
    assert data_sha in (tmp_path / "audit.html").read_text()  # the report fingerprints the installed sample


def test_glasswing_serve_answers_from_the_wheel_and_the_samples_load(installed, tmp_path):
    bin_dir, work, env = installed
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(bin_dir / "glasswing"), "serve", "--port", str(port)], cwd=work, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(20)
    app = _where(installed, "p.package_dir('glasswing.dashboard') / 'app.py'")
    assert not app.is_relative_to(ROOT)
    script = textwrap.dedent(f"""
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({str(app)!r}, default_timeout=120)
        at.run()
        at.button(key="model_data.use_samples").click().run()
        assert not at.exception, at.exception
        assert at.session_state["gw.model"].name == "german_gbm.skops", at.session_state["gw.model"]
        assert len(at.session_state["gw.dataset"]) == 300
        print("samples loaded")
    """)
    out = _run([str(bin_dir / "python"), "-c", script], work, env)
    assert out.returncode == 0 and "samples loaded" in out.stdout, out.stderr[-3000:]
