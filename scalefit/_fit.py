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
minimised on every row, or, for a log of more than :data:`POLISH_ROWS` rows a curve (every step of a
long run), on that many evenly thinned ones, where its metrics are measured too: memory stays
bounded, and the fit stays within its standard errors of the every-row fit
(``benchmarks/long_logs.py``).
Only rows logged after warm-up are fitted by default. Fixed inputs give the
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
from scalefit._diagnostics import diagnose, near_zero_steps
from scalefit._errors import InputError
from scalefit._features import Stack, evaluate, references, take_rows
from scalefit._least_squares import multistart, polish, refit, to_theta
from scalefit._metrics import curve_metrics
from scalefit._result import Fit, Uncertainty, _checked_options, _law_options
from scalefit._sweep import Sweep, peaks_of, sizes_of
from scalefit._uncertainty import Refits, assess
from scalefit._version import __version__
from scalefit.areas import DEFAULT_DECAY
from scalefit.laws import LAWS, Law, default_law, get_law, hold

__all__ = ["DECAY_GRID", "HUBER_DELTA", "fit"]

HUBER_DELTA = 1e-3
DECAY_GRID = (0.99, 0.995, 0.998, 0.999, 0.9995, 0.9998)
"""Values of the momentum decay tried when it is fitted (``fit_decay=True``)."""

# The error model's refits start at the fit: a hundred steps move them as far as the error
# estimate needs (the multi-power law's flat valley could take many more).
_REFIT_ITERATIONS = 100
_REFIT_TOL = 1e-6
POLISH_ROWS = 8192
"""The most rows of a curve the best start is minimised on (beyond, rows are evenly thinned and
weighted, as for the search): a log of every step of a long run fits in bounded memory."""


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
    polished: Stack  # the rows polished: every row, or at most POLISH_ROWS a curve, evenly
    polish_features: dict[str, jax.Array]
    searched: Stack  # the rows searched: the polished ones, or evenly thinned ones of them
    search_features: dict[str, jax.Array]
    thinned: bool  # whether the search ran on fewer rows than the polish


def fit(
    curves: Curve | Sequence[Curve] | Sweep,
    law: str | Law | None = None,
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
        curves: a :class:`~scalefit.Curve`, several (ragged lengths are fine), or a
            :class:`~scalefit.Sweep` (each of its logged rows counted once).
        law: a registered law's name, or the law itself (registered:
            :func:`scalefit.laws.register`); default: the one for runs like these
            (:func:`scalefit.laws.default_law`: the default law for one peak LR and size, a law
            across peaks or sizes for runs that span them).
        decay: the momentum decay :math:`\\lambda` for laws that have one.
        fit_decay: profile :math:`\\lambda` over a grid from 0.99 to 0.9998 (``DECAY_GRID``,
            plus ``decay``) and keep the best, instead of holding it fixed (a warning says when
            the best is the grid's first or last value).
        warmup: ``"peak"`` or ``"actual"``: how warm-up steps count (default: the law's own
            convention; ``"peak"`` for the annealing law, as its paper does).
        huber_delta: :math:`\\delta` of the Huber loss on log residuals.
        skip_warmup: fit only the losses observed from the end of each curve's warm-up on (the
            laws describe training after warm-up; the first losses of a run, near log(vocab),
            would otherwise pull the fit). Predictions still cover every step.
        refine: how many of the best screened starts run to convergence.
        max_iter: Levenberg-Marquardt step limit per start.
        tol: a start has converged when its step and every residual's change are below ``tol``.
        uncertainty: also estimate how sure the predictions are (:class:`~scalefit.Uncertainty`),
            at the cost of a few refits (folds) and, for a law naming a rival, the rival's fit.
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
    borrowed, held = _borrowed(law, prior, borrow), _undetermined(law, curves)
    free = _held(law, {**borrowed, **held})
    decays = sorted(set(DECAY_GRID) | {decay}) if fit_decay else [decay]
    refs = {k: v for k, v in references(curves).items() if _reads(law, k)}
    stack = Stack.of(curves, refs)
    rival_prior = prior if set(borrowed) & set(law.annealing_params) else None
    with jax.enable_x64(True):
        best = _minimise(free, stack, decays, warmup, settings)
        error_model = _assess_errors(free, best, stack, curves, settings, rival_prior, uncertainty)
    scored, predicted = _scored(free, best, stack, curves)
    params = {**dict(zip(free.param_names, _params(free, best.theta))), **borrowed, **held}
    result = _record(law, params, curves, scored, best, predicted, error_model, settings, fit_decay)
    result.options |= refs | {k: list(v) for k, v in (("borrowed", borrowed), ("held", held)) if v}
    if error_model is not None and free is not law:
        result.uncertainty = _of_whole_law(error_model, law, free, borrowed, prior)
    result.warnings.extend(diagnose(result, scored, predicted))
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
    return _polish(law, min(searches, key=lambda s: s.value), settings)


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
    if isinstance(curves, Sweep):
        curves = curves.counted_once()
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
    law = get_law(law if law is not None else _law_for(curves))
    _check_law(law, curves, s.skip_warmup, decay, fit_decay, warmup)
    return curves, law


