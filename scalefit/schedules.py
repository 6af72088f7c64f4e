r"""Learning-rate schedule families, and the spec strings that name them.

Each family (:func:`constant`, :func:`cosine`, :func:`linear`, :func:`wsd`, :func:`multistep`,
:func:`two_stage`, :func:`polynomial`, :func:`rsqrt`, :func:`rex`, :func:`power_law`) returns a
pure function of the step, in the style of optax's schedules. It is
vectorised (no Python loop over steps) and works on

* Python numbers and numpy arrays: evaluated with numpy in float64, returning numpy values;
* jax arrays and tracers: evaluated with ``jax.numpy``, so it can be jitted, differentiated, and
  passed to optax as a schedule; precision follows JAX's (float64 inside
  ``with jax.enable_x64(True):``). Nothing here changes JAX's global configuration.

Conventions. A schedule of ``steps`` :math:`= T` is defined at steps :math:`t = 0, \dots, T`
(:math:`T + 1` values, the last one at :math:`t = T`). Every family has a peak LR :math:`p` and a
linear warmup of :math:`W \ge 0` steps (``warmup``, default 0):

.. math::

    \eta(t) = p\, t / W \quad (t < W), \qquad \eta(W) = p,

after which the family's own shape runs, starting from :math:`p` at :math:`t = W`. Below,
:math:`\tau = t - W` and :math:`D = T - W`.

Spec grammar. A schedule is written as one string, ``FAMILY:key=value,key=value,...``, e.g.::

    wsd:peak=3e-4,warmup=2160,steps=24000,decay=0.2,shape=linear,final=0
    cosine:peak=3e-4,steps=24000,final=3e-5,warmup=2160
    constant:peak=1e-3,steps=50000,warmup=300
    multistep:peak=3e-4,steps=24000,milestones=8000/16000,gamma=0.3
    twostage:peak=3e-4,steps=16000,switch=8000,second=9e-5
    polynomial:peak=3e-4,steps=24000,warmup=2160,power=2,final=3e-5
    rsqrt:peak=3e-4,steps=24000,warmup=2160,decay=0.2,shape=sqrt
    rex:peak=3e-4,steps=24000,warmup=2160,beta=0.5
    powerlaw:peak=3e-4,steps=24000,warmup=2160,b=-0.51,decay=0.1

Family names, keys and shape names are case-insensitive; whitespace around names, values and
separators is ignored; keys may come in any order. ``steps`` (the budget :math:`T`) is required
by every family, ``constant`` included. Integer keys accept integral floats (``2.4e4``);
``milestones`` is a ``/``-separated list of integer steps.

================  ===================  =========================  ================================
family            aliases              required keys              optional keys (default)
================  ===================  =========================  ================================
``constant``      ``const``            peak, steps                warmup (0)
``cosine``        ``cos``              peak, steps                final (0), warmup (0)
``linear``                             peak, steps                final (0), warmup (0)
``wsd``                                peak, steps                decay (0.2), shape (linear),
                                                                  final (0), warmup (0)
``multistep``                          peak, steps, milestones    gamma (0.1), warmup (0)
``twostage``      ``two_stage``        peak, steps, switch,       warmup (0)
                                       second
``polynomial``    ``poly``             peak, steps                power (1), final (0), warmup (0)
``rsqrt``         ``inverse_sqrt``,    peak, steps                timescale (warmup, or 10000
                  ``inv_sqrt``                                    without one), decay (0.2), shape
                                                                  (linear), final (0), warmup (0)
``rex``                                peak, steps                beta (0.5), final (0), warmup (0)
``powerlaw``      ``power_lr``,        peak, steps, warmup        b (-0.51), decay (0.1), final (0)
                  ``power_law``,
                  ``power-law``
================  ===================  =========================  ================================

``wsd`` and ``rsqrt`` shapes: ``linear``, ``cosine`` (alias ``cos``), ``sqrt`` (alias ``1-sqrt``),
``exp`` (alias ``exponential``). Constraints: learning rates (``peak``, ``final``, ``second``) are
finite and :math:`\ge 0`, ``peak`` :math:`> 0`; ``final`` :math:`\le` ``peak`` (``rsqrt``: at
most the inverse square root's LR at ``steps``; ``powerlaw``: at most its LR where the tail
starts); ``steps`` :math:`> 0`; :math:`0 \le` ``warmup`` :math:`<` ``steps`` (``powerlaw``:
:math:`\ge 1`); ``decay`` in :math:`(0, 1]`, a cooldown of at least one step starting after the
warmup; milestones strictly increasing and after the warmup (one beyond ``steps`` never comes:
:meth:`Schedule.with_steps` keeps them where they are); ``switch`` after the warmup; ``steps`` at
most :data:`MAX_STEPS`; ``gamma`` :math:`\ge 0`; ``power`` :math:`> 0`; ``beta`` in
:math:`[0, 1)`; ``b`` :math:`< 0`; ``timescale`` :math:`\ge 1`. A
malformed spec raises :class:`~scalefit.InputError` with a one-line message that quotes
the spec. :func:`parse_schedule` returns a :class:`Schedule` whose ``spec`` is the canonical
form of the string (every key written, in a fixed order), which parses back to an equal
:class:`Schedule`.

Examples:
    >>> s = parse_schedule("WSD: peak=1e-3, steps=100, warmup=10, decay=0.2, shape=1-sqrt")
    >>> s.spec
    'wsd:peak=0.001,steps=100,warmup=10,decay=0.2,shape=sqrt,final=0'
    >>> s.lr()[[0, 5, 10, 80, 100]].tolist()
    [0.0, 0.0005, 0.001, 0.001, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from scalefit._errors import InputError

__all__ = [
    "FAMILIES",
    "SHAPES",
    "Schedule",
    "ScheduleFn",
    "constant",
    "cosine",
    "decay_curve",
    "default_timescale",
    "linear",
    "lr_array",
    "multistep",
    "LambdaLRFactor",
    "parse_schedule",
    "per_step_lrs",
    "polynomial",
    "polynomial_decay",
    "power_law",
    "power_law_tail_steps",
    "rex",
    "rex_decay",
    "rsqrt",
    "rsqrt_decay",
    "to_lambda_lr",
    "to_optax",
    "two_stage",
    "wsd",
    "wsd_cooldown_steps",
]

ScheduleFn = Callable[[ArrayLike], Any]
"""A schedule: step (scalar or array) to learning rate, elementwise."""

SHAPES: tuple[str, ...] = ("linear", "cosine", "sqrt", "exp")
"""The cooldown shapes of :func:`wsd`."""

_SHAPE_ALIASES = {
    "linear": "linear",
    "cosine": "cosine",
    "cos": "cosine",
    "sqrt": "sqrt",
    "1-sqrt": "sqrt",
    "exp": "exp",
    "exponential": "exp",
}


# --------------------------------------------------------------------------------------------
# Validation shared by the family functions and the parser (messages name no spec; the parser
# prefixes the spec).


def _check_lr(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{name} must be a finite, non-negative learning rate, got {value!r}")
    return value


def _check_peak(value: float) -> float:
    value = _check_lr("peak", value)
    if value == 0:
        raise InputError("peak must be a positive learning rate, got 0")
    return value


def _check_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or int(value) != value:
        raise InputError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < minimum:
        relation = "positive" if minimum == 1 else f">= {minimum}"
        raise InputError(f"{name} must be {relation}, got {value}")
    return value


MAX_STEPS = 10_000_000
"""The longest budget a schedule may have: ten million steps, several times the longest
pretraining runs published, and about 80 MB per float64 array of its LRs."""


def _check_steps_warmup(steps: int, warmup: int) -> tuple[int, int]:
    steps = _check_int("steps", steps, 1)
    if steps > MAX_STEPS:
        raise InputError(f"steps must be at most {MAX_STEPS:,}, got {steps:,}")
    warmup = _check_int("warmup", warmup, 0)
    if warmup >= steps:
        raise InputError(f"warmup must be smaller than steps, got warmup={warmup}, steps={steps}")
    return steps, warmup


def _check_final(peak: float, final: float) -> float:
    final = _check_lr("final", final)
    if final > peak:
        raise InputError(f"final must not exceed peak, got final={final!r} > peak={peak!r}")
    return final


# --------------------------------------------------------------------------------------------
# Evaluation helpers: numpy (float64) for numbers and numpy arrays, jax.numpy for jax arrays.


def _array_module(t: ArrayLike) -> Any:
    return jnp if isinstance(t, jax.Array) else np


def _as_float(t: ArrayLike, xp: Any) -> Any:
    if xp is np:
        return np.asarray(t, dtype=np.float64)
    return jnp.asarray(t, dtype=jnp.result_type(float))


def _with_warmup(peak: float, warmup: int, shape: Callable[[Any, Any], Any]) -> ScheduleFn:
    """Wrap a post-warmup ``shape(t, xp)`` with the linear warmup ``peak * t / warmup``."""

    def schedule(step: ArrayLike) -> Any:
        xp = _array_module(step)
        t = _as_float(step, xp)
        value = shape(t, xp)
        if warmup > 0:
            value = xp.where(t < warmup, peak * t / warmup, value)
        if xp is np:
            return value[()]  # numpy scalar for a scalar step
        return value

    return schedule


# --------------------------------------------------------------------------------------------
# Families.


def constant(peak: float, warmup: int = 0) -> ScheduleFn:
    r"""Constant learning rate after a linear warmup.

    .. math::

        \eta(t) = p \, t / W \quad (t < W), \qquad \eta(t) = p \quad (t \ge W).

    Args:
        peak: the learning rate :math:`p`.
        warmup: warmup steps :math:`W` (0 for none).

    Returns:
        A function of the step returning the learning rate.

    Examples:
        >>> f = constant(1e-3, warmup=100)
        >>> print(float(f(0)), float(f(50)), float(f(100)), float(f(10**6)))
        0.0 0.0005 0.001 0.001
    """
    peak = _check_peak(peak)
    warmup = _check_int("warmup", warmup, 0)
    return _with_warmup(peak, warmup, lambda t, xp: xp.zeros_like(t) + peak)


def cosine(peak: float, steps: int, final: float = 0.0, warmup: int = 0) -> ScheduleFn:
    r"""Cosine decay from ``peak`` at the end of warmup to ``final`` at ``steps``.

    .. math::

        \eta(t) = f + \frac{p - f}{2}\Bigl(1 + \cos\frac{\pi \min(\tau, D)}{D}\Bigr),
        \qquad \tau = t - W,\ D = T - W,\ t \ge W,

    after the linear warmup :math:`\eta(t) = p\,t/W` for :math:`t < W`; held at :math:`f`
    after :math:`T`.

    Args:
        peak: the peak learning rate :math:`p`, reached at the end of warmup.
        steps: the total number of steps :math:`T`; the schedule reaches ``final`` at ``t = T``.
        final: the final learning rate :math:`f` (``0 <= final <= peak``).
        warmup: warmup steps :math:`W < T`.

    Returns:
        A function of the step returning the learning rate.

    References:
        Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017,
        arXiv:1608.03983.

    Examples:
        >>> f = cosine(1e-3, steps=1000, final=1e-4, warmup=100)
        >>> print(float(f(50)), float(f(100)), round(float(f(550)), 8), float(f(1000)))
        0.0005 0.001 0.00055 0.0001
    """
    peak = _check_peak(peak)
    steps, warmup = _check_steps_warmup(steps, warmup)
    final = _check_final(peak, final)
    span = steps - warmup

    def shape(t: Any, xp: Any) -> Any:
        return decay_curve("cosine", xp.clip((t - warmup) / span, 0.0, 1.0), peak, final)

    return _with_warmup(peak, warmup, shape)


def linear(peak: float, steps: int, final: float = 0.0, warmup: int = 0) -> ScheduleFn:
    r"""Linear decay from ``peak`` at the end of warmup to ``final`` at ``steps``.

    .. math::

        \eta(t) = p + (f - p)\,\frac{\min(\tau, D)}{D},
        \qquad \tau = t - W,\ D = T - W,\ t \ge W,

    after the linear warmup :math:`\eta(t) = p\,t/W` for :math:`t < W`; held at :math:`f`
    after :math:`T`.

    Args:
        peak: the peak learning rate :math:`p`, reached at the end of warmup.
        steps: the total number of steps :math:`T`; the schedule reaches ``final`` at ``t = T``.
        final: the final learning rate :math:`f` (``0 <= final <= peak``).
        warmup: warmup steps :math:`W < T`.

    Returns:
        A function of the step returning the learning rate.

    Examples:
        >>> f = linear(1e-3, steps=1000, warmup=200)
        >>> print(float(f(100)), float(f(200)), float(f(600)), float(f(1000)))
        0.0005 0.001 0.0005 0.0
    """
    peak = _check_peak(peak)
    steps, warmup = _check_steps_warmup(steps, warmup)
    final = _check_final(peak, final)
    span = steps - warmup

    def shape(t: Any, xp: Any) -> Any:
        return decay_curve("linear", xp.clip((t - warmup) / span, 0.0, 1.0), peak, final)

    return _with_warmup(peak, warmup, shape)


def decay_curve(shape: str, x: ArrayLike, peak: ArrayLike, final: ArrayLike) -> Any:
    r"""The LR a fraction ``x`` of the way through a decay from ``peak`` to ``final``.

    .. math::

        \eta(x) = \begin{cases}
            (1 - x)\,p + x f & \text{linear} \\
            f + \tfrac{p - f}{2}(1 + \cos \pi x) & \text{cosine} \\
            f + (p - f)(1 - \sqrt{x}) & \text{sqrt (1-sqrt)} \\
            p\,(f / p)^{x} & \text{exp (needs } f > 0)
        \end{cases}

    The decays of :func:`linear`, :func:`cosine` and :func:`wsd` (and of the schedule search in
    :func:`scalefit.search_family`, which differentiates it with respect to ``peak`` and ``final``).

    Args:
        shape: one of :data:`SHAPES` (canonical names).
        x: fractions in ``[0, 1]``: numpy values, or jax arrays and tracers.
        peak: the LR at ``x = 0``.
        final: the LR at ``x = 1``.

    Returns:
        The learning rates, of ``x``'s kind (numpy or jax).

    Examples:
        >>> [round(float(decay_curve(s, 0.25, 1.0, 0.0)), 4) for s in ("linear", "sqrt")]
        [0.75, 0.5]
    """
    xp = _array_module(x)
    if shape == "linear":
        return (1.0 - x) * peak + x * final  # exact at both ends
    if shape == "cosine":
        return final + 0.5 * (peak - final) * (1.0 + xp.cos(math.pi * x))
    if shape == "sqrt":
        positive = x > 0  # keeps the gradient finite at x = 0, where sqrt' is infinite
        root = xp.where(positive, xp.sqrt(xp.where(positive, x, 1.0)), 0.0)
        return final + (peak - final) * (1.0 - root)
    if shape == "exp":
        return peak * (final / peak) ** x
    raise ValueError(f"unknown decay shape {shape!r} (shapes: {', '.join(SHAPES)})")


def wsd_cooldown_steps(steps: int, decay: float) -> int:
    """Cooldown length of :func:`wsd`: ``int(decay * steps)``, counted on the total steps.

    This is the float product truncated, as the trainers of the lr-scheduling-124m runs computed
    it, rounding included: ``0.57 * 100`` is ``56.99999999999999``, so 56 steps. Write a
    fraction whose product with ``steps`` is exact (or a little above the integer) to be sure.

    Examples:
        >>> wsd_cooldown_steps(24000, 4000 / 24000)
        4000
    """
    return int(decay * steps)


def wsd(
    peak: float,
    steps: int,
    decay: float = 0.2,
    shape: str = "linear",
    final: float = 0.0,
    warmup: int = 0,
) -> ScheduleFn:
    r"""Warmup-stable-decay: ``peak``, then a cooldown over the last ``int(decay * steps)`` steps.

    With :math:`n = \lfloor \mathrm{decay} \cdot T \rfloor` and
    :math:`x = \min\bigl(1, \max(0, (t - (T - n)) / n)\bigr)`, after the linear warmup
    :math:`\eta(t) = p\,t/W` for :math:`t < W`,

    .. math::

        \eta(t) = \begin{cases}
            p & t < T - n \\
            f + (p - f)(1 - x) & \text{shape = linear} \\
            f + \tfrac{p - f}{2}(1 + \cos \pi x) & \text{shape = cosine} \\
            f + (p - f)(1 - \sqrt{x}) & \text{shape = sqrt (1-sqrt)} \\
            p\,(f / p)^{x} & \text{shape = exp (geometric; needs } f > 0)
        \end{cases}

    reaching :math:`f` at :math:`t = T` and held there after. The cooldown length counts on the
    total :math:`T` (warmup included), as in the runs of Hägele et al.

    Args:
        peak: the learning rate :math:`p` of the warmup's end and the stable phase.
        steps: the total number of steps :math:`T`.
        decay: the cooldown fraction of ``steps``, in ``(0, 1]``; it must give at least one
            cooldown step, and the cooldown must not start before the warmup ends.
        shape: the cooldown shape, one of :data:`SHAPES` (aliases ``cos``, ``1-sqrt``,
            ``exponential``).
        final: the final learning rate :math:`f` (``0 <= final <= peak``; ``> 0`` for ``exp``).
        warmup: warmup steps :math:`W < T`.

    Returns:
        A function of the step returning the learning rate.

    References:
        Hägele, Bakouch, Kosson, Ben Allal, Von Werra, Jaggi, "Scaling Laws and Compute-Optimal
        Training Beyond Fixed Training Durations", NeurIPS 2024, arXiv:2405.18392 (WSD and the
        1-sqrt cooldown). Luo et al., "A Multi-Power Law for Loss Curve Prediction Across
        Learning Rate Schedules", ICLR 2025 (the exponential cooldown).

    Examples:
        >>> f = wsd(1e-3, steps=1000, decay=0.2, shape="sqrt", warmup=100)
        >>> print(float(f(800)), round(float(f(900)), 8), float(f(1000)))
        0.001 0.00029289 0.0
        >>> g = wsd(1e-3, steps=1000, decay=0.5, shape="exp", final=1e-5)
        >>> print(round(float(g(750)), 8), round(float(g(1000)), 8))
        0.0001 1e-05
    """
    peak = _check_peak(peak)
    steps, warmup = _check_steps_warmup(steps, warmup)
    final = _check_final(peak, final)
    key, n = _check_cooldown(decay, shape, final, steps, warmup)
    start = steps - n

    def cooldown(t: Any, xp: Any) -> Any:
        value = decay_curve(key, xp.clip((t - start) / n, 0.0, 1.0), peak, final)
        return xp.where(t < start, peak, value)

    return _with_warmup(peak, warmup, cooldown)


def _check_cooldown(
    decay: float, shape: str, final: float, steps: int, warmup: int, family: str = "wsd"
) -> tuple[str, int]:
    """A cooldown's shape (its canonical name) and length in steps (:func:`wsd`'s, or
    :func:`rsqrt`'s), once checked."""
    _check_decay_fraction(decay)
    key = _SHAPE_ALIASES.get(str(shape).strip().lower())
    if key is None:
        raise InputError(f"unknown {family} shape {shape!r} (shapes: {', '.join(SHAPES)})")
    if key == "exp" and final <= 0:
        raise InputError(f"shape exp needs final > 0, got final={final!r}")
    n = wsd_cooldown_steps(steps, float(decay))
    _check_tail_steps(n, decay, steps, warmup, "cooldown", "int")
    return key, n


