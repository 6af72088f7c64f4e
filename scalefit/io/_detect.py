"""Which format a log is in, from what the path is (its name, a folder's layout, a file's first
bytes or columns), and the runs it holds, read by that format's reader."""

from __future__ import annotations

from pathlib import Path

from scalefit.io._csv import csv_columns, csv_source
from scalefit.io._errors import fail
from scalefit.io._exports import TENSORBOARD_CSV, is_panel, panel_sources, tensorboard_csv_source
from scalefit.io._hf import STATE_FILE, hf_source, latest_state
from scalefit.io._lightning import is_lightning_csv, lightning_folders, lightning_sources
from scalefit.io._mlflow import mlflow_runs, mlflow_sources
from scalefit.io._source import Source
from scalefit.io._tensorboard import EVENT_GLOB, is_event_file, tensorboard_sources
from scalefit.io._wandb import wandb_json_source

__all__ = ["LOG_FORMATS", "detect_format", "open_sources"]

LOG_FORMATS: dict[str, str] = {
    "csv": "a CSV with step, LR and loss columns",
    "hf-trainer": f"Hugging Face Trainer's {STATE_FILE}, or a checkpoint or output folder",
    "tensorboard": "TensorBoard event files: a file, a folder of them, a folder of run folders",
    "tensorboard-csv": "a TensorBoard scalar downloaded as CSV (Wall time,Step,Value)",
    "lightning": "Lightning CSVLogger's metrics.csv, a version folder, a folder of versions",
    "mlflow": "an MLflow file store: a run folder, an experiment folder, or mlruns",
    "wandb": "a W&B run history exported as CSV or JSON (_step, train/loss, lr, ...)",
    "wandb-panel": "a W&B chart exported as CSV (Step, '<run> - <key>' columns)",
}
"""The formats :func:`scalefit.io.read_curves` reads, by the name ``log_format`` takes."""

_JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


def _folder_format(path: Path) -> str:
    if latest_state(path) is not None:
        return "hf-trainer"
    if any(True for _ in path.rglob(EVENT_GLOB)):
        return "tensorboard"
    if mlflow_runs(path):
        return "mlflow"
    if lightning_folders(path):
        return "lightning"
    raise fail(
        path,
        f"a folder holding no log scalefit reads (looked for {STATE_FILE}, {EVENT_GLOB}, "
        "MLflow runs (meta.yaml and metrics/), Lightning's metrics.csv)",
    )


def _json_format(path: Path) -> str:
    """A trainer state (its sorted keys put ``log_history`` near the start), else a W&B history."""
    if path.name == STATE_FILE:
        return "hf-trainer"
    try:
        with open(path, "rb") as file:
            head = file.read(65536)
    except OSError:
        return "wandb"  # its reader says what is wrong
    return "hf-trainer" if b'"log_history"' in head else "wandb"


def _csv_format(path: Path) -> str:
    columns = csv_columns(path)
    stripped = [c.strip() for c in columns]
    if tuple(stripped) == TENSORBOARD_CSV:
        return "tensorboard-csv"
    if is_panel(stripped):
        return "wandb-panel"
    if is_lightning_csv(path, columns):
        return "lightning"
    if {"_step", "_runtime", "_timestamp"} & {c.casefold() for c in stripped}:
        return "wandb"
    return "csv"


def detect_format(path: Path) -> str:
    """The format of the log at ``path`` (a key of :data:`LOG_FORMATS`)."""
    if not path.exists():
        raise fail(path, "no such file or folder")
    if path.is_dir():
        return _folder_format(path)
    if is_event_file(path):
        return "tensorboard"
    if path.suffix.lower() in _JSON_SUFFIXES:
        return _json_format(path)
    return _csv_format(path)


def open_sources(path: Path, log_format: str | None = None) -> list[Source]:
    """The runs of the log at ``path``, read as ``log_format`` (default: :func:`detect_format`)."""
    if log_format is not None and log_format not in LOG_FORMATS:
        raise fail(path, f"unknown log format {log_format!r} (known: {', '.join(LOG_FORMATS)})")
    fmt = log_format or detect_format(path)
    if not path.exists():
        raise fail(path, "no such file or folder")
    if fmt == "hf-trainer":
        return [hf_source(path)]
    if fmt == "tensorboard":
        return tensorboard_sources(path)
    if fmt == "mlflow":
        return mlflow_sources(path)
    if fmt == "lightning":
        return lightning_sources(path)
    if path.is_dir():
        raise fail(path, f"is a folder, not a {fmt} file")
    if fmt == "wandb" and path.suffix.lower() in _JSON_SUFFIXES:
        return [wandb_json_source(path)]
    if fmt == "tensorboard-csv":
        return [tensorboard_csv_source(path)]
    if fmt == "wandb-panel":
        return panel_sources(path, csv_columns(path))
    return [csv_source(path, fmt)]
