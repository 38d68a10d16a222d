"""``glasswing serve``: start the dashboard."""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import os
import subprocess
import sys

from glasswing._errors import GlasswingError
from glasswing._paths import package_dir

MAX_UPLOAD_MB = 200
NEEDS_PASSWORD = (
    "Serving on {host} exposes the dashboard to the network; set the GLASSWING_PASSWORD environment "
    "variable (or configure Streamlit's OIDC login in .streamlit/secrets.toml and pass --auth oidc)."
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand."""
    p = sub.add_parser("serve", help="start the dashboard in the browser (127.0.0.1:8501)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--auth", choices=["password", "oidc"], default="password",
                   help="login required when --host is not a loopback address")
    p.set_defaults(func=run)


def app_path():
    """Return the dashboard's entry script, ``app.py`` of the installed ``glasswing.dashboard``."""
    return package_dir("glasswing.dashboard") / "app.py"


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


def run(args: argparse.Namespace) -> int:
    """Start Streamlit on the dashboard app and wait for it."""
    env = dict(os.environ)
    if not _is_loopback(args.host):
        if args.auth == "password":
            password = env.pop("GLASSWING_PASSWORD", "")
            if not password:
                raise GlasswingError(NEEDS_PASSWORD.format(host=args.host))
            env["GLASSWING_PASSWORD_SHA256"] = hashlib.sha256(password.encode()).hexdigest()
        else:
            env["GLASSWING_AUTH"] = "oidc"
    shown = "localhost" if _is_loopback(args.host) else args.host
    print(f"Glasswing dashboard: http://{shown}:{args.port}", flush=True)
    try:
        return subprocess.call(streamlit_command(args.host, args.port), env=env)
    except KeyboardInterrupt:
        return 0
