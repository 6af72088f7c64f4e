"""A W&B run's history exported as JSON: a list of records (``run.history().to_json(
orient="records")``) or JSON Lines (one record a line: ``run.scan_history()`` dumped, or the
``wandb-history.jsonl`` of older runs' folders). Records hold ``_step`` (W&B's count of log
calls), ``_runtime``, ``_timestamp`` and the logged keys (``train/loss``, ``lr``, ...). The same
history exported as CSV is read as a CSV."""

from __future__ import annotations

import json
from pathlib import Path

from scalefit.io._errors import fail
from scalefit.io._frame import frame_source
from scalefit.io._source import Source

__all__ = ["wandb_json_source"]


def _records(path: Path) -> tuple[list[dict], bool]:
    """The file's records, and whether it is JSON Lines."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise fail(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(path, f"cannot read the file ({exc})") from None
    lines = text.lstrip().startswith("{")
    try:
        if lines:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            records = json.loads(text)
    except json.JSONDecodeError as exc:
        where = "" if lines else f"line {exc.lineno}: "
        raise fail(path, f"not a complete JSON file ({where}{exc.msg})") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise fail(path, "not a W&B history (a JSON list of records, or one record a line)")
    return records, lines


def wandb_json_source(path: Path) -> Source:
    records, lines = _records(path)
    label = "line" if lines else "record"
    return frame_source(path, "wandb", None, records, lambda i: f"{label} {i + 1}")
