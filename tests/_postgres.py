"""A throwaway PostgreSQL server for tests: Debian's ``initdb`` + ``pg_ctl`` in a temporary folder.

``postgres_server`` (session scope) starts one cluster per test process (each pytest-xdist worker gets its
own, on its own free port and folder) and removes it afterwards; ``postgres_url`` gives each test a fresh,
empty database on it. Never skipped: without the server binaries the fixture fails and says how to get them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

NO_SERVER = ("The PostgreSQL history tests need Debian's postgresql server (initdb and pg_ctl were not found "
             "in /usr/lib/postgresql/*/bin or by pg_config --bindir); `make test` installs it.")
_SUPERUSER = "postgres"
_PREFIX = "glasswing-pg-"
_OWNER = "owner.pid"  # the test process that started the cluster: when it is gone, so should the cluster be


def server_bindir() -> Path | None:
    """Return the folder of the newest installed ``initdb``/``pg_ctl``, or None when there is none."""
    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.name
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(out.stdout.strip())
    for folder in filter(None, candidates):
        if all((Path(folder) / tool).is_file() for tool in ("initdb", "pg_ctl")):
            return Path(folder)
    return None


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the ``postgres`` system user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(_as_server_user(cmd), cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def start_cluster(root: Path, bindir: Path) -> str:
    """Create a cluster in ``root`` (trust auth, no fsync), start it on 127.0.0.1 and return its URL."""
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    _run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", _SUPERUSER, "-E", "UTF8",
          "--no-locale", "--no-sync"], cwd=root)
    for attempt in range(5):  # another process may take the free port before the server binds it
        port = free_port()
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        try:
            _run([str(bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(data),
                  "-l", str(root / "server.log"), "-o", options], cwd=root)
            return f"postgresql://{_SUPERUSER}@127.0.0.1:{port}/postgres"
        except RuntimeError as err:
            if attempt == 4:
                log = root / "server.log"
                raise RuntimeError(f"{err}\n{log.read_text()[-3000:] if log.exists() else ''}") from None
            time.sleep(0.2)
    raise AssertionError("unreachable")


def stop_cluster(root: Path, bindir: Path) -> None:
    """Stop the cluster in ``root`` at once (its data is thrown away) and remove the folder."""
    try:
        _run([str(bindir / "pg_ctl"), "stop", "-D", str(root / "data"), "-m", "immediate", "-w"], cwd=root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_orphans(bindir: Path) -> None:
    """Stop clusters left behind by a test run that was killed before its teardown (``timeout``, SIGKILL)."""
    for root in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"):
        try:
            owner = int((root / _OWNER).read_text())
        except (OSError, ValueError):
            continue  # still starting, or not ours
        if not _alive(owner):
            with contextlib.suppress(RuntimeError, OSError):
                stop_cluster(root, bindir)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Start a throwaway PostgreSQL cluster; yield the URL of its ``postgres`` database."""
    bindir = server_bindir()
    if bindir is None:
        pytest.fail(NO_SERVER, pytrace=False)
    stop_orphans(bindir)
    # Not under pytest's tmp_path: that folder is private to root, and the server may run as `postgres`.
    root = Path(tempfile.mkdtemp(prefix=_PREFIX))
    (root / _OWNER).write_text(str(os.getpid()))
    try:
        url = start_cluster(root, bindir)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        yield url
    finally:
        stop_cluster(root, bindir)


@pytest.fixture
def postgres_url(postgres_server) -> Iterator[str]:
    """A fresh, empty database on the throwaway server, dropped after the test; yields its URL."""
    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
