r"""Choosing a learning-rate schedule before training, by the loss a fit predicts for it.

Three questions, one answer (a :class:`Ranking`, best first):

* :func:`rank`: which of these schedules (specs, logged or designed per-step LRs) ends lowest?
* :func:`search_family`: the best settings of a family at a given budget, peak and warm-up:
  WSD's cooldown fraction and final LR for each cooldown shape, cosine's or linear's final LR,
  the polynomial decay's power and final LR, the inverse square root's cooldown fraction and
  final LR for each cooldown shape, REX's beta and final LR, the power law's exponent and tail
  fraction. A grid is evaluated in one batched call, and its best point per shape refined by
  L-BFGS on the settings (through the law, differentiated by JAX).
* :func:`optimize_schedule`: the best schedule of free per-step LRs, non-increasing after warm-up
  and at most the peak, by gradient descent through the law from the best WSD schedule. The LRs
  after warm-up are written :math:`\eta_t = p\,(1 - \sum_{k < t} q_k)` with :math:`q =
  \mathrm{softmax}(z)` over the decay steps and the final LR, so every :math:`z` is a valid
  schedule.

Minimising a law's predicted final loss can reward schedules no one should train with: the
annealing (momentum) law's annealing area keeps growing after the LR falls to zero, so its
optimum holds the peak, then drops to zero within a couple of steps (Luo et al. 2025, Sec. 5).
:func:`optimize_schedule` refuses such a collapse (:class:`DegenerateOptimum`, with the reason)
rather than hand it over; the multi-power law's optima are smooth.

Honesty: a fit is only as good as its error on the curves it was fitted to. Two candidates whose
predicted final losses are closer than that (the mean RMSE of the fit, or a given tolerance) are
marked indistinguishable from the best instead of ranked as if they were not.

References:
    Tissue et al. 2024, Scaling Law with Learning Rate Annealing, arXiv:2408.11029 (optimal WSD
    cooldowns by the law). Luo et al. 2025, A Multi-Power Law for Loss Curve Prediction Across
    Learning Rate Schedules, ICLR 2025, arXiv:2503.12811 (Sec. 5: optimised schedules).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from numpy.typing import ArrayLike

from scalefit import _programs
from scalefit._curve import Curve
from scalefit._diagnostics import near_zero_steps
from scalefit._errors import InputError
from scalefit._features import RunContext
from scalefit._predict import (
    budget_warnings,
    first_described_step,
    fitted_size,
    peak_warnings,
    predicted_losses,
    size_warnings,
    tail_warnings,
)
from scalefit._result import Fit
from scalefit._text import short_names
from scalefit.areas import leading_warmup
from scalefit.laws import get_law
from scalefit.schedules import (
    SHAPES,
    Schedule,
    decay_curve,
    default_timescale,
    parse_schedule,
    polynomial_decay,
    power_law_tail_steps,
    rex_decay,
    rsqrt_decay,
    wsd_cooldown_steps,
)

__all__ = [
    "SEARCHABLE",
    "Candidate",
    "Choice",
    "DegenerateOptimum",
    "Ranking",
    "fit_error",
    "optimize_schedule",
    "rank",
    "log_spaced",
    "search_family",
    "search_peaks",
]

SEARCHABLE = ("wsd", "cosine", "linear", "polynomial", "rsqrt", "rex", "powerlaw")
"""The families :func:`search_family` searches."""

_DECAY_GRID = tuple(np.round(np.arange(0.05, 0.951, 0.05), 2))
_FINAL_GRID = (0.0, 0.01, 0.03, 0.1, 0.3)  # fractions of the peak
_EXP_FINAL_GRID = (0.001, 0.01, 0.03, 0.1, 0.3)  # the exp shape needs a final LR > 0
_LINE_FINAL_GRID = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5)
_POWER_GRID = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)  # polynomial powers
_POWER_RANGE = (0.1, 10.0)  # ... refined on a log scale between these
_BETA_GRID = (0.0, 0.25, 0.5, 0.75, 0.9)  # REX: linear, ..., the paper's 0.5, its code's 0.9
_BETA_MAX = 0.95  # beyond, REX holds the peak and drops at the last steps (the laws' artefact)
_EXPONENT_GRID = (-0.1, -0.25, -0.5, -0.75, -1.0)  # power-law b (OLMo-core's default -0.51)
_EXPONENT_RANGE = (0.01, 2.0)  # ... |b| refined on a log scale between these
_RSQRT_SHAPES = ("linear", "sqrt")  # rsqrt's cooldowns searched by default
_SUDDEN_DROP = 0.1  # of the peak in one step: worth a warning
_COLLAPSE = (0.9, 0.01)  # from this fraction of the peak to near zero ...
_COLLAPSE_STEPS = 0.001  # ... within this fraction of the steps (at least 2): degenerate

_NAME_WIDTH = 64
"""The widest a candidate's name in a ranking's table (a family search's settings fit whole)."""


class DegenerateOptimum(InputError):
    """The schedule that minimises the law's prediction is an artefact of the law (e.g. the
    momentum law's drop to zero at the last moment); the message says why."""


@dataclass(frozen=True)
class Candidate:
    """A schedule to rank: its label and per-step LRs.

    Attributes:
        name: the label reported (a spec, a file path, ``"optimized"``).
        lr: per-step learning rates (index = step); the last step is the budget.
        warmup_steps: the warm-up length (laws that treat warm-up apart read it).
    """

    name: str
    lr: np.ndarray = field(repr=False, compare=False)
    warmup_steps: int = 0

    @property
    def steps(self) -> int:
        """The budget: the last step."""
        return self.lr.size - 1


@dataclass(frozen=True)
class Choice:
    """One ranked schedule.

    Attributes:
        name: the candidate as given (spec, path or label).
        final_loss: the predicted loss at its last step.
        gap: ``final_loss`` minus the best candidate's.
        indistinguishable: the gap is within the ranking's tolerance (ties with the best).
        at: predicted losses at the checkpoints asked for, by step (NaN past the budget, or
            inside a warm-up the fit left out).
        lr: the per-step learning rates.
        warmup_steps: the warm-up length.
    """

    name: str
    final_loss: float
    gap: float
    indistinguishable: bool
    at: dict[int, float] = field(default_factory=dict)
    lr: np.ndarray = field(default=None, repr=False, compare=False)
    warmup_steps: int = 0

    @property
    def candidate(self) -> Candidate:
        return Candidate(self.name, self.lr, self.warmup_steps)


@dataclass(frozen=True)
class Ranking:
    """Schedules ranked by predicted final loss, best first.

    Attributes:
        choices: the ranked schedules.
        tolerance: predicted losses closer than this cannot be told apart.
        tolerance_from: where the tolerance comes from.
        warnings: what makes this ranking doubtful, each with the reason.
    """

    choices: tuple[Choice, ...]
    tolerance: float
    tolerance_from: str
    warnings: tuple[str, ...] = ()

    @property
    def best(self) -> Choice:
        """The schedule with the lowest predicted final loss."""
        return self.choices[0]

    def to_frame(self):
        """A ``pandas.DataFrame``: ``candidate, final_loss, gap, indistinguishable`` and a
        ``loss_at_STEP`` column per checkpoint, best first."""
        import pandas as pd

        rows = []
        for c in self.choices:
            row = {"candidate": c.name, "final_loss": c.final_loss, "gap": c.gap}
            row["indistinguishable"] = c.indistinguishable
            row.update({f"loss_at_{s}": v for s, v in c.at.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def table(self) -> str:
        """The ranking as a text table, with the tolerance (without the warnings)."""
        steps = sorted({s for c in self.choices for s in c.at})
        names = short_names([c.name for c in self.choices], most=_NAME_WIDTH)
        width = max(len(n) for n in names)
        head = f"  {'#':>2}  {'candidate':<{width}}  {'final loss':>10}  {'gap':>8}"
        head += "".join(f"  {'at ' + str(s):>10}" for s in steps)
        lines = [head]
        for i, (c, name) in enumerate(zip(self.choices, names), 1):
            tie = "  ~ best" if c.indistinguishable and i > 1 else ""
            line = f"  {i:>2}  {name:<{width}}  {c.final_loss:>10.5f}  {c.gap:>8.5f}"
            line += "".join(f"  {c.at.get(s, math.nan):>10.5f}" for s in steps)
            lines.append(line + tie)
        ties = sum(c.indistinguishable for c in self.choices) - 1
        if len(self.choices) > 1:
            lines.append(
                f"  tolerance {self.tolerance:.5f} ({self.tolerance_from}): "
                + (
                    f"{ties} candidate(s) marked '~ best' cannot be told apart from the best"
                    if ties
                    else "the best is ahead of every other candidate by more than that"
                )
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return "\n".join([self.table(), *(f"  warning: {w}" for w in self.warnings)])

    __repr__ = __str__


# ------------------------------------------------------------------------------------ ranking


def fit_error(fit: Fit) -> float:
    """The fit's own error: the mean RMSE of its prediction over the curves it was fitted to
    (0 for a fit of given parameters, which carries no metrics)."""
    return float(np.mean([m.rmse for m in fit.metrics])) if fit.metrics else 0.0


def _as_candidate(schedule: object) -> Candidate:
    if isinstance(schedule, Candidate):
        return schedule
    if isinstance(schedule, Choice):
        return schedule.candidate
    if isinstance(schedule, str):  # named as given
        parsed = parse_schedule(schedule)
        return Candidate(schedule, parsed.lr(), parsed.warmup)
    if isinstance(schedule, Schedule):
        return Candidate(schedule.spec, schedule.lr(), schedule.warmup)
    if isinstance(schedule, Curve):
        return Candidate(schedule.name, schedule.lr, schedule.warmup_steps)
    if hasattr(schedule, "lr") and hasattr(schedule, "warmup_steps"):  # io.LoggedSchedule
        return Candidate(str(schedule.name), np.asarray(schedule.lr), int(schedule.warmup_steps))
    lr = np.asarray(schedule, dtype=np.float64)
    if lr.ndim != 1 or lr.size < 2:
        raise InputError("a per-step LR array must be one-dimensional with at least two steps")
    return Candidate("lr", lr, leading_warmup(lr))


def rank(
    fit: Fit,
    candidates: Iterable[Candidate | Choice | Schedule | Curve | str | ArrayLike],
    *,
    at: Sequence[int] = (),
    tolerance: float | None = None,
    params: float | None = None,
) -> Ranking:
    """Rank schedules by the final loss ``fit`` predicts for each, best first.

    Args:
        fit: the fit to predict with.
        candidates: schedules: spec strings, :class:`~scalefit.schedules.Schedule`, logged
            schedules (:func:`scalefit.io.read_schedule`), curves, :class:`Candidate` or per-step
            LR arrays. Budgets may differ.
        at: checkpoints (steps) to report the predicted loss at as well (NaN, with a warning,
            past a candidate's budget or inside a warm-up the fit left out).
        tolerance: predicted losses closer than this are indistinguishable; default the
            fit's own error (the mean RMSE of its prediction over the curves it was fitted to).
        params: the model size the schedules are for, for a fit across sizes (default: the
            fitted size where the fit saw one).

    Returns:
        A :class:`Ranking`.

    Examples:
        >>> from scalefit import Fit
        >>> fit = Fit.given("annealing", {"L0": 2.0, "A": 1.0, "alpha": 0.5, "C": 2.0})
        >>> r = rank(fit, ["cosine:peak=1e-3,steps=1000", "constant:peak=1e-3,steps=1000"])
        >>> r.best.name  # as given
        'cosine:peak=1e-3,steps=1000'
        >>> round(r.best.gap, 6), round(r.choices[1].gap, 4)
        (0.0, 0.3449)
    """
    if isinstance(candidates, (str, Schedule, Curve, Candidate, Choice)):
        candidates = [candidates]  # one schedule, not a sequence of them
    cands = [_as_candidate(c) for c in candidates]
    if not cands:
        raise InputError("no candidate schedule to rank")
    checkpoints = sorted({int(s) for s in np.atleast_1d(np.asarray(at, dtype=np.int64))})
    if checkpoints and checkpoints[0] < 0:
        raise InputError(f"checkpoints must be steps >= 0, got {checkpoints[0]}")
    rows = [np.array([s for s in checkpoints if s < c.steps] + [c.steps]) for c in cands]
    losses = predicted_losses(
        fit,
        [c.lr for c in cands],
        rows,
        [c.warmup_steps for c in cands],
        sizes=[params] * len(cands),
    )
    finals = np.array([loss[-1] for loss in losses])
    best = float(finals.min())
    tol, source = _tolerance(fit, tolerance)
    firsts = [first_described_step(fit, c.warmup_steps) for c in cands]
    choices = []
    for c, first, r, loss, final in zip(cands, firsts, rows, losses, finals):
        by_step = dict(zip(r[:-1].tolist(), loss[:-1].tolist()))
        if c.steps in checkpoints:
            by_step[c.steps] = float(final)
        checks = {s: by_step.get(s, math.nan) if s >= first else math.nan for s in checkpoints}
        gap = float(final) - best
        choices.append(Choice(c.name, float(final), gap, gap <= tol, checks, c.lr, c.warmup_steps))
    choices.sort(key=lambda c: c.final_loss)
    warnings = _reach_warnings(fit, cands) + size_warnings(fit, params, "the candidates")
    for step in checkpoints:
        short = sum(c.steps < step for c in cands)
        if short:
            warnings.append(
                f"checkpoint {step} lies beyond the budget of {short} candidate(s): no loss "
                "there (nan)"
            )
        early = sum(step < first for first in firsts)
        if early:
            warnings.append(
                f"checkpoint {step} lies inside the warm-up of {early} candidate(s), which the "
                "fit left out: no loss there (nan)"
            )
    return Ranking(tuple(choices), tol, source, tuple(warnings))


def _tolerance(fit: Fit, tolerance: float | None) -> tuple[float, str]:
    if tolerance is not None:
        if not tolerance >= 0:
            raise InputError(f"the tolerance must be >= 0, got {tolerance!r}")
        return float(tolerance), "given"
    if fit.metrics:
        return fit_error(fit), f"the fit's mean RMSE on its {len(fit.metrics)} curve(s)"
    return 0.0, "none: the fit carries no error of its own"


def _reach_warnings(fit: Fit, cands: Sequence[Candidate]) -> list[str]:
    furthest = max(cands, key=lambda c: float(np.sum(c.lr)))
    warnings = budget_warnings(fit, furthest.lr, name=f"candidate {furthest.name}")
    for c in (max(cands, key=_peak), min(cands, key=_peak)):
        warnings += [
            w for w in peak_warnings(fit, c.lr, f"candidate {c.name}") if w not in warnings
        ]
    for c in sorted(cands, key=lambda c: -near_zero_steps(c.lr, c.warmup_steps)):
        tail = tail_warnings(fit, c.lr, c.warmup_steps, f"candidate {c.name}")
        if tail:  # the candidate lingering longest near zero LR among those beyond the fit
            return warnings + tail
    return warnings


def _peak(candidate: Candidate) -> float:
    return float(np.max(candidate.lr))


# ----------------------------------------------------------------------------- family search


def _law_setup(fit: Fit, n_steps: int, size: float | None) -> tuple[str, tuple, np.ndarray, tuple]:
    """The law's name, its options as a hashable tuple (exact sums for ``n_steps``), params, and
    what it reads of the run (its context's features at a model of ``size``) as a tuple."""
    options = fit.law_options
    if "window" in options:  # the multi-power law: every step its own term (exact, one row)
        options["window"] = n_steps
    law = get_law(fit.law)
    size = size if size is not None else fitted_size(fit)
    context = RunContext.of(fit.options, [size]).features(law, (1, 1))
    values = tuple(sorted((k, float(v[0, 0])) for k, v in context.items()))
    return fit.law, tuple(sorted(options.items())), fit.param_vector, values


def _final_loss(params, lr, warmup_steps, *, law_name, options, context=()):
    """The law's predicted loss at the last step of ``lr``: a traceable function of ``lr``;
    ``context``: the run's context features' values (:func:`_law_setup`)."""
    law = get_law(law_name)
    rows = jnp.full((1, 1), lr.shape[-1] - 1)
    features = law.prepare(lr[None], rows, jnp.reshape(warmup_steps, (1,)), **dict(options))
    features |= {name: jnp.full((1, 1), value, lr.dtype) for name, value in context}
    return law.loss(params, features)[0, 0]


def _family_lr(theta, shape, t, *, family, steps, warmup, peak, shapes):
    """Per-step LRs of ``family`` with continuous settings ``theta = (u, v)`` (each family's
    maps: :data:`_SEARCH_LRS`); ``shape`` indexes ``shapes``."""
    theta = jnp.clip(theta, -30.0, 30.0)  # keeps the final LR > 0: exp's gradient stays finite
    lr_of = _SEARCH_LRS[family]
    value = lr_of(
        theta[0], theta[1], shape, t, steps=steps, warmup=warmup, peak=peak, shapes=shapes
    )
    return jnp.where(t < warmup, peak * t / max(warmup, 1), value)


def _wsd_lr(u, v, shape, t, *, steps, warmup, peak, shapes):
    """WSD: cooldown fraction ``lo + (hi - lo) sigmoid(u)`` (between one step and all after
    warm-up), final LR ``peak * sigmoid(v)``."""
    final = peak * jax.nn.sigmoid(v)
    lo, hi = 1.0 / steps, (steps - warmup) / steps
    length = steps * (lo + (hi - lo) * jax.nn.sigmoid(u))
    start = steps - length
    x = jnp.clip((t - start) / length, 0.0, 1.0)
    value = jnp.stack([decay_curve(s, x, peak, _final(s, final, peak)) for s in shapes])
    return jnp.where(t < start, peak, value[shape])


def _decay_lr(u, v, shape, t, *, steps, warmup, peak, shapes):
    """Cosine or linear (``shapes[0]``): final LR ``peak * sigmoid(v)``; ``u`` unused."""
    final = peak * jax.nn.sigmoid(v)
    x = jnp.clip((t - warmup) / (steps - warmup), 0.0, 1.0)
    return decay_curve(shapes[0], x, peak, final)


def _polynomial_lr(u, v, shape, t, *, steps, warmup, peak, shapes):
    """Polynomial: power ``lo (hi / lo)^sigmoid(u)`` (:data:`_POWER_RANGE`), final LR
    ``peak * sigmoid(v)``."""
    x = 1.0 - jnp.clip(steps - t, 0.0, steps - warmup) / (steps - warmup)  # as schedules'
    power = _between(_POWER_RANGE, jax.nn.sigmoid(u))
    return polynomial_decay(x, peak, peak * jax.nn.sigmoid(v), power)


def _rex_lr(u, v, shape, t, *, steps, warmup, peak, shapes):
    """REX: beta ``_BETA_MAX * sigmoid(u)``, final LR ``peak * sigmoid(v)``."""
    x = 1.0 - jnp.clip(steps - t, 0.0, steps - warmup) / (steps - warmup)  # as schedules'
    return rex_decay(x, peak, peak * jax.nn.sigmoid(v), _BETA_MAX * jax.nn.sigmoid(u))


def _rsqrt_lr(u, v, shape, t, *, steps, warmup, peak, shapes):
    """rsqrt (default timescale): cooldown fraction as WSD's, final LR ``r(T) sigmoid(v)``
    (at most the inverse square root's LR at the last step)."""
    end = _rsqrt_end(steps, peak, warmup)
    final = end * jax.nn.sigmoid(v)
    lo, hi = 1.0 / steps, (steps - warmup) / steps
    length = steps * (lo + (hi - lo) * jax.nn.sigmoid(u))
    start = steps - length
    x = jnp.clip((t - start) / length, 0.0, 1.0)
    decayed = rsqrt_decay(t, peak, warmup, default_timescale(warmup), jnp)
    softening = 0.5 / length  # half a step: see _softened_curve
    curves = [_softened_curve(s, x, decayed, _final(s, final, end), softening) for s in shapes]
    return jnp.where(t < start, decayed, jnp.stack(curves)[shape])


def _softened_curve(shape: str, x, peak, final, softening):
    r""":func:`~scalefit.schedules.decay_curve`, but the sqrt shape's :math:`\sqrt{x}` as
    :math:`(\sqrt{x + e^2} - e) / (\sqrt{1 + e^2} - e)`, ``e = softening``: the infinite slope
    of :math:`\sqrt{x}` at 0 makes the loss's gradient in the cooldown's length jump each time
    its start crosses a step, and L-BFGS, misled about the curvature, stalls near its start
    point. Softened over half a step, it converges; the refined spec is then ranked exactly."""
    if shape != "sqrt":
        return decay_curve(shape, x, peak, final)
    root = (jnp.sqrt(x + softening**2) - softening) / (jnp.sqrt(1 + softening**2) - softening)
    return final + (peak - final) * (1.0 - root)


def _powerlaw_lr(u, v, shape, t, *, steps, warmup, peak, shapes):
    """OLMo-core's power law: tail fraction as WSD's cooldown, exponent
    ``b = -lo (hi / lo)^sigmoid(v)`` (:data:`_EXPONENT_RANGE`), final LR 0."""
    lo, hi = 1.0 / steps, (steps - warmup) / steps
    length = steps * (lo + (hi - lo) * jax.nn.sigmoid(u))
    start = steps - length
    b = -_between(_EXPONENT_RANGE, jax.nn.sigmoid(v))
    power = peak * (jnp.maximum(t, warmup) / max(warmup, 1)) ** b
    tail = peak * (start / max(warmup, 1)) ** b * jnp.clip((steps - t) / length, 0.0, 1.0)
    return jnp.where(t < start, power, tail)


_SEARCH_LRS = {
    "wsd": _wsd_lr,
    "cosine": _decay_lr,
    "linear": _decay_lr,
    "polynomial": _polynomial_lr,
    "rex": _rex_lr,
    "rsqrt": _rsqrt_lr,
    "powerlaw": _powerlaw_lr,
}
"""Each searchable family's per-step LRs as a traceable function of its continuous settings."""


def _rsqrt_end(steps: int, peak, warmup: int):
    """The rsqrt decay's LR at the last step (default timescale): the highest final LR."""
    return rsqrt_decay(np.float64(steps), peak, warmup, default_timescale(warmup), np)


_LINESEARCH = optax.scale_by_backtracking_linesearch(
    max_backtracking_steps=12, decrease_factor=0.3, store_grad=True
)


def minimize_lbfgs(fun, theta0, max_iter, ftol):
    """Minimise ``fun`` from ``theta0`` with optax L-BFGS; stop on a relative decrease < ftol.

    Traceable (a ``lax.while_loop``): jit and vmap it. Returns ``(theta, fun(theta), iterations,
    converged)``. Refines schedule settings.
    """
    opt = optax.lbfgs(linesearch=_LINESEARCH)
    value_and_grad = optax.value_and_grad_from_state(fun)

    def cond(carry):
        _, _, _, k, done = carry
        return (k < max_iter) & ~done

    def body(carry):
        theta, state, f_old, k, _ = carry
        value, grad = value_and_grad(theta, state=state)
        updates, state = opt.update(grad, state, theta, value=value, grad=grad, value_fn=fun)
        theta = optax.apply_updates(theta, updates)
        f_new = optax.tree.get(state, "value")
        g_new = optax.tree.get(state, "grad")
        small_step = jnp.abs(value - f_new) <= ftol * jnp.maximum(jnp.abs(f_new), 1e-300)
        flat = jnp.max(jnp.abs(g_new)) <= 1e-12
        done = small_step | flat | ~jnp.isfinite(f_new)
        return theta, state, value, k + 1, done

    state = opt.init(theta0)
    init = (theta0, state, jnp.inf, jnp.asarray(0), jnp.asarray(False))
    theta, state, _, k, done = jax.lax.while_loop(cond, body, init)
    return theta, fun(theta), k, done


@partial(
    jax.jit,
    static_argnames=("law_name", "options", "context", "family", "shapes", "steps", "warmup"),
)
def _refine(theta0, params, peak, *, law_name, options, context, family, shapes, steps, warmup):
    """L-BFGS on each shape's settings from ``theta0`` (``(len(shapes), 2)``), vmapped."""
    t = jnp.arange(steps + 1, dtype=theta0.dtype)

    def one(theta, shape):
        def loss(th):
            lr = _family_lr(
                th, shape, t, family=family, steps=steps, warmup=warmup, peak=peak, shapes=shapes
            )
            return _final_loss(
                params, lr, warmup, law_name=law_name, options=options, context=context
            )

        return minimize_lbfgs(loss, theta, 100, 1e-12)[0]

    return jax.vmap(one)(theta0, jnp.arange(len(shapes)))


def _final(shape: str, final, peak):
    """An exp cooldown ends at >= 0.1 % of the peak: below that it only drops to zero sooner."""
    return jnp.maximum(final, _EXP_FINAL_GRID[0] * peak) if shape == "exp" else final


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _spec(family: str, steps: int, peak: float, warmup: int, **settings: object) -> str:
    # 12 significant digits: a grid's 0.03 * 3e-4 reads 9e-06, not 8.999999999999999e-06
    body = ",".join(
        f"{k}={v:.12g}" if isinstance(v, float) else f"{k}={v}" for k, v in settings.items()
    )
    return f"{family}:peak={peak!r},steps={steps},warmup={warmup},{body}"


def _grid(family: str, steps: int, peak: float, warmup: int, shapes: Sequence[str]) -> list[str]:
    """The specs of ``family`` that :func:`search_family` evaluates first."""
    if family in ("wsd", "rsqrt"):
        return _cooldown_grid(family, steps, peak, warmup, shapes)
    if family == "powerlaw":
        return [
            _spec(family, steps, peak, warmup, b=b, decay=decay, final=0.0)
            for decay in _DECAY_GRID
            if _tail_fits(power_law_tail_steps(steps, decay), steps, warmup)
            for b in _EXPONENT_GRID
        ]
    finals = [f * peak for f in _LINE_FINAL_GRID]
    if family == "polynomial":
        return [
            _spec(family, steps, peak, warmup, power=k, final=f)
            for k in _POWER_GRID
            for f in finals
        ]
    if family == "rex":
        return [
            _spec(family, steps, peak, warmup, beta=b, final=f) for b in _BETA_GRID for f in finals
        ]
    return [_spec(family, steps, peak, warmup, final=f) for f in finals]


def _cooldown_grid(family, steps, peak, warmup, shapes) -> list[str]:
    """WSD's or rsqrt's grid: per shape, cooldown fractions and final LRs (fractions of the
    peak, or of the rsqrt's LR at the last step)."""
    end = peak if family == "wsd" else float(_rsqrt_end(steps, peak, warmup))
    specs = []
    for shape in shapes:
        for decay in _DECAY_GRID:
            if not _tail_fits(wsd_cooldown_steps(steps, decay), steps, warmup):
                continue
            finals = _EXP_FINAL_GRID if shape == "exp" else _FINAL_GRID
            for f in finals:
                specs.append(
                    _spec(family, steps, peak, warmup, decay=decay, shape=shape, final=f * end)
                )
    return specs


def _tail_fits(n: int, steps: int, warmup: int) -> bool:
    """A cooldown (or tail) of ``n`` steps is at least one step and starts after the warm-up."""
    return n >= 1 and steps - n >= warmup


def _significant(x: float, digits: int = 3) -> float:
    return float(f"{x:.{digits}g}")


def search_family(
    fit: Fit,
    family: str,
    *,
    steps: int,
    peak: float,
    warmup: int = 0,
    shapes: Sequence[str] | None = None,
    tolerance: float | None = None,
    params: float | None = None,
) -> Ranking:
    """The best settings of a schedule family by the fit's predicted final loss.

    Evaluates a grid in one batched call, then refines the best grid point of each shape by
    L-BFGS on the continuous settings through the law. The refined settings are written as a
    spec (3-4 significant digits) and kept if their predicted loss beats the grid's. What each
    family searches (grid; range refined):

    * ``wsd``: cooldown fraction (0.05-0.95 by 0.05; one step to all after warm-up) and final LR
      (0-30 % of the peak; 0-100 %), per shape;
    * ``cosine``, ``linear``: final LR (0-50 % of the peak; 0-100 %);
    * ``polynomial``: power (0.5-4; 0.1-10) and final LR (as cosine's);
    * ``rsqrt``: cooldown fraction (as WSD's) and final LR (0-30 % of the inverse square root's
      LR at the last step; 0-100 %), per cooldown shape (linear and sqrt by default), at the
      default timescale (:func:`~scalefit.schedules.default_timescale`);
    * ``rex``: beta (0, 0.25, 0.5, 0.75, 0.9; 0-0.95) and final LR (as cosine's);
    * ``powerlaw``: tail fraction (as WSD's cooldown) and exponent b (-0.1 to -1; -0.01 to -2),
      final LR 0 (OLMo-core's default).

    Args:
        fit: the fit to predict with.
        family: ``"wsd"``, ``"cosine"`` or ``"linear"``.
        steps: the budget.
        peak: the peak LR (:func:`search_peaks` chooses it too).
        warmup: warm-up steps (linear from 0; ``powerlaw`` needs at least one).
        shapes: the cooldown shapes to search, of :data:`~scalefit.schedules.SHAPES`: WSD's
            (default all) or rsqrt's (default linear and sqrt); other families have none.
        tolerance: as in :func:`rank`.
        params: as in :func:`rank`.

    Returns:
        A :class:`Ranking` with the best spec per shape (one row for a family without shapes).
    """
    family = family.strip().lower()
    if family not in SEARCHABLE:
        raise InputError(f"cannot search family {family!r} (searchable: {', '.join(SEARCHABLE)})")
    # parse one spec: validates steps, peak and warm-up with the grammar's messages
    parse_schedule(_spec(family, steps, peak, warmup, final=0))
    shapes = _checked_shapes(family, shapes)
    specs = _grid(family, steps, peak, warmup, shapes)
    if not specs:
        raise InputError(f"no {family} schedule of {steps} steps fits a warm-up of {warmup}")
    grid = rank(fit, [parse_schedule(s) for s in specs], tolerance=0.0, params=params)
    best_per_shape = {}
    for choice in grid.choices:  # best first
        best_per_shape.setdefault(_settings(choice.name).get("shape", family), choice)
    shapes = tuple(s for s in shapes if s in best_per_shape)
    starts = [_settings(best_per_shape[shape].name) for shape in shapes]
    where = {"steps": steps, "peak": peak, "warmup": warmup, "size": params}
    refined = _refined(fit, family, shapes, starts, **where)
    both = rank(fit, [*best_per_shape.values(), *refined], tolerance=tolerance, params=params)
    kept, seen = [], set()
    for choice in both.choices:  # best first: per shape, keep the better of grid and refined
        shape = _settings(choice.name).get("shape", family)
        if shape not in seen:
            seen.add(shape)
            kept.append(choice)
    return replace(both, choices=tuple(kept))


def search_peaks(
    fit: Fit,
    family: str,
    *,
    steps: int,
    peaks: Sequence[float],
    warmup: int = 0,
    shapes: Sequence[str] | None = None,
    tolerance: float | None = None,
    params: float | None = None,
    refine: int = 6,
) -> Ranking:
    """The best peak LR of a schedule family, with its best settings at each peak.

    The family is searched at every peak of ``peaks`` (:func:`search_family`); then, where the
    best lies between two others, its peak is refined between them by a golden-section search on
    the log peak (``refine`` more searches), each trial peak with the family's best settings
    there. Use a fit across peak LRs (a law whose progress is a function of the LR area alone
    predicts that a larger peak is always better): a peak outside the fitted ones is flagged.

    Args:
        fit: the fit to predict with.
        family: a family :func:`search_family` searches.
        steps: the budget.
        peaks: the peak LRs to try (e.g. :func:`log_spaced` over a range).
        warmup, shapes, tolerance, params: as in :func:`search_family`.
        refine: golden-section steps between the best peak's neighbours (0: none).

    Returns:
        A :class:`Ranking` of the best schedule at each peak tried, best first.
    """
    peaks = sorted({float(p) for p in np.atleast_1d(np.asarray(peaks, dtype=np.float64))})
    if not peaks or min(peaks) <= 0:
        raise InputError(f"peak LRs must be positive, not {peaks}")
    where = {"steps": steps, "warmup": warmup, "shapes": shapes, "params": params}

    def best_at(peak: float) -> Choice:
        return search_family(fit, family, peak=peak, tolerance=0.0, **where).best

    found = {peak: best_at(peak) for peak in peaks}
    i = int(np.argmin([found[p].final_loss for p in peaks]))
    if 0 < i < len(peaks) - 1 and refine > 0:
        found |= _golden(best_at, math.log(peaks[i - 1]), math.log(peaks[i + 1]), refine)
    return rank(fit, list(found.values()), tolerance=tolerance, params=params)


def _golden(best_at, low: float, high: float, steps: int) -> dict[float, Choice]:
    """Golden-section search of ``best_at(peak)``'s final loss over log peaks in ``[low,
    high]``: every trial, by its peak."""
    ratio = (math.sqrt(5) - 1) / 2
    trials: dict[float, Choice] = {}

    def value(log_peak: float) -> float:
        peak = float(f"{math.exp(log_peak):.3g}")  # a peak people write
        trials.setdefault(peak, best_at(peak))
        return trials[peak].final_loss

    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = value(a), value(b)
    for _ in range(max(0, steps - 2)):
        if fa <= fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = value(a)
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = value(b)
    return trials


def log_spaced(low: float, high: float, count: int = 7) -> list[float]:
    """``count`` peak LRs from ``low`` to ``high``, evenly spaced in log, each rounded to three
    significant digits.

    Examples:
        >>> log_spaced(1e-4, 1e-2, 5)
        [0.0001, 0.000316, 0.001, 0.00316, 0.01]
    """
    if not 0 < low < high or count < 2:
        raise InputError(f"a range of peak LRs needs 0 < low < high, not {low}:{high}")
    return [float(f"{p:.3g}") for p in np.geomspace(low, high, count)]


def _checked_shapes(family: str, shapes: Sequence[str] | str | None) -> tuple[str, ...]:
    """The cooldown shapes to search: WSD's (every one by default), rsqrt's (linear and sqrt
    by default), or ``(family,)`` for a family without shapes; an unknown shape is an
    :class:`InputError`."""
    if family not in ("wsd", "rsqrt"):
        return (family,)
    shapes = (shapes,) if isinstance(shapes, str) else shapes
    default = SHAPES if family == "wsd" else _RSQRT_SHAPES
    shapes = tuple(default if shapes is None else shapes)
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        raise InputError(f"unknown {family} shape {unknown[0]!r} (shapes: {', '.join(SHAPES)})")
    return shapes


def _refined(fit, family, shapes, starts, *, steps, peak, warmup, size) -> list[Schedule]:
    """Each shape's settings refined by L-BFGS through the law from ``starts`` (its best grid
    point's settings), as schedules whose specs carry 3-4 significant digits."""
    where = {"steps": steps, "peak": peak, "warmup": warmup}
    theta0 = [_encoded(family, start, **where) for start in starts]
    law_name, options, params, context = _law_setup(fit, steps + 1, size)
    with jax.enable_x64(True):
        theta = np.asarray(
            _programs.call(
                _refine,
                np.array(theta0, dtype=np.float64),
                np.asarray(params, dtype=np.float64),
                np.float64(peak),
                law_name=law_name,
                options=options,
                context=context,
                family=family,
                shapes=shapes,
                steps=steps,
                warmup=warmup,
            )
        )
    refined = []
    for shape, (u, v) in zip(shapes, np.clip(theta, -30.0, 30.0)):
        if np.isfinite([u, v]).all():
            spec = _decoded(family, shape, float(u), float(v), **where)
            refined += [spec] if spec else []
    return [parse_schedule(spec) for spec in refined]


def _scaled_sigmoid(scale: float, z: float) -> float:
    """``scale * sigmoid(z)``, written as the search always has (``scale / (1 + e^-z)``)."""
    return scale / (1 + math.exp(-z))


def _between(bounds: tuple[float, float], fraction):
    """The value a ``fraction`` of the way from ``lo`` to ``hi`` on a log scale (traceable)."""
    lo, hi = bounds
    return lo * (hi / lo) ** fraction


def _position(bounds: tuple[float, float], value: float) -> float:
    """The inverse of :func:`_between`: the fraction of the way to ``value``."""
    lo, hi = bounds
    return math.log(value / lo) / math.log(hi / lo)


def _encoded(family: str, start: dict, *, steps: int, peak: float, warmup: int):
    """The continuous settings ``(u, v)`` of a grid point's settings: the inverse of the maps in
    :data:`_SEARCH_LRS`."""
    lo, hi = 1.0 / steps, (steps - warmup) / steps  # the cooldown fractions possible
    u = _logit((start.get("decay", 0.5) - lo) / (hi - lo))
    if family == "polynomial":
        u = _logit(_position(_POWER_RANGE, start["power"]))
    elif family == "rex":
        u = _logit(start["beta"] / _BETA_MAX)
    elif family == "powerlaw":
        return u, _logit(_position(_EXPONENT_RANGE, -start["b"]))
    end = float(_rsqrt_end(steps, peak, warmup)) if family == "rsqrt" else peak
    return u, _logit(start["final"] / end)


def _decoded(family: str, shape: str, u: float, v: float, *, steps: int, peak: float, warmup: int):
    """The spec of continuous settings ``(u, v)`` (3-4 significant digits), or ``None`` when
    rounding leaves no valid schedule (a cooldown before the warm-up's end)."""
    lo, hi = 1.0 / steps, (steps - warmup) / steps
    decay = _significant(lo + _scaled_sigmoid(hi - lo, u), 4)
    spec = partial(_spec, family, steps, peak, warmup)
    if family == "powerlaw":
        b = -_significant(_between(_EXPONENT_RANGE, _scaled_sigmoid(1.0, v)))
        fits = _tail_fits(power_law_tail_steps(steps, decay), steps, warmup)
        return spec(b=b, decay=decay, final=0.0) if fits else None
    end = float(_rsqrt_end(steps, peak, warmup)) if family == "rsqrt" else peak
    final = min(_significant(_scaled_sigmoid(end, v)), end)
    final = 0.0 if final < 1e-5 * end else final  # what sigmoid(v) cannot reach
    if family in ("wsd", "rsqrt"):
        if not _tail_fits(wsd_cooldown_steps(steps, decay), steps, warmup):
            return None
        final = max(final, _EXP_FINAL_GRID[0] * end) if shape == "exp" else final
        return spec(decay=decay, shape=shape, final=final)
    if family == "polynomial":
        return spec(
            power=_significant(_between(_POWER_RANGE, _scaled_sigmoid(1.0, u))), final=final
        )
    if family == "rex":
        return spec(beta=_significant(_scaled_sigmoid(_BETA_MAX, u)), final=final)
    return spec(final=final)


def _settings(spec: str) -> dict[str, object]:
    """The settings of a canonical spec, numbers as floats."""
    out: dict[str, object] = {}
    for item in spec.split(":", 1)[1].split(","):
        key, value = item.split("=")
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = value
    return out


# ------------------------------------------------------------------------ free-form design


@partial(jax.jit, static_argnames=("law_name", "options", "context", "iterations"))
def _descend(
    z0, head, params, peak, warmup_steps, learning_rate, *, law_name, options, context, iterations
):
    """Adam on the softmax logits of the LR decrements; returns the best logits seen."""

    def lr_of(z):
        q = jax.nn.softmax(z)
        return jnp.concatenate([head, peak * (1.0 - jnp.cumsum(q[:-1]))])

    def loss(z):
        return _final_loss(
            params, lr_of(z), warmup_steps, law_name=law_name, options=options, context=context
        )

    value_and_grad = jax.value_and_grad(loss)
    opt = optax.adam(optax.cosine_decay_schedule(learning_rate, iterations))

    def step(carry, _):
        z, state, best_z, best_value = carry
        value, grad = value_and_grad(z)
        better = value < best_value
        best_z = jnp.where(better, z, best_z)
        best_value = jnp.where(better, value, best_value)
        updates, state = opt.update(grad, state, z)
        return (optax.apply_updates(z, updates), state, best_z, best_value), value

    init = (z0, opt.init(z0), z0, jnp.asarray(jnp.inf, z0.dtype))
    (z, _, best_z, best_value), history = jax.lax.scan(step, init, None, length=iterations)
    last = loss(z)
    best_z = jnp.where(last < best_value, z, best_z)
    return lr_of(best_z), jnp.minimum(last, best_value), history


def optimize_schedule(
    fit: Fit,
    *,
    steps: int,
    peak: float,
    warmup: int = 0,
    start: Candidate | Choice | Schedule | str | None = None,
    iterations: int = 1000,
    learning_rate: float = 2.0,
    tolerance: float | None = None,
    params: float | None = None,
) -> Ranking:
    r"""Design a schedule freely: per-step LRs minimising the fit's predicted final loss.

    After a linear warm-up to ``peak``, the LR may only stay or decrease, down to 0 at the
    least. The decrements are a softmax of free logits (see the module's docstring), minimised by
    Adam (``iterations`` steps, jitted as one scan) from ``start``, by default the best of the WSD
    family (:func:`search_family`); the best schedule seen is returned.

    Args:
        fit: the fit to predict with.
        steps, peak, warmup: the budget, the peak LR and the warm-up steps.
        start: the schedule to start from (its LRs after warm-up must not increase).
        iterations: Adam steps.
        learning_rate: Adam's step size on the logits.
        tolerance: as in :func:`rank`.
        params: as in :func:`rank`.

    Returns:
        A :class:`Ranking` of the designed schedule (named ``"optimized"``) and the start.

    Raises:
        DegenerateOptimum: the optimum collapses from the peak to near zero within a few steps
            (the momentum law's artefact); the message says where and why.
    """
    if iterations < 1:
        raise InputError(f"iterations must be >= 1, got {iterations}")
    if start is None:
        start = search_family(fit, "wsd", steps=steps, peak=peak, warmup=warmup, params=params).best
    begin = _as_candidate(start)
    if begin.steps != steps:
        raise InputError(f"the start schedule {begin.name!r} has {begin.steps} steps, not {steps}")
    tail = begin.lr[warmup:] / peak
    if abs(tail[0] - 1) > 1e-9 or np.any(np.diff(tail) > 1e-12) or tail[-1] < -1e-12:
        raise InputError(
            f"the start schedule {begin.name!r} must reach the peak at the end of warm-up and "
            "not increase after it"
        )
    decrements = np.append(-np.diff(tail), tail[-1]).clip(0, None)
    z0 = np.log(decrements + 1e-6 / decrements.size)
    head = begin.lr[: warmup + 1].astype(np.float64)
    law_name, options, law_params, context = _law_setup(fit, steps + 1, params)
    with jax.enable_x64(True):
        lr, _, _ = _programs.call(
            _descend,
            z0,
            head,
            np.asarray(law_params, np.float64),
            np.float64(peak),
            np.int64(warmup),
            np.float64(learning_rate),
            law_name=law_name,
            options=options,
            context=context,
            iterations=int(iterations),
        )
    lr = np.asarray(lr, dtype=np.float64)
    reason = degenerate(lr, peak, warmup)
    if reason:
        raise DegenerateOptimum(f"refused the {get_law(fit.law).name} law's optimum: {reason}")
    designed = Candidate("optimized", lr, warmup)
    result = rank(fit, [designed, begin], tolerance=tolerance, params=params)
    return replace(result, warnings=result.warnings + tuple(_sudden_drops(lr, peak)))


def degenerate(lr: ArrayLike, peak: float, warmup: int = 0) -> str:
    """Why a schedule is a degenerate optimum, or ``""``: the LR falls from 90 % of the peak to
    below 1 % of it within 0.1 % of the steps (at least 2), the signature of the momentum law's
    optimum (hold the peak, drop to zero at once). A sudden drop to a useful LR (a step decay)
    is not degenerate: real runs train that way."""
    lr = np.asarray(lr, dtype=np.float64)[warmup:] / peak
    high, low = _COLLAPSE
    above = np.flatnonzero(lr >= high)
    below = np.flatnonzero(lr <= low)
    if above.size == 0 or below.size == 0 or below[-1] < above[-1]:
        return ""
    first_low = below[below > above[-1]][0]
    width = first_low - above[-1]
    if width > max(2, _COLLAPSE_STEPS * lr.size):
        return ""
    return (
        f"it holds the LR at {high:.0%}+ of the peak until step {warmup + above[-1]} and drops "
        f"below {low:.0%} within {width} step(s), then trains {lr.size - first_low} steps at "
        f"{lr[first_low:].mean():.2%} of the peak on average. The law credits annealing "
        "that real runs do not get from a drop to zero (the momentum law's annealing area keeps "
        "growing at LR 0); no run should train this. Rank candidates or search a family "
        "instead, or fit --law multipower"
    )


def _sudden_drops(lr: np.ndarray, peak: float) -> list[str]:
    drops = -np.diff(lr) / peak
    k = int(np.argmax(drops))
    if drops[k] <= _SUDDEN_DROP:
        return []
    return [
        f"the designed schedule drops the LR by {drops[k]:.0%} of the peak in one step (at step "
        f"{k + 1}): the law credits sudden drops; trust it only if the fitted curves had drops "
        "that sudden"
    ]
