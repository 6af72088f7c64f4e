"""Reading training logs kept as CSV files into :class:`~scalefit.Curve` objects."""

from __future__ import annotations

import lzma
import os
import tarfile
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from scalefit._curve import Curve
from scalefit.io._errors import fail
from scalefit.io._rows import LoggedSchedule, from_rows
from scalefit.schedules import MAX_STEPS

__all__ = [
    "ALIASES",
    "MAX_STEP",
    "LoggedSchedule",
    "find_column",
    "other_loss_columns",
    "read_curve",
    "read_schedule",
    "read_table",
]

#: Column names recognised for each kind, case-insensitively, in order of preference.
ALIASES: dict[str, tuple[str, ...]] = {
    "step": (
        "step",
        "iter",
        "iteration",
        "iterations",
        "_step",
        "global_step",
        "steps",
        "trainer/global_step",
    ),
    "lr": (
        "lr",
        "learning_rate",
        "learning-rate",
        "lr-adamw",
        "train/lr",
        "train/learning_rate",
        "optimizer/lr",
    ),
    "loss": (
        "loss",
        "train_loss",
        "train/loss",
        "loss/train",
        "val_loss",
        "val/loss",
        "eval_loss",
        "eval/loss",
        "validation_loss",
    ),
}

#: Largest step accepted, the last step of the longest schedule spec
#: (:data:`scalefit.schedules.MAX_STEPS`): a run's per-step LR array has ``last step + 1`` entries.
MAX_STEP = MAX_STEPS

_MAX_LISTED_COLUMNS = 20


def _short(cell: str, width: int = 30) -> str:
    """``repr`` of a cell, stripped and shortened to about ``width`` characters."""
    cell = cell.strip()
    return repr(cell if len(cell) <= width else cell[: width - 3] + "...")


def _list_columns(columns: Sequence[str]) -> str:
    shown = ", ".join(str(c) for c in columns[:_MAX_LISTED_COLUMNS])
    if len(columns) > _MAX_LISTED_COLUMNS:
        shown += f", ... ({len(columns) - _MAX_LISTED_COLUMNS} more)"
    return shown or "none"


