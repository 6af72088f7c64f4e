r"""How sure a fit's predictions are: parameter errors and prediction intervals.

A prediction :math:`\hat L(s)` of a schedule at step :math:`s` is given the standard error of its
log

.. math::

    \sigma(s) = \sqrt{\sigma^2_\theta(s) + \sigma^2_T + k^2 h(s)^2 + a^2 u(s)^2
        + \rho\, d(s)^2},

and an interval at level :math:`q` is :math:`\hat L(s)\exp(\pm t_{\nu,(1+q)/2}\,\sigma(s))`,
Student's t quantile with :math:`\nu = \max(1, F - 1)` degrees of freedom, :math:`F` the number
of folds below the terms were measured on (their rows are strongly correlated: a fold is about
one observation of how wrong a refit goes, so the fewer the folds, the wider). Every rate and
weight is measured on the fitted curves only, by refitting the law on parts of them ("folds")
and predicting the rest:

* **Folds.** (1) Each curve left out in turn, predicted from the others (the only curve whose LR
  decays is never left out: without it the annealing parameters slide freely). (2) Every curve
  truncated at a quarter and at half of its fitted rows' steps, the rest of every curve
  predicted. (3) Every decaying curve cut at a quarter and at half of its decay (its rows with
  the LR below 90 % of its peak, :func:`scalefit._diagnostics.decays`), the other curves whole,
  the rest of each decay predicted. A fold's refit holds the law's annealing parameters at the
  fit's values when nothing it keeps decays (:func:`scalefit._diagnostics.anneals`): a first
  quarter of a WSD run says nothing of its cooldown. Refits start at the fit and run in its
  compiled minimiser (100 steps at most); a fold is skipped when it keeps fewer than five rows
  per parameter, leaves nothing to predict, or (3) leaves a cut curve without a decay.
* **Distances** of a row from the rows a fit saw: :math:`h = \max(0, \log S / S_{fit})`, with
  :math:`S` the sum of LRs up to the row (the forward area) and :math:`S_{fit}` the largest at a
  fitted row; :math:`u = \max(0, \log A / A_{fit})`, with :math:`A = \sum_{\tau \le s}
  \max(0, 1 - \eta_\tau / \eta_{peak})` over the steps after warm-up (the decayed area: how long
  and how far the LR has fallen below its peak, :func:`decayed_area`) and :math:`A_{fit}` the
  largest at a fitted row (:math:`u = 0` when no fitted row has decayed, and in a fold that holds
  the annealing parameters). Each fold measures them from its own fitted rows.
* **Terms.** :math:`\sigma^2_\theta(s) = g^\top \Sigma g`, the delta method with
  :math:`g = \partial \log \hat L / \partial \theta` and :math:`\Sigma` the cluster-robust
  (sandwich) covariance of :math:`\theta = \log(p - p_{lower})` over the rows the fit was
  polished on, clustered in contiguous blocks of each curve (an approximation at the Huber
  fit). :math:`\sigma^2_T`: the mean squared log error of the left-out curves (each fold
  weighted equally; with no curve to leave out, the fit's own mean squared residual, and a note
  says so). Then, each a moment estimate over the
  predicted rows of its folds, every fold weighted equally (the mean over a fold's rows, written
  :math:`\overline{x}`, summed over folds): :math:`a^2 = \max(0, \sum \overline{e^2 -
  \sigma^2_T}) / \sum \overline{u^2}` over the decay cuts, :math:`e` a row's log error; then
  :math:`k^2 = \max(0, \sum \overline{e^2 - \sigma^2_T - a^2u^2}) / \sum \overline{h^2}` over the
  truncations.
* **Rival**, for a law that names one (:attr:`scalefit.laws.Law.rival`): a law of another family
  is fitted to the same curves and refitted on the same folds (holding its own annealing
  parameters where the law holds its); :math:`d = \log \hat L_{rival} - \log \hat L`. Where two
  laws that both fit the curves part, at least one is wrong; :math:`\rho = \sum \overline{e^2} /
  (\sum \overline{e^2} + \sum \overline{e_{rival}^2})` over every fold is the share of their
  squared disagreement that, on the folds, was the law's own error (were the two laws' errors
  independent, :math:`\rho d^2` would estimate the law's squared error). At prediction time
  :math:`d(s)` is the full fits' gap (not inside warm-up, which no law describes). The terms
  above measure how errors grow as far as the folds reach; the rival's gap speaks where they do
  not (a decay far longer than any fitted), as far as the folds trust the rival.

What the folds cannot show, intervals do not hold: with one decaying curve, the transfer of its
decay to decays of other lengths and at other times is measured only within that curve. The
calibration on curves held out from the fit is measured by ``benchmarks/intervals.py``
(the documentation's "How accurate and how fast" page gives the figures).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from statistics import NormalDist  # scipy.special would add 0.3 s to every command's start

import numpy as np

from scalefit._curve import Curve
from scalefit._diagnostics import anneals, decays
from scalefit._errors import InputError
from scalefit._features import Stack, evaluate, log_loss_and_gradient
from scalefit._result import Uncertainty
from scalefit.laws import Law

__all__ = [
    "CUTS",
    "Refits",
    "assess",
    "decayed_area",
    "fold_requests",
    "level_label",
    "log_sigma",
    "z_value",
]

_BLOCKS_PER_CURVE = 10
_MIN_ROWS_PER_PARAM = 5
CUTS = (0.25, 0.5)
"""Where a truncation fold cuts each fitted curve (a fraction of its fitted rows' steps), and
where a decay-cut fold cuts each decaying curve's decay (a fraction of its decaying rows')."""


def level_label(level: float) -> str:
    """An interval's level as people write it, not rounded to ``100%``.

    Examples:
        >>> level_label(0.9), level_label(0.9999999), level_label(0.1 + 0.2)
        ('90%', '99.99999%', '30%')
    """
    return f"{level * 100:.10g}%"


def z_value(level: float, degrees_of_freedom: int = 0) -> float:
    """The two-sided quantile for a central interval at ``level`` (e.g. 1.645 at 0.9): the
    normal one, or Student's t with ``degrees_of_freedom`` (> 0)."""
    if not 0 < level < 1:
        raise InputError(f"an interval's level must lie strictly between 0 and 1, not {level}")
    if degrees_of_freedom > 0:
        return _student_quantile(0.5 + level / 2, int(degrees_of_freedom))
    return NormalDist().inv_cdf(0.5 + level / 2)