def _check_decay_fraction(decay: float) -> None:
    if not 0.0 < float(decay) <= 1.0:
        raise InputError(f"decay must be in (0, 1] (a fraction of steps), got {float(decay)!r}")


def _check_tail_steps(n: int, decay: float, steps: int, warmup: int, what: str, rounding: str):
    """That a decaying tail of ``n`` steps (``rounding(decay*steps)``) exists and starts after
    the warm-up."""
    decay = float(decay)
    if n < 1:
        raise InputError(
            f"decay={decay!r} gives {rounding}(decay*steps) = 0 {what} steps at steps={steps}; "
            "need at least 1"
        )
    if steps - n < warmup:
        raise InputError(
            f"decay={decay!r} starts the {what} at step {steps - n} = steps - "
            f"{rounding}(decay*steps), before the warmup ends at step {warmup}"
        )


def multistep(
    peak: float, milestones: Sequence[int], gamma: float = 0.1, warmup: int = 0
) -> ScheduleFn:
    r"""Step decay: ``peak`` times ``gamma`` for every milestone passed.

    .. math::

        \eta(t) = p\, \gamma^{\#\{m_i \le t\}} \quad (t \ge W),

    after the linear warmup :math:`\eta(t) = p\,t/W` for :math:`t < W`.

    Args:
        peak: the learning rate :math:`p` at the end of warmup.
        milestones: strictly increasing steps :math:`m_i > W` at which the rate is multiplied
            by ``gamma`` (from that step on).
        gamma: the factor, ``>= 0``.
        warmup: warmup steps :math:`W`.

    Returns:
        A function of the step returning the learning rate.

    Examples:
        >>> f = multistep(1e-3, milestones=[100, 200], gamma=0.5)
        >>> print(float(f(99)), float(f(100)), float(f(250)))
        0.001 0.0005 0.00025
    """
    peak = _check_peak(peak)
    warmup = _check_int("warmup", warmup, 0)
    gamma = float(gamma)
    if not math.isfinite(gamma) or gamma < 0:
        raise InputError(f"gamma must be finite and >= 0, got {gamma!r}")
    marks = tuple(_check_int("milestone", m, 1) for m in milestones)
    if not marks:
        raise InputError("milestones must list at least one step")
    if any(b <= a for a, b in zip(marks[:-1], marks[1:], strict=True)):
        raise InputError(f"milestones must be strictly increasing, got {list(marks)}")
    if marks[0] <= warmup:
        raise InputError(f"milestones must come after the warmup ({warmup}), got {list(marks)}")

    def shape(t: Any, xp: Any) -> Any:
        passed = xp.sum(t[..., None] >= xp.asarray(marks, dtype=t.dtype), axis=-1)
        return peak * gamma ** passed.astype(t.dtype)

    return _with_warmup(peak, warmup, shape)


