"""Reading training logs kept as CSV files: the table, and a :class:`Source` whose chosen columns
are parsed as numbers (text only where a column holds something else, to name the bad cell)."""

from __future__ import annotations

import lzma
import os
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from scalefit.io._errors import fail
from scalefit.io._source import Cells, Rows, Source

__all__ = ["csv_columns", "csv_rows", "csv_source", "read_table"]

_CHUNK_ROWS = 2**18


def _read_csv(
    path: str | os.PathLike[str], consume: Callable | None = None, **options: object
) -> pd.DataFrame:
    """``pandas.read_csv`` with every failure turned into a one-line :class:`InputError`;
    ``consume`` (with ``chunksize`` in ``options``) takes the chunks and makes the result."""
    p = Path(path)
    if p.is_dir():
        raise fail(path, "is a directory, not a CSV file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(p, encoding="utf-8-sig", index_col=False, **options)
            if consume is not None:
                with frame as chunks:
                    return consume(chunks)
    except pd.errors.ParserWarning:
        problem = "not a readable CSV file (a line has more fields than the header)"
        raise fail(path, problem) from None
    except FileNotFoundError:
        raise fail(path, "no such file") from None
    except PermissionError:
        raise fail(path, "cannot read the file (permission denied)") from None
    except OSError as exc:
        raise fail(path, f"cannot read the file ({exc.strerror or exc})") from None
    except pd.errors.EmptyDataError:
        raise fail(path, "empty file, not a CSV (no header line)") from None
    except (EOFError, zipfile.BadZipFile, lzma.LZMAError, tarfile.TarError) as exc:
        raise fail(path, f"cannot decompress the file ({exc})") from None
    except UnicodeDecodeError:
        raise fail(path, "not a CSV file (not UTF-8 text)") from None
    except (pd.errors.ParserError, ValueError) as exc:
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        raise fail(path, f"not a readable CSV file ({lines[-1]})") from None
    columns = [str(c) for c in frame.columns]
    if len(columns) == 1:
        for sep in ("\t", ";", "|"):
            if sep in columns[0]:
                raise fail(path, f"not a comma-separated CSV file (header uses {sep!r})")
    return frame


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV file into a DataFrame, with :func:`read_curve`'s error handling.

    Cells are parsed by pandas' defaults (numbers become numbers, empty cells ``NaN``). Files
    compressed as ``.gz``, ``.bz2``, ``.xz``, ``.zip`` or ``.zst`` are decompressed on the fly.

    Args:
        path: the CSV file.

    Returns:
        The table, one row per data line, with the header's column names.

    Raises:
        InputError: the file is missing, unreadable, empty, or not a CSV file; the message is
            one line that starts with ``path``.
    """
    return _read_csv(path)


def csv_columns(path: str | os.PathLike[str]) -> list[str]:
    """The header's column names."""
    return [str(c) for c in _read_csv(path, nrows=0, dtype=str).columns]


def csv_source(path: Path, format: str = "csv", run: str | None = None) -> Source:
    """The CSV log at ``path`` as a :class:`Source` (its columns are the header's)."""
    columns = tuple(csv_columns(path))

    def load(step_col: str, lr_col: str, loss_col: str) -> Rows:
        return csv_rows(path, step_col, lr_col, loss_col)

    return Source(path, format, run, columns, load)


def csv_rows(path: Path, step_col: str, lr_col: str, loss_col: str) -> Rows:
    """The three columns of the CSV at ``path``, as numbers.

    The file is parsed in chunks of rows by pandas' C parser, with only empty cells taken as
    missing (``nan`` or ``NA`` are text there): a chunk's column whose every cell is a number or
    empty is float64, and only the three columns' numbers are kept, 8 bytes a cell. A chunk's
    column holding anything else is taken as text, to tell an empty cell from a bad one; the
    bad one's text is read again for its message.
    """
    wanted = list(dict.fromkeys((step_col, lr_col, loss_col)))

    def consume(chunks) -> dict[str, Cells]:
        parts: dict[str, list[Cells]] = {c: [] for c in wanted}
        for chunk in chunks:
            for column in wanted:
                parts[column].append(_numeric_cells(chunk[column]))
        return {
            c: Cells(
                np.concatenate([p.values for p in parts[c]] or [np.zeros(0)]),
                np.concatenate([p.given for p in parts[c]] or [np.zeros(0, dtype=bool)]),
            )
            for c in wanted
        }

    options = {"keep_default_na": False, "na_values": [""], "chunksize": _CHUNK_ROWS}
    cells = _read_csv(path, consume, **options)
    by_kind = {"step": step_col, "lr": lr_col, "loss": loss_col}

    def shown(kind: str, i: int) -> str:
        column = by_kind[kind]
        text = _read_csv(path, dtype=str, keep_default_na=False, na_filter=False, usecols=[column])
        return str(text[column].iloc[i])

    return Rows(cells[step_col], cells[lr_col], cells[loss_col], lambda i: f"line {i + 2}", shown)


def _numeric_cells(column: pd.Series) -> Cells:
    """A column as numbers; which of its cells are empty."""
    if column.dtype.kind in "iuf":
        return Cells.numbers(column.to_numpy(dtype=np.float64))
    text = column.fillna("").astype(str)
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    empty = np.zeros(numbers.size, dtype=bool)
    missing = np.isnan(numbers)
    if missing.any():  # only cells that are not numbers can be blank
        empty[missing] = text[missing].str.strip().eq("").to_numpy()
    return Cells(numbers, ~empty)
