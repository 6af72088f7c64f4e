"""Reading training logs (CSV) into :class:`~scalefit.curve.Curve` objects, and atomic writes."""

from __future__ import annotations

import lzma
import os
import stat
import tarfile
import uuid
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from scalefit.areas import leading_warmup
from scalefit.curve import Curve
from scalefit.errors import InputError
from scalefit.schedules import MAX_STEPS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from scalefit.fitting import Fit

__all__ = [
    "ALIASES",
    "JUMP_REL_CHANGE",
    "JUMP_SLOPE_RATIO",
    "MAX_STEP",
    "find_column",
    "LoggedSchedule",
    "MULTIPOWER_HELD_OUT",
    "bundled_data",
    "curve_names",
    "load_fit",
    "read_schedule",
    "save_figure",
    "save_fit",
    "write_bytes_atomic",
    "read_curve",
    "read_table",
    "rebuild_lr",
    "write_csv_atomic",
    "write_text_atomic",
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

#: A change between two consecutive logged LRs can only be a jump if it exceeds this fraction of
#: the larger of the two values.
JUMP_REL_CHANGE = 0.1
#: ... and if its per-step slope exceeds this multiple of the slope of both neighbouring intervals.
JUMP_SLOPE_RATIO = 4.0
#: Largest step accepted, the last step of the longest schedule spec
#: (:data:`scalefit.schedules.MAX_STEPS`): a run's per-step LR array has ``last step + 1`` entries.
MAX_STEP = MAX_STEPS

_COMPRESSIONS = {  # pandas' compression methods, by suffix
    ".gz": "gzip",
    ".bz2": "bz2",
    ".xz": "xz",
    ".zip": "zip",
    ".zst": "zstd",
    ".tar": "tar",
}
_COMPRESSION_SUFFIXES = frozenset(_COMPRESSIONS)
_MAX_LISTED_COLUMNS = 20


def _fail(path: str | os.PathLike[str], problem: str) -> InputError:
    """An :class:`InputError` whose one-line message starts with ``path``."""
    return InputError(f"{path}: {' '.join(str(problem).split())}")


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
        raise _fail(path, "is a directory, not a CSV file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(p, encoding="utf-8-sig", index_col=False, **options)
    except pd.errors.ParserWarning:
        problem = "not a readable CSV file (a line has more fields than the header)"
        raise _fail(path, problem) from None
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except PermissionError:
        raise _fail(path, "cannot read the file (permission denied)") from None
    except OSError as exc:
        raise _fail(path, f"cannot read the file ({exc.strerror or exc})") from None
    except pd.errors.EmptyDataError:
        raise _fail(path, "empty file, not a CSV (no header line)") from None
    except (EOFError, zipfile.BadZipFile, lzma.LZMAError, tarfile.TarError) as exc:
        raise _fail(path, f"cannot decompress the file ({exc})") from None
    except UnicodeDecodeError:
        raise _fail(path, "not a CSV file (not UTF-8 text)") from None
    except (pd.errors.ParserError, ValueError) as exc:
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        raise _fail(path, f"not a readable CSV file ({lines[-1]})") from None
    columns = [str(c) for c in frame.columns]
    if len(columns) == 1:
        for sep in ("\t", ";", "|"):
            if sep in columns[0]:
                raise _fail(path, f"not a comma-separated CSV file (header uses {sep!r})")
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
            raise _fail(path, f"no column {explicit!r} (columns: {_list_columns(names)})")
        return found
    for alias in ALIASES[kind]:
        found = lookup(alias)
        if found is not None:
            return found
    label = {"step": "step", "lr": "learning-rate", "loss": "loss"}[kind]
    raise _fail(
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


def _jumps(steps: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which intervals between consecutive logged LRs are jumps (see :func:`rebuild_lr`)."""
    change = np.abs(np.diff(values))
    slope = change / np.diff(steps)
    larger = np.maximum(np.abs(values[:-1]), np.abs(values[1:]))
    left = np.concatenate([[0.0], slope[:-1]])
    right = np.concatenate([slope[1:], [0.0]])
    return (
        (change > JUMP_REL_CHANGE * larger)
        & (slope > JUMP_SLOPE_RATIO * left)
        & (slope > JUMP_SLOPE_RATIO * right)
    )


def rebuild_lr(steps: ArrayLike, lrs: ArrayLike, n_steps: int | None = None) -> np.ndarray:
    """The per-step learning rate of a run from the LRs logged at some of its steps.

    * Between two consecutive logged steps the LR is interpolated linearly, except across a
      *jump*: a change of more than :data:`JUMP_REL_CHANGE` (10 %) of the larger of the two
      values whose per-step slope is also more than :data:`JUMP_SLOPE_RATIO` (4) times the slope
      of both neighbouring intervals (a missing neighbour counts as slope 0). Across a jump the
      earlier value holds up to the step before the later row, whose value takes effect at its
      own step. This keeps a two-stage schedule's drop (3e-4 at step 7936, 3e-5 at 8000) a
      drop, while warm-ups and smooth decays logged every few steps stay linear.
    * Before the first logged step ``s0``, a linear warm-up from 0 at step 0 to the first logged
      LR at ``s0`` is assumed.
    * After the last logged step, the last logged LR holds.

    Args:
        steps: the logged steps: integers >= 0, no repeats (any order).
        lrs: the LR logged at each of ``steps``: finite.
        n_steps: length of the result (steps ``0 .. n_steps - 1``); by default the last logged
            step + 1. Must be at least that.

    Returns:
        ``lr``, a float64 array of ``n_steps`` values, with ``lr[s] == lrs[i]`` at every logged
        step ``s = steps[i]``.

    Raises:
        ValueError: empty or mismatched inputs, repeated, negative or non-integer steps,
            non-finite LRs, or ``n_steps`` too small.

    Examples:
        >>> rebuild_lr([2, 4, 6, 8], [1.0, 2.0, 3.0, 3.0], n_steps=10).tolist()
        [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0, 3.0, 3.0]
        >>> rebuild_lr([0, 4, 6, 8], [3.0, 3.0, 1.0, 1.0], n_steps=10).tolist()
        [3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 1.0, 1.0, 1.0, 1.0]
    """
    raw_steps = np.asarray(steps, dtype=np.float64).ravel()
    values = np.asarray(lrs, dtype=np.float64).ravel()
    if raw_steps.size == 0:
        raise ValueError("no logged learning rate")
    if raw_steps.size != values.size:
        raise ValueError(f"steps and lrs differ in length ({raw_steps.size} vs {values.size})")
    if not np.all(np.isfinite(raw_steps)) or np.any(raw_steps != np.round(raw_steps)):
        raise ValueError("steps must be integers")
    if raw_steps.min() < 0:
        raise ValueError("steps must be >= 0")
    if not np.all(np.isfinite(values)):
        raise ValueError("learning rates must be finite")
    order = np.argsort(raw_steps, kind="stable")
    xs = raw_steps[order].astype(np.int64)
    values = values[order]
    if np.any(np.diff(xs) == 0):
        raise ValueError("steps must not repeat")
    last = int(xs[-1])
    n = last + 1 if n_steps is None else int(n_steps)
    if n < last + 1:
        raise ValueError(f"n_steps={n} is too small for a logged step {last}")

    lr = np.empty(n, dtype=np.float64)
    first = int(xs[0])
    lr[:first] = values[0] * np.arange(first) / first if first else 0.0
    grid = np.arange(first, last + 1)
    lr[first : last + 1] = np.interp(grid, xs, values)
    if xs.size > 1:
        for i in np.flatnonzero(_jumps(xs.astype(np.float64), values)):
            lr[xs[i] : xs[i + 1]] = values[i]
    lr[xs] = values  # exact at every logged step
    lr[last + 1 :] = values[-1]
    return lr


def _default_name(path: Path) -> str:
    if path.suffix.lower() in _COMPRESSION_SUFFIXES:
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
    base = [_default_name(p) for p in full]
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
    """Read one training log (a CSV file) into a :class:`~scalefit.curve.Curve`.

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
        The :class:`~scalefit.curve.Curve`, with ``source`` the path as given and
        ``warmup_steps`` = ``warmup_steps`` if given, else :func:`leading_warmup` of the LR.

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


class LoggedSchedule(NamedTuple):
    """A schedule read from a CSV: per-step ``lr``, the file's ``step`` rows, warm-up length."""

    name: str
    lr: np.ndarray
    step: np.ndarray
    warmup_steps: int
    source: str


def _read_log(path, step_column, lr_column, loss_column, warmup_steps, name, with_loss):
    p = Path(path)
    frame = _read_csv(p, dtype=str, keep_default_na=False, na_filter=False)
    columns = [str(c) for c in frame.columns]
    step_col = find_column(columns, "step", step_column, path=path)
    lr_col = find_column(columns, "lr", lr_column, path=path)
    if with_loss:
        loss_col = find_column(columns, "loss", loss_column, path=path)
    else:
        loss_col = lr_col  # not used for a loss: only the rows' steps are kept

    step_text, _, step_num = _cells(frame, step_col)
    rows = np.flatnonzero(~np.isnan(step_num))  # rows with an empty or non-numeric step are skipped
    step_text, step_num = step_text[rows], step_num[rows]
    lr_text, lr_empty, lr_num = (a[rows] for a in _cells(frame, lr_col))
    loss_text, loss_empty, loss_num = (a[rows] for a in _cells(frame, loss_col))

    def check(bad: np.ndarray, text: np.ndarray, what: str) -> None:
        if np.any(bad):
            k = np.flatnonzero(bad)[0]
            raise _fail(path, f"line {int(rows[k]) + 2}: {what} (got {_short(str(text[k]))})")

    check(
        ~np.isfinite(step_num) | (step_num != np.round(step_num)) | (step_num < 0),
        step_text,
        f"step column {step_col!r} must hold integers >= 0",
    )
    check(step_num > MAX_STEP, step_text, f"step is larger than {MAX_STEP:,}")
    check(
        ~lr_empty & ~np.isfinite(lr_num),
        lr_text,
        f"learning rate in column {lr_col!r} is not a finite number",
    )
    check(~lr_empty & (lr_num < 0), lr_text, f"learning rate in column {lr_col!r} is negative")
    check(
        ~loss_empty & ~np.isfinite(loss_num),
        loss_text,
        f"loss in column {loss_col!r} is not a finite number",
    )
    check(
        ~loss_empty & (loss_num <= 0) & with_loss,
        loss_text,
        f"loss in column {loss_col!r} is not > 0",
    )
    if not with_loss:  # a schedule: every row counts
        loss_empty, loss_num = np.zeros_like(loss_empty), np.ones_like(loss_num)

    if not np.any(~loss_empty):
        raise _fail(
            path,
            f"no usable rows (no row has both a numeric {step_col!r} and a {loss_col!r} value)",
        )
    if not np.any(~lr_empty):
        raise _fail(path, f"no learning-rate value in column {lr_col!r}")
    if not np.any(~lr_empty & (lr_num > 0)):
        raise _fail(path, f"the learning rate in column {lr_col!r} is 0 on every row")

    table = pd.DataFrame(
        {
            "step": step_num.astype(np.int64),
            "lr": np.where(lr_empty, np.nan, lr_num),
            "loss": np.where(loss_empty, np.nan, loss_num),
        }
    )
    grouped = table.groupby("step", sort=True)
    mean, low, high = grouped.mean(), grouped.min(), grouped.max()
    merged = mean.where(low.ne(high), low)  # identical repeats stay bit-exact

    all_steps = merged.index.to_numpy(dtype=np.int64)
    lr_rows = merged["lr"].notna().to_numpy()
    loss_rows = merged["loss"].notna().to_numpy()
    n_steps = int(all_steps[-1]) + 1
    lr_steps = all_steps[lr_rows]
    lr_values = merged["lr"].to_numpy(dtype=np.float64)[lr_rows]
    lr = rebuild_lr(lr_steps, lr_values, n_steps)

    if warmup_steps is not None:
        try:
            n_warm = int(warmup_steps)
            valid = n_warm == warmup_steps and n_warm >= 0 and not isinstance(warmup_steps, bool)
        except (TypeError, ValueError, OverflowError):
            valid = False
        if not valid:
            raise _fail(path, f"warmup_steps must be an integer >= 0 (got {warmup_steps!r})")
        if n_warm > n_steps:
            raise _fail(path, f"warmup_steps={n_warm} is longer than the run ({n_steps} steps)")
        first = int(lr_steps[0])
        if n_warm <= first:
            lr[:n_warm] = lr_values[0] * np.arange(n_warm) / max(n_warm, 1)
            lr[n_warm:first] = lr_values[0]
        warm = n_warm
    else:
        warm = leading_warmup(lr)

    if not with_loss:
        return LoggedSchedule(
            _default_name(p) if name is None else name, lr, all_steps, warm, str(path)
        )
    return Curve(
        name=_default_name(p) if name is None else name,
        lr=lr,
        step=all_steps[loss_rows],
        loss=merged["loss"].to_numpy(dtype=np.float64)[loss_rows],
        warmup_steps=warm,
        source=str(path),
    )


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
        raise _fail(path, f"cannot write the file ({exc.strerror or exc})") from None
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
        raise _fail(path, "cannot write a compressed tar archive (name it .csv.gz, or .tar)")
    method = _COMPRESSIONS.get(Path(path).suffix.lower())
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
        raise _fail(path, f"cannot write {method} files here (a package is missing)") from None
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
        raise _fail(
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
        raise _fail(path, f"cannot save a figure in this format ({exc})") from None
    finally:
        plt.close(figure)
    write_bytes_atomic(buffer.getvalue(), path)


def save_fit(fit: Fit, path: str | os.PathLike[str]) -> None:
    """Write a :class:`~scalefit.fitting.Fit` as JSON, atomically."""
    import json

    write_text_atomic(json.dumps(fit.to_dict(), indent=2) + "\n", path)


def load_fit(path: str | os.PathLike[str]) -> Fit:
    """Read a :class:`~scalefit.fitting.Fit` written by :func:`save_fit`.

    Raises:
        InputError: the file is missing or unreadable, not JSON, or not a scalefit fit.
    """
    import json

    from scalefit.fitting import Fit

    if Path(path).is_dir():
        raise _fail(path, "is a directory, not a fit file")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot read the file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise _fail(path, f"not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict) or "scalefit_fit" not in data:
        raise _fail(path, "not a scalefit fit (write one with `scalefit fit --out`)")
    try:
        return Fit.from_dict(data)
    except InputError as exc:
        raise _fail(path, str(exc)) from None
    except KeyError as exc:
        raise _fail(path, f"malformed fit: {exc.args[0]!r} is missing") from None
    except (TypeError, ValueError) as exc:
        raise _fail(path, f"malformed fit: {exc}") from None


MULTIPOWER_HELD_OUT = (
    "constant_72000",
    "cosine_72000",
    "wsd_20000_24000",
    "wsdld_20000_24000",
    "wsdcon_3",
    "wsdcon_18",
)
"""The six curves of ``bundled_data("multipower-law")/<size>`` that Luo et al. hold out; they fit
on ``cosine_24000``, ``constant_24000`` and ``wsdcon_9``."""


def bundled_data(name: str = "") -> Path:
    """The folder of the real curves shipped with scalefit (``data/`` of the source tree).

    Args:
        name: a subfolder, e.g. ``"multipower-law"`` or ``"lr-scheduling-124m"``.

    Raises:
        InputError: the data is not there (scalefit installed without its source tree).
    """
    root = Path(__file__).resolve().parent.parent / "data"
    folder = root / name
    if not folder.is_dir():
        raise InputError(
            f"{folder}: bundled data not found (install scalefit from its source tree, "
            "`pip install -e .`, to get data/)"
        )
    return folder
