"""Reading a sweep file: one row per run, the run's log and what is known of it."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pandas as pd

from scalefit._errors import InputError
from scalefit._sweep import Sweep
from scalefit.io._csv import read_table
from scalefit.io._errors import fail
from scalefit.io._names import curve_names
from scalefit.io._read import read_curves

__all__ = ["SWEEP_COLUMNS", "read_sweep"]

SWEEP_COLUMNS = {
    "path": "the run's log, relative to the sweep file (any format the readers take)",
    "params": "the model's parameter count",
    "tokens_per_step": "tokens a step trains on (batch x sequence length x accumulation x GPUs)",
    "loss_column": "the log's loss column (default: as --loss-column, else the usual names)",
    "log_format": "the log's format, where its path does not show it",
    "lr_from": "another log holding the LR, relative to the sweep file",
}
"""The columns a sweep file may have, beside ``path`` all optional; any other column is a label
of the run (a group, a seed, an optimizer)."""


def read_sweep(
    path: str | Path,
    *,
    loss_column: str | None = None,
    step_column: str | None = None,
    lr_column: str | None = None,
    warmup_steps: int | None = None,
) -> Sweep:
    """Read a sweep file (CSV, one row per run; columns: :data:`SWEEP_COLUMNS`, then labels).

    Each run's peak LR, warm-up and budget are read from its log. A log holding several runs
    (an MLflow experiment, a folder of TensorBoard runs) gives a run each, with the row's labels.
    Runs are named as :func:`read_curves` names them, with folders where names clash.

    Args:
        path: the sweep file.
        loss_column: the loss column of every log without a ``loss_column`` of its own.
        step_column, lr_column, warmup_steps: as :func:`read_curves`, for every log.

    Returns:
        The :class:`~scalefit.Sweep`.

    Raises:
        InputError: one line naming the sweep file (and the row) and the problem: no ``path``
            column, a log that is missing or unreadable, a ``params`` or ``tokens_per_step``
            that is not a positive number.

    Examples:
        >>> from scalefit import io
        >>> sweep = io.read_sweep(io.bundled_data("lr-scheduling-sweep") / "sweep.csv")
        >>> len(sweep), sweep.peaks, len(sweep.sizes)
        (91, [0.0001, 0.001, 0.002, 0.003], 5)
    """
    table = read_table(path)
    table.columns = [str(c).strip() for c in table.columns]
    if "path" not in table.columns:
        raise fail(path, f"no 'path' column (columns: {', '.join(table.columns)})")
    folder = Path(path).parent
    paths = [folder / str(p).strip() for p in table["path"]]
    names = curve_names(paths)
    curves, labels = [], []
    for i, row in table.iterrows():
        where = f"{path}: row {i + 2}"  # the header is line 1
        options = dict(
            loss_column=_text(row, "loss_column") or loss_column,
            log_format=_text(row, "log_format"),
            lr_from=None if _text(row, "lr_from") is None else folder / _text(row, "lr_from"),
            step_column=step_column,
            lr_column=lr_column,
            warmup_steps=warmup_steps,
        )
        try:
            runs = read_curves(paths[i], **options)
        except InputError as err:
            raise InputError(f"{where}: {err}") from None
        known = {k: _positive(row, k, where) for k in ("params", "tokens_per_step")}
        label = {k: _label(v) for k, v in row.items() if k not in SWEEP_COLUMNS}
        for run in runs:
            name = names[i] if len(runs) == 1 else f"{names[i]}/{run.name}"
            curves.append(replace(run, name=name, **known))
            labels.append(label)
    if not curves:
        raise fail(path, "no run (the file has a header and no rows)")
    try:
        return Sweep(tuple(curves), tuple(labels), str(path))
    except ValueError as err:
        raise fail(path, str(err)) from None


def _text(row: pd.Series, column: str) -> str | None:
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value).strip() or None


def _positive(row: pd.Series, column: str, where: str) -> float | None:
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise InputError(f"{where}: {column} must be a positive number, not {value!r}")
    return number


def _label(value: object) -> object:
    """A label as Python keeps it: numbers as numbers, an empty cell as ``None``."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value
