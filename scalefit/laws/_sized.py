r"""Laws across model sizes: a law whose level and amplitude are power laws of the size.

Every law here starts :math:`L = L_0 + A\,S_1^{-\alpha} + \dots`. Across model sizes :math:`N`,

.. math::

    L_0(N) = E + b\,(N / N_{ref})^{-a_N}, \qquad A(N) = A\,(N / N_{ref})^{-p_A},

the rest of the law shared by every size (the shape of the loss drop moves little with size),
:math:`N_{ref}` the geometric mean of the fitted runs' sizes (recorded in the fit).
:math:`a_N` is determined only by three sizes or more; with two, the level at each is still
determined, not how it moves between or beyond them.

Reference:
    Luo et al., ICLR 2025 (the multi-power law fitted across sizes in its appendix); the form
    here was measured on the bundled multi-power-law and lr-scheduling curves by scalefit's
    research note before it was adopted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from scalefit.laws._law import Features, Law

__all__ = ["SIZE_PARAMS", "with_sizes"]

SIZE_PARAMS = ("E", "b", "a_N", "A", "p_A")
"""The parameters that replace a law's :math:`L_0` and :math:`A`."""


@dataclass(frozen=True)
class _SizedLoss:
    """The loss of a law at each run's size: the law's own loss, per run, with :math:`L_0` and
    :math:`A` taken from the size laws. A class, not a closure, so that it names itself alike in
    every process (its compiled programs are stored under that name)."""

    loss: Callable[[jax.Array, Features], jax.Array]

    def __call__(self, params: jax.Array, features: Features) -> jax.Array:
        e, b, a_n, a, p_a = params[0], params[1], params[2], params[3], params[4]
        log_size = features["log_size"][..., 0]  # one size per run: (C,)
        level = e + b * jnp.exp(-a_n * log_size)
        amplitude = a * jnp.exp(-p_a * log_size)
        rest = jnp.broadcast_to(params[5:], log_size.shape + params[5:].shape)
        per_run = jnp.concatenate([level[:, None], amplitude[:, None], rest], axis=-1)
        return jax.vmap(self.loss)(per_run, features)

    def __repr__(self) -> str:
        return f"_SizedLoss({self.loss.__module__}.{self.loss.__qualname__})"


@dataclass(frozen=True)
class _SizedStarts:
    starts: Callable[[np.ndarray, Features], np.ndarray]

    def __call__(self, loss_rows: np.ndarray, features: Features) -> np.ndarray:
        base = self.starts(loss_rows, features)
        out = []
        for row in base:
            l0, a, rest = row[0], row[1], row[2:]
            for share, a_n in ((0.8, 0.3), (0.5, 0.6)):  # how much of L0 the size explains
                out.append([l0 * share, l0 * (1 - share), a_n, a, 0.2, *rest])
        return np.unique(np.array(out), axis=0)


def with_sizes(law: Law, name: str) -> Law:
    """``law`` across model sizes: :math:`L_0` and :math:`A` replaced by the size laws above.

    Args:
        law: a law whose first two parameters are :math:`L_0` and :math:`A` (every built-in
            law's are).
        name: the new law's name.

    Returns:
        A :class:`Law` with parameters ``E, b, a_N, A, p_A`` and the law's others, reading each
        run's size (the feature ``log_size``).

    Examples:
        >>> from scalefit.laws import get_law
        >>> with_sizes(get_law("annealing"), "annealing+size").param_names
        ('E', 'b', 'a_N', 'A', 'p_A', 'alpha', 'C')
    """
    if law.param_names[:2] != ("L0", "A"):
        raise ValueError(f"the {law.name} law does not start L0 + A*...: cannot span sizes")
    rest = slice(2, None)
    return dataclasses.replace(
        law,
        name=name,
        formula=f"{law.formula}; L0 = E + b*(N/N_ref)^(-a_N), A = A*(N/N_ref)^(-p_A)",
        param_names=(*SIZE_PARAMS, *law.param_names[rest]),
        lower=(0.0,) * 5 + law.lower[rest],
        upper=(np.inf,) * 5 + law.upper[rest],
        loss=_SizedLoss(law.loss),
        starts=_SizedStarts(law.starts),
        context=tuple(dict.fromkeys((*law.context, "log_size"))),
        rival="",
    )
