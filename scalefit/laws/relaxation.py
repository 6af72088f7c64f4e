r"""A noisy-quadratic relaxation mixture, scaling a power law of the LR area.

.. math::

    D(t) = L_0 + A\, S_1(t)^{-\alpha}, \qquad
    L(t) = D(t)\,\Big(1 + B \sum_j w_j\, m_j(t)\Big),

with :math:`S_1(t) = \sum_{\tau \le t} \eta_\tau` (the warm-up's real LRs). Each mode
:math:`m_j` relaxes, at its own rate :math:`\lambda_j`, towards a level set by the LR, as the
loss of a noisy quadratic's eigendirection does under SGD:

.. math::

    m_j(t) = e^{-\lambda_j u_t}\, m_j(t-1) + \big(1 - e^{-\lambda_j u_t}\big)\, \ell_t,
    \qquad m_j(-1) = 0,

on the clock :math:`u_t = \eta_{ref}\,(\eta_t / \eta_{peak})^{\rho}` towards the level
:math:`\ell_t = \eta_{peak}\,(\eta_t / \eta_{peak})^{p} = \eta_{peak}^{1-p}\,\eta_t^{p}`,
:math:`\eta_{peak}` the schedule's largest LR, :math:`\eta_{ref}` = 3e-4 (the bundled curves'
peak), :math:`\rho` = ``clock_power`` (0.5) and :math:`p` = ``level_power`` (0.9). The 129 rates
:math:`\lambda_j` are log-spaced from 1e-3 to 1e5 per unit of the clock; their weights follow a
Gamma spectrum, :math:`w_j \propto \lambda_j^{\beta} e^{-\lambda_j / \theta}`, normalised on the
grid. Six parameters, :math:`L_0, A, \alpha, B, \beta, \theta \ge 0`. A fast mode follows the LR
(a decrease lowers the loss at once); a slow one lags (a long, slow decay keeps paying late);
at the end of a decay the clock slows with the LR, so the modes freeze.

Units: the clock is measured in units of the schedule's peak, carried to :math:`\eta_{ref}`
(the held shape of ``multipower-fixed`` holds its :math:`C` so), so that the rates, and a fit,
do not depend on the LR's unit; the level is in LR units, so :math:`B` is in 1 / LR (its starts
are given at a peak of 3e-4 and scaled to the curves' own), as the default law's is.

The modes do not depend on the parameters, only their weights do: :func:`prepare` computes them
once, at the rows, by a linear recurrence over steps (an associative scan within blocks of
:data:`BLOCK` steps, carried from block to block), and the loss is a weighted sum, cheap to fit.

This form is scalefit's own: measured outside the package on the bundled curves (the project's
research note on law candidates; :math:`\rho` and :math:`p` chosen on the 25M curves there), then
implemented here to be chosen or not by the protocol in ``benchmarks/README.md``. With
:math:`\rho = p = 1` the modes are the noisy-quadratic model's (Zhang et al. 2019), the kernel
the functional scaling laws build on.

Reference:
    Zhang, Li, Nado, Martens, Sachdeva, Dahl, Shallue, Grosse. "Which Algorithmic Choices Matter
    at Which Batch Sizes? Insights From a Noisy Quadratic Model", NeurIPS 2019,
    arXiv:1907.04164 (the relaxing modes).
"""

from __future__ import annotations

import itertools
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from scalefit.areas import warmup_as_peak
from scalefit.laws import multipower
from scalefit.laws._law import Features, Law

RATES = np.logspace(-3.0, 5.0, 129)
"""The modes' relaxation rates, per unit of the clock (log-spaced)."""

REFERENCE_LR = multipower.REFERENCE_LR
"""The clock's unit: :math:`u_t = \\eta_{ref}\\,(\\eta_t / \\eta_{peak})^\\rho`."""

BLOCK = 128
"""Steps per block of the recurrence: memory is a block's ``BLOCK × 129`` and rows × 129. An
associative scan compiles longer the longer it is; 128 compiles faster than 1024 and, with every
row looked up once a block, runs no slower on 72k-step curves."""


