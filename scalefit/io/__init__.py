"""Reading logs and writing results: the shell between files and the functional core.

Logs become :class:`~scalefit.Curve` objects (:func:`read_curve`; a schedule alone:
:func:`read_schedule`); fits are saved and loaded as JSON (:func:`save_fit`, :func:`load_fit`);
every output is written atomically (:func:`write_csv_atomic`, :func:`save_figure`, ...).
Errors are one line that starts with the file's name (:class:`~scalefit.InputError`).
"""

from __future__ import annotations

from scalefit.io._bundled import MULTIPOWER_HELD_OUT, bundled_data
from scalefit.io._csv import (
    ALIASES,
    MAX_STEP,
    LoggedSchedule,
    find_column,
    other_loss_columns,
    read_curve,
    read_schedule,
    read_table,
)
from scalefit.io._fit_file import load_fit, save_fit
from scalefit.io._lr import JUMP_REL_CHANGE, JUMP_SLOPE_RATIO, rebuild_lr
from scalefit.io._names import curve_names
from scalefit.io._write import (
    check_figure_path,
    save_figure,
    write_bytes_atomic,
    write_csv_atomic,
    write_text_atomic,
    written,
)

__all__ = [
    "ALIASES",
    "JUMP_REL_CHANGE",
    "JUMP_SLOPE_RATIO",
    "MAX_STEP",
    "MULTIPOWER_HELD_OUT",
    "LoggedSchedule",
    "bundled_data",
    "check_figure_path",
    "curve_names",
    "find_column",
    "load_fit",
    "other_loss_columns",
    "read_curve",
    "read_schedule",
    "read_table",
    "rebuild_lr",
    "save_figure",
    "save_fit",
    "write_bytes_atomic",
    "write_csv_atomic",
    "write_text_atomic",
    "written",
]
