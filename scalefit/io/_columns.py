"""Which column (or TensorBoard tag, or MLflow key) of a log holds the steps, the learning rate
and the loss: the names each kind goes by, and the choice among those a log has."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence

from scalefit.io._errors import fail

__all__ = ["ALIASES", "ALIAS_PATTERNS", "find_column", "list_columns", "loss_alternatives"]

#: Names recognised for each kind, case-insensitively, in order of preference: the usual column
#: names of CSV logs and W&B exports, Hugging Face's (``loss``, ``learning_rate``; ``train/...``
#: in TensorBoard and W&B), Megatron-LM's (``lm loss``, ``learning-rate``; ``lm_loss`` where a
#: writer replaced the space), NeMo's (``reduced_train_loss``), torchtitan's
#: (``loss_metrics/global_avg_loss``), Lightning's (``train_loss``, ``train_loss_step``). A real
#: step counter (``global_step``) comes before W&B's ``_step``, which counts log calls.
ALIASES: dict[str, tuple[str, ...]] = {
    "step": (
        "step",
        "iter",
        "iteration",
        "iterations",
        "global_step",
        "train/global_step",
        "trainer/global_step",
        "_step",
        "steps",
    ),
    "lr": (
        "lr",
        "learning_rate",
        "learning-rate",
        "lr-adamw",
        "train/lr",
        "train/learning_rate",
        "optimizer/lr",
    ),
    "loss": (
        "loss",
        "train_loss",
        "train/loss",
        "loss/train",
        "lm loss",
        "lm_loss",
        "reduced_train_loss",
        "loss_metrics/global_avg_loss",
        "train_loss_step",
        "val_loss",
        "val/loss",
        "eval_loss",
        "eval/loss",
        "validation_loss",
        "lm loss validation",
    ),
}

#: Patterns tried after the names of :data:`ALIASES`: Lightning's ``LearningRateMonitor`` logs
#: ``lr-<Optimizer>`` (``lr-<Optimizer>/pg1`` for the first of several parameter groups), and
#: beside it ``lr-<Optimizer>-momentum``, which is not a learning rate.
ALIAS_PATTERNS: dict[str, tuple[str, ...]] = {
    "step": (),
    "lr": (r"lr-\w+", r"lr-\w+/pg1"),
    "loss": (),
}

_LABELS = {"step": "step", "lr": "learning-rate", "loss": "loss"}
_MAX_LISTED = 20


def list_columns(columns: Sequence[str]) -> str:
    """The names, comma-separated, at most 20 of them (then how many more)."""
    shown = ", ".join(str(c) for c in columns[:_MAX_LISTED])
    if len(columns) > _MAX_LISTED:
        shown += f", ... ({len(columns) - _MAX_LISTED} more)"
    return shown or "none"


def _lookup(names: list[str], wanted: str) -> str | None:
    """``wanted`` as spelled in ``names``: an exact match, else a case-insensitive one."""
    for name in names:
        if name.strip() == wanted:
            return name
    folded = wanted.casefold()
    for name in names:
        if name.strip().casefold() == folded:
            return name
    return None


def _by_alias(names: list[str], kind: str) -> str | None:
    for alias in ALIASES[kind]:
        found = _lookup(names, alias)
        if found is not None:
            return found
    for pattern in ALIAS_PATTERNS[kind]:
        for name in names:
            if re.fullmatch(pattern, name.strip(), flags=re.IGNORECASE):
                return name
    return None


def find_column(
    columns: Iterable[str],
    kind: str,
    explicit: str | None = None,
    *,
    path: str | os.PathLike[str],
    what: str = "column",
) -> str:
    """Pick the column holding the steps, the learning rate or the loss.

    Names are matched case-insensitively, ignoring surrounding whitespace; an exact match wins
    over a case-insensitive one. Without ``explicit``, the first alias of :data:`ALIASES` [kind]
    that is present wins (then the patterns of :data:`ALIAS_PATTERNS`): for the loss, ``loss``,
    then the training-loss names (``train_loss``, ``train/loss``, ...), then the validation ones.

    Args:
        columns: the table's column names (or a TensorBoard file's tags, an MLflow run's keys).
        kind: ``"step"``, ``"lr"`` or ``"loss"``.
        explicit: a column name given by the user; overrides the aliases.
        path: the file the columns come from, for error messages.
        what: what the log calls its columns (``"tag"`` for TensorBoard), for error messages.

    Returns:
        The column's name as spelled in ``columns``.

    Raises:
        InputError: no such column (the message lists the columns that exist).
        ValueError: ``kind`` is not one of the three kinds.

    Examples:
        >>> find_column(["Step", "LR", "train/loss", "val/loss"], "loss", path="run.csv")
        'train/loss'
        >>> find_column(["Step", "LR", "train/loss", "val/loss"], "loss", "VAL/LOSS", path="r")
        'val/loss'
        >>> find_column(["step", "lr-AdamW-momentum", "lr-SGD"], "lr", path="metrics.csv")
        'lr-SGD'
    """
    if kind not in ALIASES:
        raise ValueError(f"kind must be one of {', '.join(ALIASES)} (got {kind!r})")
    names = [str(c) for c in columns]
    plural = "columns" if what == "column" else f"{what}s"
    if explicit is not None:
        found = _lookup(names, str(explicit).strip())
        if found is None:
            raise fail(path, f"no {what} {explicit!r} ({plural}: {list_columns(names)})")
        return found
    found = _by_alias(names, kind)
    if found is None:
        raise fail(
            path,
            f"no {_LABELS[kind]} {what} (looked for {', '.join(ALIASES[kind])}; "
            f"{plural}: {list_columns(names)})",
        )
    return found


def loss_alternatives(columns: Iterable[str], chosen: str) -> list[str]:
    """The columns other than ``chosen`` whose names are loss aliases too (e.g. ``val_loss``
    beside ``train_loss``): a choice the user may not know was made."""
    aliases = {a.casefold() for a in ALIASES["loss"]}
    return [c for c in columns if c != chosen and str(c).strip().casefold() in aliases]