def two_stage(peak: float, switch: int, second: float, warmup: int = 0) -> ScheduleFn:
    r"""Two constant stages: ``peak`` until ``switch``, ``second`` from ``switch`` on.

    .. math::

        \eta(t) = p \quad (W \le t < s), \qquad \eta(t) = q \quad (t \ge s),

    after the linear warmup :math:`\eta(t) = p\,t/W` for :math:`t < W` (the ``wsdcon`` runs of
    the multi-power-law paper).

    Args:
        peak: the first-stage learning rate :math:`p`.
        switch: the step :math:`s > W` from which the rate is ``second``.
        second: the second-stage learning rate :math:`q` (may exceed ``peak``).
        warmup: warmup steps :math:`W`.

    Returns:
        A function of the step returning the learning rate.

    References:
        Luo et al., "A Multi-Power Law for Loss Curve Prediction Across Learning Rate
        Schedules", ICLR 2025, arXiv:2503.12811.

    Examples:
        >>> f = two_stage(3e-4, switch=8000, second=9e-5)
        >>> print(float(f(7999)), float(f(8000)))
        0.0003 9e-05
    """
    peak = _check_peak(peak)
    second = _check_lr("second", second)
    warmup = _check_int("warmup", warmup, 0)
    switch = _check_int("switch", switch, 1)
    if switch <= warmup:
        raise InputError(f"switch must come after the warmup ({warmup}), got {switch}")
    return _with_warmup(peak, warmup, lambda t, xp: xp.where(t < switch, peak, second))


