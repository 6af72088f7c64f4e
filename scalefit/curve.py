"""The :class:`Curve`: one logged training run, ready for the core.

Everything downstream works on per-step arrays indexed by step number: ``lr[t]`` is the learning
rate used at step ``t`` (``t = 0 .. len(lr) - 1``), and losses are observed at a subset of steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Curve:
    """One training run: the per-step learning rate and the losses observed at some steps.

    Attributes:
        name: a short label (by default the file's stem).
        lr: per-step learning rate, ``lr[t]`` for every step ``t = 0 .. last step``.
        step: sorted, unique integer steps at which a loss was observed (``0 <= step < len(lr)``).
        loss: the observed losses at ``step`` (finite, positive).
        warmup_steps: length of the leading warm-up ramp: steps ``0 .. warmup_steps - 1``.
        source: where the curve came from (a path), or ``None``.
    """

    name: str
    lr: np.ndarray
    step: np.ndarray
    loss: np.ndarray
    warmup_steps: int = 0
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        lr = np.asarray(self.lr, dtype=np.float64)
        step = np.asarray(self.step, dtype=np.int64)
        loss = np.asarray(self.loss, dtype=np.float64)
        if lr.ndim != 1 or step.ndim != 1 or loss.ndim != 1:
            raise ValueError("lr, step and loss must be one-dimensional")
        if step.shape != loss.shape:
            raise ValueError(f"step and loss differ in length ({step.size} vs {loss.size})")
        if step.size and (step.min() < 0 or step.max() >= lr.size):
            raise ValueError("every observed step must index into lr")
        if step.size > 1 and np.any(np.diff(step) <= 0):
            raise ValueError("steps must be strictly increasing")
        if not 0 <= self.warmup_steps <= lr.size:
            raise ValueError("warmup_steps must lie within the run")
        object.__setattr__(self, "lr", lr)
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "loss", loss)

    def after_warmup(self) -> Curve:
        """The same run with only the losses observed from the end of warm-up on."""
        keep = self.step >= self.warmup_steps
        if keep.all():
            return self
        return Curve(
            self.name, self.lr, self.step[keep], self.loss[keep], self.warmup_steps, self.source
        )

    @property
    def n_steps(self) -> int:
        """Number of steps the LR is known for (``len(lr)``)."""
        return int(self.lr.size)

    def __repr__(self) -> str:
        return (
            f"Curve({self.name!r}, steps=0..{self.n_steps - 1}, {self.loss.size} losses, "
            f"warmup={self.warmup_steps})"
        )
