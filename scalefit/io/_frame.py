"""Logs whose rows come as records (JSON objects): a table of one row per record, and a
:class:`Source` of its columns."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from scalefit.io._source import Cells, Rows, Source

__all__ = ["frame_source"]


def frame_source(
    path: Path,
    format: str,
    run: str | None,
    records: list[dict],
    locate: Callable[[int], str],
) -> Source:
    """A :class:`Source` of ``records``: one row each, a column per key any record has."""
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(str(k) for k in record))

    def column(name: str) -> tuple[np.ndarray, np.ndarray]:
        numbers = np.full(len(records), np.nan)
        given = np.zeros(len(records), dtype=bool)
        text = [""] * len(records)
        for i, record in enumerate(records):
            value = record.get(name)
            if value is None:
                continue
            given[i] = True
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                numbers[i] = float(value)
            text[i] = str(value)
        return Cells(numbers, given), text

    def load(step_col: str, lr_col: str, loss_col: str) -> Rows:
        loaded = {c: column(c) for c in dict.fromkeys((step_col, lr_col, loss_col))}
        by_kind = {"step": step_col, "lr": lr_col, "loss": loss_col}
        return Rows(
            loaded[step_col][0],
            loaded[lr_col][0],
            loaded[loss_col][0],
            locate,
            lambda kind, i: loaded[by_kind[kind]][1][i],
        )

    return Source(path, format, run, tuple(columns), load)
