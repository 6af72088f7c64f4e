r"""Fitting a law to one or more curves: the objective, the multi-start search, the result.

The objective is the paper's: a Huber loss (:math:`\delta = 10^{-3}`) on log residuals summed over
every observed row of every curve,

.. math::

    \mathcal{L}(\theta) = \sum_{c} \sum_{s \in \text{rows}_c}
        \operatorname{Huber}_\delta\big(\log y_{c,s} - \log \hat L_\theta(s; \eta_c)\big).

Starting points are minimised together in one compiled program (``jax.vmap`` over starts) by
optimistix's Levenberg-Marquardt on residuals whose half sum of squares is the objective (the
Huber loss is a least-squares problem in disguise: :mod:`scalefit.least_squares`); a profiled
momentum decay repeats this per value. Gauss-Newton curvature takes a few dozen steps where a
quasi-Newton method took hundreds in the multi-power law's long, flat valleys.
Bounds :math:`p \ge 0` are kept by optimising :math:`\log p`. The starts first take a few iterations
each; the best ``refine`` of them then run to convergence. Curves with many rows (per-step logs) are
searched on evenly thinned rows, weighted to keep the objective's scale, and the best start is then
minimised on every row. Only rows logged after warm-up are fitted by default. Fixed inputs give the
same fit every time. Each fit also carries the error model of its predictions
(:mod:`scalefit.uncertainty`) and the warnings of :mod:`scalefit.diagnostics`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from scalefit import _programs, _progress
from scalefit import uncertainty as _uncertainty
from scalefit.areas import DEFAULT_DECAY
from scalefit.curve import Curve
from scalefit.diagnostics import anneals, diagnose
from scalefit.errors import InputError
from scalefit.laws import DEFAULT_LAW, LAWS, Law, get_law
from scalefit.least_squares import multistart, polish, refit, to_params, to_theta
from scalefit.metrics import CurveMetrics, curve_metrics

__all__ = ["DECAY_GRID", "HUBER_DELTA", "Fit", "evaluate", "fit", "law_features"]

HUBER_DELTA = 1e-3
DECAY_GRID = (0.99, 0.995, 0.998, 0.999, 0.9995, 0.9998)
"""Values of the momentum decay tried when it is fitted (``fit_decay=True``)."""

# The error model's refits start at the fit: a hundred steps move them as far as the error
# estimate needs (the multi-power law's flat valley could take many more).
_REFIT_ITERATIONS = 100
_REFIT_TOL = 1e-6
_STRONG_CORRELATION = 0.95


@dataclass
class Fit:
    """The result of :func:`fit`: everything needed to judge, save and reuse a fit.

    Attributes:
        law: the law's registry name.
        params: fitted parameter values by name.
        options: the law's options used (e.g. ``decay``, ``warmup``) and the objective's settings.
        curves: what was fitted: one dict per curve (``name``, ``source``, ``rows``, ``steps``,
            ``warmup_steps``, ``peak_lr``).
        metrics: goodness of fit on each fitted curve.
        objective: the minimised objective (Huber on log residuals, summed over rows).
        n_starts: starting points minimised.
        n_iter: minimiser steps of the best start (screening included).
        converged: whether the best start met the convergence test.
        status: one line saying how the minimiser ended.
        warnings: what makes this fit doubtful, each with the reason.
        version: scalefit version that made the fit.
        uncertainty: the error model of its predictions (parameter covariance, transfer and
            horizon errors, the rival law's fit), or ``None`` (given parameters, or
            ``fit(uncertainty=False)``).
    """

    law: str
    params: dict[str, float]
    options: dict[str, object]
    curves: list[dict[str, object]]
    metrics: list[CurveMetrics]
    objective: float
    n_starts: int
    n_iter: int
    converged: bool
    status: str
    warnings: list[str] = field(default_factory=list)
    version: str = ""
    uncertainty: _uncertainty.Uncertainty | None = None

    @classmethod
    def given(cls, law: str | Law, params: dict[str, float], **options: object) -> Fit:
        """A fit made of given parameters (a paper's, say) to predict with; ``options`` override
        the law's defaults (e.g. ``warmup="actual"``). A parameter below the law's lower bound,
        or not a finite number, is a ``ValueError``."""
        law = get_law(law)
        return cls(
            law=law.name,
            params=_checked_params(law, {n: float(np.asarray(params[n])) for n in law.param_names}),
            options=_law_options(law, **options),
            curves=[],
            metrics=[],
            objective=float("nan"),
            n_starts=0,
            n_iter=0,
            converged=True,
            status="given, not fitted",
        )

    @property
    def law_options(self) -> dict[str, object]:
        """The law's options this fit was made with (for any not recorded, the value a file made
        before the option existed was made with, else the law's default), without the objective's
        settings: what ``law.prepare`` takes."""
        return recorded_options(get_law(self.law), self.options)

    @property
    def param_vector(self) -> np.ndarray:
        """Parameters in the law's order."""
        return np.array([self.params[n] for n in get_law(self.law).param_names])

    @property
    def standard_errors(self) -> dict[str, float] | None:
        r"""Standard error of each parameter (delta method from the sandwich covariance of
        :math:`\log(p - p_{lower})`), or ``None`` without an error model."""
        if self.uncertainty is None:
            return None
        law = get_law(self.law)
        scale = self.param_vector - np.asarray(law.lower)
        se = scale * np.sqrt(np.clip(np.diag(self.uncertainty.covariance), 0.0, None))
        return {n: float(v) for n, v in zip(law.param_names, se)}

    @property
    def correlations(self) -> np.ndarray | None:
        """Correlation matrix of the parameters (law order), or ``None`` without an error model."""
        if self.uncertainty is None:
            return None
        cov = np.asarray(self.uncertainty.covariance)
        sd = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
        return np.clip(cov / np.outer(sd, sd), -1.0, 1.0)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (see :meth:`from_dict`)."""
        return {
            "scalefit_fit": FORMAT,
            "version": self.version,
            "law": self.law,
            "formula": get_law(self.law).formula,
            "params": dict(self.params),
            "options": dict(self.options),
            "curves": [dict(c) for c in self.curves],
            "metrics": [m.to_dict() for m in self.metrics],
            "objective": self.objective,
            "n_starts": self.n_starts,
            "n_iter": self.n_iter,
            "converged": self.converged,
            "status": self.status,
            "warnings": list(self.warnings),
            "uncertainty": None if self.uncertainty is None else self.uncertainty.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Fit:
        """Rebuild a :class:`Fit` from :meth:`to_dict`'s output.

        An error model that cannot be read (a value no error model holds, the wrong shape) is
        dropped with a warning: the fit still predicts, without intervals.

        Raises:
            KeyError: a key is missing.
            ValueError: a value cannot be what a fit holds (a parameter that is not a finite
                number, a law option of the wrong kind or out of its range).
            InputError: the file's format is one this scalefit cannot read (a newer one).
        """
        version = data.get("scalefit_fit", FORMAT)
        if version != FORMAT:
            raise InputError(
                f"format {version!r}, which this scalefit ({_version()}) cannot read: it reads "
                f"format {FORMAT}"
            )
        law = get_law(str(data["law"]))
        params = _checked_params(law, data["params"])
        options = _checked_options(law, dict(data["options"]))
        curves = [dict(c) for c in data["curves"]]
        for c in curves:
            if "peak_lr" in c and not _finite(c["peak_lr"], "a curve's peak_lr") > 0:
                raise ValueError(f"a curve's peak_lr must be positive, not {c['peak_lr']}")
        warnings = [str(w) for w in data.get("warnings", [])]
        uncertainty = None
        if data.get("uncertainty") is not None:
            try:
                uncertainty = _uncertainty.Uncertainty.from_dict(data["uncertainty"])
                shape = np.shape(uncertainty.covariance)
                if shape != (law.n_params,) * 2:
                    raise ValueError(
                        f"its covariance is {shape[0]} x {shape[-1]}, not {law.n_params} x "
                        f"{law.n_params} (one row and column per parameter)"
                    )
            except (KeyError, TypeError, ValueError) as err:  # the point predictions still hold
                uncertainty = None
                problem = f"{err.args[0]!r} is missing" if isinstance(err, KeyError) else err
                warnings.append(f"the file's error model is unusable: {problem}")
        return cls(
            law=law.name,
            params=params,
            options=options,
            curves=curves,
            metrics=[CurveMetrics.from_dict(m) for m in data.get("metrics", [])],
            objective=float(data["objective"]),
            n_starts=int(data["n_starts"]),
            n_iter=int(data["n_iter"]),
            converged=bool(data["converged"]),
            status=str(data["status"]),
            warnings=warnings,
            version=str(data.get("version", "")),
            uncertainty=uncertainty,
        )

    def __str__(self) -> str:
        law = get_law(self.law)
        lines = [f"Fit of the {law.name} law: {law.formula}"]
        shown = {**self.law_options, **self.options}  # a file's unrecorded options as used
        opts = ", ".join(f"{k}={v}" for k, v in shown.items())
        lines.append(f"  options: {opts}")
        lines.append(
            f"  {self.status}; objective {self.objective:.6g} after {self.n_iter} iterations "
            f"(best of {self.n_starts} starts)"
        )
        errors = self.standard_errors
        lines.append("  parameters:" + ("  value ± standard error" if errors else ""))
        width = max(len(n) for n in self.params)
        for name, value in self.params.items():
            error = f"{value:<12.6g}  ± {errors[name]:.3g}" if errors else f"{value:.6g}"
            lines.append(f"    {name:<{width}}  {error}")
        if errors:
            names, corr = law.param_names, self.correlations
            strong = [
                f"{names[i]}~{names[j]} {corr[i, j]:+.3f}"
                for i in range(len(names))
                for j in range(i + 1, len(names))
                if abs(corr[i, j]) > _STRONG_CORRELATION
            ]
            if strong:
                limit = f"|r| > {_STRONG_CORRELATION}"
                lines.append(f"  strongly correlated ({limit}): " + ", ".join(strong))
            u = self.uncertainty
            rival = "" if u.rival is None else f"; rival law {u.rival['law']} (gap counts as error)"
            lines.append(
                f"  prediction error model: transfer {np.sqrt(u.transfer_variance):.2%} (log sd on "
                f"left-out curves), horizon {np.sqrt(u.horizon_variance):.2%} per log area ratio"
                + rival
            )
            lines.extend(f"    note: {note}" for note in u.notes)
        lines.append("  curves:")
        lines.extend("    " + row for row in CurveMetrics.table(self.metrics).splitlines())
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        return "\n".join(lines)

    __repr__ = __str__


FORMAT = 1
"""The version of the fit file's layout (its ``scalefit_fit`` key)."""


def _version() -> str:
    from scalefit import __version__

    return __version__


def _finite(value: object, what: str) -> float:
    """``value`` as a finite float (``ValueError`` otherwise, naming ``what``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    return float(value)


def _checked_params(law: Law, params: dict) -> dict[str, float]:
    """The law's parameters from ``params``, each a finite number at least the law's lower bound
    (``ValueError`` otherwise: a negative L0, say, would predict negative losses). Upper bounds
    are not checked: fits do not enforce them."""
    checked = {name: _finite(params[name], name) for name in law.param_names}
    for (name, value), low in zip(checked.items(), law.lower):
        if not value >= low:
            raise ValueError(f"{name} must be at least {low:g}, not {value!r}")
    return checked


# The built-in laws' options and the values they may take (a registered law's own options are
# only checked to be of their default's kind).
_OPTION_RANGES = {
    "decay": (0.0, 1.0, "between 0 and 1"),  # the annealing law's momentum decay
    "window": (0.0, math.inf, "positive"),  # the multi-power laws' exact steps, segments' width
    "resolution": (0.0, math.inf, "positive"),
    "drop_power": (0.0, math.inf, "positive"),
}


def _checked_options(law: Law, options: Mapping[str, object]) -> dict[str, object]:
    """``options`` with each of the law's own of its default's kind (a whole number as an
    ``int``, a warm-up convention, a built-in option within its range); ``ValueError`` else."""
    out = dict(options)
    for name, default in law.options.items():
        if name not in out:
            continue
        value = out[name]
        if name == "warmup" and value not in ("peak", "actual"):
            raise ValueError(f"option warmup must be 'peak' or 'actual', not {value!r}")
        if isinstance(default, bool) or not isinstance(default, (int, float)):
            if type(value) is not type(default):
                kind = type(default).__name__
                raise ValueError(f"option {name} must be a {kind}, not {value!r}")
            continue
        number = _finite(value, f"option {name}")
        low, high, words = _OPTION_RANGES.get(name, (-math.inf, math.inf, ""))
        if not low < number < high:
            raise ValueError(f"option {name} must be {words}, not {value!r}")
        if isinstance(default, int):
            if number != int(number):
                raise ValueError(f"option {name} must be a whole number, not {value!r}")
            out[name] = int(number)
    return out


# ---------------------------------------------------------------------------------- evaluation


@partial(jax.jit, static_argnames="law_loss")
def _evaluate(params, features, *, law_loss):
    return law_loss(params, features)


def evaluate(law: Law, params: np.ndarray, features: dict[str, jax.Array]) -> np.ndarray:
    """The law's loss at every row of ``features`` (from :func:`law_features`); float64 NumPy."""
    with jax.enable_x64(True):
        params = np.asarray(params, dtype=np.float64)
        return np.asarray(_programs.call(_evaluate, params, features, law_loss=law.loss))


@partial(jax.jit, static_argnames="law_loss")
def _log_loss_and_gradient(theta, lower, features, *, law_loss):
    def log_loss(t):
        return jnp.log(law_loss(to_params(t, lower), features))

    return log_loss(theta), jax.jacfwd(log_loss)(theta)


def log_loss_and_gradient(law: Law, params: np.ndarray, features: dict[str, jax.Array]):
    r"""The log of the law's loss at every row of ``features`` and its gradient with respect to
    the minimiser's coordinates :math:`\theta = \log(p - p_{lower})`: arrays ``(..., r)`` and
    ``(..., r, n_params)``, float64 NumPy. What the delta method needs."""
    with jax.enable_x64(True):
        lower = np.asarray(law.lower, dtype=np.float64)
        theta = np.log(np.maximum(np.asarray(params, dtype=np.float64) - lower, 1e-300))
        out = _programs.call(_log_loss_and_gradient, theta, lower, features, law_loss=law.loss)
        return tuple(np.asarray(x) for x in out)


# ---------------------------------------------------------------------------------- features


@dataclass(frozen=True)
class _Stack:
    """Curves padded to common shapes: per-step LRs (C, N); rows, losses, weights (C, R)."""

    lr: np.ndarray
    rows: np.ndarray
    loss: np.ndarray
    weight: np.ndarray
    warmup_steps: np.ndarray

    def unstack(self, values: np.ndarray) -> list[np.ndarray]:
        """Per-curve arrays from a (C, R) array, padding dropped."""
        return [v[w > 0] for v, w in zip(values, self.weight)]

    def thinned(self, max_rows: int) -> tuple[_Stack, np.ndarray | None]:
        """At most ``max_rows`` evenly spaced rows of each curve (first and last kept), each
        weighted by how many rows it stands for, so that the objective keeps its scale; and
        which rows they are (``(C, r)`` indices, for :func:`_take_rows`; ``None``: all)."""
        counts = (self.weight > 0).sum(axis=1)
        if counts.max() <= max_rows:
            return self, None
        picks = [
            np.unique(np.round(np.linspace(0, n - 1, min(n, max_rows))).astype(int)) for n in counts
        ]
        r = max(p.size for p in picks)
        index = np.stack([np.pad(p, (0, r - p.size), mode="edge") for p in picks])
        weight = np.stack(
            [np.where(np.arange(r) < p.size, n / p.size, 0.0) for p, n in zip(picks, counts)]
        )
        take = partial(np.take_along_axis, indices=index, axis=1)
        return _Stack(self.lr, take(self.rows), take(self.loss), weight, self.warmup_steps), index


def _take_rows(
    features: dict[str, jax.Array], index: np.ndarray | None, shape: tuple[int, int]
) -> dict[str, np.ndarray]:
    """The per-row features (leading axes ``shape``: curves, rows) at the rows ``index`` of each
    curve; the others as they are. A feature at a row depends only on the LRs and that row, so
    this equals computing them at those rows, without a second compiled feature program."""
    if index is None:
        return features
    out = {}
    for name, value in features.items():
        value = np.asarray(value)
        if value.shape[:2] == shape:
            at = index.reshape(index.shape + (1,) * (value.ndim - 2))
            value = np.take_along_axis(value, at, axis=1)
        out[name] = value
    return out


def _stack(curves: Sequence[Curve]) -> _Stack:
    # Padding the LR with its last value leaves every earlier feature unchanged (they depend on
    # the LRs up to their step, and on the peak, which the last LR does not exceed), so all curves
    # share one compiled feature computation; padded rows get weight 0.
    n = max(c.n_steps for c in curves)
    r = _round_up(max(c.loss.size for c in curves), 64)  # similar fits share compiled programs
    lr = np.stack([np.pad(c.lr, (0, n - c.n_steps), mode="edge") for c in curves])
    rows = np.stack([np.pad(c.step, (0, r - c.step.size), mode="edge") for c in curves])
    loss = np.stack([np.pad(c.loss, (0, r - c.loss.size), mode="edge") for c in curves])
    weight = np.stack([np.arange(r) < c.loss.size for c in curves]).astype(np.float64)
    warmup = np.array([c.warmup_steps for c in curves])
    return _Stack(lr, rows, loss, weight, warmup)


def law_features(
    law: Law,
    lr: np.ndarray,
    rows: np.ndarray,
    warmup_steps: np.ndarray,
    options: dict[str, object],
) -> dict[str, jax.Array]:
    """The law's features at ``rows`` of per-step LRs ``lr`` (both with a leading curve axis),
    in float64."""
    # Padding the LR with its last value leaves every earlier feature unchanged (see _stack);
    # rounded-up lengths let schedules of similar budgets share one compiled program.
    lr = np.asarray(lr, dtype=np.float64)
    lr = np.pad(lr, [(0, 0), (0, _round_up(lr.shape[-1], 1024) - lr.shape[-1])], mode="edge")
    with jax.enable_x64(True):
        features = _programs.call(
            law.prepare, lr, np.asarray(rows), np.asarray(warmup_steps), **options
        )
    return law.finish(features) if law.finish else features


def _features(law: Law, stack: _Stack, options: dict[str, object]) -> dict[str, jax.Array]:
    return law_features(law, stack.lr, stack.rows, stack.warmup_steps, options)


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


# ---------------------------------------------------------------------------------- fit


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
) -> Fit:
    """Fit ``law`` to one or more curves at once.

    Args:
        curves: a :class:`~scalefit.curve.Curve` or several (ragged lengths are fine).
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
        uncertainty: also estimate how sure the fit's predictions are
            (:class:`~scalefit.uncertainty.Uncertainty`: parameter errors, prediction
            intervals), at the cost of a few refits (leave one curve out, first halves only)
            and, for a law that names a rival, a fit of the rival law.

    Returns:
        A :class:`Fit`.

    Raises:
        InputError: no curve, a curve without rows or without a positive LR, or fewer rows than
            the law has parameters.
        TypeError: something other than curves (a path: read it with
            :func:`scalefit.io.read_curve`).
        ValueError: a setting out of its range (``decay`` outside (0, 1), ``huber_delta`` <= 0).
    """
    from scalefit import __version__

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
    if not (huber_delta > 0 and refine >= 1 and max_iter >= 1 and tol > 0):
        raise ValueError(
            "huber_delta and tol must be > 0, refine and max_iter >= 1; got "
            f"{huber_delta}, {tol}, {refine} and {max_iter}"
        )
    if skip_warmup:
        curves = [c.after_warmup() for c in curves]
    for c in curves:
        if c.loss.size == 0:
            raise InputError(
                f"{c.source or c.name}: no observed loss to fit"
                + (" after warm-up" if skip_warmup else "")
            )
        if np.any(~np.isfinite(c.loss)) or np.any(c.loss <= 0):
            raise InputError(f"{c.source or c.name}: losses must be finite and positive")
        if not np.any(c.lr > 0):
            raise InputError(f"{c.source or c.name}: the learning rate is 0 at every step")
    law = get_law(law)
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
    decays = sorted(set(DECAY_GRID) | {decay}) if fit_decay else [decay]

    stack = _stack(curves)
    search, picked = stack.thinned(law.search_rows)
    lower = np.asarray(law.lower, dtype=np.float64)
    results = []
    with jax.enable_x64(True):
        for lam in decays:
            options = _law_options(law, decay=lam, warmup=warmup)
            every_row = _features(law, stack, options)
            features = _take_rows(every_row, picked, stack.weight.shape)
            flat = {  # the per-row features, flattened over curves
                k: np.concatenate(search.unstack(np.asarray(v)))
                for k, v in features.items()
                if np.shape(v)[:2] == search.weight.shape
            }
            start_params = law.starts(np.concatenate(search.unstack(search.loss)), flat)
            theta, value, k, done = multistart(
                to_theta(start_params, lower),
                (lower, features, np.log(search.loss), search.weight, huber_delta),
                law_loss=law.loss,
                refine=min(refine, len(start_params)),
                max_iter=max_iter,
                tol=tol,
            )
            i = int(np.argmin(value))
            results.append(
                _Searched(
                    float(value[i]),
                    options,
                    theta[i],
                    int(k[i]),
                    bool(done[i]),
                    every_row,
                    features,
                )
            )
        n_starts = len(start_params)
        value, options, theta, n_iter, converged, features, search_features = min(
            results, key=lambda r: r.value
        )
        if picked is not None:
            _progress.report("fit: minimising on every row")
            theta, value, k, converged = polish(
                theta,
                (lower, features, np.log(stack.loss), stack.weight, huber_delta),
                law_loss=law.loss,
                max_iter=max_iter,
                tol=tol,
            )
            n_iter += k
        params = lower + np.exp(theta)
        predicted = stack.unstack(evaluate(law, params, features))
        error_model = None
        if uncertainty and np.isfinite(value) and np.all(np.isfinite(theta)):
            _progress.report("fit: refitting without each curve and on first halves (errors)")
            error_model = _uncertainty.assess(
                law,
                search,
                theta,
                search_features,
                refit=partial(
                    refit,
                    data=(lower, np.log(search.loss), huber_delta),
                    batch=refine,
                    law_loss=law.loss,
                    max_iter=min(max_iter, _REFIT_ITERATIONS),
                    tol=max(tol, _REFIT_TOL),
                ),
                anneals=[anneals(c) for c in curves],
            )

    metrics = [curve_metrics(c.name, c.loss, p) for c, p in zip(curves, predicted)]

    if not np.isfinite(value):
        status = "failed: the objective is not finite at any start"
    elif converged:
        status = "converged"
    else:
        status = f"stopped at the iteration limit ({max_iter}) before converging"
    options = {
        **options,
        "huber_delta": huber_delta,
        "fit_decay": fit_decay,
        "skip_warmup": skip_warmup,
    }
    result = Fit(
        law=law.name,
        params={n: float(v) for n, v in zip(law.param_names, params)},
        options=options,
        curves=[
            {
                "name": c.name,
                "source": c.source,
                "rows": int(c.loss.size),
                "steps": c.n_steps,
                "warmup_steps": int(c.warmup_steps),
                "peak_lr": float(np.max(c.lr)),
            }
            for c in curves
        ],
        metrics=metrics,
        objective=value,
        n_starts=n_starts,
        n_iter=n_iter,
        converged=converged,
        status=status,
        version=__version__,
        uncertainty=error_model,
    )
    if error_model is not None and law.rival:
        result.uncertainty = _with_rival(
            error_model,
            law.rival,
            curves,
            huber_delta=huber_delta,
            skip_warmup=skip_warmup,
            refine=refine,
            max_iter=max_iter,
            tol=tol,
        )
    result.warnings.extend(diagnose(result, curves, predicted))
    if fit_decay and options["decay"] in (decays[0], decays[-1]):
        result.warnings.append(_decay_at_grid_end(options["decay"], decays))
    _progress.clear()
    return result


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


