"""Tests of scalefit.schedules: the families, the spec grammar, and the real schedules in data/."""

from __future__ import annotations

import csv
import math
import pickle
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalefit import InputError
from scalefit.schedules import (
    FAMILIES,
    SHAPES,
    Schedule,
    constant,
    cosine,
    linear,
    lr_array,
    multistep,
    parse_schedule,
    polynomial,
    power_law,
    power_law_tail_steps,
    rex,
    rsqrt,
    to_lambda_lr,
    to_optax,
    two_stage,
    wsd,
    wsd_cooldown_steps,
)

DATA = Path(__file__).resolve().parents[1] / "data"
MULTIPOWER = DATA / "multipower-law"
LR_SCHEDULING = DATA / "lr-scheduling-124m"


def read_columns(path: Path, *names: str) -> tuple[np.ndarray, ...]:
    """Rows of ``path`` whose columns ``names`` are all non-empty, as float64 arrays."""
    if not path.exists():
        pytest.skip(f"{path} is not in this checkout")
    with path.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if all(row[n] for n in names)]
    return tuple(np.array([float(row[n]) for row in rows]) for n in names)


# --------------------------------------------------------------------------------------------
# Each family at key points.


def values(fn, steps) -> list[float]:
    return [float(fn(t)) for t in steps]


def test_constant_key_points():
    assert values(constant(1e-3), [0, 1, 10**6]) == [1e-3] * 3
    f = constant(2e-3, warmup=4)
    assert values(f, [0, 1, 2, 3, 4, 5]) == pytest.approx([0, 5e-4, 1e-3, 1.5e-3, 2e-3, 2e-3])


def test_cosine_key_points():
    f = cosine(1.0, steps=110, final=0.1, warmup=10)
    got = values(f, [0, 5, 10, 35, 60, 85, 110, 200])
    half = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 4))
    want = [0.0, 0.5, 1.0, half, 0.55, 0.1 + 0.9 - (half - 0.1), 0.1, 0.1]
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert values(cosine(3.0, steps=2), [0, 1, 2]) == pytest.approx([3.0, 1.5, 0.0], abs=1e-15)


def test_linear_key_points():
    f = linear(1.0, steps=110, final=0.2, warmup=10)
    got = values(f, [0, 5, 10, 60, 110, 111])
    assert got == pytest.approx([0.0, 0.5, 1.0, 0.6, 0.2, 0.2], rel=1e-12)


@pytest.mark.parametrize(
    ("shape", "mid"),
    [
        ("linear", 0.1 + 0.9 * 0.5),
        ("cosine", 0.1 + 0.9 * 0.5),
        ("sqrt", 0.1 + 0.9 * (1 - math.sqrt(0.5))),
        ("exp", math.sqrt(0.1)),
    ],
)
def test_wsd_key_points(shape, mid):
    # T = 100, decay 0.2: n = 20 cooldown steps, from step 80 to 100.
    f = wsd(1.0, steps=100, decay=0.2, shape=shape, final=0.1, warmup=10)
    got = values(f, [0, 5, 10, 50, 79, 80, 90, 100, 150])
    want = [0.0, 0.5, 1.0, 1.0, 1.0, 1.0, mid, 0.1, 0.1]
    assert got == pytest.approx(want, rel=1e-12)


def test_wsd_cooldown_counts_on_total_steps():
    # n = int(decay * T) on the whole run (the lr-scheduling-124m convention), not on T - warmup.
    f = wsd(1.0, steps=1000, decay=0.25, warmup=200)
    lr = lr_array(f, 1000)
    assert lr[750] == 1.0 and lr[751] < 1.0
    assert lr[1000] == 0.0


def test_wsd_cooldown_is_int_of_the_float_product():
    # Plain int(decay * steps), as the lr-scheduling-124m trainer computed it, float rounding
    # included: 0.57 * 100 = 56.99999999999999.
    assert wsd_cooldown_steps(24000, 4000 / 24000) == 4000
    assert wsd_cooldown_steps(100, 0.57) == 56
    assert wsd_cooldown_steps(50000, 0.2) == 10000


def test_wsd_aliases_of_shapes():
    t = np.arange(101)
    for alias, name in [("1-sqrt", "sqrt"), ("exponential", "exp"), ("COS", "cosine")]:
        np.testing.assert_array_equal(
            wsd(1.0, 100, shape=alias, final=0.01)(t), wsd(1.0, 100, shape=name, final=0.01)(t)
        )


def test_multistep_key_points():
    f = multistep(1.0, milestones=[20, 50], gamma=0.5, warmup=10)
    got = values(f, [0, 5, 10, 19, 20, 49, 50, 1000])
    assert got == pytest.approx([0.0, 0.5, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25])


def test_two_stage_key_points():
    f = two_stage(3e-4, switch=8000, second=9e-5, warmup=2160)
    got = values(f, [0, 1080, 2160, 7999, 8000, 16000])
    assert got == pytest.approx([0.0, 1.5e-4, 3e-4, 3e-4, 9e-5, 9e-5], rel=1e-14)


def test_polynomial_key_points():
    f = polynomial(1.0, steps=110, power=2.0, final=0.1, warmup=10)
    got = values(f, [0, 5, 10, 35, 60, 85, 110, 200])
    want = [0.0, 0.5, 1.0, 0.1 + 0.9 * 0.75**2, 0.1 + 0.9 * 0.25, 0.1 + 0.9 * 0.0625, 0.1, 0.1]
    assert got == pytest.approx(want, rel=1e-12)
    t = np.arange(120)  # power 1 is the linear decay
    np.testing.assert_allclose(polynomial(1.0, 110, 1.0, 0.2, 10)(t), linear(1.0, 110, 0.2, 10)(t))


