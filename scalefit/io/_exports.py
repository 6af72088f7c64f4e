"""Charts exported as CSV from a dashboard: one series per file (or per run), the loss in a log,
the LR in a ``--lr-from`` file.

* TensorBoard's scalar download: ``Wall time,Step,Value``, one tag of one run.
* A W&B panel export: ``Step`` (the chart's x axis), then per run ``<run> - <key>`` and its
  ``__MIN`` and ``__MAX`` (the range of the points W&B merged into one when it sampled the
  series); one curve per run. W&B samples a chart's series to a few hundred to a thousand points,
  so such a file is a thinned copy of the run: its history export has every step.
"""

from __future__ import annotations

import re
from pathlib import Path

from scalefit.io._csv import csv_rows
from scalefit.io._source import Rows, Source

__all__ = ["PANEL_NOTE", "TENSORBOARD_CSV", "is_panel", "panel_sources", "tensorboard_csv_source"]

TENSORBOARD_CSV = ("Wall time", "Step", "Value")
PANEL_NOTE = (
    "a W&B panel export holds the points W&B sampled for the chart, not every logged step; "
    "export the run's history (run.history() or run.scan_history()) for all of them"
)
_PANEL_COLUMN = re.compile(r"(?P<run>.+?) - (?P<key>.+)")


def _panel_column(name: str) -> tuple[str, str] | None:
    """(run, key) of a panel's series column; ``None`` for its ``__MIN``/``__MAX`` columns."""
    found = _PANEL_COLUMN.fullmatch(name.strip())
    if found is None or name.endswith(("__MIN", "__MAX")):
        return None
    return found["run"], found["key"]


def is_panel(columns: list[str]) -> bool:
    """Whether a CSV header is a W&B panel export's: an x axis, then ``<run> - <key>`` columns."""
    rest = columns[1:]
    return bool(rest) and all(_PANEL_COLUMN.fullmatch(c.strip()) for c in rest)


def tensorboard_csv_source(path: Path) -> Source:
    def load(step_col: str, lr_col: str, loss_col: str) -> Rows:
        return csv_rows(path, step_col, lr_col, loss_col)

    return Source(path, "tensorboard-csv", None, TENSORBOARD_CSV, load, value="Value")


def panel_sources(path: Path, columns: list[str]) -> list[Source]:
    """One :class:`Source` per run of a W&B panel export, its columns the run's keys."""
    runs: dict[str, dict[str, str]] = {}
    for column in columns[1:]:
        parsed = _panel_column(column)
        if parsed is not None:
            runs.setdefault(parsed[0], {})[parsed[1]] = column
    step = columns[0]

    def source(run: str, keys: dict[str, str]) -> Source:
        def load(step_col: str, lr_col: str, loss_col: str) -> Rows:
            return csv_rows(path, step_col, keys.get(lr_col, lr_col), keys.get(loss_col, loss_col))

        value = next(iter(keys)) if len(keys) == 1 else None
        names = (step, *keys)
        return Source(path, "wandb-panel", run, names, load, value=value, notes=(PANEL_NOTE,))

    return [source(run, keys) for run, keys in runs.items()]
