"""The ``scalefit`` command: ``scalefit COMMAND --help`` explains each subcommand."""

from __future__ import annotations

from scalefit.cli._main import build_parser, main, run

__all__ = ["build_parser", "main", "run"]