@pytest.mark.parametrize(
    ("shape", "mid"),
    [("linear", 0.5), ("sqrt", 1 - math.sqrt(0.5)), ("cosine", 0.5), ("exp", None)],
)
def test_rsqrt_key_points(shape, mid):
    # W = s = 100: r(t) = sqrt(100 / t); T = 900, decay 0.2: cooldown from step 720 to 900.
    final = 0.01
    f = rsqrt(1.0, steps=900, decay=0.2, shape=shape, final=final, warmup=100)
    r = [math.sqrt(100 / t) for t in (400, 719, 720, 810)]
    got = values(f, [0, 50, 100, 400, 719, 720, 810, 900, 1000])
    at_810 = r[3] * (final / r[3]) ** 0.5 if mid is None else final + (r[3] - final) * mid
    want = [0.0, 0.5, 1.0, r[0], r[1], r[2], at_810, final, final]
    assert got == pytest.approx(want, rel=1e-12)


def test_rsqrt_timescale_defaults_to_the_warmup_or_ten_thousand():
    assert parse_schedule("rsqrt:peak=1,steps=50,warmup=7").spec.count("timescale=7") == 1
    no_warmup = parse_schedule("rsqrt:peak=1,steps=50000")
    assert "timescale=10000" in no_warmup.spec
    assert float(no_warmup(30000)) == pytest.approx(1 / math.sqrt(4))  # 1 + 30000/10000
    longer = parse_schedule("rsqrt:peak=1,steps=100,timescale=30,decay=0.5").with_steps(300)
    assert (
        longer.spec == "rsqrt:peak=1,steps=300,warmup=0,timescale=30,decay=0.5,shape=linear,final=0"
    )


def test_rex_key_points():
    # x = 0.5 with beta 0.5: (1/2) / (1/2 + 1/4) = 2/3; beta = 0 is linear.
    f = rex(1.0, steps=110, beta=0.5, final=0.1, warmup=10)
    got = values(f, [0, 5, 10, 60, 110, 111])
    assert got == pytest.approx([0.0, 0.5, 1.0, 0.1 + 0.9 * 2 / 3, 0.1, 0.1], rel=1e-12)
    t = np.arange(120)
    np.testing.assert_allclose(rex(1.0, 110, 0.0, 0.2, 10)(t), linear(1.0, 110, 0.2, 10)(t))


def test_power_law_key_points():
    # W = 100, b = -0.5: p (t/100)^-0.5; T = 1000, decay 0.1: a tail of 100 steps from step 900.
    f = power_law(1.0, steps=1000, warmup=100, b=-0.5, decay=0.1, final=0.01)
    got = values(f, [0, 50, 100, 400, 899, 900, 950, 1000, 2000])
    start = 1 / 3  # (900 / 100)^-0.5
    want = [0.0, 0.5, 1.0, 0.5, math.sqrt(100 / 899), start, 0.01 + (start - 0.01) / 2, 0.01, 0.01]
    assert got == pytest.approx(want, rel=1e-12)
    # horizon-free: two budgets share the power phase up to the earlier tail
    longer = power_law(1.0, steps=5000, warmup=100, b=-0.5, decay=0.1)
    t = np.arange(900)
    np.testing.assert_array_equal(longer(t), f(t))


def test_power_law_at_olmo_core_s_own_test_points():
    # OLMo-core's test_power_lr: initial LR 10, warmup 1000, a 2000-step tail of 10000, b = -0.5
    s = parse_schedule("powerlaw:peak=10,steps=10000,warmup=1000,b=-0.5,decay=0.2")
    start = 10 * 8**-0.5
    got = values(s, [0, 500, 1000, 2000, 4000, 6000, 8000, 9000, 10000])
    want = [0.0, 5.0, 10.0, 10 * 2**-0.5, 5.0, 10 * 6**-0.5, start, start / 2, 0.0]
    assert got == pytest.approx(want, rel=1e-12)


def test_power_law_tail_rounds_half_to_even_as_olmo_core():
    assert [power_law_tail_steps(s, 0.1) for s in (25, 35, 1000)] == [2, 4, 100]
    s = parse_schedule("powerlaw:peak=1,steps=25,warmup=5,decay=0.1")  # 2 tail steps: 23..25
    lr = s.lr()
    assert lr[22] == pytest.approx((22 / 5) ** -0.51) and lr[23] == pytest.approx((23 / 5) ** -0.51)
    assert lr[24] == pytest.approx(lr[23] / 2) and lr[25] == 0.0


