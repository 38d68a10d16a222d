"""Subcommands of ``glasswing``; each module exposes ``register(subparsers)``."""
