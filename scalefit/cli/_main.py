"""The ``scalefit`` command line: fit laws to logs, predict schedules, run the demo.

A thin shell over the library: parse arguments, read, call, print a table on stdout, write outputs
atomically, say what happened on stderr. Bad input ends with one line naming the file and the
problem, and exit code 2. Each subcommand's options, help and handler sit in a module of its own.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import warnings

from scalefit._version import __version__
from scalefit.cli import (
    _choose,
    _common,
    _compare,
    _demo,
    _fit,
    _forecast,
    _inspect,
    _predict,
)

COMMANDS = {
    "fit": _fit,
    "predict": _predict,
    "forecast": _forecast,
    "compare": _compare,
    "choose": _choose,
    "inspect": _inspect,
    "demo": _demo,
}
"""Each subcommand's module: ``add_parser(subparsers)`` and ``run(args) -> exit code``."""


def build_parser() -> argparse.ArgumentParser:
    """The ``scalefit`` parser, with every subcommand's."""
    parser = _common.Parser(
        prog="scalefit",
        description="Fit learning-rate-annealing scaling laws to loss curves and predict the "
        "loss of any schedule before training it.",
        formatter_class=_common.Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_parser(subparsers)
    parser.commands = subparsers.choices  # for errors in a subcommand's own words
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        where = parser.commands.get(args.command, parser)
        where.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 0
    laws = getattr(args, "law", None) or getattr(args, "laws", None) or ""
    _use_compilation_cache(f"{args.command} {laws.lower()}")
    from scalefit import _progress

    _progress.enable(sys.stderr.isatty())
    with warnings.catch_warnings(record=True) as caught:  # the filters in force stay
        try:
            return _run_command(args)
        finally:
            _report_warnings(caught)


def _report_warnings(caught: list) -> None:
    """The warnings a library raised during the command, each once, as one line on stderr (not
    Python's two lines naming a source file)."""
    for message in dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught):
        print(f"note: {' '.join(message.split())}", file=sys.stderr)


def _run_command(args: argparse.Namespace) -> int:
    from scalefit import InputError, _progress

    previous = signal.signal(signal.SIGINT, _progress.on_interrupt)
    try:
        code = COMMANDS[args.command].run(args)
        if code == 0:
            from scalefit import _programs

            _programs.remember()
        return code
    except InputError as err:
        _progress.clear()
        print(f"scalefit {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _progress.clear()
        from scalefit import io

        done = io.written()
        left = f"wrote {', '.join(done)} before it, whole" if done else "nothing written"
        print(f"scalefit {args.command}: interrupted; {left}", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)


def _use_compilation_cache(kind: str) -> None:
    """Keep compiled programs on disk between runs (:func:`scalefit.set_cache_dir`), loading
    those the last command of the same ``kind`` called while this one reads its input."""
    from scalefit import _programs

    _programs.use_store(_programs.default_store(), kind)


def run() -> None:
    """The ``scalefit`` executable: :func:`main`, then exit with its code at once (``os._exit``).

    Nothing is left to write by then (outputs are written atomically, or not at all), and
    skipping the interpreter's teardown saves JAX's: 0.4-0.7 s of every command on a 2-core CPU.
    After Ctrl-C it also matters for safety: a compiled computation may still be running on
    JAX's threads, and tearing the interpreter down under it can crash.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that closed the pipe, or a closed stream
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
