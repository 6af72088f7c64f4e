"""Reading logs, whatever their format: :func:`read_curves` (every run), :func:`read_curve` (one),
:func:`read_schedule` (the LR alone), and :func:`read_runs` (each run with how it was read)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from scalefit._curve import Curve
from scalefit._errors import InputError
from scalefit.io._columns import find_column, loss_alternatives
from scalefit.io._detect import open_sources
from scalefit.io._errors import fail
from scalefit.io._rows import LoggedSchedule, from_rows
from scalefit.io._source import Cells, Source, checked_table

__all__ = [
    "RunLog",
    "other_loss_columns",
    "read_curve",
    "read_curves",
    "read_runs",
    "read_schedule",
]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class RunLog:
    """One run read from a log, and how it was read (what ``scalefit inspect`` shows).

    Attributes:
        name: the run's name (the curve's).
        source: the file or folder the run came from.
        format: the log's format (a key of :data:`scalefit.io.LOG_FORMATS`).
        columns: the columns (tags, keys) the log holds.
        what: what the format calls them: ``"column"``, ``"tag"`` or ``"key"``.
        step_column, lr_column, loss_column: those chosen (``lr_column`` says where an LR from
            elsewhere came from; ``loss_column`` is ``None`` for a schedule).
        other_losses: other columns whose names say loss, not chosen.
        rows: rows (records, values) with a step.
        repeated_steps: losses logged at a step already logged (restarts).
        curve: the :class:`~scalefit.Curve` (``None`` for a schedule without losses).
        schedule: the per-step LR and every row's step.
        notes: what a user should know about how it was read.
    """

    name: str
    source: str
    format: str
    columns: tuple[str, ...]
    what: str
    step_column: str
    lr_column: str
    loss_column: str | None
    other_losses: tuple[str, ...]
    rows: int
    repeated_steps: int
    curve: Curve | None
    schedule: LoggedSchedule
    notes: tuple[str, ...] = ()


class _Options(NamedTuple):
    step_column: str | None
    lr_column: str | None
    loss_column: str | None


_LR_HINT = (
    "; give the learning rate from another file (lr_from, --lr-from FILE) or as a schedule "
    "(lr_schedule, --lr-schedule SPEC)"
)


def _step_choice(source: Source, explicit: str | None) -> str:
    if source.step_column is None:
        return find_column(source.columns, "step", explicit, path=source.path, what=source.what)
    if explicit is not None and explicit.strip().casefold() != source.step_column:
        problem = f"a {source.format} log holds a step with every value; no step {source.what}"
        raise fail(source.path, f"{problem} to choose (got {explicit!r})")
    return source.step_column


def _loss_choice(source: Source, explicit: str | None, with_loss: bool | None) -> str | None:
    if with_loss is False:
        return None
    if source.value is not None and explicit is None:
        return source.value if with_loss else None  # a single series: an LR for a schedule
    try:
        return find_column(source.columns, "loss", explicit, path=source.path, what=source.what)
    except InputError:
        if with_loss or explicit is not None:
            raise
        return None


def _lr_choice(source: Source, explicit: str | None, loss: str | None) -> str:
    if source.value is not None and explicit is None and loss != source.value:
        return source.value
    try:
        return find_column(source.columns, "lr", explicit, path=source.path, what=source.what)
    except InputError as err:
        raise InputError(str(err) + ("" if explicit else _LR_HINT)) from None


def _table(source: Source, options: _Options, with_loss: bool | None, lr_elsewhere: bool):
    """The run's checked rows (step, lr, loss) and the columns chosen: (step, lr, loss)."""
    step = _step_choice(source, options.step_column)
    loss = _loss_choice(source, options.loss_column, with_loss)
    lr = None if lr_elsewhere else _lr_choice(source, options.lr_column, loss)
    rows = source.load(step, lr or loss, loss or lr)
    if lr is None:
        rows = replace(rows, lr=Cells.numbers(np.full(rows.lr.values.size, np.nan)))
    chosen = (step, lr or "", loss or lr or "")
    table, _ = checked_table(
        source.path, rows, chosen, with_loss=loss is not None, what=source.what
    )
    if loss is None:
        table["loss"] = np.nan
    return table, (step, lr, loss)


