"""The ``glasswing`` command: a thin caller of the same functions the dashboard uses.

Each subcommand lives in ``glasswing/commands/<name>.py`` and exposes ``register(subparsers)``; the
module must import only the standard library at import time so that ``glasswing --help`` stays fast.
Exit codes: 0 success, 1 a ``--fail-if`` threshold was violated, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from glasswing import __version__
from glasswing._errors import GlasswingError

EXIT_OK = 0
EXIT_THRESHOLD = 1
EXIT_BAD_INPUT = 2

log = logging.getLogger("glasswing")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand found in ``glasswing.commands``."""
    parser = argparse.ArgumentParser(
        prog="glasswing",
        description="Explain models and audit their fairness: the dashboard and the same audits headless.",
    )
    parser.add_argument("--version", action="version", version=f"glasswing {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks (for bug reports)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import glasswing.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"glasswing.commands.{info.name}").register(sub)
    return parser



def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="%(message)s")
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    try:
        return int(args.func(args) or 0)
    except GlasswingError as err:
        if args.debug:
            raise
        print(f"glasswing: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
