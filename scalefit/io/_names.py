"""The names of curves read from files: the file's name, with folders where files share it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["COMPRESSIONS", "curve_names", "default_name"]

COMPRESSIONS = {  # pandas' compression methods, by suffix
    ".gz": "gzip",
    ".bz2": "bz2",
    ".xz": "xz",
    ".zip": "zip",
    ".zst": "zstd",
    ".tar": "tar",
}


def default_name(path: Path) -> str:
    if path.suffix.lower() in COMPRESSIONS:
        return Path(path.stem).stem
    return path.stem


def curve_names(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """The curve name :func:`read_curve` gives each path (the file's name without ``.csv``), or,
    for files that share it, with as many of their folders as tell them apart.

    Examples:
        >>> curve_names(["runs/cos/metrics.csv", "runs/const/metrics.csv", "other.csv.gz"])
        ['cos/metrics', 'const/metrics', 'other']
    """
    full = [Path(os.path.abspath(p)) for p in paths]
    files = [p.resolve() for p in full]  # the same file, whatever path or link names it
    folders = [p.parent.parts[1:] for p in full]  # without the root
    base = [default_name(p) for p in full]
    names = list(base)

    def clashing() -> list[int]:
        return [
            i
            for i, (name, file) in enumerate(zip(names, files))
            if any(n == name and f != file for n, f in zip(names, files))
        ]

    for depth in range(1, max((len(f) for f in folders), default=0) + 1):
        clash = clashing()
        if not clash:
            break
        for i in clash:
            names[i] = "/".join([*folders[i][max(0, len(folders[i]) - depth) :], base[i]])
    for i in clashing():  # files in one folder whose names differ by a suffix: run.csv, run.csv.gz
        names[i] = full[i].name
    return names
