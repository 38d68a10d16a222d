"""``glasswing serve`` stops its server on SIGTERM and SIGINT sent to the ``glasswing`` process alone
(what systemd, a container runtime or ``timeout`` send): nothing keeps listening afterwards."""

from __future__ import annotations

import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from tests._postgres import free_port
from tests.conftest import running_server


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_glasswing_stops_the_server(signum, tmp_path):
    port = free_port()
    command = [str(Path(sys.executable).with_name("glasswing")), "serve", "--port", str(port)]
    with running_server(command, port, tmp_path / "serve.log", env={"GLASSWING_DATA_DIR": str(tmp_path)}) as (
            _, proc):
        children = _children(proc.pid)
        proc.send_signal(signum)  # to the glasswing process only, not its process group
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is not None, "glasswing serve still runs 20 s after the signal"
        # uvicorn shuts down (lifespan, sessions) and then re-raises the signal it caught: SIGTERM ends with
        # that signal's status, SIGINT as Ctrl+C does (KeyboardInterrupt, status 1, no traceback).
        assert proc.returncode in (0, 1, -signum), proc.returncode
        assert "Traceback" not in (tmp_path / "serve.log").read_text()
        assert not _listening(port), "something still listens on the dashboard's port"
        assert not [c for c in children if Path(f"/proc/{c}").exists()], "a child process was left running"
