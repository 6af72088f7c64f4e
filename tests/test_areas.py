"""Areas against the paper's definition written as a plain loop."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalefit.areas import (
    annealing_area,
    forward_area,
    leading_warmup,
    momentum,
    schedule_areas,
    warmup_as_peak,
)


def loop_areas(lr, decay):
    """S1, S2 exactly as the paper defines them, one step at a time."""
    s1 = s2 = m = 0.0
    out1, out2 = [], []
    for i, eta in enumerate(lr):
        m = decay * m + ((lr[i - 1] - eta) if i else 0.0)
        s1 += eta
        s2 += m
        out1.append(s1)
        out2.append(s2)
    return np.array(out1), np.array(out2)


def schedules(n=3000):
    t = np.arange(n)
    return {
        "constant": np.full(n, 3e-4),
        "cosine": 3e-5 + (3e-4 - 3e-5) / 2 * (1 + np.cos(np.pi * t / (n - 1))),
        "wsd": np.where(t < 0.8 * n, 1e-3, np.maximum(1e-3 * (n - t) / (0.2 * n), 0)),
        "rewarm": np.where(t < n // 3, 3e-4, np.where(t < 2 * n // 3, 3e-5, 2e-4)),
        "warmup": np.minimum(1e-3 * t / 300, 1e-3),
        "noise": np.random.default_rng(0).uniform(0, 1e-3, n),
    }


@pytest.mark.parametrize("decay", [0.0, 0.3, 0.9, 0.97, 0.98, 0.99, 0.999, 0.9999, 1.0])
@pytest.mark.parametrize("name", list(schedules()))
def test_areas_match_the_loop(name, decay):
    lr = schedules()[name]
    want1, want2 = loop_areas(lr, decay)
    with jax.enable_x64(True):
        got1 = np.asarray(forward_area(jnp.asarray(lr)))
        got2 = np.asarray(annealing_area(jnp.asarray(lr), decay))
    np.testing.assert_allclose(got1, want1, rtol=1e-12, atol=1e-15)
    scale = max(np.abs(want2).max(), 1e-6)
    np.testing.assert_allclose(got2, want2, rtol=0, atol=1e-9 * scale)


def test_traced_decay_takes_the_same_values_as_a_concrete_one():
    lr = schedules()["rewarm"]
    with jax.enable_x64(True):
        f = jax.jit(annealing_area)
        for decay in (0.0, 0.5, 0.999, 1.0):
            np.testing.assert_allclose(
                np.asarray(f(jnp.asarray(lr), decay)), loop_areas(lr, decay)[1], atol=1e-12
            )


def test_lr_increase_makes_the_annealing_area_negative():
    lr = np.concatenate([np.full(100, 1e-4), np.full(100, 3e-4)])
    with jax.enable_x64(True):
        s2 = np.asarray(annealing_area(jnp.asarray(lr)))
    assert s2[99] == 0 and s2[-1] < 0


def test_batched_equals_one_at_a_time_and_vmap():
    lrs = np.stack(list(schedules().values()))
    with jax.enable_x64(True):
        batched = np.asarray(annealing_area(jnp.asarray(lrs), 0.999))
        vmapped = np.asarray(jax.vmap(lambda x: annealing_area(x, 0.999))(jnp.asarray(lrs)))
        single = np.stack([np.asarray(annealing_area(jnp.asarray(x), 0.999)) for x in lrs])
    np.testing.assert_allclose(batched, single, atol=1e-14)
    np.testing.assert_allclose(vmapped, single, atol=1e-14)


def test_gradient_matches_finite_differences():
    lr = schedules(400)["cosine"]

    def final_s2(x, decay):
        return annealing_area(x, decay)[-1] + 0.1 * forward_area(x)[-1]

    with jax.enable_x64(True):
        x = jnp.asarray(lr)
        g, g_decay = jax.grad(final_s2, argnums=(0, 1))(x, 0.99)
        e = np.zeros_like(lr)
        for i in (0, 10, 200, 399):
            e[:] = 0
            e[i] = 1e-7
            fd = (final_s2(x + e, 0.99) - final_s2(x - e, 0.99)) / 2e-7
            assert abs(float(g[i]) - float(fd)) < 1e-6 * max(1.0, abs(float(fd)))
        fd = (final_s2(x, 0.99 + 1e-6) - final_s2(x, 0.99 - 1e-6)) / 2e-6
        assert abs(float(g_decay) - float(fd)) < 1e-5 * max(1.0, abs(float(fd)))
        assert np.all(np.isfinite(np.asarray(g)))


def test_float32_stays_close_without_touching_global_settings():
    assert not jax.config.jax_enable_x64
    lr = schedules(20000)["wsd"]
    got = np.asarray(annealing_area(jnp.asarray(lr, jnp.float32), 0.999))
    assert got.dtype == np.float32
    want = loop_areas(lr, 0.999)[1]
    assert np.abs(got - want).max() < 1e-4 * np.abs(want).max()
    assert not jax.config.jax_enable_x64


def test_momentum_is_the_recurrence():
    lr = schedules(50)["noise"]
    m, want = 0.0, []
    for i in range(len(lr)):
        m = 0.9 * m + ((lr[i - 1] - lr[i]) if i else 0.0)
        want.append(m)
    with jax.enable_x64(True):
        np.testing.assert_allclose(np.asarray(momentum(jnp.asarray(lr), 0.9)), want, atol=1e-15)


def test_warmup_as_peak_and_schedule_areas():
    lr = np.concatenate([np.linspace(0, 1e-3, 300, endpoint=False), np.full(100, 1e-3)])
    with jax.enable_x64(True):
        flat = np.asarray(warmup_as_peak(jnp.asarray(lr), 300))
        s1_peak, s2_peak = schedule_areas(jnp.asarray(lr), 0.999, 300, "peak")
        s1_real, s2_real = schedule_areas(jnp.asarray(lr), 0.999, 300, "actual")
    assert np.all(flat == 1e-3)
    assert float(s1_peak[-1]) == pytest.approx(0.4)
    assert float(s1_real[-1]) == pytest.approx(lr.sum())
    assert np.all(np.asarray(s2_peak) == 0) and float(s2_real[-1]) < 0
    with pytest.raises(ValueError):
        schedule_areas(jnp.asarray(lr), warmup="none")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0, 1e-2, allow_nan=False), min_size=1, max_size=300),
    st.floats(0, 1),
)
def test_areas_match_the_loop_on_any_schedule(values, decay):
    lr = np.array(values)
    want1, want2 = loop_areas(lr, decay)
    with jax.enable_x64(True):
        got2 = np.asarray(annealing_area(jnp.asarray(lr), decay))
        got1 = np.asarray(forward_area(jnp.asarray(lr)))
    np.testing.assert_allclose(got1, want1, rtol=1e-12, atol=1e-15)
    tol = 1e-9 * max(np.abs(want2).max(), 1e-2) / max(1 - decay, 1e-3) * 1e-3
    np.testing.assert_allclose(got2, want2, rtol=0, atol=max(tol, 1e-14))


def test_leading_warmup():
    assert leading_warmup(np.minimum(np.arange(1000) / 300, 1.0)) == 300
    assert leading_warmup(np.full(10, 1.0)) == 0
    assert leading_warmup(np.array([1.0])) == 0


def test_odd_input_gets_areas_of_its_own_shape_or_a_clear_error():
    assert [a.shape for a in schedule_areas(jnp.zeros(0))] == [(0,), (0,)]
    s1, s2 = schedule_areas([4, 3, 3, 1], 0.5)  # integers: areas in floats, both alike
    assert s1.dtype == s2.dtype and jnp.issubdtype(s1.dtype, jnp.floating)
    with pytest.raises(ValueError, match="momentum decay must lie in"):
        annealing_area(jnp.ones(3), 1.5)
    with pytest.raises(ValueError, match="steps along its last axis"):
        forward_area(3.0)