@partial(jax.jit, static_argnames=("warmup", "clock_power", "level_power"))
def prepare(
    lr: jax.Array,
    rows: jax.Array,
    warmup_steps: jax.Array,
    *,
    warmup: str = "actual",
    clock_power: float = 0.5,
    level_power: float = 0.9,
) -> Features:
    r"""Parameter-free features at ``rows``: ``s1`` (the forward area) and ``log_peak`` (the
    schedule's largest LR, on every row), ``(..., r)``, and ``modes``, ``(..., r, 129)``: each
    mode :math:`m_j(t)` at each row.

    ``warmup="peak"`` counts the warm-up steps at the peak LR instead of their real LRs.
    """
    if warmup not in ("peak", "actual"):
        raise ValueError(f"warmup must be 'peak' or 'actual', not {warmup!r}")
    if warmup == "peak":
        lr = warmup_as_peak(lr, warmup_steps)
    peak = jnp.max(lr, axis=-1, keepdims=True)
    clock = _relative_power(lr / peak, clock_power) * REFERENCE_LR
    level = _relative_power(lr / peak, level_power) * peak
    flat = (-1, lr.shape[-1])
    modes = jax.vmap(_modes_at)(
        clock.reshape(flat), level.reshape(flat), rows.reshape((-1, rows.shape[-1]))
    )
    return {
        "s1": jnp.take_along_axis(jnp.cumsum(lr, axis=-1), rows, axis=-1),
        "log_peak": jnp.broadcast_to(jnp.log(peak), rows.shape),
        "modes": modes.reshape(rows.shape + (RATES.size,)),
    }


def _relative_power(ratio: jax.Array, power: float) -> jax.Array:
    """``ratio ** power`` for ratios in [0, 1], its gradient at 0 taken as 0 (it is infinite)."""
    positive = ratio > 0
    return jnp.where(positive, jnp.exp(power * jnp.log(jnp.where(positive, ratio, 1.0))), 0.0)


def _combine(earlier, later):
    # (a, b) stands for m -> a m + b; applying ``earlier`` then ``later`` is associative.
    return later[0] * earlier[0], later[0] * earlier[1] + later[1]


