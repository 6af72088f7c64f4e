"""What a law is: a pure loss function of parameters and schedule features, plus what fitting needs.

A law knows nothing of files or of fitting. It says how to turn a per-step LR array into the
features it reads at the observed steps (``prepare``), how features and parameters give a loss
(``loss``), the bounds of its parameters, and where a minimiser should start (``starts``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

Features = dict[str, jax.Array]
"""Per-row features of a law: every array is shaped like the rows it was asked for."""


@dataclass(frozen=True)
class Law:
    """A loss-curve law.

    Attributes:
        name: registry name (``scalefit fit --law NAME``).
        formula: the law in one line of plain text, for tables and ``--help``.
        param_names: parameter names, in the order of the parameter vector.
        lower, upper: bounds of each parameter (``upper`` may be ``inf``).
        prepare: ``prepare(lr, rows, warmup_steps, **options) -> Features``: from per-step LRs
            ``(..., n)`` (index = step), the integer steps ``(..., r)`` where the loss is wanted,
            and the warm-up lengths ``(...)``, the parameter-free features at those rows, each
            ``(..., r)`` (or ``(..., r, m)``); features that are not per row (e.g. per step,
            ``(..., n)``) may come too, for ``loss`` only. Leading axes batch curves; the
            function should be jitted.
        loss: ``loss(params, features) -> predicted loss`` per row; pure, jit/vmap/grad-able.
        starts: ``starts(loss, features) -> (n_starts, n_params)`` starting points for a fit from
            the observed losses and the features at their rows (both flattened over curves).
        options: the law's options and their defaults (e.g. ``{"decay": 0.999}``).
        reference: the paper the law comes from.
        annealing_params: the parameters that only a decreasing LR can determine.
        search_rows: the most rows of each curve the multi-start search runs on (thinned evenly;
            the best start is then minimised on every row): fewer for a costlier law.
        finish: optional ``finish(features) -> features`` run on the host (NumPy) after
            ``prepare``, e.g. to drop padding whose size only the data can tell.
        rival: the registered name of a law of another family, fitted beside this one for the
            error model: where the two predict apart, the gap counts as error
            (:mod:`scalefit.uncertainty`). Empty: none.
        legacy_options: for options added to the law after fit files were saved, the value such
            a file (which records none) was made with, so that it predicts as it did.
    """

    name: str
    formula: str
    param_names: tuple[str, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    prepare: Callable[..., Features]
    loss: Callable[[jax.Array, Features], jax.Array]
    starts: Callable[[np.ndarray, Features], np.ndarray]
    options: Mapping[str, object] = field(default_factory=dict)
    reference: str = ""
    annealing_params: tuple[str, ...] = ()
    search_rows: int = 256
    finish: Callable[[Features], Features] | None = None
    rival: str = ""
    legacy_options: Mapping[str, object] = field(default_factory=dict)

    @property
    def n_params(self) -> int:
        return len(self.param_names)


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
        name = f"{self.loss.__module__}.{self.loss.__qualname__}"
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
    if isinstance(law, str):
        from scalefit.laws import get_law  # the registry imports this module

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
