r"""The annealing (momentum) law of Tissue et al. (2024).

.. math::

    L(s) = L_0 + A\, S_1(s)^{-\alpha} - C\, S_2(s),

with :math:`S_1` the forward area and :math:`S_2` the annealing area of the schedule up to step
:math:`s` (see :mod:`scalefit.areas`), :math:`L_0, A, \alpha, C \ge 0` fitted and the momentum decay
:math:`\lambda` (0.999) fixed or profiled.

Reference:
    Tissue, Wang, Wang, Chen, Zhao, Yang. "Scaling Law with Learning Rate Annealing", 2024,
    arXiv:2408.11029.
"""

from __future__ import annotations

import itertools
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from numpy.typing import ArrayLike

from scalefit.areas import DEFAULT_DECAY, schedule_areas
from scalefit.laws._law import Features, Law

# The paper's grid of starting points (its L-BFGS-B multi-start).
PAPER_GRID = {
    "L0": (0.1, 2.1),
    "A": (1.0, 11.5, 22.0),
    "alpha": (0.0, 0.4, 0.8),
    "C": (1.0, 11.5, 22.0),
}


@partial(jax.jit, static_argnames=("decay", "warmup"))
def prepare(
    lr: jax.Array,
    rows: jax.Array,
    warmup_steps: jax.Array,
    *,
    decay: float = DEFAULT_DECAY,
    warmup: str = "peak",
) -> Features:
    """Forward and annealing areas at ``rows`` (``log S1`` is kept: the law only needs that).

    ``lr`` is ``(..., n)`` per-step LRs, ``rows`` ``(..., r)`` integer steps, ``warmup_steps``
    broadcastable to ``lr[..., 0]``.
    """
    steps = prepare_steps(lr, warmup_steps, decay=decay, warmup=warmup)
    return prepare_rows(steps, rows, xp=jnp)


@partial(jax.jit, static_argnames=("decay", "warmup"))
def prepare_steps(
    lr: jax.Array,
    warmup_steps: jax.Array,
    *,
    decay: float = DEFAULT_DECAY,
    warmup: str = "peak",
) -> Features:
    """:func:`prepare`'s features at every step."""
    s1, s2 = schedule_areas(lr, decay, warmup_steps, warmup)
    return {"log_s1": jnp.log(jnp.maximum(s1, jnp.finfo(s1.dtype).tiny)), "s2": s2}


def prepare_rows(steps: Features, rows: ArrayLike, *, xp: Any = jnp, **options: object) -> Features:
    """:func:`prepare`'s features at ``rows``, from :func:`prepare_steps`' ``steps`` (with NumPy,
    ``xp=numpy``, or traced by JAX)."""
    return {name: xp.take_along_axis(value, rows, axis=-1) for name, value in steps.items()}


def loss(params: jax.Array, features: Features) -> jax.Array:
    r""":math:`L_0 + A S_1^{-\alpha} - C S_2` for ``params = (L0, A, alpha, C)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> features = {"log_s1": jnp.log(jnp.array([1.0, 4.0])), "s2": jnp.array([0.0, 0.1])}
        >>> [round(v, 6) for v in loss(jnp.array([2.0, 1.0, 0.5, 1.0]), features).tolist()]
        [3.0, 2.4]
    """
    l0, a, alpha, c = params[0], params[1], params[2], params[3]
    return l0 + a * jnp.exp(-alpha * features["log_s1"]) - c * features["s2"]


def starts(loss_rows: np.ndarray, features: Features) -> np.ndarray:
    """The paper's 54-point grid plus starts placed from the data.

    The data-derived starts put :math:`L_0` just under the lowest observed loss and choose
    :math:`A` so that the start passes through the first observed loss for a few exponents.
    """
    grid = np.array(list(itertools.product(*PAPER_GRID.values())), dtype=np.float64)
    y = np.asarray(loss_rows, dtype=np.float64).ravel()
    log_s1 = np.asarray(features["log_s1"], dtype=np.float64).ravel()
    first = int(np.argmin(log_s1))
    derived = []
    for l0_frac in (0.6, 0.85, 0.95):
        l0 = l0_frac * y.min()
        for alpha in (0.2, 0.5, 1.0):
            a = max(y[first] - l0, 1e-3) * np.exp(alpha * log_s1[first])
            for c in (0.5, 5.0):
                derived.append((l0, a, alpha, c))
    return np.concatenate([grid, np.array(derived)])


LAW = Law(
    name="annealing",
    formula="L(s) = L0 + A*S1(s)^(-alpha) - C*S2(s)",
    param_names=("L0", "A", "alpha", "C"),
    lower=(0.0, 0.0, 0.0, 0.0),
    upper=(np.inf, np.inf, np.inf, np.inf),
    prepare=prepare,
    loss=loss,
    starts=starts,
    options={"decay": DEFAULT_DECAY, "warmup": "peak"},
    prepare_steps=prepare_steps,
    prepare_rows=prepare_rows,
    reference="Tissue et al. 2024, Scaling Law with Learning Rate Annealing, arXiv:2408.11029",
    annealing_params=("C",),
)
