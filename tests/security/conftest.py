"""Helpers for the hostile-file tests: run the CLI, snapshot a folder, measure a load's memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from glasswing.cli import main


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    """Run ``glasswing ARGS`` in-process; return the exit code, stdout and stderr."""
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_sentence_exit_2(code: int, err: str, sentence: str) -> None:
    """The CLI refused with exit code 2 and exactly one line on stderr: the sentence, no traceback."""
    assert code == 2
    assert err == f"glasswing: error: {sentence}\n"
    assert "Traceback" not in err


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time (to prove nothing changed)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def bounded_load(call: str, files: dict[str, bytes], tmp_path: Path, *, timeout: int = 120) -> dict:
    """Run ``call`` (Python using ``ingest`` and ``path``) in a fresh interpreter; return result and memory.

    The child imports Glasswing and the readers first, resets its peak resident memory to the current one
    (``/proc/self/clear_refs``), and reads the peak (``VmHWM``) before and after the call; ``peak_mb`` is
    what the call added. (``ru_maxrss`` would not do: Linux carries it over from the forking parent, a
    test worker already gigabytes large.) ``result`` is the IngestError's sentence, or
    ``"loaded"``. The wall-clock ``timeout`` bounds the time a hostile file can take.
    """
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    code = textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        import numpy, pandas, pyarrow.parquet, PIL.Image
        from glasswing import ingest

        def peak_kb():
            status = Path("/proc/self/status").read_text()
            return int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1])

        path = Path({str(tmp_path)!r})
        Path("/proc/self/clear_refs").write_text("5")  # the peak restarts from the current size
        before = peak_kb()
        try:
            {call}
            result = "loaded"
        except ingest.IngestError as err:
            result = str(err)
        after = peak_kb()
        print(json.dumps({{"result": result, "peak_mb": (after - before) / 1024}}))
    """)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def canary(tmp_path):
    """A folder with one file an attack would overwrite; the test checks it is unchanged."""
    folder = tmp_path / "victim"
    folder.mkdir()
    (folder / "keep.txt").write_text("original\n")
    return folder
