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

from scalefit.errors import InputError

__all__ = ["Uncertainty", "log_sigma", "z_value"]

_BLOCKS_PER_CURVE = 10
_MIN_HALF_ROWS = 5


@dataclass(frozen=True)
class Uncertainty:
    """The error model of a fit's predictions (see the module's docstring).

    Attributes:
        covariance: sandwich covariance of the minimiser's coordinates
            :math:`\\theta = \\log(p - p_{lower})`, in the law's parameter order.
        transfer_variance: :math:`\\sigma^2_T`, squared log error on left-out curves.
        horizon_variance: :math:`k^2`, squared log error per squared log ratio of forward areas
            beyond the fitted ones.
        fitted_area: :math:`S_{fit}`, the largest sum of LRs up to a fitted row.
        notes: what limits these estimates (e.g. one curve only).
        rival: the rival law's fit to the same curves, ``{"law", "params", "options"}`` (its
            name, parameters by name and options), or ``None``.
    """

    covariance: np.ndarray
    transfer_variance: float
    horizon_variance: float
    fitted_area: float
    notes: tuple[str, ...] = ()
    rival: dict[str, object] | None = None

    def to_dict(self) -> dict[str, object]:
        out = {
            "covariance": np.asarray(self.covariance).tolist(),
            "transfer_variance": self.transfer_variance,
            "horizon_variance": self.horizon_variance,
            "fitted_area": self.fitted_area,
            "notes": list(self.notes),
        }
        if self.rival is not None:
            out["rival"] = self.rival
        return out

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Uncertainty:
        """Rebuild from :meth:`to_dict`'s output (``ValueError``: a value no error model holds,
        ``KeyError``: one missing)."""
        covariance = np.asarray(data["covariance"], dtype=np.float64)
        if covariance.ndim != 2 or not np.all(np.isfinite(covariance)):
            raise ValueError("its covariance is not a matrix of finite numbers")
        scalars = {}
        for name, least in (("transfer_variance", 0), ("horizon_variance", 0), ("fitted_area", 1)):
            value = data[name]
            number = not isinstance(value, bool) and isinstance(value, (int, float))
            if not (number and np.isfinite(value) and (value > 0 if least else value >= 0)):
                relation = "> 0" if least else ">= 0"
                raise ValueError(f"its {name} must be a number {relation}, not {value!r}")
            scalars[name] = float(value)
        return cls(
            covariance=covariance,
            notes=tuple(str(n) for n in data.get("notes", [])),
            rival=_rival_from(data.get("rival")),
            **scalars,
        )


def _rival_from(data: object) -> dict[str, object] | None:
    """A saved rival fit, checked: its law's name, every parameter of that law as a number, and
    its options. Raises ``InputError`` (an unknown law) or ``ValueError`` (anything malformed)."""
    if data is None:
        return None
    from scalefit.laws import get_law

    if not isinstance(data, dict) or not isinstance(data.get("law"), str):
        raise ValueError("the error model's rival is not a {law, params, options} record")
    law = get_law(data["law"])
    params, options = data.get("params"), data.get("options", {})
    if not isinstance(params, dict) or not isinstance(options, dict):
        raise ValueError(f"the rival {law.name} fit has no parameters or options")
    missing = [n for n in law.param_names if n not in params]
    if missing:
        raise ValueError(f"the rival {law.name} fit lacks {', '.join(missing)}")
    values = {n: float(params[n]) for n in law.param_names}
    return {"law": law.name, "params": values, "options": options}


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
    law,
    stack,
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
    says which curves' LR decays (:func:`scalefit.diagnostics.anneals`; default: all): the only
    one that does is never left out, if the law has annealing parameters.
    """
    from scalefit.fitting import evaluate, log_loss_and_gradient

    lower = np.asarray(law.lower, dtype=np.float64)
    params = lower + np.exp(theta)
    log_pred, grad = log_loss_and_gradient(law, params, features)
    log_y = np.log(stack.loss)
    weight = stack.weight
    n_curves = weight.shape[0]
    curve = np.arange(n_curves)[:, None]
    observed = weight > 0
    notes = []

    covariance = _sandwich(grad, log_y - log_pred, weight)

    first = np.array([r[o].min() for r, o in zip(stack.rows, observed)])
    last = np.array([r[o].max() for r, o in zip(stack.rows, observed)])
    area = np.cumsum(stack.lr, axis=-1)
    row_area = np.take_along_axis(area, stack.rows, axis=-1)
    half = stack.rows <= ((first + last) // 2)[:, None]  # the first half of the fitted rows
    anneals = [True] * n_curves if anneals is None else list(anneals)
    only_decay = law.annealing_params and sum(anneals) == 1
    left_out = [c for c in range(n_curves) if n_curves > 1 and not (only_decay and anneals[c])]
    folds = [weight * (curve != c) for c in left_out]
    beyond = observed & ~half
    use_half = (observed & half).sum() >= _MIN_HALF_ROWS * law.n_params and beyond.any()
    if use_half:
        folds.append(weight * half)
    refitted = []
    if folds:
        refitted = refit(np.repeat(theta[None], len(folds), axis=0), np.stack(folds), features)

    def squared_errors(theta_fold):
        with np.errstate(invalid="ignore", divide="ignore"):  # a refit gone wrong: noted below
            log_fold = np.log(evaluate(law, lower + np.exp(theta_fold), features))
        return (log_y - log_fold) ** 2

    if left_out:
        transfer = np.mean(
            [
                np.sum((weight * squared_errors(refitted[i]))[c]) / np.sum(weight[c])
                for i, c in enumerate(left_out)
            ]
        )
        if len(left_out) < n_curves:
            notes.append(
                "the only curve whose LR decays is never left out (without it the annealing "
                "parameters slide freely): the transfer error comes from the other folds"
            )
    else:
        transfer = float(np.sum(weight * (log_y - log_pred) ** 2) / np.sum(weight))
        notes.append(
            "one fitted curve: its own residuals stand in for the error on other schedules, "
            "so intervals for a different schedule are likely too narrow"
        )

    horizon = 0.0
    if use_half:
        half_area = np.array([a[h][-1] if h.any() else a[0] for a, h in zip(row_area, half)])
        distance = np.log(np.maximum(row_area, 1e-300) / np.maximum(half_area, 1e-300)[:, None])
        excess = np.sum((weight * (squared_errors(refitted[-1]) - transfer))[beyond])
        spread = np.sum((weight * distance**2)[beyond])
        horizon = max(excess, 0.0) / spread if spread > 0 else 0.0
    if not use_half or not np.isfinite(horizon):
        horizon = 0.0
        notes.append(
            "too few rows in the first halves of the curves to measure how errors grow past the "
            "fitted runs: intervals there do not widen"
        )
    if not np.isfinite(transfer):
        transfer = float(np.sum(weight * (log_y - log_pred) ** 2) / np.sum(weight))
        notes.append("a refit without one curve failed: the fit's own residuals stand in")

    fitted_area = float(np.max(row_area[observed]))
    return Uncertainty(covariance, float(transfer), float(horizon), fitted_area, tuple(notes))


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
