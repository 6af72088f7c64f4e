"""Saving and loading fits as JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

from scalefit._errors import InputError
from scalefit._result import Fit
from scalefit.io._errors import fail
from scalefit.io._write import write_text_atomic

__all__ = ["load_fit", "save_fit"]


def save_fit(fit: Fit, path: str | os.PathLike[str]) -> None:
    """Write a :class:`~scalefit.Fit` as JSON, atomically."""
    write_text_atomic(json.dumps(fit.to_dict(), indent=2) + "\n", path)


def load_fit(path: str | os.PathLike[str]) -> Fit:
    """Read a :class:`~scalefit.Fit` written by :func:`save_fit`.

    Raises:
        InputError: the file is missing or unreadable, not JSON, or not a scalefit fit.
    """
    if Path(path).is_dir():
        raise fail(path, "is a directory, not a fit file")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise fail(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(path, f"cannot read the file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise fail(path, f"not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict) or "scalefit_fit" not in data:
        raise fail(path, "not a scalefit fit (write one with `scalefit fit --out`)")
    try:
        return Fit.from_dict(data)
    except InputError as exc:
        raise fail(path, str(exc)) from None
    except KeyError as exc:
        raise fail(path, f"malformed fit: {exc.args[0]!r} is missing") from None
    except (TypeError, ValueError) as exc:
        raise fail(path, f"malformed fit: {exc}") from None
