"""Lightning's ``CSVLogger``: ``<save_dir>/<name>/version_<n>/metrics.csv``, a file, a version
folder, or a folder of versions (one run each).

``metrics.csv`` has a column per logged key (the union of them all), ``step`` and ``epoch``, and
a row per log call, empty where that call did not log a key: the loss comes on rows of its own,
the LR that ``LearningRateMonitor`` logs (``lr-<Optimizer>``) on others; rows of one step are
merged.
"""

from __future__ import annotations

from pathlib import Path

from scalefit.io._csv import csv_source
from scalefit.io._errors import fail
from scalefit.io._source import Source

__all__ = ["METRICS_FILE", "is_lightning_csv", "lightning_sources"]

METRICS_FILE = "metrics.csv"


def is_lightning_csv(path: Path, columns: list[str]) -> bool:
    """A ``metrics.csv`` with ``step`` and ``epoch`` columns, or any CSV with an ``lr-<...>``
    column (what ``LearningRateMonitor`` writes)."""
    folded = {c.strip().casefold() for c in columns}
    named = path.name == METRICS_FILE and {"step", "epoch"} <= folded
    return named or any(c.startswith("lr-") for c in folded)


def lightning_folders(path: Path) -> list[Path]:
    """``path`` if it holds ``metrics.csv``, else its subfolders that do."""
    if (path / METRICS_FILE).is_file():
        return [path]
    return sorted(p.parent for p in path.glob(f"*/{METRICS_FILE}") if p.is_file())


def lightning_sources(path: Path) -> list[Source]:
    if path.is_file():
        return [csv_source(path, "lightning")]
    folders = lightning_folders(path)
    if not folders:
        raise fail(path, f"no {METRICS_FILE} here nor in a version folder")
    if folders == [path]:
        return [csv_source(path / METRICS_FILE, "lightning", path.absolute().name)]
    return [csv_source(f / METRICS_FILE, "lightning", f.name) for f in folders]