def _law_for(curves: list[Curve]) -> str:
    """The law for runs like ``curves``: across the peak LRs and model sizes they span."""
    return default_law(len(peaks_of(curves)), len(sizes_of(curves)))


def _reads(law: Law, reference: str) -> bool:
    """Whether ``law`` reads the fitted runs' ``reference`` (``lr_ref``, ``size_ref``)."""
    needs = {"lr_ref": "log_lr_ref", "size_ref": "log_size"}.get(reference)
    return needs is None or needs in law.context  # counting steps in tokens is every law's


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
    polished, _ = stack.thinned(POLISH_ROWS)
    polish_features = polished.features(law, options)
    searched, picked, features, start_params = _search_inputs(law, polished, polish_features)
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
        polished=polished,
        polish_features=polish_features,
        searched=searched,
        search_features=features,
        thinned=picked is not None,
    )


def _search_inputs(
    law: Law, polished: Stack, polish_features: dict[str, jax.Array]
) -> tuple[Stack, np.ndarray | None, dict[str, np.ndarray], np.ndarray]:
    """The rows a search runs on (the polished ones, evenly thinned to the law's
    ``search_rows``), which they are, their features, and the law's starts placed on them."""
    searched, picked = polished.thinned(law.search_rows)
    features = take_rows(polish_features, picked, polished.weight.shape)
    per_row = {  # the per-row features, flattened over curves, for placing starts
        k: np.concatenate(searched.unstack(np.asarray(v)))
        for k, v in features.items()
        if np.shape(v)[:2] == searched.weight.shape
    }
    start_params = law.starts(np.concatenate(searched.unstack(searched.loss)), per_row)
    return searched, picked, features, start_params


