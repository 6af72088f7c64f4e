"""Tests of scalefit.schedules: the families, the spec grammar, and the real schedules in data/."""

from __future__ import annotations

import csv
import math
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


@st.composite
def schedule_params(draw, family: str | None = None) -> tuple[str, dict[str, object]]:
    """A valid (family, parameters) pair."""
    family = family or draw(st.sampled_from(sorted(FAMILIES)))
    steps = draw(st.integers(2, 3000))
    warmup = draw(st.integers(0, steps - 1))
    peak = draw(lrs)
    params: dict[str, object] = {"peak": peak, "steps": steps, "warmup": warmup}
    if family in ("cosine", "linear", "wsd"):
        params["final"] = draw(st.one_of(st.just(0.0), st.floats(0.0, 1.0).map(lambda u: u * peak)))
    if family == "wsd":
        n = draw(st.integers(1, steps - warmup))
        # n + 1/2 steps' worth, so that float rounding cannot make int(decay * steps) fall to n - 1
        params["decay"] = min(1.0, (n + 0.5) / steps)
        params["shape"] = draw(st.sampled_from(SHAPES))
        if params["shape"] == "exp":
            params["final"] = max(float(params["final"]), peak * 1e-3)
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


ALIASES = {"constant": "CONST", "cosine": "Cos", "twostage": "two_stage"}


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
@given(st.sampled_from(["cosine", "linear", "wsd"]).flatmap(schedule_params))
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
    ],
)
def test_family_functions_validate(call):
    with pytest.raises(InputError):
        call()
