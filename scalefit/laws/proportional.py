r"""The held-shape multi-power law with its loss drop proportional to the loss.

.. math::

    D(t) = L_0 + A\, S_1(t)^{-\alpha}, \qquad L(t) = D(t)\,\big(1 - B\, \mathrm{LD}(t)\big),

with :math:`S_1(t) = \sum_{\tau \le t} \eta_\tau` (the warm-up's real LRs) and
:math:`\mathrm{LD}(t)` the loss-drop sum of scalefit's default law, ``multipower-fixed``
(:func:`scalefit.laws.multipower.held_shape_drop`): each LR decrease, weighed on
:math:`\eta_{peak}^{0.1}\,\eta^{0.9}`, counts
:math:`G\big(C\,\eta_k^{-1/2} S_k(t)\big)`, :math:`G(x) = 1 - (1 + x)^{-1/2}`,
:math:`C = (\eta_{peak} / 3 \cdot 10^{-4})^{-1/2}`. Four parameters,
:math:`L_0, A, \alpha, B \ge 0`, as the default law; only the drop changes, from
:math:`-B\,\mathrm{LD}` to :math:`-B\,D\,\mathrm{LD}`: a decrease lowers the loss by a fraction of
the loss the schedule has reached rather than by an amount, so that late in a long run, where
:math:`D` is lower, the same decrease is worth less. :math:`B` is in units of 1 / LR (its starts
are given at a peak of 3e-4 and scaled to the curves' own), so that a fit does not depend on the
LR's unit.

This form is scalefit's own: measured outside the package on the bundled curves (the project's
research note on law candidates), then implemented here to be chosen or not by the protocol in
``benchmarks/README.md``. Neither paper below proposes it.

Reference:
    Luo, Wen, Liu, Zhang, Li, Lyu, Ma. "A Multi-Power Law for Loss Curve Prediction Across
    Learning Rate Schedules", ICLR 2025, arXiv:2503.12811 (the loss-drop sum it scales).
"""

from __future__ import annotations

import jax
import numpy as np

from scalefit.laws import multipower
from scalefit.laws._law import Features, Law


def loss(params: jax.Array, features: Features) -> jax.Array:
    r""":math:`(L_0 + A S_1^{-\alpha})(1 - B\,\mathrm{LD})` for ``params = (L0, A, alpha, B)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> lr = jnp.array([[3e-4] * 1000 + [3e-5] * 1000])  # a tenfold drop at step 1000
        >>> f = multipower.prepare(lr, jnp.array([[999, 1999]]), jnp.array([0]), drop_power=0.9)
        >>> p = jnp.array([2.0, 1.0, 0.5, 200.0])
        >>> d = multipower.forward(p, f)  # L0 + A S1^(-alpha)
        >>> # the loss less D: the default law's (-B LD: here the rise from an LR of 0 before
        >>> # step 0 outweighs the drop at step 1000), times D
        >>> [round(v, 3) for v in (loss(p, f) - d).tolist()[0]]
        [0.176, 0.055]
        >>> [round(v, 3) for v in ((multipower.held_shape_loss(p, f) - d) * d).tolist()[0]]
        [0.176, 0.055]
    """
    return multipower.forward(params, features) * (
        1.0 - params[3] * multipower.held_shape_drop(features)
    )


def starts(loss_rows: np.ndarray, features: Features) -> np.ndarray:
    r"""The default law's starts of :math:`L_0, A, \alpha` (:math:`L_0` under the lowest loss,
    :math:`A` through the first, two exponents), each with :math:`B` at 30 and 200 at a peak of
    3e-4, scaled to the curves' peak: a full decay lowers the loss by about 1 or 6 % (8 starts)."""
    base = np.unique(multipower.FIXED_SHAPE_LAW.starts(loss_rows, features)[:, :3], axis=0)
    ratio = float(np.exp(np.max(features["log_peak"]) - np.log(multipower.REFERENCE_LR)))
    return np.array([(*row, b / ratio) for row in base for b in (30.0, 200.0)])


LAW = Law(
    name="multipower-proportional",
    formula="L(t) = (L0 + A*S1(t)^(-alpha)) * (1 - B*LD(t)), LD(t) the loss-drop sum of "
    "multipower-fixed (its shape and drop_power held)",
    param_names=("L0", "A", "alpha", "B"),
    lower=(0.0,) * 4,
    upper=(np.inf,) * 4,
    prepare=multipower.prepare,
    loss=loss,
    starts=starts,
    options=dict(multipower.FIXED_SHAPE_LAW.options),
    reference="scalefit's own form (research note on law candidates), on the loss-drop sum of "
    "Luo et al. 2025, arXiv:2503.12811",
    annealing_params=("B",),
    search_rows=multipower.LAW.search_rows,
    finish=multipower.finish,
    rival="annealing",
    prepare_steps=multipower.prepare_steps,
    prepare_rows=multipower.prepare_rows,
)
"""The law, as registered (``scalefit fit --law multipower-proportional``)."""
