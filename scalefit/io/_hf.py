"""Hugging Face Trainer logs: ``trainer_state.json`` (its ``log_history``), a checkpoint folder
holding one, or a Trainer's output folder of checkpoints (the latest one's, which holds the whole
history up to it).

Training entries of ``log_history`` hold ``loss``, ``learning_rate``, ``grad_norm``, ``epoch`` and
``step``; evaluation entries ``eval_loss`` (and ``eval_*`` timings) and ``step``, in dicts of their
own; rows of one step are merged. The summary entry the Trainer adds at the end (``train_loss``,
the run's mean, with ``train_runtime``) is left out: it is no point of the curve.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from scalefit.io._errors import fail
from scalefit.io._frame import frame_source
from scalefit.io._source import Source

__all__ = ["STATE_FILE", "hf_source", "latest_state"]

STATE_FILE = "trainer_state.json"


def latest_state(folder: Path) -> Path | None:
    """The ``trainer_state.json`` of a checkpoint folder, or of the latest checkpoint in a
    Trainer's output folder (``checkpoint-<step>``); ``None`` if there is none."""
    if (folder / STATE_FILE).is_file():
        return folder / STATE_FILE
    checkpoints = [
        (int(m.group(1)), p)
        for p in folder.glob(f"checkpoint-*/{STATE_FILE}")
        if (m := re.fullmatch(r"checkpoint-(\d+)", p.parent.name))
    ]
    return max(checkpoints)[1] if checkpoints else None


def _entries(path: Path) -> list[dict]:
    """``log_history`` of the state file at ``path``."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise fail(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(path, f"cannot read the file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise fail(path, f"not a complete JSON file (line {exc.lineno}: {exc.msg})") from None
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list) or not all(isinstance(e, dict) for e in history):
        raise fail(path, "not a Hugging Face trainer state (no 'log_history' list of entries)")
    return history


def hf_source(path: Path) -> Source:
    """The run of a ``trainer_state.json`` file or of a folder holding one (see the module)."""
    state = latest_state(path) if path.is_dir() else path
    if state is None:
        raise fail(path, f"no {STATE_FILE} here nor in a checkpoint-* folder")
    history = _entries(state)
    kept = [i for i, e in enumerate(history) if "train_runtime" not in e]
    if not kept:
        raise fail(state, "the trainer state's 'log_history' holds no logged step")
    records = [history[i] for i in kept]
    folder = state.parent.absolute()
    if folder.name.startswith("checkpoint-"):
        folder = folder.parent
    run = folder.name or None if state.name == STATE_FILE else None  # else: the file's name
    return frame_source(
        state, "hf-trainer", run, records, lambda i: f"log_history entry {kept[i] + 1}"
    )
