"""Forecasting a run in flight: fit the part logged so far, predict the rest of its plan.

The law is fitted on the losses logged up to now, with the LRs actually used; the rest of the run
follows the planned schedule. The prediction carries an interval from the fit's error model,
which widens with the distance from the logged part (:mod:`scalefit._uncertainty`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike

from scalefit._curve import Curve
from scalefit._diagnostics import anneals, at_bounds, decays, unidentified
from scalefit._errors import InputError
from scalefit._fit import fit
from scalefit._predict import Prediction, budget_warnings, predict
from scalefit._result import Fit
from scalefit._uncertainty import level_label
from scalefit.laws import FORECAST_LAW, Law, get_law
from scalefit.schedules import Schedule, parse_schedule

__all__ = ["MAX_WIDTH", "Forecast", "ForecastRefused", "forecast"]

_PLAN_MISMATCH = 0.05
MAX_WIDTH = 0.05
"""The widest interval, relative to the loss, at which :func:`forecast` still forecasts."""


@dataclass(frozen=True)
class Forecast:
    """A run's predicted future.

    Attributes:
        fit: the law fitted on the logged part.
        prediction: the predicted loss over the whole planned run (with an interval).
        logged: the part of the run logged so far (the fitted rows).
        warnings: what makes the forecast doubtful.
    """

    fit: Fit
    prediction: Prediction
    logged: Curve
    warnings: tuple[str, ...] = ()

    @property
    def logged_until(self) -> int:
        """The last logged step."""
        return int(self.logged.step[-1])

    @property
    def final_step(self) -> int:
        """The last step predicted (by default the end of the plan)."""
        return int(self.prediction.step[-1])

    @property
    def final_loss(self) -> float:
        """The predicted loss at :attr:`final_step`."""
        return self.prediction.final_loss

    def table(self, n: int = 4) -> str:
        """Predicted loss (and interval) at ``n`` evenly spaced steps after the logged part."""
        p = self.prediction
        future = np.flatnonzero(p.step > self.logged_until)
        head = f"{'step':>9}  {'of plan':>7}  {'loss':>8}"
        if p.lower is not None:
            head += f"  {f'{level_label(p.level)} interval':>19}"
        lines = [head]
        if future.size == 0:
            return head
        picks = future[np.unique(np.linspace(0, future.size - 1, n).round().astype(int))]
        for i in picks:
            line = f"{p.step[i]:>9d}  {p.step[i] / self.final_step:>7.0%}  {p.loss[i]:>8.4f}"
            if p.lower is not None:
                line += f"  [{p.lower[i]:.4f}, {p.upper[i]:.4f}]"
            lines.append(line)
        return "\n".join(lines)

    def summary(self) -> str:
        """One line: how far the run is, and the forecast final loss with its interval."""
        p = self.prediction
        head = (
            f"{self.logged.name}: logged to step {self.logged_until} of {self.final_step} "
            f"({self.logged_until / self.final_step:.0%}); the {self.fit.law} law fitted on "
            f"{self.fit.curves[0]['rows']} losses forecasts {self.final_loss:.4f} at the end"
        )
        if p.lower is not None:
            head += f" ({level_label(p.level)} interval {p.lower[-1]:.4f} to {p.upper[-1]:.4f})"
        return head

    def __str__(self) -> str:
        lines = [self.summary(), self.table()]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    __repr__ = __str__


def forecast(
    run: Curve,
    plan: Schedule | str | ArrayLike,
    *,
    law: str | Law = FORECAST_LAW,
    interval: float | None = 0.9,
    at: ArrayLike | None = None,
    prior: Fit | None = None,
    **fit_options: object,
) -> Forecast:
    """Forecast the rest of ``run`` under its planned schedule ``plan``, or refuse to guess.

    The law is fitted on the logged losses. A forecast is refused
    (:class:`~scalefit.ForecastRefused`, with the reason and what would make one possible) when the
    log cannot determine the rest of the plan: the plan decays but nothing logged decays yet (the LR
    below 90 % of its peak on a sustained share of the steps, with losses logged there), a parameter
    of the fit sits on a bound (an annealing parameter counts only if the log or the plan decays:
    otherwise it plays no part), or the interval at the end is wider than 5 % of the loss
    (``MAX_WIDTH``). A ``prior`` (a fit of earlier runs of the same setup and law) lends the
    parameters the log cannot determine instead (``scalefit.fit``'s ``borrow``).

    Args:
        run: the run so far: its logged losses (every row is fitted) and LRs.
        plan: the whole run's schedule: a :class:`~scalefit.schedules.Schedule`, its spec
            string, or per-step LRs; it must reach past the last logged step. Where the logged
            LR is known it is used, the plan after it.
        law: the law to fit (default :data:`scalefit.laws.FORECAST_LAW`, the law ``scalefit
            fit`` defaults to).
        interval: level of the prediction interval (``None``: no interval; the width check
            then uses a 90 % one).
        at: steps to predict at (default: every step of the plan).
        prior: a fit of earlier runs of the same setup, to borrow from.
        **fit_options: passed to :func:`scalefit.fit`.

    Returns:
        A :class:`Forecast`.

    Raises:
        ForecastRefused: the log cannot determine the rest of the plan (the message says why).
        InputError: the plan ends before the logged part, or nothing was logged after warm-up.
    """
    logged, lr, warnings = _logged_and_planned(run, plan)
    now = int(logged.step[-1])
    law = get_law(law)
    where = run.source or run.name
    rest_decays = bool(decays(lr[now + 1 :], peak=float(lr[: now + 1].max())).any())
    unknown = list(law.annealing_params) if rest_decays and not anneals(logged) else []
    if unknown and prior is None:
        raise ForecastRefused(
            f"{where}: no forecast: the plan decays after step {now} but nothing logged so far "
            f"does, so a fit of this log cannot tell how the loss answers a decay "
            f"({', '.join(unknown)} not determined); {_ADVICE}"
        )
    # nothing logged or planned decays: the annealing parameters play no part in the forecast
    idle = () if rest_decays or anneals(logged) else law.annealing_params
    fitted = _fitted(logged, law, prior, unknown, where, fit_options, idle)
    warnings += [w for w in fitted.warnings if rest_decays or w != unidentified(law)]
    level = 0.9 if interval is None else interval
    prediction = predict(fitted, lr, at=at, warmup_steps=run.warmup_steps, interval=level)
    _check_width(prediction, where, level)
    if interval is None:
        prediction = replace(prediction, lower=None, upper=None, level=None)
    ahead = lr[: int(prediction.step.max()) + 1]
    budget = budget_warnings(fitted, ahead)
    if budget:  # in a forecast's words
        reach = float(np.sum(ahead)) / np.sum(lr[: now + 1])
        warnings.append(
            f"the forecast reaches {reach:.1f}x the LR area logged so far: this far ahead it is "
            "rough (see how wide the interval grows); forecast again later in the run"
        )
    warnings += [w for w in prediction.warnings if w not in budget]
    if fitted.uncertainty is not None:
        warnings += [f"interval: {note}" for note in fitted.uncertainty.notes]
    return Forecast(fitted, prediction.renamed(f"{run.name} (forecast)"), logged, tuple(warnings))


_ADVICE = (
    "pass a fit of earlier runs of the same setup and law to borrow what the log lacks "
    "(--prior FIT.json; in Python, prior=), or forecast once more of the run is logged"
)


class ForecastRefused(InputError):
    """What has been logged cannot determine the rest of the plan: the message says why, and
    what to log or pass (a fit of earlier runs, ``prior``) to get a forecast."""


def _logged_and_planned(run: Curve, plan) -> tuple[Curve, np.ndarray, list[str]]:
    """The logged part of the run, its LRs joined to the plan's after its last step, and a
    warning where the logged LRs depart from the plan."""
    plan = parse_schedule(plan) if isinstance(plan, str) else plan
    planned = plan.lr() if isinstance(plan, Schedule) else np.asarray(plan, dtype=np.float64)
    if run.loss.size == 0:
        raise InputError(f"{run.source or run.name}: no logged loss to forecast from")
    now = int(run.step[-1])
    if planned.size <= now + 1:
        raise InputError(
            f"{run.source or run.name}: the plan ends at step {planned.size - 1}, not after the "
            f"last logged step {now}: nothing to forecast"
        )
    warnings = []
    known = min(run.n_steps, now + 1)
    lr = np.concatenate([run.lr[:known], planned[known:]])
    after = np.arange(run.warmup_steps, known)
    if after.size:
        gap = np.abs(run.lr[after] - planned[after]) / np.maximum(planned[after], 1e-300)
        if gap.max() > _PLAN_MISMATCH:
            k = int(after[np.argmax(gap)])
            warnings.append(
                f"the logged LR departs from the plan (step {k}: logged {run.lr[k]:.3g}, "
                f"planned {planned[k]:.3g}); the forecast uses the logged LRs up to step {now}"
            )
    logged = replace(run, lr=lr)
    return logged, lr, warnings


def _fitted(
    logged: Curve, law: Law, prior, unknown: list[str], where: str, options, idle=()
) -> Fit:
    """The law fitted on the log, borrowing from ``prior`` what the log cannot determine: the
    ``unknown`` parameters, and any that the fit leaves on a bound (but the ``idle`` ones,
    which play no part in the forecast)."""
    borrow = {"prior": prior, "borrow": unknown} if unknown else {}
    fitted = fit(logged, law, **borrow, **options)
    bound = [n for n in at_bounds(fitted) if n not in idle]
    if bound and prior is not None:
        fitted = fit(logged, law, prior=prior, borrow=[*unknown, *bound], **options)
        bound = [n for n in at_bounds(fitted) if n not in idle]
    if bound:
        values = ", ".join(f"{n} = {fitted.params[n]:.3g}" for n in bound)
        raise ForecastRefused(
            f"{where}: no forecast: fitted to this log, {values} sits on its bound: the log "
            f"does not determine {'it' if len(bound) == 1 else 'them'}; {_ADVICE}"
        )
    return fitted


def _check_width(prediction: Prediction, where: str, level: float) -> None:
    """Refuse a forecast whose interval at its last step is wider than ``MAX_WIDTH``."""
    if prediction.lower is None or prediction.step.size == 0:
        return
    width = (prediction.upper[-1] - prediction.lower[-1]) / prediction.loss[-1]
    if not width <= MAX_WIDTH:
        raise ForecastRefused(
            f"{where}: no forecast: its {level_label(level)} interval at step "
            f"{int(prediction.step[-1])} spans {width:.1%} of the loss (more than "
            f"{MAX_WIDTH:.0%}): the log cannot pin the rest of the plan down; {_ADVICE}"
        )