def _decay_fraction(t: Any, steps: int, span: int, xp: Any) -> Any:
    """The fraction :math:`x` done at ``t`` of a decay over the ``span`` steps up to ``steps``,
    as ``1 - (steps - t) / span`` (clipped): exactly 1 at ``steps`` on every backend, where XLA,
    dividing by a multiplication with the reciprocal, makes ``(t - W) / D`` fall short of 1
    (``0.9999999999999999`` for ``107 / 107``), which :math:`(1 - x)^k` with a small ``k``
    would magnify."""
    return 1.0 - xp.clip(steps - t, 0.0, span) / span


def polynomial_decay(x: ArrayLike, peak: ArrayLike, final: ArrayLike, power: ArrayLike) -> Any:
    r"""The LR a fraction ``x`` of the way through a polynomial decay (see :func:`polynomial`):
    :math:`(p - f)(1 - x)^k + f`, computed in optax's order.

    The gradient in ``power`` stays finite at ``x = 1`` (where :math:`0^k \log 0` is NaN), so
    that :func:`scalefit.search_family` can differentiate it; numpy or jax like ``x``.

    Examples:
        >>> [float(polynomial_decay(x, 1.0, 0.1, 2.0)) for x in (0.0, 0.5, 1.0)]
        [1.0, 0.325, 0.1]
    """
    xp = _array_module(x)
    remaining = 1.0 - x
    left = remaining > 0
    factor = xp.where(left, xp.where(left, remaining, 1.0) ** power, 0.0)
    return (peak - final) * factor + final


def polynomial(
    peak: float, steps: int, power: float = 1.0, final: float = 0.0, warmup: int = 0
) -> ScheduleFn:
    r"""Polynomial decay from ``peak`` at the end of warmup to ``final`` at ``steps``.

    .. math::

        \eta(t) = f + (p - f)\,(1 - x)^{k}, \qquad
        x = \frac{\min(\max(t - W, 0),\, D)}{D},\ D = T - W,

    after the linear warmup :math:`\eta(t) = p\,t/W` for :math:`t < W`; held at :math:`f` after
    :math:`T`. :math:`x` is the fraction of the decay done, counted from the end of the warmup,
    as optax's ``polynomial_schedule(init_value=p, end_value=f, power=k, transition_steps=D)``
    counts it when joined after the warmup (``optax.join_schedules(..., boundaries=[W])``), and
    as Hugging Face's ``get_polynomial_decay_schedule_with_warmup(lr_end=f, power=k)``; torch's
    ``PolynomialLR(total_iters=D, power=k)`` started after the warmup is the case :math:`f = 0`.
    :math:`k = 1` is :func:`linear`; :math:`k = 2` falls faster early and flattens near the end.
    (optax's schedule, run by XLA on arrays, can miss :math:`f` at :math:`t = T` by
    :math:`(p - f)\,\epsilon^k`, :math:`\epsilon` a rounding error: about
    :math:`10^{-8}(p - f)` at :math:`k = 1/2` in float64; this one reaches :math:`f`.)

    Args:
        peak: the peak learning rate :math:`p`, reached at the end of warmup.
        steps: the total number of steps :math:`T`; the schedule reaches ``final`` at ``t = T``.
        power: the exponent :math:`k > 0`.
        final: the final learning rate :math:`f` (``0 <= final <= peak``).
        warmup: warmup steps :math:`W < T`.

    Returns:
        A function of the step returning the learning rate.

    References:
        optax.polynomial_schedule; torch.optim.lr_scheduler.PolynomialLR; the polynomial decay of
        BERT-style training (Hugging Face transformers,
        ``get_polynomial_decay_schedule_with_warmup``).

    Examples:
        >>> f = polynomial(1e-3, steps=1100, power=2, final=1e-4, warmup=100)
        >>> print(float(f(50)), float(f(100)), round(float(f(600)), 10), float(f(1100)))
        0.0005 0.001 0.000325 0.0001
    """
    peak = _check_peak(peak)
    steps, warmup = _check_steps_warmup(steps, warmup)
    final = _check_final(peak, final)
    power = _check_positive("power", power)
    span = steps - warmup

    def shape(t: Any, xp: Any) -> Any:
        return polynomial_decay(_decay_fraction(t, steps, span, xp), peak, final, power)

    return _with_warmup(peak, warmup, shape)


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def default_timescale(warmup: int) -> int:
    """The :func:`rsqrt` timescale when none is given: the warmup, or 10,000 steps without one
    (Hugging Face's ``get_inverse_sqrt_schedule`` default).

    Examples:
        >>> default_timescale(2160), default_timescale(0)
        (2160, 10000)
    """
    return warmup if warmup > 0 else 10_000


def rsqrt_decay(t: Any, peak: Any, warmup: int, timescale: Any, xp: Any) -> Any:
    r"""The inverse square root part of :func:`rsqrt`:
    :math:`r(t) = p / \sqrt{1 + (\max(t, W) - W)/s}`, numpy or jax as ``xp``.

    Examples:
        >>> float(rsqrt_decay(np.float64(400), 1.0, 100, 100, np))  # sqrt(100 / 400)
        0.5
    """
    return peak / xp.sqrt(1.0 + (xp.maximum(t, warmup) - warmup) / timescale)


