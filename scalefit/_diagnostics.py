"""What makes a fit doubtful: checks run on every fit, each warning with its reason and a fix.

* the minimiser did not converge;
* a parameter sits on a bound (its term plays no part);
* no fitted curve anneals, so the annealing parameters are not identified;
* too few observed losses for the parameters;
* the residuals show structure: the law misses the loss after an LR drop systematically.

A prediction far beyond the fitted runs is flagged where it is made
(:func:`scalefit._predict.budget_warnings`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scalefit._curve import Curve
from scalefit._result import Fit
from scalefit.laws import Law, get_law

__all__ = ["anneals", "diagnose", "misfit_after_drop", "unidentified"]

MIN_ROWS_PER_PARAM = 10
DROP = 0.9
"""An LR below this fraction of the peak (after warm-up) counts as dropped."""
MISFIT = 0.005
"""Mean relative residual after a drop (as a fraction of the loss) above which it is a misfit..."""
MISFIT_SIGMAS = 4.0
"""...provided it is also this many standard errors of that mean away from zero."""
_MIN_DROP_ROWS = 10


def anneals(curve: Curve) -> bool:
    """Whether the curve's LR falls by more than 1 % of its peak after warm-up, by its last
    observed loss (a later decay tells the fit nothing)."""
    end = int(curve.step[-1]) + 1 if curve.step.size else curve.n_steps
    after = curve.lr[curve.warmup_steps : end]
    if after.size < 2:
        return False
    peak = after.max()
    return bool(peak > 0 and (peak - after[np.argmax(after) :].min()) > 0.01 * peak)


def unidentified(law: Law) -> str:
    """The warning of a fit in which no curve anneals, for ``law``."""
    return (
        f"{', '.join(law.annealing_params)} not identifiable: no fitted curve's LR decreases "
        "after warm-up; add a curve with a decay or cooldown"
    )


def misfit_after_drop(curve: Curve, predicted: np.ndarray) -> tuple[float, float] | None:
    """The mean relative residual ``(y - ŷ) / ŷ`` of ``curve``'s rows after its LR first drops
    below :data:`DROP` of the peak, and that mean's standard error (from the rows' step-to-step
    scatter); ``None`` when there is no drop or fewer than 10 rows after it."""
    lr = curve.lr
    after = np.arange(lr.size) >= curve.warmup_steps
    if not after.any():
        return None
    dropped = np.flatnonzero(after & (lr < DROP * lr[after].max()))
    if dropped.size == 0:
        return None
    rows = curve.step >= dropped[0]
    if rows.sum() < _MIN_DROP_ROWS:
        return None
    residual = (curve.loss - predicted) / predicted
    scatter = np.std(np.diff(residual)) / np.sqrt(2)
    return float(residual[rows].mean()), float(scatter / np.sqrt(rows.sum()))


def diagnose(fit: Fit, curves: Sequence[Curve], predicted: Sequence[np.ndarray]) -> list[str]:
    """The warnings of ``fit`` to ``curves`` (its predictions at their rows: ``predicted``)."""
    law = get_law(fit.law)
    warnings = []
    if not fit.converged:
        warnings.append(f"not converged: {fit.status}; try more curves or another law")
    for name, low, high, value in zip(law.param_names, law.lower, law.upper, fit.param_vector):
        if value - low <= 1e-6 * max(1.0, abs(low)):
            warnings.append(
                f"{name} = {value:.3g} sits at its lower bound {low:g}: its term plays no part; "
                "the curves may not exercise it (add a run that does) or the law may not suit them"
            )
        elif np.isfinite(high) and high - value <= 1e-6 * max(1.0, abs(high)):
            warnings.append(f"{name} = {value:.3g} sits at its upper bound {high:g}")
    if law.annealing_params and not any(anneals(c) for c in curves):
        warnings.append(unidentified(law))
    rows = sum(c.loss.size for c in curves)
    if rows < MIN_ROWS_PER_PARAM * law.n_params:
        warnings.append(
            f"too few rows: {rows} observed losses for {law.n_params} parameters "
            f"(want at least {MIN_ROWS_PER_PARAM * law.n_params})"
        )
    for curve, pred in zip(curves, predicted):
        misfit = misfit_after_drop(curve, pred)
        if misfit and abs(misfit[0]) > max(MISFIT, MISFIT_SIGMAS * misfit[1]):
            side = "above" if misfit[0] > 0 else "below"
            warnings.append(
                f"systematic misfit after the LR drop of {curve.name}: the loss runs "
                f"{abs(misfit[0]):.2%} {side} the law on average; predictions of other decays "
                "inherit it (compare laws with `scalefit compare`, or try --law multipower)"
            )
    return warnings
