"""MLflow's file store (``mlruns/``): a run folder, an experiment folder of runs, or the whole
store (every experiment's runs; runs marked deleted are left out).

A run folder holds ``meta.yaml``, ``tags/`` and ``metrics/<key>``: one file per metric key (a key
with ``/`` is a file in subfolders), one line ``<timestamp> <value> <step>`` per logged value. A
run is named by its ``mlflow.runName`` tag (or ``run_name`` in ``meta.yaml``), else its id.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from scalefit.io._errors import fail
from scalefit.io._source import Cells, Rows, Source

__all__ = ["is_mlflow_run", "mlflow_runs", "mlflow_sources"]


def is_mlflow_run(folder: Path) -> bool:
    return (folder / "metrics").is_dir() and (folder / "meta.yaml").is_file()


def _meta(folder: Path, key: str) -> str | None:
    """A top-level ``key: value`` of the folder's ``meta.yaml`` (what MLflow writes there is
    flat)."""
    try:
        text = (folder / "meta.yaml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    found = re.search(rf"^{key}:[ \t]*(.*?)[ \t]*$", text, flags=re.MULTILINE)
    return found.group(1).strip("'\"") or None if found else None


def _run_name(folder: Path) -> str:
    tag = folder / "tags" / "mlflow.runName"
    if tag.is_file():
        name = tag.read_text(encoding="utf-8", errors="replace").strip()
        if name:
            return name
    return _meta(folder, "run_name") or folder.name


def mlflow_runs(path: Path) -> list[Path]:
    """The run folders of ``path``: itself, its runs (an experiment), or its experiments' runs
    (``mlruns``), leaving out deleted runs, in the order they started."""
    if is_mlflow_run(path):
        return [path]
    runs = [p for p in sorted(path.iterdir()) if p.is_dir() and is_mlflow_run(p)]
    if not runs:
        experiments = [p for p in sorted(path.iterdir()) if p.is_dir() and p.name != ".trash"]
        runs = [r for e in experiments for r in sorted(e.iterdir()) if is_mlflow_run(r)]
    runs = [r for r in runs if _meta(r, "lifecycle_stage") != "deleted"]
    return sorted(runs, key=_started)


def _started(run: Path) -> tuple[float, str]:
    """When the run started (``start_time`` in ``meta.yaml``): runs come in the order they ran."""
    start = _meta(run, "start_time") or ""
    return (float(start) if start.isdigit() else float("inf"), run.name)


def _metric(path: Path, file: Path) -> tuple[np.ndarray, np.ndarray]:
    """A metric file's steps and values."""
    try:
        frame = pd.read_csv(file, sep=" ", header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return np.zeros(0), np.zeros(0)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        raise fail(file, f"not an MLflow metric file ({lines[-1]})") from None
    if frame.shape[1] != 3:
        raise fail(file, "not an MLflow metric file (lines must be: timestamp value step)")
    value = pd.to_numeric(frame[1].str.strip(), errors="coerce").to_numpy(dtype=np.float64)
    step = pd.to_numeric(frame[2], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(step) | (np.isnan(value) & ~frame[1].str.strip().str.lower().eq("nan"))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise fail(
            file, f"line {k + 1}: not 'timestamp value step' (got {' '.join(frame.iloc[k])!r})"
        )
    return step, value


def _source(folder: Path, run: str | None) -> Source:
    metrics = folder / "metrics"
    keys = sorted(p.relative_to(metrics).as_posix() for p in metrics.rglob("*") if p.is_file())

    def load(step_col: str, lr_col: str, loss_col: str) -> Rows:
        del step_col  # the step of each value
        keys_read = list(dict.fromkeys((loss_col, lr_col)))
        read = [_metric(folder, metrics / k) for k in keys_read]
        owner = np.repeat(np.arange(len(keys_read)), [s.size for s, _ in read])
        line = np.concatenate([np.arange(s.size) + 1 for s, _ in read])
        step = np.concatenate([s for s, _ in read])
        value = np.concatenate([v for _, v in read])

        def cells(key: str) -> Cells:
            mine = owner == keys_read.index(key)
            return Cells(np.where(mine, value, np.nan), mine)

        def locate(i: int) -> str:
            return f"metrics/{keys_read[owner[i]]} line {line[i]}"

        return Rows(Cells.numbers(step), cells(lr_col), cells(loss_col), locate)

    return Source(folder, "mlflow", run, tuple(keys), load, what="key", step_column="step")


def mlflow_sources(path: Path) -> list[Source]:
    """One :class:`Source` per run of ``path`` (see :func:`mlflow_runs`), named by the run."""
    runs = mlflow_runs(path)
    if not runs:
        raise fail(path, "no MLflow run here (a run folder holds meta.yaml and metrics/)")
    names = [_run_name(r) for r in runs]
    clash = {n for n in names if names.count(n) > 1}
    names = [f"{n} ({r.name[:8]})" if n in clash else n for n, r in zip(names, runs)]
    return [_source(r, n) for r, n in zip(runs, names)]