def rsqrt(
    peak: float,
    steps: int,
    decay: float = 0.2,
    shape: str = "linear",
    final: float = 0.0,
    warmup: int = 0,
    timescale: int | None = None,
) -> ScheduleFn:
    r"""Inverse square root decay after warmup, then a cooldown to ``final`` over the last
    ``int(decay * steps)`` steps.

    After the linear warmup :math:`\eta(t) = p\,t/W` for :math:`t < W`, the LR falls as the
    inverse square root of the steps, with timescale :math:`s`,

    .. math::

        r(t) = \frac{p}{\sqrt{1 + (t - W)/s}} \qquad (t \ge W),

    which for :math:`s = W` (the default with a warmup) is :math:`p\sqrt{W/t}`: T5's and
    fairseq's ``inverse_sqrt``. With :math:`n = \lfloor \mathrm{decay} \cdot T \rfloor` and
    :math:`x = \min\bigl(1, \max(0, (t - (T - n)) / n)\bigr)`, the cooldown brings
    :math:`r(t)` down to :math:`f` in the shape of :func:`wsd`'s,

    .. math::

        \eta(t) = \begin{cases}
            r(t) & t < T - n \\
            f + (r(t) - f)(1 - x) & \text{shape = linear} \\
            f + (r(t) - f)(1 - \sqrt{x}) & \text{shape = sqrt (1-sqrt)} \\
            f + \tfrac{r(t) - f}{2}(1 + \cos \pi x) & \text{shape = cosine} \\
            r(t)\,(f / r(t))^{x} & \text{shape = exp (needs } f > 0)
        \end{cases}

    reaching :math:`f` at :math:`t = T` and held there after. With :math:`f = 0` and the linear
    shape this is :math:`r(t)\,(T - t)/n`, the rsqrt schedule with a linear cooldown of Zhai et
    al. (big_vision's ``decay_type="rsqrt"`` with ``cooldown_steps=n``): the cooldown multiplies
    the still-decaying :math:`r(t)`, it does not start from a frozen value.

    Args:
        peak: the peak learning rate :math:`p`, reached at the end of warmup.
        steps: the total number of steps :math:`T`.
        decay: the cooldown's fraction of ``steps``, in ``(0, 1]``; it starts after the warmup.
        shape: the cooldown's shape, as :func:`wsd`'s: ``linear``, ``sqrt`` (``1-sqrt``),
            ``cosine`` or ``exp``.
        final: the final learning rate :math:`f`, at most :math:`r(T)` (so that the LR never
            rises).
        warmup: warmup steps :math:`W < T`.
        timescale: :math:`s \ge 1` in steps (default :func:`default_timescale`: the warmup, or
            10,000 without one, as Hugging Face's ``get_inverse_sqrt_schedule``).

    Returns:
        A function of the step returning the learning rate.

    References:
        Raffel et al., "Exploring the Limits of Transfer Learning with a Unified Text-to-Text
        Transformer", JMLR 2020 (T5's inverse square root). Zhai, Kolesnikov, Houlsby, Beyer,
        "Scaling Vision Transformers", CVPR 2022, arXiv:2106.04560 (rsqrt with a linear
        cooldown; google-research/big_vision). Hägele et al., NeurIPS 2024, arXiv:2405.18392
        (the 1-sqrt cooldown).

    Examples:
        >>> f = rsqrt(1e-3, steps=1000, decay=0.2, warmup=100)  # timescale = warmup = 100
        >>> print(float(f(100)), round(float(f(400)), 8), round(float(f(900)), 8), float(f(1000)))
        0.001 0.0005 0.00016667 0.0
    """
    peak = _check_peak(peak)
    steps, warmup = _check_steps_warmup(steps, warmup)
    timescale = default_timescale(warmup) if timescale is None else timescale
    timescale = _check_int("timescale", timescale, 1)
    final = _check_rsqrt_final(final, peak, steps, warmup, timescale)
    key, n = _check_cooldown(decay, shape, final, steps, warmup, "rsqrt")
    start = steps - n

    def cooldown(t: Any, xp: Any) -> Any:
        decayed = rsqrt_decay(t, peak, warmup, timescale, xp)
        value = decay_curve(key, xp.clip((t - start) / n, 0.0, 1.0), decayed, final)
        return xp.where(t < start, decayed, value)

    return _with_warmup(peak, warmup, cooldown)


def _check_rsqrt_final(final: float, peak: float, steps: int, warmup: int, timescale: int) -> float:
    """:func:`rsqrt`'s final LR, once checked: at most the inverse square root's LR at the end."""
    final = _check_lr("final", final)
    lowest = float(rsqrt_decay(np.float64(steps), peak, warmup, timescale, np))
    if final > lowest:
        raise InputError(
            f"final must not exceed the inverse square root's LR at the last step, "
            f"peak/sqrt(1 + (steps - warmup)/timescale) = {lowest!r}, got final={final!r}"
        )
    return final


def rex(
    peak: float, steps: int, beta: float = 0.5, final: float = 0.0, warmup: int = 0
) -> ScheduleFn:
    r"""REX: the reflected exponential decay from ``peak`` at the end of warmup to ``final``.

    .. math::

        \eta(t) = f + (p - f)\,\frac{1 - x}{(1 - \beta) + \beta\,(1 - x)}, \qquad
        x = \frac{\min(\max(t - W, 0),\, D)}{D},\ D = T - W,

    after the linear warmup :math:`\eta(t) = p\,t/W` for :math:`t < W`; held at :math:`f` after
    :math:`T`. The paper's schedule is :math:`\beta = 1/2`, :math:`(1 - z) / (\tfrac12 +
    \tfrac12 (1 - z))` with :math:`z = t/T` (no warmup, :math:`f = 0`); the reference code
    (github.com/IvanVassi/REX_LR) uses :math:`\beta = 0.9` and a minimum LR :math:`f`.
    :math:`\beta = 0` is :func:`linear`; as :math:`\beta \to 1` the LR stays near the peak
    longer and drops at the end.

    Args:
        peak: the peak learning rate :math:`p`, reached at the end of warmup.
        steps: the total number of steps :math:`T`; the schedule reaches ``final`` at ``t = T``.
        beta: :math:`\beta` in ``[0, 1)``.
        final: the final learning rate :math:`f` (``0 <= final <= peak``).
        warmup: warmup steps :math:`W < T`.

    Returns:
        A function of the step returning the learning rate.

    References:
        Chen, Wolfe, Kyrillidis, "REX: Revisiting Budgeted Training with an Improved Schedule",
        MLSys 2022, arXiv:2107.04197.

    Examples:
        >>> f = rex(1e-3, steps=1000)
        >>> print(float(f(0)), round(float(f(500)), 8), round(float(f(900)), 8), float(f(1000)))
        0.001 0.00066667 0.00018182 0.0
    """
    peak = _check_peak(peak)
    steps, warmup = _check_steps_warmup(steps, warmup)
    final = _check_final(peak, final)
    beta = float(beta)
    if not 0.0 <= beta < 1.0:
        raise InputError(f"beta must be in [0, 1), got {beta!r}")
    span = steps - warmup

    def shape(t: Any, xp: Any) -> Any:
        return rex_decay(_decay_fraction(t, steps, span, xp), peak, final, beta)

    return _with_warmup(peak, warmup, shape)