def test_numbers_numpy_and_jax_inputs():
    f = wsd(1e-3, steps=100, shape="sqrt", warmup=10)
    assert isinstance(f(5), np.floating) and f(5).dtype == np.float64
    out = f(np.arange(5))
    assert out.dtype == np.float64 and out.shape == (5,)
    assert isinstance(f(jnp.arange(5)), jax.Array)
    np.testing.assert_allclose(f(jnp.arange(101)), f(np.arange(101)), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(
    "spec",
    [
        "constant:peak=1,steps=100,warmup=10",
        "cosine:peak=1,steps=100,warmup=10,final=0.1",
        "linear:peak=1,steps=100,warmup=10,final=0.1",
        *(f"wsd:peak=1,steps=100,warmup=10,final=0.1,shape={shape}" for shape in SHAPES),
        "multistep:peak=1,steps=100,warmup=10,milestones=20/50",
        "twostage:peak=1,steps=100,warmup=10,switch=50,second=0.5",
        "polynomial:peak=1,steps=100,warmup=10,power=2,final=0.1",
        "polynomial:peak=1,steps=100,warmup=10,power=0.5",  # (1 - x)^0.5: steep at x = 1
        *(f"rsqrt:peak=1,steps=100,warmup=10,final=0.1,shape={s}" for s in ("sqrt", "exp")),
        "rex:peak=1,steps=100,warmup=10,beta=0.9,final=0.1",
        "powerlaw:peak=1,steps=100,warmup=10,b=-0.5,decay=0.2,final=0.1",
    ],
)
def test_jit_and_grad(spec):
    s = parse_schedule(spec)
    t = jnp.arange(121, dtype=jnp.float32)  # past the end too
    np.testing.assert_allclose(jax.jit(s.fn)(t), s.lr(120), rtol=1e-5, atol=1e-7)
    grads = jax.vmap(jax.grad(s.fn))(t)  # boundaries included: 0, 10, 50, 80, 100
    assert np.all(np.isfinite(grads))
    assert float(jax.grad(s.fn)(5.0)) == pytest.approx(0.1)  # the warmup slope peak / warmup


def test_usable_as_optax_schedule():
    s = parse_schedule("cosine:peak=1e-3,steps=100,warmup=10")
    opt = optax.adamw(learning_rate=s.fn)
    params = jnp.ones(3)
    state = opt.init(params)
    updates, _ = opt.update(jnp.ones(3), state, params)
    assert np.all(np.asarray(updates) == 0)  # lr(0) = 0


NEWER_SPECS = [
    "polynomial:peak=3e-4,steps=2400,warmup=216,power=0.5,final=3e-5",
    "rsqrt:peak=3e-4,steps=2400,warmup=216,decay=0.2,shape=sqrt,final=1e-5",
    "rex:peak=3e-4,steps=2400,warmup=216,beta=0.9,final=3e-5",
    "powerlaw:peak=3e-4,steps=2400,warmup=216,b=-0.51,decay=0.1",
]


@pytest.mark.parametrize("spec", NEWER_SPECS)
def test_newer_families_export_to_optax_and_torch_exactly(spec):
    s = parse_schedule(spec)
    lr = s.lr()
    with jax.enable_x64(True):
        fn = to_optax(spec)
        np.testing.assert_array_equal(np.asarray(jax.jit(fn)(jnp.arange(lr.size))), lr)
        assert float(fn(jnp.asarray(10 * s.steps))) == lr[-1]  # held after the end
        opt = optax.sgd(fn)  # SGD's update is -lr[t] * grad at step t
        params = jnp.zeros(1)
        state = opt.init(params)
        for t in range(3):
            updates, state = opt.update(jnp.ones(1), state, params)
            assert float(updates[0]) == -lr[t]
        # the schedule's own function is an optax schedule as well, equal to the table
        own = np.asarray(jax.jit(s.fn)(jnp.arange(lr.size + 5)))
        np.testing.assert_allclose(own, s.lr(s.steps + 5), rtol=1e-12, atol=1e-18)
        assert own[s.steps] == lr[-1]  # the final LR, exactly, through XLA too
    factor = to_lambda_lr(spec)  # LambdaLR: lr = base_lr * factor(epoch), base_lr = the peak
    assert factor.base_lr == s.peak == lr.max()
    got = [factor.base_lr * factor(k) for k in range(lr.size + 3)]
    np.testing.assert_allclose(got, np.r_[lr, [lr[-1]] * 3], rtol=1e-15, atol=0)
    assert pickle.loads(pickle.dumps(factor))(s.steps) == factor(s.steps)


# --------------------------------------------------------------------------------------------
# lr_array and Schedule.


def test_lr_array_float64_for_jax_only_functions():
    ref = optax.cosine_decay_schedule(1e-3, decay_steps=1000, alpha=0.1)
    lr = lr_array(ref, 1000)
    assert lr.dtype == np.float64 and lr.shape == (1001,)
    np.testing.assert_allclose(lr, cosine(1e-3, 1000, final=1e-4)(np.arange(1001)), rtol=1e-12)
    assert not jax.config.jax_enable_x64  # the global flag is untouched


def test_lr_array_broadcasts_a_scalar_function():
    assert lr_array(lambda t: 0.5, 3).tolist() == [0.5] * 4


def test_schedule_lr_and_extension():
    s = parse_schedule("constant:peak=1e-3,steps=50,warmup=10")
    assert s.lr().shape == (51,) and s.lr().dtype == np.float64
    longer = s.lr(100)
    assert longer.shape == (101,)
    np.testing.assert_array_equal(longer[:51], s.lr())
    assert np.all(longer[50:] == 1e-3)
    assert float(s(20)) == 1e-3


def test_with_steps():
    cos = parse_schedule("cosine:peak=1,steps=100,warmup=10,final=0.1")
    longer = cos.with_steps(200)
    assert longer.steps == 200 and longer.warmup == 10
    assert longer.lr()[200] == pytest.approx(0.1) and longer.lr()[105] == pytest.approx(0.55)

    w = parse_schedule("wsd:peak=1,steps=1000,decay=0.2,warmup=10").with_steps(2000)
    assert w.spec == "wsd:peak=1,steps=2000,warmup=10,decay=0.2,shape=linear,final=0"
    assert w.lr()[1600] == 1.0 and w.lr()[1800] == pytest.approx(0.5)

    m = parse_schedule("multistep:peak=1,steps=100,milestones=20/50,gamma=0.5").with_steps(300)
    assert m.spec == "multistep:peak=1,steps=300,warmup=0,milestones=20/50,gamma=0.5"
    two = parse_schedule("twostage:peak=1,steps=100,switch=50,second=0.5").with_steps(40)
    assert two.lr().tolist() == [1.0] * 41  # switch now past the end: only T changed

    with pytest.raises(InputError, match="warmup must be smaller than steps"):
        cos.with_steps(10)


def test_schedule_is_frozen_and_compares_without_fn():
    s = parse_schedule("cos:peak=1,steps=10")
    assert s == Schedule("cosine", lambda t: 0, 10, 0, 1.0, s.spec)
    with pytest.raises(AttributeError):
        s.steps = 3  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# The real schedules of data/: per-step LRs at the logged steps.

# data/README.md: multipower-law runs: warmup 2160 steps from 0 to 3e-4, end LR 3e-5.
MULTIPOWER_SPECS = {
    "cosine_24000": "cosine:peak=3e-4,steps=24000,final=3e-5,warmup=2160",
    "cosine_72000": "cosine:peak=3e-4,steps=72000,final=3e-5,warmup=2160",
    # constant to 20000, then decay to 3e-5 at 24000: n = 4000 = int(decay * 24000)
    "wsd_20000_24000": f"wsd:peak=3e-4,steps=24000,decay={4000 / 24000!r},shape=exp,"
    "final=3e-5,warmup=2160",
    "wsdld_20000_24000": f"wsd:peak=3e-4,steps=24000,decay={4000 / 24000!r},shape=linear,"
    "final=3e-5,warmup=2160",
    "wsdcon_3": "twostage:peak=3e-4,steps=16000,switch=8000,second=3e-5,warmup=2160",
    "wsdcon_9": "twostage:peak=3e-4,steps=16000,switch=8000,second=9e-5,warmup=2160",
    "wsdcon_18": "twostage:peak=3e-4,steps=16000,switch=8000,second=1.8e-4,warmup=2160",
    "constant_24000": "constant:peak=3e-4,steps=24000,warmup=2160",
    "constant_72000": "constant:peak=3e-4,steps=72000,warmup=2160",
}


@pytest.mark.parametrize("size", ["25M", "400M"])
@pytest.mark.parametrize("run", sorted(MULTIPOWER_SPECS))
def test_multipower_law_lrs(size, run):
    step, lr = read_columns(MULTIPOWER / size / f"{run}.csv", "step", "lr")
    s = parse_schedule(MULTIPOWER_SPECS[run])
    assert step.max() <= s.steps
    np.testing.assert_allclose(s.lr()[step.astype(int)], lr, rtol=1e-9, atol=0)


def lr_scheduling_runs(scheduler: str) -> list[dict[str, str]]:
    path = LR_SCHEDULING / "manifest.csv"
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["scheduler"] == scheduler]


