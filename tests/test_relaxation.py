"""The relaxation-mixture law: its modes against the recurrence step by step, batches, the
schedule gradient, and a fit that finds the parameters of a curve it made."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalefit import Curve, fit
from scalefit._features import Stack, evaluate
from scalefit.laws import get_law
from scalefit.laws import relaxation as rx
from scalefit.schedules import per_step_lrs


def direct_modes(lr: np.ndarray, rows: np.ndarray, rho: float = 0.5, p: float = 0.9) -> np.ndarray:
    """The modes by the recurrence itself, one step at a time (``(rows, 129)``, in the order of
    ``rows``)."""
    peak = lr.max()
    clock = rx.REFERENCE_LR * (lr / peak) ** rho
    level = peak * (lr / peak) ** p
    modes, out = np.zeros(rx.RATES.size), {}
    for t in range(rows.max() + 1):
        keep = np.exp(-rx.RATES * clock[t])
        modes = keep * modes + (1 - keep) * level[t]
        out[t] = modes.copy()
    return np.array([out[t] for t in rows])


def schedule(n: int = 2500, seed: int = 0) -> np.ndarray:
    """A warm-up, a plateau, a burst of random LRs (rises and falls) and a linear decay to 0."""
    rng = np.random.default_rng(seed)
    lr = np.concatenate(
        [np.linspace(0, 1e-3, 100), np.full(n // 2, 1e-3), np.linspace(1e-3, 0, n - 100 - n // 2)]
    )
    lr[1300:1350] = 2e-3 * rng.random(50)
    return lr


# block edges, the burst, out of order and repeated (as padding repeats the last row), then
# every step
ROWS = [0, 5, 99, rx.BLOCK - 1, rx.BLOCK, 1320, 2 * rx.BLOCK, 2499, 2400, 2499, *range(2500)]


@pytest.mark.parametrize(("rho", "p"), [(0.5, 0.9), (1.0, 1.0)])
def test_modes_follow_the_recurrence_across_blocks(rho: float, p: float) -> None:
    """Each row, wherever it falls and however often it is asked for, gets the modes of its own
    step (at the law's powers, and at the noisy quadratic model's)."""
    lr = schedule()
    rows = np.array(ROWS)
    with jax.enable_x64(True):
        features = rx.prepare(
            jnp.asarray(lr[None]),
            jnp.asarray(rows[None]),
            jnp.array([100]),
            clock_power=rho,
            level_power=p,
        )
    np.testing.assert_allclose(
        np.asarray(features["modes"][0]), direct_modes(lr, rows, rho, p), rtol=0, atol=1e-15
    )
    np.testing.assert_allclose(np.asarray(features["s1"][0]), np.cumsum(lr)[rows], rtol=1e-13)


def test_batches_agree_and_the_schedule_gradient_stays_finite() -> None:
    """A schedule's losses do not depend on the schedules batched with it; the clock's and the
    level's gradient with respect to the LR is finite where the LR reaches 0 (``choose
    --optimize`` descends through them; the whole law's schedule gradient, checked once, takes
    seconds to compile)."""
    law = get_law("relaxation")
    params = jnp.array([2.5, 0.6, 0.45, 250.0, 1.0, 10.0])
    first, second = schedule(), schedule(seed=1) * 0.5
    rows = np.array([[200, 1400, 2499]] * 2)
    with jax.enable_x64(True):

        def losses(lrs):
            return np.asarray(
                law.loss(params, rx.prepare(lrs, jnp.asarray(rows), jnp.zeros(2, int)))
            )

        both = losses(jnp.asarray(np.stack([first, second])))
        swapped = losses(jnp.asarray(np.stack([second, first])))
        ratios = jnp.asarray(first / first.max())
        grads = [
            jax.grad(lambda r, q=q: rx._relative_power(r, q).sum())(ratios) for q in (0.5, 0.9)
        ]
    np.testing.assert_allclose(both, swapped[::-1], rtol=1e-13)
    assert not np.allclose(both[0], both[1])
    assert first[-1] == 0 and all(np.all(np.isfinite(np.asarray(g))) for g in grads)


TRUTH = {"L0": 2.4, "A": 0.7, "alpha": 0.45, "B": 250.0, "beta": 1.5, "theta": 4.0}
SPECS = {
    "constant": "constant:peak=3e-4,steps=12000,warmup=1000",
    "short": "wsd:peak=3e-4,steps=12000,warmup=1000,decay=0.1",
    "long": "wsd:peak=3e-4,steps=12000,warmup=1000,decay=0.4",
    "cosine": "cosine:peak=3e-4,steps=12000,warmup=1000,final=3e-5",
}


def made_curves() -> dict[str, Curve]:
    """The four schedules' curves as the law makes them at :data:`TRUTH`, every 100 steps."""
    rows = np.arange(1000, 12000, 100)
    lrs = {name: per_step_lrs(spec) for name, spec in SPECS.items()}
    stack = Stack.of([Curve(n, lr, rows, np.ones(rows.size), 1000) for n, lr in lrs.items()])
    law = get_law("relaxation")
    features = stack.features(law, dict(law.options))
    losses = stack.unstack(evaluate(law, np.array(list(TRUTH.values())), features))
    return {n: Curve(n, lr, rows, y, 1000) for (n, lr), y in zip(lrs.items(), losses)}


def test_a_fit_finds_the_parameters_of_curves_it_made() -> None:
    """Noise-free curves of four schedules made by the law, in which the mixture falls with the
    LR and a long linear decay ends lower than a short one to the same LR from the same plateau
    (as real cooldowns do): the fit returns their parameters."""
    curves = made_curves()
    final = {n: c.loss[-1] for n, c in curves.items()}
    assert final["long"] < final["short"] < final["constant"]
    result = fit(list(curves.values()), "relaxation", uncertainty=False)
    assert result.converged
    for name, value in TRUTH.items():
        assert result.params[name] == pytest.approx(value, rel=0.02), result.params
