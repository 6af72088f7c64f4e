"""Choosing schedules: ranking, family search, free-form design, degenerate optima, hand-off."""

from __future__ import annotations

import json
import math
import pickle
from dataclasses import replace
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
import pytest

from scalefit import Fit, InputError, fit, io, predict
from scalefit import _choose as choose
from scalefit.cli import main
from scalefit.laws.multipower import PUBLISHED_400M
from scalefit.schedules import parse_schedule, to_lambda_lr, to_optax

# The multi-power law's authors' 400M fit (Luo et al. 2025), and an annealing-law fit of the same
# scale: given, so no test here waits for a fit.
MULTIPOWER = Fit.given("multipower", PUBLISHED_400M)
ANNEALING = Fit.given("annealing", {"L0": 2.3, "A": 0.6, "alpha": 0.45, "C": 120.0})
STEPS, PEAK, WARMUP = 24000, 3e-4, 2160  # the authors' runs


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    monkeypatch.setenv("SCALEFIT_CACHE_DIR", "")


def spec(family: str, **kw: object) -> str:
    body = ",".join(f"{k}={v}" for k, v in {"peak": PEAK, "warmup": WARMUP, **kw}.items())
    return f"{family}:{body}"


def test_rank_orders_by_predicted_final_loss_and_keeps_names_as_given():
    given = [
        spec("constant", steps=STEPS),
        spec("cosine", steps=STEPS),
        spec("wsd", steps=STEPS, decay=0.2),
        spec("cosine", steps=2 * STEPS),
    ]
    ranking = choose.rank(MULTIPOWER, given, at=[12000, 20000, 30000], tolerance=0.0)
    assert {c.name for c in ranking.choices} == set(given)  # exactly as given
    finals = [c.final_loss for c in ranking.choices]
    assert finals == sorted(finals)
    assert ranking.choices[-1].name == spec("constant", steps=STEPS)  # never anneals
    assert ranking.best.name == spec("cosine", steps=2 * STEPS)  # twice the budget
    for c in ranking.choices:
        prediction = predict(MULTIPOWER, parse_schedule(c.name), at=[12000, 20000, c.lr.size - 1])
        assert c.final_loss == pytest.approx(prediction.final_loss, abs=1e-9)
        assert c.gap == pytest.approx(c.final_loss - ranking.best.final_loss)
        assert [c.at[12000], c.at[20000]] == pytest.approx(prediction.loss[:2], abs=1e-9)
        assert math.isnan(c.at[30000]) == (c.lr.size <= 30000)  # past a 24k budget
    beyond = [w for w in ranking.warnings if "checkpoint" in w]
    assert beyond == [
        "checkpoint 30000 lies beyond the budget of 3 candidate(s): no loss there (nan)"
    ]


def test_a_checkpoint_inside_a_warm_up_the_fit_left_out_has_no_loss():
    given = [spec("cosine", steps=STEPS)]
    ranking = choose.rank(MULTIPOWER, given, at=[WARMUP - 1, WARMUP])
    (choice,) = ranking.choices
    assert math.isnan(choice.at[WARMUP - 1]) and math.isfinite(choice.at[WARMUP])
    assert ranking.warnings == (
        f"checkpoint {WARMUP - 1} lies inside the warm-up of 1 candidate(s), which the fit left "
        "out: no loss there (nan)",
    )
    on_warmup = replace(MULTIPOWER, options={**MULTIPOWER.options, "skip_warmup": False})
    ranking = choose.rank(on_warmup, given, at=[WARMUP - 1])
    assert math.isfinite(ranking.choices[0].at[WARMUP - 1]) and ranking.warnings == ()


def test_a_candidate_at_another_peak_lr_than_the_fitted_runs_is_warned_of():
    fitted = Fit.given("annealing", ANNEALING.params)
    fitted.curves = [{"name": "run", "steps": STEPS, "peak_lr": PEAK}]
    same = choose.rank(fitted, [spec("cosine", steps=STEPS), spec("wsd", steps=STEPS, decay=0.2)])
    assert same.warnings == ()
    given = [spec("cosine", steps=STEPS), f"cosine:peak=1,warmup={WARMUP},steps={STEPS}"]
    (warning,) = choose.rank(fitted, given).warnings
    assert warning.startswith("candidate cosine:peak=1,") and "peak LR is 1" in warning