def run_id(row: dict[str, str]) -> str:
    return Path(row["csv"]).name.split("_slimpajama")[0] + f"-{row['iterations']}"


# The W&B exports round the logged LR to 7 significant digits: compare to 1e-6 relative.
LOGGED_RTOL = 1e-6


@pytest.mark.parametrize(
    "row",
    [r for r in lr_scheduling_runs("wsd") if float(r["cooldown_frac"]) > 0],
    ids=run_id,
)
def test_lr_scheduling_wsd_lrs(row):
    steps, frac = int(row["iterations"]), row["cooldown_frac"]
    s = parse_schedule(
        f"wsd:peak={row['peak_lr']},steps={steps},warmup={row['warmup_steps']},"
        f"decay={frac},shape={row['decay_type']},final=0"
    )
    step, lr = read_columns(LR_SCHEDULING / row["csv"], "step", "lr")
    # Their warmup rises linearly from peak/100, ours from 0: compare after the warmup only.
    past = step >= s.warmup
    assert past.sum() > 100 and step.max() == steps
    np.testing.assert_allclose(
        s.lr()[step[past].astype(int)], lr[past], rtol=LOGGED_RTOL, atol=1e-15
    )


@pytest.mark.parametrize(
    "row", [r for r in lr_scheduling_runs("wsd") if float(r["cooldown_frac"]) == 0], ids=run_id
)
def test_lr_scheduling_constant_run(row):
    # The constant run is their WSD with cooldown fraction 0: peak up to T - 1, but its trainer
    # logs the final LR (0) at t = T, where our constant schedule keeps the peak.
    steps = int(row["iterations"])
    s = parse_schedule(f"constant:peak={row['peak_lr']},steps={steps},warmup=300")
    step, lr = read_columns(LR_SCHEDULING / row["csv"], "step", "lr")
    past = (step >= 300) & (step < steps)
    np.testing.assert_allclose(s.lr()[step[past].astype(int)], lr[past], rtol=LOGGED_RTOL)
    assert lr[step == steps].tolist() == [0.0]


