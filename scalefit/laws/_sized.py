r"""Laws across model sizes: a law whose parameters are power laws of the size.

Every law here starts :math:`L = L_0 + A\,S_1^{-\alpha} + \dots`. Across model sizes :math:`N`,
with :math:`n = N / N_{ref}` and :math:`A` given for the LR area in units of the fitted runs'
reference LR (:math:`A\,(S_1/\eta_{ref})^{-\alpha}`: the law stays free of the LR's unit while
:math:`\alpha` moves with the size),

.. math::

    L_0(N) = E + b\, n^{-a_N}, \qquad \theta(N) = \theta\, n^{-p_\theta}

for each parameter :math:`\theta` that scales (by default the amplitude :math:`A`, the
exponent :math:`\alpha`, and the law's loss-drop amplitude, which shares :math:`A`'s exponent:
:data:`SCALED`), every other parameter shared by all sizes. :math:`N_{ref}` is the geometric
mean of the fitted runs' sizes (recorded in the fit). :math:`a_N` is determined only by three
sizes or more; with two, the level at each is still determined, not how it moves between or
beyond them (a fit holds it, and predictions at another size are flagged).

Reference:
    The level and amplitude laws follow Luo et al., ICLR 2025 (the multi-power law across sizes);
    which parameters scale was chosen by scalefit's protocol on the benchmark page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from scalefit.laws._law import Features, Law

__all__ = ["LEVEL_PARAMS", "SCALED", "with_sizes"]

LEVEL_PARAMS = ("E", "b", "a_N")
"""The parameters of the level :math:`L_0(N)`, which replace :math:`L_0`."""

SCALED = ("A", "alpha")
"""The parameters that scale with the size by default, each with an exponent of its own; the
law's first annealing parameter (its loss drop's amplitude) scales with :math:`A`'s."""

_EXPONENT_FLOOR = -3.0  # exponents may be negative: a parameter may grow with size


@dataclass(frozen=True)
class _SizedLoss:
    """The loss of a law at each run's size: the law's own loss, per run, with its parameters
    taken from the size laws. ``scaling[k]`` is the index, among the exponents, of base
    parameter ``k + 1``'s exponent, or -1. A class, not a closure, so that it names itself alike
    in every process (its compiled programs are stored under that name)."""

    loss: Callable[[jax.Array, Features], jax.Array]
    scaling: tuple[int, ...]

    def __call__(self, params: jax.Array, features: Features) -> jax.Array:
        n = len(self.scaling)
        log_size = features["log_size"][..., 0]  # one size per run: (C,)
        level = params[0] + params[1] * jnp.exp(-params[2] * log_size)
        values, exponents = params[3 : 3 + n], params[3 + n :]
        index = jnp.asarray([max(i, 0) for i in self.scaling])
        scaled = jnp.asarray([i >= 0 for i in self.scaling])
        power = jnp.exp(-exponents[index][None, :] * log_size[:, None]) if exponents.size else 1.0
        rest = values[None, :] * jnp.where(scaled[None, :], power, 1.0)
        # A is given for the LR area in units of the reference LR: A S1^-alpha = A (S1 /
        # eta_ref)^-alpha, so that an alpha that moves with the size leaves the law free of
        # the LR's unit.
        amplitude = rest[:, :1] * jnp.exp(rest[:, 1:2] * features["log_lr_ref"][..., :1])
        per_run = jnp.concatenate([level[:, None], amplitude, rest[:, 1:]], axis=-1)
        return jax.vmap(self.loss)(per_run, features)

    def __repr__(self) -> str:
        name = f"{self.loss.__module__}.{getattr(self.loss, '__qualname__', repr(self.loss))}"
        return f"_SizedLoss({name}, {self.scaling})"


@dataclass(frozen=True)
class _SizedStarts:
    starts: Callable[[np.ndarray, Features], np.ndarray]
    n_exponents: int

    def __call__(self, loss_rows: np.ndarray, features: Features) -> np.ndarray:
        log_lr_ref = float(np.mean(features["log_lr_ref"]))
        out = []
        for row in self.starts(loss_rows, features):
            amplitude = row[1] * np.exp(-row[2] * log_lr_ref)  # A in reference-LR units
            for share, a_n in ((0.8, 0.3), (0.5, 0.6)):  # how much of L0 the size explains
                level = [row[0] * share, row[0] * (1 - share), a_n]
                out.append([*level, amplitude, *row[2:], *([0.0] * self.n_exponents)])
        return np.unique(np.array(out), axis=0)


def with_sizes(
    law: Law,
    name: str,
    scaled: tuple[str, ...] = SCALED,
    tied: Mapping[str, str] | None = None,
) -> Law:
    """``law`` across model sizes: :math:`L_0` replaced by the level law, and ``scaled``
    parameters power laws of the size (see the module's docstring).

    Args:
        law: a law whose first two parameters are :math:`L_0` and :math:`A` (every built-in
            law's are).
        name: the new law's name.
        scaled: the parameters (other than :math:`L_0`) that scale, each with its own exponent
            ``p_<name>``.
        tied: parameters that scale with another's exponent (default: the law's first
            annealing parameter with ``A``'s).

    Returns:
        A :class:`Law` with parameters ``E, b, a_N``, the law's others, then the exponents,
        reading each run's size (the feature ``log_size``).

    Examples:
        >>> from scalefit.laws import get_law
        >>> with_sizes(get_law("annealing"), "annealing+size").param_names
        ('E', 'b', 'a_N', 'A', 'alpha', 'C', 'p_A', 'p_alpha')
    """
    if law.param_names[:3] != ("L0", "A", "alpha"):
        raise ValueError(f"the {law.name} law does not start L0 + A*S1^-alpha: cannot span sizes")
    tied = dict(tied) if tied is not None else dict.fromkeys(law.annealing_params[:1], "A")
    base = law.param_names[1:]
    unknown = [p for p in (*scaled, *tied, *tied.values()) if p not in base]
    if unknown or any(t not in scaled for t in tied.values()):
        raise ValueError(f"the {law.name} law has no parameter {unknown[0]} to scale")
    exponent = {p: i for i, p in enumerate(scaled)} | {p: scaled.index(t) for p, t in tied.items()}
    names = (*LEVEL_PARAMS, *base, *(f"p_{p}" for p in scaled))
    return dataclasses.replace(
        law,
        name=name,
        formula=f"{law.formula}; L0 = E + b*(N/N_ref)^(-a_N), "
        + ", ".join(f"{p} ~ (N/N_ref)^(-p_{tied.get(p, p)})" for p in (*scaled, *tied)),
        param_names=names,
        lower=(0.0,) * 3 + law.lower[1:] + (_EXPONENT_FLOOR,) * len(scaled),
        upper=(np.inf,) * 3 + law.upper[1:] + (np.inf,) * len(scaled),
        loss=_SizedLoss(law.loss, tuple(exponent.get(p, -1) for p in base)),
        starts=_SizedStarts(law.starts, len(scaled)),
        context=tuple(dict.fromkeys((*law.context, "log_lr_ref", "log_size"))),
        rival="",
        legacy_options={},
    )