def test_ties_within_the_tolerance_are_marked():
    given = [spec("wsd", steps=STEPS, decay=d) for d in (0.2, 0.25, 0.9)]
    loose = choose.rank(MULTIPOWER, given, tolerance=1.0)
    assert all(c.indistinguishable for c in loose.choices)
    assert "cannot be told apart" in loose.table()
    strict = choose.rank(MULTIPOWER, given, tolerance=0.0)
    assert [c.indistinguishable for c in strict.choices] == [True, False, False]
    frame = strict.to_frame()
    assert list(frame.columns[:4]) == ["candidate", "final_loss", "gap", "indistinguishable"]
    alone = choose.rank(MULTIPOWER, given[0], at=12000)  # one spec, one step: not sequences
    assert alone.best.name == given[0] and list(alone.best.at) == [12000]
    assert "tolerance" not in alone.table()  # nothing to tell apart


def test_a_fit_s_own_error_is_its_default_tolerance():
    fitted = Fit.from_dict(
        MULTIPOWER.to_dict()
        | {
            "metrics": [
                dict(name=n, rows=10, pred_e=0.0, worst_e=0.0, r2=1.0, mae=0.0, rmse=r)
                for n, r in (("a", 0.002), ("b", 0.004))
            ]
        }
    )
    ranking = choose.rank(fitted, [spec("cosine", steps=STEPS)])
    assert ranking.tolerance == pytest.approx(0.003)
    assert "RMSE" in ranking.tolerance_from


def test_family_search_beats_its_whole_grid():
    found = choose.search_family(MULTIPOWER, "wsd", steps=STEPS, peak=PEAK, warmup=WARMUP)
    shapes = [parse_schedule(c.name).spec.split("shape=")[1].split(",")[0] for c in found.choices]
    assert sorted(shapes) == ["cosine", "exp", "linear", "sqrt"]
    grid = choose.rank(
        MULTIPOWER, [parse_schedule(s) for s in choose._grid("wsd", STEPS, PEAK, WARMUP, shapes)]
    )
    assert found.best.final_loss <= grid.best.final_loss + 1e-12
    cosine = choose.search_family(MULTIPOWER, "cosine", steps=STEPS, peak=PEAK, warmup=WARMUP)
    assert len(cosine.choices) == 1 and cosine.best.name.startswith("cosine:")
    assert cosine.best.final_loss > found.best.final_loss  # the law prefers WSD, as its paper


@pytest.mark.parametrize(
    "family, kwargs, problem",
    [
        ("exp", {}, "cannot search family"),
        ("wsd", {"warmup": STEPS}, "warmup"),
        ("wsd", {"shapes": ["square"]}, "unknown wsd shape"),
    ],
)
def test_family_search_bad_input(family, kwargs, problem):
    args = {"steps": STEPS, "peak": PEAK, "warmup": WARMUP} | kwargs
    with pytest.raises(InputError, match=problem):
        choose.search_family(MULTIPOWER, family, **args)


def test_free_form_design_is_a_valid_schedule_that_beats_its_start():
    start = spec("wsd", steps=STEPS, decay=0.2)
    ranking = choose.optimize_schedule(
        MULTIPOWER, steps=STEPS, peak=PEAK, warmup=WARMUP, start=start, iterations=300
    )
    designed = next(c for c in ranking.choices if c.name == "optimized")
    begin = next(c for c in ranking.choices if c.name == start)
    assert designed.final_loss < begin.final_loss - 1e-4
    lr = designed.lr
    assert lr.size == STEPS + 1
    np.testing.assert_allclose(lr[: WARMUP + 1], parse_schedule(start).lr()[: WARMUP + 1])
    assert np.all(np.diff(lr[WARMUP:]) <= 1e-15) and lr.min() >= 0 and lr.max() <= PEAK
    assert not choose.degenerate(lr, PEAK, WARMUP)