def _lr_tables(lr_from: PathLike, lr_column: str | None) -> dict[str | None, tuple]:
    """The LR rows of each run of the file ``lr_from``, by run name, with the column read."""
    tables = {}
    for source in open_sources(Path(lr_from)):
        table, (step, lr, _) = _table(source, _Options(None, lr_column, None), False, False)
        tables[source.run] = (table[["step", "lr"]].dropna(), f"{lr_from}: {lr}", source.notes)
    return tables


def _schedule_rows(path: Path, spec: str, last_step: int) -> pd.DataFrame:
    from scalefit.schedules import parse_schedule

    lr = parse_schedule(spec).lr()
    if lr.size - 1 < last_step:
        raise fail(
            path, f"the schedule {spec!r} ends at step {lr.size - 1}, before the log's {last_step}"
        )
    return pd.DataFrame({"step": np.arange(lr.size, dtype=np.int64), "lr": lr})


def _joined(path: Path, table: pd.DataFrame, lr_rows: pd.DataFrame, lr_path: str) -> pd.DataFrame:
    """The log's rows and another file's LR rows, one table; their steps must overlap."""
    steps = table["step"].to_numpy()
    lr_steps = lr_rows["step"].to_numpy()
    if lr_steps.size == 0:
        raise fail(lr_path, "no learning-rate value")
    if lr_steps.min() > steps.max() or lr_steps.max() < steps.min():
        raise fail(
            lr_path,
            f"its steps ({lr_steps.min()}..{lr_steps.max()}) do not overlap those of {path} "
            f"({steps.min()}..{steps.max()})",
        )
    losses = table.assign(lr=np.nan)
    return pd.concat([losses, lr_rows.assign(loss=np.nan)], ignore_index=True)


