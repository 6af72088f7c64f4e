"""Predicting whole loss trajectories from a :class:`~scalefit.fitting.Fit`, for any schedule.

A schedule may be a parsed spec (:class:`~scalefit.schedules.Schedule`), a logged run
(:class:`~scalefit.curve.Curve`: predicted at its logged steps) or a per-step LR array. The law's
features are computed over the whole schedule, so budgets longer than any fitted curve work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from scalefit.areas import leading_warmup
from scalefit.curve import Curve
from scalefit.fitting import Fit, evaluate, law_features
from scalefit.laws import get_law
from scalefit.metrics import CurveMetrics, curve_metrics
from scalefit.schedules import Schedule

__all__ = ["Prediction", "predict", "predicted_losses"]

_CHUNK = 8192  # rows predicted per call


@dataclass(frozen=True)
class Prediction:
    """A predicted trajectory: the loss the fit expects at ``step`` under learning rates ``lr``.

    Attributes:
        step: steps predicted at.
        lr: the schedule's LR at those steps.
        loss: predicted loss at those steps.
        name: label of the schedule (its spec, file name or ``"lr"``).
    """

    step: np.ndarray
    lr: np.ndarray
    loss: np.ndarray
    name: str = ""

    @property
    def final_loss(self) -> float:
        """Predicted loss at the last step."""
        return float(self.loss[-1])

    def to_frame(self):
        """A ``pandas.DataFrame`` with columns ``step, lr, loss``."""
        import pandas as pd

        return pd.DataFrame({"step": self.step, "lr": self.lr, "loss": self.loss})

    def compare(self, curve: Curve) -> CurveMetrics:
        """Metrics of this prediction against an observed curve, at the steps both have."""
        common, i, j = np.intersect1d(self.step, curve.step, return_indices=True)
        if common.size == 0:
            raise ValueError(f"no step of {curve.name!r} was predicted")
        return curve_metrics(curve.name, curve.loss[j], self.loss[i])


def predict(
    fit: Fit,
    schedule: Schedule | Curve | ArrayLike,
    *,
    steps: int | None = None,
    at: ArrayLike | None = None,
    warmup_steps: int | None = None,
) -> Prediction:
    """Predict the loss trajectory of ``schedule`` with the fitted law.

    Args:
        fit: a fit from :func:`scalefit.fit` (or loaded from JSON).
        schedule: a :class:`~scalefit.schedules.Schedule`, a :class:`~scalefit.curve.Curve`, or a
            per-step LR array (index = step).
        steps: for a ``Schedule``, the budget to predict (re-parametrises the schedule for ``steps``
            total steps, e.g. a longer cosine); default: the schedule's own.
        at: steps to predict at; default every step (for a ``Curve``: its logged steps).
        warmup_steps: warm-up length; default the schedule's, else the array's rising start.

    Returns:
        A :class:`Prediction`.
    """
    name = "lr"
    if isinstance(schedule, Schedule):
        if steps is not None and steps != schedule.steps:
            schedule = schedule.with_steps(steps)
        lr = schedule.lr()
        name = schedule.spec
        default_warmup = schedule.warmup
    elif isinstance(schedule, Curve):
        lr = schedule.lr
        name = schedule.name
        default_warmup = schedule.warmup_steps
        if at is None:
            at = schedule.step
    else:
        lr = np.asarray(schedule, dtype=np.float64)
        if lr.ndim != 1 or lr.size == 0:
            raise ValueError("a per-step LR array must be one-dimensional and non-empty")
        default_warmup = leading_warmup(lr)
    warmup_steps = default_warmup if warmup_steps is None else warmup_steps
    at = np.arange(lr.size) if at is None else np.asarray(at, dtype=np.int64)
    if at.size and (at.min() < 0 or at.max() >= lr.size):
        raise ValueError(f"steps to predict at must lie in 0..{lr.size - 1}")

    if at.size <= _CHUNK:
        loss = predicted_losses(fit, [lr], [at], [warmup_steps])[0]
    else:  # bounded memory: a law's per-row features can be wide (the multi-power law's are)
        padded = np.pad(at, (0, (-at.size) % _CHUNK), mode="edge").reshape(-1, _CHUNK)
        loss = np.concatenate(
            [predicted_losses(fit, [lr], [rows], [warmup_steps])[0] for rows in padded]
        )
    return Prediction(step=at, lr=lr[at], loss=loss[: at.size], name=name)


def predicted_losses(
    fit: Fit,
    lrs: Sequence[np.ndarray],
    at: Sequence[np.ndarray],
    warmup_steps: Sequence[int],
    *,
    batch: int = 64,
) -> list[np.ndarray]:
    """The fit's predicted loss for several schedules at once, each at its own steps.

    Schedules of different lengths are padded with their last LR (no law looks ahead of a step),
    so one compiled program evaluates them all, ``batch`` schedules per call.

    Args:
        fit: the fit to predict with.
        lrs: per-step LR arrays (index = step).
        at: for each schedule, the steps to predict at (each within its schedule).
        warmup_steps: for each schedule, its warm-up length.
        batch: schedules per call (bounds memory).

    Returns:
        One array of predicted losses per schedule, shaped like its ``at``.
    """
    law = get_law(fit.law)
    options = fit.law_options
    n = max(lr.size for lr in lrs)
    r = max(np.size(a) for a in at)
    lr = np.stack(
        [np.pad(np.asarray(x, np.float64), (0, n - np.size(x)), mode="edge") for x in lrs]
    )
    rows = np.stack([np.pad(np.asarray(a, np.int64), (0, r - np.size(a)), mode="edge") for a in at])
    warmup = np.asarray(warmup_steps, dtype=np.int64)
    if len(lrs) > batch:  # full batches only: one compiled program serves every call
        extra = (-len(lrs)) % batch
        lr, rows, warmup = (
            np.concatenate([x, np.repeat(x[-1:], extra, 0)]) for x in (lr, rows, warmup)
        )
    loss = np.concatenate(
        [
            evaluate(
                law,
                fit.param_vector,
                law_features(
                    law, lr[i : i + batch], rows[i : i + batch], warmup[i : i + batch], options
                ),
            )
            for i in range(0, len(lr), batch)
        ]
    )
    return [loss[j, : np.size(a)] for j, a in enumerate(at)]