@pytest.mark.parametrize("row", lr_scheduling_runs("cos"), ids=run_id)
def test_lr_scheduling_cosine_runs(row):
    # Their cosine (data/README.md) reaches its final LR at T - 1, counting from step 299:
    # our cosine with warmup=299, steps=T-1. Compare from step 300 to T - 1 (at T their formula
    # runs on past the end of the cosine: 1.00004e-7 instead of 1e-7 for cos-zero).
    steps = int(row["iterations"])
    final = 1e-7 if float(row["cos_final_lr"]) > 0 else float(row["peak_lr"]) / 10
    s = parse_schedule(f"cosine:peak={row['peak_lr']},steps={steps - 1},final={final},warmup=299")
    step, lr = read_columns(LR_SCHEDULING / row["csv"], "step", "lr")
    past = (step >= 300) & (step < steps)
    np.testing.assert_allclose(s.lr()[step[past].astype(int)], lr[past], rtol=LOGGED_RTOL)


# --------------------------------------------------------------------------------------------
# Property tests.

lrs = st.floats(1e-6, 1.0, allow_nan=False)


DECAYING = ("cosine", "linear", "wsd", "polynomial", "rsqrt", "rex", "powerlaw")


def rsqrt_end(params: dict) -> float:
    """The inverse square root's LR at the last step: the largest final LR rsqrt allows."""
    return params["peak"] / math.sqrt(
        1 + (params["steps"] - params["warmup"]) / params["timescale"]
    )


@st.composite
def schedule_params(draw, family: str | None = None) -> tuple[str, dict[str, object]]:
    """A valid (family, parameters) pair."""
    family = family or draw(st.sampled_from(sorted(FAMILIES)))
    steps = draw(st.integers(2, 3000))
    warmup = draw(st.integers(1 if family == "powerlaw" else 0, steps - 1))
    peak = draw(lrs)
    params: dict[str, object] = {"peak": peak, "steps": steps, "warmup": warmup}
    if family in DECAYING:
        params["final"] = draw(st.one_of(st.just(0.0), st.floats(0.0, 1.0).map(lambda u: u * peak)))
    if family in ("wsd", "rsqrt"):
        n = draw(st.integers(1, steps - warmup))
        # n + 1/2 steps' worth, so that float rounding cannot make int(decay * steps) fall to n - 1
        params["decay"] = min(1.0, (n + 0.5) / steps)
        params["shape"] = draw(st.sampled_from(SHAPES))
    if family == "rsqrt":
        params["timescale"] = draw(st.integers(1, 20_000))
        end = rsqrt_end(params)
        params["final"] = min(float(params["final"]) * end / peak, end)
    if family in ("wsd", "rsqrt") and params["shape"] == "exp":
        params["final"] = max(float(params["final"]), peak * 1e-3)
    if family == "polynomial":
        params["power"] = draw(st.floats(0.1, 5.0))
    if family == "rex":
        params["beta"] = draw(st.floats(0.0, 0.99))
    if family == "powerlaw":
        n = draw(st.integers(1, steps - warmup))
        params["decay"] = n / steps  # round(decay * steps) = n, float rounding or not
        params["b"] = draw(st.floats(-2.0, -0.01))
        start_lr = peak * ((steps - n) / warmup) ** params["b"]
        params["final"] = min(float(params["final"]) * start_lr / peak, start_lr)
    if family == "multistep":
        count = draw(st.integers(1, 4))
        marks = draw(
            st.lists(
                st.integers(warmup + 1, warmup + 4000), min_size=count, max_size=count, unique=True
            )
        )
        params["milestones"] = sorted(marks)
        params["gamma"] = draw(st.floats(0.0, 1.0))
    if family == "twostage":
        params["switch"] = draw(st.integers(warmup + 1, warmup + 4000))
        params["second"] = draw(lrs)
    return family, params


def build(family: str, params: dict[str, object]) -> Schedule:
    def fmt(value: object) -> str:
        if isinstance(value, list):
            return "/".join(map(str, value))
        return repr(value) if isinstance(value, float) else str(value)

    spec = f"{family}:" + ",".join(f"{k}={fmt(v)}" for k, v in params.items())
    return parse_schedule(spec)


fast = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@fast
@given(schedule_params())
def test_canonical_spec_round_trips(family_params):
    s = build(*family_params)
    again = parse_schedule(s.spec)
    assert again == s
    np.testing.assert_array_equal(again.lr(), s.lr())
    assert s.family == family_params[0]
    assert s.peak == family_params[1]["peak"] and s.steps == family_params[1]["steps"]


ALIASES = {
    "constant": "CONST",
    "cosine": "Cos",
    "twostage": "two_stage",
    "polynomial": "Poly",
    "rsqrt": "inverse_sqrt",
    "powerlaw": "power_lr",
}


@fast
@given(schedule_params(), st.data())
def test_spec_tolerates_case_whitespace_order_and_aliases(family_params, data):
    family, params = family_params
    s = build(family, params)
    _, body = s.spec.split(":")
    items = data.draw(st.permutations(body.split(",")))
    pad = data.draw(st.sampled_from(["", " ", "  ", "\t"]))
    messy_items = [f"{pad}{k.upper()}{pad}={pad}{v}{pad}" for k, v in (i.split("=") for i in items)]
    name = data.draw(st.sampled_from([family.upper(), ALIASES.get(family, family)]))
    messy = f"{pad}{name}{pad}:" + ",".join(messy_items)
    assert parse_schedule(messy) == s