def _read_csv(path: str | os.PathLike[str], **options: object) -> pd.DataFrame:
    """``pandas.read_csv`` with every failure turned into a one-line :class:`InputError`."""
    p = Path(path)
    if p.is_dir():
        raise fail(path, "is a directory, not a CSV file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(p, encoding="utf-8-sig", index_col=False, **options)
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


def find_column(
    columns: Iterable[str],
    kind: str,
    explicit: str | None = None,
    *,
    path: str | os.PathLike[str],
) -> str:
    """Pick the column holding the steps, the learning rate or the loss.

    Names are matched case-insensitively, ignoring surrounding whitespace; an exact match wins
    over a case-insensitive one. Without ``explicit``, the first alias of :data:`ALIASES` [kind]
    that is present wins: for the loss, ``loss``, then the training-loss names (``train_loss``,
    ``train/loss``, ``loss/train``), then the validation ones.

    Args:
        columns: the table's column names.
        kind: ``"step"``, ``"lr"`` or ``"loss"``.
        explicit: a column name given by the user; overrides the aliases.
        path: the file the columns come from, for error messages.

    Returns:
        The column's name as spelled in ``columns``.

    Raises:
        InputError: no such column (the message lists the columns that exist).
        ValueError: ``kind`` is not one of the three kinds.

    Examples:
        >>> find_column(["Step", "LR", "train/loss", "val/loss"], "loss", path="run.csv")
        'train/loss'
        >>> find_column(["Step", "LR", "train/loss", "val/loss"], "loss", "VAL/LOSS", path="r")
        'val/loss'
    """
    if kind not in ALIASES:
        raise ValueError(f"kind must be one of {', '.join(ALIASES)} (got {kind!r})")
    names = [str(c) for c in columns]

    def lookup(wanted: str) -> str | None:
        for name in names:
            if name.strip() == wanted:
                return name
        folded = wanted.casefold()
        for name in names:
            if name.strip().casefold() == folded:
                return name
        return None

    if explicit is not None:
        found = lookup(str(explicit).strip())
        if found is None:
            raise fail(path, f"no column {explicit!r} (columns: {_list_columns(names)})")
        return found
    for alias in ALIASES[kind]:
        found = lookup(alias)
        if found is not None:
            return found
    label = {"step": "step", "lr": "learning-rate", "loss": "loss"}[kind]
    raise fail(
        path,
        f"no {label} column (looked for {', '.join(ALIASES[kind])}; "
        f"columns: {_list_columns(names)})",
    )


def other_loss_columns(path: str | os.PathLike[str]) -> tuple[str, list[str]]:
    """The loss column :func:`read_curve` takes from ``path`` by default, and the other columns
    whose names are loss aliases too (e.g. ``val_loss`` beside ``train_loss``): a choice the user
    may not know was made.

    Raises:
        InputError: as :func:`read_curve`, for an unreadable file or no loss column.
    """
    columns = [str(c) for c in _read_csv(path, nrows=0, dtype=str).columns]
    chosen = find_column(columns, "loss", path=path)
    aliases = {a.casefold() for a in ALIASES["loss"]}
    return chosen, [c for c in columns if c != chosen and c.strip().casefold() in aliases]


def _cells(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A column's text, which cells are empty (blank), and the numbers (NaN if not numeric)."""
    text = frame[column].fillna("").astype(str)
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    empty = np.zeros(numbers.size, dtype=bool)
    missing = np.isnan(numbers)
    if missing.any():  # only cells that are not numbers can be blank
        empty[missing] = text[missing].str.strip().eq("").to_numpy()
    return text.to_numpy(dtype=object), empty, numbers


def read_curve(
    path: str | os.PathLike[str],
    *,
    step_column: str | None = None,
    lr_column: str | None = None,
    loss_column: str | None = None,
    warmup_steps: int | None = None,
    name: str | None = None,
) -> Curve:
    """Read one training log (a CSV file) into a :class:`~scalefit.Curve`.

    Columns are found by :func:`find_column` (case-insensitive aliases, or the ``*_column``
    arguments). Every cell is parsed as a number; a row whose step is empty or not a number
    (e.g. a repeated header line) is ignored. Rows may come in any order; rows logged at the
    same step (e.g. after a restart) are averaged, each column over its non-empty cells.

    The per-step LR is rebuilt from every row with a non-empty LR by :func:`rebuild_lr`: linear
    between logged rows, jumps kept as jumps, the last value held to the last step (the largest
    step of any row), and a linear warm-up from 0 at step 0 assumed before the first logged LR.
    The loss is taken from the rows with a non-empty loss cell; rows without one still count
    for the LR.

    Args:
        path: the CSV file; it is only read.
        step_column: name of the step column (default: found by alias, e.g. ``step``).
        lr_column: name of the learning-rate column (default: by alias, e.g. ``lr``).
        loss_column: name of the loss column (default: ``loss``, else a training loss, else a
            validation loss).
        warmup_steps: the run's warm-up length ``N``, if known. It replaces the assumed
            warm-up before the first logged LR: steps ``0 .. N - 1`` ramp linearly from 0 to the
            first logged LR, which then holds until the first logged step. (Logged LRs always
            win: where ``N`` exceeds the first logged step, the ramp before it is the default
            one, ending at the first logged value.) It also becomes ``Curve.warmup_steps``.
        name: the curve's label (default: the file's stem, less ``.csv`` for a compressed
            ``run.csv.gz``).

    Returns:
        The :class:`~scalefit.Curve`, with ``source`` the path as given and ``warmup_steps`` =
        ``warmup_steps`` if given, else :func:`~scalefit.areas.leading_warmup` of the LR.

    Raises:
        InputError: with a one-line message starting with ``path``: the file is missing,
            unreadable, empty or not a CSV; a column is missing; no row has both a step and a
            loss; a non-empty loss cell is not a finite number (``nan``, ``inf``, text) or is
            <= 0; an LR cell is not a finite number or is negative; a step is not an integer or
            is negative (or beyond :data:`MAX_STEP`); no row has an LR; ``warmup_steps`` is
            negative or longer than the run.
    """
    return _read_log(path, step_column, lr_column, loss_column, warmup_steps, name, True)


def read_schedule(
    path: str | os.PathLike[str],
    *,
    step_column: str | None = None,
    lr_column: str | None = None,
    warmup_steps: int | None = None,
    name: str | None = None,
) -> LoggedSchedule:
    """Read a schedule from a CSV with step and LR columns (a loss column is not needed).

    The per-step LR is rebuilt as in :func:`read_curve`; ``step`` holds every row's step, the
    steps to predict at.

    Raises:
        InputError: as :func:`read_curve`, less what concerns the loss.
    """
    return _read_log(path, step_column, lr_column, None, warmup_steps, name, False)


def _read_log(path, step_column, lr_column, loss_column, warmup_steps, name, with_loss):
    frame = _read_csv(Path(path), dtype=str, keep_default_na=False, na_filter=False)
    columns = [str(c) for c in frame.columns]
    step_col = find_column(columns, "step", step_column, path=path)
    lr_col = find_column(columns, "lr", lr_column, path=path)
    # a schedule has no loss column: the LR's stands in, only for the rows' steps
    loss_col = find_column(columns, "loss", loss_column, path=path) if with_loss else lr_col
    table = _numeric_rows(path, frame, step_col, lr_col, loss_col, with_loss)
    return from_rows(
        path,
        table,
        columns=(step_col, lr_col, loss_col),
        warmup_steps=warmup_steps,
        name=name,
        with_loss=with_loss,
    )


def _numeric_rows(path, frame, step_col, lr_col, loss_col, with_loss) -> pd.DataFrame:
    """The rows with a numeric step, as numbers (``step``, ``lr``, ``loss``; an empty cell is
    NaN); a cell that is not a step, an LR or a loss is an error naming its line."""
    step_text, _, step_num = _cells(frame, step_col)
    rows = np.flatnonzero(~np.isnan(step_num))  # rows with an empty or non-numeric step are skipped
    step_text, step_num = step_text[rows], step_num[rows]
    lr_text, lr_empty, lr_num = (a[rows] for a in _cells(frame, lr_col))
    loss_text, loss_empty, loss_num = (a[rows] for a in _cells(frame, loss_col))

    def check(bad: np.ndarray, text: np.ndarray, what: str) -> None:
        if np.any(bad):
            k = np.flatnonzero(bad)[0]
            raise fail(path, f"line {int(rows[k]) + 2}: {what} (got {_short(str(text[k]))})")

    check(
        ~np.isfinite(step_num) | (step_num != np.round(step_num)) | (step_num < 0),
        step_text,
        f"step column {step_col!r} must hold integers >= 0",
    )
    check(step_num > MAX_STEP, step_text, f"step is larger than {MAX_STEP:,}")
    lr_what = f"learning rate in column {lr_col!r}"
    check(~lr_empty & ~np.isfinite(lr_num), lr_text, f"{lr_what} is not a finite number")
    check(~lr_empty & (lr_num < 0), lr_text, f"{lr_what} is negative")
    loss_what = f"loss in column {loss_col!r}"
    check(~loss_empty & ~np.isfinite(loss_num), loss_text, f"{loss_what} is not a finite number")
    check(~loss_empty & (loss_num <= 0) & with_loss, loss_text, f"{loss_what} is not > 0")
    if not with_loss:  # a schedule: every row counts
        loss_empty, loss_num = np.zeros_like(loss_empty), np.ones_like(loss_num)
    return pd.DataFrame(
        {
            "step": step_num.astype(np.int64),
            "lr": np.where(lr_empty, np.nan, lr_num),
            "loss": np.where(loss_empty, np.nan, loss_num),
        }
    )
