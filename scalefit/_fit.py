r"""Fitting a law to one or more curves: the objective, the multi-start search, the result.

The objective is the paper's: a Huber loss (:math:`\delta = 10^{-3}`) on log residuals summed over
every observed row of every curve,

.. math::

    \mathcal{L}(\theta) = \sum_{c} \sum_{s \in \text{rows}_c}
        \operatorname{Huber}_\delta\big(\log y_{c,s} - \log \hat L_\theta(s; \eta_c)\big).

Starting points are minimised together in one compiled program (``jax.vmap`` over starts) by
optimistix's Levenberg-Marquardt on residuals whose half sum of squares is the objective (the
Huber loss is a least-squares problem in disguise: :mod:`scalefit._least_squares`); a profiled
momentum decay repeats this per value. Gauss-Newton curvature takes a few dozen steps where a
quasi-Newton method took hundreds in the multi-power law's long, flat valleys.
Bounds :math:`p \ge 0` are kept by optimising :math:`\log p`. The starts first take a few iterations
each; the best ``refine`` of them then run to convergence. Curves with many rows (per-step logs) are
searched on evenly thinned rows, weighted to keep the objective's scale, and the best start is then
minimised on every row. Only rows logged after warm-up are fitted by default. Fixed inputs give the
same fit every time. Each fit also carries the error model of its predictions
(:mod:`scalefit._uncertainty`) and the warnings of :mod:`scalefit._diagnostics`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import jax
import numpy as np

from scalefit import _progress
from scalefit._curve import Curve
from scalefit._diagnostics import diagnose
from scalefit._errors import InputError
from scalefit._features import Stack, evaluate, take_rows
from scalefit._least_squares import multistart, polish, refit, to_theta
from scalefit._metrics import curve_metrics
from scalefit._result import Fit, Uncertainty, _checked_options, _law_options
from scalefit._uncertainty import Refits, assess
from scalefit._version import __version__
from scalefit.areas import DEFAULT_DECAY
from scalefit.laws import DEFAULT_LAW, LAWS, Law, get_law, hold

__all__ = ["DECAY_GRID", "HUBER_DELTA", "fit"]

HUBER_DELTA = 1e-3
DECAY_GRID = (0.99, 0.995, 0.998, 0.999, 0.9995, 0.9998)
"""Values of the momentum decay tried when it is fitted (``fit_decay=True``)."""

# The error model's refits start at the fit: a hundred steps move them as far as the error
# estimate needs (the multi-power law's flat valley could take many more).
_REFIT_ITERATIONS = 100
_REFIT_TOL = 1e-6


@dataclass(frozen=True)
class _Settings:
    """The objective's and the minimiser's settings, shared by a fit, its refits and its rival."""

    huber_delta: float
    skip_warmup: bool
    refine: int
    max_iter: int
    tol: float


@dataclass(frozen=True)
class _Search:
    """The best start of a multi-start search under one set of law options."""

    value: float
    options: dict[str, object]
    theta: np.ndarray
    n_iter: int
    converged: bool
    n_starts: int
    features: dict[str, jax.Array]  # at every row
    searched: Stack  # the rows searched (every row, or evenly thinned ones)
    search_features: dict[str, jax.Array]  # at the rows searched
    thinned: bool


def fit(
    curves: Curve | Sequence[Curve],
    law: str | Law = DEFAULT_LAW,
    *,
    decay: float = DEFAULT_DECAY,
    fit_decay: bool = False,
    warmup: str | None = None,
    huber_delta: float = HUBER_DELTA,
    skip_warmup: bool = True,
    refine: int = 4,
    max_iter: int = 1000,
    tol: float = 1e-8,
    uncertainty: bool = True,
    prior: Fit | None = None,
    borrow: Sequence[str] = (),
) -> Fit:
    """Fit ``law`` to one or more curves at once.

    Args:
        curves: a :class:`~scalefit.Curve` or several (ragged lengths are fine).
        law: a registered law's name, or the law itself (registered:
            :func:`scalefit.laws.register`).
        decay: the momentum decay :math:`\\lambda` for laws that have one.
        fit_decay: profile :math:`\\lambda` over :data:`DECAY_GRID` (plus ``decay``) and keep the
            best, instead of holding it fixed (a warning says when the best is the grid's
            first or last value).
        warmup: ``"peak"`` or ``"actual"``: how warm-up steps count (default: the law's own
            convention; ``"peak"`` for the annealing law, as its paper does).
        huber_delta: :math:`\\delta` of the Huber loss on log residuals.
        skip_warmup: fit only the losses observed from the end of each curve's warm-up on (the
            laws describe training after warm-up; the first losses of a run, near log(vocab),
            would otherwise pull the fit). Predictions still cover every step.
        refine: how many of the best screened starts run to convergence.
        max_iter: Levenberg-Marquardt step limit per start.
        tol: a start has converged when its last step and the change of every residual are
            below ``tol`` relative (optimistix's Cauchy test).
        uncertainty: also estimate how sure the fit's predictions are (parameter errors,
            prediction intervals: :class:`~scalefit.Uncertainty`), at the cost of a few refits
            (each curve left out, the curves truncated, their decays cut) and, for a law that
            names a rival, a fit of the rival law and the same refits of it.
        prior: a fit of the same law to earlier runs of the same setup, to borrow from.
        borrow: parameters held at ``prior``'s values instead of fitted (those the curves
            cannot identify: the annealing parameters of curves without a decay, say). Their
            uncertainty comes from ``prior``'s error model, whose other terms also count where
            larger (its decay rate then reaches decays as long as the prior's); borrowing
            annealing parameters borrows the rival law's too.

    Returns:
        A :class:`Fit`.

    Raises:
        InputError: no curve, a curve without rows or without a positive LR, or fewer rows than
            the law has parameters.
        TypeError: something other than curves (a path: read it with
            :func:`scalefit.io.read_curve`).
        ValueError: a setting out of its range (``decay`` outside (0, 1), ``huber_delta`` <= 0),
            or a ``prior`` of another law, or ``borrow`` naming no parameter of the law.
    """
    settings = _Settings(huber_delta, skip_warmup, refine, max_iter, tol)
    curves, law = _checked_input(curves, law, settings, decay, fit_decay, warmup)
    borrowed = _borrowed(law, prior, borrow)
    free = _held(law, borrowed)
    decays = sorted(set(DECAY_GRID) | {decay}) if fit_decay else [decay]
    stack = Stack.of(curves)
    rival_prior = prior if set(borrowed) & set(law.annealing_params) else None
    with jax.enable_x64(True):
        best = _minimise(free, stack, decays, warmup, settings)
        error_model = _assess_errors(free, best, stack, curves, settings, rival_prior, uncertainty)
    predicted = stack.unstack(evaluate(free, _params(free, best.theta), best.features))
    params = {**dict(zip(free.param_names, _params(free, best.theta))), **borrowed}
    result = _record(law, params, curves, best, predicted, error_model, settings, fit_decay)
    if borrowed:
        result.options["borrowed"] = list(borrowed)
        if error_model is not None:
            result.uncertainty = _with_prior(error_model, law, free, prior)
    result.warnings.extend(diagnose(result, curves, predicted))
    if fit_decay and best.options["decay"] in (decays[0], decays[-1]):
        result.warnings.append(_decay_at_grid_end(best.options["decay"], decays))
    _progress.clear()
    return result


def _minimise(
    law: Law, stack: Stack, decays: list[float], warmup: str | None, settings: _Settings
) -> _Search:
    """The best start of the search over each momentum decay, polished."""
    searches = [
        _search(law, stack, _law_options(law, decay=d, warmup=warmup), settings) for d in decays
    ]
    return _polish(law, stack, min(searches, key=lambda s: s.value), settings)


def _checked_input(
    curves: object,
    law: str | Law,
    settings: _Settings,
    decay: float,
    fit_decay: bool,
    warmup: str | None,
) -> tuple[list[Curve], Law]:
    """The curves to fit (from their warm-up's end unless ``skip_warmup`` is off) and the law,
    or the error that says why they cannot be fitted."""
    if isinstance(curves, (str, os.PathLike)):
        raise TypeError(f"fit takes curves, not a path: read {curves} with scalefit.io.read_curve")
    curves = [curves] if isinstance(curves, Curve) else list(curves)
    if not curves:
        raise InputError("no curve to fit")
    strays = [type(c).__name__ for c in curves if not isinstance(c, Curve)]
    if strays:
        raise TypeError(
            f"fit takes Curve objects (scalefit.io.read_curve makes them), not {strays[0]}"
        )
    s = settings
    if not (s.huber_delta > 0 and s.refine >= 1 and s.max_iter >= 1 and s.tol > 0):
        raise ValueError(
            "huber_delta and tol must be > 0, refine and max_iter >= 1; got "
            f"{s.huber_delta}, {s.tol}, {s.refine} and {s.max_iter}"
        )
    if s.skip_warmup:
        curves = [c.after_warmup() for c in curves]
    _check_curves(curves, s.skip_warmup)
    law = get_law(law)
    _check_law(law, curves, s.skip_warmup, decay, fit_decay, warmup)
    return curves, law


def _check_curves(curves: list[Curve], skip_warmup: bool) -> None:
    after = " after warm-up" if skip_warmup else ""
    for c in curves:
        if c.loss.size == 0:
            raise InputError(f"{c.source or c.name}: no observed loss to fit{after}")
        if np.any(~np.isfinite(c.loss)) or np.any(c.loss <= 0):
            raise InputError(f"{c.source or c.name}: losses must be finite and positive")
        if not np.any(c.lr > 0):
            raise InputError(f"{c.source or c.name}: the learning rate is 0 at every step")


def _check_law(
    law: Law,
    curves: list[Curve],
    skip_warmup: bool,
    decay: float,
    fit_decay: bool,
    warmup: str | None,
) -> None:
    rows = sum(c.loss.size for c in curves)
    if rows < law.n_params:
        where = ", ".join(c.source or c.name for c in curves)
        raise InputError(
            f"{where}: {rows} observed loss(es){' after warm-up' if skip_warmup else ''} for the "
            f"{law.name} law's {law.n_params} parameters: log more of the run"
        )
    if LAWS.get(law.name.lower()) is not law:
        raise ValueError(
            f"the law {law.name!r} is not the one registered under that name: pass it to "
            "scalefit.laws.register first (a fit refers to its law by name)"
        )
    if (fit_decay or decay != DEFAULT_DECAY) and "decay" not in law.options:
        what = "to fit" if fit_decay else f"to set to {decay}"
        raise InputError(
            f"the {law.name} law has no momentum decay {what} (the annealing law has one: "
            "--law annealing)"
        )
    _checked_options(law, _law_options(law, decay=decay, warmup=warmup))  # as a file holds them
    if law.rival and law.rival.lower() not in LAWS:
        raise InputError(f"the {law.name} law's rival {law.rival!r} is not a registered law")


def _search(law: Law, stack: Stack, options: dict[str, object], settings: _Settings) -> _Search:
    """Screen the law's starts on (evenly thinned) rows, refine the best, keep the best one."""
    searched, picked = stack.thinned(law.search_rows)
    every_row = stack.features(law, options)
    features = take_rows(every_row, picked, stack.weight.shape)
    per_row = {  # the per-row features, flattened over curves, for placing starts
        k: np.concatenate(searched.unstack(np.asarray(v)))
        for k, v in features.items()
        if np.shape(v)[:2] == searched.weight.shape
    }
    start_params = law.starts(np.concatenate(searched.unstack(searched.loss)), per_row)
    lower = np.asarray(law.lower, dtype=np.float64)
    theta, value, k, done = multistart(
        to_theta(start_params, lower),
        (lower, features, np.log(searched.loss), searched.weight, settings.huber_delta),
        law_loss=law.loss,
        refine=min(settings.refine, len(start_params)),
        max_iter=settings.max_iter,
        tol=settings.tol,
    )
    i = int(np.argmin(value))
    return _Search(
        value=float(value[i]),
        options=options,
        theta=theta[i],
        n_iter=int(k[i]),
        converged=bool(done[i]),
        n_starts=len(start_params),
        features=every_row,
        searched=searched,
        search_features=features,
        thinned=picked is not None,
    )


def _polish(law: Law, stack: Stack, best: _Search, settings: _Settings) -> _Search:
    """The best start minimised on every row, when the search ran on thinned rows."""
    if not best.thinned:
        return best
    _progress.report("fit: minimising on every row")
    lower = np.asarray(law.lower, dtype=np.float64)
    theta, value, k, converged = polish(
        best.theta,
        (lower, best.features, np.log(stack.loss), stack.weight, settings.huber_delta),
        law_loss=law.loss,
        max_iter=settings.max_iter,
        tol=settings.tol,
    )
    return dataclasses.replace(
        best, theta=theta, value=value, n_iter=best.n_iter + k, converged=converged
    )


def _assess_errors(
    law: Law,
    best: _Search,
    stack: Stack,
    curves: list[Curve],
    settings: _Settings,
    rival_prior: Fit | None,
    wanted: bool = True,
) -> Uncertainty | None:
    """The fit's error model (:func:`scalefit._uncertainty.assess`), its refits (and, for a law
    that names a rival, its rival's, borrowing from ``rival_prior``) run on the rows searched,
    from the fit, in the search's compiled minimiser; ``None`` if not ``wanted`` or for a fit
    that failed."""
    if not (wanted and np.isfinite(best.value) and np.all(np.isfinite(best.theta))):
        return None
    rival = _rival(law.rival, stack, settings, rival_prior) if law.rival else None
    _progress.report("fit: refitting on parts of the curves (errors)")
    rival_refits = None if rival is None else _refits(rival[0], rival[1], settings)
    error_model = assess(_refits(law, best, settings), stack, curves, rival_refits)
    if rival is None:
        return error_model
    rival_law, search, borrowed = rival
    if not np.isfinite(search.value):
        note = f"the rival {law.rival} law could not be fitted: no rival term"
        return dataclasses.replace(error_model, notes=(*error_model.notes, note))
    values = {**dict(zip(rival_law.param_names, _params(rival_law, search.theta))), **borrowed}
    whole = get_law(law.rival)
    record = {
        "law": whole.name,
        "params": {n: float(values[n]) for n in whole.param_names},
        "options": {k: search.options[k] for k in whole.options},
    }
    return dataclasses.replace(error_model, rival=record)


def _refits(law: Law, best: _Search, settings: _Settings) -> Refits:
    """What the error model needs to refit ``law`` from its fit ``best`` on part of the rows."""
    lower = np.asarray(law.lower, dtype=np.float64)
    return Refits(
        law,
        best.theta,
        best.searched,
        best.search_features,
        best.features,
        partial(
            refit,
            data=(lower, np.log(best.searched.loss), settings.huber_delta),
            batch=settings.refine,
            law_loss=law.loss,
            max_iter=min(settings.max_iter, _REFIT_ITERATIONS),
            tol=max(settings.tol, _REFIT_TOL),
        ),
    )


def _rival(
    name: str, stack: Stack, settings: _Settings, prior: Fit | None
) -> tuple[Law, _Search, dict[str, float]]:
    """The fit of the rival law ``name`` to the same rows (its own conventions, e.g. how warm-up
    counts; the same objective and minimiser ``settings``), for the error model: the law as
    fitted, its search, and the parameters it borrowed. With a ``prior`` whose error model holds
    a rival fit, the rival borrows that fit's annealing parameters."""
    _progress.report(f"fit: fitting the {name} law beside it (errors)")
    rival = whole = get_law(name)
    borrowed = {}
    if prior is not None and prior.uncertainty is not None and prior.uncertainty.rival:
        record = prior.uncertainty.rival["params"]
        borrowed = {n: float(record[n]) for n in whole.annealing_params}
        rival = _held(whole, borrowed)
    search = _search(rival, stack, _law_options(rival), settings)
    return rival, _polish(rival, stack, search, settings), borrowed


def _params(law: Law, theta: np.ndarray) -> np.ndarray:
    return np.asarray(law.lower, dtype=np.float64) + np.exp(theta)


def _record(
    law: Law,
    params: dict[str, float],
    curves: list[Curve],
    best: _Search,
    predicted: list[np.ndarray],
    error_model: Uncertainty | None,
    settings: _Settings,
    fit_decay: bool,
) -> Fit:
    """The :class:`Fit` of the search's best point: parameters, options, curves, metrics."""
    if not np.isfinite(best.value):
        status = "failed: the objective is not finite at any start"
    elif best.converged:
        status = "converged"
    else:
        status = f"stopped at the iteration limit ({settings.max_iter}) before converging"
    options = {
        **best.options,
        "huber_delta": settings.huber_delta,
        "fit_decay": fit_decay,
        "skip_warmup": settings.skip_warmup,
    }
    return Fit(
        law=law.name,
        params={n: float(params[n]) for n in law.param_names},
        options=options,
        curves=[_curve_record(c) for c in curves],
        metrics=[curve_metrics(c.name, c.loss, p) for c, p in zip(curves, predicted)],
        objective=best.value,
        n_starts=best.n_starts,
        n_iter=best.n_iter,
        converged=best.converged,
        status=status,
        version=__version__,
        uncertainty=error_model,
    )


def _curve_record(curve: Curve) -> dict[str, object]:
    return {
        "name": curve.name,
        "source": curve.source,
        "rows": int(curve.loss.size),
        "steps": curve.n_steps,
        "warmup_steps": int(curve.warmup_steps),
        "peak_lr": float(np.max(curve.lr)),
    }


def _decay_at_grid_end(decay: float, grid: Sequence[float]) -> str:
    """The warning of a profiled momentum decay that ends on its grid's edge."""
    faster = decay == grid[0]
    return (
        f"the fitted momentum decay lambda = {decay:g} sits at the "
        f"{'lower' if faster else 'upper'} end of the values tried ({grid[0]:g}-{grid[-1]:g}): "
        f"the curves want a loss drop that saturates {'faster' if faster else 'slower'} than "
        "any of them gives, and the other parameters make up for it; a law whose drop saturates "
        "as a power of the LR area may suit them better (the multipower-fixed law)"
    )


def _most_degrees(*models: Uncertainty) -> int:
    """The most degrees of freedom of error models' quantiles (0, the normal quantile, counts as
    infinitely many): the quantile of the model measured on the most folds."""
    degrees = [u.degrees_of_freedom for u in models]
    return 0 if 0 in degrees else max(degrees)


def _held(law: Law, borrowed: dict[str, float]) -> Law:
    """``law`` with the ``borrowed`` parameters held at their values (``law`` itself: none)."""
    return (
        hold(law, f"{law.name}, borrowing {', '.join(borrowed)}", **borrowed) if borrowed else law
    )


def _borrowed(law: Law, prior: Fit | None, borrow: Sequence[str]) -> dict[str, float]:
    """The parameters to hold at ``prior``'s values, by name (checked)."""
    borrow = [borrow] if isinstance(borrow, str) else list(dict.fromkeys(borrow))
    if not borrow:
        return {}
    if prior is None:
        raise ValueError(f"borrowing {', '.join(borrow)} needs a prior fit to borrow from")
    if prior.law != law.name:
        raise ValueError(f"the prior is a fit of the {prior.law} law, not of the {law.name} law")
    unknown = [n for n in borrow if n not in law.param_names]
    if unknown:
        raise ValueError(f"the {law.name} law has no parameter {', '.join(unknown)} to borrow")
    if len(borrow) == law.n_params:
        raise ValueError("borrowing every parameter leaves nothing to fit: predict with the prior")
    return {n: prior.params[n] for n in borrow}


def _with_prior(error_model: Uncertainty, law: Law, free: Law, prior: Fit) -> Uncertainty:
    """The error model of a fit of ``free`` (``law`` with borrowed parameters held) as one of
    ``law``: the borrowed parameters' covariance from ``prior``'s error model (none without
    one), its other terms (transfer, horizon and decay rates, the largest decayed area, the
    rival's weight) where larger than the fit's own, and the quantile of whichever of the two
    was measured on more folds (the borrowed parameters' errors, which the prior measured, are
    then the larger part)."""
    index = [law.param_names.index(n) for n in free.param_names]
    borrowed = [i for i in range(law.n_params) if i not in index]
    covariance = np.zeros((law.n_params, law.n_params))
    covariance[np.ix_(index, index)] = error_model.covariance
    names = ", ".join(law.param_names[i] for i in borrowed)
    fitted_on = ", ".join(str(c.get("name", "?")) for c in prior.curves) or "given parameters"
    u = prior.uncertainty
    if u is None:
        note = f"{names} borrowed from a fit without an error model ({fitted_on}): taken as exact"
        return dataclasses.replace(
            error_model, covariance=covariance, notes=(*error_model.notes, note)
        )
    covariance[np.ix_(borrowed, borrowed)] = np.asarray(u.covariance)[np.ix_(borrowed, borrowed)]
    note = (
        f"{names} borrowed from the fit of {fitted_on}, with its parameter errors; its other "
        "error terms count where larger than this fit's"
    )
    return dataclasses.replace(
        error_model,
        covariance=covariance,
        transfer_variance=max(error_model.transfer_variance, u.transfer_variance),
        horizon_variance=max(error_model.horizon_variance, u.horizon_variance),
        decay_variance=max(error_model.decay_variance, u.decay_variance),
        decayed_area=max(error_model.decayed_area, u.decayed_area),
        rival_weight=max(error_model.rival_weight, u.rival_weight),
        degrees_of_freedom=_most_degrees(error_model, u),
        notes=(*error_model.notes, note),
    )
