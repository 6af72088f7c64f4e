r"""Schedule areas: the features of a learning-rate schedule that the annealing law reads.

For a per-step learning rate :math:`\eta_0, \eta_1, \dots, \eta_{n-1}` (index = step), Tissue et
al. (2024) summarise the schedule up to step :math:`s` by two areas:

.. math::

    S_1(s) = \sum_{i \le s} \eta_i, \qquad
    m_i = \lambda\, m_{i-1} + (\eta_{i-1} - \eta_i),\ m_0 = 0, \qquad
    S_2(s) = \sum_{i \le s} m_i .

:math:`S_1` is the *forward area*; :math:`S_2`, the *annealing area*, is a momentum-smoothed sum of
LR decreases (an LR increase makes it go down, even negative: the paper's re-warmup behaviour).

Everything here is a pure ``jax.numpy`` function of the last axis: jit-able, differentiable with
respect to the learning rates (and :math:`\lambda`), and batched by leading axes or ``jax.vmap``.
No Python loop runs over steps: the momentum is a linear recurrence, computed blockwise in closed
form with an associative scan across blocks, and :math:`S_2` follows from it in closed form,

.. math::

    S_2(s) = \frac{(\eta_0 - \eta_s) - \lambda\, m_s}{1 - \lambda}

(in float64 for :math:`\lambda \le 1 - 10^{-6}`; otherwise as the cumulative sum of :math:`m`).

Precision follows the input: pass float64 arrays inside ``with jax.enable_x64(True):`` (what the
fitting and prediction code of scalefit does) for 64-bit areas; scalefit never flips JAX's global
``jax_enable_x64`` flag.

Reference:
    Tissue, Wang, Wang, Chen, Zhao, Yang. "Scaling Law with Learning Rate Annealing", 2024,
    arXiv:2408.11029.
"""

from __future__ import annotations

import functools
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

__all__ = [
    "DEFAULT_DECAY",
    "annealing_area",
    "forward_area",
    "leading_warmup",
    "momentum",
    "schedule_areas",
    "warmup_as_peak",
]

DEFAULT_DECAY = 0.999
"""The paper's momentum decay factor :math:`\\lambda`."""

# Blockwise closed form m_i = λ^i Σ_j λ^-j d_j inside blocks of K steps needs λ^-K to stay far from
# overflow and from amplifying rounding error: fine for λ ≥ 0.98 with these block sizes (0.98^-1024
# ≈ 1e9 in float64, 0.98^-128 ≈ 13 in float32). Smaller λ takes a plain associative scan.
_BLOCKWISE_MIN_DECAY = 0.98
# S2 = (η_0 - η_s - λ m_s) / (1 - λ) saves a cumulative sum but amplifies rounding by 1 / (1 - λ):
# used in float64 up to here (≤ 1e6 amplification), a plain cumulative sum of m beyond.
_CLOSED_FORM_MAX_DECAY = 1 - 1e-6


def forward_area(lr: ArrayLike) -> jax.Array:
    r"""Forward area :math:`S_1(s) = \sum_{i \le s} \eta_i` along the last axis.

    Args:
        lr: per-step learning rates, shape ``(..., n)``.

    Returns:
        :math:`S_1` with the shape of ``lr``.

    Examples:
        >>> import jax.numpy as jnp
        >>> forward_area(jnp.array([1.0, 2.0, 3.0])).tolist()
        [1.0, 3.0, 6.0]
    """
    return jnp.cumsum(_floating(lr), axis=-1)


def _floating(lr: ArrayLike) -> jax.Array:
    """``lr`` as a JAX array of floats (integers in JAX's default float type)."""
    lr = jnp.asarray(lr)
    if lr.ndim == 0:
        raise ValueError("learning rates must be an array with steps along its last axis")
    return lr if jnp.issubdtype(lr.dtype, jnp.floating) else lr.astype(jnp.result_type(float))


def _jitted(function, lr: ArrayLike, decay: ArrayLike) -> jax.Array:
    """``function(lr, decay)`` compiled: for a decay known now (a number) only the branch it
    needs, once per decay; for an array or a traced decay, both branches behind a condition."""
    lr = _floating(lr)
    if isinstance(decay, (int, float, np.number)):
        if not 0 <= decay <= 1:
            raise ValueError(f"the momentum decay must lie in [0, 1], not {decay}")
        return _compiled(function, True)(lr, float(decay))
    return _compiled(function, False)(lr, decay)


