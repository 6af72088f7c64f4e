r"""How sure a fit's predictions are: parameter errors and prediction intervals.

A predicted loss can be wrong for three reasons. Each is measured on the fitted curves only, and
the three add up as variances of the log loss:

1. **Parameters**, :math:`\sigma^2_\theta(s) = g(s)^\top \Sigma\, g(s)` with
   :math:`g = \partial \log \hat L(s) / \partial \theta` (delta method) and :math:`\Sigma` the
   cluster-robust ("sandwich") covariance of :math:`\theta = \log(p - p_{lower})`, rows clustered
   in contiguous blocks of each curve (the residuals of a smooth curve are correlated). It is the
   least-squares sandwich evaluated at the Huber fit: an approximation, and the smallest of the
   three parts on the bundled curves.
2. **Transfer**, :math:`\sigma^2_T`: how wrong the law is on a schedule it was not fitted on. Each
   curve is left out in turn, the law refitted on the others (from the fit) and the left-out
   curve predicted: :math:`\sigma^2_T` is the mean squared log error, each fold weighted
   equally. The only curve whose LR decays is never left out: without it the annealing
   parameters slide freely, and the refit would measure that, not the error of a fit that saw
   a decay. With one curve there is nothing to leave out: its residuals stand in, and
   :attr:`Uncertainty.notes` says so.
3. **Horizon**, :math:`k^2 h(s)^2`: errors grow beyond the fitted budget. The law is refitted on
   the first half (in steps) of every curve's fitted rows; :math:`k^2` is the excess of its
   squared log errors on the second halves over :math:`\sigma^2_T`, per squared log ratio of
   forward areas. For a new schedule :math:`h(s) = \max\big(0, \log(S(s) / S_{fit})\big)`,
   :math:`S(s)` its sum of LRs up to step :math:`s` and :math:`S_{fit}` the largest reached on a
   fitted curve.

4. **Rival**, :math:`d(s)^2`, for a law that names one (:attr:`scalefit.laws.Law.rival`): a law
   of another family is fitted to the same curves, and :math:`d(s) = \log \hat L_{rival}(s) -
   \log \hat L(s)`. Both fit the curves seen; where they part, on a schedule unlike those, at
   least one is wrong, and the fitted curves cannot tell which: the gap counts as an error of
   its own size (the interval at 90 % then always holds the rival's prediction); not inside
   warm-up, which no law describes. The refits above see how the law's parameters move; this
   sees what its form may miss.

An interval at level :math:`q` is :math:`\hat L(s)\, \exp(\pm z_{(1+q)/2}\, \sigma(s))` with
:math:`\sigma^2(s) = \sigma^2_\theta(s) + \sigma^2_T + k^2 h(s)^2 + d(s)^2`. Its calibration
on held-out curves is measured by ``benchmarks/intervals.py``. The refits run in the fit's
compiled minimiser (as many at once as it minimises starts), one row-weight vector each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist  # scipy.special would add 0.3 s to every command's start

import numpy as np

from scalefit._errors import InputError
from scalefit._features import Stack, evaluate, log_loss_and_gradient
from scalefit._result import Uncertainty
from scalefit.laws import Law

__all__ = ["assess", "level_label", "log_sigma", "z_value"]

_BLOCKS_PER_CURVE = 10
_MIN_HALF_ROWS = 5


def level_label(level: float) -> str:
    """An interval's level as people write it, not rounded to ``100%``.

    Examples:
        >>> level_label(0.9), level_label(0.9999999), level_label(0.1 + 0.2)
        ('90%', '99.99999%', '30%')
    """
    return f"{level * 100:.10g}%"


def z_value(level: float) -> float:
    """The two-sided normal quantile for a central interval at ``level`` (e.g. 1.645 at 0.9)."""
    if not 0 < level < 1:
        raise InputError(f"an interval's level must lie strictly between 0 and 1, not {level}")
    return NormalDist().inv_cdf(0.5 + level / 2)


def log_sigma(
    uncertainty: Uncertainty,
    gradient: np.ndarray,
    lr: np.ndarray,
    rows: np.ndarray,
    rival_gap: np.ndarray | None = None,
) -> np.ndarray:
    """:math:`\\sigma(s)`, the standard error of the predicted log loss at ``rows``.

    Args:
        uncertainty: the fit's error model.
        gradient: :math:`\\partial \\log \\hat L / \\partial \\theta` at the rows, ``(..., r, p)``.
        lr: the schedules' per-step LRs, ``(..., n)``.
        rows: the steps predicted, ``(..., r)``.
        rival_gap: :math:`d(s)`, the rival law's predicted log loss minus the fit's at the rows
            (``None``: no rival term).
    """
    cov = np.asarray(uncertainty.covariance)
    parameters = np.einsum("...rp,pq,...rq->...r", gradient, cov, gradient)
    area = np.take_along_axis(np.cumsum(lr, axis=-1), np.asarray(rows), axis=-1)
    horizon = np.log(np.maximum(area, 1e-300) / uncertainty.fitted_area).clip(min=0.0)
    variance = (
        np.maximum(parameters, 0.0)
        + uncertainty.transfer_variance
        + uncertainty.horizon_variance * horizon**2
    )
    if rival_gap is not None:  # where the rival predicts no positive finite loss, it is silent
        variance = variance + np.nan_to_num(np.asarray(rival_gap) ** 2, posinf=0.0)
    return np.sqrt(variance)


def assess(
    law: Law,
    stack: Stack,
    theta: np.ndarray,
    features: dict[str, np.ndarray],
    *,
    refit,
    anneals: Sequence[bool] | None = None,
) -> Uncertainty:
    """The error model of the fit ``theta`` of ``law`` to ``stack`` (a padded set of curves),
    whose rows have the law's ``features``.

    ``refit(theta0, weights, features)`` minimises from each row of ``theta0`` with row weights
    ``weights[i]`` and returns the minimisers' coordinates, shaped like ``theta0``. ``anneals``
    says which curves' LR decays (:func:`scalefit._diagnostics.anneals`; default: all): the only
    one that does is never left out, if the law has annealing parameters.
    """
    lower = np.asarray(law.lower, dtype=np.float64)
    log_pred, grad = log_loss_and_gradient(law, lower + np.exp(theta), features)
    log_y = np.log(stack.loss)
    covariance = _sandwich(grad, log_y - log_pred, stack.weight)
    folds = _Folds.of(law, stack, anneals)
    weights = folds.weights(stack.weight)
    refitted = []
    if weights:
        refitted = refit(np.repeat(theta[None], len(weights), axis=0), np.stack(weights), features)

    def squared_errors(theta_fold):
        with np.errstate(invalid="ignore", divide="ignore"):  # a refit gone wrong: noted below
            log_fold = np.log(evaluate(law, lower + np.exp(theta_fold), features))
        return (log_y - log_fold) ** 2

    residual_variance = float(np.sum(stack.weight * (log_y - log_pred) ** 2) / np.sum(stack.weight))
    transfer, notes = _transfer(folds, stack.weight, refitted, squared_errors, residual_variance)
    horizon = 0.0
    if folds.use_half:
        horizon = _horizon(folds, stack, squared_errors(refitted[-1]) - transfer)
    if not folds.use_half or not np.isfinite(horizon):
        horizon = 0.0
        notes.append(
            "too few rows in the first halves of the curves to measure how errors grow past the "
            "fitted runs: intervals there do not widen"
        )
    if not np.isfinite(transfer):
        transfer = residual_variance
        notes.append("a refit without one curve failed: the fit's own residuals stand in")
    fitted_area = float(np.max(_row_area(stack)[stack.weight > 0]))
    return Uncertainty(covariance, float(transfer), float(horizon), fitted_area, tuple(notes))


@dataclass(frozen=True)
class _Folds:
    """The refits of the error model: each curve left out in turn (``left_out``), and, if
    ``use_half``, the first half of every curve's fitted rows (``half``; ``beyond``: the rest)."""

    left_out: list[int]
    n_curves: int
    half: np.ndarray
    beyond: np.ndarray
    use_half: bool

    @classmethod
    def of(cls, law: Law, stack: Stack, anneals: Sequence[bool] | None) -> _Folds:
        observed = stack.weight > 0
        n_curves = observed.shape[0]
        first = np.array([r[o].min() for r, o in zip(stack.rows, observed)])
        last = np.array([r[o].max() for r, o in zip(stack.rows, observed)])
        half = stack.rows <= ((first + last) // 2)[:, None]  # the first half of the fitted rows
        anneals = [True] * n_curves if anneals is None else list(anneals)
        only_decay = law.annealing_params and sum(anneals) == 1
        left_out = [c for c in range(n_curves) if n_curves > 1 and not (only_decay and anneals[c])]
        beyond = observed & ~half
        use_half = bool((observed & half).sum() >= _MIN_HALF_ROWS * law.n_params and beyond.any())
        return cls(left_out, n_curves, half, beyond, use_half)

    def weights(self, weight: np.ndarray) -> list[np.ndarray]:
        """Each refit's row weights: the leave-one-curve-out folds, then the first halves."""
        curve = np.arange(self.n_curves)[:, None]
        folds = [weight * (curve != c) for c in self.left_out]
        return folds + ([weight * self.half] if self.use_half else [])


def _transfer(folds: _Folds, weight, refitted, squared_errors, residual_variance):
    r""":math:`\sigma^2_T`, each left-out curve's mean squared log error, averaged; and the notes
    on how it was measured."""
    if not folds.left_out:
        return residual_variance, [
            "one fitted curve: its own residuals stand in for the error on other schedules, "
            "so intervals for a different schedule are likely too narrow"
        ]
    errors = [
        np.sum((weight * squared_errors(refitted[i]))[c]) / np.sum(weight[c])
        for i, c in enumerate(folds.left_out)
    ]
    notes = []
    if len(folds.left_out) < folds.n_curves:
        notes.append(
            "the only curve whose LR decays is never left out (without it the annealing "
            "parameters slide freely): the transfer error comes from the other folds"
        )
    return float(np.mean(errors)), notes


def _horizon(folds: _Folds, stack: Stack, excess: np.ndarray) -> float:
    """:math:`k^2`: the excess squared log error on the second halves, of the refit on the first
    halves, per squared log ratio of the forward area to the first halves'."""
    row_area = _row_area(stack)
    half_area = np.array([a[h][-1] if h.any() else a[0] for a, h in zip(row_area, folds.half)])
    distance = np.log(np.maximum(row_area, 1e-300) / np.maximum(half_area, 1e-300)[:, None])
    spread = np.sum((stack.weight * distance**2)[folds.beyond])
    total = np.sum((stack.weight * excess)[folds.beyond])
    return max(total, 0.0) / spread if spread > 0 else 0.0


def _row_area(stack: Stack) -> np.ndarray:
    """The forward area (sum of LRs) up to each row."""
    return np.take_along_axis(np.cumsum(stack.lr, axis=-1), stack.rows, axis=-1)


def _sandwich(grad: np.ndarray, residual: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Cluster-robust covariance of the coordinates: rows of each curve in contiguous blocks."""
    p = grad.shape[-1]
    bread = np.einsum("cr,crp,crq->pq", weight, grad, grad)
    meat = np.zeros((p, p))
    for g, r, w in zip(grad, residual, weight):
        rows = np.flatnonzero(w > 0)
        for block in np.array_split(rows, min(_BLOCKS_PER_CURVE, rows.size)):
            score = (w[block] * r[block]) @ g[block]
            meat += np.outer(score, score)
    inverse = np.linalg.pinv(bread)
    return inverse @ meat @ inverse
