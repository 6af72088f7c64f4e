"""Predicting whole loss trajectories from a :class:`~scalefit.Fit`, for any schedule.

A schedule may be a parsed spec (:class:`~scalefit.schedules.Schedule`), a logged run
(:class:`~scalefit.Curve`: predicted at its logged steps) or a per-step LR array. The law's
features are computed over the whole schedule, so budgets longer than any fitted curve work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike

from scalefit._curve import Curve
from scalefit._diagnostics import NEAR_ZERO, near_zero_steps
from scalefit._errors import InputError
from scalefit._features import (
    RowFeatures,
    RunContext,
    evaluate,
    in_tokens,
    log_loss_and_gradient,
)
from scalefit._metrics import CurveMetrics, curve_metrics
from scalefit._result import Fit, recorded_options
from scalefit._uncertainty import log_sigma, z_value
from scalefit.areas import leading_warmup
from scalefit.laws import get_law
from scalefit.laws.multipower import FIXED_SHAPE_LAW, REFERENCE_LR
from scalefit.schedules import Schedule, parse_schedule, per_step_lrs

__all__ = [
    "Prediction",
    "budget_warnings",
    "first_described_step",
    "fitted_size",
    "peak_warnings",
    "tail_warnings",
    "predict",
    "predict_curves",
    "predicted_losses",
    "size_warnings",
]

_CHUNK = 8192  # rows predicted per call
_STEPS_PER_CALL = 2**20  # schedules' steps per call of predict_curves (their features' memory)
_REACH = 2.0  # how far (in LR area) past the fitted runs a prediction goes before a warning
_PEAK_REACH = 1.1  # how far (a ratio) a schedule's peak LR may lie outside the fitted peaks
_TAIL_REACH = 2.0  # how many times the fitted runs' steps near zero LR a schedule may spend...
_TAIL_SHARE = 0.01  # ...or this share of its steps, before a warning
_UNIT_MISMATCH = 30.0  # a peak this far off is likelier a unit (a multiplier) than a choice


@dataclass(frozen=True)
class Prediction:
    """A predicted trajectory: the loss the fit expects at ``step`` under learning rates ``lr``.

    Attributes:
        step: steps predicted at.
        lr: the schedule's LR at those steps.
        loss: predicted loss at those steps.
        name: label of the schedule (its spec, file name or ``"lr"``).
        lower, upper: a prediction interval at ``level`` (e.g. 0.9), when one was asked for
            (see :class:`~scalefit.Uncertainty`).
        level: the interval's coverage level, or ``None``.
        warnings: what makes this prediction doubtful (e.g. a budget far beyond the fitted ones).
        warmup_steps: the steps at the start that no law describes: the schedule's warm-up,
            whose losses the fit left out (0 for a fit made on them, ``skip_warmup=False``).
            ``loss`` holds the law's values there, which mean nothing (at step 0, a power of an
            LR area of 0); :meth:`to_frame` leaves them empty and :meth:`compare` skips them.
    """

    step: np.ndarray
    lr: np.ndarray
    loss: np.ndarray
    name: str = ""
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    level: float | None = None
    warnings: tuple[str, ...] = ()
    warmup_steps: int = 0

    @property
    def final_loss(self) -> float:
        """Predicted loss at the last step."""
        return float(self.loss[-1])

    def to_frame(self):
        """A ``pandas.DataFrame`` with columns ``step, lr, loss`` (and ``loss_lo, loss_hi`` with
        an interval); the loss is NaN (an empty cell in a CSV) at steps before
        ``warmup_steps``, inside a warm-up the fit left out, where the law's values mean nothing
        (at step 0 a power of an LR area of 0)."""
        import pandas as pd

        inside = self.step < self.warmup_steps
        columns = {"loss": self.loss}
        if self.lower is not None:
            columns.update(loss_lo=self.lower, loss_hi=self.upper)
        frame = pd.DataFrame({"step": self.step, "lr": self.lr})
        for name, values in columns.items():
            frame[name] = np.where(inside, np.nan, values)
        return frame

    def __repr__(self) -> str:  # the arrays are in to_frame()
        if self.step.size == 0:
            return f"Prediction({self.name!r}, no rows)"
        interval = "" if self.level is None else f", {self.level:g} interval"
        return (
            f"Prediction({self.name!r}, {self.step.size} rows at steps {self.step[0]}.."
            f"{self.step[-1]}, final loss {self.final_loss:.5g}{interval}, "
            f"{len(self.warnings)} warning(s))"
        )

    def renamed(self, name: str) -> Prediction:
        """The same prediction under another name."""
        return replace(self, name=name)

    def compare(self, curve: Curve) -> CurveMetrics:
        """Metrics of this prediction (and of its interval, if it has one) against an observed
        curve, at the steps both have from ``warmup_steps`` on."""
        common, i, j = np.intersect1d(self.step, curve.step, return_indices=True)
        described = common >= self.warmup_steps
        common, i, j = common[described], i[described], j[described]
        if common.size == 0:
            raise ValueError(f"no step of {curve.name!r} after the warm-up was predicted")
        if self.lower is None:
            return curve_metrics(curve.name, curve.loss[j], self.loss[i])
        return curve_metrics(curve.name, curve.loss[j], self.loss[i], self.lower[i], self.upper[i])


def predict(
    fit: Fit,
    schedule: Schedule | str | Curve | ArrayLike,
    *,
    steps: int | None = None,
    at: ArrayLike | None = None,
    warmup_steps: int | None = None,
    interval: float | None = None,
    params: float | None = None,
    tokens_per_step: float | None = None,
) -> Prediction:
    """Predict the loss trajectory of ``schedule`` with the fitted law.

    Args:
        fit: a fit from :func:`scalefit.fit` (or loaded from JSON).
        schedule: a :class:`~scalefit.schedules.Schedule` or its spec string, a
            :class:`~scalefit.Curve`, or a per-step LR array (index = step).
        steps: for a ``Schedule``, the budget to predict (re-parametrises the schedule for ``steps``
            total steps, e.g. a longer cosine); default: the schedule's own.
        at: steps to predict at; default every step (for a ``Curve``: its logged steps).
        warmup_steps: warm-up length; default the schedule's, else the array's rising start.
        interval: also give a prediction interval at this level (e.g. 0.9), from the fit's error
            model (:class:`~scalefit.Uncertainty`).
        params: the model size to predict for, for a fit across sizes (default: a ``Curve``'s
            own, else the fitted size where the fit saw one).
        tokens_per_step: the tokens each of the schedule's steps trains on, where they differ
            from the fitted runs' (default: a ``Curve``'s own, else the fitted runs'): its steps
            are then counted in the fitted runs' tokens.

    Returns:
        A :class:`Prediction`.

    Raises:
        InputError: an interval was asked of a fit without an error model.

    Examples:
        >>> from scalefit import fit, io, predict
        >>> from scalefit.schedules import parse_schedule
        >>> folder = io.bundled_data("multipower-law") / "25M"
        >>> curves = [io.read_curve(folder / f"{n}.csv") for n in ("cosine_24000", "wsdcon_9")]
        >>> wsd = parse_schedule("wsd:peak=3e-4,warmup=2160,steps=24000,decay=0.2")
        >>> p = predict(fit(curves), wsd, at=[24000], interval=0.9)
        >>> bool(p.lower[0] < p.loss[0] < p.upper[0])
        True
    """
    lr, name, default_warmup, default_at = _resolve(schedule, steps)
    warmup_steps = default_warmup if warmup_steps is None else warmup_steps
    if int(warmup_steps) != warmup_steps or not 0 <= warmup_steps <= lr.size:
        raise ValueError(f"warmup_steps must be a whole number in 0..{lr.size}")
    at = _steps_at(default_at if at is None else at, lr.size)
    size = _size_of(schedule, params)
    tokens = tokens_per_step or getattr(schedule, "tokens_per_step", None)
    loss, lower, upper = (
        None if part is None else part[0]
        for part in _predict_batched(
            fit, [lr], [at], [warmup_steps], interval=interval, sizes=[size], tokens=[tokens]
        )
    )
    return _prediction(
        fit,
        lr,
        at,
        name=name,
        loss=loss,
        lower=lower,
        upper=upper,
        level=interval,
        warmup_steps=warmup_steps,
        size=size,
    )


def _size_of(schedule: object, params: float | None) -> float | None:
    if params is not None:
        if not (np.isfinite(params) and params > 0):
            raise ValueError(f"params must be a positive number, not {params!r}")
        return float(params)
    return schedule.params if isinstance(schedule, Curve) else None


def _resolve(schedule: Schedule | str | Curve | ArrayLike, steps: int | None):
    """A schedule's per-step LRs, name, warm-up, and default steps to predict at (``None``:
    every step)."""
    if isinstance(schedule, str):
        schedule = parse_schedule(schedule)
    if steps is not None and not isinstance(schedule, Schedule):
        raise ValueError("steps re-parametrises a Schedule (or spec); a per-step array is as long")
    if isinstance(schedule, Schedule):
        if steps is not None and steps != schedule.steps:
            schedule = schedule.with_steps(steps)
        return schedule.lr(), schedule.spec, schedule.warmup, None
    if isinstance(schedule, Curve):
        return schedule.lr, schedule.name, schedule.warmup_steps, schedule.step
    lr = per_step_lrs(schedule)
    return lr, "lr", leading_warmup(lr), None


def _steps_at(at: ArrayLike | None, n_steps: int) -> np.ndarray:
    """The steps to predict at, as integers within the schedule (default: every step)."""
    given = np.arange(n_steps) if at is None else np.atleast_1d(np.asarray(at))
    steps = given.astype(np.int64)
    if given.ndim != 1 or not np.array_equal(steps, given):
        raise ValueError("steps to predict at must be whole numbers (a step or a list of them)")
    if steps.size and (steps.min() < 0 or steps.max() >= n_steps):
        raise ValueError(f"steps to predict at must lie in 0..{n_steps - 1}")
    return steps


def predict_curves(
    fit: Fit, curves: Sequence[Curve], *, interval: float | None = None
) -> list[Prediction]:
    """:func:`predict` of each logged run at its logged steps, the runs evaluated together.

    The same predictions as one :func:`predict` per curve (to rounding), from one compiled
    program for all of them instead of one per length of run: comparing laws on a sweep of runs
    of several budgets compiles a few programs, not a few per budget. Runs go through it a few
    at a time, as many as bound its memory (rows times steps); if any run was logged at more
    than 8192 steps, or at none, each is predicted alone (:func:`predict` chunks its rows).

    Args:
        fit: a fit from :func:`scalefit.fit` (or loaded from JSON).
        curves: logged runs (:class:`~scalefit.Curve`), predicted at their logged steps.
        interval: also give prediction intervals at this level, as :func:`predict` does.

    Returns:
        One :class:`Prediction` per curve, in order.

    Examples:
        >>> from scalefit import fit, io
        >>> from scalefit import predict, predict_curves
        >>> folder = io.bundled_data("multipower-law") / "25M"
        >>> runs = [io.read_curve(folder / f"{n}.csv") for n in ("wsdcon_3", "constant_72000")]
        >>> result = fit([io.read_curve(folder / "cosine_24000.csv")], "annealing")
        >>> together = predict_curves(result, runs)
        >>> bool(abs(together[1].loss - predict(result, runs[1]).loss).max() < 1e-12)
        True
    """
    curves = list(curves)
    counts = [c.step.size for c in curves]
    if len(curves) < 2 or min(counts) == 0 or max(counts) > _CHUNK:
        return [predict(fit, c, interval=interval) for c in curves]
    steps = max(c.n_steps for c in curves)
    batch = max(1, min(len(curves), _CHUNK // max(counts), _STEPS_PER_CALL // steps))
    losses, lowers, uppers = _predict_batched(
        fit,
        [c.lr for c in curves],
        [c.step for c in curves],
        [c.warmup_steps for c in curves],
        batch=batch,
        interval=interval,
        sizes=[c.params for c in curves],
        tokens=[c.tokens_per_step for c in curves],
    )
    return [
        _prediction(
            fit,
            c.lr,
            c.step,
            name=c.name,
            loss=losses[i],
            lower=None if lowers is None else lowers[i],
            upper=None if uppers is None else uppers[i],
            level=interval,
            warmup_steps=c.warmup_steps,
            size=c.params,
        )
        for i, c in enumerate(curves)
    ]


def _prediction(
    fit: Fit,
    lr: np.ndarray,
    at: np.ndarray,
    *,
    name: str,
    loss: np.ndarray,
    lower: np.ndarray | None,
    upper: np.ndarray | None,
    level: float | None,
    warmup_steps: int,
    size: float | None = None,
) -> Prediction:
    return Prediction(
        step=at,
        lr=lr[at],
        loss=loss,
        name=name,
        lower=lower,
        upper=upper,
        level=level,
        warnings=tuple(
            budget_warnings(fit, lr[: int(at.max()) + 1] if at.size else lr)
            + peak_warnings(fit, lr)
            + size_warnings(fit, size)
            + tail_warnings(fit, lr[: int(at.max()) + 1] if at.size else lr, warmup_steps)
        ),
        warmup_steps=first_described_step(fit, warmup_steps),
    )


def first_described_step(fit: Fit, warmup_steps: int) -> int:
    """The first step of a schedule that ``fit`` describes: the end of its warm-up of
    ``warmup_steps`` steps, or 0 for a fit made on warm-up rows too (``include_warmup``)."""
    return int(warmup_steps) if fit.options.get("skip_warmup", True) else 0


def budget_warnings(fit: Fit, lr: np.ndarray, name: str = "the schedule") -> list[str]:
    """Why a prediction for the per-step LRs ``lr`` is beyond the fit's reach, if it is: an LR
    area (sum of LRs) more than twice the largest fitted one (for a fit without an error model:
    more than twice the longest fitted run's steps)."""
    if fit.uncertainty is not None:
        ratio, what = float(np.sum(lr)) / fit.uncertainty.fitted_area, "LR area (sum of LRs)"
    else:
        steps = max((int(c.get("steps", 0)) for c in fit.curves), default=0)
        if not steps:
            return []
        ratio, what = np.size(lr) / steps, "length"
    if ratio <= _REACH:
        return []
    return [
        f"{name}'s {what} is {ratio:.2f}x the largest fitted run's: the prediction extrapolates "
        "far beyond the runs the fit saw; fit on a longer run to trust it"
    ]


def peak_warnings(fit: Fit, lr: np.ndarray, name: str = "the schedule") -> list[str]:
    """Why a prediction for the per-step LRs ``lr`` is beyond the fit's reach in peak LR, if it
    is: its largest LR more than 10 % outside the range of the fitted runs'. The laws are fitted
    at the peaks they saw; an LR given as a multiplier of the peak where the fit saw absolute LRs
    (or the reverse) lands here too. A held-shape fit made before fits recorded their peaks is
    flagged instead: its meaning changed with them (:func:`_unscaled_held_shape`)."""
    peaks = [float(c["peak_lr"]) for c in fit.curves if "peak_lr" in c]
    if not peaks:
        return _unscaled_held_shape(fit)
    if np.size(lr) == 0:
        return []
    peak, low, high = float(np.max(lr)), min(peaks), max(peaks)
    if low / _PEAK_REACH <= peak <= high * _PEAK_REACH:
        return []
    fitted = f"{low:.3g}" if low == high else f"{low:.3g} to {high:.3g}"
    units = (
        " (is one of them a multiplier of the peak, the other an absolute LR?)"
        if not low / _UNIT_MISMATCH <= peak <= high * _UNIT_MISMATCH
        else ""
    )
    if "log_lr_ref" in get_law(fit.law).context:  # a law across peaks: it extrapolates
        return [
            f"{name}'s peak LR is {peak:.3g}, beyond the fitted runs' {fitted}: the {fit.law} "
            f"law extrapolates there{units}"
        ]
    return [
        f"{name}'s peak LR is {peak:.3g}, the fitted runs' {fitted}: the laws do not transfer "
        f"across peak LRs (fit runs at several peaks for a law that spans them){units}"
    ]


def tail_warnings(
    fit: Fit, lr: np.ndarray, warmup_steps: int = 0, name: str = "the schedule"
) -> list[str]:
    """Why a prediction for the per-step LRs ``lr`` is beyond the fit's reach at the end of a
    decay, if it is: more steps at an LR near zero (:func:`~scalefit._diagnostics.near_zero_steps`)
    than :data:`_TAIL_REACH` times the most any fitted run logged, and more than
    :data:`_TAIL_SHARE` of its steps. Laws keep crediting steps at an LR near zero with progress
    that no fitted run measured (fits made before fits recorded these steps are not checked)."""
    fitted = [c.get("near_zero_steps") for c in fit.curves]
    if not fitted or not all(isinstance(n, int) for n in fitted):
        return []
    steps = near_zero_steps(lr, warmup_steps)
    if steps <= max(_TAIL_REACH * max(fitted), _TAIL_SHARE * np.size(lr)):
        return []
    return [
        f"{name} spends {steps} steps below {NEAR_ZERO:.0%} of its peak LR, the fitted runs at "
        f"most {max(fitted)}: the {fit.law} law extrapolates there, and the loss it credits "
        "to those steps rests on no fitted run; rank such schedules with care"
    ]


def size_warnings(fit: Fit, size: float | None, name: str = "the schedule") -> list[str]:
    """Why a prediction at model size ``size`` is beyond the fit's reach, if it is: a size
    outside those fitted (more than 1 % off), or, where the fit saw two sizes, any other size
    (the level's size exponent was held, not fitted)."""
    if size is None or "log_size" not in get_law(fit.law).context:
        return []
    sizes = sorted({float(c["params"]) for c in fit.curves if c.get("params")})
    if any(abs(size / n - 1) <= 0.01 for n in sizes):
        return []
    fitted = ", ".join(f"{n:.3g}" for n in sizes)
    if "a_N" in fit.options.get("held", ()):
        return [
            f"{name}'s model size {size:.3g} is none of the two fitted ({fitted}): the level "
            "between and beyond them rests on a held exponent; fit runs of a third size"
        ]
    if sizes[0] <= size <= sizes[-1]:
        return []
    return [f"{name}'s model size {size:.3g} is beyond the fitted ones ({fitted}): extrapolated"]


def _unscaled_held_shape(fit: Fit) -> list[str]:
    # Until 2026-12-01 the held shape's C was held in absolute LR units and fits did not record
    # their runs' peaks: such a fit file now predicts as before only if its runs peaked at the
    # reference LR.
    if fit.law != FIXED_SHAPE_LAW.name or not fit.curves:
        return []
    return [
        f"this {fit.law} fit was made by a scalefit that held C in absolute LR units (before "
        f"2026-12-01): its predictions have changed unless its runs peaked at {REFERENCE_LR:g}; "
        "refit to be sure"
    ]


def predicted_losses(
    fit: Fit,
    lrs: Sequence[np.ndarray],
    at: Sequence[np.ndarray],
    warmup_steps: Sequence[int],
    *,
    batch: int = 64,
    sizes: Sequence[float | None] | None = None,
) -> list[np.ndarray]:
    """The fit's predicted loss for several schedules at once, each at its own steps.

    Schedules of different lengths are padded with their last LR, which changes no feature at
    an earlier step (each depends on the LRs up to its step, and the multi-power law's on the
    peak LR, which the last LR does not exceed), so one compiled program evaluates them all,
    ``batch`` schedules per call.

    Args:
        fit: the fit to predict with.
        lrs: per-step LR arrays (index = step).
        at: for each schedule, the steps to predict at (each within its schedule).
        warmup_steps: for each schedule, its warm-up length.
        batch: schedules per call (bounds memory).
        sizes: for a fit across model sizes, each schedule's (default: the fitted runs' size,
            where they had one).

    Returns:
        One array of predicted losses per schedule, shaped like its ``at``.
    """
    return _predict_batched(fit, lrs, at, warmup_steps, batch=batch, sizes=sizes)[0]


def _predict_batched(
    fit, lrs, at, warmup_steps, *, batch=64, interval=None, sizes=None, tokens=None
):
    """:func:`predicted_losses`, and with ``interval`` also the interval's bounds:
    ``(losses, lowers, uppers)``, the last two ``None`` without an interval. Rows are evaluated
    :data:`_CHUNK` at a time: memory stays bounded however many are asked for."""
    if interval is not None and fit.uncertainty is None:
        raise InputError(
            "this fit has no error model (given parameters, or fitted with "
            "uncertainty=False / by an older scalefit): refit it to get intervals, or ask "
            "for none (interval=None)"
        )
    z = None if interval is None else z_value(interval, fit.uncertainty.degrees_of_freedom)
    lrs, steps, warmup_steps = _in_fitted_tokens(fit, lrs, at, warmup_steps, tokens)
    lr, rows, warmup = _stacked(lrs, steps, warmup_steps, batch)
    sizes = _sizes_for(fit, sizes, len(lrs), len(lr))
    losses, sigmas = [], []
    for i in range(0, len(lr), batch):
        part = slice(i, i + batch)
        context = RunContext.of(fit.options, sizes[part])
        loss, sigma = _predict_part(fit, lr[part], rows[part], warmup[part], context, z)
        losses.append(loss)
        sigmas.append(sigma)
    loss = np.concatenate(losses)
    trim = [loss[j, : np.size(a)] for j, a in enumerate(at)]
    if interval is None:
        return trim, None, None
    half = z * np.concatenate(sigmas)
    lower = [trim[j] * np.exp(-half[j, : np.size(a)]) for j, a in enumerate(at)]
    upper = [trim[j] * np.exp(half[j, : np.size(a)]) for j, a in enumerate(at)]
    return trim, lower, upper


def _in_fitted_tokens(fit: Fit, lrs, at, warmup_steps, tokens):
    """The schedules counted in steps of the fitted runs' reference tokens per step
    (:func:`scalefit._features.in_tokens`), where both are known; as they are otherwise."""
    ref = fit.options.get("tokens_ref")
    if not ref or tokens is None or all(t is None for t in tokens):
        return lrs, at, warmup_steps
    counted = [
        in_tokens(np.asarray(lr, np.float64), np.asarray(a, np.int64), int(w), t, ref)
        for lr, a, w, t in zip(lrs, at, warmup_steps, tokens)
    ]
    return [c[0] for c in counted], [c[1] for c in counted], [c[2] for c in counted]


def _stacked(lrs, at, warmup_steps, batch):
    """The schedules' LRs ``(S, N)``, rows ``(S, R)`` and warm-ups ``(S,)``, each padded with
    its last value, and repeated up to whole batches: one compiled program serves every call."""
    n = max(lr.size for lr in lrs)
    r = max(1, *(np.size(a) for a in at))  # a run without rows is padded, then trimmed
    r = _round_up(r, _CHUNK if r > _CHUNK else 64)  # whole chunks: one program serves them
    lr = np.stack(
        [np.pad(np.asarray(x, np.float64), (0, n - np.size(x)), mode="edge") for x in lrs]
    )
    rows = np.stack([_pad_to(np.asarray(a, np.int64), r) for a in at])
    warmup = np.asarray(warmup_steps, dtype=np.int64)
    if len(lrs) > batch:
        extra = (-len(lrs)) % batch
        lr, rows, warmup = (
            np.concatenate([x, np.repeat(x[-1:], extra, 0)]) for x in (lr, rows, warmup)
        )
    return lr, rows, warmup


def _pad_to(rows: np.ndarray, size: int) -> np.ndarray:
    """``rows`` padded with the last (or, without any, with step 0) to ``size``."""
    return np.pad(rows, (0, size - rows.size), mode="edge" if rows.size else "constant")


def fitted_size(fit: Fit) -> float | None:
    """The model size of the fitted runs, where they had one (and it was given)."""
    fitted = sorted({float(c["params"]) for c in fit.curves if c.get("params")})
    return fitted[0] if len(fitted) == 1 else None


def _sizes_for(fit: Fit, sizes, given: int, padded: int) -> list[float | None]:
    """Each schedule's model size (default: the fitted runs' size, where they had one), padded
    like the schedules."""
    default = fitted_size(fit)
    sizes = [default] * given if sizes is None else [default if n is None else n for n in sizes]
    return sizes + sizes[-1:] * (padded - given)


def _predict_part(fit: Fit, lr, rows, warmup, context: RunContext, z):
    """The predicted loss at ``rows`` of the schedules ``lr``, and with an interval's ``z`` its
    log standard error (:func:`scalefit._uncertainty.log_sigma`), :data:`_CHUNK` rows at a
    time."""
    with_sigma = z is not None
    law = get_law(fit.law)
    features = RowFeatures(law, lr, warmup, fit.law_options, context)
    rival = _rival_features(fit, lr, warmup) if with_sigma else None
    losses, sigmas = [], []
    for j in range(0, rows.shape[1], _CHUNK):
        at = rows[:, j : j + _CHUNK]
        if not with_sigma:
            losses.append(evaluate(law, fit.param_vector, features.at(at)))
            continue
        log_loss, gradient = log_loss_and_gradient(law, fit.param_vector, features.at(at))
        losses.append(np.exp(log_loss))
        gap = None
        if rival is not None:
            rival_law, rival_params, rival_features = rival
            with np.errstate(invalid="ignore", divide="ignore"):
                gap = np.log(evaluate(rival_law, rival_params, rival_features.at(at))) - log_loss
            # no law describes warm-up (fits leave it out): there the rival has nothing to say
            gap = np.where(at >= warmup[:, None], gap, 0.0)
        sigmas.append(log_sigma(fit.uncertainty, gradient, lr, at, gap, warmup))
    sigma = np.concatenate(sigmas, axis=1) if with_sigma else None
    return np.concatenate(losses, axis=1), sigma


def _rival_features(fit: Fit, lr, warmup):
    """The fit's rival law, its parameters and its features of the schedules, or ``None``."""
    rival = fit.uncertainty.rival
    if rival is None:
        return None
    law = get_law(rival["law"])
    params = np.array([rival["params"][k] for k in law.param_names])
    options = recorded_options(law, rival["options"])
    return law, params, RowFeatures(law, lr, warmup, options)


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple
