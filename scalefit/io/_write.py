"""Writing outputs atomically: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import stat
import uuid
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from scalefit.io._errors import fail
from scalefit.io._names import COMPRESSIONS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "check_figure_path",
    "save_figure",
    "write_bytes_atomic",
    "write_csv_atomic",
    "write_text_atomic",
    "written",
]


def write_text_atomic(text: str, path: str | os.PathLike[str]) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`write_bytes_atomic`."""
    write_bytes_atomic(text.encode("utf-8"), path)


_written: list[str] = []


def written() -> tuple[str, ...]:
    """The files this process has written through this module, in order (what a command
    interrupted midway has left behind, each whole)."""
    return tuple(_written)


def write_bytes_atomic(data: bytes, path: str | os.PathLike[str]) -> None:
    """Write ``data`` to ``path`` atomically: readers see the old file or the new one.

    The data goes to a temporary file in the same folder, is flushed to disk, and then renamed
    over ``path`` with :func:`os.replace`. An existing file keeps its permission bits; a new
    file gets the usual ones (``0o666`` less the umask). On failure the temporary file is
    removed and ``path`` is untouched.

    Args:
        data: the file's whole content.
        path: the file to create or replace.

    Raises:
        InputError: the file cannot be written (e.g. its folder does not exist); the message
            starts with ``path``.
    """
    target = Path(path)
    folder = target.parent
    try:
        mode = stat.S_IMODE(target.stat().st_mode) if target.is_file() else None
    except OSError:
        mode = None
    tmp: Path | None = None
    try:
        while tmp is None:
            candidate = folder / f".{target.name}.{uuid.uuid4().hex[:12]}.tmp"
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            tmp = candidate
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
        _written.append(str(path))
    except OSError as exc:
        raise fail(path, f"cannot write the file ({exc.strerror or exc})") from None
    finally:
        if tmp is not None:
            try:
                tmp.unlink()
            except OSError:
                pass


def write_csv_atomic(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a DataFrame as CSV (no index column) atomically; see :func:`write_text_atomic`.
    A path ending in ``.gz``, ``.bz2``, ``.xz``, ``.zst``, ``.zip`` or ``.tar`` is compressed so,
    as :func:`read_curve` reads it (a compressed tar, ``.tar.gz``, is refused).

    Args:
        df: the table; its index is not written (reset it first to keep it).
        path: the CSV file to create or replace.

    Raises:
        InputError: the file cannot be written; the message starts with ``path``.
    """
    suffixes = [s.lower() for s in Path(path).suffixes[-2:]]
    if len(suffixes) == 2 and suffixes[0] == ".tar" and suffixes[1] != ".tar":
        raise fail(path, "cannot write a compressed tar archive (name it .csv.gz, or .tar)")
    method = COMPRESSIONS.get(Path(path).suffix.lower())
    if method is None:
        write_text_atomic(df.to_csv(index=False, lineterminator="\n"), path)
        return
    options = {"method": method, **({"mtime": 0} if method == "gzip" else {})}  # reproducible
    if method in ("zip", "tar"):
        options["archive_name"] = Path(path).stem  # the CSV inside
    buffer = BytesIO()
    try:
        df.to_csv(buffer, index=False, lineterminator="\n", compression=options)
    except ImportError:  # zstandard is optional
        raise fail(path, f"cannot write {method} files here (a package is missing)") from None
    write_bytes_atomic(buffer.getvalue(), path)


def check_figure_path(path: str | os.PathLike[str]) -> str:
    """The format a figure saved to ``path`` will have (from its suffix, PNG without one).

    Raises:
        InputError: matplotlib writes no such format; the message starts with ``path``.
    """
    from matplotlib.backend_bases import FigureCanvasBase

    suffix = Path(path).suffix.lstrip(".").lower() or "png"
    formats = FigureCanvasBase.get_supported_filetypes()
    if suffix not in formats:
        raise fail(
            path, f"cannot save a figure as .{suffix} (formats: {', '.join(sorted(formats))})"
        )
    return suffix


def save_figure(figure: Figure, path: str | os.PathLike[str], dpi: int = 120) -> None:
    """Save a matplotlib figure atomically (format from the suffix, PNG by default) and close it."""
    import io as _io

    import matplotlib.pyplot as plt

    suffix = Path(path).suffix.lstrip(".").lower() or "png"
    buffer = _io.BytesIO()
    try:
        figure.savefig(buffer, format=suffix, dpi=dpi)
    except ValueError as exc:
        raise fail(path, f"cannot save a figure in this format ({exc})") from None
    finally:
        plt.close(figure)
    write_bytes_atomic(buffer.getvalue(), path)
