r"""The minimiser behind :func:`scalefit.fit`: Levenberg-Marquardt on Huber-shrunk log residuals,
vmapped over starts.

The Huber loss is a least-squares problem in disguise: each log residual :math:`r` is kept where
:math:`|r| \le \delta` and shrunk to :math:`\operatorname{sign}(r)\sqrt{\delta(2|r| - \delta)}`
beyond, so that half the sum of squares of the shrunk residuals is the objective. optimistix's
Levenberg-Marquardt minimises it from many starts at once (``jax.vmap``), in one compiled
program per shape of data that serves the screening of starts, their refinement, and the error
model's refits (:mod:`scalefit._uncertainty`); the ``*_groups`` functions do the same for many
independent fits at once, along a leading group axis (:mod:`scalefit._groups`). Parameters are
kept above their lower bounds by minimising over :math:`\theta = \log(p - p_{lower})`.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from scalefit import _programs, _progress

__all__ = [
    "held_coordinates",
    "huber_residuals",
    "minimize",
    "minimize_groups",
    "minimize_least_squares",
    "multistart",
    "multistart_groups",
    "polish",
    "refit",
    "refit_groups",
    "to_params",
    "to_theta",
]

_SCREEN_ITERATIONS = 10
# Levenberg-Marquardt's absolute tolerance, relative to its relative one: residuals are log
# losses of order 1e-3, parameters logs of order 1.
_ABSOLUTE_TOL = 1e-3


def to_params(theta: jax.Array, lower: jax.Array) -> jax.Array:
    """A law's parameters :math:`p = p_{lower} + e^\\theta` from the minimiser's coordinates."""
    return lower + jnp.exp(theta)


def to_theta(params: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """The minimiser's coordinates :math:`\\theta = \\log(p - p_{lower})` of parameters; a start
    on a bound itself (:math:`\\alpha = 0` in the paper's grid) starts just inside it."""
    return np.log(np.maximum(params - lower, 1e-3))


def minimize_least_squares(residuals, theta0, max_iter, tol):
    """Minimise ``0.5 * sum(residuals(theta)**2)`` from ``theta0`` by Levenberg-Marquardt
    (optimistix), stepped in a ``lax.while_loop`` so that the iteration limit may be traced.

    Traceable: jit and vmap it. Converged means optimistix's Cauchy test: both the step and
    the change of every residual are below ``tol`` relative (plus ``tol`` times
    ``_ABSOLUTE_TOL`` absolute). Returns ``(theta, objective, iterations, converged)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> def residuals(t):  # a line through (0, 1) and (1, 3): intercept 1, slope 2
        ...     return t[0] + t[1] * jnp.array([0.0, 1.0]) - jnp.array([1.0, 3.0])
        >>> theta, objective, iterations, converged = jax.jit(
        ...     lambda t0: minimize_least_squares(residuals, t0, 50, 1e-8)
        ... )(jnp.zeros(2))
        >>> [round(float(v), 4) for v in theta], bool(converged)
        ([1.0, 2.0], True)
    """
    # Imported here, not at the top: only tracing needs them, and a command whose compiled
    # programs come from the store never traces (they cost a second of every command's start).
    import equinox as eqx
    import optimistix as optx

    solver = optx.LevenbergMarquardt(rtol=tol, atol=tol * _ABSOLUTE_TOL)

    def fn(theta, _):
        return residuals(theta), None

    tags = frozenset()
    f_struct = jax.eval_shape(residuals, theta0)
    # The solver's state holds the residual function's Jacobian as a jaxpr: only its arrays
    # can be carried through the loop (as optimistix's own loop does).
    dynamic, static = eqx.partition(
        solver.init(fn, theta0, None, {}, f_struct, None, tags), eqx.is_array
    )

    def stopped(theta, dynamic):
        done, result = solver.terminate(fn, theta, None, {}, eqx.combine(dynamic, static), tags)
        return done, result == optx.RESULTS.successful

    def cond(carry):
        theta, dynamic, k = carry
        done, ok = stopped(theta, dynamic)
        return (k < max_iter) & ~done & ok

    def body(carry):
        theta, dynamic, k = carry
        state = eqx.combine(dynamic, static)
        theta, state, _ = solver.step(fn, theta, None, {}, state, tags)
        return theta, eqx.partition(state, eqx.is_array)[0], k + 1

    theta, dynamic, k = jax.lax.while_loop(cond, body, (theta0, dynamic, jnp.asarray(0)))
    done, ok = stopped(theta, dynamic)
    return theta, 0.5 * jnp.sum(residuals(theta) ** 2), k, done & ok


def huber_residuals(theta, lower, features, log_y, weight, delta, law_loss):
    """Residuals whose half sum of squares is the objective, Σ weight · Huber(r): each log
    residual r as it is where |r| <= delta, shrunk to sign(r) sqrt(delta (2|r| - delta)) beyond."""
    pred = law_loss(to_params(theta, lower), features)
    tiny = jnp.finfo(pred.dtype).tiny
    r = log_y - jnp.log(jnp.maximum(pred, tiny))
    far = jnp.sign(r) * jnp.sqrt(jnp.maximum(delta * (2 * jnp.abs(r) - delta), delta**2))
    return (jnp.sqrt(weight) * jnp.where(jnp.abs(r) <= delta, r, far)).ravel()


@partial(jax.jit, static_argnames="law_loss")
def _minimize_batch(
    theta0, lower, features, log_y, weight, held, delta, tol, max_iter, *, law_loss
):
    """Levenberg-Marquardt from each row of ``theta0``, each with its own row weights
    ``weight[i]`` and coordinates held at their start ``held[i]`` (vmapped); one compilation
    serves every call (starts of a fit, and the refits that measure its error).

    A held coordinate does not reach the residuals, so its column of the Jacobian is zero and
    the damped Gauss-Newton step leaves it where it started."""

    def run(theta, w, hold):
        def residuals(t):
            t = jnp.where(hold, theta, t)
            return huber_residuals(t, lower, features, log_y, w, delta, law_loss)

        out, value, k, done = minimize_least_squares(residuals, theta, max_iter, tol)
        return jnp.where(hold, theta, out), value, k, done

    theta, value, k, done = jax.vmap(run)(theta0, weight, held)
    return theta, jnp.where(jnp.isfinite(value), value, jnp.inf), k, done


def minimize(theta0: np.ndarray, data, iterations: int, *, law_loss, tol: float, held=None):
    """:func:`_minimize_batch` through the program store, with NumPy results. ``data`` is
    ``(lower, features, log_y, weight, delta)``; ``weight`` is ``(C, R)`` for every start or
    ``(B, C, R)``, one per start; ``held`` (``(B, P)`` booleans, default none) the coordinates
    each start keeps at its value."""
    lower, features, log_y, weight, delta = data
    weight = np.broadcast_to(weight, (len(theta0), *np.shape(log_y)))
    held = held_coordinates(held, theta0)
    out = _programs.call(
        _minimize_batch,
        theta0,
        lower,
        features,
        log_y,
        weight,
        held,
        delta,
        tol,
        iterations,
        law_loss=law_loss,
    )
    return tuple(np.asarray(x) for x in out)


def polish(theta0: np.ndarray, data, *, law_loss, max_iter: int, tol: float):
    """Minimise from one start on every row (after a search on thinned rows, from its best)."""
    theta, value, k, done = (
        x[0] for x in minimize(theta0[None], data, max_iter, law_loss=law_loss, tol=tol)
    )
    return theta, float(value), int(k), bool(done)


def multistart(theta0: np.ndarray, data, *, law_loss, refine, max_iter, tol):
    """Screen every start briefly, then run the best ``refine`` to convergence.

    Starts go through the minimiser in batches of ``refine`` so that screening and refining share
    one compiled program (compilation dominates a command-line fit's wall time). The glue between
    calls is NumPy: every JAX operation outside a compiled program costs a compilation too.
    """
    n, p = theta0.shape
    batches = _pad_rows(theta0, refine).reshape(-1, refine, p)
    screened = []
    for i, batch in enumerate(batches):
        _progress.report("fit: screening starts", i * refine, n)
        screened.append(minimize(batch, data, _SCREEN_ITERATIONS, law_loss=law_loss, tol=tol))
    theta, value, k_screen = (np.concatenate([r[i] for r in screened])[:n] for i in range(3))
    best = np.argsort(value, kind="stable")[:refine]
    _progress.report(f"fit: minimising from the best {refine} starts")
    theta, value, k, done = minimize(theta[best], data, max_iter, law_loss=law_loss, tol=tol)
    return theta, value, k + k_screen[best], done


def refit(theta0, weights, features, held=None, *, data, batch, law_loss, max_iter, tol):
    """Minimise from each row of ``theta0`` with its own row weights (and, where ``held`` says,
    coordinates held at their start), ``batch`` at a time (the multi-start's batch: one compiled
    program serves both)."""
    lower, log_y, delta = data
    n = len(theta0)
    held = held_coordinates(held, theta0)
    theta0, weights, held = (_pad_rows(x, batch) for x in (theta0, weights, held))
    out = [
        minimize(
            theta0[i : i + batch],
            (lower, features, log_y, weights[i : i + batch], delta),
            max_iter,
            law_loss=law_loss,
            tol=tol,
            held=held[i : i + batch],
        )[0]
        for i in range(0, len(theta0), batch)
    ]
    return np.concatenate(out)[:n]


@partial(jax.jit, static_argnames=("law_loss", "parallel"))
def _minimize_groups(
    theta0, lower, features, log_y, weight, held, delta, tol, max_iter, *, law_loss, parallel
):
    """:func:`_minimize_batch` over a leading group axis: group ``g`` minimises from its starts
    ``theta0[g]`` on its own features, log losses and row weights (every group's padded to
    common shapes), in one compiled program: the groups vmapped (``parallel``: a GPU steps
    them all at once) or one after another in a loop (a CPU: each group stops when its own
    starts do, none waits for the slowest)."""

    def group(args):
        theta0, features, log_y, weight, held = args
        return _minimize_batch(
            theta0, lower, features, log_y, weight, held, delta, tol, max_iter, law_loss=law_loss
        )

    args = (theta0, features, log_y, weight, held)
    return jax.vmap(group)(args) if parallel else jax.lax.map(group, args)


def minimize_groups(theta0: np.ndarray, data, iterations: int, *, law_loss, tol: float, held=None):
    """:func:`_minimize_groups` through the program store, with NumPy results: :func:`minimize`
    for ``G`` groups at once. ``theta0`` is ``(G, B, P)``; ``data`` is ``(lower, features,
    log_y, weight, delta)``, every array but ``lower`` with a leading group axis; ``weight`` is
    ``(G, C, R)`` for every start or ``(G, B, C, R)``, one per start; ``held`` (``(G, B, P)``
    booleans, default none) the coordinates each start keeps at its value."""
    lower, features, log_y, weight, delta = data
    if np.ndim(weight) == np.ndim(log_y):
        weight = weight[:, None]
    weight = np.broadcast_to(weight, (*theta0.shape[:2], *np.shape(log_y)[1:]))
    held = held_coordinates(held, theta0)
    out = _programs.call(
        _minimize_groups,
        theta0,
        lower,
        features,
        log_y,
        weight,
        held,
        delta,
        tol,
        iterations,
        law_loss=law_loss,
        parallel=_parallel(),
    )
    return tuple(np.asarray(x) for x in out)


def _parallel() -> bool:
    """Whether groups are minimised at once (vmapped), as a GPU does best, or one after
    another, as a CPU does (it steps them one at a time anyway)."""
    return jax.default_backend() != "cpu"


def multistart_groups(
    theta0: np.ndarray, n_starts: np.ndarray, data, *, law_loss, refine, max_iter, tol
):
    """:func:`multistart` for each of ``G`` groups at once: group ``g``'s starts are the first
    ``n_starts[g]`` rows of ``theta0[g]`` (``(G, S, P)``; the rest is padding, never refined).
    Screening, refinement (and the error model's refits, :func:`refit_groups`) share one
    compiled program: batches of ``refine`` starts of every group.
    Returns ``(theta, value, iterations, converged)`` of each group's best ``refine`` starts,
    ``(G, refine, ...)``."""
    n = theta0.shape[1]
    padded = np.concatenate([theta0, np.repeat(theta0[:, -1:], (-n) % refine, axis=1)], axis=1)
    screened = []
    for i in range(0, padded.shape[1], refine):
        _progress.report("fit: screening starts of every group", i, n)
        batch = padded[:, i : i + refine]
        screened.append(
            minimize_groups(batch, data, _SCREEN_ITERATIONS, law_loss=law_loss, tol=tol)
        )
    theta, value, k_screen = (
        np.concatenate([r[i] for r in screened], axis=1)[:, :n] for i in range(3)
    )
    value = np.where(np.arange(n) < np.asarray(n_starts)[:, None], value, np.inf)
    best = np.argsort(value, axis=1, kind="stable")[:, :refine]
    _progress.report(f"fit: minimising from the best {refine} starts of every group")
    start = np.take_along_axis(theta, best[..., None], axis=1)
    theta, value, k, done = minimize_groups(start, data, max_iter, law_loss=law_loss, tol=tol)
    return theta, value, k + np.take_along_axis(k_screen, best, axis=1), done


def refit_groups(theta0, weights, features, held=None, *, data, batch, law_loss, max_iter, tol):
    """:func:`refit` for each of ``G`` groups at once: from each row of ``theta0[g]``
    (``(G, F, P)``) with its own row weights ``weights[g]`` (``(G, F, C, R)``) and coordinates
    held where ``held[g]`` says (``(G, F, P)``, default none), ``batch`` rows of every group at
    a time (the group multi-start's batch: one compiled program serves both). ``data`` is
    ``(lower, log_y, delta)``."""
    lower, log_y, delta = data
    n = theta0.shape[1]
    more = (-n) % batch
    held = held_coordinates(held, theta0)
    theta0, weights, held = (
        np.concatenate([x, np.repeat(x[:, -1:], more, axis=1)], axis=1)
        for x in (theta0, weights, held)
    )
    out = [
        minimize_groups(
            theta0[:, i : i + batch],
            (lower, features, log_y, weights[:, i : i + batch], delta),
            max_iter,
            law_loss=law_loss,
            tol=tol,
            held=held[:, i : i + batch],
        )[0]
        for i in range(0, theta0.shape[1], batch)
    ]
    return np.concatenate(out, axis=1)[:, :n]


def held_coordinates(held, theta0) -> np.ndarray:
    """``held`` as booleans shaped like ``theta0``: which coordinates of each start stay at
    their value (``None``: none)."""
    return np.zeros(np.shape(theta0), dtype=bool) if held is None else np.asarray(held, bool)


def _pad_rows(x: np.ndarray, multiple: int) -> np.ndarray:
    """``x`` with its last row repeated up to a multiple of ``multiple`` rows (whole batches)."""
    return np.concatenate([x, np.repeat(x[-1:], (-len(x)) % multiple, axis=0)])