def _lr_for(source: Source, lr_tables: dict, lr_from: PathLike):
    if len(lr_tables) == 1:
        return next(iter(lr_tables.values()))
    if source.run in lr_tables:
        return lr_tables[source.run]
    names = ", ".join(str(r) for r in lr_tables)
    if source.run is None:
        raise fail(lr_from, f"holds several runs ({names}); give a file of this run's LR")
    raise fail(lr_from, f"holds several runs ({names}) and none is {source.run!r}")


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of integers, without its hashing (seconds for millions of steps)."""
    if np.all(values[1:] > values[:-1]):
        return values
    ordered = np.sort(values)
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]


class _Reading(NamedTuple):
    options: _Options
    with_loss: bool | None
    warmup_steps: int | None
    lr_tables: dict | None
    lr_from: PathLike | None
    lr_schedule: str | None


def _run_log(source: Source, reading: _Reading, name: str | None) -> RunLog:
    """One run of a log, read as ``reading`` says."""
    lr_elsewhere = reading.lr_tables is not None or reading.lr_schedule is not None
    table, (step, lr, loss) = _table(source, reading.options, reading.with_loss, lr_elsewhere)
    n_rows, notes = len(table), list(source.notes)
    if reading.lr_tables is not None:
        lr_rows, lr, lr_notes = _lr_for(source, reading.lr_tables, reading.lr_from)
        table = _joined(source.path, table, lr_rows, str(reading.lr_from))
        notes += [n for n in lr_notes if n not in notes]
    elif reading.lr_schedule is not None:
        last = int(table["step"].max()) if len(table) else 0
        table = _joined(
            source.path, table, _schedule_rows(source.path, reading.lr_schedule, last), "schedule"
        )
        lr = f"schedule {reading.lr_schedule}"
    columns = (step, lr, loss or lr)
    warm = reading.warmup_steps
    if loss is not None:
        curve = from_rows(
            source.path,
            table,
            columns=columns,
            warmup_steps=warm,
            name=name,
            with_loss=True,
            what=source.what,
        )
        every_step = _sorted_unique(table["step"].to_numpy())
        schedule = LoggedSchedule(
            curve.name, curve.lr, every_step, curve.warmup_steps, curve.source
        )
    else:
        curve, table = None, table.assign(loss=1.0)
        schedule = from_rows(
            source.path,
            table,
            columns=columns,
            warmup_steps=warm,
            name=name,
            with_loss=False,
            what=source.what,
        )
    logged = table["step"].to_numpy()[table["loss"].notna().to_numpy()]
    others = (
        ()
        if loss is None or reading.options.loss_column or source.value
        else tuple(loss_alternatives(source.columns, loss))
    )
    return RunLog(
        name=schedule.name,
        source=str(source.path),
        format=source.format,
        columns=source.columns,
        what=source.what,
        step_column=step,
        lr_column=lr,
        loss_column=loss,
        other_losses=others,
        rows=n_rows,
        repeated_steps=int(logged.size - _sorted_unique(logged).size),
        curve=curve,
        schedule=schedule,
        notes=tuple(notes),
    )


def read_runs(
    path: PathLike,
    *,
    log_format: str | None = None,
    step_column: str | None = None,
    lr_column: str | None = None,
    loss_column: str | None = None,
    warmup_steps: int | None = None,
    name: str | None = None,
    lr_from: PathLike | None = None,
    lr_schedule: str | None = None,
    with_loss: bool | None = True,
) -> list[RunLog]:
    """Every run of a log, each with how it was read: :func:`read_curves`' arguments, and
    ``with_loss`` (``True``: a loss is needed; ``False``: a schedule, no loss read; ``None``: the
    loss if the log has one)."""
    if lr_from is not None and lr_schedule is not None:
        raise fail(path, "give the learning rate from a file or as a schedule, not both")
    sources = open_sources(Path(path), log_format)
    lr_tables = None if lr_from is None else _lr_tables(lr_from, lr_column)
    options = _Options(step_column, None if lr_from else lr_column, loss_column)
    reading = _Reading(options, with_loss, warmup_steps, lr_tables, lr_from, lr_schedule)

    def named(source: Source) -> str | None:
        if name is None:
            return source.run
        return name if len(sources) == 1 else f"{name}/{source.run}"

    return [_run_log(source, reading, named(source)) for source in sources]


def read_curves(
    path: PathLike,
    *,
    log_format: str | None = None,
    step_column: str | None = None,
    lr_column: str | None = None,
    loss_column: str | None = None,
    warmup_steps: int | None = None,
    name: str | None = None,
    lr_from: PathLike | None = None,
    lr_schedule: str | None = None,
) -> list[Curve]:
    """Read every run of a training log into :class:`~scalefit.Curve` objects.

    The log may be a CSV, a Hugging Face ``trainer_state.json`` (or a checkpoint folder),
    TensorBoard event files (a file, a folder, a folder of runs), a TensorBoard scalar CSV,
    Lightning's ``metrics.csv``, an MLflow file store (a run, an experiment, ``mlruns``), a W&B
    history (CSV or JSON) or a W&B panel export: the format is found from the path (its name, a
    folder's layout, a file's first bytes or columns), or forced by ``log_format`` (a key of
    :data:`LOG_FORMATS`). A source holding several runs (a folder of TensorBoard runs, an MLflow
    experiment, a panel export of several runs) gives one curve per run, named by the run.

    Columns, tags or keys are found as :func:`find_column` finds columns, or named by the
    ``*_column`` arguments. Rows logged at one step (restarts, or a logger's separate rows for
    the loss and the LR) are merged: each column averaged over the rows that hold a value. The
    per-step LR is rebuilt by :func:`rebuild_lr` (linear between logged LRs, jumps kept, a linear
    warm-up from 0 assumed before the first). A value that cannot be a step, a learning rate
    (negative, not finite, above :data:`MAX_LR`) or a loss (not positive, not finite, above
    :data:`MAX_LOSS`) is an error naming where it is.

    Args:
        path: the log (a file or folder); it is only read.
        log_format: the format, when the path does not show it.
        step_column: the step column (not for TensorBoard and MLflow: a step comes with every
            value).
        lr_column: the learning-rate column (of ``lr_from`` when that is given).
        loss_column: the loss column (default: ``loss``, else a training loss, else a
            validation loss; ``eval_loss`` for a trainer state's evaluation entries).
        warmup_steps: the warm-up's length, if known (see :func:`read_curve`).
        name: the curve's name (default: the run's, else the file's stem).
        lr_from: another log holding the learning rate (any format read here; its LR rows join
            the log's on steps, which must overlap); for a log without one.
        lr_schedule: the learning rate as a schedule spec (``"cosine:peak=3e-4,steps=24000"``),
            for a log that never logged it.

    Returns:
        One curve per run.

    Raises:
        InputError: a one-line message starting with the path: no such file, a format it is
            not, a truncated or corrupt file, no such column (the message lists those there), a
            missing optional package (TensorBoard), a bad value, LR steps not overlapping.

    Examples:
        >>> from scalefit import io
        >>> folder = io.bundled_data("multipower-law") / "25M"
        >>> [c.name for c in io.read_curves(folder / "cosine_24000.csv")]
        ['cosine_24000']
    """
    runs = read_runs(
        path,
        log_format=log_format,
        step_column=step_column,
        lr_column=lr_column,
        loss_column=loss_column,
        warmup_steps=warmup_steps,
        name=name,
        lr_from=lr_from,
        lr_schedule=lr_schedule,
    )
    return [run.curve for run in runs]


def one_run(path: PathLike, runs: list) -> object:
    """The only run of ``runs``; an error naming them if there are several."""
    if len(runs) == 1:
        return runs[0]
    names = [r.name for r in runs]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    raise fail(path, f"holds {len(runs)} runs ({shown}); read them all with read_curves")


def read_curve(
    path: PathLike,
    *,
    step_column: str | None = None,
    lr_column: str | None = None,
    loss_column: str | None = None,
    warmup_steps: int | None = None,
    name: str | None = None,
    log_format: str | None = None,
    lr_from: PathLike | None = None,
    lr_schedule: str | None = None,
) -> Curve:
    """Read one training log into a :class:`~scalefit.Curve` (every format of
    :func:`read_curves`; a log holding several runs is an error naming them).

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
        path: the log; it is only read.
        step_column: name of the step column (default: found by alias, e.g. ``step``).
        lr_column: name of the learning-rate column (default: by alias, e.g. ``lr``).
        loss_column: name of the loss column (default: ``loss``, else a training loss, else a
            validation loss).
        warmup_steps: the run's warm-up length ``N``, if known. It replaces the assumed
            warm-up before the first logged LR: steps ``0 .. N - 1`` ramp linearly from 0 to the
            first logged LR, which then holds until the first logged step. (Logged LRs always
            win: where ``N`` exceeds the first logged step, the ramp before it is the default
            one, ending at the first logged value.) It also becomes ``Curve.warmup_steps``.
        name: the curve's label (default: the run's name, else the file's stem, less ``.csv``
            for a compressed ``run.csv.gz``).
        log_format, lr_from, lr_schedule: as for :func:`read_curves`.

    Returns:
        The :class:`~scalefit.Curve`, with ``source`` the path as given and
        ``warmup_steps`` = ``warmup_steps`` if given, else
        :func:`~scalefit.areas.leading_warmup` of the LR.

    Raises:
        InputError: with a one-line message starting with ``path``: the file is missing,
            unreadable, empty or not in the format; a column is missing; no row has both a step
            and a loss; a non-empty loss cell is not a finite number (``nan``, ``inf``, text),
            is <= 0 or above :data:`MAX_LOSS`; an LR cell is not a finite number, is negative or
            above :data:`MAX_LR`; a step is not an integer or is negative (or beyond
            :data:`MAX_STEP`); no row has an LR; ``warmup_steps`` is negative or longer than the
            run; the log holds several runs.
    """
    runs = read_runs(
        path,
        log_format=log_format,
        step_column=step_column,
        lr_column=lr_column,
        loss_column=loss_column,
        warmup_steps=warmup_steps,
        name=name,
        lr_from=lr_from,
        lr_schedule=lr_schedule,
    )
    return one_run(path, runs).curve


def read_schedule(
    path: PathLike,
    *,
    step_column: str | None = None,
    lr_column: str | None = None,
    warmup_steps: int | None = None,
    name: str | None = None,
    log_format: str | None = None,
) -> LoggedSchedule:
    """Read a schedule from a log with step and LR columns (a loss column is not needed), in any
    format :func:`read_curves` reads (a single-series export's values are the LR).

    The per-step LR is rebuilt as in :func:`read_curve`; ``step`` holds every row's step, the
    steps to predict at.

    Raises:
        InputError: as :func:`read_curve`, less what concerns the loss.
    """
    runs = read_runs(
        path,
        log_format=log_format,
        step_column=step_column,
        lr_column=lr_column,
        warmup_steps=warmup_steps,
        name=name,
        with_loss=False,
    )
    return one_run(path, runs).schedule


def other_loss_columns(path: PathLike) -> tuple[str, list[str]]:
    """The loss column :func:`read_curve` takes from ``path`` by default, and the other columns
    whose names are loss aliases too (e.g. ``val_loss`` beside ``train_loss``): a choice the user
    may not know was made.

    Raises:
        InputError: as :func:`read_curve`, for an unreadable file or no loss column.
    """
    source = open_sources(Path(path))[0]
    chosen = _loss_choice(source, None, True)
    if source.value is not None:
        return chosen, []
    return chosen, loss_alternatives(source.columns, chosen)
