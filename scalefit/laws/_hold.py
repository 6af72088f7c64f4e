"""Smaller laws made from bigger ones: some parameters held at given values."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from scalefit.laws._law import Features, Law
from scalefit.laws._registry import get_law

__all__ = ["hold"]


@dataclass(frozen=True)
class _HeldLoss:
    """A law's loss with some parameters held at given values: called with the others only.

    A class, not a closure, so that it names itself alike in every process (compiled programs
    are stored under the names of their static arguments, :mod:`scalefit._programs`)."""

    loss: Callable[[jax.Array, Features], jax.Array]
    n_params: int
    held: tuple[tuple[int, float], ...]

    def __call__(self, params: jax.Array, features: Features) -> jax.Array:
        values = dict(self.held)
        free = iter(range(params.shape[-1]))
        full = [
            jnp.asarray(values[i], params.dtype) if i in values else params[next(free)]
            for i in range(self.n_params)
        ]
        return self.loss(jnp.stack(full), features)

    def __repr__(self) -> str:
        qualname = getattr(self.loss, "__qualname__", None)  # a function, or a loss object
        name = f"{self.loss.__module__}.{qualname}" if qualname else repr(self.loss)
        return f"_HeldLoss({name}, {self.n_params}, {self.held})"


@dataclass(frozen=True)
class _HeldStarts:
    starts: Callable[[np.ndarray, Features], np.ndarray]
    free: tuple[int, ...]

    def __call__(self, loss_rows: np.ndarray, features: Features) -> np.ndarray:
        return np.unique(self.starts(loss_rows, features)[:, list(self.free)], axis=0)


def hold(law: Law | str, name: str, **values: float) -> Law:
    """``law`` with some parameters held at fixed values: a smaller law, fitted on the others.

    Fewer parameters are better determined by few curves; the held ones no longer move with the
    noise of the fitted curves (lmfit's ``vary=False``, as a law of its own).

    Args:
        law: the law to restrict, or its registered name.
        name: the new law's name.
        **values: parameter name to the value it is held at.

    Returns:
        A :class:`Law` over the remaining parameters (register it to fit it by name).

    Examples:
        >>> from scalefit.laws import get_law
        >>> law = hold(get_law("multipower"), "multipower-gamma-half", gamma=0.5)
        >>> law.param_names
        ('L0', 'A', 'alpha', 'B', 'C', 'beta')
    """
    law = get_law(law)
    unknown = set(values) - set(law.param_names)
    if unknown:
        raise ValueError(f"the {law.name} law has no parameter {', '.join(sorted(unknown))}")
    for n, v in values.items():
        low = law.lower[law.param_names.index(n)]
        if not float(v) >= low:
            raise ValueError(f"{n} must be at least {low:g}, not {v!r}")
    held = tuple((law.param_names.index(n), float(v)) for n, v in values.items())
    free = tuple(i for i, n in enumerate(law.param_names) if n not in values)
    shown = ", ".join(f"{n}={v:g}" for n, v in values.items())
    return dataclasses.replace(
        law,
        name=name,
        formula=f"{law.formula}; {shown} held",
        param_names=tuple(law.param_names[i] for i in free),
        lower=tuple(law.lower[i] for i in free),
        upper=tuple(law.upper[i] for i in free),
        loss=_HeldLoss(law.loss, law.n_params, held),
        starts=_HeldStarts(law.starts, free),
        annealing_params=tuple(n for n in law.annealing_params if n not in values),
    )
