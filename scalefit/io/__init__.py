"""Reading logs and writing results: the shell between files and the functional core.

Logs become :class:`~scalefit.Curve` objects (:func:`read_curve`, every run of a log:
:func:`read_curves`; a schedule alone: :func:`read_schedule`), from a CSV, a Hugging Face trainer
state, TensorBoard event files, Lightning's ``metrics.csv``, an MLflow file store or a W&B export
(:data:`LOG_FORMATS`); fits are saved and loaded as JSON (:func:`save_fit`, :func:`load_fit`;
several groups' fits in one file: :func:`save_fits`, :func:`load_fits`); every output is
written atomically (:func:`write_csv_atomic`, :func:`save_figure`, ...).
Errors are one line that starts with the file's name (:class:`~scalefit.InputError`).
"""

from __future__ import annotations

from scalefit.io._bundled import MULTIPOWER_HELD_OUT, bundled_data
from scalefit.io._columns import ALIAS_PATTERNS, ALIASES, find_column
from scalefit.io._csv import read_table
from scalefit.io._detect import LOG_FORMATS, detect_format
from scalefit.io._fit_file import load_fit, load_fits, save_fit, save_fits
from scalefit.io._lr import JUMP_REL_CHANGE, JUMP_SLOPE_RATIO, rebuild_lr
from scalefit.io._names import curve_names
from scalefit.io._read import (
    RunLog,
    other_loss_columns,
    read_curve,
    read_curves,
    read_runs,
    read_schedule,
)
from scalefit.io._rows import LoggedSchedule
from scalefit.io._source import MAX_LOSS, MAX_LR, MAX_STEP
from scalefit.io._sweep import SWEEP_COLUMNS, read_sweep
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
    "ALIAS_PATTERNS",
    "JUMP_REL_CHANGE",
    "JUMP_SLOPE_RATIO",
    "LOG_FORMATS",
    "MAX_LOSS",
    "MAX_LR",
    "MAX_STEP",
    "MULTIPOWER_HELD_OUT",
    "SWEEP_COLUMNS",
    "LoggedSchedule",
    "RunLog",
    "bundled_data",
    "check_figure_path",
    "curve_names",
    "detect_format",
    "find_column",
    "load_fit",
    "load_fits",
    "other_loss_columns",
    "read_curve",
    "read_curves",
    "read_runs",
    "read_schedule",
    "read_sweep",
    "read_table",
    "rebuild_lr",
    "save_figure",
    "save_fit",
    "save_fits",
    "write_bytes_atomic",
    "write_csv_atomic",
    "write_text_atomic",
    "written",
]
