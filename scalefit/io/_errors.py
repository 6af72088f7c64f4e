"""The one-line errors of the readers and writers: the file first, then the problem."""

from __future__ import annotations

import os

from scalefit._errors import InputError


def fail(path: str | os.PathLike[str], problem: str) -> InputError:
    """An :class:`InputError` whose one-line message starts with ``path``."""
    return InputError(f"{path}: {' '.join(str(problem).split())}")
