"""What every reader gives: a :class:`Source`, one run's logged series with the names they go
by, whose chosen columns load as :class:`Rows`; and the one check of those rows' numbers, whatever
the format, that turns them into the step/lr/loss table :func:`~scalefit.io._rows.from_rows`
takes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from scalefit.io._errors import fail
from scalefit.schedules import MAX_STEPS

__all__ = ["MAX_LOSS", "MAX_LR", "MAX_STEP", "Cells", "Rows", "Source", "checked_table"]

#: Largest step accepted, the last step of the longest schedule spec
#: (:data:`scalefit.schedules.MAX_STEPS`): a run's per-step LR array has ``last step + 1`` entries.
MAX_STEP = MAX_STEPS

MAX_LR = 1e3
"""Largest learning rate a log may hold. Adam's step moves each weight by about the LR, and the
largest LRs in use anywhere (SGD with LARS on huge batches) are about 10 to 30; a value above 1,000
is a wrong column, a unit slip or corrupt data, and the schedule features of a long run (sums of
LRs over up to 10^7 steps, and their powers) stay far from overflow below it."""

MAX_LOSS = 1e4
"""Largest loss a log may hold. A language model's per-token cross-entropy starts near
``ln(vocabulary)`` (about 10 to 12 nats; 15 to 17 in bits) and a diverging run rarely logs more
than a few times that; 10,000 leaves room for any loss in nats or bits (or a summed loss over a
short sequence) while refusing what cannot be a loss (a step count, a token count, a corrupt
value such as 1e308, on which the fit's arithmetic overflows)."""


@dataclass(frozen=True)
class Cells:
    """A column's values (float64; NaN where a cell is empty or not a number, always NaN where
    it is empty) and which cells are not empty (``given``)."""

    values: np.ndarray
    given: np.ndarray

    @classmethod
    def numbers(cls, values: np.ndarray) -> Cells:
        """Cells of numbers, NaN where there is none (nothing was logged)."""
        values = np.asarray(values, dtype=np.float64)
        return cls(values, ~np.isnan(values))


@dataclass(frozen=True)
class Rows:
    """The chosen columns of a log, row by row in the file's order.

    ``locate(i)`` says where row ``i`` is (``"line 12"``, ``"tag 'lm loss', step 300"``), and
    ``shown(kind, i)`` the cell as logged (its text), for error messages; ``kind`` is ``"step"``,
    ``"lr"`` or ``"loss"``.
    """

    step: Cells
    lr: Cells
    loss: Cells
    locate: Callable[[int], str]
    shown: Callable[[str, int], str] | None = None


Loader = Callable[[str, str, str], Rows]
"""``load(step_column, lr_column, loss_column) -> Rows``."""


@dataclass(frozen=True)
class Source:
    """One run's log, as a reader found it, before its columns are chosen.

    Attributes:
        path: the file or folder it was read from, for messages.
        format: the format's name (a key of :data:`scalefit.io.LOG_FORMATS`).
        run: the run's name where the path holds several runs (or names it), else ``None``.
        columns: the names a step, LR or loss may be chosen from: columns, tags or keys.
        load: loads the chosen columns as :class:`Rows`.
        what: what the format calls a column (``"column"``, ``"tag"``, ``"key"``).
        step_column: for formats that log a step with every value (TensorBoard, MLflow), its
            name; ``None`` where the step is a column to choose.
        value: for exports of a single series (TensorBoard's scalar CSV, a W&B panel), the
            column holding it: the loss in a log, the LR in a ``--lr-from`` file.
        notes: what a user should know about this source (e.g. it was downsampled).
    """

    path: Path
    format: str
    run: str | None
    columns: tuple[str, ...]
    load: Loader = field(repr=False)
    what: str = "column"
    step_column: str | None = None
    value: str | None = None
    notes: tuple[str, ...] = ()


def _short(cell: str, width: int = 30) -> str:
    """``repr`` of a cell, stripped and shortened to about ``width`` characters."""
    cell = cell.strip()
    return repr(cell if len(cell) <= width else cell[: width - 3] + "...")


def checked_table(
    path: Path,
    rows: Rows,
    columns: tuple[str, str, str],
    *,
    with_loss: bool,
    what: str = "column",
) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows with a step, as numbers (``step``, ``lr``, ``loss``; NaN where a row has none),
    and their indices in ``rows``; a value that cannot be a step, an LR or a loss is an error
    naming its place.

    Without ``with_loss`` (a schedule) the loss column is not checked and every row counts.
    """
    step_col, lr_col, loss_col = columns
    keep = np.flatnonzero(rows.step.given & ~np.isnan(rows.step.values))
    every = keep.size == rows.step.values.size  # no copies of a long log's columns then

    def kept(values: np.ndarray) -> np.ndarray:
        return values if every else values[keep]

    step = kept(rows.step.values)
    lr, lr_given = kept(rows.lr.values), kept(rows.lr.given)
    loss, loss_given = kept(rows.loss.values), kept(rows.loss.given)

    def check(bad: np.ndarray, kind: str, values: np.ndarray, what: str) -> None:
        if np.any(bad):
            k = int(keep[np.flatnonzero(bad)[0]])
            shown = rows.shown(kind, k) if rows.shown else repr(float(values[k]))
            raise fail(path, f"{rows.locate(k)}: {what} (got {_short(shown)})")

    step_bad = ~np.isfinite(step) | (step != np.round(step)) | (step < 0)
    check(step_bad, "step", rows.step.values, f"step {what} {step_col!r} must hold integers >= 0")
    check(step > MAX_STEP, "step", rows.step.values, f"step is larger than {MAX_STEP:,}")
    lr_what = f"learning rate in {what} {lr_col!r}"
    check(lr_given & ~np.isfinite(lr), "lr", rows.lr.values, f"{lr_what} is not a finite number")
    check(lr_given & (lr < 0), "lr", rows.lr.values, f"{lr_what} is negative")
    check(lr_given & (lr > MAX_LR), "lr", rows.lr.values, f"{lr_what} is above {MAX_LR:g}")
    if with_loss:
        loss_what, values = f"loss in {what} {loss_col!r}", rows.loss.values
        check(
            loss_given & ~np.isfinite(loss), "loss", values, f"{loss_what} is not a finite number"
        )
        check(loss_given & (loss <= 0), "loss", values, f"{loss_what} is not > 0")
        check(loss_given & (loss > MAX_LOSS), "loss", values, f"{loss_what} is above {MAX_LOSS:g}")
    else:  # a schedule: every row counts
        loss = np.ones_like(loss)
    # a value not given is NaN already (Cells)
    table = pd.DataFrame({"step": step.astype(np.int64), "lr": lr, "loss": loss}, copy=False)
    return table, keep
