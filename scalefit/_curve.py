"""The :class:`Curve`: one logged training run, ready for the core.

Everything downstream works on per-step arrays indexed by step number: ``lr[t]`` is the learning
rate used at step ``t`` (``t = 0 .. len(lr) - 1``), and losses are observed at a subset of steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from scalefit.areas import leading_warmup


@dataclass(frozen=True)
class Curve:
    """One training run: the per-step learning rate and the losses observed at some steps.

    Attributes:
        name: a short label (by default the file's stem).
        lr: per-step learning rate, ``lr[t]`` for every step ``t = 0 .. last step``.
        step: sorted, unique integer steps at which a loss was observed (``0 <= step < len(lr)``).
        loss: the observed losses at ``step`` (finite, positive).
        warmup_steps: length of the leading warm-up ramp: steps ``0 .. warmup_steps - 1``;
            by default the LR's rising start (:func:`~scalefit.areas.leading_warmup`), as
            :func:`scalefit.io.read_curve` finds it.
        source: where the curve came from (a path), or ``None``.
        params: the model's parameter count, where known (laws across model sizes read it).
        tokens_per_step: the tokens each step trains on (batch × sequence length), where known:
            runs that differ in it are compared per token, not per step.

    Raises:
        ValueError: arrays of the wrong shape, a step that is not a whole number within ``lr``,
            steps out of order, an LR that is negative or not finite, a loss that is not finite
            and positive, a warm-up outside the run, or a size or tokens per step that is not a
            positive number.
    """

    name: str
    lr: np.ndarray
    step: np.ndarray
    loss: np.ndarray
    warmup_steps: int | None = None
    source: str | None = field(default=None, compare=False)
    params: float | None = None
    tokens_per_step: float | None = None

    def __post_init__(self) -> None:
        lr = np.asarray(self.lr, dtype=np.float64)
        raw_step = np.asarray(self.step)
        loss = np.asarray(self.loss, dtype=np.float64)
        if lr.ndim != 1 or raw_step.ndim != 1 or loss.ndim != 1:
            raise ValueError("lr, step and loss must be one-dimensional")
        if lr.size == 0:
            raise ValueError("lr is empty: a curve needs the LR of every step")
        if raw_step.shape != loss.shape:
            raise ValueError(f"step and loss differ in length ({raw_step.size} vs {loss.size})")
        step = raw_step.astype(np.int64)
        if raw_step.size and not np.array_equal(step, raw_step):
            raise ValueError("steps must be whole numbers")
        if step.size and (step.min() < 0 or step.max() >= lr.size):
            raise ValueError("every observed step must index into lr")
        if step.size > 1 and np.any(np.diff(step) <= 0):
            raise ValueError("steps must be strictly increasing")
        if not np.all(np.isfinite(lr)) or np.any(lr < 0):
            raise ValueError("learning rates must be finite and >= 0")
        if not np.all(np.isfinite(loss)) or np.any(loss <= 0):
            raise ValueError("losses must be finite and positive")
        warmup = leading_warmup(lr) if self.warmup_steps is None else self.warmup_steps
        if isinstance(warmup, bool) or int(warmup) != warmup or not 0 <= warmup <= lr.size:
            raise ValueError(f"warmup_steps must be a whole number within the run, not {warmup!r}")
        for name in ("params", "tokens_per_step"):
            value = getattr(self, name)
            if value is not None:
                if isinstance(value, bool) or not (np.isfinite(value) and value > 0):
                    raise ValueError(f"{name} must be a positive number, not {value!r}")
                object.__setattr__(self, name, float(value))
        object.__setattr__(self, "warmup_steps", int(warmup))
        object.__setattr__(self, "lr", lr)
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "loss", loss)

    def after_warmup(self) -> Curve:
        """The same run with only the losses observed from the end of warm-up on."""
        keep = self.step >= self.warmup_steps
        if keep.all():
            return self
        return replace(self, step=self.step[keep], loss=self.loss[keep])

    @property
    def n_steps(self) -> int:
        """Number of steps the LR is known for (``len(lr)``)."""
        return int(self.lr.size)

    def __repr__(self) -> str:
        return (
            f"Curve({self.name!r}, steps=0..{self.n_steps - 1}, {self.loss.size} losses, "
            f"warmup={self.warmup_steps})"
        )