@fast
@given(st.sampled_from(DECAYING).flatmap(schedule_params))
def test_decaying_families_are_monotone_and_bounded(family_params):
    _, params = family_params
    s = build(*family_params)
    lr = s.lr(s.steps + 10)
    peak, final, warmup = params["peak"], params["final"], params["warmup"]
    tol = 1e-12 * peak
    assert lr[warmup] == pytest.approx(peak, rel=1e-12)
    assert np.all(np.diff(lr[: warmup + 1]) >= -tol)  # warmup rises to the peak
    assert np.all(np.diff(lr[warmup:]) <= tol)  # then never rises
    assert np.all(lr >= min(final, 0.0) - tol) and np.all(lr <= peak + tol)
    assert np.all(lr[warmup:] >= final - tol)
    assert lr[s.steps] == pytest.approx(final, rel=1e-12, abs=1e-300)
    if warmup:
        assert lr[0] == 0.0


@fast
@given(st.sampled_from(["constant", "multistep", "twostage"]).flatmap(schedule_params))
def test_piecewise_families_are_bounded(family_params):
    family, params = family_params
    s = build(family, params)
    lr = s.lr()
    top = max(params["peak"], params.get("second", 0.0))
    assert np.all(lr >= 0) and np.all(lr <= top * (1 + 1e-12))
    assert lr[params["warmup"]] == pytest.approx(params["peak"], rel=1e-12)


# --------------------------------------------------------------------------------------------
# The newer families against the definitions they follow, at every step of drawn schedules. Each
# reference is the source's formula, written out per step in plain Python.


def polynomial_hf(t, peak, steps, warmup, power, final):
    """Hugging Face transformers' get_polynomial_decay_schedule_with_warmup (lr_end = final)."""
    if t < warmup:
        return peak * t / max(1, warmup)
    if t > steps:
        return final
    remaining = 1 - (t - warmup) / (steps - warmup)
    return (peak - final) * remaining**power + final


def polynomial_torch(k, base_lr, total_iters, power):
    """torch.optim.lr_scheduler.PolynomialLR's closed form at its k-th step (decays to 0)."""
    return base_lr * (1.0 - min(total_iters, k) / total_iters) ** power


def rsqrt_formula(t, peak, steps, warmup, timescale, decay, shape, final):
    """rsqrt's docstring: r(t) = p / sqrt(1 + (t - W)/s), then the cooldown in the wsd shape."""
    if t < warmup:
        return peak * t / warmup
    r = peak / math.sqrt(1 + (t - warmup) / timescale)
    n = int(decay * steps)
    x = min(1.0, max(0.0, (t - (steps - n)) / n))
    if shape == "exp":
        return r * (final / r) ** x
    g = {"linear": 1 - x, "sqrt": 1 - math.sqrt(x), "cosine": (1 + math.cos(math.pi * x)) / 2}
    return final + (r - final) * g[shape]


def rsqrt_big_vision(t, base, total, warmup, timescale, cooldown):
    """big_vision's learning-rate schedule (Zhai et al. 2022): decay_type "rsqrt" with
    ``timescale``, multiplied by the linear warmup and by the linear cooldown of ``cooldown``
    steps (to 0)."""
    lr = base
    if t > warmup:
        lr = lr / math.sqrt((t + timescale - warmup) / timescale)
    if warmup:
        lr = lr * min(1.0, t / warmup)
    return lr * min(1.0, (total - t) / cooldown)


def rex_paper(t, peak, steps):
    """REX as the paper writes it: (1 - z) / (1/2 + (1 - z)/2), z = t/T."""
    z = t / steps
    return peak * (1 - z) / (0.5 + 0.5 * (1 - z))


def rex_reference_code(t, max_val, min_val, num_steps):
    """The REX_LR scheduler of github.com/IvanVassi/REX_LR (beta 0.9), at its t-th step."""
    z = (num_steps - t % num_steps) / num_steps
    return min_val + (max_val - min_val) * (z / (1 - 0.9 + 0.9 * z))


def power_lr_olmo_core(t, peak, steps, warmup, b, decay, final):
    """allenai/OLMo-core's PowerLR.get_lr (commit 73637f7b), warmup_min_lr = 0, in steps."""
    n = round(steps * decay)
    if t <= warmup:
        return peak * min(t, warmup) / warmup
    if t >= steps - n:
        start = peak * ((steps - n) / warmup) ** b
        return final + (start - final) * min(steps - t, n) / n
    return peak * (t / warmup) ** b


def per_step(reference, steps, *args) -> np.ndarray:
    return np.array([reference(t, *args) for t in range(steps)])


@pytest.mark.parametrize(
    "p",
    [
        {"peak": 3e-4, "steps": 2400, "warmup": 216, "power": 2.0, "final": 3e-5},
        {"peak": 1.0, "steps": 107, "warmup": 0, "power": 0.5, "final": 0.0},
        {"peak": 1e-3, "steps": 1000, "warmup": 999, "power": 1.5, "final": 1e-4},
        {"peak": 2e-3, "steps": 5000, "warmup": 1, "power": 0.1, "final": 2e-3},
    ],
)
def test_polynomial_is_optax_polynomial_schedule_after_the_warmup(p):
    s = build("polynomial", p)
    lr = s.lr(s.steps + 9)
    after = optax.polynomial_schedule(p["peak"], p["final"], p["power"], p["steps"] - p["warmup"])
    warm = optax.linear_schedule(0.0, p["peak"], max(p["warmup"], 1))
    with jax.enable_x64(True):
        ref = optax.join_schedules([warm, after], [p["warmup"]])(jnp.arange(s.steps + 10))
    # XLA divides by multiplying with the reciprocal: optax's (1 - x) is off by ~1e-16, which
    # (1 - x)^k magnifies near the end, and at T, where optax misses the final LR by up to
    # (p - f) 1e-16^k; compare before T, and see that this schedule reaches the final LR there.
    tol = {"rtol": 1e-11, "atol": 1e-15 * p["peak"]}
    np.testing.assert_allclose(lr[: s.steps], np.asarray(ref)[: s.steps], **tol)
    assert np.all(lr[s.steps :] == p["final"])