def decayed_area(lr: np.ndarray, warmup_steps: np.ndarray | int) -> np.ndarray:
    r""":math:`A(s) = \sum_{\tau \le s} \max(0, 1 - \eta_\tau / \eta_{peak})` at every step, over
    the steps after warm-up, :math:`\eta_{peak}` the largest LR after warm-up: how many steps'
    worth the LR has fallen below its peak. ``lr`` is ``(..., n)``, ``warmup_steps`` ``(...)``.

    Examples:
        >>> decayed_area(np.array([1.0, 2.0, 2.0, 1.0, 0.0]), 1).tolist()
        [0.0, 0.0, 0.0, 0.5, 1.5]
    """
    lr = np.asarray(lr, dtype=np.float64)
    after = np.arange(lr.shape[-1]) >= np.asarray(warmup_steps)[..., None]
    peak = np.max(np.where(after, lr, 0.0), axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        fall = np.where(after & (peak > 0), np.clip(1.0 - lr / peak, 0.0, None), 0.0)
    return np.cumsum(fall, axis=-1)


def _log_excess(value: np.ndarray, reference: float) -> np.ndarray:
    """:math:`\\max(0, \\log(value / reference))`, 0 everywhere for a reference of 0."""
    if not reference > 0:
        return np.zeros(np.shape(value))
    return np.log(np.maximum(value, 1e-300) / reference).clip(min=0.0)


def log_sigma(
    uncertainty: Uncertainty,
    gradient: np.ndarray,
    lr: np.ndarray,
    rows: np.ndarray,
    rival_gap: np.ndarray | None = None,
    warmup_steps: np.ndarray | int = 0,
) -> np.ndarray:
    """:math:`\\sigma(s)`, the standard error of the predicted log loss at ``rows``.

    Args:
        uncertainty: the fit's error model.
        gradient: :math:`\\partial \\log \\hat L / \\partial \\theta` at the rows, ``(..., r, p)``.
        lr: the schedules' per-step LRs, ``(..., n)``.
        rows: the steps predicted, ``(..., r)``.
        rival_gap: :math:`d(s)`, the rival law's predicted log loss minus the fit's at the rows
            (``None``: no rival term).
        warmup_steps: the schedules' warm-up lengths, ``(...)``.
    """
    u = uncertainty
    cov = np.asarray(u.covariance)
    parameters = np.einsum("...rp,pq,...rq->...r", gradient, cov, gradient)
    rows = np.asarray(rows)
    area = np.take_along_axis(np.cumsum(lr, axis=-1), rows, axis=-1)
    decayed = np.take_along_axis(decayed_area(lr, warmup_steps), rows, axis=-1)
    variance = (
        np.maximum(parameters, 0.0)
        + u.transfer_variance
        + u.horizon_variance * _log_excess(area, u.fitted_area) ** 2
        + u.decay_variance * _log_excess(decayed, u.decayed_area) ** 2
    )
    if rival_gap is not None:  # where the rival predicts no positive finite loss, it is silent
        gap = np.nan_to_num(np.asarray(rival_gap), nan=0.0, posinf=0.0, neginf=0.0)
        variance = variance + u.rival_weight * gap**2
    return np.sqrt(variance)


@dataclass(frozen=True)
class Refits:
    """A law fitted to curves, and what refitting it on part of their rows takes.

    Attributes:
        law: the law as fitted (borrowed parameters held).
        theta: the fit's coordinates :math:`\\theta = \\log(p - p_{lower})`.
        searched: the rows the fit's search ran on (every row, or evenly thinned ones), where
            refits run.
        search_features: the law's features at those rows.
        features: the law's features at every row of the curves.
        refit: ``refit(theta0, weights, features, held)``: minimise from each row of ``theta0``
            with row weights ``weights[i]`` on ``searched``, holding the coordinates
            ``held[i]``; returns the minimisers' coordinates
            (:func:`scalefit._least_squares.refit`).
    """

    law: Law
    theta: np.ndarray
    searched: Stack
    search_features: dict[str, np.ndarray]
    features: dict[str, np.ndarray]
    refit: Callable[..., np.ndarray]

    def requests(self, folds: Sequence[_Fold]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What refitting on each fold asks of ``refit``: ``(theta0, weights, held)``."""
        law = self.law
        annealing = np.isin(law.param_names, law.annealing_params)
        held = np.stack([annealing & fold.hold for fold in folds])
        weights = np.stack([fold.fitted_weight(self.searched) for fold in folds])
        theta0 = np.repeat(self.theta[None], len(folds), axis=0)
        return theta0, weights, held

    def refitted(self, folds: Sequence[_Fold]) -> list[np.ndarray]:
        """The law refitted on each fold, its log loss at every row (``(C, R)`` each)."""
        if not folds:
            return []
        theta0, weights, held = self.requests(folds)
        thetas = self.refit(theta0, weights, self.search_features, held)
        lower = np.asarray(self.law.lower, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):  # a refit gone wrong: not finite
            return [np.log(evaluate(self.law, lower + np.exp(t), self.features)) for t in thetas]


@dataclass(frozen=True)
class _Fold:
    """Part of the fitted rows: each curve's rows up to step ``last[c]`` (-1: none), refitted
    with the annealing parameters held if ``hold``; the later rows of the curves ``scored`` are
    predicted."""

    kind: str  # "left out", "truncated" or "decay cut"
    last: np.ndarray
    scored: np.ndarray
    hold: bool

    def kept(self, stack: Stack) -> np.ndarray:
        return (stack.weight > 0) & (stack.rows <= self.last[:, None])

    def fitted_weight(self, stack: Stack) -> np.ndarray:
        return stack.weight * self.kept(stack)

    def predicted(self, stack: Stack) -> np.ndarray:
        return (stack.weight > 0) & (stack.rows > self.last[:, None]) & self.scored[:, None]


@dataclass(frozen=True)
class _Scored:
    """A fold's predicted rows: log errors ``e``, distances ``h`` and ``u``, rival gaps ``d``."""

    kind: str
    e: np.ndarray
    h: np.ndarray
    u: np.ndarray
    d: np.ndarray


@dataclass(frozen=True)
class _Terms:
    """:math:`\\sigma^2_T, k^2, a^2, \\rho` as estimated from some folds."""

    transfer: float
    horizon: float
    decay: float
    rival: float

    def variance(self, r: _Scored) -> np.ndarray:
        return self.transfer + self.horizon * r.h**2 + self.decay * r.u**2 + self.rival * r.d**2


def assess(
    fitted: Refits, stack: Stack, curves: Sequence[Curve], rival: Refits | None = None
) -> Uncertainty:
    """The error model of ``fitted``, a fit to ``curves`` (whose rows ``stack`` holds), with
    the fit of its ``rival`` law to the same curves, if any (module docstring)."""
    law = fitted.law
    lower = np.asarray(law.lower, dtype=np.float64)
    log_pred, grad = log_loss_and_gradient(law, lower + np.exp(fitted.theta), fitted.features)
    residual = np.log(stack.loss) - log_pred
    covariance = _sandwich(grad, residual, stack.weight)
    residual_variance = float(np.sum(stack.weight * residual**2) / np.sum(stack.weight))
    folds, notes = _folds(law, stack, list(curves))
    refitted = fitted.refitted(folds)
    gaps = rival.refitted(folds) if rival is not None else [None] * len(folds)
    scored = [_scored(f, stack, p, g) for f, p, g in zip(folds, refitted, gaps)]
    failed = [s for s in scored if not np.all(np.isfinite(s.e))]
    if failed:
        notes.append(f"{len(failed)} refit(s) on part of the curves failed: left out")
        scored = [s for s in scored if s not in failed]
    terms = _estimate(scored, residual_variance)
    return Uncertainty(
        covariance,
        terms.transfer,
        terms.horizon,
        float(np.max(_row_area(stack)[stack.weight > 0])),
        tuple(notes),
        decay_variance=terms.decay,
        decayed_area=float(np.max(_row_decayed_area(stack)[stack.weight > 0])),
        rival_weight=terms.rival,
        degrees_of_freedom=max(1, len(scored) - 1),
    )


def fold_requests(
    fitted: Refits, stack: Stack, curves: Sequence[Curve], rival: Refits | None = None
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
    """The refits :func:`assess` will ask of ``fitted.refit`` (and of ``rival.refit``), as
    :meth:`Refits.requests` gives them (``None``: no fold), so that a caller can minimise them
    beforehand (the fits of groups minimise every group's together)."""
    folds, _ = _folds(fitted.law, stack, list(curves))
    return [r.requests(folds) if folds else None for r in (fitted, rival) if r is not None]


def _folds(law: Law, stack: Stack, curves: list[Curve]) -> tuple[list[_Fold], list[str]]:
    """The folds of the module docstring, and notes on those that could not be made."""
    n = len(curves)
    first = np.array([c.step[0] for c in curves])
    last = np.array([c.step[-1] for c in curves])
    annealing = [anneals(c) for c in curves]
    notes = []

    def fold(kind, ends, scored):
        kept = [_until(c, e) for c, e in zip(curves, ends)]
        rows = sum(c.loss.size for c in kept if c is not None)
        decaying = any(anneals(c) for c in kept if c is not None)
        hold = bool(law.annealing_params) and not decaying
        return _Fold(kind, np.asarray(ends), np.asarray(scored), hold), rows

    folds = []
    only_decay = law.annealing_params and sum(annealing) == 1
    for c in range(n if n > 1 else 0):
        if only_decay and annealing[c]:
            notes.append(
                "the only curve whose LR decays is never left out (without it the annealing "
                "parameters slide freely): the transfer error comes from the other folds"
            )
            continue
        ends = np.where(np.arange(n) == c, -1, last)
        folds.append(fold("left out", ends, np.arange(n) == c)[0])
    if n == 1:
        notes.append(
            "one fitted curve: its own residuals stand in for the error on schedules unlike it "
            "(another schedule, or the rest of its own plan), where intervals are likely too "
            "narrow"
        )
    enough = _MIN_ROWS_PER_PARAM * law.n_params
    truncated = [
        fold("truncated", first + (q * (last - first)).astype(int), [True] * n) for q in CUTS
    ]
    truncated = [f for f, rows in truncated if rows >= enough and f.predicted(stack).any()]
    if not truncated:
        notes.append(
            "too few rows in the first parts of the curves to measure how errors grow past the "
            "fitted runs: intervals there do not widen"
        )
    cut = []
    if any(annealing):
        for q in CUTS:
            ends = np.array(
                [_decay_cut(c, q) if a else e for c, a, e in zip(curves, annealing, last)]
            )
            made, rows = fold("decay cut", ends, annealing)
            still = all(anneals(_until(c, e)) for c, e, a in zip(curves, ends, annealing) if a)
            if still and rows >= enough and made.predicted(stack).any():
                cut.append(made)
    if law.annealing_params and any(annealing) and not cut:  # none decays: a warning says so
        notes.append(
            "no fitted decay is long enough to cut: how errors grow on decays longer than the "
            "fitted ones is not measured, and intervals there do not widen"
        )
    return folds + truncated + cut, notes


def _until(curve: Curve, end: int) -> Curve | None:
    """``curve``'s losses up to step ``end`` (``None``: none)."""
    keep = curve.step <= end
    return replace(curve, step=curve.step[keep], loss=curve.loss[keep]) if keep.any() else None


def _decay_cut(curve: Curve, fraction: float) -> int:
    """The step ``fraction`` of the way through the curve's observed decay."""
    w = curve.warmup_steps
    decaying = decays(curve.lr[w : int(curve.step[-1]) + 1])
    rows = curve.step[curve.step >= w]
    rows = rows[decaying[rows - w]]
    return int(rows[0] + fraction * (rows[-1] - rows[0]))


def _scored(fold: _Fold, stack: Stack, log_pred: np.ndarray, rival: np.ndarray | None) -> _Scored:
    """``fold``'s predicted rows: errors of the refit ``log_pred``, distances from its fitted
    rows, and the gap of the rival's refit (0 without one, or where it is not finite)."""
    rows, kept = fold.predicted(stack), fold.kept(stack)
    area, decayed = _row_area(stack), _row_decayed_area(stack)
    u = np.zeros(int(rows.sum()))
    if not fold.hold:
        u = _log_excess(decayed[rows], float(np.max(decayed[kept], initial=0.0)))
    gap = np.zeros_like(u)
    if rival is not None:
        gap = np.nan_to_num(rival[rows] - log_pred[rows], nan=0.0, posinf=0.0, neginf=0.0)
    return _Scored(
        fold.kind,
        e=np.log(stack.loss[rows]) - log_pred[rows],
        h=_log_excess(area[rows], float(np.max(area[kept], initial=0.0))),
        u=u,
        d=gap,
    )


def _estimate(scored: Sequence[_Scored], residual_variance: float) -> _Terms:
    """The terms' moment estimates from the folds ``scored`` (module docstring), in order:
    each rate measures the excess over the terms before it."""
    left_out = [float(np.mean(s.e**2)) for s in scored if s.kind == "left out"]
    terms = _Terms(float(np.mean(left_out)) if left_out else residual_variance, 0.0, 0.0, 0.0)

    def rate(kind, distance):
        folds = [s for s in scored if s.kind == kind]
        spread = sum(float(np.mean(distance(s) ** 2)) for s in folds)
        excess = sum(float(np.mean(s.e**2 - terms.variance(s))) for s in folds)
        return max(excess, 0.0) / spread if spread > 0 else 0.0

    terms = replace(terms, decay=rate("decay cut", lambda s: s.u))
    terms = replace(terms, horizon=rate("truncated", lambda s: s.h))
    if not any(np.any(s.d != 0) for s in scored):  # no rival
        return terms
    own = sum(float(np.mean(s.e**2)) for s in scored)
    rivals = sum(float(np.mean((s.e - s.d) ** 2)) for s in scored)
    return replace(terms, rival=own / (own + rivals) if own + rivals > 0 else 0.0)


@functools.lru_cache(maxsize=64)
def _student_quantile(p: float, nu: int) -> float:
    """Student's t quantile at ``p`` (> 0.5) with ``nu`` degrees of freedom, by bisection on its
    distribution function (Simpson's rule on the density; scipy would add to every command's
    start)."""

    def cdf(x):
        t = np.linspace(0.0, x, 2001)
        density = (1 + t**2 / nu) ** (-(nu + 1) / 2)
        simpson = density[0] + density[-1] + 4 * density[1:-1:2].sum() + 2 * density[2:-1:2].sum()
        norm = math.exp(math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2)) / math.sqrt(nu * math.pi)
        return 0.5 + norm * simpson * (x / 2000) / 3

    low, high = 0.0, 1.0
    while cdf(high) < p:
        low, high = high, 2 * high
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if cdf(mid) < p else (low, mid)
    return (low + high) / 2


def _row_area(stack: Stack) -> np.ndarray:
    """The forward area (sum of LRs) up to each row."""
    return np.take_along_axis(np.cumsum(stack.lr, axis=-1), stack.rows, axis=-1)


def _row_decayed_area(stack: Stack) -> np.ndarray:
    """The decayed area (:func:`decayed_area`) up to each row."""
    return np.take_along_axis(decayed_area(stack.lr, stack.warmup_steps), stack.rows, axis=-1)


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