def _modes_at(clock: jax.Array, level: jax.Array, rows: jax.Array) -> jax.Array:
    """Every mode at ``rows`` (``(r, 129)``) of one schedule's clock and level (``(n,)``):
    block by block, an associative scan within, the modes at the block's end carried on. Each
    block writes the rows it holds, at most ``BLOCK`` of them once repeats are set aside: the
    work is steps × 129 plus rows × 129, whether a few rows are asked for or every step."""
    n = clock.shape[-1]
    blocks = -(-n // BLOCK)
    pad = blocks * BLOCK - n  # padded with the last LR: later steps, no row reads them
    clock = jnp.pad(clock, (0, pad), mode="edge").reshape(blocks, BLOCK)
    level = jnp.pad(level, (0, pad), mode="edge").reshape(blocks, BLOCK)
    rates = jnp.asarray(RATES, clock.dtype)
    beyond = blocks * BLOCK  # a step no block holds
    ordered = jnp.sort(rows)
    repeat = jnp.concatenate([jnp.zeros(1, bool), ordered[1:] == ordered[:-1]])
    # each row once, ascending, then steps no block holds; a block's rows start at its slot
    distinct = jnp.sort(jnp.where(repeat, beyond, ordered))
    firsts = jnp.arange(blocks) * BLOCK
    slots = jnp.searchsorted(distinct, firsts)
    distinct = jnp.concatenate([distinct, jnp.full(BLOCK, beyond, distinct.dtype)])

    def block(carry, inputs):
        start_modes, at_distinct = carry
        u, target, first, slot = inputs
        x = u[:, None] * rates
        keep, push = jax.lax.associative_scan(
            _combine, (jnp.exp(-x), -jnp.expm1(-x) * target[:, None]), axis=0
        )
        modes = keep * start_modes + push  # (BLOCK, 129): every step of the block
        local = jax.lax.dynamic_slice(distinct, (slot,), (BLOCK,)) - first
        inside = (local < BLOCK)[:, None]  # rows from ``slot`` on are at or after ``first``
        picked = jnp.take(modes, jnp.clip(local, 0, BLOCK - 1), axis=0)
        corner = (slot, jnp.zeros_like(slot))
        before = jax.lax.dynamic_slice(at_distinct, corner, (BLOCK, rates.size))
        written = jnp.where(inside, picked, before)
        return (modes[-1], jax.lax.dynamic_update_slice(at_distinct, written, corner)), None

    start = (
        jnp.zeros(rates.shape, clock.dtype),
        jnp.zeros((distinct.size, rates.size), clock.dtype),
    )
    (_, at_distinct), _ = jax.lax.scan(block, start, (clock, level, firsts, slots))
    return at_distinct[jnp.searchsorted(distinct, rows)]


def weights(beta: jax.Array, theta: jax.Array) -> jax.Array:
    r"""The modes' weights :math:`w_j \propto \lambda_j^{\beta} e^{-\lambda_j / \theta}`, summing
    to 1 over :data:`RATES`.

    Examples:
        >>> w = weights(1.0, 10.0)
        >>> round(float(w.sum()), 6), int(w.argmax()) == int(abs(RATES - 10.0).argmin())
        (1.0, True)
    """
    rates = jnp.asarray(RATES, jnp.asarray(theta).dtype)
    return jax.nn.softmax(beta * jnp.log(rates) - rates / theta)


def loss(params: jax.Array, features: Features) -> jax.Array:
    r""":math:`(L_0 + A S_1^{-\alpha})(1 + B \sum_j w_j m_j)` for ``params = (L0, A, alpha, B,
    beta, theta)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> lr = jnp.array([[3e-4] * 3000 + [3e-5] * 3000])  # a tenfold drop at step 3000
        >>> f = prepare(lr, jnp.array([[2999, 3099, 5999]]), jnp.array([0]))
        >>> p = jnp.array([2.0, 1.0, 0.5, 300.0, 1.0, 10.0])
        >>> d = multipower.forward(p, f)
        >>> # the mixture's share of the loss: 8 % at the peak, a little less 100 steps after
        >>> # the drop (the fast modes), a third of it at the end (the slow ones lag)
        >>> [round(v, 3) for v in (loss(p, f) / d - 1).tolist()[0]]
        [0.081, 0.074, 0.025]
    """
    mixture = features["modes"] @ weights(params[4], params[5])
    return multipower.forward(params, features) * (1.0 + params[3] * mixture)


def starts(loss_rows: np.ndarray, features: Features) -> np.ndarray:
    r""":math:`L_0` under the lowest loss and :math:`A` through the first observed loss for two
    exponents; :math:`B` at 100 and 300 at a peak of 3e-4 (the mixture worth 3 or 9 % of the loss
    at the peak's level), scaled to the curves' peak; the spectrum centred on time constants of
    about 300 and 3,000 steps at the peak LR (16 starts)."""
    y = np.asarray(loss_rows, dtype=np.float64).ravel()
    s1 = np.asarray(features["s1"], dtype=np.float64).ravel()
    ratio = float(np.exp(np.max(features["log_peak"]) - math.log(REFERENCE_LR)))
    first = int(np.argmin(s1))
    out = []
    for l0_frac, alpha, b, (beta, theta) in itertools.product(
        (0.7, 0.9), (0.3, 0.6), (100.0, 300.0), ((1.0, 10.0), (0.5, 2.0))
    ):
        l0 = l0_frac * y.min()
        a = max(y[first] - l0, 1e-3) * max(s1[first], 1e-12) ** alpha
        out.append((l0, a, alpha, b / ratio, beta, theta))
    return np.array(out)


LAW = Law(
    name="relaxation",
    formula="L(t) = (L0 + A*S1(t)^(-alpha)) * (1 + B*sum_j w_j*m_j(t)), "
    "m_j(t) = e^(-lambda_j*u_t)*m_j(t-1) + (1-e^(-lambda_j*u_t))*peak*(eta_t/peak)^level_power, "
    "u_t = 3e-4*(eta_t/peak)^clock_power, 129 lambda_j in [1e-3, 1e5], "
    "w_j ~ lambda_j^beta*e^(-lambda_j/theta)",
    param_names=("L0", "A", "alpha", "B", "beta", "theta"),
    lower=(0.0,) * 6,
    upper=(np.inf,) * 6,
    prepare=prepare,
    loss=loss,
    starts=starts,
    options={"warmup": "actual", "clock_power": 0.5, "level_power": 0.9},
    reference="scalefit's own form (research note on law candidates); modes of the noisy "
    "quadratic model, Zhang et al. 2019, arXiv:1907.04164",
    annealing_params=("B", "beta", "theta"),
    search_rows=64,
    rival="annealing",
)
"""The law, as registered (``scalefit fit --law relaxation``)."""
