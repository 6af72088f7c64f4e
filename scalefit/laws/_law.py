"""What a law is: a pure loss function of parameters and schedule features, plus what fitting needs.

A law knows nothing of files or of fitting. It says how to turn a per-step LR array into the
features it reads at the observed steps (``prepare``), how features and parameters give a loss
(``loss``), the bounds of its parameters, and where a minimiser should start (``starts``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import jax
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
            (:class:`scalefit.Uncertainty`). Empty: none.
        legacy_options: for options added to the law after fit files were saved, the value such
            a file (which records none) was made with, so that it predicts as it did.
        prepare_steps, prepare_rows: optionally, ``prepare`` in two parts, for predictions at
            many rows of long schedules: ``prepare_steps(lr, warmup_steps, **options)`` (jitted)
            computes what every row needs, once per schedule; ``prepare_rows(steps, rows,
            **options, xp=numpy)`` the features at some rows from it, with NumPy (or with
            ``xp=jax.numpy``, traced). ``prepare`` must equal ``prepare_rows`` of
            ``prepare_steps``; ``finish`` is not applied to these features.
        context: what the law reads of its runs beyond their LRs, as features of every row:
            ``"log_lr_ref"`` (the log of a reference LR taken from the fitted runs: a law with a
            power of the LR stays independent of the LR's unit) and ``"log_size"`` (the log of
            each run's model size over a reference size taken from the fitted runs).
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
    prepare_steps: Callable[..., Features] | None = None
    prepare_rows: Callable[..., Features] | None = None
    context: tuple[str, ...] = ()

    @property
    def n_params(self) -> int:
        return len(self.param_names)
