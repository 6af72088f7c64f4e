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

__all__ = [
    "anneals",
    "at_bounds",
    "decays",
    "diagnose",
    "misfit_after_drop",
    "near_zero_steps",
    "unidentified",
]

MIN_ROWS_PER_PARAM = 10
DROP = 0.9
"""An LR below this fraction of the peak (after warm-up) counts as dropped."""
MIN_DECAY_SHARE = 0.01
"""A decay lasts at least this share of the steps considered (and two steps)..."""
MIN_DECAY_ROWS = 2
"""...and a curve anneals if at least this many of its losses were observed in it."""
MISFIT = 0.005
"""Mean relative residual after a drop (as a fraction of the loss) above which it is a misfit..."""
MISFIT_SIGMAS = 4.0
"""...provided it is also this many standard errors of that mean away from zero."""
_MIN_DROP_ROWS = 10
NEAR_ZERO = 0.01
"""An LR below this fraction of the peak counts as near zero (:func:`near_zero_steps`)."""


def decays(lr: np.ndarray, peak: float | None = None) -> np.ndarray:
    """Which of the per-step LRs ``lr`` lie in a sustained decay: below :data:`DROP` of ``peak``
    (default: their largest) on at least :data:`MIN_DECAY_SHARE` of the steps, and on at least
    two. One step below (a log's last row at LR 0, say) is not a decay: all ``False`` then."""
    lr = np.asarray(lr, dtype=np.float64)
    if lr.size == 0:
        return np.zeros(0, dtype=bool)
    peak = float(lr.max()) if peak is None else float(peak)
    below = lr < DROP * peak
    enough = below.sum() >= max(2, MIN_DECAY_SHARE * lr.size)
    return below if peak > 0 and enough else np.zeros_like(below)


def near_zero_steps(lr: np.ndarray, warmup_steps: int = 0) -> int:
    """How many of the per-step LRs ``lr`` after ``warmup_steps`` lie below :data:`NEAR_ZERO`
    of their peak: how long a schedule trains at an LR near zero, the tail of a decay to zero.

    Examples:
        >>> near_zero_steps(np.r_[np.zeros(5), np.linspace(1.0, 0.0, 201)], warmup_steps=5)
        2
    """
    after = np.asarray(lr, dtype=np.float64)[int(warmup_steps) :]
    if after.size == 0 or not after.max() > 0:
        return 0
    return int(np.sum(after < NEAR_ZERO * after.max()))


def anneals(curve: Curve) -> bool:
    """Whether the curve's LR decays after warm-up (:func:`decays`: below 90 % of its peak on a
    sustained share of the steps) by its last observed loss, with at least
    :data:`MIN_DECAY_ROWS` losses observed in the decay: what the annealing parameters of a law
    can be fitted from. A later decay tells the fit nothing."""
    end = int(curve.step[-1]) + 1 if curve.step.size else curve.n_steps
    after = curve.lr[curve.warmup_steps : end]
    if after.size < 2:
        return False
    decay = decays(after)
    rows = curve.step[(curve.step >= curve.warmup_steps) & (curve.step < end)]
    return bool(decay[rows - curve.warmup_steps].sum() >= MIN_DECAY_ROWS)


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


def at_bounds(fit: Fit) -> dict[str, str]:
    """The parameters of ``fit`` that sit on a bound of their law (``"lower"`` or ``"upper"``),
    borrowed ones left out: the curves did not determine them."""
    law = get_law(fit.law)
    borrowed = {*fit.options.get("borrowed", ()), *fit.options.get("held", ())}
    sides = {}
    for name, low, high, value in zip(law.param_names, law.lower, law.upper, fit.param_vector):
        if name in borrowed:
            continue
        if value - low <= 1e-6 * max(1.0, abs(low)):
            sides[name] = "lower"
        elif np.isfinite(high) and high - value <= 1e-6 * max(1.0, abs(high)):
            sides[name] = "upper"
    return sides


def diagnose(fit: Fit, curves: Sequence[Curve], predicted: Sequence[np.ndarray]) -> list[str]:
    """The warnings of ``fit`` to ``curves`` (its predictions at their rows: ``predicted``)."""
    law = get_law(fit.law)
    warnings = []
    if not fit.converged:
        warnings.append(f"not converged: {fit.status}; try more curves or another law")
    for name, side in at_bounds(fit).items():
        value = fit.params[name]
        bound = dict(zip(law.param_names, law.lower if side == "lower" else law.upper))[name]
        warnings.append(
            f"{name} = {value:.3g} sits at its lower bound {bound:g}: its term plays no part; "
            "the curves may not exercise it (add a run that does) or the law may not suit them"
            if side == "lower"
            else f"{name} = {value:.3g} sits at its upper bound {bound:g}"
        )
    borrowed = set(fit.options.get("borrowed", ()))
    decay_params = set(law.annealing_params) - borrowed
    if decay_params and not any(anneals(c) for c in curves):
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
