"""Per-step learning rates from the LRs a log holds at some of its steps."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["JUMP_REL_CHANGE", "JUMP_SLOPE_RATIO", "rebuild_lr"]

#: A change between two consecutive logged LRs can only be a jump if it exceeds this fraction of
#: the larger of the two values.
JUMP_REL_CHANGE = 0.1
#: ... and if its per-step slope exceeds this multiple of the slope of both neighbouring intervals.
JUMP_SLOPE_RATIO = 4.0


def _jumps(steps: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which intervals between consecutive logged LRs are jumps (see :func:`rebuild_lr`)."""
    change = np.abs(np.diff(values))
    slope = change / np.diff(steps)
    larger = np.maximum(np.abs(values[:-1]), np.abs(values[1:]))
    left = np.concatenate([[0.0], slope[:-1]])
    right = np.concatenate([slope[1:], [0.0]])
    return (
        (change > JUMP_REL_CHANGE * larger)
        & (slope > JUMP_SLOPE_RATIO * left)
        & (slope > JUMP_SLOPE_RATIO * right)
    )


def rebuild_lr(steps: ArrayLike, lrs: ArrayLike, n_steps: int | None = None) -> np.ndarray:
    """The per-step learning rate of a run from the LRs logged at some of its steps.

    * Between two consecutive logged steps the LR is interpolated linearly, except across a
      *jump*: a change of more than :data:`JUMP_REL_CHANGE` (10 %) of the larger of the two
      values whose per-step slope is also more than :data:`JUMP_SLOPE_RATIO` (4) times the slope
      of both neighbouring intervals (a missing neighbour counts as slope 0). Across a jump the
      earlier value holds up to the step before the later row, whose value takes effect at its
      own step. This keeps a two-stage schedule's drop (3e-4 at step 7936, 3e-5 at 8000) a
      drop, while warm-ups and smooth decays logged every few steps stay linear.
    * Before the first logged step ``s0``, a linear warm-up from 0 at step 0 to the first logged
      LR at ``s0`` is assumed.
    * After the last logged step, the last logged LR holds.

    Args:
        steps: the logged steps: integers >= 0, no repeats (any order).
        lrs: the LR logged at each of ``steps``: finite.
        n_steps: length of the result (steps ``0 .. n_steps - 1``); by default the last logged
            step + 1. Must be at least that.

    Returns:
        ``lr``, a float64 array of ``n_steps`` values, with ``lr[s] == lrs[i]`` at every logged
        step ``s = steps[i]``.

    Raises:
        ValueError: empty or mismatched inputs, repeated, negative or non-integer steps,
            non-finite LRs, or ``n_steps`` too small.

    Examples:
        >>> rebuild_lr([2, 4, 6, 8], [1.0, 2.0, 3.0, 3.0], n_steps=10).tolist()
        [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0, 3.0, 3.0]
        >>> rebuild_lr([0, 4, 6, 8], [3.0, 3.0, 1.0, 1.0], n_steps=10).tolist()
        [3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 1.0, 1.0, 1.0, 1.0]
    """
    raw_steps = np.asarray(steps, dtype=np.float64).ravel()
    values = np.asarray(lrs, dtype=np.float64).ravel()
    if raw_steps.size == 0:
        raise ValueError("no logged learning rate")
    if raw_steps.size != values.size:
        raise ValueError(f"steps and lrs differ in length ({raw_steps.size} vs {values.size})")
    if not np.all(np.isfinite(raw_steps)) or np.any(raw_steps != np.round(raw_steps)):
        raise ValueError("steps must be integers")
    if raw_steps.min() < 0:
        raise ValueError("steps must be >= 0")
    if not np.all(np.isfinite(values)):
        raise ValueError("learning rates must be finite")
    if np.any(raw_steps[1:] < raw_steps[:-1]):
        order = np.argsort(raw_steps, kind="stable")
        raw_steps, values = raw_steps[order], values[order]
    xs = raw_steps.astype(np.int64)
    if np.any(np.diff(xs) == 0):
        raise ValueError("steps must not repeat")
    last = int(xs[-1])
    n = last + 1 if n_steps is None else int(n_steps)
    if n < last + 1:
        raise ValueError(f"n_steps={n} is too small for a logged step {last}")

    lr = np.empty(n, dtype=np.float64)
    first = int(xs[0])
    lr[:first] = values[0] * np.arange(first) / first if first else 0.0
    grid = np.arange(first, last + 1)
    lr[first : last + 1] = np.interp(grid, xs, values)
    if xs.size > 1:
        for i in np.flatnonzero(_jumps(xs.astype(np.float64), values)):
            lr[xs[i] : xs[i + 1]] = values[i]
    lr[xs] = values  # exact at every logged step
    lr[last + 1 :] = values[-1]
    return lr
