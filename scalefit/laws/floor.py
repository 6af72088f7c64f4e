r"""The default law with a noise floor: across peak LRs, with the default's loss drop.

.. math::

    L(t) = \big(L_0 + A\, S_1(t)^{-\alpha}\big)\big(1 - B\, \mathrm{LD}(t)\big)
        + D\, \big(\bar\eta_t / \eta_{ref}\big)^{p},

the default law (:mod:`scalefit.laws.proportional`) plus the noise floor of
:mod:`scalefit.laws.noise`: :math:`\bar\eta` the exponential moving average of the LR
(:math:`\lambda` = 0.999, warm-up steps at the peak), :math:`\eta_{ref}` the fitted runs'
geometric-mean peak (recorded in the fit). Six parameters, :math:`L_0, A, \alpha, B, D, p \ge 0`.
The loss drop of a decay is the default law's; the floor makes a larger peak LR costlier, so
that runs at several peaks determine :math:`D` and :math:`p` (at one peak they trade off
against :math:`B`: fit the default law there).

This form is scalefit's own, defined for sweeps across peak LRs after the noise floor's law
(:mod:`scalefit.laws.noise`) was measured on the bundled sweep: it keeps that law's floor and
the default's loss drop.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from numpy.typing import ArrayLike

from scalefit.areas import DEFAULT_DECAY
from scalefit.laws import multipower, noise, proportional
from scalefit.laws._law import Features, Law


@partial(jax.jit, static_argnames=multipower._STATIC)
def prepare(lr: jax.Array, rows: jax.Array, warmup_steps: jax.Array, **options: Any) -> Features:
    """The default law's features and ``log_ema`` (the log of the LR's moving average) at
    ``rows``."""
    return prepare_rows(prepare_steps(lr, warmup_steps, **options), rows, **options, xp=jnp)


@partial(jax.jit, static_argnames=multipower._STATIC)
def prepare_steps(lr: jax.Array, warmup_steps: jax.Array, **options: Any) -> Features:
    """:func:`prepare`'s per-step part: the default law's, and the moving average's."""
    steps = multipower.prepare_steps(lr, warmup_steps, **options)
    ema = noise.prepare_steps(lr, warmup_steps, decay=DEFAULT_DECAY, warmup="peak")["log_ema"]
    return steps | {"log_ema": ema}


def prepare_rows(steps: Features, rows: ArrayLike, *, xp: Any = jnp, **options: Any) -> Features:
    """:func:`prepare`'s features at ``rows``, from :func:`prepare_steps`' ``steps``."""
    features = multipower.prepare_rows(steps, rows, **options, xp=xp)
    return features | {"log_ema": xp.take_along_axis(steps["log_ema"], rows, axis=-1)}


def loss(params: jax.Array, features: Features) -> jax.Array:
    r""":math:`(L_0 + A S_1^{-\alpha})(1 - B\,\mathrm{LD}) + D (\bar\eta / \eta_{ref})^p` for
    ``params = (L0, A, alpha, B, D, p)``."""
    relative = features["log_ema"] - features["log_lr_ref"]
    return proportional.loss(params[:4], features) + params[4] * jnp.exp(params[5] * relative)


def starts(loss_rows: np.ndarray, features: Features) -> np.ndarray:
    """The default law's starts, each with a floor of 1 % or 5 % of the lowest loss and a power
    of 0.3 (16 starts)."""
    base = proportional.starts(loss_rows, features)
    low = float(np.min(loss_rows))
    return np.array([(*row, share * low, 0.3) for row in base for share in (0.01, 0.05)])


LAW = Law(
    name="multipower-floor",
    formula="L(t) = (L0 + A*S1(t)^(-alpha)) * (1 - B*LD(t)) + D*(ema_0.999(eta)(t)/eta_ref)^p",
    param_names=("L0", "A", "alpha", "B", "D", "p"),
    lower=(0.0,) * 6,
    upper=(np.inf,) * 6,
    prepare=prepare,
    loss=loss,
    starts=starts,
    options=dict(proportional.LAW.options),
    reference="scalefit's own: the default law with the noise floor of scalefit.laws.noise",
    annealing_params=("B", "D", "p"),
    search_rows=proportional.LAW.search_rows,
    finish=multipower.finish,
    prepare_steps=prepare_steps,
    prepare_rows=prepare_rows,
    context=("log_lr_ref",),
)