def rex_decay(x: ArrayLike, peak: ArrayLike, final: ArrayLike, beta: ArrayLike) -> Any:
    r"""REX's LR a fraction ``x`` of the way through its decay:
    :math:`f + (p - f)(1 - x) / ((1 - \beta) + \beta (1 - x))` (see :func:`rex`).

    Examples:
        >>> round(float(rex_decay(0.5, 1.0, 0.0, 0.5)), 6)  # (1/2) / (1/2 + 1/4)
        0.666667
    """
    remaining = 1.0 - x
    return final + (peak - final) * (remaining / ((1.0 - beta) + beta * remaining))


def power_law_tail_steps(steps: int, decay: float) -> int:
    """Tail length of :func:`power_law`: ``round(decay * steps)``, Python's ``round`` (half to
    even), as OLMo-core's ``PowerLR`` computes it from ``decay_fraction``.

    Examples:
        >>> power_law_tail_steps(1000, 0.1), power_law_tail_steps(25, 0.1)
        (100, 2)
    """
    return round(decay * steps)


def power_law(
    peak: float, steps: int, warmup: int, b: float = -0.51, decay: float = 0.1, final: float = 0.0
) -> ScheduleFn:
    r"""OLMo-core's power-law schedule: a horizon-free decay :math:`(t/W)^b`, then a linear tail.

    With :math:`n = \mathrm{round}(\mathrm{decay} \cdot T)` tail steps, :math:`b < 0` and
    :math:`W \ge 1`,

    .. math::

        \eta(t) = \begin{cases}
            p\,t / W & t < W \\
            p\,(t / W)^{b} & W \le t < T - n \\
            f + (\ell - f)\,\min(T - t, n) / n,
                \quad \ell = p\,\bigl((T - n) / W\bigr)^{b} & T - n \le t \le T
        \end{cases}

    held at :math:`f` after :math:`T`. The power phase depends on the warmup only, not on the
    budget (what "horizon-free" means): two runs of different budgets share it until their
    tails. This is ``olmo_core.optim.scheduler.PowerLR.get_lr`` (registered as ``power_lr``)
    with ``warmup=W``, ``warmup_min_lr=0``, ``decay_fraction=decay`` (its ``round``), ``b`` and
    ``decay_min_lr=f``, in steps (OLMo-core can count tokens instead), as of allenai/OLMo-core
    commit ``73637f7b8222fdcc02da53c9542676b49f1ab5c8`` ("Add PowerLR scheduler (#674)",
    2026-05-14; unchanged at ``fa6c5014c9f6e9ee789da2d9c20d5126fee8df0d``, after v2.5.0).
    OLMo-core's defaults are ``b = -0.51`` and ``decay = 0.1``; it rejects :math:`b \ge 0`.

    Args:
        peak: the peak learning rate :math:`p`, reached at the end of warmup.
        steps: the total number of steps :math:`T`.
        warmup: warmup steps :math:`1 \le W \le T - n` (the power law is relative to it).
        b: the exponent :math:`b < 0`.
        decay: the tail's fraction of ``steps``, in ``(0, 1]`` (at least one step).
        final: the final learning rate :math:`f`, at most :math:`\ell` (the LR where the tail
            starts).

    Returns:
        A function of the step returning the learning rate.

    References:
        allenai/OLMo-core, ``src/olmo_core/optim/scheduler.py``, class ``PowerLR``.

    Examples:
        >>> f = power_law(1e-3, steps=1000, warmup=100, b=-0.5, decay=0.1)
        >>> print(float(f(100)), float(f(400)), round(float(f(900)), 8), float(f(1000)))
        0.001 0.0005 0.00033333 0.0
    """
    peak = _check_peak(peak)
    steps, warmup = _check_steps_warmup(steps, warmup)
    final = _check_lr("final", final)
    if warmup < 1:
        raise InputError("powerlaw needs warmup >= 1: its decay is (t/warmup)^b")
    b = float(b)
    if not math.isfinite(b) or b >= 0:
        raise InputError(f"b must be a finite negative exponent, got {b!r}")
    n = _check_tail(decay, steps, warmup)
    start = steps - n
    start_lr = peak * (start / warmup) ** b
    if final > start_lr:
        raise InputError(
            f"final must not exceed the LR where the tail starts, "
            f"peak*((steps - n)/warmup)^b = {start_lr!r}, got final={final!r}"
        )

    def shape(t: Any, xp: Any) -> Any:
        power = peak * (xp.maximum(t, warmup) / warmup) ** b
        tail = final + (start_lr - final) * xp.clip(steps - t, 0.0, n) / n
        return xp.where(t < start, power, tail)

    return _with_warmup(peak, warmup, shape)


def _check_tail(decay: float, steps: int, warmup: int) -> int:
    """The length of :func:`power_law`'s tail, once checked."""
    _check_decay_fraction(decay)
    n = power_law_tail_steps(steps, float(decay))
    _check_tail_steps(n, decay, steps, warmup, "tail", "round")
    return n


# --------------------------------------------------------------------------------------------
# Evaluation on the step grid.


def lr_array(fn: ScheduleFn, steps: int) -> np.ndarray:
    """Evaluate a schedule at steps ``0 .. steps`` (inclusive) in float64.

    The function is called on a numpy integer array; if it answers with a jax array (a function
    written with ``jax.numpy`` only, e.g. an optax schedule), it is evaluated again on a jax
    array inside ``with jax.enable_x64(True):`` so the result is float64 as well.

    Args:
        fn: a schedule, step to learning rate, vectorised.
        steps: the last step (``>= 0``).

    Returns:
        A float64 array of ``steps + 1`` learning rates.

    Examples:
        >>> lr_array(linear(1.0, steps=4), 4).tolist()
        [1.0, 0.75, 0.5, 0.25, 0.0]
    """
    steps = _check_int("steps", steps, 0)
    if steps > MAX_STEPS:
        raise InputError(f"steps must be at most {MAX_STEPS:,}, got {steps:,}")
    t = np.arange(steps + 1, dtype=np.int64)
    out = fn(t)
    if isinstance(out, jax.Array):
        with jax.enable_x64(True):
            out = np.asarray(fn(jnp.asarray(t)), dtype=np.float64)
    out = np.asarray(out, dtype=np.float64)
    return np.array(np.broadcast_to(out, t.shape))


def to_optax(schedule: Schedule | str | ArrayLike) -> ScheduleFn:
    """A schedule as an optax schedule: step (count) to learning rate, jit-able.

    Optax optimisers take a schedule wherever they take a learning rate, e.g.
    ``optax.adamw(to_optax(lr))``. The LR of step ``t`` is ``lr[t]``, held at its last value
    after the end. (A :class:`Schedule`'s own ``fn`` is an optax schedule too; this also serves
    per-step arrays, such as the one :func:`scalefit.optimize_schedule` designs.)

    Args:
        schedule: a :class:`Schedule`, its spec string, or per-step learning rates (index =
            step).

    Returns:
        ``fn(count) -> lr`` for numpy or jax integer steps (jax: in JAX's default float type).

    Examples:
        >>> import jax.numpy as jnp
        >>> fn = to_optax([1.0, 0.5, 0.25])
        >>> fn(jnp.asarray(1)).item(), fn(jnp.asarray(7)).item()
        (0.5, 0.25)
    """
    lr = per_step_lrs(schedule)

    def fn(count: ArrayLike) -> Any:
        xp = _array_module(count)
        table = lr if xp is np else jnp.asarray(lr, dtype=jnp.result_type(float))
        return table[xp.clip(count, 0, lr.size - 1)]

    return fn


