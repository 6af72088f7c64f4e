"""Progress of long work on a terminal: one line on stderr, rewritten in place.

Off unless switched on (:func:`enable`, which the ``scalefit`` command does when stderr is a
terminal): a library call prints nothing.
"""

from __future__ import annotations

import sys
import time

_enabled = False
_start = 0.0
_interrupted = False


def on_interrupt(signum: int, frame: object) -> None:
    """SIGINT handler: raise KeyboardInterrupt now, and again at the next :func:`report`.

    Python ignores an exception raised inside a garbage-collector callback (jax has one), so a
    Ctrl-C landing there would otherwise be lost and the command would run on.
    """
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def enable(on: bool = True) -> None:
    """Show progress lines (``True``) or not."""
    global _enabled, _start, _interrupted
    _enabled, _interrupted = on, False
    _start = time.perf_counter()


def report(task: str, done: int | None = None, total: int | None = None) -> None:
    """Say what is being done (and how far it got); raises KeyboardInterrupt after a Ctrl-C."""
    if _interrupted:
        raise KeyboardInterrupt
    if not _enabled:
        return
    count = f" {done}/{total}" if total else ""
    line = f"  {task}{count}  ({time.perf_counter() - _start:.0f} s)"
    sys.stderr.write("\r" + line.ljust(72)[:100])
    sys.stderr.flush()


def clear() -> None:
    """Remove the progress line (before printing results)."""
    if _enabled:
        sys.stderr.write("\r" + " " * 100 + "\r")
        sys.stderr.flush()
