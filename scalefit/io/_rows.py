"""From the rows a log holds, whatever its format, to a :class:`~scalefit.Curve`: rows of one
step merged, the per-step LR rebuilt, the warm-up found."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from scalefit._curve import Curve
from scalefit.areas import leading_warmup
from scalefit.io._errors import fail
from scalefit.io._lr import rebuild_lr
from scalefit.io._names import default_name

__all__ = ["LoggedSchedule", "from_rows"]


class LoggedSchedule(NamedTuple):
    """A schedule read from a log: per-step ``lr``, the file's ``step`` rows, warm-up length."""

    name: str
    lr: np.ndarray
    step: np.ndarray
    warmup_steps: int
    source: str


def from_rows(
    path: str | os.PathLike[str],
    table: pd.DataFrame,
    *,
    columns: tuple[str, str, str],
    warmup_steps: int | None,
    name: str | None,
    with_loss: bool,
    what: str = "column",
) -> Curve | LoggedSchedule:
    """The curve (or, without ``with_loss``, the schedule) of a log's rows.

    ``table`` holds one row per logged row: ``step`` (integers), ``lr`` and ``loss`` (NaN where
    the row has none); ``columns`` names the log's step, LR and loss columns (``what`` the log
    calls them: ``"column"``, ``"tag"``, ``"key"``), for messages.
    Rows of one step (a restart) are averaged, each column over its non-empty cells.
    """
    step_col, lr_col, loss_col = columns
    has_lr, has_loss = table["lr"].notna(), table["loss"].notna()
    if not has_loss.any():
        problem = f"no row has both a numeric {step_col!r} and a {loss_col!r} value"
        raise fail(path, f"no usable rows ({problem})")
    if not has_lr.any():
        raise fail(path, f"no learning-rate value in {what} {lr_col!r}")
    if not (table["lr"] > 0).any():
        raise fail(path, f"the learning rate in {what} {lr_col!r} is 0 on every row")
    merged = _merged(table)

    all_steps = merged.index.to_numpy(dtype=np.int64)
    lr_rows = merged["lr"].notna().to_numpy()
    loss_rows = merged["loss"].notna().to_numpy()
    lr_steps = all_steps[lr_rows]
    lr_values = merged["lr"].to_numpy(dtype=np.float64)[lr_rows]
    lr = rebuild_lr(lr_steps, lr_values, int(all_steps[-1]) + 1)
    warm = _warmup(path, lr, lr_steps, lr_values, warmup_steps)
    name = default_name(Path(path)) if name is None else name
    if not with_loss:
        return LoggedSchedule(name, lr, all_steps, warm, str(path))
    return Curve(
        name=name,
        lr=lr,
        step=all_steps[loss_rows],
        loss=merged["loss"].to_numpy(dtype=np.float64)[loss_rows],
        warmup_steps=warm,
        source=str(path),
    )


def _merged(table: pd.DataFrame) -> pd.DataFrame:
    """One row per step, in order: rows of one step averaged, each column over its values."""
    steps = table["step"].to_numpy()
    if np.all(steps[1:] > steps[:-1]):  # one row a step, in order (a per-step log): as it is
        return table.set_index("step")
    grouped = table.groupby("step", sort=True)
    mean, low, high = grouped.mean(), grouped.min(), grouped.max()
    return mean.where(low.ne(high), low)  # identical repeats stay bit-exact


def _warmup(path, lr, lr_steps, lr_values, warmup_steps) -> int:
    """The warm-up's length: ``warmup_steps`` if given (``lr`` then ramps over it, in place,
    unless a logged LR says otherwise), else the LR's rising start."""
    if warmup_steps is None:
        return leading_warmup(lr)
    try:
        n_warm = int(warmup_steps)
        valid = n_warm == warmup_steps and n_warm >= 0 and not isinstance(warmup_steps, bool)
    except (TypeError, ValueError, OverflowError):
        valid = False
    if not valid:
        raise fail(path, f"warmup_steps must be an integer >= 0 (got {warmup_steps!r})")
    if n_warm > lr.size:
        raise fail(path, f"warmup_steps={n_warm} is longer than the run ({lr.size} steps)")
    first = int(lr_steps[0])
    if n_warm <= first:
        lr[:n_warm] = lr_values[0] * np.arange(n_warm) / max(n_warm, 1)
        lr[n_warm:first] = lr_values[0]
    return n_warm