class LambdaLRFactor:
    """The multiplier ``lr[epoch] / base_lr`` for ``torch.optim.lr_scheduler.LambdaLR``.

    An object rather than a lambda so that ``LambdaLR.state_dict()`` saves it with a checkpoint.
    Build it with :func:`to_lambda_lr`.
    """

    def __init__(self, lr: np.ndarray, base_lr: float) -> None:
        self.lr = lr
        self.base_lr = base_lr

    def __call__(self, epoch: int) -> float:
        return float(self.lr[min(max(int(epoch), 0), self.lr.size - 1)] / self.base_lr)


def to_lambda_lr(
    schedule: Schedule | str | ArrayLike, base_lr: float | None = None
) -> LambdaLRFactor:
    """A schedule as the ``lr_lambda`` of ``torch.optim.lr_scheduler.LambdaLR``.

    ``LambdaLR`` sets the LR to ``base_lr * lr_lambda(epoch)``, ``epoch`` counting the calls of
    ``scheduler.step()`` (once per training step here). Create the optimiser with
    ``lr=base_lr`` (default: the schedule's peak)::

        optimizer = torch.optim.AdamW(model.parameters(), lr=float(lr.max()))
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, to_lambda_lr(lr))

    torch is not needed to build it.

    Args:
        schedule: a :class:`Schedule`, its spec string, or per-step learning rates (index =
            step).
        base_lr: the optimiser's LR the multipliers are relative to (default: the peak).

    Returns:
        A picklable callable, epoch to multiplier.

    Examples:
        >>> factor = to_lambda_lr([0.0, 2e-3, 1e-3])
        >>> [factor(k) for k in range(4)]
        [0.0, 1.0, 0.5, 0.5]
    """
    lr = per_step_lrs(schedule)
    base = float(lr.max()) if base_lr is None else float(base_lr)
    if not base > 0:
        raise InputError(f"base_lr must be > 0, got {base!r}")
    return LambdaLRFactor(lr, base)


def per_step_lrs(schedule: Schedule | str | ArrayLike) -> np.ndarray:
    """A schedule's learning rate at every step, from a :class:`Schedule`, its spec string, or
    per-step LRs (checked: one-dimensional, non-empty, finite, >= 0).

    Raises:
        InputError: a malformed spec, a schedule function (it has no length), or bad LRs.
    """
    if isinstance(schedule, str):
        schedule = parse_schedule(schedule)
    if callable(schedule) and not isinstance(schedule, Schedule):
        raise InputError(
            "a schedule function has no length: give its spec string, a Schedule "
            "(parse_schedule) or per-step LRs (lr_array(fn, steps))"
        )
    lr = schedule.lr() if isinstance(schedule, Schedule) else np.asarray(schedule, np.float64)
    if lr.ndim != 1 or lr.size == 0 or not np.all(np.isfinite(lr)) or np.any(lr < 0):
        raise InputError("a per-step LR array must be one-dimensional, non-empty, finite and >= 0")
    return lr


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule spec: a family, its step function and its canonical spec string.

    Two schedules compare equal when all fields but ``fn`` are equal (``fn`` is not compared),
    so ``parse_schedule(s.spec) == s``.

    Attributes:
        family: the canonical family name (a key of :data:`FAMILIES`).
        fn: the schedule, step to learning rate (see the family functions).
        steps: the budget :math:`T`: the schedule is defined at ``t = 0 .. steps``.
        warmup: the warmup steps.
        peak: the peak learning rate.
        spec: the canonical spec string.

    Examples:
        >>> s = parse_schedule("const:peak=1e-3,steps=4,warmup=2")
        >>> s.lr().tolist()
        [0.0, 0.0005, 0.001, 0.001, 0.001]
        >>> s.lr(6).shape
        (7,)
        >>> parse_schedule("cos:peak=1,steps=10").with_steps(20).spec
        'cosine:peak=1,steps=20,warmup=0,final=0'
    """

    family: str
    fn: ScheduleFn = field(compare=False, repr=False)
    steps: int
    warmup: int
    peak: float
    spec: str

    def __call__(self, step: ArrayLike) -> Any:
        """The learning rate at ``step`` (same as ``self.fn(step)``)."""
        return self.fn(step)

    def lr(self, steps: int | None = None) -> np.ndarray:
        """Float64 learning rates at ``t = 0 .. steps`` (default: ``0 .. self.steps``).

        A larger ``steps`` extends the schedule past its budget (e.g. a constant schedule to a
        longer run); the decaying families are held at their final value there.
        """
        return lr_array(self.fn, self.steps if steps is None else steps)

    def with_steps(self, steps: int) -> Schedule:
        """The same family for a new total ``steps``.

        For ``cosine``, ``linear``, ``polynomial``, ``rex`` and ``wsd`` the decay stretches with
        the budget (``wsd`` keeps its cooldown *fraction*); ``rsqrt`` and ``powerlaw`` keep their
        decay (timescale, exponent) and their cooldown or tail *fraction*; for ``constant``,
        ``multistep`` and ``twostage`` only the budget changes (milestones and switch stay at
        their steps). Warmup is kept.

        Raises:
            InputError: if the new budget is invalid for the schedule (e.g. ``steps <= warmup``).
        """
        family, params = _split_spec(self.spec)
        params["steps"] = str(steps)
        return parse_schedule(f"{family}:" + ",".join(f"{k}={v}" for k, v in params.items()))


# --------------------------------------------------------------------------------------------
# The spec grammar.


@dataclass(frozen=True)
class _Family:
    required: tuple[str, ...]
    optional: dict[str, Any]  # key -> default
    # canonical spec order: peak, steps, warmup, then the other keys in the order given here
    build: Callable[[dict[str, Any]], ScheduleFn]
    # defaults that depend on other keys (a default of None above), filled in before building
    derive: Callable[[dict[str, Any]], dict[str, Any]] = lambda params: {}


FAMILIES: dict[str, _Family] = {
    "constant": _Family(
        ("peak", "steps"), {"warmup": 0}, lambda p: constant(p["peak"], p["warmup"])
    ),
    "cosine": _Family(
        ("peak", "steps"),
        {"warmup": 0, "final": 0.0},
        lambda p: cosine(p["peak"], p["steps"], p["final"], p["warmup"]),
    ),
    "linear": _Family(
        ("peak", "steps"),
        {"warmup": 0, "final": 0.0},
        lambda p: linear(p["peak"], p["steps"], p["final"], p["warmup"]),
    ),
    "wsd": _Family(
        ("peak", "steps"),
        {"warmup": 0, "decay": 0.2, "shape": "linear", "final": 0.0},
        lambda p: wsd(p["peak"], p["steps"], p["decay"], p["shape"], p["final"], p["warmup"]),
    ),
    "multistep": _Family(
        ("peak", "steps", "milestones"),
        {"warmup": 0, "gamma": 0.1},
        lambda p: multistep(p["peak"], p["milestones"], p["gamma"], p["warmup"]),
    ),
    "twostage": _Family(
        ("peak", "steps", "switch", "second"),
        {"warmup": 0},
        lambda p: two_stage(p["peak"], p["switch"], p["second"], p["warmup"]),
    ),
    "polynomial": _Family(
        ("peak", "steps"),
        {"warmup": 0, "power": 1.0, "final": 0.0},
        lambda p: polynomial(p["peak"], p["steps"], p["power"], p["final"], p["warmup"]),
    ),
    "rsqrt": _Family(
        ("peak", "steps"),
        {"warmup": 0, "timescale": None, "decay": 0.2, "shape": "linear", "final": 0.0},
        lambda p: rsqrt(
            p["peak"], p["steps"], p["decay"], p["shape"], p["final"], p["warmup"], p["timescale"]
        ),
        lambda p: {"timescale": default_timescale(p["warmup"])} if p["timescale"] is None else {},
    ),
    "rex": _Family(
        ("peak", "steps"),
        {"warmup": 0, "beta": 0.5, "final": 0.0},
        lambda p: rex(p["peak"], p["steps"], p["beta"], p["final"], p["warmup"]),
    ),
    "powerlaw": _Family(
        ("peak", "steps", "warmup"),
        {"b": -0.51, "decay": 0.1, "final": 0.0},
        lambda p: power_law(p["peak"], p["steps"], p["warmup"], p["b"], p["decay"], p["final"]),
    ),
}
"""The families of the spec grammar: canonical name to required and optional keys."""

_FAMILY_ALIASES = {name: name for name in FAMILIES} | {
    "const": "constant",
    "cos": "cosine",
    "two_stage": "twostage",
    "two-stage": "twostage",
    "poly": "polynomial",
    "inverse_sqrt": "rsqrt",
    "inv_sqrt": "rsqrt",
    "power_lr": "powerlaw",
    "power_law": "powerlaw",
    "power-law": "powerlaw",
}
_ALIASES_SHOWN = "const, cos, two_stage, poly, inverse_sqrt, inv_sqrt, power_lr, power_law"

_INT_KEYS = {"steps", "warmup", "switch", "timescale"}
_FLOAT_KEYS = {"peak", "final", "second", "decay", "gamma", "power", "beta", "b"}


def _split_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Split a spec into its canonical family name and raw ``key -> value`` strings."""
    if not isinstance(spec, str):
        raise InputError(f"schedule spec must be a string, got {type(spec).__name__}")
    head, colon, body = spec.partition(":")
    family_name = head.strip().lower()
    if not colon:
        raise InputError(
            f"schedule {spec!r}: expected FAMILY:key=value,... (families: {', '.join(FAMILIES)})"
        )
    family = _FAMILY_ALIASES.get(family_name)
    if family is None:
        raise InputError(
            f"schedule {spec!r}: unknown family {head.strip()!r} "
            f"(families: {', '.join(FAMILIES)}; aliases: {_ALIASES_SHOWN})"
        )
    allowed = (*FAMILIES[family].required, *FAMILIES[family].optional)
    params: dict[str, str] = {}
    for item in body.split(","):
        if not item.strip():
            continue
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq or not key:
            raise InputError(f"schedule {spec!r}: {item.strip()!r} is not key=value")
        if key not in allowed:
            raise InputError(
                f"schedule {spec!r}: unknown key {key!r} for {family} "
                f"(allowed: {', '.join(allowed)})"
            )
        if key in params:
            raise InputError(f"schedule {spec!r}: key {key!r} given twice")
        params[key] = value.strip()
    return family, params


