r"""A law across peak learning rates: the loss falls with the LR area and rises with the LR's
recent level, its noise floor.

.. math::

    L(s) = L_0 + A\, S_1(s)^{-\alpha} + D\, \big(\bar\eta_s / \eta_{ref}\big)^{p},
    \qquad \bar\eta_s = \lambda\, \bar\eta_{s-1} + (1 - \lambda)\, \eta_s,

with :math:`S_1` the forward area (warm-up steps counted at the peak, as the annealing law counts
them), :math:`\bar\eta` the exponential moving average of the LR (:math:`\lambda` = 0.999,
:math:`\bar\eta_0 = \eta_0`) and :math:`\eta_{ref}` a reference LR taken from the fitted runs
(the geometric mean of their peaks, recorded in the fit: predictions do not depend on the unit
the LR is logged in). :math:`L_0, A, \alpha, D, p \ge 0` are fitted.

A larger peak LR trains faster (a larger area :math:`S_1`) but to a higher floor (a larger
:math:`\bar\eta`): the best peak of a schedule is where the two balance, which laws whose
progress is a function of the LR area alone cannot find (they predict that a larger peak is
always better after a decay). Decaying the LR lowers :math:`\bar\eta` and with it the loss: at
:math:`p = 1` and one peak, since :math:`\bar\eta_s = \eta_0 - (1 - \lambda) S_2(s)`, this is the
annealing law of Tissue et al. (2024); fitted across peaks, :math:`p` lands near 0.2-0.3 (the
research note behind this form measured it on 124M runs at peaks 5e-4 and 2e-3).

This form is scalefit's own: it was measured on the lr-scheduling runs of Hägele et al. (2024)
outside the package before it was adopted.
"""

from __future__ import annotations

import itertools
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from scalefit.areas import DEFAULT_DECAY, schedule_areas, warmup_as_peak
from scalefit.laws._law import Features, Law
from scalefit.laws.annealing import prepare_rows  # the rows of per-step features, alike


@partial(jax.jit, static_argnames=("decay", "warmup"))
def prepare(
    lr: jax.Array,
    rows: jax.Array,
    warmup_steps: jax.Array,
    *,
    decay: float = DEFAULT_DECAY,
    warmup: str = "peak",
) -> Features:
    """``log_s1`` (the log of the forward area) and ``log_ema`` (the log of the LR's moving
    average) at ``rows``."""
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
    first = warmup_as_peak(lr, warmup_steps)[..., :1] if warmup == "peak" else lr[..., :1]
    ema = first - (1.0 - decay) * s2  # η̄_s = η_0 - (1 - λ) S2(s), the annealing area's identity
    tiny = jnp.finfo(s1.dtype).tiny
    return {"log_s1": jnp.log(jnp.maximum(s1, tiny)), "log_ema": jnp.log(jnp.maximum(ema, tiny))}


def loss(params: jax.Array, features: Features) -> jax.Array:
    r""":math:`L_0 + A S_1^{-\alpha} + D (\bar\eta / \eta_{ref})^p` for ``params = (L0, A,
    alpha, D, p)``; ``features["log_lr_ref"]`` is :math:`\log \eta_{ref}`.

    Examples:
        >>> import jax.numpy as jnp
        >>> log = lambda *x: jnp.log(jnp.array(x))
        >>> f = {"log_s1": log(1.0, 4.0), "log_ema": log(2.0, 0.5), "log_lr_ref": log(1.0, 1.0)}
        >>> [round(v, 6) for v in loss(jnp.array([2.0, 1.0, 0.5, 0.1, 1.0]), f).tolist()]
        [3.2, 2.55]
    """
    l0, a, alpha, d, p = params[0], params[1], params[2], params[3], params[4]
    relative = features["log_ema"] - features["log_lr_ref"]
    return l0 + a * jnp.exp(-alpha * features["log_s1"]) + d * jnp.exp(p * relative)


def starts(loss_rows: np.ndarray, features: Features) -> np.ndarray:
    """:math:`L_0` under the lowest loss and :math:`A` through the first observed loss, over a
    grid of the exponents and of the floor's size (36 starts)."""
    y = np.asarray(loss_rows, dtype=np.float64).ravel()
    log_s1 = np.asarray(features["log_s1"], dtype=np.float64).ravel()
    first = int(np.argmin(log_s1))
    out = []
    for l0_frac, alpha, d_frac, p in itertools.product(
        (0.6, 0.85), (0.3, 0.6), (0.01, 0.05, 0.2), (0.1, 0.3, 1.0)
    ):
        l0 = l0_frac * y.min()
        a = max(y[first] - l0, 1e-3) * np.exp(alpha * log_s1[first])
        out.append((l0, a, alpha, d_frac * y.min(), p))
    return np.array(out)


LAW = Law(
    name="noise",
    formula="L(s) = L0 + A*S1(s)^(-alpha) + D*(ema_0.999(eta)(s)/eta_ref)^p, eta_ref the fitted "
    "runs' geometric-mean peak",
    param_names=("L0", "A", "alpha", "D", "p"),
    lower=(0.0,) * 5,
    upper=(np.inf,) * 5,
    prepare=prepare,
    loss=loss,
    starts=starts,
    options={"decay": DEFAULT_DECAY, "warmup": "peak"},
    reference="scalefit's own (a noise floor beside the forward area), after Tissue et al. 2024",
    annealing_params=("D", "p"),
    prepare_steps=prepare_steps,
    prepare_rows=prepare_rows,
    context=("log_lr_ref",),
)