@fast
@given(schedule_params("polynomial"))
def test_polynomial_is_hugging_face_s_polynomial_decay(family_params):
    _, p = family_params
    s = build("polynomial", p)
    keys = ("peak", "steps", "warmup", "power", "final")
    hf = per_step(polynomial_hf, s.steps + 10, *(p[k] for k in keys))
    np.testing.assert_allclose(s.lr(s.steps + 9), hf, rtol=1e-11, atol=1e-15 * p["peak"])


@fast
@given(schedule_params("polynomial"))
def test_polynomial_to_zero_is_torch_polynomial_lr_after_the_warmup(family_params):
    _, p = family_params
    s = build("polynomial", {**p, "final": 0.0})
    w, span = p["warmup"], p["steps"] - p["warmup"]
    torch = per_step(polynomial_torch, span + 10, p["peak"], span, p["power"])
    np.testing.assert_allclose(s.lr(s.steps + 9)[w:], torch, rtol=1e-11, atol=1e-15 * p["peak"])


@fast
@given(schedule_params("rsqrt"))
def test_rsqrt_follows_its_formula(family_params):
    _, p = family_params
    s = build("rsqrt", p)
    keys = ("peak", "steps", "warmup", "timescale", "decay", "shape", "final")
    want = per_step(rsqrt_formula, s.steps + 10, *(p[k] for k in keys))
    np.testing.assert_allclose(s.lr(s.steps + 9), want, rtol=1e-12, atol=1e-300)


@fast
@given(schedule_params("rsqrt"))
def test_rsqrt_with_linear_cooldown_to_zero_is_zhai_et_al_s(family_params):
    _, p = family_params
    s = build("rsqrt", {**p, "shape": "linear", "final": 0.0})
    n = wsd_cooldown_steps(p["steps"], p["decay"])
    args = (p["peak"], p["steps"], p["warmup"], p["timescale"], n)
    want = per_step(rsqrt_big_vision, s.steps + 1, *args)
    np.testing.assert_allclose(s.lr(), want, rtol=1e-12, atol=1e-300)


@fast
@given(schedule_params("rex"))
def test_rex_follows_its_formula(family_params):
    _, p = family_params
    s = build("rex", p)
    peak, final, beta, w, span = (
        p["peak"],
        p["final"],
        p["beta"],
        p["warmup"],
        p["steps"] - p["warmup"],
    )
    x = np.clip(np.arange(s.steps + 10) - w, 0, span) / span
    want = final + (peak - final) * (1 - x) / (1 - beta + beta * (1 - x))
    want[:w] = peak * np.arange(w) / max(w, 1)
    np.testing.assert_allclose(s.lr(s.steps + 9), want, rtol=1e-12, atol=1e-300)


@fast
@given(st.integers(1, 3000), lrs, st.floats(0, 1))
def test_rex_is_the_paper_s_and_its_reference_code_s(steps, peak, fraction):
    paper = parse_schedule(f"rex:peak={peak!r},steps={steps},beta=0.5")
    np.testing.assert_allclose(paper.lr(), per_step(rex_paper, steps + 1, peak, steps), rtol=1e-12)
    final = fraction * peak
    code = parse_schedule(f"rex:peak={peak!r},steps={steps},beta=0.9,final={final!r}")
    want = per_step(rex_reference_code, steps, peak, final, steps)  # it restarts at T
    np.testing.assert_allclose(code.lr()[:-1], want, rtol=1e-12, atol=1e-300)


@fast
@given(schedule_params("powerlaw"))
def test_power_law_is_olmo_core_s_power_lr(family_params):
    _, p = family_params
    s = build("powerlaw", p)
    keys = ("peak", "steps", "warmup", "b", "decay", "final")
    want = per_step(power_lr_olmo_core, s.steps + 1, *(p[k] for k in keys))
    np.testing.assert_allclose(s.lr(), want, rtol=1e-12, atol=1e-300)
    assert np.all(s.lr(s.steps + 10)[s.steps :] == p["final"])  # held there, where OLMo-core's
    # formula would go on below it


# --------------------------------------------------------------------------------------------
# Malformed specs.