def _parse_float(spec: str, key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"schedule {spec!r}: {key}={text!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"schedule {spec!r}: {key}={text!r} must be finite")
    return value


def _parse_int(spec: str, key: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        pass
    value = _parse_float(spec, key, text)
    if value != int(value):
        raise InputError(f"schedule {spec!r}: {key}={text!r} is not an integer")
    return int(value)


def _format_float(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def parse_schedule(spec: str) -> Schedule:
    """Parse a spec string ``FAMILY:key=value,...`` (grammar in the module docstring).

    Args:
        spec: the spec, e.g. ``"cosine:peak=3e-4,steps=24000,final=3e-5,warmup=2160"``.

    Returns:
        The :class:`Schedule`, with its canonical ``spec``.

    Raises:
        InputError: a one-line message that quotes the spec and says what is wrong.

    Examples:
        >>> s = parse_schedule("twostage: peak=3e-4, steps=16000, switch=8000, second=9e-5")
        >>> s.spec
        'twostage:peak=0.0003,steps=16000,warmup=0,switch=8000,second=9e-05'
        >>> print(float(s.fn(8000)))
        9e-05
        >>> parse_schedule("cosine:peak=3e-4")
        Traceback (most recent call last):
        ...
        scalefit._errors.InputError: schedule 'cosine:peak=3e-4': missing required key 'steps' \
(cosine needs: peak, steps; optional: warmup, final)
    """
    family, raw = _split_spec(spec)
    info = FAMILIES[family]
    values = {key: _parse_value(spec, key, text) for key, text in raw.items()}  # bad ones first
    missing = [key for key in info.required if key not in raw]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise InputError(
            f"schedule {spec!r}: missing required key{plural} "
            f"{', '.join(repr(k) for k in missing)} ({family} needs: {', '.join(info.required)}; "
            f"optional: {', '.join(info.optional)})"
        )
    params: dict[str, Any] = dict(info.optional)
    params.update(values)
    params.update(info.derive(params))
    try:
        steps, warmup = _check_steps_warmup(params["steps"], params["warmup"])
        fn = info.build(params)
    except InputError as err:
        raise InputError(f"schedule {spec!r}: {err}") from None

    order = ("peak", "steps", "warmup")
    order += tuple(key for key in (*info.required, *info.optional) if key not in order)
    canonical = f"{family}:" + ",".join(f"{key}={_format_value(key, params[key])}" for key in order)
    return Schedule(
        family=family,
        fn=fn,
        steps=steps,
        warmup=warmup,
        peak=float(params["peak"]),
        spec=canonical,
    )


def _parse_value(spec: str, key: str, text: str) -> Any:
    """The value of ``key=text`` in ``spec``, as its key takes it."""
    if key in _INT_KEYS:
        return _parse_int(spec, key, text)
    if key in _FLOAT_KEYS:
        return _parse_float(spec, key, text)
    if key == "milestones":
        parts = [part.strip() for part in text.split("/")]
        if not text or not all(parts):
            raise InputError(
                f"schedule {spec!r}: milestones={text!r} must be steps separated by '/', "
                "e.g. milestones=8000/16000"
            )
        return tuple(_parse_int(spec, key, part) for part in parts)
    if key != "shape":
        raise ValueError(f"no parser for the spec key {key!r}: add it to a kind of key")
    shape = _SHAPE_ALIASES.get(text.lower())
    if shape is None:
        raise InputError(
            f"schedule {spec!r}: unknown shape {text!r} (shapes: {', '.join(SHAPES)}; "
            "aliases: cos, 1-sqrt, exponential)"
        )
    return shape


def _format_value(key: str, value: Any) -> str:
    """``value`` as a canonical spec writes it."""
    if key in _INT_KEYS:
        return str(value)
    if key == "milestones":
        return "/".join(str(m) for m in value)
    if key == "shape":
        return value
    return _format_float(value)
