"""The ``glasswing`` command: a thin caller of the same functions the dashboard uses.

Each subcommand lives in ``glasswing/commands/<name>.py`` and exposes ``register(subparsers)``; the
module must import only the standard library at import time so that ``glasswing --help`` stays fast.
Exit codes: 0 success, 1 a ``--fail-if`` threshold was violated, 2 bad input (one line on stderr).
Every exception, not only ``GlasswingError``, becomes one sentence and exit code 2, so CI never reads a
crash as a verdict; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from glasswing import __version__
from glasswing._errors import GlasswingError
from glasswing._secrets import redact

EXIT_OK = 0
EXIT_THRESHOLD = 1
EXIT_BAD_INPUT = 2

log = logging.getLogger("glasswing")

UNEXPECTED = ("glasswing {command} stopped on input it could not handle ({error}); check the files and "
              "options, or run again with --debug for the traceback.")
OUT_OF_MEMORY = ("glasswing {command} ran out of memory; use smaller files or a sample of the data (Parquet "
                 "audits of logged predictions run out of core).")


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
        print(f"glasswing: error: {redact(err)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # ``glasswing audit ... | head``: the reader left; say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except MemoryError:
        if args.debug:
            raise
        print(f"glasswing: error: {OUT_OF_MEMORY.format(command=args.command)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as err:  # noqa: BLE001 - bad input that reached a library: one sentence, never exit 1
        if args.debug:
            raise
        log.debug("glasswing %s failed", args.command, exc_info=True)
        print(f"glasswing: error: {unexpected(args.command, err)}", file=sys.stderr)
        return EXIT_BAD_INPUT


def unexpected(command: str, err: BaseException) -> str:
    """Return the one sentence printed for an exception that is not a ``GlasswingError``."""
    text = redact(str(err).strip().splitlines()[0]).rstrip(".")[:200] if str(err).strip() else ""
    return UNEXPECTED.format(command=command, error=f"{type(err).__name__}: {text}" if text
                             else type(err).__name__)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
