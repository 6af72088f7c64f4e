"""The held shape with its loss drop proportional to the loss: its loss against the sum taken
step by step, and a fit that finds the parameters of curves it made."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalefit import Curve, fit
from scalefit._features import Stack, evaluate
from scalefit.laws import get_law
from scalefit.laws import multipower as mpl
from scalefit.schedules import per_step_lrs


def exact_loss(lr: np.ndarray, rows: np.ndarray, params: np.ndarray) -> np.ndarray:
    """(L0 + A S1^-alpha)(1 - B LD), LD summed term by term: decreases of peak (lr / peak)^0.9
    from an LR of 0 before step 0, G(x) = 1 - (1 + C x)^(-1/2), x = lr_k^(-1/2) S_k(t),
    C = (peak / 3e-4)^(-1/2)."""
    l0, a, alpha, b = params
    peak = lr.max()
    area = np.cumsum(lr)
    level = peak * (lr / peak) ** mpl.DROP_POWER
    c = (peak / mpl.REFERENCE_LR) ** -0.5
    out = []
    for t in rows:
        k = np.arange(t + 1)
        change = np.r_[0.0, level][k] - level[k]
        since = area[t] - (area[k] - lr[k])
        g = 1 - (1 + c * np.maximum(lr[k], 1e-12) ** -0.5 * since) ** -0.5
        out.append((l0 + a * area[t] ** -alpha) * (1 - b * np.sum(change * g)))
    return np.array(out)


@pytest.mark.parametrize("window", [mpl.WINDOW, 4096])
def test_loss_matches_the_sum_taken_step_by_step(window: int) -> None:
    """At a peak of 1e-3 (C scaled from the authors' 3e-4), with a warm-up, a plateau, a step
    down and a linear decay to 0: exact with every step its own term, within 3e-5 relative with
    the default law's segments."""
    lr = np.concatenate(
        [np.linspace(1e-5, 1e-3, 200), np.full(1300, 1e-3), np.full(500, 4e-4), np.zeros(1)]
    )
    lr = np.concatenate([lr, np.linspace(4e-4, 0, 1000)])
    rows = np.array([199, 800, 1500, 1501, 1999, 2600, lr.size - 1])
    params = np.array([2.4, 0.7, 0.45, 80.0])
    law = get_law("multipower-proportional")
    with jax.enable_x64(True):
        features = mpl.prepare(
            jnp.asarray(lr[None]),
            jnp.asarray(rows[None]),
            jnp.array([200]),
            window=window,
            drop_power=mpl.DROP_POWER,
        )
        predicted = np.asarray(law.loss(params, mpl.finish(features)))[0]
    expected = exact_loss(lr, rows, params)
    tolerance = 1e-13 if window >= lr.size else 3e-5
    np.testing.assert_allclose(predicted, expected, rtol=tolerance)


TRUTH = {"L0": 2.4, "A": 0.7, "alpha": 0.45, "B": 150.0}
SPECS = (
    "constant:peak=3e-4,steps=12000,warmup=1000",
    "wsd:peak=3e-4,steps=12000,warmup=1000,decay=0.2",
    "cosine:peak=3e-4,steps=12000,warmup=1000,final=3e-5",
)


def test_a_fit_finds_the_parameters_of_curves_it_made() -> None:
    """Noise-free curves of three schedules made by the law: the fit returns their parameters."""
    law = get_law("multipower-proportional")
    rows = np.arange(1000, 12000, 100)
    lrs = [per_step_lrs(spec) for spec in SPECS]
    stack = Stack.of([Curve(s, lr, rows, np.ones(rows.size), 1000) for s, lr in zip(SPECS, lrs)])
    losses = stack.unstack(
        evaluate(law, np.array(list(TRUTH.values())), stack.features(law, dict(law.options)))
    )
    curves = [Curve(s, lr, rows, y, 1000) for s, lr, y in zip(SPECS, lrs, losses)]
    result = fit(curves, law, uncertainty=False)
    assert result.converged
    for name, value in TRUTH.items():
        assert result.params[name] == pytest.approx(value, rel=1e-3), result.params