@functools.cache
def _compiled(function, static: bool):
    return jax.jit(function, static_argnums=1) if static else jax.jit(function)


def _linear_recurrence_combine(left, right):
    # (a, b) represents x ↦ a·x + b; composing two of them is associative.
    return right[0] * left[0], right[0] * left[1] + right[1]


def _lr_decreases(lr: jax.Array) -> jax.Array:
    """d_i = η_{i-1} - η_i with d_0 = 0."""
    zero = jnp.zeros(lr.shape[:-1] + (1,), lr.dtype)
    return jnp.concatenate([zero, lr[..., :-1] - lr[..., 1:]], axis=-1)[..., : lr.shape[-1]]


def _momentum_scan(d: jax.Array, decay: jax.Array) -> jax.Array:
    _, m = jax.lax.associative_scan(
        _linear_recurrence_combine, (jnp.broadcast_to(decay, d.shape), d), axis=-1
    )
    return m


def _momentum_blockwise(d: jax.Array, decay: jax.Array) -> jax.Array:
    n = d.shape[-1]
    block = 1024 if d.dtype == jnp.float64 else 128
    pad = (-n) % block
    d = jnp.pad(d, [(0, 0)] * (d.ndim - 1) + [(0, pad)])
    d = d.reshape(d.shape[:-1] + (-1, block))
    powers = decay ** jnp.arange(block, dtype=d.dtype)  # λ^j, j = 0 .. K-1
    local = powers * jnp.cumsum(d / powers, axis=-1)  # recurrence restarted at each block
    ends = local[..., -1]
    _, carried = jax.lax.associative_scan(
        _linear_recurrence_combine,
        (jnp.broadcast_to(decay**block, ends.shape), ends),
        axis=-1,
    )
    incoming = jnp.concatenate([jnp.zeros_like(carried[..., :1]), carried[..., :-1]], axis=-1)
    m = local + incoming[..., None] * (decay * powers)
    return m.reshape(m.shape[:-2] + (-1,))[..., :n]


def momentum(lr: ArrayLike, decay: ArrayLike = DEFAULT_DECAY) -> jax.Array:
    r"""Annealing momentum :math:`m_i = \lambda m_{i-1} + (\eta_{i-1} - \eta_i)`, :math:`m_0 = 0`.

    Args:
        lr: per-step learning rates, shape ``(..., n)``.
        decay: the momentum decay :math:`\lambda \in [0, 1]` (a scalar).

    Returns:
        :math:`m` with the shape of ``lr``.

    Examples:
        >>> import jax.numpy as jnp
        >>> [round(v, 6) for v in momentum(jnp.array([4.0, 3.0, 3.0, 1.0]), 0.5).tolist()]
        [0.0, 1.0, 0.5, 2.25]
    """
    return _jitted(_momentum, lr, decay)


def _momentum(lr: jax.Array, decay: ArrayLike) -> jax.Array:
    d = _lr_decreases(lr)
    if isinstance(decay, (int, float, np.number)):  # known now: compile only the branch needed
        method = _momentum_blockwise if decay >= _BLOCKWISE_MIN_DECAY else _momentum_scan
        return method(d, jnp.asarray(decay, lr.dtype))
    decay = jnp.asarray(decay, lr.dtype)
    return jax.lax.cond(
        decay >= _BLOCKWISE_MIN_DECAY, _momentum_blockwise, _momentum_scan, d, decay
    )


def annealing_area(lr: ArrayLike, decay: ArrayLike = DEFAULT_DECAY) -> jax.Array:
    r"""Annealing area :math:`S_2(s) = \sum_{i \le s} m_i` along the last axis.

    Args:
        lr: per-step learning rates, shape ``(..., n)``.
        decay: the momentum decay :math:`\lambda \in [0, 1]`; 0.999 in the paper.

    Returns:
        :math:`S_2` with the shape of ``lr``. It grows while the LR decreases and shrinks (possibly
        below zero) when it increases.

    Examples:
        >>> import jax.numpy as jnp
        >>> [round(v, 6) for v in annealing_area(jnp.array([4.0, 3.0, 3.0, 1.0]), 0.5).tolist()]
        [0.0, 1.0, 1.5, 3.75]
        >>> [round(v, 6) for v in annealing_area(jnp.array([1.0, 2.0]), 0.999).tolist()]
        [0.0, -1.0]
    """
    return _jitted(_annealing_area, lr, decay)


