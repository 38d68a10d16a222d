"""``glasswing serve``: start the dashboard.

The server is Streamlit's ASGI entry point on :mod:`glasswing.dashboard._asgi`. On POSIX this process
*becomes* the server (``exec``), so ``SIGTERM`` and ``SIGINT`` sent to ``glasswing`` reach it and stop it;
elsewhere the server runs as a child that is stopped with this process.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
import signal
import subprocess
import sys

from glasswing._errors import GlasswingError
from glasswing._paths import package_dir

MAX_UPLOAD_MB = 200
PASSWORD_ENV = "GLASSWING_PASSWORD"
NEEDS_PASSWORD = (
    "Serving on {host} exposes the dashboard to the network; set the GLASSWING_PASSWORD environment "
    "variable (or configure Streamlit's OIDC login in .streamlit/secrets.toml and pass --auth oidc)."
)
NO_PASSWORD = "--auth password needs the password in the GLASSWING_PASSWORD environment variable."
NEEDS_AUTHLIB = ("--auth oidc needs the Authlib package (pip install 'Authlib>=1.3.2'), which Streamlit's "
                 "OIDC login uses.")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand."""
    p = sub.add_parser(
        "serve", help="start the dashboard in the browser (127.0.0.1:8501)",
        description="Start the dashboard. With GLASSWING_PASSWORD set (required for a non-loopback --host "
                    "unless --auth oidc), every page, upload and websocket needs a login first.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--auth", choices=["password", "oidc"], default=None,
                   help="login for every route: password (from GLASSWING_PASSWORD; the default when it is "
                        "set) or Streamlit's OIDC login; required when --host is not a loopback address")
    p.set_defaults(func=run)


def app_path():
    """Return the dashboard's ASGI launcher, ``_asgi.py`` of the installed ``glasswing.dashboard``."""
    return package_dir("glasswing.dashboard") / "_asgi.py"


def streamlit_command(host: str, port: int) -> list[str]:
    """Return the ``streamlit run`` command line with Glasswing's privacy defaults as explicit flags."""
    return [
        sys.executable, "-m", "streamlit", "run", str(app_path()),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--server.maxUploadSize", str(MAX_UPLOAD_MB),
        "--server.runOnSave", "false",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.showErrorDetails", "none",
        "--client.toolbarMode", "minimal",
        "--runner.magicEnabled", "false",
        "--theme.base", "light",
    ]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server_environment(host: str, auth: str | None, environ: dict[str, str]) -> dict[str, str]:
    """Return the server's environment: the login mode, and the password only as a salted scrypt hash.

    ``GLASSWING_PASSWORD`` never reaches the server; a non-loopback ``host`` without a login is refused.
    """
    from glasswing.dashboard import _auth

    env = dict(environ)
    password = env.pop(PASSWORD_ENV, "")
    env.pop(_auth.PASSWORD_HASH_ENV, None)
    env.pop(_auth.AUTH_MODE_ENV, None)
    auth = auth or ("password" if password else None)
    if auth is None:
        if not _is_loopback(host):
            raise GlasswingError(NEEDS_PASSWORD.format(host=host))
        return env
    if auth == "password":
        if not password:
            raise GlasswingError(NO_PASSWORD)
        env[_auth.PASSWORD_HASH_ENV] = _auth.hash_password(password)
    elif importlib.util.find_spec("authlib") is None:
        raise GlasswingError(NEEDS_AUTHLIB)
    env[_auth.AUTH_MODE_ENV] = auth
    return env


def run(args: argparse.Namespace) -> int:
    """Start the dashboard server; on POSIX this process becomes the server."""
    from glasswing.dashboard._auth import AUTH_MODE_ENV

    env = server_environment(args.host, args.auth, os.environ)
    shown = "localhost" if _is_loopback(args.host) else args.host
    login = f" (login: {env[AUTH_MODE_ENV]})" if AUTH_MODE_ENV in env else ""
    print(f"Glasswing dashboard: http://{shown}:{args.port}{login}", flush=True)
    command = streamlit_command(args.host, args.port)
    if os.name == "posix":
        sys.stderr.flush()
        os.execve(sys.executable, command, env)  # SIGTERM/SIGINT now reach the server itself
    child = subprocess.Popen(command, env=env)
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)
        return child.wait()