def test_the_momentum_law_s_degenerate_optimum_is_refused():
    with pytest.raises(choose.DegenerateOptimum, match="drops below 1% within"):
        choose.optimize_schedule(
            ANNEALING,
            steps=STEPS,
            peak=PEAK,
            warmup=WARMUP,
            start=spec("wsd", steps=STEPS, decay=0.2),
            iterations=300,
        )


def test_degenerate_schedules_are_told_from_real_ones():
    def lr_of(text: str) -> np.ndarray:
        return parse_schedule(spec(**dict(kv.split("=") for kv in text.split()))).lr()

    collapse = np.r_[lr_of("family=constant steps=20000"), np.zeros(4000)]
    assert "drops below 1% within 1 step" in choose.degenerate(collapse, PEAK, WARMUP)
    assert choose.degenerate(lr_of("family=wsd steps=24000 decay=0.2"), PEAK, WARMUP) == ""
    assert choose.degenerate(lr_of("family=cosine steps=24000"), PEAK, WARMUP) == ""
    step_decay = np.r_[lr_of("family=constant steps=20000"), np.full(4000, 0.1 * PEAK)]
    assert choose.degenerate(step_decay, PEAK, WARMUP) == ""  # a step decay is a real schedule


def test_exported_schedules_reproduce_the_per_step_lrs():
    lr = choose.rank(MULTIPOWER, [spec("wsd", steps=STEPS, decay=0.3, shape="sqrt")]).best.lr
    with jax.enable_x64(True):
        fn = to_optax(lr)
        np.testing.assert_array_equal(np.asarray(jax.jit(fn)(jnp.arange(lr.size))), lr)
        assert float(fn(jnp.asarray(10 * STEPS))) == lr[-1]  # held after the end
        # through an optax optimiser: SGD's update is -lr[t] * grad at step t
        opt = optax.sgd(fn)
        params = jnp.zeros(1)
        state = opt.init(params)
        for t in range(5):
            updates, state = opt.update(jnp.ones(1), state, params)
            assert float(updates[0]) == pytest.approx(-lr[t], rel=1e-12)
    factor = to_lambda_lr(lr)
    assert factor.base_lr == PEAK
    np.testing.assert_allclose([factor.base_lr * factor(k) for k in range(lr.size)], lr, rtol=1e-15)
    assert pickle.loads(pickle.dumps(factor))(WARMUP) == 1.0  # LambdaLR.state_dict() keeps it
    with pytest.raises(InputError, match="base_lr"):
        to_lambda_lr(lr, base_lr=0.0)
    text = spec("wsd", steps=STEPS, decay=0.3, shape="sqrt")  # a spec string serves as well
    np.testing.assert_array_equal(to_optax(text)(np.arange(lr.size)), lr)
    assert to_lambda_lr(text)(WARMUP) == 1.0
    with pytest.raises(InputError, match="has no length"):
        to_optax(lambda t: 1e-3)


def test_cli_ranks_candidates_and_writes_the_ranking_and_the_best_schedule(tmp_path, capsys):
    fit_json = tmp_path / "fit.json"
    fit_json.write_text(json.dumps(MULTIPOWER.to_dict()))
    planned = tmp_path / "planned.csv"
    lr = parse_schedule(spec("linear", steps=STEPS)).lr()
    pd.DataFrame({"step": np.arange(0, STEPS + 1, 10), "lr": lr[::10]}).to_csv(planned, index=False)
    given = [spec("cosine", steps=STEPS), spec("constant", steps=STEPS)]
    out, best = tmp_path / "rank.csv", tmp_path / "best.csv"
    args = ["choose", str(fit_json), "--candidate", given[0], "--candidate", given[1]]
    args += ["--candidate-csv", str(planned), "--at", "2000", "--out", str(out)]
    args += ["--schedule-out", str(best), "--plot", str(tmp_path / "rank.png")]
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    frame = pd.read_csv(out)
    assert set(frame.candidate) == {*given, str(planned)}
    assert list(frame.columns[:3]) == ["candidate", "final_loss", "gap"]
    assert "loss_at_2000" in frame and frame.gap.iloc[0] == 0 and frame.gap.is_monotonic_increasing
    assert frame.candidate.iloc[-1] == given[1]  # constant: last
    chosen = pd.read_csv(best)
    assert list(chosen.columns) == ["step", "lr"] and len(chosen) == STEPS + 1
    expected = choose.rank(MULTIPOWER, [frame.candidate.iloc[0]]).best.lr
    np.testing.assert_allclose(chosen.lr, expected, rtol=1e-12)
    assert frame.candidate.iloc[0] in captured.out and (tmp_path / "rank.png").stat().st_size