def _annealing_area(lr: jax.Array, decay: ArrayLike) -> jax.Array:
    m = _momentum(lr, decay)
    drop = lr[..., :1] - lr  # Σ_{i≤s} (η_{i-1} - η_i) = η_0 - η_s
    if lr.dtype != jnp.float64:  # the closed form divides rounding errors by 1 - λ
        return jnp.cumsum(m, axis=-1)
    if isinstance(decay, (int, float, np.number)):  # known now: compile only the branch needed
        if decay > _CLOSED_FORM_MAX_DECAY:
            return jnp.cumsum(m, axis=-1)
        return (drop - decay * m) / (1 - decay)
    decay = jnp.asarray(decay, lr.dtype)
    closed = decay <= _CLOSED_FORM_MAX_DECAY
    safe = jnp.where(closed, decay, 0.5)
    return jnp.where(closed, (drop - safe * m) / (1 - safe), jnp.cumsum(m, axis=-1))


def warmup_as_peak(lr: ArrayLike, warmup_steps: ArrayLike) -> jax.Array:
    """Replace the warm-up ramp by the LR reached at its end, as the annealing-law paper does.

    Args:
        lr: per-step learning rates, shape ``(..., n)``.
        warmup_steps: number of leading warm-up steps (scalar or broadcastable to ``lr[..., 0]``);
            steps ``0 .. warmup_steps - 1`` take the value at step ``warmup_steps``.

    Returns:
        The learning rates with the warm-up flattened to the peak.

    Examples:
        >>> import jax.numpy as jnp
        >>> warmup_as_peak(jnp.array([0.0, 1.0, 2.0, 2.0, 1.0]), 2).tolist()
        [2.0, 2.0, 2.0, 2.0, 1.0]
    """
    lr = jnp.asarray(lr)
    n = lr.shape[-1]
    w = jnp.broadcast_to(jnp.clip(jnp.asarray(warmup_steps), 0, n - 1), lr.shape[:-1])[..., None]
    peak = jnp.take_along_axis(lr, w, axis=-1)
    return jnp.where(jnp.arange(n) < w, peak, lr)


def schedule_areas(
    lr: ArrayLike,
    decay: ArrayLike = DEFAULT_DECAY,
    warmup_steps: ArrayLike = 0,
    warmup: Literal["peak", "actual"] = "peak",
) -> tuple[jax.Array, jax.Array]:
    """Both areas of a schedule, with the warm-up handled as the paper does (or not).

    Args:
        lr: per-step learning rates, shape ``(..., n)``.
        decay: the momentum decay :math:`\\lambda`.
        warmup_steps: length of the leading warm-up ramp.
        warmup: ``"peak"`` (default, the paper's convention) counts warm-up steps at the peak LR;
            ``"actual"`` uses the real warm-up LRs, rising from an LR of 0 before step 0 (an LR
            increase, so :math:`S_2 < 0` there; a schedule without warm-up rises at step 0).

    Returns:
        ``(S1, S2)``, each with the shape of ``lr``.

    Examples:
        >>> import jax.numpy as jnp
        >>> s1, s2 = schedule_areas(jnp.array([0.5, 1.0, 1.0, 0.5]), 0.0, warmup_steps=1)
        >>> s1.tolist(), s2.tolist()
        ([1.0, 2.0, 3.0, 3.5], [0.0, 0.0, 0.0, 0.5])
    """
    if warmup not in ("peak", "actual"):
        raise ValueError(f"warmup must be 'peak' or 'actual', not {warmup!r}")
    lr = jnp.asarray(lr)
    if warmup == "peak":
        lr = warmup_as_peak(lr, warmup_steps)
        return forward_area(lr), annealing_area(lr, decay)
    from_zero = jnp.concatenate([jnp.zeros(lr.shape[:-1] + (1,), lr.dtype), lr], axis=-1)
    return forward_area(lr), annealing_area(from_zero, decay)[..., 1:]


def leading_warmup(lr: ArrayLike) -> int:
    """Length of the warm-up ramp a per-step LR starts with: the first step after which it stops
    rising (0 when it does not rise at the start).

    Examples:
        >>> leading_warmup([0.0, 0.5, 1.0, 1.0, 0.5])
        2
        >>> leading_warmup([1.0, 1.0, 0.5])
        0
    """
    lr = np.asarray(lr)
    stops = np.flatnonzero(np.diff(lr) <= 0)
    return int(stops[0]) if stops.size else max(int(lr.size) - 1, 0)