def _with_rival(error_model, rival: str, curves, **settings):
    """``error_model`` with the fit of the ``rival`` law to the same curves (its own
    conventions, e.g. how warm-up counts; the same objective and minimiser ``settings``), whose
    distance from the fit's predictions counts as error (:mod:`scalefit.uncertainty`)."""
    _progress.report(f"fit: fitting the {rival} law beside it (errors)")
    other = fit(curves, rival, uncertainty=False, **settings)
    if not np.isfinite(other.objective):
        notes = (*error_model.notes, f"the rival {rival} law could not be fitted: no rival term")
        return dataclasses.replace(error_model, notes=notes)
    return dataclasses.replace(
        error_model,
        rival={"law": other.law, "params": other.params, "options": other.law_options},
    )


class _Searched(NamedTuple):
    """The best start of a multi-start search under one set of law options."""

    value: float
    options: dict[str, object]
    theta: np.ndarray
    n_iter: int
    converged: bool
    features: dict[str, jax.Array]  # at every row
    search_features: dict[str, jax.Array]  # at the rows searched


def recorded_options(law: Law, options: Mapping[str, object]) -> dict[str, object]:
    """The law's options as a fit recorded them in ``options``: for any not recorded, the value a
    fit file made before the option existed was made with (``Law.legacy_options``), else the
    law's default."""
    return {
        k: options.get(k, law.legacy_options.get(k, default)) for k, default in law.options.items()
    }


def _law_options(law: Law, **given: object) -> dict[str, object]:
    return {k: default if given.get(k) is None else given[k] for k, default in law.options.items()}