def test_cli_refuses_a_degenerate_optimum_and_writes_nothing(tmp_path, capsys):
    fit_json = tmp_path / "fit.json"
    fit_json.write_text(json.dumps(ANNEALING.to_dict()))
    out = tmp_path / "rank.csv"
    args = ["choose", str(fit_json), "--optimize", "--steps", str(STEPS), "--peak-lr", str(PEAK)]
    code = main([*args, "--warmup", str(WARMUP), "--iterations", "300", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and not out.exists()
    assert err[-1].startswith(f"scalefit choose: error: {fit_json}: refused the annealing law")


@pytest.mark.parametrize(
    "extra, problem",
    [
        ([], "nothing to choose from"),
        (["--family", "wsd"], "need --steps and --peak-lr"),
        (["--candidate", "cosine:peak=1e-3"], "steps"),
        (["--candidate", "cosine:peak=1e-3,steps=100", "--at", "x"], "--at"),
    ],
)
def test_cli_choose_bad_input_exits_2(extra, problem, tmp_path, capsys):
    fit_json = tmp_path / "fit.json"
    fit_json.write_text(json.dumps(MULTIPOWER.to_dict()))
    code = main(["choose", str(fit_json), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and problem in err[0]


# ------------------------------------------------------------------ the newer families' search

NEWER = ("polynomial", "rsqrt", "rex", "powerlaw")
MP400 = Path(__file__).resolve().parents[1] / "data" / "multipower-law" / "400M"
RSQRT_END = PEAK / math.sqrt(1 + (STEPS - WARMUP) / WARMUP)  # its LR at the last step
COOLDOWNS = (1 / STEPS, (STEPS - WARMUP) / STEPS)  # the cooldown (tail) fractions possible
SEARCHED = {  # the settings each newer family searches, and the range the search covers
    "polynomial": {"power": choose._POWER_RANGE, "final": (0.0, PEAK)},
    "rsqrt": {"decay": COOLDOWNS, "final": (0.0, RSQRT_END)},
    "rex": {"beta": (0.0, choose._BETA_MAX), "final": (0.0, PEAK)},
    "powerlaw": {"b": (-choose._EXPONENT_RANGE[1], -choose._EXPONENT_RANGE[0]), "decay": COOLDOWNS},
}


@pytest.fixture(scope="module")
def annealing_400m() -> Fit:
    """The annealing law fitted to two bundled 400M runs (constant and cosine, 24k steps)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCALEFIT_CACHE_DIR", "")
        runs = [io.read_curve(MP400 / f"{name}.csv") for name in ("constant_24000", "cosine_24000")]
        return fit(runs, "annealing", uncertainty=False)


def nudged(spec: str) -> list[str]:
    """``spec`` with one searched setting moved by 5 % either way (from 0: to 1 % of its range),
    inside the range the search covers."""
    family, settings = spec.split(":")[0], choose._settings(spec)
    specs = []
    for key, (lo, hi) in SEARCHED[family].items():
        value = settings[key]
        for moved in (0.95 * value, 1.05 * value) if value else (lo + 0.01 * (hi - lo),):
            if lo <= moved <= hi:
                body = ",".join(f"{k}={moved if k == key else v}" for k, v in settings.items())
                specs.append(f"{family}:{body}")
    return specs


@pytest.mark.parametrize("family", NEWER)
def test_family_search_of_the_newer_families_finds_a_local_optimum(family, annealing_400m):
    found = choose.search_family(annealing_400m, family, steps=STEPS, peak=PEAK, warmup=WARMUP)
    shapes = ["linear", "sqrt"] if family == "rsqrt" else [family]
    assert sorted(choose._settings(c.name).get("shape", family) for c in found.choices) == shapes
    grid = [parse_schedule(s) for s in choose._grid(family, STEPS, PEAK, WARMUP, shapes)]
    assert found.best.final_loss <= choose.rank(annealing_400m, grid).best.final_loss + 1e-12
    for choice in found.choices:
        schedule = parse_schedule(choice.name)
        assert (schedule.family, schedule.spec) == (family, choice.name)
        assert (schedule.steps, schedule.warmup, schedule.peak) == (STEPS, WARMUP, PEAK)
        np.testing.assert_array_equal(choice.lr, schedule.lr())
        settings = choose._settings(choice.name)
        for key, (lo, hi) in SEARCHED[family].items():
            assert lo <= settings[key] <= hi
        # no setting moved a little does better: the refinement found the family's optimum
        for neighbour in nudged(choice.name):  # one at a time: one compiled program for all
            moved = choose.rank(annealing_400m, [neighbour]).best
            assert moved.final_loss >= choice.final_loss - 1e-6, moved.name


@pytest.mark.parametrize(
    "spec",
    [
        "polynomial:peak=3e-4,steps=24000,warmup=2160,power=1.7,final=2e-5",
        "rsqrt:peak=3e-4,steps=24000,warmup=2160,decay=0.2,shape=linear,final=2e-5",
        "rsqrt:peak=3e-4,steps=24000,warmup=2160,decay=0.25,shape=sqrt,final=1e-6",
        "rex:peak=3e-4,steps=24000,warmup=2160,beta=0.6,final=2e-5",
        "powerlaw:peak=3e-4,steps=24000,warmup=2160,b=-0.4,decay=0.1,final=0",
    ],
)
def test_the_search_s_continuous_family_is_the_schedule_family(spec):
    # the LRs the refinement differentiates, at a spec's settings, are the spec's LRs
    family, settings = spec.split(":")[0], choose._settings(spec)
    shape = settings.get("shape", family)
    shapes = choose._checked_shapes(family, [shape] if family == "rsqrt" else None)
    theta = choose._encoded(family, settings, steps=STEPS, peak=PEAK, warmup=WARMUP)
    with jax.enable_x64(True):
        lr = choose._family_lr(
            jnp.asarray(theta),
            0,
            jnp.arange(STEPS + 1.0),
            family=family,
            steps=STEPS,
            warmup=WARMUP,
            peak=PEAK,
            shapes=shapes,
        )
        lr = np.asarray(lr)
    # final = 0 is sigmoid(v) = 1e-6 of the range at the least: 3e-10 off at the end; the sqrt
    # cooldown is softened over half a step (the first cooldown steps: 1e-4 of the LR off)
    atol = 1e-4 * PEAK if shape == "sqrt" else 1e-9
    np.testing.assert_allclose(lr, parse_schedule(spec).lr(), rtol=1e-6, atol=atol)


def test_family_search_of_the_newer_families_bad_input():
    args = {"steps": STEPS, "peak": PEAK, "warmup": WARMUP}
    with pytest.raises(InputError, match="powerlaw needs warmup >= 1"):
        choose.search_family(ANNEALING, "powerlaw", **(args | {"warmup": 0}))
    with pytest.raises(InputError, match="unknown rsqrt shape 'square'"):
        choose.search_family(ANNEALING, "rsqrt", shapes=["square"], **args)


def test_cli_choose_searches_the_newer_families(annealing_400m, tmp_path, capsys):
    from scalefit.cli._choose import FAMILIES

    assert FAMILIES == choose.SEARCHABLE
    fit_json = tmp_path / "fit.json"
    fit_json.write_text(json.dumps(annealing_400m.to_dict()))
    for family in NEWER:  # each name accepted (then refused for the missing budget)
        assert main(["choose", str(fit_json), "--family", family]) == 2
        assert "need --steps and --peak-lr" in capsys.readouterr().err
    out = tmp_path / "rank.csv"
    args = ["choose", str(fit_json), "--family", "rex", "--steps", str(STEPS)]
    code = main([*args, "--peak-lr", str(PEAK), "--warmup", str(WARMUP), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    best = pd.read_csv(out).candidate.iloc[0]
    assert best.startswith("rex:") and f"searched rex: best {best}" in captured.err