def _polish(law: Law, best: _Search, settings: _Settings) -> _Search:
    """The best start minimised on every row (at most :data:`POLISH_ROWS` a curve), when the
    search ran on fewer."""
    if not best.thinned:
        return best
    _progress.report("fit: minimising on every row")
    lower = np.asarray(law.lower, dtype=np.float64)
    rows = best.polished
    theta, value, k, converged = polish(
        best.theta,
        (lower, best.polish_features, np.log(rows.loss), rows.weight, settings.huber_delta),
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
    from the fit, in the search's compiled minimiser, and scored on the rows polished; ``None``
    if not ``wanted`` or for a fit that failed."""
    if not (wanted and np.isfinite(best.value) and np.all(np.isfinite(best.theta))):
        return None
    rival = _rival(law.rival, stack, settings, rival_prior) if law.rival else None
    _progress.report("fit: refitting on parts of the curves (errors)")
    rival_refits = None if rival is None else _refits(rival[0], rival[1], settings)
    error_model = assess(_refits(law, best, settings), best.polished, curves, rival_refits)
    return _with_rival(error_model, law.rival, rival)


def _with_rival(
    error_model: Uncertainty, name: str | None, rival: tuple[Law, _Search, dict] | None
) -> Uncertainty:
    """``error_model`` with the fit of the rival law ``name`` recorded (``rival``: the law as
    fitted, its search and the parameters it borrowed, :func:`_rival`), or a note that it failed."""
    if rival is None:
        return error_model
    rival_law, search, borrowed = rival
    if not np.isfinite(search.value):
        note = f"the rival {name} law could not be fitted: no rival term"
        return dataclasses.replace(error_model, notes=(*error_model.notes, note))
    values = {**dict(zip(rival_law.param_names, _params(rival_law, search.theta))), **borrowed}
    whole = get_law(name)
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
        best.polish_features,
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
    return rival, _polish(rival, search, settings), borrowed


def _scored(
    law: Law, best: _Search, stack: Stack, curves: list[Curve]
) -> tuple[list[Curve], list[np.ndarray]]:
    """The rows the fit is scored on (its metrics, its diagnostics): those it was polished on,
    every row of a curve of up to :data:`POLISH_ROWS`, and the fit's loss there."""
    loss = evaluate(law, _params(law, best.theta), best.polish_features)
    return _scored_as(best.polished, loss, stack, curves)


def _scored_as(
    rows: Stack, loss: np.ndarray, stack: Stack, curves: list[Curve]
) -> tuple[list[Curve], list[np.ndarray]]:
    """The curves at the polished ``rows`` and the fit's ``loss`` there (:func:`_scored`)."""
    predicted = rows.unstack(loss)
    if rows is stack:
        return curves, predicted
    steps, losses = rows.unstack(rows.rows), rows.unstack(rows.loss)
    scored = [dataclasses.replace(c, step=s, loss=y) for c, s, y in zip(curves, steps, losses)]
    return scored, predicted


def _params(law: Law, theta: np.ndarray) -> np.ndarray:
    return np.asarray(law.lower, dtype=np.float64) + np.exp(theta)


def _record(
    law: Law,
    params: dict[str, float],
    curves: list[Curve],
    scored: list[Curve],
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
        metrics=[curve_metrics(c.name, c.loss, p) for c, p in zip(scored, predicted)],
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
        "near_zero_steps": near_zero_steps(curve.lr[: _last_step(curve) + 1], curve.warmup_steps),
        **{k: getattr(curve, k) for k in ("params", "tokens_per_step") if getattr(curve, k)},
    }


def _last_step(curve: Curve) -> int:
    """The last step the curve's losses describe."""
    return int(curve.step[-1]) if curve.step.size else curve.n_steps - 1


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


def _undetermined(law: Law, curves: list[Curve]) -> dict[str, float]:
    """The parameters of ``law`` the runs cannot determine, at the values held: the size
    exponent of the level for runs of two sizes (at :data:`LEVEL_EXPONENT`)."""
    if "log_size" not in law.context:
        return {}
    sizes = sizes_of(curves)
    if len(sizes) < 2:
        raise InputError(
            f"the {law.name} law spans model sizes, and these runs have "
            + ("one" if sizes else "none given (params)")
        )
    return {"a_N": LEVEL_EXPONENT} if len(sizes) == 2 else {}


LEVEL_EXPONENT = 0.3
"""The size exponent of the level held for runs of two sizes (it leaves the level at both as
fitted; a prediction at another size depends on it)."""


def _most_degrees(*models: Uncertainty) -> int:
    """The most degrees of freedom of error models' quantiles (0, the normal quantile, counts as
    infinitely many): the quantile of the model measured on the most folds."""
    degrees = [u.degrees_of_freedom for u in models]
    return 0 if 0 in degrees else max(degrees)


def _held(law: Law, values: dict[str, float]) -> Law:
    """``law`` with some parameters held at ``values`` (``law`` itself: none)."""
    return hold(law, f"{law.name}, holding {', '.join(values)}", **values) if values else law


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


def _of_whole_law(
    error_model: Uncertainty, law: Law, free: Law, borrowed: dict[str, float], prior: Fit | None
) -> Uncertainty:
    """The error model of a fit of ``free`` (``law`` with some parameters held) as one of
    ``law``: the held parameters' covariance 0, or, for those borrowed from ``prior``, its
    error model's (none without one), with its other terms (transfer, horizon and decay rates,
    the largest decayed area, the rival's weight) where larger than the fit's own, and the
    quantile of whichever of the two was measured on more folds (the borrowed parameters'
    errors, which the prior measured, are then the larger part)."""
    index = [law.param_names.index(n) for n in free.param_names]
    covariance = np.zeros((law.n_params, law.n_params))
    covariance[np.ix_(index, index)] = error_model.covariance
    notes = list(error_model.notes)
    held = [n for n in law.param_names if n not in free.param_names and n not in borrowed]
    if held:
        notes.append(f"{', '.join(held)} held: the fitted runs do not determine it")
    model = dataclasses.replace(error_model, covariance=covariance, notes=tuple(notes))
    if not borrowed:
        return model
    return _with_prior(model, law, list(borrowed), prior)


def _with_prior(error_model: Uncertainty, law: Law, borrowed: list[str], prior: Fit) -> Uncertainty:
    """``error_model`` with the ``borrowed`` parameters' errors and the other terms of
    ``prior``'s error model (see :func:`_of_whole_law`)."""
    index = [law.param_names.index(n) for n in borrowed]
    names = ", ".join(borrowed)
    fitted_on = ", ".join(str(c.get("name", "?")) for c in prior.curves) or "given parameters"
    u = prior.uncertainty
    if u is None:
        note = f"{names} borrowed from a fit without an error model ({fitted_on}): taken as exact"
        return dataclasses.replace(error_model, notes=(*error_model.notes, note))
    covariance = np.array(error_model.covariance)
    covariance[np.ix_(index, index)] = np.asarray(u.covariance)[np.ix_(index, index)]
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