BAD_SPECS = [
    ("cosine peak=1,steps=10", "expected FAMILY:key=value"),
    ("sawtooth:peak=1,steps=10", "unknown family 'sawtooth' (families: constant, cosine"),
    ("cosine:peak=1,steps=10,decay=0.2", "unknown key 'decay' for cosine (allowed: peak, steps"),
    ("constant:peak=1", "missing required key 'steps'"),
    ("multistep:peak=1", "missing required keys 'steps', 'milestones'"),
    ("cosine:peak=fast,steps=10", "peak='fast' is not a number"),
    ("cosine:peak=1,steps=ten", "steps='ten' is not a number"),
    ("cosine:peak=1,steps=10.5", "steps='10.5' is not an integer"),
    ("cosine:peak=nan,steps=10", "must be finite"),
    ("cosine:peak=-1e-3,steps=10", "peak must be a finite, non-negative learning rate"),
    ("constant:peak=0,steps=10", "peak must be a positive learning rate"),
    ("twostage:peak=1,steps=10,switch=5,second=-1", "second must be a finite, non-negative"),
    ("cosine:peak=1,steps=0", "steps must be positive, got 0"),
    ("cosine:peak=1,steps=-5", "steps must be positive"),
    ("cosine:peak=1,steps=10,warmup=10", "warmup must be smaller than steps"),
    ("cosine:peak=1,steps=10,warmup=-1", "warmup must be >= 0"),
    ("cosine:peak=1,steps=10,final=2", "final must not exceed peak"),
    ("wsd:peak=1,steps=10,decay=0", "decay must be in (0, 1]"),
    ("wsd:peak=1,steps=10,decay=1.5", "decay must be in (0, 1]"),
    ("wsd:peak=1,steps=10,decay=0.05", "0 cooldown steps"),
    ("wsd:peak=1,steps=100,decay=0.95,warmup=10", "before the warmup ends"),
    ("wsd:peak=1,steps=10,shape=step", "unknown shape 'step' (shapes: linear, cosine, sqrt, exp"),
    ("wsd:peak=1,steps=10,shape=exp", "shape exp needs final > 0"),
    ("multistep:peak=1,steps=100,milestones=50/20", "milestones must be strictly increasing"),
    ("multistep:peak=1,steps=100,milestones=20/20", "milestones must be strictly increasing"),
    ("multistep:peak=1,steps=100,milestones=", "milestones='' must be steps separated by '/'"),
    ("multistep:peak=1,steps=100,milestones=5,warmup=10", "milestones must come after the warmup"),
    ("multistep:peak=1,steps=100,milestones=50,gamma=-1", "gamma must be finite and >= 0"),
    ("twostage:peak=1,steps=100,switch=5,second=0.1,warmup=10", "switch must come after"),
    ("cosine:peak=1,steps=10,peak=2", "key 'peak' given twice"),
    ("cosine:peak=1,steps", "'steps' is not key=value"),
    ("cosine:peak=1,\nsteps=x", "steps='x' is not a number"),
    ("polynomial:peak=1,steps=10,power=0", "power must be a finite number > 0, got 0.0"),
    ("poly:peak=1,steps=10,power=-2", "power must be a finite number > 0"),
    ("polynomial:peak=1,steps=10,power=two", "power='two' is not a number"),
    ("polynomial:peak=1,steps=10,final=1.5", "final must not exceed peak"),
    ("polynomial:peak=1,steps=10,decay=0.2", "unknown key 'decay' for polynomial (allowed: peak"),
    ("rex:peak=1,steps=10,beta=1", "beta must be in [0, 1), got 1.0"),
    ("rex:peak=1,steps=10,beta=-0.1", "beta must be in [0, 1)"),
    ("rex:peak=1,steps=10,final=2", "final must not exceed peak"),
    ("rsqrt:peak=1,steps=100,timescale=0", "timescale must be positive, got 0"),
    ("rsqrt:peak=1,steps=100,timescale=2.5", "timescale='2.5' is not an integer"),
    ("rsqrt:peak=1,steps=100,warmup=10,final=0.5", "final must not exceed the inverse square"),
    ("rsqrt:peak=1,steps=100,decay=0", "decay must be in (0, 1]"),
    ("rsqrt:peak=1,steps=100,decay=0.005", "0 cooldown steps"),
    ("rsqrt:peak=1,steps=100,decay=0.95,warmup=10", "before the warmup ends"),
    ("rsqrt:peak=1,steps=100,shape=step", "unknown shape 'step'"),
    ("rsqrt:peak=1,steps=100,shape=exp", "shape exp needs final > 0"),
    ("powerlaw:peak=1,steps=100", "missing required key 'warmup' (powerlaw needs: peak, steps"),
    ("powerlaw:peak=1,steps=100,warmup=0", "powerlaw needs warmup >= 1"),
    ("power_lr:peak=1,steps=100,warmup=10,b=0", "b must be a finite negative exponent, got 0.0"),
    ("powerlaw:peak=1,steps=100,warmup=10,b=0.5", "b must be a finite negative exponent"),
    ("powerlaw:peak=1,steps=100,warmup=10,decay=0.004", "round(decay*steps) = 0 tail steps"),
    ("powerlaw:peak=1,steps=100,warmup=10,decay=0.95", "starts the tail at step 5"),
    ("powerlaw:peak=1,steps=100,warmup=10,decay=1.5", "decay must be in (0, 1]"),
    (
        "powerlaw:peak=1,steps=100,warmup=10,final=0.9",
        "final must not exceed the LR where the tail",
    ),
]


@pytest.mark.parametrize(("spec", "message"), BAD_SPECS)
def test_bad_specs_raise_one_line_input_errors(spec, message):
    with pytest.raises(InputError) as info:
        parse_schedule(spec)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"schedule {spec!r}: ")
    assert message in text


def test_non_string_spec():
    with pytest.raises(InputError, match="must be a string"):
        parse_schedule(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "call",
    [
        lambda: wsd(1.0, 100, shape="exp"),
        lambda: wsd(1.0, 100, shape="zigzag"),
        lambda: cosine(-1.0, 100),
        lambda: multistep(1.0, []),
        lambda: two_stage(1.0, switch=0, second=0.1),
        lambda: polynomial(1.0, 100, power=math.nan),
        lambda: rsqrt(1.0, 100, shape="zigzag"),
        lambda: rsqrt(1.0, 100, timescale=0),
        lambda: rex(1.0, 100, beta=1.0),
        lambda: power_law(1.0, 100, warmup=0),
        lambda: power_law(1.0, 100, warmup=10, b=math.inf),
    ],
)
def test_family_functions_validate(call):
    with pytest.raises(InputError):
        call()
